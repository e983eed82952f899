"""The saved policy file (``/flash/hsm-policy.json`` on the device): what a reboot finds."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from pathlib import Path

from backends.coldcard.hsm import texts
from backends.coldcard.hsm.errors import HsmPolicyError
from backends.coldcard.hsm.policy import HsmPolicy
from backends.fsutil import atomic_write

POLICY_FILENAME = "hsm-policy.json"


def policy_path(state_dir: Path) -> Path:
    return Path(state_dir) / POLICY_FILENAME


def policy_available(state_dir: Path) -> bool:
    return policy_path(state_dir).exists()


def save_policy(state_dir: Path, policy: HsmPolicy) -> None:
    # the simulator keeps set_sl in the file (a real device never does)
    data = json.dumps(policy.to_json(simulator=True)).encode()
    atomic_write(policy_path(state_dir), data, mode=0o600)


def load_saved_policy(
    state_dir: Path,
    *,
    users: Collection[str] | None = None,
    wallets: Sequence[str] | None = None,
) -> HsmPolicy:
    """The saved policy, validated again; ``No existing policy`` when there is none."""
    try:
        text = policy_path(state_dir).read_bytes()
    except FileNotFoundError:
        raise HsmPolicyError(texts.NO_EXISTING_POLICY) from None
    return HsmPolicy.from_text(text, users=users, wallets=wallets)


def delete_saved_policy(state_dir: Path) -> None:
    policy_path(state_dir).unlink(missing_ok=True)
