"""An air-gapped keyholder takes part through exported files only; ceremony files are
outside input (property tests: malformed files are refused and change nothing)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.ceremony import MessageRefused, dkg, signing, transfer
from backends.mpc.bip340 import schnorr_verify
from tests.outside import mutations, nestings, refused_or_parsed

from .rig import make_nodes, sync_all

NAMES = ["alice", "bob", "carol"]


def carry(source, target, cid: str, tmp_path, name: str) -> list:
    """Export a ceremony from ``source`` to a file and import that file on ``target``."""
    path = tmp_path / f"{name}.json"
    path.write_bytes(transfer.export_ceremony(source, cid))
    return transfer.import_bundle(target, path.read_bytes())


def round_trips(courier, online: list, offline, cid: str, tmp_path, trips=(2, 3)) -> None:
    """The ceremony's file carried to the offline node and its answer back, the online
    nodes syncing after each trip."""
    for trip in trips:
        carry(courier, offline, cid, tmp_path, f"to-{offline.name}-{trip}")
        carry(offline, courier, cid, tmp_path, f"from-{offline.name}-{trip}")
        sync_all(online, 2)


def test_an_air_gapped_node_completes_dkg_and_signing_through_files_only(tmp_path):
    board, nodes = make_nodes(tmp_path, NAMES, offline=("carol",))
    alice, bob, carol = nodes.values()
    assert not carol.online
    try:
        cid = dkg.start(alice, "cold", NAMES, 2)
        bob.sync()
        dkg.join(bob, cid)
        sync_all([alice, bob], 2)
        carry(alice, carol, cid, tmp_path, "to-carol-1")  # the start and round 1 reach carol
        dkg.join(carol, cid)
        carry(carol, alice, cid, tmp_path, "from-carol-1")  # alice couriers carol's round 1 post
        sync_all([alice, bob], 2)
        round_trips(alice, [alice, bob], carol, cid, tmp_path)
        assert {n.ceremony(cid).state for n in (alice, bob)} == {"complete"}
        carry(alice, carol, cid, tmp_path, "to-carol-4")
        assert carol.ceremony(cid).state == "complete"
        assert carol.group(cid).thresh_pk == alice.group(cid).thresh_pk
        # carol's posts were signed by her host key, not by alice who carried them
        on_board = alice.board.read_ceremony(cid).phase("round1")
        assert carol.poster_key in {post.poster for post in on_board}

        sid = signing.request(bob, cid, reason="cold storage attestation", message=b"cold")
        alice.sync()
        signing.approve(alice, sid)
        carry(alice, carol, sid, tmp_path, "sign-to-carol-1")
        assert carol.ceremony(sid).state == "review"
        signing.approve(carol, sid)  # on the air-gapped machine
        carry(carol, alice, sid, tmp_path, "sign-from-carol-1")
        sync_all([alice, bob], 2)
        carry(alice, carol, sid, tmp_path, "sign-to-carol-2")  # board positions lock the set
        assert carol.ceremony(sid).state == "signed"
        carry(carol, alice, sid, tmp_path, "sign-from-carol-2")
        sync_all([alice, bob], 2)
        row = bob.ceremony(sid)
        assert row.state == "complete"
        assert schnorr_verify(b"cold", bob.group(cid).output_key, bytes.fromhex(row.info["sigs"][0]))
    finally:
        for node in nodes.values():
            node.close()


@pytest.fixture(scope="module")
def offline_node(tmp_path_factory):
    root = tmp_path_factory.mktemp("airgap-prop")
    _, nodes = make_nodes(root, NAMES, offline=("carol",))
    alice = nodes["alice"]
    cid = dkg.start(alice, "cold", NAMES, 2)
    valid = transfer.export_ceremony(alice, cid)
    yield nodes["carol"], valid
    for node in nodes.values():
        node.close()


def test_a_valid_file_parses(offline_node):
    _, valid = offline_node
    bundle = transfer.parse_bundle(valid)
    assert len(bundle.posts) == 2  # start and alice's round 1


@settings(max_examples=150)
@given(data=st.data())
def test_a_malformed_ceremony_file_is_refused_or_read_never_a_crash(offline_node, data):
    _, valid = offline_node
    raw = data.draw(mutations(valid) | st.binary(max_size=300) | nestings().map(str.encode)
                    | st.sampled_from([b"", b"{}", b"[]", b"null", b'{"custody_tui_ceremony_bundle": 1}']))
    refused_or_parsed(transfer.parse_bundle, raw, MessageRefused)


@settings(max_examples=40)
@given(data=st.data())
def test_importing_a_tampered_file_adds_no_post_it_cannot_verify(offline_node, data):
    carol, valid = offline_node
    obj = json.loads(valid)
    index = data.draw(st.integers(0, len(obj["posts"]) - 1))
    post = obj["posts"][index]["post"].encode()
    tampered = data.draw(mutations(post))
    obj["posts"][index]["post"] = tampered.decode("utf-8", "replace")
    try:
        transfer.import_bundle(carol, json.dumps(obj).encode())
    except MessageRefused:
        pass
    # nothing but the exporter's genuine posts ever enters the offline node's view
    genuine = {(p.phase, p.poster, json.dumps(p.body, sort_keys=True))
               for p in (carol.board.verify_file(item["post"].encode()) for item in json.loads(valid)["posts"])}
    view = carol.board.read_ceremony(obj["ceremony"])
    assert not view.rejected
    assert {(p.phase, p.poster, json.dumps(p.body, sort_keys=True)) for p in view.posts} <= genuine


def test_an_export_made_right_after_dkg_start_lets_an_offline_node_find_and_join_it(tmp_path):
    """No sync between `dkg start` and `export`: the file still carries what the offline
    node needs (its positions when the posts are on the board; the ceremony itself always)."""
    board, nodes = make_nodes(tmp_path, NAMES, offline=("carol",))
    alice, bob, carol = nodes.values()
    try:
        cid = dkg.start(alice, "cold", NAMES, 2)
        bundle = transfer.parse_bundle(transfer.export_ceremony(alice, cid))
        assert all(seq is not None for seq, _ in bundle.posts)  # start and round 1 are on the board
        carry(alice, carol, cid, tmp_path, "to-carol")
        assert carol.ceremony(cid).state == "invited"
        dkg.join(carol, cid)
        carry(carol, alice, cid, tmp_path, "from-carol")
        bob.sync()
        dkg.join(bob, cid)
        sync_all([alice, bob], 3)
        round_trips(alice, [alice, bob], carol, cid, tmp_path)
        carry(alice, carol, cid, tmp_path, "to-carol-4")
        assert {n.ceremony(cid).state for n in (alice, bob, carol)} == {"complete"}
    finally:
        for node in nodes.values():
            node.close()


def test_an_offline_node_finds_a_ceremony_in_a_file_without_board_positions(tmp_path):
    _, nodes = make_nodes(tmp_path, NAMES, offline=("bob", "carol"))
    try:
        cid = dkg.start(nodes["bob"], "cold", NAMES, 2)  # bob is offline too: nothing is on a board
        bundle = transfer.parse_bundle(transfer.export_ceremony(nodes["bob"], cid))
        assert bundle.posts and all(seq is None for seq, _ in bundle.posts)
        carry(nodes["bob"], nodes["carol"], cid, tmp_path, "bob-to-carol")
        assert nodes["carol"].ceremony(cid).state == "invited"
    finally:
        for node in nodes.values():
            node.close()
