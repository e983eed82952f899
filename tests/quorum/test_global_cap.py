"""The coordinator-wide velocity cap, counted from the chain: three emulated Coldcards (real
ckcc client) and the embedded chain. Device traffic is read on the devices themselves (their
HSM approvals/refusals counters), never from a mock."""

from __future__ import annotations

import threading

import pytest

from backends.chain import ChainUnavailable
from backends.coldcard.client import ColdcardClient
from backends.quorum import Done, Failed, GateRefused, last_event
from backends.quorum.global_cap import GlobalCap

from .rig import MINER, SINK, policy

CAP = 1_200_000


@pytest.fixture
def capped(rig, services):
    coordinator = rig.coordinator(services.data_dir, services, global_cap_sat=CAP, global_period_minutes=60)
    try:
        coordinator.arm()
        yield coordinator
    finally:
        coordinator.close()


def device_decisions(rig) -> dict[str, tuple[int, int]]:
    """(approvals, refusals) as each device counts them."""
    found = {}
    for name, target in zip("abc", rig.targets, strict=True):
        status = ColdcardClient(target).hsm_status()
        found[name] = (status["approvals"], status["refusals"])
    return found


def outflow(rig, txid: str) -> int:
    return next(h.outflow_sat for h in rig.chain.history(rig.descriptor) if h.txid == txid)


def test_a_spend_over_the_global_cap_is_refused_with_used_limit_and_roll_time_before_any_device_is_asked(
        rig, capped, services):
    first = last_event(capped.spend(1_000_000, SINK))
    assert isinstance(first, Done)
    spent = outflow(rig, first.txid)  # in the mempool: it counts already
    assert spent == 1_000_000 + first.fee_sat
    usage = capped.global_usage()
    assert (usage.used_sat, usage.limit_sat, usage.source) == (spent, CAP, "chain")
    before = device_decisions(rig)
    failed = last_event(capped.spend(300_000, SINK))
    assert isinstance(failed, Failed)
    assert f"{spent:,} sat used of {CAP:,} sat in the last 1 h" in failed.reason
    assert "room for it in " in failed.reason and "UTC" in failed.reason
    assert "nothing was asked of any signer" in failed.reason
    assert device_decisions(rig) == before
    assert capped.ledger.recent(1)[0].state == "refused"
    assert [e.outcome for e in services.audit.entries(limit=None, newest_first=False)
            if e.action == "spend"] == ["started", "ok", "started", "refused"]
    # mined, the same spend still counts, once; the refused spend reserved nothing
    rig.chain.mine(1, MINER)
    assert capped.global_usage().used_sat == spent
    assert capped.global_usage().as_dict()["window_resets_at"].endswith("Z")


def test_a_spend_the_signers_refuse_releases_its_reservation_and_uses_nothing(rig, capped):
    failed = last_event(capped.spend(1_000_001, SINK))  # over the devices' max_amount
    assert isinstance(failed, Failed) and failed.refusals
    assert capped.global_usage().used_sat == 0
    assert isinstance(last_event(capped.spend(1_000_000, SINK)), Done)


def test_a_conflicted_spend_stops_counting_and_its_replacement_counts_once(rig, capped):
    from backends.quorum.spend import plan_spend
    from backends.wallet import combine, extract, finalize, parse_psbt, serialize_psbt

    # a second transaction over the same coin, signed by two devices, that a block will carry
    rival = plan_spend(capped, 300_000, SINK)
    unsigned = serialize_psbt(rival.psbt, "binary")
    signed = [parse_psbt(ColdcardClient(t).sign_psbt(unsigned)) for t in rig.targets[:2]]
    rival_tx = extract(finalize(combine(signed)))
    done = last_event(capped.spend(500_000, SINK))
    assert isinstance(done, Done)
    assert capped.global_usage().used_sat == 500_000 + done.fee_sat
    rig.chain.submit_block(rig.chain.propose_block([rival_tx], MINER))
    assert rig.chain.tx_status(done.txid).state == "conflicted"
    assert capped.global_usage().used_sat == 300_000 + rival.fee_sat


def test_a_second_coordinator_over_the_same_chain_reports_the_same_used_figure(rig, capped, services, tmp_path):
    done = last_event(capped.spend(400_000, SINK))
    assert isinstance(done, Done)
    same_data = rig.coordinator(services.data_dir, global_cap_sat=CAP, global_period_minutes=60)
    other_data = rig.coordinator(tmp_path / "elsewhere", global_cap_sat=CAP, global_period_minutes=60)
    try:
        figures = {c.global_usage().used_sat for c in (capped, same_data, other_data)}
        assert figures == {400_000 + done.fee_sat}
    finally:
        same_data.close()
        other_data.close()


def test_with_the_chain_unreachable_the_figure_comes_from_the_cache_and_says_so(rig, capped, services):
    done = last_event(capped.spend(400_000, SINK))
    assert capped.global_usage().source == "chain"

    def unreachable():
        raise ChainUnavailable("cannot connect to the chain")

    blind = GlobalCap(services.data_dir / "global_cap.sqlite3", chain=unreachable, descriptor=rig.descriptor,
                      limit_sat=CAP, period_minutes=60, spend_state=capped.ledger.state_of)
    try:
        usage = blind.usage()
        assert (usage.used_sat, usage.source) == (400_000 + done.fee_sat, "cache")
        assert usage.as_dict()["source"] == "cache"
        with pytest.raises(GateRefused, match="the chain did not answer"):
            blind.reserve(99, 1)
    finally:
        blind.close()


