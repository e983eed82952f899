"""BIP-137 message signatures (the "Bitcoin Signed Message" compact ECDSA format).

Signature = base64(header || r || s). The header carries the recovery id and the address
kind (BIP-137 §Background): 27-30 p2pkh with an uncompressed key, 31-34 p2pkh compressed,
35-38 p2sh-p2wpkh, 39-42 p2wpkh. Taproot addresses need BIP-322 and are refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

import coincurve

from backends.encoding import compact_size
from backends.keystore.addresses import (
    ScriptType,
    address_for,
    decode_address,
    key_matches_address,
)
from backends.keystore.errors import UnsupportedScript

MESSAGE_MAGIC = b"\x18Bitcoin Signed Message:\n"

_HEADER_BASE = {
    ScriptType.PKH: 31,
    ScriptType.SH_WPKH: 35,
    ScriptType.WPKH: 39,
}


def message_hash(message: str) -> bytes:
    """SHA256d(magic || varint(len) || message), the digest BIP-137 signs."""
    body = message.encode("utf-8")
    payload = MESSAGE_MAGIC + compact_size(len(body)) + body
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()


def sign_message_with_key(
    private_key: bytes | bytearray, message: str, script: str | ScriptType, network: str
) -> tuple[str, str]:
    """Sign with a raw 32-byte key; returns (address, base64 signature). RFC 6979 nonces."""
    kind = ScriptType.parse(script)
    if kind not in _HEADER_BASE:
        raise UnsupportedScript(
            "BIP-137 signs p2pkh, p2sh-p2wpkh and p2wpkh addresses; taproot needs BIP-322"
        )
    key = coincurve.PrivateKey(bytes(private_key))
    public_key = key.public_key.format(compressed=True)
    recoverable = key.sign_recoverable(message_hash(message), hasher=None)
    header = _HEADER_BASE[kind] + recoverable[64]
    signature = bytes([header]) + recoverable[:64]
    return address_for(public_key, kind, network), base64.b64encode(signature).decode("ascii")


def malformed_signature_reason(signature_b64: str) -> str | None:
    """Why ``signature_b64`` cannot be a BIP-137 signature at all, or None if it could be.
    Lets an operator tell a mangled paste from a signature by another key."""
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        return "the signature is not base64"
    if len(signature) != 65:
        return f"a message signature is 65 bytes, this one is {len(signature)}"
    if not 27 <= signature[0] <= 42:
        return f"the signature's header byte {signature[0]} is not a BIP-137 header (27-42)"
    return None


def verify_message(address: str, message: str, signature_b64: str, network: str) -> bool:
    """True iff the signature over ``message`` was made by the key behind ``address``.

    A malformed signature (bad base64, wrong length, unknown header) is simply False. An
    address that does not decode on ``network`` raises InvalidAddress; an unknown network
    raises UnsupportedNetwork. Segwit addresses also accept the p2pkh headers 31-34 that
    Electrum and some hardware wallets write, since the recovered key is the same.
    """
    address_kind = decode_address(address, network)[0]
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(signature) != 65 or not 27 <= signature[0] <= 42:
        return False
    header = signature[0] - 27
    recovery_id, compressed = header & 3, header >= 4
    try:
        recovered = coincurve.PublicKey.from_signature_and_message(
            signature[1:] + bytes([recovery_id]), message_hash(message), hasher=None
        )
    except (ValueError, TypeError):
        return False
    public_key = recovered.format(compressed=compressed)
    if address_kind not in _address_kinds_for_header(signature[0]):
        return False
    return key_matches_address(public_key, address, network)


def _address_kinds_for_header(header: int) -> tuple[str, ...]:
    if header <= 30:
        return ("p2pkh",)
    if header <= 34:
        return ("p2pkh", "p2sh", "witness_v0")
    if header <= 38:
        return ("p2sh",)
    return ("witness_v0",)
