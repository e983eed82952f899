"""Ceremony nodes in one process over a real bare git board: DKG, signing, the nonce rules,
a stale data dir, forged and tampered posts, recovery."""

from __future__ import annotations

import contextlib
import secrets
import shutil

import pytest

from backends.board import make_post
from backends.ceremony import StaleNode, ceremony_status, dkg, recovery, signing
from backends.ceremony.dkg import random_label
from backends.ceremony.errors import CeremonyError
from backends.ceremony.signing import nonce_label
from backends.mpc import chilldkg
from backends.mpc.bip340 import schnorr_verify
from backends.mpc.secp import ORDER
from tests.board.conftest import Outsider

from .rig import copy_rig, make_nodes, reopen, sync_all

NAMES = ["alice", "bob", "carol"]


@pytest.fixture
def trio(tmp_path):
    board, nodes = make_nodes(tmp_path, NAMES)
    yield board, nodes
    for node in nodes.values():
        node.close()


@pytest.fixture(scope="module")
def keyed_template(tmp_path_factory):
    """Three nodes that completed a 2-of-3 DKG, made once per module."""
    root = tmp_path_factory.mktemp("keyed")
    _, nodes = make_nodes(root, NAMES)
    cid = run_dkg(nodes)
    for node in nodes.values():
        node.close()
    return root, cid


@pytest.fixture
def keyed(keyed_template, tmp_path):
    """(board, nodes, dkg id): a copy of the keyed template for one test."""
    template, cid = keyed_template
    board, nodes = copy_rig(template, tmp_path, NAMES)
    yield board, nodes, cid
    for node in nodes.values():
        node.close()


def run_dkg(nodes, t=2):
    alice = nodes["alice"]
    cid = dkg.start(alice, "treasury", list(nodes), t)
    for node in nodes.values():
        node.sync()
        if node is not alice:
            dkg.join(node, cid)
    sync_all(nodes.values(), 3)
    return cid


def request_message(nodes, cid, requester="bob", text=b"attest reserves 2026-12"):
    sid = signing.request(nodes[requester], cid, reason="quarterly attestation", message=text)
    sync_all(nodes.values(), 1)
    return sid


def test_three_nodes_make_a_key_and_sign_a_message_with_two(trio):
    _, nodes = trio
    cid = run_dkg(nodes)
    groups = {node.group(cid).thresh_pk for node in nodes.values()}
    assert len(groups) == 1 and all(node.ceremony(cid).state == "complete" for node in nodes.values())
    assert nodes["alice"].group(cid).address.startswith("bcrt1p")
    sid = request_message(nodes, cid)
    review = signing.review(nodes["carol"], nodes["carol"].ceremony(sid).info)
    assert "attest reserves 2026-12" in "\n".join(review.lines())
    assert ceremony_status(nodes["carol"], nodes["carol"].ceremony(sid)).waiting_on_me
    signing.approve(nodes["carol"], sid)
    signing.approve(nodes["alice"], sid)
    sync_all(nodes.values(), 2)
    group = nodes["bob"].group(cid)
    for node in nodes.values():
        row = node.ceremony(sid)
        assert row.state == "complete"
        assert schnorr_verify(b"attest reserves 2026-12", group.output_key, bytes.fromhex(row.info["sigs"][0]))
        status = ceremony_status(node, row)
        assert not status.mismatches and not status.waiting_on and status.waiting_on_me is None
    # the secret nonces are gone once used
    assert nodes["alice"].secret(nonce_label(sid)) is None and nodes["carol"].secret(nonce_label(sid)) is None


def test_a_node_offline_for_round_one_catches_up(trio):
    _, nodes = trio
    alice, bob, carol = nodes.values()
    cid = dkg.start(alice, "treasury", NAMES, 2)
    bob.sync()
    dkg.join(bob, cid)
    sync_all([alice, bob], 3)  # carol is away: round 1 waits on her
    assert ceremony_status(alice, alice.ceremony(cid)).waiting_on == ["carol"]
    carol.sync()
    dkg.join(carol, cid)
    sync_all(nodes.values(), 3)
    assert all(node.ceremony(cid).state == "complete" for node in nodes.values())


def test_once_t_approvals_lock_the_set_a_later_approval_makes_no_nonce(keyed):
    _, nodes, cid = keyed
    sid = request_message(nodes, cid)
    signing.approve(nodes["bob"], sid)
    signing.approve(nodes["carol"], sid)
    with pytest.raises(Exception, match="not-selected"):  # noqa: B017
        signing.approve(nodes["alice"], sid)
    sync_all(nodes.values(), 2)
    states = {name: node.ceremony(sid).state for name, node in nodes.items()}
    assert states == {"bob": "complete", "carol": "complete", "alice": "complete"}
    assert nodes["alice"].store.nonce_use(sid) is None  # alice never signed
    assert nodes["alice"].secret(nonce_label(sid)) is None


