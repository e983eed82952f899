"""Multisig wallets the device has enrolled: the Coldcard wallet file, its checks, storage.

The file is ``label: value`` lines (``Name``, ``Policy: M of N``, ``Derivation``,
``Format``) and one ``XFP: xpub`` line per cosigner, each taking the most recent
``Derivation`` line. Stored in the ``multisig`` setting as a list of plain dicts, so
``len(settings.get('multisig', []))`` counts enrolled wallets as on the device.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from embit import bip32

from .failures import require
from .keys import DeviceKeys, cleanup_deriv_path, hash160, path_to_ints, str_to_xfp, xfp_to_str

AF_P2SH, AF_P2WSH, AF_P2WSH_P2SH = 0x08, 0x0E, 0x1A
FORMAT_NAMES = [(AF_P2SH, "p2sh"), (AF_P2WSH, "p2wsh"), (AF_P2WSH_P2SH, "p2sh-p2wsh"), (AF_P2WSH_P2SH, "p2wsh-p2sh")]
MAX_SIGNERS = 15
OP_CHECKMULTISIG = 0xAE


@dataclass
class CosignerKey:
    xfp: int
    deriv: str
    xpub: str


@dataclass
class MultisigWallet:
    name: str
    m: int
    n: int
    addr_fmt: int
    keys: list[CosignerKey]

    def to_setting(self) -> dict:
        return {"name": self.name, "m": self.m, "n": self.n, "addr_fmt": self.addr_fmt,
                "keys": [[k.xfp, k.deriv, k.xpub] for k in self.keys]}

    @classmethod
    def from_setting(cls, d: dict) -> MultisigWallet:
        return cls(d["name"], d["m"], d["n"], d["addr_fmt"], [CosignerKey(*k) for k in d["keys"]])

    @property
    def xfps(self) -> set[int]:
        return {k.xfp for k in self.keys}

    def xfp_xor(self) -> int:
        x = 0
        for k in self.keys:
            x ^= k.xfp
        return x

    def same_keys(self, other: MultisigWallet) -> bool:
        return (self.m, self.n, self.addr_fmt) == (other.m, other.n, other.addr_fmt) and sorted(
            (k.xfp, k.deriv, k.xpub) for k in self.keys) == sorted((k.xfp, k.deriv, k.xpub) for k in other.keys)

    def key_for(self, xfp: int) -> CosignerKey | None:
        return next((k for k in self.keys if k.xfp == xfp), None)

    def validate_script(self, script: bytes, subpaths: dict[bytes, list[int]]) -> None:
        """Every pubkey of ``script`` derives from this wallet's keys by the given paths."""
        m, pubkeys = parse_multisig_script(script)
        assert m == self.m and len(pubkeys) == self.n, "wrong M/N in script"
        used = set()
        for pubkey in pubkeys:
            assert pubkey in subpaths, "unexpected pubkey"
            path = subpaths[pubkey]
            key = self.key_for(path[0])
            assert key is not None, "unexpected xfp"
            prefix = path_to_ints(key.deriv)
            assert list(path[1 : 1 + len(prefix)]) == prefix, "wrong derivation"
            rest = list(path[1 + len(prefix) :])
            assert not any(p & 0x80000000 for p in rest), "hard deriv"
            node = bip32.HDKey.from_base58(key.xpub)
            derived = node.derive(rest) if rest else node
            assert derived.get_public_key().sec() == pubkey, "pubkey mismatch for " + xfp_to_str(path[0])
            used.add(key.xfp)
        assert list(pubkeys) == sorted(pubkeys), "BIP-67 violation"
        assert len(used) == self.n, "not all keys used: %d of %d" % (len(used), self.n)

    def matches_paths(self, xfp_paths: list[list[int]]) -> bool:
        """Same cosigners, each key under that cosigner's derivation (``matching_subpaths``)."""
        if len(xfp_paths) != len(self.keys):
            return False
        for path in xfp_paths:
            key = self.key_for(path[0])
            if key is None:
                return False
            prefix = path_to_ints(key.deriv)
            if list(path[1 : 1 + len(prefix)]) != prefix or len(path) < 1 + len(prefix):
                return False
        return True

    def assert_matching(self, m: int, n: int, xfp_paths: list[list[int]], addr_fmt: int) -> None:
        """A later input must be of the wallet the first one chose (``multisig.assert_matching``)."""
        require((self.m, self.n) == (m, n), "M/N mismatch", "multisig.py:333")
        require(len(xfp_paths) == n, "XFP count", "multisig.py:334")
        require(self.addr_fmt == addr_fmt, "addr fmt", "multisig.py:335")
        require(self.matches_paths(xfp_paths), "wrong XFP/derivs", "multisig.py:337")


def find_wallet(wallets: list[MultisigWallet], m: int, n: int, xfp_paths: list[list[int]],
                addr_fmt: int) -> MultisigWallet | None:
    """The first enrolled wallet of that shape and format whose keys the paths follow."""
    return next((w for w in wallets if (w.m, w.n, w.addr_fmt) == (m, n, addr_fmt) and w.matches_paths(xfp_paths)),
                None)


def multisig_script_pubkey(addr_fmt: int, script: bytes) -> bytes:
    """The output script paying to a multisig script in the given address format."""
    if addr_fmt == AF_P2SH:
        return b"\xa9\x14" + hash160(script) + b"\x87"
    witness_program = b"\x00\x20" + hashlib.sha256(script).digest()
    if addr_fmt == AF_P2WSH:
        return witness_program
    return b"\xa9\x14" + hash160(witness_program) + b"\x87"


