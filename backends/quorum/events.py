"""The typed events a quorum operation reports while it runs (a screen renders them, the
CLI prints them)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    """A stage of the operation started (``name`` is stable, ``text`` is for people)."""

    name: str
    text: str


@dataclass(frozen=True)
class PreflightVerdict:
    """What a signer's armed policy would decide, run locally before any device is asked.

    ``rule`` is the number of the first rule that would match (``None``: refused, with
    ``reason`` in the device's words). ``headroom_sat`` is what the matching rule (or the
    first velocity rule, when refused) may still spend this period before this spend;
    ``None`` when no rule has a velocity limit. ``period_ends`` is seconds left, if a
    period runs."""

    signer: str
    approved: bool
    rule: int | None
    reason: str | None
    headroom_sat: int | None
    period_ends: int | None


@dataclass(frozen=True)
class Preflight:
    """Every live signer's pre-flight verdict."""

    verdicts: tuple[PreflightVerdict, ...]
    amount_sat: int
    fee_sat: int
    threshold: int

    @property
    def approvals(self) -> int:
        return sum(1 for v in self.verdicts if v.approved)

    @property
    def would_pass(self) -> bool:
        return self.approvals >= self.threshold


@dataclass(frozen=True)
class DeviceResult:
    """A signer signed (``ok``) or failed for a reason that is not a policy refusal
    (unreachable, timeout, a device error)."""

    signer: str
    ok: bool
    detail: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Refusal:
    """A signer's HSM policy refused; ``reason`` is the device's ``last_refusal``."""

    signer: str
    reason: str


@dataclass(frozen=True)
class Done:
    """The spend is on the chain and recorded."""

    txid: str
    fee_sat: int
    signers: tuple[str, ...]
    spend_id: int


@dataclass(frozen=True)
class Failed:
    """The spend ended without a transaction (nothing broadcast, nothing spent).
    ``refusals`` holds every signer's reason where signers were asked."""

    reason: str
    refusals: dict[str, str] = field(default_factory=dict)
    hint: str | None = None


Event = Step | Preflight | DeviceResult | Refusal | Done | Failed
