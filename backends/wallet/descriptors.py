"""Output descriptors the custody wallets use, with BIP-380 checksums.

Supported forms (BIP-380..386):

- ``wsh(sortedmulti(k, KEY, ...))`` (and ``wsh(multi(...))``): the Coldcard quorum, keys at
  ``m/48h/coin'/0h/2h``;
- ``sh(wsh(sortedmulti(k, KEY, ...)))`` (and ``sh(wsh(multi(...)))``): the same multisig nested
  in P2SH for senders that cannot pay to bech32, keys at ``m/48h/coin'/0h/1h``;
- ``wpkh(KEY)`` and ``sh(wpkh(KEY))`` (BIP-49 nested segwit);
- ``tr(KEY)``: key path only (no script tree).

Nothing else is accepted: no bare or legacy P2SH scripts (``sh(multi)``), no ``sh(tr)``.

``KEY`` is ``[fingerprint/origin/path]xpub`` followed by ``/<0;1>/*`` (receive and change,
BIP-389), ``/0/*`` (receive only) or ``/1/*`` (change only). Private keys are refused: this is a
watch-only coordinator. embit accepts any text after ``#``, so the checksum is checked here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property

from embit import bip32, ec
from embit.base58 import decode_check

from backends.outside_input import excerpt, is_decimal

from .addresses import address_from_script
from .errors import DescriptorChecksumError, DescriptorError, NetworkMismatch
from .fees import SH_WPKH, TR_KEYPATH, WPKH, ScriptKind, wsh_multisig
from .network import XPUB_VERSION_MAIN, XPUB_VERSION_TEST, Network

HARDENED = 0x80000000
RECEIVE, CHANGE = 0, 1
MAX_MULTISIG_KEYS = 20  # P2WSH CHECKMULTISIG limit under standardness

# --- BIP-380 checksum -----------------------------------------------------------------------

_INPUT_CHARSET = (
    "0123456789()[],'/*abcdefgh@:$%{}"
    "IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~"
    "ijklmnopqrstuvwxyzABCDEFGH`#\"\\ "
)
_CHECKSUM_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _descsum_polymod(symbols: list[int]) -> int:
    generator = (0xF5DEE51989, 0xA9FDCA3312, 0x1BAB10E32D, 0x3706B1677A, 0x644D626FFD)
    chk = 1
    for value in symbols:
        top = chk >> 35
        chk = (chk & 0x7FFFFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if (top >> i) & 1 else 0
    return chk


def _descsum_expand(text: str) -> list[int]:
    groups: list[int] = []
    symbols: list[int] = []
    for ch in text:
        v = _INPUT_CHARSET.find(ch)
        if v < 0:
            raise DescriptorError(f"descriptor has character {ch!r} that is not allowed")
        symbols.append(v & 31)
        groups.append(v >> 5)
        if len(groups) == 3:
            symbols.append(groups[0] * 9 + groups[1] * 3 + groups[2])
            groups = []
    if len(groups) == 1:
        symbols.append(groups[0])
    elif len(groups) == 2:
        symbols.append(groups[0] * 3 + groups[1])
    return symbols


def descriptor_checksum(text: str) -> str:
    """The 8-character BIP-380 checksum of a descriptor (text without ``#...``)."""
    symbols = _descsum_expand(text) + [0] * 8
    checksum = _descsum_polymod(symbols) ^ 1
    return "".join(_CHECKSUM_CHARSET[(checksum >> (5 * (7 - i))) & 31] for i in range(8))


def split_checksum(text: str, *, require: bool = False) -> str:
    """The descriptor without its checksum, after verifying the checksum if one is given."""
    text = text.strip()
    body, sep, given = text.partition("#")
    if not sep:
        if require:
            raise DescriptorError(
                "descriptor has no #checksum", hint="export it again with its checksum"
            )
        return body
    expected = descriptor_checksum(body)
    if given != expected:
        raise DescriptorChecksumError(expected, given)
    return body


# --- keys -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyOrigin:
    """Where a key sits under its signer's master key: fingerprint and path (BIP-32)."""

    fingerprint: bytes  # 4 bytes: the first four of hash160(master public key)
    path: tuple[int, ...]

    def path_str(self) -> str:
        return "m" + "".join(
            f"/{i - HARDENED}h" if i >= HARDENED else f"/{i}" for i in self.path
        )

    def __str__(self) -> str:
        return self.fingerprint.hex() + self.path_str()[1:]


@dataclass(frozen=True)
class DerivedKey:
    """A public key derived for one address, with its full origin (for PSBT BIP-32 fields)."""

    pubkey: bytes  # 33-byte compressed SEC
    origin: KeyOrigin

    @property
    def xonly(self) -> bytes:
        return self.pubkey[1:]


@dataclass(frozen=True)
class DescriptorKey:
    """One ``[origin]xpub/<branches>/*`` key expression."""

    xpub: bip32.HDKey = field(repr=False)
    origin: KeyOrigin
    branches: tuple[int, ...]  # (0, 1) for /<0;1>/*, (0,) for /0/*, (1,) for /1/*
    text: str  # the expression as written, normalised to 'h' for hardened steps

    @cached_property
    def _branch_keys(self) -> dict[int, bip32.HDKey]:
        return {b: self.xpub.child(b) for b in self.branches}

    @cached_property
    def _derived(self) -> dict[tuple[int, int], DerivedKey]:
        # a PSBT asks for the same keys several times (scripts, origins, change); BIP-32
        # derivation is what a spend of many inputs spends its time on
        return {}

    def derive(self, branch: int, index: int) -> DerivedKey:
        found = self._derived.get((branch, index))
        if found is None:
            child = self._branch_keys[branch].child(index)
            found = DerivedKey(
                child.key.sec(), KeyOrigin(self.origin.fingerprint, self.origin.path + (branch, index))
            )
            self._derived[(branch, index)] = found
        return found


_HARDENED_MARKS = ("h", "H", "'")
_KEY_RE = re.compile(r"^(?:\[([^\]]*)\])?([1-9A-HJ-NP-Za-km-z]+)((?:/[^/]+)*)$")


def _parse_step(step: str, where: str) -> int:
    hardened = step.endswith(_HARDENED_MARKS)
    digits = step[:-1] if hardened else step
    if not is_decimal(digits, max_digits=10) or int(digits) >= HARDENED:
        raise DescriptorError(f"{where}: {excerpt(step)!r} is not a derivation step")
    return int(digits) + (HARDENED if hardened else 0)


def _parse_key(expr: str, position: int, network: Network) -> DescriptorKey:
    where = f"key {position}"
    m = _KEY_RE.match(expr)
    if not m:
        raise DescriptorError(f"{where} is not an [origin]xpub/.../* expression")
    origin_text, encoded, suffix = m.groups()
    if encoded[1:4] == "prv":
        raise DescriptorError(
            f"{where} is a private key; give the watch-only (xpub) descriptor",
            hint="export the public descriptor from the signer",
        )
    try:
        raw = decode_check(encoded)
        xpub = bip32.HDKey.parse(raw)
    except Exception:
        raise DescriptorError(f"{where} is not a valid extended public key") from None
    if xpub.version not in (XPUB_VERSION_MAIN, XPUB_VERSION_TEST):
        raise DescriptorError(f"{where} uses a SLIP-132 version (ypub/zpub...); use xpub or tpub")
    if xpub.version != network.xpub_version:
        have = "xpub (mainnet)" if xpub.version == XPUB_VERSION_MAIN else "tpub (test networks)"
        want = "xpub" if network.is_mainnet else "tpub"
        raise NetworkMismatch(f"{where} is an {have}; a {network.name} wallet needs {want} keys")
    if origin_text is None:
        origin = KeyOrigin(xpub.my_fingerprint, ())
    else:
        parts = origin_text.split("/")
        if not re.fullmatch(r"[0-9a-fA-F]{8}", parts[0]):
            raise DescriptorError(f"{where}: origin fingerprint must be 8 hex digits")
        path = tuple(_parse_step(p, where) for p in parts[1:])
        if len(path) != xpub.depth:
            raise DescriptorError(
                f"{where}: origin path has {len(path)} steps but the xpub is at depth {xpub.depth}"
            )
        origin = KeyOrigin(bytes.fromhex(parts[0]), path)
    steps = suffix.split("/")[1:]
    if not steps or steps[-1] != "*":
        raise DescriptorError(f"{where} must end in /<0;1>/*, /0/* or /1/* (ranged key)")
    if len(steps) != 2:
        raise DescriptorError(f"{where} must have exactly one branch step before /*")
    branch = steps[0]
    if branch == "<0;1>":
        branches: tuple[int, ...] = (RECEIVE, CHANGE)
    elif branch in ("0", "1"):
        branches = (int(branch),)
    else:
        raise DescriptorError(
            f"{where}: branch step {branch!r} must be <0;1>, 0 or 1 (hardened steps cannot be "
            "derived from an xpub)"
        )
    origin_part = f"[{origin.fingerprint.hex()}{origin.path_str()[1:]}]" if origin_text is not None else ""
    return DescriptorKey(xpub, origin, branches, f"{origin_part}{encoded}/{branch}/*")


# --- descriptors ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Descriptor:
    """A parsed, network-checked wallet descriptor. Derives scripts, addresses and key origins."""

    form: str  # "wsh-sortedmulti", "wsh-multi", "wpkh" or "tr"; "sh-" before a nested one
    keys: tuple[DescriptorKey, ...]
    threshold: int  # k of k-of-n; 1 for single-key forms
    network: Network

    @property
    def branches(self) -> tuple[int, ...]:
        return self.keys[0].branches

    @property
    def kind(self) -> ScriptKind:
        """Fee model of this descriptor's inputs and outputs."""
        if self.is_multisig:
            return wsh_multisig(self.threshold, len(self.keys), nested=self.is_nested)
        return {"wpkh": WPKH, "sh-wpkh": SH_WPKH}.get(self.form, TR_KEYPATH)

    @property
    def is_multisig(self) -> bool:
        return self.inner_form.startswith("wsh")

    @property
    def is_nested(self) -> bool:
        """Segwit nested in P2SH (``sh(wpkh)``, ``sh(wsh(...))``): spends push a redeem script."""
        return self.form.startswith("sh-")

    @property
    def inner_form(self) -> str:
        """The form without its P2SH wrapper."""
        return self.form.removeprefix("sh-")

    @property
    def template(self) -> str:
        """The form in descriptor words with the keys left out, for messages:
        ``sh(wsh(sortedmulti(2,...)))``, ``wpkh(KEY)``."""
        if self.is_multisig:
            inner = "sortedmulti" if self.inner_form == "wsh-sortedmulti" else "multi"
            text = f"wsh({inner}({self.threshold},...))"
        else:
            text = f"{self.inner_form}(KEY)"
        return f"sh({text})" if self.is_nested else text

    def to_string(self, *, branch: int | None = None) -> str:
        """The descriptor text without checksum; with ``branch``, a single-path ``/b/*`` form."""
        keys = []
        for key in self.keys:
            text = key.text
            if branch is not None:
                self._check_branch(branch)
                head, _, _ = text.rpartition("/")
                head, _, _ = head.rpartition("/")
                text = f"{head}/{branch}/*"
            keys.append(text)
        if self.inner_form == "wpkh":
            text = f"wpkh({keys[0]})"
        elif self.form == "tr":
            text = f"tr({keys[0]})"
        else:
            inner = "sortedmulti" if self.inner_form == "wsh-sortedmulti" else "multi"
            text = f"wsh({inner}({self.threshold},{','.join(keys)}))"
        return f"sh({text})" if self.is_nested else text

    def with_checksum(self, *, branch: int | None = None) -> str:
        """The descriptor text with its ``#checksum`` (what Core's importdescriptors expects)."""
        text = self.to_string(branch=branch)
        return f"{text}#{descriptor_checksum(text)}"

    def __str__(self) -> str:
        return self.with_checksum()

    def _check_branch(self, branch: int) -> None:
        if branch not in self.branches:
            names = {RECEIVE: "receive (0)", CHANGE: "change (1)"}
            have = " and ".join(names[b] for b in self.branches)
            raise DescriptorError(
                f"descriptor has no {names.get(branch, str(branch))} branch; it covers {have}"
            )

    def derived_keys(self, branch: int, index: int) -> list[DerivedKey]:
        """The keys of address ``branch/index`` with their origins, in descriptor order."""
        self._check_branch(branch)
        if not 0 <= index < HARDENED:
            raise DescriptorError(f"address index {index} is out of range")
        return [key.derive(branch, index) for key in self.keys]

    def witness_script(self, branch: int, index: int) -> bytes | None:
        """The P2WSH witness script at ``branch/index``; None for wpkh and tr."""
        if not self.is_multisig:
            return None
        pubkeys = [k.pubkey for k in self.derived_keys(branch, index)]
        if self.inner_form == "wsh-sortedmulti":
            pubkeys.sort()
        return (
            bytes([0x50 + self.threshold])
            + b"".join(b"\x21" + pk for pk in pubkeys)
            + bytes([0x50 + len(pubkeys), 0xAE])
        )

    def redeem_script(self, branch: int, index: int) -> bytes | None:
        """The P2SH redeem script at ``branch/index`` (the nested witness program); None
        unless the descriptor is ``sh(...)``."""
        return self._witness_program(branch, index) if self.is_nested else None

    def script_pubkey(self, branch: int, index: int) -> bytes:
        """The scriptPubKey of address ``branch/index``."""
        if self.is_nested:
            return b"\xa9\x14" + _hash160(self._witness_program(branch, index)) + b"\x87"
        return self._witness_program(branch, index)

    def _witness_program(self, branch: int, index: int) -> bytes:
        if self.is_multisig:
            ws = self.witness_script(branch, index)
            return b"\x00\x20" + hashlib.sha256(ws).digest()
        (key,) = self.derived_keys(branch, index)
        if self.inner_form == "wpkh":
            return b"\x00\x14" + _hash160(key.pubkey)
        output_key = ec.PublicKey.parse(key.pubkey).taproot_tweak(b"")  # BIP-86: no script tree
        return b"\x51\x20" + output_key.xonly()

    def address(self, branch: int, index: int) -> str:
        return address_from_script(self.script_pubkey(branch, index), self.network)

    def receive_address(self, index: int) -> str:
        return self.address(RECEIVE, index)

    def change_address(self, index: int) -> str:
        return self.address(CHANGE, index)

    def find(self, script_pubkey: bytes, *, gap: int = 1000) -> tuple[int, int] | None:
        """(branch, index) of ``script_pubkey`` among the first ``gap`` indexes, or None."""
        for index in range(gap):
            for branch in self.branches:
                if self.script_pubkey(branch, index) == script_pubkey:
                    return branch, index
        return None


def _hash160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()


_FORM_RE = re.compile(r"^(wsh\((sortedmulti|multi)\((.*)\)\)|wpkh\((.*)\)|tr\((.*)\))$", re.S)
_NESTED_RE = re.compile(r"^sh\((.*)\)$", re.S)
_SUPPORTED = (
    "use wsh(sortedmulti(k,...)), sh(wsh(sortedmulti(k,...))), wpkh(KEY), sh(wpkh(KEY)) or tr(KEY) "
    "with ranged xpub keys"
)


def parse_descriptor(
    text: str, network: Network | str, *, require_checksum: bool = False
) -> Descriptor:
    """Parse and check a descriptor for ``network`` (a Network or its name).

    A missing checksum is accepted unless ``require_checksum``; a wrong one raises
    DescriptorChecksumError naming the expected and given checksums.
    """
    network = Network.of(network)
    body = split_checksum(text, require=require_checksum)
    nested = _NESTED_RE.match(body)
    if nested:
        body = nested.group(1)
        if not body.startswith(("wpkh(", "wsh(")):
            # bare P2SH scripts (sh(multi), sh(pkh)...) and sh(tr) are not wallets we keep
            raise DescriptorError("unsupported descriptor form: sh() may only wrap wpkh() or wsh()",
                                  hint=_SUPPORTED)
    m = _FORM_RE.match(body)
    if not m:
        raise DescriptorError("unsupported descriptor form", hint=_SUPPORTED)
    _, multi_kind, multi_args, wpkh_arg, tr_arg = m.groups()
    if multi_kind:
        threshold_text, *key_texts = multi_args.split(",")
        if not is_decimal(threshold_text, max_digits=3):
            raise DescriptorError(f"multisig threshold {excerpt(threshold_text)!r} is not a number")
        threshold = int(threshold_text)
        if not 1 <= len(key_texts) <= MAX_MULTISIG_KEYS:
            raise DescriptorError(f"multisig needs 1 to {MAX_MULTISIG_KEYS} keys, got {len(key_texts)}")
        if not 1 <= threshold <= len(key_texts):
            raise DescriptorError(f"multisig threshold {threshold} is not within 1..{len(key_texts)}")
        form = f"wsh-{multi_kind}"
    else:
        key_texts = [wpkh_arg if wpkh_arg is not None else tr_arg]
        if "," in key_texts[0] or "(" in key_texts[0]:
            raise DescriptorError("only key-path tr(KEY) and wpkh(KEY) are supported")
        threshold, form = 1, "wpkh" if wpkh_arg is not None else "tr"
    keys = tuple(_parse_key(t.strip(), i + 1, network) for i, t in enumerate(key_texts))
    if len({k.branches for k in keys}) != 1:
        raise DescriptorError("all keys must use the same branch step (<0;1>, 0 or 1)")
    if len({k.xpub.key.sec() for k in keys}) != len(keys):
        raise DescriptorError("the same key appears twice in the multisig")
    return Descriptor(f"sh-{form}" if nested else form, keys, threshold, network)
