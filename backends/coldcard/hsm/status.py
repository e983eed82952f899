"""The ``hsts`` reply: exactly the keys the device reports (``hsm_status_report``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backends.coldcard.hsm.engine import HsmEngine


def inactive_status(
    *,
    policy_available: bool,
    users: Sequence[str],
    wallets: Sequence[str],
    chain: str,
    approval_wait: bool = False,
) -> dict[str, Any]:
    """``hsts`` outside HSM mode; ``approval_wait`` only while the start prompt is up."""
    status: dict[str, Any] = {"active": False, "policy_available": policy_available}
    if approval_wait:
        status["approval_wait"] = True
    status["users"] = sorted(users)
    status["wallets"] = list(wallets)
    status["chain"] = chain
    return status


def active_status(engine: HsmEngine) -> dict[str, Any]:
    """``hsts`` in HSM mode. Looking resets an expired velocity period, as on the device."""
    policy = engine.policy
    status: dict[str, Any] = {"active": True, "chain": engine.chain}
    if policy.uses_local_conf:
        status["next_local_code"] = engine.next_local_code
    status["policy_hash"] = engine.policy_hash
    if policy.priv_over_ux:
        status["last_refusal"] = engine.last_refusal
        status["approvals"] = engine.approvals
        status["refusals"] = engine.refusals
        return status
    status["summary"] = engine.summary
    status["last_refusal"] = engine.last_refusal
    status["approvals"] = engine.approvals
    status["refusals"] = engine.refusals
    status["sl_reads"] = engine.sl_reads
    status["period"] = policy.period
    status["uptime"] = engine.uptime
    left = engine.velocity.time_left()
    if left is not None and left >= 0:
        status["period_ends"] = int(left + 0.5)
        status["has_spent"] = list(engine.velocity.spent)
    status["users"] = engine.users.list()
    status["pending_auth"] = len(engine.pending_auth)
    return status