def multisig_m_n(script: bytes) -> tuple[int, int]:
    """M and N read off a script's ends, nothing checked but the final CHECKMULTISIG."""
    require(script[-1:] == bytes([OP_CHECKMULTISIG]), "need CHECKMULTISIG", "multisig.py:34")
    return script[0] - 0x50, script[-2] - 0x50


def parse_multisig_script(script: bytes) -> tuple[int, list[bytes]]:
    assert len(script) >= 3 and script[-1] == OP_CHECKMULTISIG, "need CHECKMULTISIG"
    m, n = script[0] - 0x50, script[-2] - 0x50
    assert 1 <= m <= n <= MAX_SIGNERS, "M/N range"
    assert len(script) == 1 + n * 34 + 1 + 1, "bad len"
    pubkeys = []
    for i in range(n):
        at = 1 + i * 34
        assert script[at] == 33, "data"
        pk = script[at + 1 : at + 34]
        assert pk[0] in (2, 3), "Y val"
        pubkeys.append(bytes(pk))
    return m, pubkeys


def wallets_of(settings_value) -> list[MultisigWallet]:
    return [MultisigWallet.from_setting(d) for d in (settings_value or [])]


def parse_wallet_file(text: str, keys: DeviceKeys) -> MultisigWallet:
    """Parse and check a wallet file against this device; firmware assertion texts."""
    has_mine, m, n = 0, -1, -1
    deriv = name = None
    addr_fmt = AF_P2SH
    xpubs: list[CosignerKey] = []
    for ln in (line for line in text.split("\n") if line):
        comm = ln.find("#")
        if comm == 0:
            continue
        if comm != -1 and not ln[comm + 1 : comm + 2].isdigit():
            ln = ln[:comm]
        ln = ln.strip()
        if ":" not in ln:
            if "pub" not in ln:
                continue
            label, value = "00000000", ln
        else:
            label, value = ln.split(":", 1)
            label = label.lower()
        value = value.strip()
        if label == "name":
            name = value
        elif label == "policy":
            # MicroPython's \d is ASCII; a digit cap keeps int() from refusing 4,301 digits
            mat = re.search(r"(\d+)\D*(\d+)", value, re.ASCII)
            if not mat or max(map(len, mat.groups())) > 10 or not 1 <= int(mat.group(1)) <= int(mat.group(2)) <= MAX_SIGNERS:
                raise AssertionError("bad policy line")
            m, n = int(mat.group(1)), int(mat.group(2))
        elif label == "derivation":
            try:
                assert value, "blank"
                deriv = cleanup_deriv_path(value)
            except AssertionError as exc:
                raise AssertionError("bad derivation line: " + str(exc)) from None
        elif label == "format":
            for code, fmt_label in FORMAT_NAMES:
                if value.lower() == fmt_label:
                    addr_fmt = code
                    break
            else:
                raise AssertionError("bad format line")
        elif len(label) == 8:
            try:
                xfp = str_to_xfp(label)
            except ValueError:
                continue
            if _check_xpub(xfp, value, deriv, keys, xpubs):
                has_mine += 1
    assert xpubs, "need xpubs"
    if m == n == -1:
        m = n = len(xpubs)
    name = name or "%d-of-%d" % (m, n)
    if not (name.isascii() and name.isprintable() and 1 <= len(name) <= 20):
        raise AssertionError("name must be ascii, 1..20 long")
    assert 1 <= m <= n <= MAX_SIGNERS, "M/N range"
    assert n == len(xpubs), "wrong # of xpubs, expect %d" % n
    assert addr_fmt & 0x08, "script style addr fmt"
    assert has_mine != 0, "my key not included"
    assert has_mine == 1, "my key included more than once"
    assert len({k.xfp for k in xpubs}) == n, "dup XFP"
    return MultisigWallet(name, m, n, addr_fmt, xpubs)


def _check_xpub(xfp: int, xpub: str, deriv: str | None, keys: DeviceKeys, out: list[CosignerKey]) -> bool:
    try:
        node = bip32.HDKey.from_base58(xpub)
    except Exception:
        raise AssertionError("unable to parse xpub") from None
    assert not node.is_private, "no privkeys plz"
    is_test = xpub[0] in "tuvUV"
    assert is_test == (keys.chain != "BTC"), "wrong chain"
    depth = node.depth
    if depth == 1:
        parent = int.from_bytes(node.fingerprint, "little")
        if not xfp:
            xfp = parent
        else:
            assert parent == xfp, "xfp depth=1 wrong"
        child = node.child_number
        guess = "m/%d%s" % (child & 0x7FFFFFFF, "h" if child & 0x80000000 else "")
        if deriv:
            assert guess == deriv, "%s != %s" % (guess, deriv)
        else:
            deriv = guess
    assert xfp, "need fingerprint"
    assert deriv, "empty deriv"
    p_len = deriv.count("/")
    assert p_len == depth, "deriv %d != %d xpub depth (xfp=%s)" % (p_len, depth, xfp_to_str(xfp))
    mine = xfp == keys.xfp
    if mine:
        assert node.get_public_key().sec() == keys.pubkey(deriv), "[%s/%s] wrong pubkey" % (xfp_to_str(xfp), deriv[2:])
    # re-serialised the BIP-32 way, as the firmware stores it
    out.append(CosignerKey(xfp, deriv, node.to_base58(version=keys.network["xpub"])))
    return mine
