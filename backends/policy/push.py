"""Pushing a policy: re-arm every enabled signer with it, report each device as it goes,
keep the version, and make it the policy the quorum verifies signers against.

A Coldcard takes a new policy only outside HSM mode, and HSM mode ends only on the device
(a power cycle, without ``boot_to_hsm``): a signer still running another policy is
reported *stale* and is not counted live until it runs this one. Once the version is
kept, auto-heal arms a power-cycled signer with it. A push that no signer takes changes
nothing (no version, the intended policy stays)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from backends.quorum.arming import arm

from .document import check_policy, policy_hash
from .errors import PolicyError, PushFailed
from .history import PolicyHistory, PolicyVersion

#: outcomes of one signer; the first two mean it runs the pushed policy now
REACHED = ("armed", "already")


@dataclass(frozen=True)
class SignerProgress:
    """A step on one device (``enrolling ...``, ``uploading the policy ...``)."""

    signer: str
    text: str


@dataclass(frozen=True)
class SignerOutcome:
    """Where one signer ended: armed, already (ran it), stale, down, refused, disabled."""

    signer: str
    outcome: str
    detail: str = ""

    @property
    def reached(self) -> bool:
        return self.outcome in REACHED

    def text(self) -> str:
        return f"{self.signer}: {self.outcome}" + (f" ({self.detail})" if self.detail else "")

    def as_dict(self) -> dict:
        return {"signer": self.signer, "outcome": self.outcome, "detail": self.detail}


@dataclass(frozen=True)
class PushResult:
    version: PolicyVersion
    outcomes: tuple[SignerOutcome, ...]
    new_version: bool  # False: the policy was the newest version already (a re-push)

    @property
    def stale(self) -> list[str]:
        return [o.signer for o in self.outcomes if not o.reached and o.outcome != "disabled"]

    def as_dict(self) -> dict:
        return {"version": self.version.as_dict(), "new_version": self.new_version,
                "signers": [o.as_dict() for o in self.outcomes], "stale": self.stale}


def push_policy(coordinator, history: PolicyHistory, policy: dict, *, actor: str, reason: str = "",
                on_event: Callable[[object], None] | None = None) -> PushResult:
    """Validate ``policy``, arm every enabled signer with it in parallel (``on_event``
    gets ``SignerProgress`` and ``SignerOutcome`` from worker threads), then keep it as a
    new version if at least one signer runs it; else ``PushFailed`` and nothing changes."""
    emit = on_event or (lambda _event: None)
    spec = coordinator.spec
    check_policy(policy, network=spec.network, wallets=[spec.wallet_name])
    new_hash = policy_hash(policy)
    target = replace(spec, policy=policy)

    def one(signer) -> SignerOutcome:
        if not coordinator.enabled(signer.name):
            outcome = SignerOutcome(signer.name, "disabled", "not pushed; it is stale when enabled again")
        else:
            steps: list[str] = []

            def say(text: str) -> None:
                steps.append(text)
                emit(SignerProgress(signer.name, text.removeprefix(f"{signer.name}: ")))

            emit(SignerProgress(signer.name, "reading the device"))
            outcome = _outcome(arm(coordinator.clients[signer.name], signer, target, say=say), bool(steps))
        emit(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=len(spec.signers)) as pool:
        outcomes = tuple(pool.map(one, spec.signers))
    reached = [o.signer for o in outcomes if o.reached]
    if not reached:
        raise PushFailed("no signer took the policy; nothing changed: "
                         + "; ".join(o.text() for o in outcomes), outcomes=list(outcomes),
                         hint="power-cycle a signer in HSM mode, or fix what its device said, then push again")
    latest = history.latest()
    new_version = latest is None or latest.hash != new_hash
    version = history.record(policy, new_hash, actor=actor, reason=reason, reached=reached,
                             stale=[o.signer for o in outcomes if not o.reached and o.outcome != "disabled"]
                             ) if new_version else latest
    coordinator.adopt_policy(policy)
    coordinator.refresh()
    return PushResult(version, outcomes, new_version)


def _outcome(status, worked: bool) -> SignerOutcome:
    if status.failing_check is None:
        return SignerOutcome(status.name, "armed" if worked else "already")
    if status.failing_check == "reachable":
        return SignerOutcome(status.name, "down", status.problem or "unreachable")
    if status.failing_check == "policy hash" and status.hsm_active:
        return SignerOutcome(status.name, "stale", "in HSM mode with another policy; HSM mode ends only on the "
                             "device: power-cycle it and auto-heal (or a push) arms it")
    return SignerOutcome(status.name, "refused", status.problem or status.failing_check)


def authorize_destination(coordinator, history: PolicyHistory, address: str, *, actor: str, reason: str,
                          on_event: Callable[[object], None] | None = None) -> PushResult:
    """Add ``address`` to the whitelist of every rule that has one, as a push whose
    version says who and why."""
    from backends.coldcard.hsm.addresses import BadAddress, cleanup_payment_address
    from backends.wallet import parse_address
    from backends.wallet.errors import WalletError

    reason = reason.strip()
    if not reason:
        raise PolicyError("say why this destination is authorised", hint="--reason TEXT (kept with the version)")
    try:
        parse_address(address, coordinator.spec.network)
        cleaned = cleanup_payment_address(address.strip())
    except (WalletError, BadAddress) as exc:
        raise PolicyError(f"cannot authorise it: {exc}") from None
    # the newest pushed version: this coordinator may not have seen another process's push yet
    policy = copy.deepcopy(history.latest_policy() or coordinator.spec.policy)
    listed = [rule for rule in policy.get("rules") or [] if rule.get("whitelist")]
    if not listed:
        raise PolicyError("the policy has no whitelist: every destination is allowed already",
                          hint="a whitelist restricts every rule; write one in the policy file and push it")
    if all(cleaned in rule["whitelist"] for rule in listed):
        raise PolicyError(f"{cleaned} is on the whitelist already")
    for rule in listed:
        if cleaned not in rule["whitelist"]:
            rule["whitelist"].append(cleaned)
    return push_policy(coordinator, history, policy, actor=actor, reason=f"authorise {cleaned}: {reason}",
                       on_event=on_event)
