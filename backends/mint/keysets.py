"""Denomination sets and their RSA keys: public halves in the ledger, private ones in the keystore.

A blind signature cannot say what it is worth: the mint never sees the message it signs.
So a denomination set holds one RSA key per denomination, and a note's value is the
denomination whose key signed it. A set is named by a hash of its variant and public keys;
its private keys are keystore entries of kind ``rsa`` labelled ``mint-<set id>-<amount>``.
New sets replace the issuing one (rotation); old sets still redeem.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

from .blindrsa import PublicKey, SecretKey, Variant
from .errors import MintKeyError, UnknownDenomination
from .ledger import Ledger

MAX_DENOMINATIONS = 64
MAX_DENOMINATION_SAT = 21_000_000 * 100_000_000
DEFAULT_VARIANT = Variant.PSS_RANDOMIZED  # RFC 9474 section 5: safe whatever the message


@dataclass(frozen=True)
class Keyset:
    """A denomination set as wallets see it."""

    keyset_id: str
    variant: Variant
    keys: Mapping[int, PublicKey] = field(repr=False)
    active: bool = True

    @property
    def denominations(self) -> tuple[int, ...]:
        return tuple(sorted(self.keys))

    def public_key(self, amount_sat: int) -> PublicKey:
        try:
            return self.keys[amount_sat]
        except (KeyError, TypeError):
            shown = ", ".join(str(a) for a in self.denominations)
            raise UnknownDenomination(
                f"keyset {self.keyset_id} issues no {amount_sat} sat notes; its denominations are {shown}"
            ) from None

    def to_public_dict(self) -> dict:
        """What ``/mint/key`` publishes: the set, its variant and each key as SPKI DER hex."""
        return {
            "keyset_id": self.keyset_id,
            "variant": self.variant.value,
            "active": self.active,
            "keys": {str(a): self.keys[a].to_der().hex() for a in self.denominations},
        }


def keystore_label(keyset_id: str, amount_sat: int) -> str:
    return f"mint-{keyset_id}-{amount_sat}"


def check_denominations(denominations: Iterable[int]) -> tuple[int, ...]:
    values = tuple(denominations)
    if not values:
        raise MintKeyError("a denomination set needs at least one denomination")
    if len(values) > MAX_DENOMINATIONS:
        raise MintKeyError(f"a denomination set has at most {MAX_DENOMINATIONS} denominations")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_DENOMINATION_SAT:
            raise MintKeyError(f"denomination {value!r} is not a whole number of sat in 1..21e14")
    if len(set(values)) != len(values):
        raise MintKeyError("a denomination set lists each denomination once")
    return tuple(sorted(values))


def _keyset_id(variant: Variant, keys: Mapping[int, PublicKey]) -> str:
    digest = hashlib.sha256(b"custody-tui/mint/keyset/v1\x00" + variant.value.encode())
    for amount in sorted(keys):
        der = keys[amount].to_der()
        digest.update(amount.to_bytes(8, "big") + len(der).to_bytes(4, "big") + der)
    return digest.hexdigest()[:16]


def create_keyset(
    ledger: Ledger,
    keystore,
    denominations: Iterable[int],
    *,
    variant: Variant = DEFAULT_VARIANT,
    bits: int = 2048,
    clock: Callable[[], float] = time.time,
) -> Keyset:
    """Make a key per denomination, store them in the (unlocked) keystore, and make the
    set the one that issues. Keys reach the keystore before the ledger names them, so a
    crash in between leaves unused entries, never a set without its keys."""
    amounts = check_denominations(denominations)
    ders = {amount: SecretKey.generate_der(bits) for amount in amounts}
    keys = {amount: SecretKey(der).public_key for amount, der in ders.items()}
    keyset_id = _keyset_id(variant, keys)
    for amount, der in ders.items():
        keystore.add_secret(
            keystore_label(keyset_id, amount), "rsa", der,
            public={"mint_keyset": keyset_id, "amount_sat": amount, "variant": variant.value},
        )
    with ledger.transaction() as db:
        db.execute("UPDATE keysets SET active=0")
        db.execute("INSERT INTO keysets(keyset_id, variant, active, created_at) VALUES (?,?,1,?)",
                   (keyset_id, variant.value, clock()))
        db.executemany(
            "INSERT INTO keyset_keys(keyset_id, amount_sat, keystore_label, public_key_der) VALUES (?,?,?,?)",
            [(keyset_id, a, keystore_label(keyset_id, a), keys[a].to_der()) for a in amounts],
        )
    return Keyset(keyset_id, variant, MappingProxyType(keys), True)


def load_keysets(ledger: Ledger) -> list[Keyset]:
    """Every set, the issuing one first, then newest first."""
    rows = ledger.read("SELECT keyset_id, variant, active FROM keysets ORDER BY active DESC, created_at DESC")
    keys = ledger.read("SELECT keyset_id, amount_sat, public_key_der FROM keyset_keys")
    by_set: dict[str, dict[int, PublicKey]] = {}
    for keyset_id, amount, der in keys:
        by_set.setdefault(keyset_id, {})[amount] = PublicKey.from_der(der)
    return [Keyset(kid, Variant.parse(v), MappingProxyType(by_set.get(kid, {})), bool(a)) for kid, v, a in rows]


def find_keyset(ledger: Ledger, keyset_id: str | None = None) -> Keyset:
    """The named set, or the issuing one when ``keyset_id`` is None."""
    for keyset in load_keysets(ledger):
        if (keyset_id is None and keyset.active) or keyset.keyset_id == keyset_id:
            return keyset
    if keyset_id is None:
        raise MintKeyError("the mint has no denomination set yet", hint="create one: mint keys create")
    raise MintKeyError(f"the mint has no denomination set {keyset_id!r}")


class Signers:
    """The private keys of the sets, opened from the keystore when first used.

    Opened keys live in OpenSSL memory; they are dropped as soon as the keystore is found
    locked (its unlock TTL ran out), so a locked keystore means a mint that cannot sign.
    """

    def __init__(self, keystore) -> None:
        self._keystore = keystore
        self._open: dict[tuple[str, int], SecretKey] = {}
        self._mutex = threading.Lock()

    def __repr__(self) -> str:
        return f"Signers({len(self._open)} open)"

    def get(self, keyset: Keyset, amount_sat: int) -> SecretKey:
        public = keyset.public_key(amount_sat)
        with self._mutex:
            if not self._keystore.is_unlocked:
                self._open.clear()
            cached = self._open.get((keyset.keyset_id, amount_sat))
            if cached is not None:
                return cached
            der = self._keystore.get_secret(keystore_label(keyset.keyset_id, amount_sat))
            secret = SecretKey(der)
            del der
            if secret.public_key != public:
                raise MintKeyError(
                    f"keystore entry {keystore_label(keyset.keyset_id, amount_sat)!r} does not hold "
                    "the key the ledger names; it was replaced",
                    hint="restore the keystore entry from backup",
                )
            self._open[(keyset.keyset_id, amount_sat)] = secret
            return secret
