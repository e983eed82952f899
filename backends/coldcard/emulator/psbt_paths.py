"""The BIP-32 derivations of a PSBT's inputs and outputs, read as the firmware reads them.

Each pubkey maps to ``[xfp, *path]`` (``psbtProxy.parse_subpaths``). A path must have at
least one step below the master and at most ``MAX_PATH_DEPTH`` entries counting the xfp.
An xfp of zero stands for this device's (PSBTs built from an xpub alone carry it): it is
replaced in place, so the signed PSBT names the real fingerprint, and the first time it
happens the PSBT gets the ``Zero XFP`` warning.
"""

from __future__ import annotations

from .failures import require
from .keys import MAX_PATH_DEPTH

ZERO_XFP_WARNING = ("Zero XFP", "Assuming XFP of zero should be replaced by correct XFP")

KeyPaths = dict  # pubkey (SEC bytes) -> [xfp, *path], in the PSBT's order


class KeyPathReader:
    def __init__(self, my_xfp: int, my_fingerprint: bytes, warnings: list[tuple[str, str]]) -> None:
        self.my_xfp = my_xfp
        self.my_fingerprint = my_fingerprint
        self.warnings = warnings

    def read(self, scope) -> KeyPaths:
        paths: KeyPaths = {}
        for pubkey, derivation in scope.bip32_derivations.items():
            path = [int.from_bytes(derivation.fingerprint, "little"), *derivation.derivation]
            require(len(path) >= 2, "too short key path", "psbt.py:282")
            require(len(path) <= MAX_PATH_DEPTH, "too deep", "psbt.py:284")
            if path[0] == 0:
                derivation.fingerprint = self.my_fingerprint
                path[0] = self.my_xfp
                if not any("XFP" in label for label, _ in self.warnings):
                    self.warnings.append(ZERO_XFP_WARNING)
            paths[pubkey.sec()] = path
        return paths

    def count_ours(self, paths: KeyPaths) -> int:
        """The firmware's ``num_our_keys``."""
        return sum(1 for path in paths.values() if path[0] == self.my_xfp)
