"""``Bitcoind``: the ``Chain`` interface over a Bitcoin Core (>= 26) node's JSON-RPC.

It keeps a watch-only descriptor wallet on the node (created on first use:
``createwallet <name> disable_private_keys=true blank=true descriptors=true``) and talks to it
through wallet-scoped URLs. Which descriptor, branch and index an output belongs to is
worked out here from the scripts the descriptors derive, the same way the embedded chain
does, so both backends answer alike. Descriptors live in the node's wallet; callers watch
their descriptors again after opening (cheap: what the wallet already has is not re-imported).
On opening, the descriptors the wallet already holds are watched again (a ``/0/*`` and ``/1/*``
pair as one ``<0;1>`` descriptor), so a new process sees the coins another one watched, as
on the embedded chain; their scripts are derived on the first read that needs them.

Reads are served from what ``bitcoind_txs`` keeps of the wallet, checked against the node on
every call (one ``listsinceblock`` from the last block seen, batched with the wallet's
descriptor set, locked coins and transaction count). With ``cache_dir`` that memory is saved
there and the next connection starts from it (``bitcoind_cache``) instead of reading every
transaction again. ``utxos()`` asks Core's ``listunspent`` only when the wallet's fingerprint
(every transaction's state, which unconfirmed ones are in the mempool, locked coins, the
descriptor set) differs from the one its last answer was given under.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx

from .bitcoind_cache import CacheFile, Stored
from .bitcoind_txs import WalletTx, WalletTxs, WalletView
from .descriptors import is_ranged, single_path_descriptors, strip_checksum
from .errors import ChainError, ChainUnavailable, DescriptorError, NotRegtest, WalletUnavailable
from .interface import DEFAULT_RANGE_END, HistoryEntry, Tip, TxStatus, Utxo, require_txid
from .rpc import (
    RPC_INVALID_ADDRESS_OR_KEY, RPC_WALLET_ALREADY_LOADED, RPC_WALLET_NOT_FOUND, RpcClient, RpcError, btc_to_sat,
)
from .store import ScriptOwner

MIN_CORE_VERSION = 260000
#: listunspent read again while the wallet keeps changing under it, before giving up
_UNSPENT_ATTEMPTS = 5
#: new transactions decoded since the cache file was written that make a read write it again
_SAVE_AFTER_DECODING = 1_000
_LONG_CALL_TIMEOUT = 3600.0  # importdescriptors rescans, generate on a slow machine


def _answers_checked(method):
    """An answer without the fields Core gives (a proxy, another server, a broken node) is
    ChainUnavailable naming the call, not a KeyError from deep inside the parsing. Only the
    calls that read answers apart are wrapped; writes pass Core's errors through as typed."""

    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        # ValueError/OverflowError: a number or hex field that does not parse (int('x'),
        # 5,000 digits, bytes.fromhex('zz')); AttributeError: a list where Core gives an object
        except (KeyError, IndexError, TypeError, ValueError, OverflowError, AttributeError,
                InvalidOperation) as exc:
            url = getattr(self, "url", "the configured URL")
            call = "the connection checks" if method.__name__ == "__init__" else method.__name__
            raise ChainUnavailable(
                f"bitcoind at {url} gave an answer to {call} that is not Bitcoin Core's "
                f"({type(exc).__name__}: {exc})",
                hint="is chain.bitcoind.url the node's RPC port, and is it Bitcoin Core 26 or newer?",
            ) from None

    return checked