def test_a_hundred_concurrent_spend_attempts_never_exceed_the_cap(rig, services):
    """Each attempt has its own connection, as separate coordinator processes would."""
    path = services.data_dir / "global_cap.sqlite3"
    services.data_dir.mkdir(parents=True, exist_ok=True)
    in_flight = lambda _id: ("signing", None)  # noqa: E731 - every attempt is mid-spend
    caps = [GlobalCap(path, chain=lambda: rig.chain, descriptor=rig.descriptor, limit_sat=CAP,
                      period_minutes=60, spend_state=in_flight) for _ in range(100)]
    admitted, refused = [], []
    start = threading.Barrier(100)

    def attempt(n: int) -> None:
        start.wait()
        try:
            caps[n].reserve(n + 1, 70_000)
            admitted.append(n)
        except GateRefused:
            refused.append(n)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(admitted) == CAP // 70_000 and len(refused) == 100 - CAP // 70_000
        assert caps[0].usage().used_sat == len(admitted) * 70_000 <= CAP
    finally:
        for cap in caps:
            cap.close()


@pytest.mark.slow
def test_a_reservation_left_by_a_killed_coordinator_is_released_when_its_spend_is_dropped(
        rig, services, tmp_path):
    from backends.chain import ChainServer

    from .test_crash import spend_killed

    server = ChainServer(rig.chain, tmp_path / "chain.sock")
    server.start()
    coordinator = rig.coordinator(services.data_dir, services, global_cap_sat=400_000, global_period_minutes=60)
    try:
        coordinator.arm()
        spend_killed(rig, services.data_dir, tmp_path / "chain.sock", "before", 250_000,
                     spec=rig.spec(global_cap_sat=400_000, global_period_minutes=60))
        (row,) = coordinator.ledger.unfinished()
        # signed and never broadcast: it may still go out, so it holds its reservation
        assert coordinator.global_usage().used_sat == 250_000 + row.fee_sat
        done = last_event(coordinator.spend(250_000, SINK))  # settles the crash first
        assert isinstance(done, Done)
        assert coordinator.ledger.get(row.id).state == "dropped"
        assert coordinator.global_usage().used_sat == 250_000 + done.fee_sat
    finally:
        coordinator.close()
        server.stop()


def test_the_cap_is_configured_from_quorum_keys(tmp_path):
    import json

    from custody_tui.config import config_from_dict
    from custody_tui.services import quorum_spec

    from .test_config import raw

    (tmp_path / "policy.json").write_text(json.dumps(policy()))
    spec = quorum_spec(config_from_dict(raw(global_cap_sat=5_000_000, global_period_minutes=720,
                                            surge_global_cap_sat=9_000_000)), tmp_path)
    assert (spec.global_cap_sat, spec.global_period_minutes, spec.surge_global_cap_sat) == (
        5_000_000, 720, 9_000_000)


class EvictingChain:
    """The rig's chain after it let go of ``evicted`` transactions (mempool full, expiry, a
    restart of the node): it no longer lists or knows them, though each is still a valid
    signed transaction that a copy kept elsewhere can bring to a block."""

    def __init__(self, chain, evicted: set[str]) -> None:
        self._chain, self.evicted = chain, evicted

    def __getattr__(self, name):
        return getattr(self._chain, name)

    def history(self, descriptor=None):
        return [h for h in self._chain.history(descriptor) if h.txid not in self.evicted]

    def tx_status(self, txid: str):
        from backends.chain.interface import TxStatus

        return TxStatus("unknown") if txid in self.evicted else self._chain.tx_status(txid)


def test_a_broadcast_spend_the_chain_forgot_keeps_counting_until_it_can_never_confirm(rig, capped, services):
    done = last_event(capped.spend(1_000_000, SINK))
    assert isinstance(done, Done)
    spent = 1_000_000 + done.fee_sat
    forgetful = GlobalCap(services.data_dir / "global_cap.sqlite3", chain=lambda: EvictingChain(rig.chain, {done.txid}),
                          descriptor=rig.descriptor, limit_sat=CAP, period_minutes=60,
                          spend_state=capped.ledger.state_of)
    try:
        # evicted is not conflicted: anyone holding the signed transaction can still get it mined
        assert forgetful.usage().used_sat == spent
        with pytest.raises(GateRefused, match="over the global cap"):
            forgetful.reserve(999, 300_000)
    finally:
        forgetful.close()
    assert capped.global_usage().used_sat == spent


def test_a_spend_whose_broadcast_went_unanswered_but_reached_the_chain_counts_once(rig, services):
    from backends.quorum import Coordinator

    from .test_spend_safety import FlakyChain

    chain = FlakyChain(rig.chain)
    coordinator = Coordinator(rig.spec(global_cap_sat=CAP, global_period_minutes=60), services.data_dir,
                              chain=chain, audited=services.audited)
    try:
        coordinator.arm()
        chain.mute = True  # the chain takes the transaction; its answer is lost
        failed = last_event(coordinator.spend(500_000, SINK))
        assert isinstance(failed, Failed) and "did not answer the broadcast" in failed.reason
        chain.mute = False
        (row,) = coordinator.ledger.unfinished()
        assert row.state == "signed" and rig.chain.tx_status(row.txid).state == "mempool"
        # the chain shows it: its reservation must not count a second time
        assert coordinator.global_usage().used_sat == 500_000 + row.fee_sat
    finally:
        coordinator.close()
