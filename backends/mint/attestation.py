"""Reserve attestations: reserves against liabilities at a block, signed, verifiable offline.

Why not the operator's HMAC key: an HMAC proves nothing to someone without the secret. An
attestation is for users and auditors, so it is signed with the mint's attestation key, a
secp256k1 key in the keystore (kind ``nostr``, label ``mint-attestation``), with BIP-340
Schnorr; the x-only public key travels in the file and is published at ``/mint/key``. The
operator who asked for it is named inside (``requested_by``).

The signature covers a commitment to each field (SHA-256 of a tag, the field's name and its
canonical JSON value). So verification says *which* field was altered: when the signature
over the commitments holds, the field whose value no longer matches its commitment is named.
Anyone can also check ``reserves_sat`` against the chain at ``height`` with the public
``reserve_descriptor``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any, Mapping

from .errors import MintError

KEY_LABEL = "mint-attestation"
TYPE = "custody-tui/mint-reserve-attestation/v1"
_FIELD_TAG = b"custody-tui/mint/attestation/field/v1\x00"
_SIG_TAG = b"custody-tui/mint/attestation/commitments/v1\x00"
_EXPORT_TAG = b"custody-tui/mint/signed-export/v1\x00"
_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

#: the attested fields and their JSON types; every one is required
FIELDS: dict[str, type | tuple[type, ...]] = {
    "type": str, "mint_id": str, "network": str, "height": int, "block_hash": str, "block_time": int,
    "issued_at": int, "reserve_descriptor": str, "reserves_sat": int, "liabilities_sat": int,
    "outstanding_notes_sat": int, "surplus_sat": int, "utxo_count": int, "requested_by": str, "pubkey": str,
}


class AttestationError(MintError):
    """An attestation that is malformed, altered, or not signed by the key it names."""


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def field_commitment(name: str, value: Any) -> str:
    return hashlib.sha256(_FIELD_TAG + name.encode() + b"\x00" + _canonical(value)).hexdigest()


def _signed_digest(commitments: Mapping[str, str]) -> bytes:
    return hashlib.sha256(_SIG_TAG + _canonical(dict(commitments))).digest()


def ensure_key(keystore) -> str:
    """The attestation key's x-only public key (hex), creating the key on first use."""
    from backends.keystore import EntryNotFound

    try:
        secret = keystore.get_secret(KEY_LABEL)
    except EntryNotFound:
        while True:
            secret = secrets.token_bytes(32)
            if 0 < int.from_bytes(secret, "big") < _SECP256K1_ORDER:
                break
        keystore.add_secret(KEY_LABEL, "nostr", secret, public={"purpose": "mint reserve attestations"})
    import coincurve

    return coincurve.PrivateKey(secret).public_key_xonly.format().hex()


def sign_attestation(keystore, body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` (every field but ``pubkey``) signed with the attestation key."""
    import coincurve

    pubkey = ensure_key(keystore)
    fields = {**body, "type": TYPE, "pubkey": pubkey}
    _check_shape(fields)
    commitments = {name: field_commitment(name, fields[name]) for name in sorted(FIELDS)}
    secret = keystore.get_secret(KEY_LABEL)
    signature = coincurve.PrivateKey(secret).sign_schnorr(_signed_digest(commitments), secrets.token_bytes(32))
    return {**fields, "commitments": commitments, "signature": signature.hex()}


def _check_shape(data: Mapping[str, Any]) -> None:
    for name, kind in FIELDS.items():
        if name not in data:
            raise AttestationError(f"the attestation has no field {name!r}")
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise AttestationError(f"field {name!r} has the wrong type")
    extra = sorted(set(data) - set(FIELDS) - {"commitments", "signature"})
    if extra:
        raise AttestationError(f"the attestation has an unknown field {extra[0]!r}")
    if data["type"] != TYPE:
        raise AttestationError(f"field 'type' is {str(data['type'])[:60]!r}, not {TYPE!r}")


def verify_attestation(data: Any, *, expected_pubkey: str | None = None) -> dict[str, Any]:
    """The attested fields if ``data`` is intact and signed by its key (and by
    ``expected_pubkey`` when given); else AttestationError naming the culprit."""
    import coincurve

    if not isinstance(data, Mapping):
        raise AttestationError("an attestation is a JSON object")
    _check_shape(data)
    commitments, signature = data.get("commitments"), data.get("signature")
    if not isinstance(commitments, Mapping) or sorted(commitments) != sorted(FIELDS):
        raise AttestationError("field 'commitments' is missing or does not list every field")
    if not isinstance(signature, str):
        raise AttestationError("field 'signature' is missing")
    if expected_pubkey is not None and data["pubkey"] != expected_pubkey:
        raise AttestationError("field 'pubkey' is not the mint's attestation key")
    try:
        key = coincurve.PublicKeyXOnly(bytes.fromhex(data["pubkey"]))
        valid = key.verify(bytes.fromhex(signature), _signed_digest(commitments))
    except (ValueError, TypeError):
        valid = False
    if not valid:
        raise AttestationError("field 'signature' does not verify over the commitments (or 'commitments' "
                               "or 'pubkey' was altered)")
    for name in sorted(FIELDS):
        if field_commitment(name, data[name]) != commitments[name]:
            raise AttestationError(f"field {name!r} was altered after signing")
    return {name: data[name] for name in FIELDS}


def sign_export(keystore, document: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` (e.g. the audit export) with a BIP-340 signature of the attestation key."""
    import coincurve

    pubkey = ensure_key(keystore)
    digest = hashlib.sha256(_EXPORT_TAG + _canonical(dict(document))).digest()
    signature = coincurve.PrivateKey(keystore.get_secret(KEY_LABEL)).sign_schnorr(digest, secrets.token_bytes(32))
    return {"document": dict(document), "pubkey": pubkey, "signature": signature.hex()}


def verify_export(data: Any, *, expected_pubkey: str | None = None) -> Mapping[str, Any]:
    """The document of a signed export, if its signature holds; else AttestationError."""
    import coincurve

    if not isinstance(data, Mapping) or not isinstance(data.get("document"), Mapping):
        raise AttestationError("a signed export is an object with 'document', 'pubkey' and 'signature'")
    pubkey, signature = data.get("pubkey"), data.get("signature")
    if not isinstance(pubkey, str) or not isinstance(signature, str):
        raise AttestationError("field 'pubkey' or 'signature' is missing")
    if expected_pubkey is not None and pubkey != expected_pubkey:
        raise AttestationError("field 'pubkey' is not the mint's attestation key")
    digest = hashlib.sha256(_EXPORT_TAG + _canonical(dict(data["document"]))).digest()
    try:
        valid = coincurve.PublicKeyXOnly(bytes.fromhex(pubkey)).verify(bytes.fromhex(signature), digest)
    except (ValueError, TypeError):
        valid = False
    if not valid:
        raise AttestationError("the signature does not verify: the document or its signature was altered")
    return data["document"]
