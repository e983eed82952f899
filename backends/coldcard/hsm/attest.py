"""ATTEST whitelists: an output is allowed when a whitelisted key signed it.

The signature is a 65-byte recoverable one (BIP-137 header) over the Bitcoin message hash
of the serialized TxOut (8-byte value, compact-size script). The header picks the address
type the recovered key is rendered as (``chains.verify_recover_pubkey``).
"""

from __future__ import annotations

import hashlib

from embit import ec, script
from embit.networks import NETWORKS
from embit.util import secp256k1

from backends.encoding import compact_size

from backends.coldcard.hsm import texts
from backends.coldcard.hsm.summary import OutputSummary

_NETWORK = {"BTC": "main", "XTN": "test", "XRT": "regtest"}


class AttestationError(ValueError):
    """A malformed or unverifiable attestation; ``str()`` is the device's reason."""


def attested_address(out: OutputSummary, chain: str) -> str:
    """The address of the key that attested ``out``, rendered for ``chain``."""
    sig = out.attestation or b""
    if len(sig) != 65:
        raise AttestationError(texts.SIGNATURE_LENGTH)
    header = sig[0]
    if not 27 <= header <= 42:
        raise AttestationError(texts.UNSUPPORTED_RECOVERY_ID.format(v=header))
    if out.script is None:
        raise AttestationError(texts.INVALID_SIGNATURE)
    digest = message_hash(serialize_txout(out.amount_sat, out.script))
    try:
        recoverable = secp256k1.ecdsa_recoverable_signature_parse_compact(
            sig[1:], (header - 27) & 3
        )
        point = secp256k1.ecdsa_recover(recoverable, digest)
        pubkey = ec.PublicKey.parse(secp256k1.ec_pubkey_serialize(point, secp256k1.EC_COMPRESSED))
    except Exception:  # noqa: BLE001 - the device words every failure the same way
        raise AttestationError(texts.INVALID_SIGNATURE) from None
    network = NETWORKS[_NETWORK[chain]]
    if header <= 34:
        return script.p2pkh(pubkey).address(network)
    if header <= 38:
        return script.p2sh(script.p2wpkh(pubkey)).address(network)
    return script.p2wpkh(pubkey).address(network)


def serialize_txout(value: int, script_pubkey: bytes) -> bytes:
    return value.to_bytes(8, "little") + compact_size(len(script_pubkey)) + script_pubkey


def message_hash(message: bytes) -> bytes:
    data = b"\x18Bitcoin Signed Message:\n" + compact_size(len(message)) + message
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()