def test_a_node_restored_from_an_older_copy_refuses_to_sign(keyed, tmp_path):
    _, nodes, cid = keyed
    sid = request_message(nodes, cid)
    alice = nodes["alice"]
    signing.approve(alice, sid)
    backup = tmp_path / "alice-backup"
    shutil.copytree(alice.data_dir, backup)  # the backup holds alice's unused secret nonce
    signing.approve(nodes["carol"], sid)
    sync_all(nodes.values(), 2)
    assert alice.ceremony(sid).state == "complete"
    sid2 = request_message(nodes, cid, text=b"second")
    signing.approve(alice, sid2)  # a post the backup never saw
    alice.close()
    shutil.rmtree(alice.data_dir)
    shutil.copytree(backup, alice.data_dir)
    restored = reopen(tmp_path, "alice")
    nodes["alice"] = restored
    with pytest.raises(StaleNode, match="older copy"):
        restored.sync()
    assert restored.secret(nonce_label(sid)) is not None  # still there, and not used
    recovery.recover(restored)
    assert restored.secret(nonce_label(sid)) is None  # destroyed unused
    assert restored.ceremony(sid).state == "signed"
    restored.sync()  # consistent again
    assert restored.ceremony(sid).state == "complete"


def plant_decision_under_alices_key(board, nodes, sid, tmp_path, body, message="outsider") -> None:
    """mallory (not on any roster, with push access) signs a decision and files it under
    alice's key."""
    outsider = Outsider(board, tmp_path / "outsider")
    outsider.pull()
    path, data = make_post(sid, "decision", body, secrets.token_bytes(32))
    alice_path = path.rsplit("/", 1)[0] + "/" + nodes["alice"].poster_key.hex() + ".json"
    outsider.write(alice_path, data, message.format(path=alice_path))
    outsider.push()


def test_a_forged_post_is_refused_naming_its_poster(keyed, tmp_path):
    board, nodes, cid = keyed
    sid = request_message(nodes, cid)
    plant_decision_under_alices_key(board, nodes, sid, tmp_path, {"approve": False, "counter": 99})
    events = nodes["bob"].sync()
    refused = [e.text for e in events if e.kind == "refused"]
    assert any("alice" in text and ("forged" in text or "refused" in text) for text in refused), refused
    assert ceremony_status(nodes["bob"], nodes["bob"].ceremony(sid)).mismatches
    # the forgery counts for nothing: bob and carol approve and the group signs
    signing.approve(nodes["carol"], sid)
    signing.approve(nodes["bob"], sid)
    sync_all(nodes.values(), 2)
    assert nodes["bob"].ceremony(sid).state == "complete"
    assert any("alice" in m for m in ceremony_status(nodes["alice"], nodes["alice"].ceremony(sid)).mismatches)


def test_a_tampered_share_makes_the_investigation_name_the_culprit(trio):
    _, nodes = trio
    alice, bob, carol = nodes.values()
    cid = dkg.start(alice, "treasury", NAMES, 2)
    sync_all(nodes.values(), 1)
    dkg.join(bob, cid)
    # carol's node is compromised: it corrupts the encrypted share it sends to alice
    row = carol.ceremony(cid)
    random = secrets.token_bytes(32)
    _, pmsg1 = chilldkg.participant_step1(carol.host_secret(), dkg.params_of(row), random)
    at = 33 * 2 + 64 + 33
    share = (int.from_bytes(pmsg1[at: at + 32], "big") + 1) % ORDER
    pmsg1 = pmsg1[:at] + share.to_bytes(32, "big") + pmsg1[at + 32:]
    carol.keystore.add_secret(random_label(cid), "mpc_session", random)
    with carol.store.transaction() as db:
        carol.store.queue_post(db, cid, "round1", {"pmsg1": pmsg1.hex()})
        carol.store.set_state(cid, "round1", db=db)
    sync_all(nodes.values(), 3)
    row = alice.ceremony(cid)
    assert row.state == "failed"
    assert row.info["culprit"].startswith("carol")
    assert "carol" in row.note and "invalid share" in row.note
    assert alice.secret(random_label(cid)) is None


