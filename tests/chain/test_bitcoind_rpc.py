"""The Bitcoind backend against a scripted JSON-RPC endpoint: requests it sends, and how
Core's answers and failures become typed errors. (The contract suite runs it against a
real node when BITCOIND is set.)"""

from __future__ import annotations

import base64
import json
import socket
from decimal import Decimal

import httpx
import pytest

from backends.chain import Bitcoind, ChainError, ChainUnavailable, NotRegtest, TransactionRejected, WalletUnavailable
from backends.chain.rpc import RpcAuthError, btc_to_sat


class CoreError(Exception):
    def __init__(self, code: int, message: str) -> None:
        self.code, self.message = code, message


class FakeNode:
    def __init__(self, *, chain: str = "regtest", version: int = 270000, wallets: list[str] | None = None) -> None:
        self.calls: list[tuple[str, str, list]] = []
        self.auth: list[str | None] = []
        self.status_override: int | None = None
        self.wallets = wallets if wallets is not None else ["custody-watch"]
        self.handlers = {
            "getnetworkinfo": lambda p: {"version": version},
            "getblockchaininfo": lambda p: {"chain": chain, "blocks": 7, "bestblockhash": "11" * 32, "time": 1_700_000_000},
            "listwallets": lambda p: self.wallets,
            "loadwallet": self._load,
            "createwallet": self._create,
            "getwalletinfo": lambda p: {"private_keys_enabled": False, "descriptors": True, "txcount": 0,
                                        "lastprocessedblock": {"hash": "11" * 32, "height": 7}},
            "listdescriptors": lambda p: {"wallet_name": "custody-watch", "descriptors": []},
            "listlockunspent": lambda p: [],
            "listsinceblock": lambda p: {"transactions": [], "lastblock": "11" * 32},
            "getblockheader": lambda p: {"height": 7, "confirmations": 1},
        }

    def _load(self, params):
        raise CoreError(-18, f"Wallet file not found: {params[0]}")

    def _create(self, params):
        self.wallets.append(params[0])
        return {"name": params[0]}

    def _answer(self, path: str, item: dict) -> tuple[int, dict]:
        self.calls.append((path, item["method"], item["params"]))
        handler = self.handlers.get(item["method"])
        try:
            if handler is None:
                raise CoreError(-32601, "Method not found")
            return 200, {"result": handler(item["params"]), "error": None, "id": item["id"]}
        except CoreError as exc:
            return 500, {"result": None, "error": {"code": exc.code, "message": exc.message}, "id": item["id"]}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.auth.append(request.headers.get("authorization"))
        if self.status_override:
            return httpx.Response(self.status_override, text="")
        body = json.loads(request.content)
        if isinstance(body, list):
            return httpx.Response(200, json=[self._answer(request.url.path, item)[1] for item in body])
        status, answer = self._answer(request.url.path, body)
        return httpx.Response(status, json=answer)


def open_backend(node: FakeNode, **kwargs) -> Bitcoind:
    return Bitcoind("http://127.0.0.1:18443", user="alice", password="pw", transport=httpx.MockTransport(node), **kwargs)


def test_missing_wallet_is_created_watch_only_blank_descriptor():
    node = FakeNode(wallets=[])
    open_backend(node, wallet="ops")
    [(path, _, params)] = [c for c in node.calls if c[1] == "createwallet"]
    assert path == "/" and params[:3] == ["ops", True, True] and params[5] is True
    assert ("/wallet/ops", "getwalletinfo", []) in node.calls


def test_wallet_with_private_keys_is_refused():
    node = FakeNode()
    node.handlers["getwalletinfo"] = lambda p: {"private_keys_enabled": True, "descriptors": True}
    with pytest.raises(WalletUnavailable, match="not a watch-only descriptor wallet"):
        open_backend(node)


def test_old_core_is_refused_with_the_version_needed():
    with pytest.raises(ChainError, match="Bitcoin Core 26 or newer"):
        open_backend(FakeNode(version=250000))