class Bitcoind:
    backend_name = "bitcoind"

    @_answers_checked
    def __init__(self, url: str, *, wallet: str = "custody-watch", user: str | None = None,
                 password: str | None = None, cookie_file: Path | str | None = None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None, cache_dir: Path | str | None = None) -> None:
        self._rpc = RpcClient(url, user=user, password=password, cookie_file=cookie_file, timeout=timeout,
                              transport=transport)
        self.url = self._rpc.url
        self.wallet = wallet
        self._lock = threading.RLock()
        self._owners: dict[bytes, ScriptOwner] = {}
        self._ranges: dict[str, int] = {}
        self._derived: dict[str, int] = {}  # how far each watched descriptor's scripts are derived
        self._wallet_txs = WalletTxs(
            self._wallet_call, lambda calls: self._rpc.batch(calls, wallet=self.wallet, timeout=_LONG_CALL_TIMEOUT))
        self._cache_dir = cache_dir
        self._cache: CacheFile | None = None  # set on the first read, when cache_dir is given
        self._saved: tuple | None = None  # what the file holds (_saved_state)
        self._saved_at = (0, 0)  # (full listings, transactions decoded) when it was written
        self._unspent: tuple[str, frozenset[tuple[str, int]]] | None = None  # (fingerprint, outpoints)
        self._history_memo: dict[str | None, tuple[tuple, list[HistoryEntry]]] = {}
        try:
            version = int(self._rpc.call("getnetworkinfo")["version"])
            if version < MIN_CORE_VERSION:
                raise ChainError(f"bitcoind at {self.url} is version {version}; custody-tui needs Bitcoin Core 26 or newer")
            self.network: str = self._rpc.call("getblockchaininfo")["chain"]
            self._ensure_wallet()
            self._adopt_wallet_descriptors()
        except BaseException:
            self._rpc.close()
            raise

    # -- the watch-only wallet

    def _ensure_wallet(self) -> None:
        if self.wallet not in self._rpc.call("listwallets"):
            try:
                self._rpc.call("loadwallet", self.wallet)
            except RpcError as exc:
                if exc.code == RPC_WALLET_ALREADY_LOADED:
                    pass
                elif exc.code == RPC_WALLET_NOT_FOUND or "not found" in exc.core_message.lower():
                    # name, disable_private_keys, blank, passphrase, avoid_reuse, descriptors, load_on_startup
                    self._rpc.call("createwallet", self.wallet, True, True, "", False, True, True)
                else:
                    raise
        info = self._wallet_call("getwalletinfo")
        if info.get("private_keys_enabled") or not info.get("descriptors", False):
            raise WalletUnavailable(
                f"wallet {self.wallet!r} on {self.url} is not a watch-only descriptor wallet",
                hint="choose another chain.bitcoind.wallet name; custody-tui creates its own watch-only wallet")

    def _adopt_wallet_descriptors(self) -> None:
        have = self._wallet_ranges()
        for text, end in have.items():
            if "/1/*" in text and text.replace("/1/*", "/0/*") in have:
                continue  # the change half of a pair, adopted with its receive half
            if "/0/*" in text and text.replace("/0/*", "/1/*") in have:
                end = min(end, have[text.replace("/0/*", "/1/*")])
                text = text.replace("/0/*", "/<0;1>/*")
            self._ranges[text] = end

    def _wallet_call(self, method: str, *params: Any, timeout: float | None = None) -> Any:
        return self._rpc.call(method, *params, wallet=self.wallet, timeout=timeout)

    # -- reads

    @_answers_checked
    def tip(self) -> Tip:
        info = self._rpc.call("getblockchaininfo")
        time = info.get("time")
        if time is None:
            time = self._rpc.call("getblockheader", info["bestblockhash"])["time"]
        return Tip(int(info["blocks"]), info["bestblockhash"], int(time))

    def watched(self) -> list[str]:
        return list(self._ranges)

    def watch(self, descriptor: str, *, range_end: int = DEFAULT_RANGE_END, label: str = "",
              birth_time: int | None = None) -> None:
        """Import ``descriptor`` into the node's wallet (rescanning from ``birth_time``, default genesis)."""
        key = strip_checksum(descriptor)
        ranged = is_ranged(key)
        with self._lock:
            have = self._wallet_ranges()
            requests = []
            canonicals = []
            for single, internal in single_path_descriptors(key):
                canonical = self._rpc.call("getdescriptorinfo", single)["descriptor"]
                canonicals.append(strip_checksum(canonical))
                if strip_checksum(canonical) in have and (not ranged or have[strip_checksum(canonical)] >= range_end):
                    continue
                request: dict[str, Any] = {"desc": canonical, "timestamp": 0 if birth_time is None else birth_time,
                                           "active": False, "internal": internal}
                if ranged:
                    request["range"] = [0, range_end]
                if label and not internal and not ranged:  # Core refuses labels on ranged descriptors
                    request["label"] = label
                requests.append(request)
            if requests:
                results = self._wallet_call("importdescriptors", requests, timeout=_LONG_CALL_TIMEOUT)
                if any(_label_refused(r) for r in results):
                    # Core 29 refuses a label on some single-key imports (a key-path tr() of a
                    # threshold group): the label is only a name in Core's address book, so watch
                    # without it rather than not at all
                    for request in requests:
                        request.pop("label", None)
                    results = self._wallet_call("importdescriptors", requests, timeout=_LONG_CALL_TIMEOUT)
                self._wallet_txs.forget_cursor()  # the rescan may have added old transactions
                for result in results:
                    if not result.get("success"):
                        error = result.get("error") or {}
                        raise DescriptorError(f"bitcoind refused to watch {key[:60]}…: {error.get('message', error)}")
            adopted = canonicals[0] if len(canonicals) == 1 else canonicals[0].replace("/0/*", "/<0;1>/*")
            if adopted != key and adopted in self._ranges:  # watched on opening, in Core's spelling
                self._ranges.setdefault(key, self._ranges.pop(adopted))
                self._derived.pop(adopted, None)
                self._owners = {spk: o for spk, o in self._owners.items() if o.descriptor != adopted}
            self._ranges[key] = max(range_end, self._ranges.get(key, -1))

    def _wallet_ranges(self) -> dict[str, int]:
        listed = self._wallet_call("listdescriptors").get("descriptors", [])
        return {strip_checksum(d["desc"]): int(d.get("range", [0, 0])[1]) for d in listed}

    def _derive_watched(self) -> None:
        """Which descriptor, branch and index each watched script is. Core derives the
        addresses (one batched ``deriveaddresses`` per branch: milliseconds, where deriving a
        thousand multisig scripts in Python takes seconds on every opening)."""
        from ..wallet.addresses import parse_address
        from ..wallet.network import Network

        encoding = Network.from_name("test" if self.network == "testnet4" else self.network)
        todo = []  # (key, branch, first index or None, the call)
        for key, end in self._ranges.items():
            done = self._derived.get(key, -1)
            if end <= done:
                continue
            ranged = is_ranged(key)
            multipath = "<0;1>" in key
            for single, internal in single_path_descriptors(key):
                branch = int(internal) if multipath else None
                call = ("deriveaddresses", [single, [done + 1, end]] if ranged else [single])
                todo.append((key, branch, done + 1 if ranged else None, call))
            self._derived[key] = end
        if not todo:
            return
        described = self._rpc.batch([("getdescriptorinfo", [call[1][0]]) for *_, call in todo])
        for (key, *_), info in zip(todo, described):
            if isinstance(info, Exception):
                raise DescriptorError(f"bitcoind cannot read the descriptor {key[:60]}…: {info}")
        calls = [(name, [info["descriptor"], *params[1:]]) for (*_, (name, params)), info in zip(todo, described)]
        for (key, branch, first, _), addresses in zip(todo, self._rpc.batch(calls)):
            if not isinstance(addresses, list):
                raise DescriptorError(f"bitcoind cannot derive the addresses of {key[:60]}…: {addresses}")
            for offset, address in enumerate(addresses):
                index = None if first is None else first + offset
                self._owners.setdefault(parse_address(address, encoding), ScriptOwner(key, branch, index))

    def _owners_for(self, descriptor: str | None) -> dict[bytes, ScriptOwner]:
        with self._lock:
            self._restore()
            self._derive_watched()
        if descriptor is None:
            return self._owners
        key = strip_checksum(descriptor)
        if key not in self._ranges:
            raise DescriptorError(f"descriptor is not watched: {key[:80]}", hint="watch it first")
        return {spk: o for spk, o in self._owners.items() if o.descriptor == key}

    def _view(self) -> tuple[WalletView, frozenset[str]]:
        """The wallet now, and which of its unconfirmed transactions are in the mempool.
        Called under the lock."""
        view = self._wallet_txs.sync()
        return view, self._live_unconfirmed([t for t, tx in view.txs.items() if tx.confirmations == 0])

    def _restore(self) -> None:
        """Start from what the last connection saved, once, before the first read (under the lock)."""
        if self._cache is not None or self._cache_dir is None:
            return
        self._cache = CacheFile(self._cache_dir, self.network, self.wallet)
        stored = self._cache.load()
        if stored is None:
            return
        self._wallet_txs.restore(stored.txs, stored.cursor, stored.descriptors)
        self._unspent = stored.unspent
        for key, (end, owned) in stored.scripts.items():
            if key in self._ranges and key not in self._derived:
                end = min(end, self._ranges[key])  # never more than is watched now
                self._derived[key] = end
                for spk, (branch, index) in owned.items():
                    if index is None or index <= end:
                        self._owners.setdefault(spk, ScriptOwner(key, branch, index))
        self._saved = self._saved_state()
        self._saved_at = (self._wallet_txs.full_listings, self._wallet_txs.decoded_count)

    def _saved_state(self) -> tuple:
        return (self._wallet_txs.generation, self._unspent, tuple(self._derived.items()))

    def _save(self, *, closing: bool = False) -> None:
        """Write what changed to the cache file (under the lock). Writing 10,000 transactions
        takes a few hundred ms, so a read writes only after listing everything (the file was
        not resumable) or decoding many new transactions; the rest waits for close(). A file
        that lags (a process killed before closing) is still right to resume from: its states
        are those of its own cursor, and the next connection lists what changed since."""
        if self._cache is None or self._saved == self._saved_state():
            return
        listings, decoded = self._saved_at
        if not (closing or self._wallet_txs.full_listings > listings
                or self._wallet_txs.decoded_count >= decoded + _SAVE_AFTER_DECODING):
            return
        txs, cursor, descriptors = self._wallet_txs.saved_parts()
        scripts: dict[str, tuple[int, dict]] = {key: (end, {}) for key, end in self._derived.items()}
        for spk, owner in self._owners.items():
            if owner.descriptor in scripts:
                scripts[owner.descriptor][1][spk] = (owner.branch, owner.index)
        self._cache.save(Stored(self.network, self.wallet, descriptors, cursor, txs, self._unspent, scripts))
        self._saved = self._saved_state()
        self._saved_at = (self._wallet_txs.full_listings, self._wallet_txs.decoded_count)

    @_answers_checked
    def utxos(self, descriptor: str | None = None) -> list[Utxo]:
        owners = self._owners_for(descriptor)
        with self._lock:
            view, live = self._view()
            fingerprint = _fingerprint(view, live)
            for _ in range(_UNSPENT_ATTEMPTS):
                if self._unspent is not None and self._unspent[0] == fingerprint:
                    break
                unspent = self._wallet_call("listunspent", 0, 9_999_999, [], True, {"include_immature_coinbase": True})
                # listunspent is not part of the listing: it is kept only if the wallet looked
                # the same before and after it (else it may belong to either)
                view, live = self._view()
                before, fingerprint = fingerprint, _fingerprint(view, live)
                if fingerprint == before:
                    self._unspent = (fingerprint, frozenset((u["txid"], int(u["vout"])) for u in unspent))
                    break
            else:
                raise ChainUnavailable(f"the wallet {self.wallet!r} on {self.url} changed during each of "
                                       f"{_UNSPENT_ATTEMPTS} reads of its unspent coins", hint="try again")
            self._save()
            outpoints = self._unspent[1]
        result = []
        for txid, vout in outpoints:
            # a coin of a transaction the listing lacks is not Core's answer as we know it:
            # the KeyError becomes ChainUnavailable naming utxos
            tx = view.txs[txid]
            amount, spk = tx.decoded.outputs[vout]
            owner = owners.get(spk)
            if owner is None:
                continue
            # heights and coinbase from the listing, not from listunspent: one view of the
            # wallet (listunspent's confirmations may count a block the listing did not)
            result.append(Utxo(txid, vout, amount, spk, max(tx.confirmations_at(view.tip_height), 0), tx.height,
                               owner.descriptor, owner.branch, owner.index, not tx.decoded.inputs))
        return sorted(result, key=lambda u: (u.height is None, u.height or 0, u.txid, u.vout))

    @_answers_checked
    def history(self, descriptor: str | None = None) -> list[HistoryEntry]:
        owners = self._owners_for(descriptor)
        with self._lock:
            view, live = self._view()
            self._save()
            # the same wallet state, mempool, watched set and tip give the same history
            key = (view.state, live, view.tip_hash, tuple(self._ranges.items()))
            memo = self._history_memo.get(descriptor)
            if memo is not None and memo[0] == key:
                return list(memo[1])
        txs = view.txs
        result = []
        for txid, tx in txs.items():
            if tx.confirmations < 0 or tx.abandoned or (tx.confirmations == 0 and txid not in live):
                continue  # conflicted, abandoned, or gone from the mempool
            entry = self._history_entry(tx, view.tip_height, txs, owners)
            if entry is not None:
                result.append(entry)
        result.sort(key=lambda e: (e.height is None, e.height or 0, e.time))
        with self._lock:
            self._history_memo[descriptor] = (key, result)
        return list(result)

    def _live_unconfirmed(self, txids: list[str]) -> frozenset[str]:
        answers = self._rpc.batch([("getmempoolentry", [t]) for t in txids])
        return frozenset(t for t, a in zip(txids, answers) if isinstance(a, dict))

    @staticmethod
    def _history_entry(tx: WalletTx, tip_height: int, txs: dict[str, WalletTx],
                       owners: dict[bytes, ScriptOwner]) -> HistoryEntry | None:
        outputs = tx.decoded.outputs
        received = sum(amount for amount, spk in outputs if spk in owners)
        # the fee is ours to report only when every input spends a coin of the scripts asked
        # about (a coin from outside the wallet is not known here: no fee)
        sent, value_in, all_watched = 0, 0, bool(tx.decoded.inputs)  # a coinbase has no fee of ours
        for prev_txid, vout in tx.decoded.inputs:
            prev = txs.get(prev_txid)
            if prev is None:
                all_watched = False
                continue
            amount, spk = prev.decoded.outputs[vout]
            value_in += amount
            if spk in owners:
                sent += amount
            else:
                all_watched = False
        if not received and not sent:
            return None
        fee = value_in - sum(amount for amount, _ in outputs) if sent and all_watched else None
        confirmations = tx.confirmations_at(tip_height)
        return HistoryEntry(tx.txid, tx.decoded.time, tx.height, max(confirmations, 0), received, sent, fee)

    @_answers_checked
    def tx_status(self, txid: str) -> TxStatus:
        txid = require_txid(txid)
        try:
            self._rpc.call("getmempoolentry", txid)
            return TxStatus("mempool", 0)
        except RpcError as exc:
            if exc.code != RPC_INVALID_ADDRESS_OR_KEY:
                raise
        try:
            tx = self._wallet_call("gettransaction", txid, True)
        except RpcError as exc:
            if exc.code != RPC_INVALID_ADDRESS_OR_KEY:
                raise
            return self._non_wallet_status(txid)
        confirmations = int(tx["confirmations"])
        if confirmations > 0:
            return TxStatus("confirmed", confirmations)
        if confirmations < 0 or tx.get("walletconflicts") or tx.get("mempoolconflicts"):
            return TxStatus("conflicted", 0)
        return TxStatus("unknown", 0)

    def _non_wallet_status(self, txid: str) -> TxStatus:
        try:
            raw = self._rpc.call("getrawtransaction", txid, True)  # confirmed ones only with -txindex
        except RpcError as exc:
            if exc.code == RPC_INVALID_ADDRESS_OR_KEY:
                return TxStatus("unknown", 0)
            raise
        confirmations = int(raw.get("confirmations", 0))
        return TxStatus("confirmed", confirmations) if confirmations > 0 else TxStatus("mempool", 0)

    @_answers_checked
    def estimate_fee_rate(self, target_blocks: int) -> float:
        if target_blocks < 1:
            raise ChainError(f"fee estimate target must be at least 1 block, not {target_blocks}")
        estimate = self._rpc.call("estimatesmartfee", target_blocks)
        if "feerate" in estimate:
            return float(Decimal(estimate["feerate"]) * 100_000)  # BTC/kvB -> sat/vB
        if self.network == "main":
            raise ChainError(f"bitcoind at {self.url} has no fee estimate for {target_blocks} blocks yet",
                             hint="a freshly started node needs some blocks before it can estimate fees")
        return float(Decimal(self._rpc.call("getmempoolinfo")["mempoolminfee"]) * 100_000)

    # -- writes

    def broadcast(self, raw_tx: bytes) -> str:
        return self._rpc.call("sendrawtransaction", raw_tx.hex())

    def mine(self, n: int, address_or_script: str | bytes) -> list[str]:
        if self.network != "regtest":
            raise NotRegtest(f"mining is only possible on regtest; bitcoind at {self.url} is on {self.network}")
        if isinstance(address_or_script, (bytes, bytearray)):
            descriptor = self._rpc.call("getdescriptorinfo", f"raw({bytes(address_or_script).hex()})")["descriptor"]
            return self._rpc.call("generatetodescriptor", n, descriptor, timeout=_LONG_CALL_TIMEOUT)
        return self._rpc.call("generatetoaddress", n, address_or_script, timeout=_LONG_CALL_TIMEOUT)

    def close(self) -> None:
        with self._lock:
            self._save(closing=True)
        self._rpc.close()

    def __enter__(self) -> "Bitcoind":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fingerprint(view: WalletView, live: frozenset[str]) -> str:
    """Everything Core's listunspent answer depends on besides the chain's blocks, which
    touch it only through the transactions' states."""
    return hashlib.sha256(repr((view.state, view.descriptors, sorted(view.locked), sorted(live))).encode()).hexdigest()


def _label_refused(result: dict) -> bool:
    return not result.get("success") and "should not have a label" in str((result.get("error") or {}).get("message"))
