"""The mint's HTTP API over real HTTP (uvicorn on a free loopback port, httpx): a wallet's
round trip, operator-signed admin calls, and malformed requests that change nothing."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.keystore import KdfParams, Keystore
from backends.mint.blindrsa import blind, finalize, prepare
from backends.mint.operators import KEY_HEADER, sign_request
from backends.wallet import parse_descriptor
from custody_tui.config import ChainConfig, MintConfig
from custody_tui.mint_api import make_server
from custody_tui.services import Services

from .conftest import PASSPHRASE, test_config

ABANDON = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
BURN = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Api:
    def __init__(self, data_dir, **mint_config) -> None:
        keystore = Keystore(data_dir / "keystore", KdfParams(opslimit=1, memlimit=8 * 1024 * 1024))
        keystore.initialize(PASSPHRASE)
        keystore.unlock(PASSPHRASE, 60)
        keystore.import_mnemonic("reserve", ABANDON)
        descriptor = f"wpkh({keystore.descriptor_key('reserve', 'm/84h/1h/0h', 'regtest')}/<0;1>/*)"
        config = test_config(chain=ChainConfig(backend="embedded"), mint=MintConfig(
            reserve_descriptor=descriptor, reserve_signer_label="reserve", finalization_depth=2, fee_rate=2.0,
            **mint_config))
        self.services = Services(config, data_dir)
        self.services.keystore.unlock(PASSPHRASE, 600)
        chain = self.services.chain
        chain.watch(descriptor, range_end=50)
        self.mint = self.services.mint
        self.mint.create_keyset([1_000, 10_000])
        self.secret = self.mint.create_operator_key("op-alice")
        self.port = _free_port()
        self.server = make_server(self.services, "127.0.0.1", self.port)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.02)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        # the depositor asks for an address (and its claim secret), then two coinbases pay it
        self.claim = self.post("/deposits/address", {}).json()
        chain.mine(2, self.claim["address"])
        chain.mine(100, BURN)
        self.coinbase = chain.utxos(descriptor)[0].txid

    def post(self, path: str, body: dict | bytes, *, operator: bool = False, headers: dict | None = None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        if operator:
            headers = {KEY_HEADER: "op-alice", **sign_request(self.secret, "POST", path, raw, int(time.time()))}
        return self.http.post(path, content=raw, headers=headers or {})

    def get(self, path: str, *, operator: bool = False):
        headers = {KEY_HEADER: "op-alice", **sign_request(self.secret, "GET", path, b"", int(time.time()))} \
            if operator else {}
        return self.http.get(path, headers=headers)

    def counts(self) -> tuple:
        return tuple(self.mint.ledger.read(f"SELECT COUNT(*) FROM {t}")[0][0]
                     for t in ("deposits", "blind_sigs", "spent_notes", "redemptions"))

    def close(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.services.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """One mint and server for the module (the tests leave it as they found it)."""
    opened = Api(tmp_path_factory.mktemp("mint-api"))
    yield opened
    opened.close()


def _wallet_notes(api, deposit_ref: str, amounts: list[int]):
    keyset = api.mint.keyset()
    messages = [prepare(bytes([i]) * 32, keyset.variant) for i, _ in enumerate(amounts)]
    blinded = [blind(keyset.public_key(a), m, keyset.variant) for a, m in zip(amounts, messages)]
    request = {"mint_deposit_ref": deposit_ref, "outputs": [
        {"amount_sat": a, "blinded_msg": b.blinded_msg.hex()} for a, b in zip(amounts, blinded)]}
    # someone who saw the deposit on the chain knows its reference, not its claim secret
    for claim in ({}, {"claim_secret": "00" * 32}, {"claim_secret": api.claim["claim_secret"][:-2]}):
        stolen = api.post("/issuance/blind", {**request, **claim})
        assert stolen.status_code == 400 and "claim" in stolen.json()["error"], stolen.text
    answer = api.post("/issuance/blind", {**request, "claim_secret": api.claim["claim_secret"]})
    assert answer.status_code == 200, answer.text
    sigs = [bytes.fromhex(s) for s in answer.json()["blind_signatures"]]
    return [{"keyset_id": keyset.keyset_id, "amount_sat": a, "message": m.hex(),
             "signature": finalize(keyset.public_key(a), m, s, b.inv, keyset.variant).hex()}
            for a, m, s, b in zip(amounts, messages, sigs, blinded)]


def test_a_wallet_deposits_gets_notes_and_redeems_them_and_an_operator_approves(api):
    assert api.get("/healthz").json()["ok"] is True
    assert len(api.get("/mint/key").json()["keysets"]) == 1
    deposit = api.post("/deposits/register", {"deposit_txid": api.coinbase, "deposit_vout": 0}).json()
    assert deposit["status"] == "registered"
    assert (api.claim["address_index"], len(api.claim["claim_secret"])) == (0, 64)
    assert api.claim["claim_secret"] not in json.dumps(api.services.audit.export_dicts())
    assert api.post("/redemptions/update", {"action": "refresh"}, operator=True).status_code == 200
    notes = _wallet_notes(api, deposit["mint_deposit_ref"], [10_000, 1_000])
    created = api.post("/redemptions/create", {"redeem_address": BURN, "notes": notes})
    assert created.status_code == 200 and created.json()["status"] == "pending"
    batch = created.json()["batch_id"]
    again = api.post("/redemptions/create", {"redeem_address": BURN, "notes": notes})
    assert again.status_code == 409 and "already redeemed" in again.json()["error"]

    unsigned = api.post("/redemptions/approve_broadcast", {"batch_id": batch})
    assert unsigned.status_code == 401 and "operator-signed" in unsigned.json()["error"]
    body = json.dumps({"batch_id": batch}).encode()
    headers = {KEY_HEADER: "op-alice", **sign_request(api.secret, "POST", "/redemptions/approve_broadcast",
                                                      body, int(time.time()))}
    paid = api.post("/redemptions/approve_broadcast", body, headers=headers)
    assert paid.status_code == 200 and paid.json()["status"] == "broadcast"
    replay = api.post("/redemptions/approve_broadcast", body, headers=headers)
    assert replay.status_code == 401 and "replay" in replay.json()["error"]
    assert api.post("/redemptions/status", {"batch_id": batch}).json()["txid"] == paid.json()["txid"]

    assert api.get("/accounting/summary").json()["redemptions_broadcast_sat"] == 11_000
    assert api.get("/reserves").json()["utxo_count"] == 1
    assert api.get("/monitoring/reserve_health").json()["status"] == "healthy"
    metrics = api.get("/monitoring/metrics")
    assert metrics.headers["content-type"].startswith("text/plain") and "mint_health 0" in metrics.text
    assert api.get("/operator/key", operator=True).json() == {"key_id": "op-alice"}
    assert api.get("/reserves/consolidate_plan").status_code == 401
    assert "nothing to consolidate" in api.get("/reserves/consolidate_plan", operator=True).json()["reason"]
    assert api.get("/attestations/reserves").json()["requested_by"] == "api"
    from backends.mint.attestation import AttestationError, verify_export

    assert api.get("/audit/export").status_code == 401
    signed = api.get("/audit/export", operator=True).json()
    from backends.audit.export import verify_export as verify_audit_chain

    document = verify_export(signed, expected_pubkey=api.mint.attestation_pubkey())
    assert verify_audit_chain(dict(document)).ok  # the audit chain inside holds too
    signed["document"]["entries"][0]["actor"] = "mallory"
    with pytest.raises(AttestationError, match="was altered"):
        verify_export(signed)
    approvals = [e for e in api.services.audit.export_dicts() if e["action"] == "redemption approve"]
    assert [(e["outcome"], e["details"]["operator"], e["details"]["via"]) for e in approvals] == [
        ("ok", "op-alice", "http")]
    from backends.mint.operators import verify_recorded

    recorded = approvals[0]["details"]["signed_request"]  # checkable later, as a console approval is
    assert recorded["body"] == body.decode() and verify_recorded(api.services.keystore, recorded) == "op-alice"


def test_pause_policy_is_operator_signed_and_stops_approvals(api):
    assert api.post("/policy/redemptions", {"paused": True, "reason": "audit"}).status_code == 401
    paused = api.post("/policy/redemptions", {"paused": True, "reason": "audit"}, operator=True)
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert api.get("/policy/redemptions").json()["reason"] == "audit"
    assert api.post("/policy/redemptions", {"paused": False}, operator=True).json()["paused"] is False
    history = api.get("/monitoring/alerts/history").json()
    paused_event = next(e for e in history["events"] if e["message"].endswith("audit"))
    assert paused_event["event_id"] in history["active_alerts"]
    assert api.post("/monitoring/events/ack", {"event_id": paused_event["event_id"]}).status_code == 401
    acked = api.post("/monitoring/events/ack", {"event_id": paused_event["event_id"]}, operator=True)
    assert acked.json()["acked_by"] == "op-alice"
    until = time.time() + 3600
    made = api.post("/monitoring/events/silence", {"kind": "unfundable", "until": until, "reason": "x"},
                    operator=True)
    assert made.status_code == 200
    assert api.get("/monitoring/events/silences").json()[0]["kind"] == "unfundable"
    assert api.get("/monitoring/events/policy").json()["retention_days"] == 90


@pytest.mark.parametrize("path, body", [
    # auto-pause is a safety control: a pause refused for its reason must not have turned it off
    ("/policy/redemptions", {"auto_pause": False, "paused": True, "reason": "   "}),
    ("/policy/redemptions", {"auto_pause": False, "paused": True, "reason": ""}),
    ("/redemptions/update", {"action": "reject", "batch_id": "nope", "reason": " "}),
])
def test_an_admin_request_refused_for_one_field_changes_nothing_of_the_others(api, path, body):
    before = api.get("/policy/redemptions").json()
    answer = api.post(path, body, operator=True)
    assert answer.status_code == 400 and "reason" in answer.json()["error"], answer.text
    assert api.get("/policy/redemptions").json() == before


def test_unknown_routes_and_methods_are_404_and_405(api):
    assert api.get("/nope").status_code == 404
    assert api.get("/deposits/register").status_code == 405


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/deposits/register", "/issuance/blind", "/redemptions/create", "/redemptions/status"]),
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                         st.sampled_from(["deposit_txid", "deposit_vout", "mint_deposit_ref", "outputs", "notes",
                                          "redeem_address", "batch_id", "amount_sat", "blinded_msg",
                                          "claim_secret"]), inner,
                         max_size=5), max_leaves=12).map(lambda v: json.dumps(v).encode()),
    ),
)
def test_malformed_bodies_get_a_4xx_with_a_message_and_change_nothing(api, path, body):
    before = api.counts()
    answer = api.post(path, body)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"]
    assert api.counts() == before


def test_mint_serve_answers_until_interrupted_and_audits_its_start(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from custody_tui.config import render_toml

    keystore = Keystore(tmp_path / "keystore", KdfParams(opslimit=1, memlimit=8 * 1024 * 1024))
    keystore.initialize(PASSPHRASE)
    (tmp_path / "config.toml").write_text(render_toml(test_config(chain=ChainConfig(backend="embedded"))))
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "custody_tui", "--data-dir", str(tmp_path), "mint", "serve", "--port", str(port)],
        env={**os.environ, "CUSTODY_TUI_PASSPHRASE": PASSPHRASE}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "mint serve did not answer"
                time.sleep(0.1)
        assert answer.json()["ok"] is True
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err  # the CLI's exit code for an interrupt, after a clean stop
    assert f"mint API on http://127.0.0.1:{port}" in out
    services = Services(test_config(), tmp_path)
    try:
        assert any(e["action"] == "serve" for e in services.audit.export_dicts())
    finally:
        services.close()


#: (path, operator-signed, body with NUMBER where the number goes, the field the answer names)
NUMERIC_FIELDS = [
    ("/deposits/register", False, '{"deposit_txid": "%s", "deposit_vout": NUMBER}' % ("ab" * 32), "deposit_vout"),
    ("/deposits/register", False, '{"deposit_txid": "%s", "deposit_vout": 0, "amount": NUMBER}' % ("ab" * 32),
     "amount"),
    ("/issuance/blind", False, '{"mint_deposit_ref": "%s", "claim_secret": "%s", "outputs": '
                               '[{"amount_sat": NUMBER, "blinded_msg": "00"}]}' % ("ab" * 32, "cd" * 32), "amount_sat"),
    ("/redemptions/create", False, '{"redeem_address": "%s", "notes": [{"keyset_id": "k", "amount_sat": NUMBER, '
                                   '"message": "00", "signature": "00"}]}' % BURN, "amount_sat"),
    ("/monitoring/events/ack", True, '{"event_id": NUMBER}', "event_id"),
    ("/monitoring/events/silence", True, '{"kind": "health", "reason": "x", "until": NUMBER}', "until"),
]
OUT_OF_RANGE = st.one_of(
    st.integers(min_value=2**63, max_value=10**80).map(str),
    st.integers(min_value=-(10**80), max_value=-(2**63)).map(str),
    st.sampled_from([str(10**40), "1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1" + "0" * 5000,
                     "9" * 4301]),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(NUMERIC_FIELDS), number=OUT_OF_RANGE)
def test_numbers_out_of_any_range_get_a_400_naming_the_field_and_change_nothing(api, case, number):
    path, operator, body, name = case
    before = api.counts()
    answer = api.post(path, body.replace("NUMBER", number).encode(), operator=operator)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert name in error or "not a JSON number" in error or "digits" in error, error
    assert api.counts() == before
