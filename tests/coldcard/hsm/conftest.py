"""Fixtures for the HSM policy engine: a frozen clock, a user table, transaction builders."""

from __future__ import annotations

import hashlib
import itertools
from base64 import b32decode
from dataclasses import dataclass

import pytest

from backends.coldcard.hsm import (
    HsmEngine,
    HsmPolicy,
    InputSummary,
    OutputSummary,
    TxSummary,
    UserStore,
    password_key,
)

#: a 20-byte TOTP secret (pyotp >= 2.10 refuses the device's 10-byte ones, see test_users)
TOTP_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
#: the simulator's preset HOTP user (research §7.5)
HOTP_SECRET = "DBDCOKLQKM6BAKXD"
PASSWORD = b"abcd1234"
WALLET = "ckms23"

#: testnet addresses (from the firmware's test suite, used as facts)
DEST = "mrVwhWw4GEBcHFttjEiawL77DaqZWNDm75"
OTHER = "tb1q0pu8s7rc0pu8s7rc0pu8s7rc0pu8s7rclglv65"
CHANGE = "tb1qchangeaddressplaceholder"


@dataclass
class FrozenClock:
    now: float = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def counting_random():
    counter = itertools.count(1)
    return lambda n: bytes([next(counter) % 256]) * n


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def users(tmp_path) -> UserStore:
    store = UserStore(tmp_path, random_bytes=counting_random())
    store.create("totp", "totp", b32decode(TOTP_SECRET))
    store.create("hotp", "hotp", b32decode(HOTP_SECRET))
    store.create("pw", "password", password_key(PASSWORD, store.serial))
    return store


@pytest.fixture
def start(tmp_path, clock, users):
    """Activate ``policy`` (a dict) as a freshly approved policy file."""

    def doit(policy: dict, **kw) -> HsmEngine:
        parsed = HsmPolicy.from_json(policy, users=users, wallets=[WALLET])
        return HsmEngine(
            parsed, tmp_path, clock=clock, users=users, random_bytes=counting_random(), **kw
        )

    return doit


def tx(
    *amounts: int,
    to: str = DEST,
    change: int = 0,
    wallet: str | None = None,
    warnings: tuple[str, ...] = (),
    salt: bytes = b"",
    outputs: list[OutputSummary] | None = None,
    inputs: list[InputSummary] | None = None,
) -> TxSummary:
    """A PSBT paying ``amounts`` to ``to`` with an optional change output."""
    outs = outputs if outputs is not None else [OutputSummary(to, a, False) for a in amounts]
    if change:
        outs = outs + [OutputSummary(CHANGE, change, True)]
    total = sum(o.amount_sat for o in outs) + 1000
    sha = hashlib.sha256(repr((amounts, to, change, wallet, salt)).encode()).digest()
    return TxSummary(
        wallet_name=wallet,
        outputs=outs,
        fee_sat=1000,
        total_in_sat=total,
        warnings=list(warnings),
        psbt_sha256=sha,
        inputs=inputs if inputs is not None else [InputSummary(total, True)],
    )
