"""What a keyholder sees before approving a signature: the request decoded.

For a message: its bytes as text when they are printable, else hex, and its SHA-256. For
a PSBT: every input (outpoint, amount, whether it is the group's coin), every output
(address, amount, and whether it returns to the group's own address: change), the fee
and the fee rate, and the BIP-341 sighash of each input, which are the messages the group
signs. A PSBT spending anything but the group's key-path output is refused here, before
any nonce exists.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from backends.amounts import btc
from backends.wallet import PsbtError, WalletError, parse_psbt
from backends.wallet.addresses import address_from_script
from backends.wallet.fees import TR_KEYPATH, estimate_vsize, output_size

from .errors import MessageRefused


@dataclass(frozen=True)
class PsbtInputLine:
    outpoint: str
    amount_sat: int
    group_coin: bool


@dataclass(frozen=True)
class PsbtOutputLine:
    address: str
    amount_sat: int
    change: bool


@dataclass(frozen=True)
class Review:
    """The decoded request; ``messages`` are the 32-byte (PSBT) or raw (message) bytes signed."""

    payload: str  # "message" | "psbt"
    reason: str
    requester: str
    messages: tuple[bytes, ...]
    text: str | None = None
    inputs: tuple[PsbtInputLine, ...] = ()
    outputs: tuple[PsbtOutputLine, ...] = ()
    fee_sat: int | None = None
    vsize: int | None = None
    txid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fee_rate(self) -> float | None:
        return None if self.fee_sat is None or not self.vsize else self.fee_sat / self.vsize

    @property
    def spent_sat(self) -> int:
        """What leaves the group: outputs that are not change, plus the fee."""
        return sum(o.amount_sat for o in self.outputs if not o.change) + (self.fee_sat or 0)

    def lines(self) -> list[str]:
        """The review as text lines, for the CLI and the screen."""
        out = [f"requested by {self.requester}: {self.reason or '(no reason given)'}"]
        if self.payload == "message":
            message = self.messages[0]
            shown = self.text if self.text is not None else message.hex()
            out += [f"message ({len(message)} bytes): {shown}",
                    f"sha256: {hashlib.sha256(message).hexdigest()}"]
            return out
        out.append(f"transaction {self.txid}")
        for line in self.inputs:
            owner = "group coin" if line.group_coin else "NOT the group's coin"
            out.append(f"  in  {line.outpoint}  {line.amount_sat:>14,} sat  {owner}")
        for line in self.outputs:
            tag = "change (back to the group)" if line.change else "payment"
            out.append(f"  out {line.address}  {line.amount_sat:>14,} sat  {tag}")
        out.append(f"fee {self.fee_sat:,} sat for ~{self.vsize} vB ({self.fee_rate:.2f} sat/vB); "
                   f"leaves the group: {self.spent_sat:,} sat ({btc(self.spent_sat)})")
        return out

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"payload": self.payload, "reason": self.reason, "requester": self.requester,
                                "messages": [m.hex() for m in self.messages]}
        if self.payload == "message":
            data["text"] = self.text
            return data
        data.update(txid=self.txid, fee_sat=self.fee_sat, vsize=self.vsize, fee_rate=self.fee_rate,
                    spent_sat=self.spent_sat,
                    inputs=[vars(i) for i in self.inputs], outputs=[vars(o) for o in self.outputs])
        return data


def review_message(message: bytes, reason: str, requester: str) -> Review:
    try:
        text = message.decode("utf-8")
        if not text.isprintable():
            text = None
    except UnicodeDecodeError:
        text = None
    return Review("message", reason, requester, (message,), text=text)


def review_psbt(psbt_text: str, group_script: bytes, network: str, reason: str, requester: str) -> Review:
    """Decode the PSBT; refuse one that spends anything but the group's key-path output."""
    from embit.transaction import SIGHASH

    try:
        psbt = parse_psbt(psbt_text)
    except WalletError as exc:
        raise MessageRefused(f"the request's PSBT cannot be read: {exc}") from None
    if not psbt.inputs:
        raise MessageRefused("the request's PSBT has no inputs")
    inputs = []
    for i, inp in enumerate(psbt.inputs):
        utxo = inp.witness_utxo
        if utxo is None:
            raise MessageRefused(f"input {i} of the PSBT has no witness UTXO: its amount cannot be shown")
        if inp.sighash_type not in (None, SIGHASH.DEFAULT):
            raise MessageRefused(f"input {i} asks for sighash 0x{inp.sighash_type:02x}; only DEFAULT is signed")
        ours = utxo.script_pubkey.data == group_script
        if not ours:
            raise MessageRefused(f"input {i} ({inp.txid.hex()}:{inp.vout}) is not the group's taproot coin; "
                                 "the group signs only its own key-path coins")
        inputs.append(PsbtInputLine(f"{inp.txid.hex()}:{inp.vout}", utxo.value, ours))
    outputs = []
    for out in psbt.outputs:
        spk = out.script_pubkey.data
        try:
            address = address_from_script(spk, network)
        except WalletError:
            address = f"script {spk.hex()}"
        outputs.append(PsbtOutputLine(address, out.value, spk == group_script))
    try:
        fee = psbt.fee()
        sighashes = tuple(psbt.sighash(i, sighash=SIGHASH.DEFAULT) for i in range(len(psbt.inputs)))
    except PsbtError as exc:
        raise MessageRefused(f"the request's PSBT is incomplete: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - embit's sighash raises assorted types on odd inputs
        raise MessageRefused(f"the request's PSBT cannot be signed ({type(exc).__name__})") from None
    if fee < 0:
        raise MessageRefused("the PSBT's outputs exceed its inputs")
    size = estimate_vsize(TR_KEYPATH, len(inputs), [output_size(o.script_pubkey.data) for o in psbt.outputs])
    return Review("psbt", reason, requester, sighashes, inputs=tuple(inputs), outputs=tuple(outputs),
                  fee_sat=fee, vsize=size, txid=psbt.txid)
