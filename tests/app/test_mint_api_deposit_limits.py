"""``POST /deposits/address`` over real HTTP: anyone may ask (mint users are anonymous), so a
client's rate and the outstanding addresses are bounded, refusals say when to come back, and
the operator sees them as an event and a metric."""

from __future__ import annotations

import httpx

from .test_mint_api import Api


def _client(api: Api, source: str) -> httpx.Client:
    """A client from its own loopback address (Linux routes all of 127/8 to lo)."""
    return httpx.Client(base_url=f"http://127.0.0.1:{api.port}", timeout=30,
                        transport=httpx.HTTPTransport(local_address=source))


def _handed_out(api: Api) -> int:
    return api.mint.ledger.read("SELECT COUNT(*) FROM deposit_addresses")[0][0]


def test_deposit_addresses_are_bounded_per_client_and_in_all_and_refusals_are_visible(tmp_path):
    # burst 3 a client, hardly any refill; at most 4 outstanding in all (the fixture took one)
    api = Api(tmp_path, deposit_address_burst=3, deposit_address_rate_per_hour=0.001, deposit_address_cap=4)
    first, second = _client(api, "127.0.0.1"), _client(api, "127.0.0.2")
    try:
        assert api.claim["expires_at"] > api.services.clocks.wall().timestamp() + 23 * 3600
        for _ in range(2):  # the fixture's one and these two: the first client's burst
            assert first.post("/deposits/address", json={}).status_code == 200
        before = _handed_out(api)
        limited = first.post("/deposits/address", json={})
        assert limited.status_code == 429, limited.text
        assert "too many deposit addresses asked from 127.0.0.1" in limited.json()["error"]
        assert int(limited.headers["retry-after"]) > 3600  # a token every 3.6 million s
        assert _handed_out(api) == before  # a refusal hands out nothing

        # another client still gets one, up to the cap on what waits for a deposit
        assert second.post("/deposits/address", json={}).status_code == 200
        full = second.post("/deposits/address", json={})
        assert full.status_code == 503, full.text
        assert "4 deposit addresses waiting for a deposit" in full.json()["error"]
        assert 86_000 < int(full.headers["retry-after"]) <= 86_400  # when the oldest expires
        assert full.json()["retry_after"] == int(full.headers["retry-after"])
        assert _handed_out(api) == before + 1

        # a bad body is refused before any bucket is drawn on
        assert second.post("/deposits/address", content=b"{not json").status_code == 400

        # the operator sees it: one event for the burst of refusals, and the counters
        kinds = [e for e in api.mint.events() if e["kind"] == "deposit_limit"]
        assert len(kinds) == 1 and "1 over a client's rate" in kinds[0]["message"], kinds
        assert kinds[0]["event_id"] in {e.event_id for e in api.mint.alerts()}
        metrics = api.get("/monitoring/metrics").text
        assert 'mint_deposit_address_refusals_total{reason="rate"} 1' in metrics
        assert "mint_deposit_addresses_outstanding 4" in metrics and "mint_deposit_address_cap 4" in metrics
        assert 'mint_deposit_address_refusals_total{reason="cap"} 0' in metrics  # within the minute
        api.server.config.app.stopped()  # what mint serve does when it stops: the rest is written
        assert 'mint_deposit_address_refusals_total{reason="cap"} 1' in api.get("/monitoring/metrics").text
        assert "1 at the cap" in api.mint.events()[0]["message"]
    finally:
        first.close()
        second.close()
        api.close()
