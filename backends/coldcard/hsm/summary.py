"""What the policy needs to know about a PSBT, extracted by the signer beforehand."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OutputSummary:
    """One output of the transaction.

    ``address`` is how the device renders the script for the current chain (``tb1…``,
    ``m…``, ``2…``), or the script's hex when it has no address (OP_RETURN is ``6a…``).
    ``is_change`` only when the PSBT proves it is ours (our XFP and a matching script).
    ``is_ours`` is the device's ``num_our_keys`` (our XFP in the derivation, script match
    or not; defaults to ``is_change``). ``script`` and ``attestation`` (the ``COINKITE``
    proprietary field, subtype 0) are needed only by ATTEST whitelists.
    """

    address: str
    amount_sat: int
    is_change: bool = False
    is_ours: bool | None = None
    script: bytes | None = None
    attestation: bytes | None = None

    @property
    def ours(self) -> bool:
        return self.is_change if self.is_ours is None else self.is_ours


@dataclass(frozen=True)
class InputSummary:
    """One input: its value and whether one of our keys signs it (``num_our_keys``)."""

    amount_sat: int
    is_ours: bool = True


@dataclass(frozen=True)
class TxSummary:
    """A PSBT as the policy sees it.

    ``wallet_name`` is the enrolled multisig wallet the PSBT spends from, ``None`` for a
    single-signer PSBT. ``warnings`` are the device's PSBT warnings (big fee, ...).
    ``inputs`` is needed by ``min_pct_self_transfer`` and the ``patterns``.
    """

    wallet_name: str | None
    outputs: list[OutputSummary]
    fee_sat: int
    total_in_sat: int
    warnings: list[str]
    psbt_sha256: bytes
    inputs: list[InputSummary] = field(default_factory=list)

    @property
    def total_out(self) -> int:
        """What the velocity and amount limits count: non-change outputs, fee excluded."""
        return sum(out.amount_sat for out in self.outputs if not out.is_change)
