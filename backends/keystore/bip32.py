"""BIP-32 paths, master keys, derivation and strict parsing of extended keys.

Derivation itself is embit's ``HDKey``; this module adds the checks and the errors an
operator can read (a bad path names the bad component; a bad xpub names the failed check).
"""

from __future__ import annotations

import coincurve
from embit import base58
from embit.bip32 import HDKey
from embit.ec import PrivateKey, PublicKey

from backends.keystore.addresses import network_params
from backends.keystore.errors import InvalidExtendedKey, InvalidPath
from backends.outside_input import excerpt, is_decimal

HARDENED = 0x80000000
MAX_DEPTH = 255
_CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_EXTENDED_KEY_BYTES = 78

# version bytes → (kind, is_private); BIP-32 §Serialization format and embit's testnet pair
_VERSIONS = {
    bytes.fromhex("0488b21e"): ("xpub", False),
    bytes.fromhex("0488ade4"): ("xprv", True),
    bytes.fromhex("043587cf"): ("tpub", False),
    bytes.fromhex("04358394"): ("tprv", True),
}


def parse_path(path: str) -> tuple[int, ...]:
    """``"m/84'/1'/0'/0/5"`` (or ``h``/``H`` for hardened) → child numbers."""
    text = path.strip()
    if text in ("m", "M", ""):
        return ()
    components = text.split("/")
    if components[0] in ("m", "M"):
        components = components[1:]
    if len(components) > MAX_DEPTH:
        raise InvalidPath(f"path {excerpt(path)!r} is deeper than {MAX_DEPTH} levels")
    indices = []
    for position, component in enumerate(components, start=1):
        hardened = component[-1:] in ("'", "h", "H")
        digits = component[:-1] if hardened else component
        if not is_decimal(digits, max_digits=len(digits)) or (len(digits) > 1 and digits[0] == "0"):
            raise InvalidPath(
                f"path {excerpt(path)!r}: component {position} ({excerpt(component)!r}) is not an index "
                "like 0, 44' or 44h"
            )
        # more than 10 digits is past 2^31 whatever they are: int() is never asked for 4,301
        index = int(digits) if len(digits) <= 10 else HARDENED
        if index >= HARDENED:
            raise InvalidPath(
                f"path {excerpt(path)!r}: component {position} is too large; indices stop at 2^31-1 "
                "(mark hardened ones with ' or h)"
            )
        indices.append(index + HARDENED if hardened else index)
    return tuple(indices)


def format_path(indices: tuple[int, ...] | list[int]) -> str:
    parts = ["m"]
    for index in indices:
        parts.append(f"{index - HARDENED}h" if index >= HARDENED else str(index))
    return "/".join(parts)


def master_key(seed: bytes | bytearray, network: str = "main") -> HDKey:
    if not 16 <= len(seed) <= 64:
        raise ValueError("a BIP-32 seed is 16 to 64 bytes")
    return HDKey.from_seed(bytes(seed), version=network_params(network)["xprv"])


def derive(master: HDKey, indices: tuple[int, ...]) -> HDKey:
    return master.derive(list(indices))


def fingerprint_of(master: HDKey) -> str:
    """The master key fingerprint (xfp): first 4 bytes of HASH160(master pubkey), as hex."""
    return master.my_fingerprint.hex()


def parse_extended_key(text: str) -> HDKey:
    """Parse an xpub/xprv/tpub/tprv, applying every check of BIP-32's test vector 5."""
    try:
        raw = base58.decode_check(text.strip())
    except Exception:
        raise InvalidExtendedKey("extended key: bad base58 or checksum") from None
    if len(raw) != _EXTENDED_KEY_BYTES:
        raise InvalidExtendedKey(f"extended key: {len(raw)} bytes instead of 78")
    version, depth, parent, child = raw[0:4], raw[4], raw[5:9], raw[9:13]
    chain_code, key_data = raw[13:45], raw[45:78]
    if version not in _VERSIONS:
        raise InvalidExtendedKey("extended key: unknown version bytes")
    kind, is_private = _VERSIONS[version]
    if depth == 0 and parent != bytes(4):
        raise InvalidExtendedKey("extended key: depth 0 with a non-zero parent fingerprint")
    if depth == 0 and child != bytes(4):
        raise InvalidExtendedKey("extended key: depth 0 with a non-zero child index")
    if is_private:
        key = _private_key(key_data, kind)
    else:
        key = _public_key(key_data, kind)
    return HDKey(
        key,
        chain_code,
        version=version,
        depth=depth,
        fingerprint=parent,
        child_number=int.from_bytes(child, "big"),
    )


def _private_key(key_data: bytes, kind: str) -> PrivateKey:
    if key_data[0] != 0:
        raise InvalidExtendedKey(f"extended key: {kind} does not hold a private key")
    if not 0 < int.from_bytes(key_data[1:], "big") < _CURVE_ORDER:
        raise InvalidExtendedKey("extended key: private key is not in 1..n-1")
    return PrivateKey(key_data[1:])


def _public_key(key_data: bytes, kind: str) -> PublicKey:
    if key_data[0] not in (2, 3):
        raise InvalidExtendedKey(f"extended key: {kind} does not hold a compressed public key")
    try:
        coincurve.PublicKey(key_data)
    except ValueError:
        raise InvalidExtendedKey("extended key: public key is not on the curve") from None
    return PublicKey.parse(key_data)
