"""Whitelist entries checked the way the device does (``utils.cleanup_payment_address``).

Only syntax is checked (matching is by string later): a base58check string shorter than
40 characters (longer ones are extended keys), or a segwit address in any network, which
is lower-cased.
"""

from __future__ import annotations

from embit import base58, bech32

from backends.coldcard.hsm import texts


class BadAddress(ValueError):
    """A whitelist entry that is neither base58check nor segwit."""


def cleanup_payment_address(value: object) -> str:
    if isinstance(value, str):
        if _is_base58check(value) and len(value) < 40:
            return value
        if _is_segwit(value):
            return value.lower()
        raise BadAddress(texts.BAD_ADDRESS.format(address=value))
    # MicroPython cannot concatenate a str and a non-str
    raise BadAddress(f"can't convert '{type(value).__name__}' object to str implicitly")


def _is_base58check(value: str) -> bool:
    try:
        base58.decode_check(value)
    except Exception:  # noqa: BLE001 - any decoding failure means "not base58check"
        return False
    return True


def _is_segwit(value: str) -> bool:
    encoding, hrp, data = _bech32_decode(value)
    if hrp is None or not data:
        return False
    version = data[0]
    program = bech32.convertbits(data[1:], 5, 8, False)
    if program is None or version > 16 or not 2 <= len(program) <= 40:
        return False
    if version == 0 and len(program) not in (20, 32):
        return False
    wanted = bech32.Encoding.BECH32 if version == 0 else bech32.Encoding.BECH32M
    return encoding == wanted


def _bech32_decode(value: str):
    try:
        return bech32.bech32_decode(value)
    except Exception:  # noqa: BLE001
        return None, None, None
