"""Bad input from the chain's other side: wire requests and replies, bitcoind's JSON-RPC
answers (over a real HTTP stack, httpx's in-process transport) and the cookie file."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.chain.errors import ChainError, ChainUnavailable
from backends.chain.rpc import RpcClient, read_cookie
from backends.chain.wire import decode_reply, decode_request

from ..outside import huge_numbers, mutations, nestings, odd_text, refused_or_parsed, snapshot

hostile = (
    st.binary(max_size=300) | nestings().map(str.encode) | nestings("{\"id\":1,\"result\":", "}").map(str.encode)
    | odd_text.map(lambda t: t.encode("utf-8", "surrogatepass"))
    | huge_numbers.map(lambda n: b'{"id": 1, "result": ' + n.encode() + b"}")
    | st.sampled_from([b'{"id": 1, "result": NaN}', b'{"id": 1, "error": {"code": "\\udc80"}}',
                       b'{"id": 1, "result": "\\udc80"}', b'{"id": 1, "error": {"code": 1e400}}'])
)


@settings(max_examples=120)
@given(hostile | mutations(b'{"id": 7, "method": "utxos", "params": {"descriptors": ["wpkh(x)"]}}'))
def test_a_wire_request_is_decoded_or_a_chain_error(line):
    refused_or_parsed(decode_request, line, ChainError)


@settings(max_examples=120)
@given(hostile | mutations(b'{"id": 7, "result": {"height": 5, "hash": "00ab"}}'))
def test_a_wire_reply_is_decoded_or_a_chain_error(line):
    refused_or_parsed(decode_reply, line, ChainError)


@settings(max_examples=120)
@given(body=hostile | mutations(b'{"result": {"blocks": 5}, "error": null, "id": 1}'),
       status=st.sampled_from([200, 500]))
def test_a_bitcoind_answer_is_a_result_or_a_chain_error(body, status):
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    client = RpcClient("http://127.0.0.1:18443", user="u", password="p", transport=transport)
    try:
        refused_or_parsed(lambda m: client.call(m), "getblockchaininfo", ChainError)
        refused_or_parsed(lambda m: client.batch([(m, []), (m, [])]), "getblockcount", ChainError)
    finally:
        client.close()


@pytest.mark.parametrize("content", [b"", b"nocolon", b"\xff\xfe:\x00", b"user:pa\x00ss", b"a:" + b"b" * 5000, b":empty-user"])
def test_a_malformed_cookie_file_is_refused_and_left_alone(tmp_path, content):
    cookie = tmp_path / ".cookie"
    cookie.write_bytes(content)
    with pytest.raises(ChainUnavailable, match="not a bitcoind cookie"):
        read_cookie(cookie)
    assert cookie.read_bytes() == content


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=120) | mutations(b"__cookie__:" + b"ab" * 32))
def test_any_cookie_file_gives_credentials_or_a_chain_error(tmp_path, data):
    cookie = tmp_path / ".cookie"
    cookie.write_bytes(data)
    before = snapshot(tmp_path)
    credentials = refused_or_parsed(read_cookie, cookie, ChainError)
    if credentials is not None:
        user, password = credentials
        assert user and (user + password).isprintable()
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("url", ["http://\x00/", "http://host\x00:8332/", "http://ho\nst:1/"])
def test_a_bitcoind_url_with_control_characters_is_refused(url):
    with pytest.raises(ChainError, match="URL"):
        RpcClient(url, user="u", password="p")
