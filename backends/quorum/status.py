"""What the coordinator knows of each signer (``SignerStatus``), how one status read is
made, and the quorum's health."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Literal

from backends.errors import CustodyError

from .registry import QuorumSpec, SignerSpec

Health = Literal["ok", "degraded", "down"]

#: the verification checks, in the order a signer must pass them to count as live
CHECKS = ("reachable", "xfp", "hsm commands", "wallet enrolled", "hsm active", "policy hash")


@dataclass(frozen=True)
class SignerStatus:
    """The newest status read of one signer. ``failing_check`` names the first check of
    ``CHECKS`` it fails (``None``: live), ``problem`` says why in the operator's words."""

    name: str
    enabled: bool
    reachable: bool = False
    xfp: str | None = None  # what the device reported
    xfp_ok: bool = False
    wallet_enrolled: bool = False
    hsm_active: bool = False
    policy_hash: str | None = None
    policy_ok: bool = False
    approvals: int = 0
    refusals: int = 0
    last_refusal: str | None = None
    #: velocity: per-rule totals spent this period and seconds left, when a period runs
    has_spent: tuple[int, ...] = ()
    period_ends: int | None = None
    #: user codes queued on the device (``hsts`` ``pending_auth``): its next PSBT is judged
    #: with them, however late it comes (``surge``)
    pending_auth: int = 0
    failing_check: str | None = "reachable"
    problem: str | None = "not read yet"
    checked_at: float = field(default_factory=time.time)

    @property
    def live(self) -> bool:
        """Counts towards the quorum: enabled and every check passed."""
        return self.enabled and self.failing_check is None

    @property
    def state(self) -> str:
        """One word for a status line: live, disabled, down, or the failing check."""
        if not self.enabled:
            return "disabled"
        if self.failing_check is None:
            return "live"
        return "down" if self.failing_check == "reachable" else "not armed"

    def as_dict(self) -> dict:
        return {"name": self.name, "xfp": self.xfp, "reachable": self.reachable,
                "hsm_active": self.hsm_active, "policy_ok": self.policy_ok, "live": self.live,
                "approvals": self.approvals, "refusals": self.refusals,
                "last_refusal": self.last_refusal, "enabled": self.enabled,
                "wallet_enrolled": self.wallet_enrolled, "policy_hash": self.policy_hash,
                "failing_check": self.failing_check, "problem": self.problem,
                "pending_auth": self.pending_auth}


def health_of(statuses: list[SignerStatus], threshold: int) -> Health:
    """``ok`` when every signer is live, ``degraded`` with at least ``threshold``, else ``down``."""
    live = sum(1 for s in statuses if s.live)
    if statuses and live == len(statuses):
        return "ok"
    return "degraded" if live >= threshold else "down"


def read_status(client, signer: SignerSpec, spec: QuorumSpec, enabled: bool,
                accepted_hashes: frozenset[str]) -> SignerStatus:
    """Read one signer (two short sessions: identity+hsts, then the wallet check) and run
    the checks. A device that does not answer is a status, not an exception."""
    from backends.coldcard.errors import HsmCommandsDisabled

    base = SignerStatus(signer.name, enabled)
    try:
        try:
            xfp, hsts = client.identity_and_status()
        except HsmCommandsDisabled:
            xfp, hsts = client.master().xfp, {"active": False, "hsm_commands": False}
    except CustodyError as exc:
        return replace(base, problem=f"unreachable: {exc}")
    status = replace(
        base, reachable=True, xfp=xfp, xfp_ok=xfp.upper() == signer.xfp.upper(),
        hsm_active=bool(hsts.get("active")), policy_hash=hsts.get("policy_hash"),
        approvals=int(hsts.get("approvals") or 0), refusals=int(hsts.get("refusals") or 0),
        last_refusal=hsts.get("last_refusal"),
        has_spent=tuple(int(x) for x in hsts.get("has_spent") or ()),
        period_ends=hsts.get("period_ends"), pending_auth=int(hsts.get("pending_auth") or 0),
    )
    status = replace(status, policy_ok=status.hsm_active and status.policy_hash in accepted_hashes)
    if hsts.get("hsm_commands") is False:
        return judge(status, signer, spec, hsm_commands=False)
    if status.xfp_ok:
        try:
            enrolled = client.has_multisig(spec.threshold, len(spec.signers), [s.xfp_int for s in spec.signers])
        except CustodyError as exc:
            return replace(status, failing_check="reachable", reachable=False, problem=f"unreachable: {exc}")
        status = replace(status, wallet_enrolled=enrolled)
    return judge(status, signer, spec)


def judge(status: SignerStatus, signer: SignerSpec, spec: QuorumSpec, *, hsm_commands: bool = True) -> SignerStatus:
    """Set ``failing_check``/``problem`` from the facts read."""
    if not status.reachable:
        return replace(status, failing_check="reachable", problem=status.problem or "unreachable")
    if not status.xfp_ok:
        return replace(status, failing_check="xfp",
                       problem=f"xfp: the device is {status.xfp}, the quorum expects {signer.xfp}")
    if not hsm_commands:
        return replace(status, failing_check="hsm commands",
                       problem="hsm commands: disabled on the device (Advanced/Tools > Spending Policy > "
                               "HSM Mode, or the simulator's --set hsmcmd=1)")
    if not status.wallet_enrolled:
        return replace(status, failing_check="wallet enrolled",
                       problem=f"wallet enrolled: {spec.wallet_name} is not enrolled on the device")
    if not status.hsm_active:
        return replace(status, failing_check="hsm active", problem="hsm active: HSM mode is off (rebooted?)")
    if not status.policy_ok:
        shown = (status.policy_hash or "none")[:16]
        return replace(status, failing_check="policy hash",
                       problem=f"policy hash: the device runs policy {shown}…, not the configured one")
    return replace(status, failing_check=None, problem=None)