def test_a_lost_node_recovers_its_share_from_its_host_secret_and_the_board(keyed, tmp_path):
    board, nodes, cid = keyed
    bob = nodes["bob"]
    host_secret = bob.host_secret()
    share = bob.keystore.get_secret(dkg.share_label(cid))
    roster = bob.roster()
    bob.close()
    shutil.rmtree(bob.data_dir)
    from backends.ceremony import Node

    from .rig import open_keystore

    fresh_dir = tmp_path / "nodes" / "bob"
    fresh = Node.create(fresh_dir, "bob", open_keystore(fresh_dir), board=str(board), host_secret=host_secret)
    nodes["bob"] = fresh
    for key, name in roster.items():
        if name != "bob":
            fresh.add_peer(name, key)
    with pytest.raises(StaleNode):
        fresh.sync()  # its own posts are on the board: it must recover, not start afresh
    recovery.recover(fresh)
    assert fresh.keystore.get_secret(dkg.share_label(cid)) == share
    assert fresh.group(cid).thresh_pk == nodes["alice"].group(cid).thresh_pk
    sid = request_message(nodes, cid)
    signing.approve(fresh, sid)
    signing.approve(nodes["alice"], sid)
    sync_all(nodes.values(), 2)
    assert fresh.ceremony(sid).state == "complete"


def test_an_approval_with_a_bad_nonce_commitment_fails_the_ceremony_naming_its_poster(keyed):
    _, nodes, cid = keyed
    sid = request_message(nodes, cid)
    carol = nodes["carol"]
    bad = "02" + "00" * 32  # 33 bytes, not a point
    with carol.store.transaction() as db:  # carol's node is compromised: its commitment is garbage
        carol.store.queue_post(db, sid, "decision", {"approve": True, "pubnonces": [bad + bad]})
        carol.store.set_state(sid, "approved", db=db)
    carol.flush()
    signing.approve(nodes["alice"], sid)
    sync_all([nodes["alice"], nodes["bob"]], 1)
    row = nodes["alice"].ceremony(sid)
    assert row.state == "failed" and row.info["culprit"].startswith("carol"), (row.state, row.note)
    assert nodes["alice"].secret(nonce_label(sid)) is None  # destroyed, never used


def test_a_psbt_spending_anything_but_the_groups_coin_is_refused_before_any_nonce(keyed):
    from embit.script import Script
    from embit.transaction import Transaction, TransactionInput, TransactionOutput

    from backends.ceremony import MessageRefused
    from backends.wallet.psbt import Psbt, serialize_psbt

    _, nodes, cid = keyed
    group = nodes["alice"].group(cid)
    foreign = b"\x51\x20" + bytes(range(32))
    tx = Transaction(version=2, vin=[TransactionInput(b"\x11" * 32, 0), TransactionInput(b"\x22" * 32, 1)],
                     vout=[TransactionOutput(90_000, Script(group.output_script))])
    psbt = Psbt(tx)
    psbt.inputs[0].witness_utxo = TransactionOutput(50_000, Script(group.output_script))
    psbt.inputs[1].witness_utxo = TransactionOutput(50_000, Script(foreign))
    with pytest.raises(MessageRefused, match="input 1 .* not the group's taproot coin"):
        signing.request(nodes["bob"], cid, reason="sweep", psbt=serialize_psbt(psbt))
    assert [row.kind for row in nodes["bob"].ceremonies()] == ["dkg"]


@contextlib.contextmanager
def _racing(monkeypatch, module, name, other_process):
    """Run ``other_process`` once, the first time this process calls ``module.name``."""
    real = getattr(module, name)
    raced: list[bool] = []

    def racing(*args, **kwargs):
        if not raced:
            raced.append(True)
            other_process()
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, racing)
    try:
        yield raced
    finally:
        monkeypatch.setattr(module, name, real)


def test_two_processes_approving_at_once_keep_the_nonce_the_board_carries(keyed, tmp_path, monkeypatch):
    """A second process of alice's node (same data dir) approves while the first is between
    reading the request and storing its nonces: the first must not replace the nonces whose
    commitment the second already posted (alice would then sign with nonces nobody committed to)."""
    from backends.mpc import frost

    _, nodes, cid = keyed
    sid = request_message(nodes, cid)
    other = reopen(tmp_path, "alice")  # the second process
    # the other process gets there first, and posts
    with _racing(monkeypatch, frost, "nonce_gen", lambda: signing.approve(other, sid)):
        with pytest.raises(CeremonyError, match="another process of this node decided"):
            signing.approve(nodes["alice"], sid)
    other.close()
    signing.approve(nodes["carol"], sid)
    sync_all(nodes.values(), 2)
    assert {name: node.ceremony(sid).state for name, node in nodes.items()} == \
        {"alice": "complete", "bob": "complete", "carol": "complete"}


def test_two_processes_signing_at_once_leave_the_node_signed(keyed, tmp_path, monkeypatch):
    """A second process of alice's node signs while the first is between building the
    session and binding its nonces: the first finds the ceremony signed, and neither fails it
    nor marks it aborted."""
    _, nodes, cid = keyed
    sid = request_message(nodes, cid)
    signing.approve(nodes["carol"], sid)
    signing.approve(nodes["alice"], sid)
    sync_all([nodes["carol"], nodes["bob"]], 1)
    other = reopen(tmp_path, "alice")  # the second process
    with _racing(monkeypatch, signing, "_session", other.sync) as raced:  # the other process signs first
        nodes["alice"].sync()
    other.close()
    assert raced and nodes["alice"].ceremony(sid).state in ("signed", "complete")
    sync_all(nodes.values(), 2)
    assert {name: node.ceremony(sid).state for name, node in nodes.items()} == \
        {"alice": "complete", "bob": "complete", "carol": "complete"}


