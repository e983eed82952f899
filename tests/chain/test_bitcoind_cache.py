"""What the bitcoind backend keeps between connections (backends/chain/bitcoind_cache.py) and
the unspent coins it keeps between calls: a new connection starts from the saved file, and
nothing saved or kept is ever used once the node says otherwise — a reorganisation, another
wallet, another descriptor set, a damaged file, a new mempool transaction, a locked coin."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.chain.bitcoind_cache import CacheFile, Stored, parse, serialize
from backends.chain.bitcoind_txs import Decoded, WalletTx

from ..outside import huge_numbers, mutations, nestings, refused_or_parsed, within
from .funding import BURN_ADDRESS, RANGE_END, fund, watch_all
from .wallets import sh_wpkh_wallet, spend

COIN = 100_000_000
FEE = 2_000


def _stored() -> Stored:
    coinbase = WalletTx("aa" * 32, Decoded((), ((50 * COIN, bytes.fromhex("0014" + "11" * 20)),), 1_700_000_000),
                        101, 5, False, False)
    spent = WalletTx("bb" * 32, Decoded((("aa" * 32, 0),), ((49 * COIN, b"\x51"),), 1_700_000_100),
                     None, 0, False, True)
    return Stored("regtest", "ops", "d" * 64, "cc" * 32, {t.txid: t for t in (coinbase, spent)},
                  ("f" * 64, frozenset({("bb" * 32, 0)})), {"wpkh(x)": (20, {b"\x51": (1, 7), b"\x52": (None, None)})})


def test_a_saved_wallet_reads_back_the_same(tmp_path):
    file = CacheFile(tmp_path, "regtest", "ops")
    file.save(_stored())
    assert file.load() == _stored()
    assert file.path.stat().st_mode & 0o077 == 0  # a wallet's history is nobody else's business


def test_a_file_of_another_wallet_or_network_is_not_used(tmp_path):
    CacheFile(tmp_path, "regtest", "ops").save(_stored())
    mine = CacheFile(tmp_path, "regtest", "treasury")
    mine.path.write_bytes(CacheFile(tmp_path, "regtest", "ops").path.read_bytes())  # copied across
    assert mine.load() is None
    assert CacheFile(tmp_path, "signet", "ops").load() is None


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty", "other-version", "bad-field"])
def test_a_damaged_file_is_ignored(tmp_path, damage):
    file = CacheFile(tmp_path, "regtest", "ops")
    file.save(_stored())
    data = file.path.read_bytes()
    if damage == "truncated":
        data = data[:-20]
    elif damage == "flipped":
        data = data[:-30] + bytes([data[-30] ^ 1]) + data[-29:]
    elif damage == "empty":
        data = b""
    elif damage == "other-version":
        data = data.replace(b"cache 1 ", b"cache 9 ", 1)
    else:  # well-formed and checksummed, but a field of the wrong kind
        document = json.loads(data.partition(b"\n")[2])
        document["txs"][0][2] = "101"
        data = _checksummed(json.dumps(document).encode())
    file.path.write_bytes(data)
    assert file.load() is None


_UNREADABLE = (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError)


def _checksummed(body: bytes) -> bytes:
    return b"custody-tui bitcoind wallet cache 1 " + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


_BODY = serialize(_stored()).partition(b"\n")[2]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(mutations(_BODY) | nestings().map(str.encode)
       | huge_numbers.map(lambda n: _BODY.replace(b"1700000000", n.encode(), 1)))
def test_a_checksummed_file_whose_contents_are_not_ours_is_refused_or_read_whole(body):
    """A file whose checksum holds but whose contents are not what we write (a bug, a file
    made by hand): refused with one of the errors load() turns into "ignored", or read into a
    cache that writes back the same."""
    stored = refused_or_parsed(parse, _checksummed(body), _UNREADABLE)
    if stored is not None:
        assert parse(serialize(stored)) == stored


@given(st.binary(max_size=300) | mutations(serialize(_stored())))
def test_any_bytes_in_the_file_are_read_or_ignored_never_a_crash(tmp_path_factory, data):
    file = CacheFile(tmp_path_factory.mktemp("cache"), "regtest", "ops")
    file.path.write_bytes(data)
    with within():
        loaded = file.load()
    assert loaded is None or loaded == _stored()  # a mutation that changes nothing


# -- against Bitcoin Core

def _connect(core_chain, cache_dir, wallet=None):
    from backends.chain import Bitcoind

    return Bitcoind(core_chain.url, cookie_file=core_chain._rpc._cookie_file, wallet=wallet or core_chain.wallet,
                    cache_dir=cache_dir, timeout=120)


def _spy(monkeypatch, chain) -> list[tuple[str, list]]:
    """Every RPC ``chain`` sends from now on: (method, params)."""
    rpc = chain._rpc
    calls: list[tuple[str, list]] = []
    real_call, real_batch = rpc.call, rpc.batch

    def call(method, *params, **kw):
        calls.append((method, list(params)))
        return real_call(method, *params, **kw)

    def batch(requests, **kw):
        calls.extend((m, list(p)) for m, p in requests)
        return real_batch(requests, **kw)

    monkeypatch.setattr(rpc, "call", call)
    monkeypatch.setattr(rpc, "batch", batch)
    return calls


def _truth(core_chain, descriptor=None):
    """What a connection without any saved or kept state reads."""
    with _connect(core_chain, None) as fresh:
        return fresh.utxos(descriptor), fresh.history(descriptor)


def test_a_new_connection_starts_from_the_saved_wallet_and_reads_no_transaction_again(core_chain, tmp_path, monkeypatch):
    funded = fund(core_chain)
    [coin] = funded.coins(core_chain, funded.wpkh)
    core_chain.broadcast(spend([coin], [(funded.taproot.script(1), 7 * COIN),
                                        (funded.wpkh.script(0, branch=1), coin.amount_sat - 7 * COIN - FEE)]))
    with _connect(core_chain, tmp_path) as first:
        read = first.utxos(), first.history()
    core_chain.mine(1, BURN_ADDRESS)
    with _connect(core_chain, tmp_path) as second:
        calls = _spy(monkeypatch, second)
        again = second.utxos(), second.history()
        assert {m for m, _ in calls}.isdisjoint({"gettransaction", "deriveaddresses"})
        assert [p[0] for m, p in calls if m == "listsinceblock"][0] is not None  # resumed, not listed again
    assert again == _truth(core_chain)
    assert {e.txid: e.confirmations + 1 for e in read[1]} == {e.txid: e.confirmations for e in again[1]}


def test_a_reorganisation_below_the_saved_block_lists_the_wallet_again(core_chain, tmp_path, monkeypatch):
    funded = fund(core_chain)
    [coin] = funded.coins(core_chain, funded.multisig)
    txid = core_chain.broadcast(spend([coin], [(funded.multisig.script(2, branch=1), coin.amount_sat - FEE)]))
    [block] = core_chain.mine(1, BURN_ADDRESS)
    with _connect(core_chain, tmp_path) as first:
        assert {u.txid for u in first.utxos(funded.multisig.descriptor)} == {txid}
        [saw] = [e for e in first.history() if e.txid == txid]
        assert saw.confirmations == 1
    core_chain._rpc.call("invalidateblock", block)  # the spend is back in the mempool
    core_chain._rpc.call("syncwithvalidationinterfacequeue")
    for _ in range(2):  # another branch, longer, without the spend (generateblock takes no mempool)
        core_chain._rpc.call("generateblock", BURN_ADDRESS, [])
    with _connect(core_chain, tmp_path) as second:
        calls = _spy(monkeypatch, second)
        read = second.utxos(funded.multisig.descriptor), second.history(funded.multisig.descriptor)
        assert [None] == [p[0] for m, p in calls if m == "listsinceblock"][1:2]  # the saved block left: all again
    assert read == _truth(core_chain, funded.multisig.descriptor)
    [now] = [e for e in read[1] if e.txid == txid]
    assert (now.confirmations, now.height) == (0, None) and read[0][0].confirmations == 0


def test_another_descriptor_set_does_not_trust_the_saved_states(core_chain, tmp_path, monkeypatch):
    """Another process imports a descriptor (a rescan) after this one saved: the saved states
    are not resumed from, and the rescanned coins show."""
    funded = fund(core_chain)
    late = sh_wpkh_wallet()
    core_chain.mine(1, late.address(2))
    core_chain.mine(100, BURN_ADDRESS)
    with _connect(core_chain, tmp_path) as first:
        first.history()
        first.utxos()
    core_chain.watch(late.descriptor, range_end=RANGE_END)  # another connection imports
    with _connect(core_chain, tmp_path) as second:
        calls = _spy(monkeypatch, second)
        [coinbase] = second.utxos(late.descriptor)
        assert [p[0] for m, p in calls if m == "listsinceblock"][1] is None  # after the check of the saved block
        assert (coinbase.amount_sat, coinbase.confirmations, coinbase.coinbase) == (50 * COIN, 101, True)
        assert (second.utxos(), second.history()) == _truth(core_chain)
    assert funded.wpkh.descriptor in second.watched()


def _saved_by_a_first_connection(core_chain, tmp_path):
    """The three test wallets watched, a coinbase to wpkh receive/0, and the file a first
    connection saved after reading the history."""
    funded = watch_all(core_chain)
    core_chain.mine(1, funded.wpkh.address(0))
    with _connect(core_chain, tmp_path) as first:
        first.history()
    return funded, first._cache.path


def test_a_file_saved_for_another_wallet_is_not_used(core_chain, tmp_path):
    funded, saved = _saved_by_a_first_connection(core_chain, tmp_path)
    other_wallet = core_chain.wallet + "-other"
    with _connect(core_chain, tmp_path, wallet=other_wallet) as other:
        other._restore()
        other._cache.path.write_bytes(saved.read_bytes())  # the first wallet's file under this wallet's name
        other._cache = None  # read it again, as a new connection would
        assert other.history() == [] and other.utxos() == []
        other.watch(funded.wpkh.descriptor, range_end=RANGE_END)
        [coinbase] = other.history(funded.wpkh.descriptor)
        assert coinbase.received_sat == 50 * COIN
    core_chain._rpc.call("unloadwallet", other_wallet)


def test_a_damaged_file_is_ignored_and_replaced(core_chain, tmp_path):
    _, path = _saved_by_a_first_connection(core_chain, tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # a write cut short
    with _connect(core_chain, tmp_path) as second:
        assert (second.utxos(), second.history()) == _truth(core_chain)
    assert second._cache.load() is not None  # written whole again


def test_kept_unspent_coins_follow_the_mempool_and_locked_coins_at_once(core_chain, tmp_path):
    funded = fund(core_chain)
    with _connect(core_chain, tmp_path) as chain:
        [coin] = funded.coins(chain, funded.taproot)
        assert chain.utxos(funded.taproot.descriptor) == chain.utxos(funded.taproot.descriptor)
        txid = core_chain.broadcast(spend([coin], [(funded.taproot.script(3), coin.amount_sat - FEE)]))
        [change] = chain.utxos(funded.taproot.descriptor)
        assert (change.txid, change.confirmations, change.index) == (txid, 0, 3)
        core_chain._wallet_call("lockunspent", False, [{"txid": txid, "vout": 0}])
        listed = {(u["txid"], u["vout"]) for u in core_chain._wallet_call("listunspent", 0)}
        assert {(u.txid, u.vout) for u in chain.utxos(funded.taproot.descriptor)} == listed & {(txid, 0)}
        core_chain._wallet_call("lockunspent", True, [{"txid": txid, "vout": 0}])
        assert [u.txid for u in chain.utxos(funded.taproot.descriptor)] == [txid]
        core_chain.mine(1, BURN_ADDRESS)  # no other wallet change: the kept coins serve, one confirmation more
        [confirmed] = chain.utxos(funded.taproot.descriptor)
        assert (confirmed.confirmations, confirmed.height) == (1, core_chain.tip().height)
