"""What the CLI and the Policy screen show, built once: the intended policy and where it
comes from, each signer's armed policy, and a proposed policy's diff."""

from __future__ import annotations

from dataclasses import dataclass

from .diff import FieldChange, SignerPolicy, armed_policies, field_changes, masked
from .document import check_policy, policy_hash
from .errors import NotTwoTier
from .history import PolicyHistory, PolicyVersion
from .tiers import TwoTierPolicy


@dataclass(frozen=True)
class Overview:
    policy: dict  # the intended policy
    hash: str
    version: PolicyVersion | None  # None: never pushed, it is quorum.policy_file
    source: str
    signers: tuple[SignerPolicy, ...]
    tiers: TwoTierPolicy | None
    not_two_tier: str | None  # why the tier editor cannot edit it

    def as_dict(self) -> dict:
        return {"hash": self.hash, "version": None if self.version is None else self.version.number,
                "source": self.source, "policy": masked(self.policy),
                "signers": [s.as_dict() for s in self.signers]}


def policy_overview(coordinator, history: PolicyHistory, *, read_devices: bool = True) -> Overview:
    """The intended policy and every signer's armed one (``read_devices``: ask them now;
    else the coordinator's newest statuses)."""
    statuses = coordinator.refresh() if read_devices else coordinator.statuses()
    version = history.latest()
    policy = coordinator.spec.policy
    intended = policy_hash(policy)
    source = f"version {version.number}" if version else f"{coordinator.spec.policy_source or 'the config'} (never pushed)"
    try:
        tiers, why = TwoTierPolicy.from_policy(policy), None
    except NotTwoTier as exc:
        tiers, why = None, str(exc)
    return Overview(policy, intended, version, source, tuple(armed_policies(statuses, intended)), tiers, why)


@dataclass(frozen=True)
class ProposedDiff:
    hash: str
    against: str  # "version N" or the configured file
    changes: tuple[FieldChange, ...]
    signers: tuple[SignerPolicy, ...]

    def as_dict(self) -> dict:
        return {"hash": self.hash, "against": self.against, "changes": [c.as_dict() for c in self.changes],
                "signers": [s.as_dict() for s in self.signers]}


def diff_proposed(coordinator, history: PolicyHistory, proposed: dict, *, read_devices: bool = True) -> ProposedDiff:
    """``proposed`` (validated here) against the last pushed version, field by field, and
    against what each signer has armed."""
    spec = coordinator.spec
    check_policy(proposed, network=spec.network, wallets=[spec.wallet_name])
    statuses = coordinator.refresh() if read_devices else coordinator.statuses()
    version = history.latest()
    base = version.policy if version else spec.policy
    against = f"version {version.number}" if version else f"{spec.policy_source or 'the configured policy'}"
    proposed_hash = policy_hash(proposed)
    return ProposedDiff(proposed_hash, against, tuple(field_changes(base, proposed)),
                        tuple(armed_policies(statuses, policy_hash(spec.policy), proposed_hash)))
