"""Deposit addresses are bounded: outstanding ones against a cap (expiring), and per client."""

from __future__ import annotations

import dataclasses
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.mint.deposit_limits import ClientBuckets, DepositAddressLimited, DepositLimits, client_key
from backends.mint.errors import MintError
from tests.mint.wallet_side import claim_of


def _next_index(mint) -> int:
    return int(mint.ledger.read("SELECT value FROM meta WHERE key='next_deposit_index'")[0][0])


def test_the_cap_counts_addresses_waiting_for_a_deposit_and_expiry_frees_room(mint, reserve_chain):
    now = [time.time()]
    mint._clock = lambda: now[0]
    # the fixture handed out indexes 0..13 (the shared deposits pay 10..13)
    mint.settings = dataclasses.replace(mint.settings, deposit_limits=DepositLimits(cap=14, expiry_seconds=3600))
    before = _next_index(mint)
    with pytest.raises(DepositAddressLimited, match="14 deposit addresses waiting") as refused:
        mint.deposit_address()
    assert (refused.value.status, refused.value.reason) == (503, "cap")
    assert 3500 < refused.value.retry_after <= 3600
    assert _next_index(mint) == before  # nothing handed out, no index used

    mint.register_deposit(reserve_chain.deposit_txid, 0)  # pays index 10: it no longer waits
    assert mint.deposit_address().address_index == 14
    with pytest.raises(DepositAddressLimited):
        mint.deposit_address()
    assert mint.deposit_address_figures()["outstanding"] == 14

    now[0] += 3601  # the rest expire; an index is never handed out twice
    given = mint.deposit_address()
    assert given.address_index == 15 and given.expires_at == now[0] + 3600
    assert mint.deposit_address_figures()["outstanding"] == 1

    # a payment that reached an expired address is not lost: it registers, and only its
    # claim secret draws notes on it
    late = mint.register_deposit(reserve_chain.deposit_txid, 1)
    assert late.status == "registered" and claim_of(mint, late)


def test_limits_are_checked():
    for bad in (dict(cap=0), dict(cap=True), dict(expiry_seconds=float("nan")), dict(expiry_seconds=1)):
        with pytest.raises(MintError):
            DepositLimits(**bad)


def test_a_client_gets_its_burst_then_one_per_refill_and_others_are_not_held_up():
    clock = [0.0]
    buckets = ClientBuckets(rate_per_hour=3600, burst=2, clock=lambda: clock[0])
    buckets.take("192.0.2.1")
    buckets.take("192.0.2.1")
    with pytest.raises(DepositAddressLimited) as refused:
        buckets.take("192.0.2.1")
    assert (refused.value.status, refused.value.retry_after, refused.value.reason) == (429, 1, "rate")
    buckets.take("192.0.2.2")
    clock[0] += 1.0
    buckets.take("192.0.2.1")
    # one IPv6 host holds a whole /64: its addresses share a bucket; an IPv4-mapped one is the IPv4 client
    buckets.take("2001:db8::1")
    buckets.take("2001:db8::ffff:2")
    with pytest.raises(DepositAddressLimited):
        buckets.take("2001:db8::3")
    with pytest.raises(DepositAddressLimited):
        buckets.take("::ffff:192.0.2.1")


def test_the_buckets_stay_bounded_in_memory():
    buckets = ClientBuckets(rate_per_hour=1, burst=1, max_clients=100, clock=lambda: 0.0)
    for n in range(1000):
        buckets.take(f"10.0.{n // 256}.{n % 256}")
    assert len(buckets) == 100


@given(st.one_of(st.none(), st.text(max_size=300), st.ip_addresses().map(str)))
def test_any_peer_maps_to_a_short_client_key(peer):
    key = client_key(peer)
    assert isinstance(key, str) and 0 < len(key) <= 100