def test_user_password_goes_in_basic_auth():
    node = FakeNode()
    open_backend(node)
    assert node.auth[0] == "Basic " + base64.b64encode(b"alice:pw").decode()


def test_cookie_file_is_read_for_credentials(tmp_path):
    cookie = tmp_path / ".cookie"
    cookie.write_text("__cookie__:s3cret")
    node = FakeNode()
    Bitcoind("http://127.0.0.1:18443", cookie_file=cookie, transport=httpx.MockTransport(node))
    assert node.auth[0] == "Basic " + base64.b64encode(b"__cookie__:s3cret").decode()


def test_missing_cookie_file_says_which_file(tmp_path):
    with pytest.raises(ChainUnavailable, match=".cookie"):
        Bitcoind("http://127.0.0.1:18443", cookie_file=tmp_path / ".cookie", transport=httpx.MockTransport(FakeNode()))


def test_refused_credentials_are_an_auth_error():
    node = FakeNode()
    node.status_override = 401
    with pytest.raises(RpcAuthError, match="refused the RPC credentials"):
        open_backend(node)


def test_node_down_names_the_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ChainUnavailable, match=f"http://127.0.0.1:{port}"):
        Bitcoind(f"http://127.0.0.1:{port}", user="u", password="p", timeout=2)


def test_node_in_warmup_is_unavailable():
    node = FakeNode()

    def warming(params):
        raise CoreError(-28, "Loading block index…")

    node.handlers["getnetworkinfo"] = warming
    with pytest.raises(ChainUnavailable, match="still starting"):
        open_backend(node)


@pytest.mark.parametrize("code,message", [
    (-26, "bad-txns-in-belowout, value in (50.00) < value out (50.00000001)"),
    (-25, "bad-txns-inputs-missingorspent"),
    (-27, "Transaction outputs already in utxo set"),
    (-22, "TX decode failed. Make sure the tx has at least one input."),
])
def test_broadcast_rejection_carries_cores_reason(code, message):
    node = FakeNode()

    def reject(params):
        raise CoreError(code, message)

    node.handlers["sendrawtransaction"] = reject
    with pytest.raises(TransactionRejected) as excinfo:
        open_backend(node).broadcast(b"\x02\x00")
    assert excinfo.value.reason == message


def test_wallet_not_loaded_is_a_wallet_error():
    node = FakeNode()
    backend = open_backend(node)

    def unloaded(params):
        raise CoreError(-18, "Requested wallet does not exist or is not loaded")

    node.handlers["listunspent"] = unloaded
    with pytest.raises(WalletUnavailable, match="not loaded"):
        backend.utxos()


def test_mining_off_regtest_is_refused():
    with pytest.raises(NotRegtest, match="only possible on regtest"):
        open_backend(FakeNode(chain="signet")).mine(1, "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx")


def test_tip_and_fee_estimate_convert_units():
    node = FakeNode()
    node.handlers["estimatesmartfee"] = lambda p: {"feerate": 0.00012, "blocks": p[0]}
    backend = open_backend(node)
    assert backend.tip().height == 7 and backend.tip().hash_hex == "11" * 32
    assert backend.estimate_fee_rate(6) == pytest.approx(12.0)


def test_mempool_and_wallet_lookups_decide_tx_status():
    node = FakeNode()

    def not_in_mempool(params):
        raise CoreError(-5, "Transaction not in mempool")

    node.handlers["getmempoolentry"] = not_in_mempool
    node.handlers["gettransaction"] = lambda p: {"confirmations": -2, "walletconflicts": ["aa" * 32]}
    assert open_backend(node).tx_status("bb" * 32).state == "conflicted"


def test_btc_amounts_convert_exactly():
    assert btc_to_sat(Decimal("0.00000001")) == 1
    assert btc_to_sat(Decimal("20999999.97690000")) == 2_099_999_997_690_000
    with pytest.raises(ChainError):
        btc_to_sat(Decimal("0.000000001"))


def test_a_url_with_credentials_is_refused_without_echoing_them():
    from backends.chain import ChainError
    from backends.chain.rpc import RpcClient

    with pytest.raises(ChainError) as caught:
        RpcClient("http://ops:s3cret@127.0.0.1:8332")
    assert "s3cret" not in str(caught.value) and "credentials" in str(caught.value)


