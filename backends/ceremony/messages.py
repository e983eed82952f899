"""What each ceremony post says, and the checks a body passes before a node acts on it.

The board already verified the poster's signature and bounded the JSON; here each phase's
body is checked field by field (types, hex lengths, counts), so protocol code only ever
sees well-formed bytes. Phases, in order:

DKG (ChillDKG): ``start`` (initiator: name, t, ordered host keys), ``round1`` (pmsg1),
``coord1`` (cmsg1, by whoever first saw round 1 complete), ``round2`` (CertEq signature),
``coord2`` (the success certificate and the recovery data), ``done`` (recovery
acknowledgment and the group key).

Signing (BIP-445): ``request`` (the DKG, a message or a PSBT, a reason), ``decision``
(approve with one public nonce per message, or decline), ``psig`` (partial signatures for
the locked signer set), ``result`` (the signatures; the txid of a broadcast PSBT).

Every body of a node's own post carries ``counter``: the node's monotonic post counter.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import MessageRefused

MAX_PARTICIPANTS = 64
MAX_MESSAGE_BYTES = 16 * 1024
MAX_REASON_CHARS = 500
MAX_NAME_CHARS = 64
_HEX = re.compile(r"(?:[0-9a-f]{2})*")
_CID = re.compile(r"[0-9a-f]{32}")


def refuse(where: str, why: str) -> MessageRefused:
    return MessageRefused(f"{where}: {why}")


def hex_field(body: dict[str, Any], name: str, where: str, *, length: int | None = None,
              max_length: int = 200_000) -> bytes:
    value = body.get(name)
    if not isinstance(value, str) or len(value) > 2 * max_length or not _HEX.fullmatch(value):
        raise refuse(where, f"{name!r} is not lowercase hex")
    raw = bytes.fromhex(value)
    if length is not None and len(raw) != length:
        raise refuse(where, f"{name!r} is {len(raw)} bytes, not {length}")
    return raw


def int_field(body: dict[str, Any], name: str, where: str, *, low: int = 0, high: int = 2**63) -> int:
    value = body.get(name)
    if type(value) is not int or not low <= value <= high:
        raise refuse(where, f"{name!r} is not a whole number from {low} to {high}")
    return value


def text_field(body: dict[str, Any], name: str, where: str, *, limit: int) -> str:
    """One printable line: a newline, a terminal control (C0, DEL, C1) or a bidi override in
    a reason or a name would let its poster fake lines of the review a keyholder approves."""
    value = body.get(name)
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise refuse(where, f"{name!r} is not one line of printable text of at most {limit} characters")
    return value


def hex_list(body: dict[str, Any], name: str, where: str, *, length: int, count: int | None = None,
             max_count: int = MAX_PARTICIPANTS) -> list[bytes]:
    value = body.get(name)
    if not isinstance(value, list) or not 0 < len(value) <= max_count:
        raise refuse(where, f"{name!r} is not a list of 1 to {max_count} items")
    if count is not None and len(value) != count:
        raise refuse(where, f"{name!r} has {len(value)} items, not {count}")
    return [hex_field({"v": item}, "v", f"{where} {name}[{i}]", length=length) for i, item in enumerate(value)]


def counter_of(body: dict[str, Any], where: str) -> int:
    return int_field(body, "counter", where, low=1)


# -- DKG --------------------------------------------------------------------------------------


def dkg_start(body: dict[str, Any], where: str) -> tuple[str, int, list[bytes], str]:
    """(name, t, ordered host keys, network) of a DKG start."""
    if body.get("kind") != "dkg":
        raise refuse(where, "not a DKG start")
    name = text_field(body, "name", where, limit=MAX_NAME_CHARS)
    hostpubkeys = hex_list(body, "hostpubkeys", where, length=33)
    t = int_field(body, "t", where, low=1, high=len(hostpubkeys))
    network = text_field(body, "network", where, limit=16)
    if network not in ("main", "test", "signet", "regtest"):
        raise refuse(where, f"unknown network {network!r}")
    counter_of(body, where)
    return name, t, hostpubkeys, network


# -- signing ----------------------------------------------------------------------------------


def sign_request(body: dict[str, Any], where: str) -> tuple[str, str, bytes | str, str]:
    """(dkg ceremony id, payload kind, message bytes or PSBT base64, reason)."""
    if body.get("kind") != "sign":
        raise refuse(where, "not a signing request")
    dkg = body.get("dkg")
    if not isinstance(dkg, str) or not _CID.fullmatch(dkg):
        raise refuse(where, "'dkg' is not a ceremony id")
    reason = text_field(body, "reason", where, limit=MAX_REASON_CHARS)
    payload = body.get("payload")
    counter_of(body, where)
    if payload == "message":
        return dkg, payload, hex_field(body, "message", where, max_length=MAX_MESSAGE_BYTES), reason
    if payload == "psbt":
        psbt = body.get("psbt")
        if not isinstance(psbt, str) or not 0 < len(psbt) <= 200_000:
            raise refuse(where, "'psbt' is not base64 text")
        return dkg, payload, psbt, reason
    raise refuse(where, "'payload' is neither 'message' nor 'psbt'")


def decision(body: dict[str, Any], where: str, messages: int) -> list[bytes] | None:
    """The public nonces of an approval (one per message), None for a decline."""
    approve = body.get("approve")
    counter_of(body, where)
    if approve is False:
        return None
    if approve is not True:
        raise refuse(where, "'approve' is neither true nor false")
    return hex_list(body, "pubnonces", where, length=66, count=messages, max_count=256)


def psig(body: dict[str, Any], where: str, messages: int) -> tuple[list[int], list[bytes]]:
    signers = body.get("signers")
    if not isinstance(signers, list) or not signers or len(signers) > MAX_PARTICIPANTS \
            or any(type(i) is not int or not 0 <= i < MAX_PARTICIPANTS for i in signers):
        raise refuse(where, "'signers' is not a list of participant ids")
    counter_of(body, where)
    return signers, hex_list(body, "psigs", where, length=32, count=messages, max_count=256)
