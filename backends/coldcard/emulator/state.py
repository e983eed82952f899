"""What survives a power cycle: settings (chain, ``hsmcmd``, enrolled multisig wallets),
the seed words, and what the HSM engine keeps in the same directory.

Files in the state directory, all written atomically and readable by the owner only:

- ``settings.json``: the firmware's settings keys (``chain``, ``hsmcmd``, ``multisig``)
  plus anything set with ``--set``;
- ``seed.txt``: the BIP-39 words this device was first started with;
- written by ``backends.coldcard.hsm``: ``hsm-policy.json`` (the saved policy, the
  firmware's ``/flash/hsm-policy.json``), ``hsm-users.json`` (the ``usr`` setting) and
  ``hsm-storage-locker.bin`` (the storage locker written by ``set_sl``);
- ``MicroSD/``: the HSM audit log, as the simulator's SD card holds it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backends.coldcard.errors import DeviceStateUnreadable
from backends.fsutil import atomic_write, ensure_private_dir
from backends.outside_input import load_json

from backends.coldcard.hsm.saved import delete_saved_policy, policy_path

from .keys import SIMULATOR_WORDS


#: the settings hold seed words, users and wallets: a few KiB; more is not ours
MAX_SETTINGS_BYTES = 1024 * 1024


class DeviceState:
    """The device's persistent settings, kept in memory and written on every ``save``."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = ensure_private_dir(Path(state_dir))
        self._settings_path = self.dir / "settings.json"
        try:
            settings = load_json(self._settings_path.read_bytes(), max_bytes=MAX_SETTINGS_BYTES,
                                 what="settings")
        except FileNotFoundError:
            settings = {}
        except ValueError:
            settings = None
        if not isinstance(settings, dict):
            # refused, never replaced: the next save would otherwise lose the seed words
            raise DeviceStateUnreadable(f"{self._settings_path} is not a settings file this emulator wrote")
        self.settings: dict[str, Any] = settings

    # settings, the firmware's get/set/put/save
    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.settings[key] = value

    def remove(self, key: str) -> None:
        self.settings.pop(key, None)

    def save(self) -> None:
        atomic_write(self._settings_path, json.dumps(self.settings, indent=1, sort_keys=True).encode())

    def put_and_save(self, key: str, value: Any) -> None:
        self.set(key, value)
        self.save()

    # seed words
    def seed_words(self, given: str | None) -> str:
        path = self.dir / "seed.txt"
        if given:
            words = " ".join(given.split())
            atomic_write(path, (words + "\n").encode())
            return words
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            return SIMULATOR_WORDS

    # the saved policy (written by the HSM engine when a new policy is activated)
    def saved_policy(self) -> bytes | None:
        try:
            return policy_path(self.dir).read_bytes()
        except FileNotFoundError:
            return None

    def remove_policy(self) -> None:
        delete_saved_policy(self.dir)