@pytest.mark.parametrize(("url", "says"), [
    ("http://127.0.0.1:notaport", "not valid"),
    ("http://[::1", "not valid"),
    ("http://:8332", "HOST:PORT"),
])
def test_a_malformed_url_is_a_clear_error_before_any_request(url, says):
    node = FakeNode()
    with pytest.raises(ChainError, match=says):
        Bitcoind(url, user="alice", password="pw", transport=httpx.MockTransport(node))
    assert node.calls == []


@pytest.mark.parametrize(("method", "answer"), [
    ("getnetworkinfo", {}),  # another JSON-RPC server: no version field
    ("getnetworkinfo", None),
    ("getblockchaininfo", ["not", "an", "object"]),
])
def test_an_answer_that_is_not_cores_is_unavailable_naming_the_call(method, answer):
    node = FakeNode()
    node.handlers[method] = lambda params: answer
    with pytest.raises(ChainUnavailable, match="gave an answer to the connection checks that is not Bitcoin Core's") as caught:
        open_backend(node)
    assert caught.value.hint


def test_a_malformed_tip_answer_is_unavailable():
    node = FakeNode()
    chain = open_backend(node)
    node.handlers["getblockchaininfo"] = lambda params: {"chain": "regtest"}
    with pytest.raises(ChainUnavailable, match="answer to tip"):
        chain.tip()


@pytest.mark.parametrize("tip_answer", [
    {"chain": "regtest", "blocks": "seven", "bestblockhash": "11" * 32, "time": 1},  # int('seven')
    {"chain": "regtest", "blocks": "1" * 5000, "bestblockhash": "11" * 32, "time": 1},  # > 4,300 digits
    {"chain": "regtest", "blocks": 1e400, "bestblockhash": "11" * 32, "time": 1},  # inf: OverflowError
])
def test_a_tip_answer_with_a_field_that_does_not_parse_is_unavailable(tip_answer):
    node = FakeNode()
    chain = open_backend(node)
    node.handlers["getblockchaininfo"] = lambda params: tip_answer
    with pytest.raises(ChainUnavailable, match="answer to tip"):
        chain.tip()


@pytest.mark.parametrize("unspent", [
    [{"txid": "11" * 32, "vout": 0, "amount": 1, "scriptPubKey": "zz", "confirmations": 1}],  # bad hex
    [["not", "an", "object"]],
    ["a string"],
])
def test_a_utxo_answer_with_a_field_that_does_not_parse_is_unavailable(unspent):
    node = FakeNode()
    chain = open_backend(node)
    node.handlers["listunspent"] = lambda params: unspent
    node.handlers["gettransaction"] = lambda params: {"txid": "11" * 32, "confirmations": 1, "details": []}
    with pytest.raises(ChainUnavailable, match="answer to utxos"):
        chain.utxos()


def _raw_tx() -> str:
    from backends.chain.serialize import Tx, TxIn, TxOut

    return Tx(2, [TxIn(b"\x22" * 32, 0)], [TxOut(1000, b"\x00\x14" + bytes(20))], 0).serialize().hex()


@pytest.mark.parametrize("raw_hex", ["zz", _raw_tx()[:-10], _raw_tx()], ids=["not-hex", "truncated", "another-txid"])
def test_a_wallet_transaction_whose_bytes_do_not_parse_or_match_its_txid_is_unavailable(raw_hex):
    node = FakeNode()
    chain = open_backend(node)
    listed = {"txid": "11" * 32, "confirmations": 0, "category": "receive"}
    node.handlers["listsinceblock"] = lambda params: {"transactions": [listed], "lastblock": "11" * 32}
    node.handlers["gettransaction"] = lambda params: {"txid": "11" * 32, "confirmations": 0, "hex": raw_hex}
    node.handlers["getblockheader"] = lambda params: {"height": 7}
    with pytest.raises(ChainUnavailable, match="answer to history"):
        chain.history()