def test_a_decline_racing_an_approval_of_the_same_node_does_not_hide_it(keyed, tmp_path, monkeypatch):
    """While one process of alice's node declines, another approves first: the decline is
    refused, not recorded over an approval whose nonces are on the board (alice would never
    sign, and the group would wait on her)."""
    _, nodes, cid = keyed
    sid = request_message(nodes, cid)
    other = reopen(tmp_path, "alice")  # the second process
    with _racing(monkeypatch, signing, "_require_sign", lambda: signing.approve(other, sid)):
        with pytest.raises(CeremonyError, match="another process of this node decided"):
            signing.decline(nodes["alice"], sid, "no")
    other.close()
    assert nodes["alice"].ceremony(sid).state == "approved"
    signing.approve(nodes["carol"], sid)
    sync_all(nodes.values(), 2)
    assert nodes["alice"].ceremony(sid).state == "complete"


def test_a_forged_file_in_a_keyholders_place_does_not_keep_them_out_nor_move_them_up(keyed, tmp_path):
    board, nodes, cid = keyed
    sid = request_message(nodes, cid)
    # planted first, in a commit that looks like a post (its message names alice's place)
    plant_decision_under_alices_key(board, nodes, sid, tmp_path, {"approve": True, "counter": 99},
                                    "board post {path}")
    refused = [e.text for e in nodes["bob"].sync() if e.kind == "refused"]
    assert any("alice" in text for text in refused), refused  # the forgery is named
    signing.approve(nodes["carol"], sid)
    signing.approve(nodes["alice"], sid)  # her valid post replaces the forgery: she is not kept out
    sync_all(nodes.values(), 3)
    view = nodes["bob"].board.read_ceremony(sid)
    assert not view.rejected and nodes["alice"].poster_key in {p.poster for p in view.phase("decision")}
    # her board position is her post's, not the forgery's: an approval placed where a forgery
    # once lay would jump ahead of approvals that locked the signer set before it arrived
    for node in nodes.values():
        order = node.store.order(sid, "decision")
        assert order[nodes["alice"].poster_key.hex()] > order[nodes["carol"].poster_key.hex()], node.name
    assert nodes["bob"].ceremony(sid).state == "complete"


def test_a_new_nodes_first_sync_reads_one_post_of_each_past_ceremony_not_its_own(keyed, tmp_path, monkeypatch):
    from backends.board import Board
    from backends.ceremony import Node

    from .rig import open_keystore

    board, nodes, cid = keyed
    sid = request_message(nodes, cid)  # two past ceremonies of alice, bob and carol: 15 posts or so
    dave_dir = tmp_path / "nodes" / "dave"  # a keyholder who joins the organisation later
    dave = Node.create(dave_dir, "dave", open_keystore(dave_dir), board=str(board))
    try:
        for node in nodes.values():
            dave.add_peer(node.name, node.hostpubkey)
        nodes["alice"].add_peer("dave", dave.hostpubkey)
        read, verify = [], Board._verify_entry
        monkeypatch.setattr(Board, "_verify_entry",
                            lambda self, c, phase, entry: read.append((c, phase)) or verify(self, c, phase, entry))
        dave.sync()
        assert sorted(read) == sorted([(cid, "start"), (sid, "request")])  # what says whose they are
        assert dave.ceremonies() == []
        cid2 = dkg.start(nodes["alice"], "with dave", ["alice", "dave"], 2)
        dave.sync()
        assert dave.ceremony(cid2).state == "invited"  # one that names dave is found
    finally:
        dave.close()


def test_a_post_overwritten_on_the_board_by_an_invalid_file_is_posted_again(keyed, tmp_path):
    board, nodes, cid = keyed
    sid = request_message(nodes, cid)
    signing.approve(nodes["alice"], sid)
    plant_decision_under_alices_key(board, nodes, sid, tmp_path, {"approve": True, "counter": 99})
    signing.approve(nodes["carol"], sid)
    sync_all(nodes.values(), 3)
    decision = nodes["bob"].board.read_post(sid, "decision", nodes["alice"].poster_key)
    # alice's node posted it again: the same body (her nonce commitment), never a new one
    assert decision is not None and decision.body == nodes["alice"].store.queued(sid, "decision")
    assert nodes["bob"].ceremony(sid).state == "complete"
