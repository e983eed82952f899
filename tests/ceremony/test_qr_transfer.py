"""Ceremony files across an air gap as BBQr codes: an offline node takes a DKG step through
scanned parts only, the CLI writes PNG/SVG codes and imports scanned parts, and malformed
or foreign parts are refused without touching the node (property tests)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.ceremony import MessageRefused, dkg, transfer, transfer_qr
from backends.qr import bbqr_split
from tests.outside import mutations, refused_or_parsed

from .rig import PASSPHRASE, make_nodes, sync_all

NAMES = ["alice", "bob", "carol"]


def scanned(parts: list[str]) -> list[str]:
    """What a scanner hands over: every part, in the order the animation happened to show them."""
    shuffled = list(parts)
    random.Random(7).shuffle(shuffled)
    return shuffled


def test_an_offline_node_joins_a_dkg_and_returns_its_round_through_qr_parts_only(tmp_path):
    _, nodes = make_nodes(tmp_path, NAMES, offline=("carol",))
    alice, bob, carol = nodes.values()
    try:
        cid = dkg.start(alice, "cold", NAMES, 2)
        bob.sync()
        dkg.join(bob, cid)
        sync_all([alice, bob], 2)
        # small codes, as a terminal shows them: the file needs several parts
        parts = transfer_qr.export_parts(alice, cid, max_version=10)
        assert len(parts) > 1 and all(part.startswith("B$ZJ") for part in parts)
        transfer_qr.import_parts(carol, scanned(parts))
        assert carol.ceremony(cid).state == "invited"
        dkg.join(carol, cid)  # on the air-gapped machine
        back = transfer_qr.export_parts(carol, cid, max_version=10)
        events = transfer_qr.import_parts(alice, scanned(back))  # alice couriers carol's round 1
        assert not [e for e in events if e.kind == "refused"]
        round1 = alice.board.read_ceremony(cid).phase("round1")
        assert carol.poster_key in {post.poster for post in round1}  # signed by carol, carried by alice
        sync_all([alice, bob], 2)
        assert alice.ceremony(cid).state in ("round2", "finalized")
    finally:
        for node in nodes.values():
            node.close()


@pytest.fixture(scope="module")
def offline_carol(tmp_path_factory):
    root = tmp_path_factory.mktemp("qr-prop")
    _, nodes = make_nodes(root, NAMES, offline=("carol",))
    cid = dkg.start(nodes["alice"], "cold", NAMES, 2)
    parts = transfer_qr.export_parts(nodes["alice"], cid, max_version=6)
    yield nodes["carol"], parts
    for node in nodes.values():
        node.close()


def test_the_parts_join_back_to_the_exported_file(offline_carol):
    carol, parts = offline_carol
    assert len(parts) >= 3
    transfer.parse_bundle(transfer_qr.bundle_from_parts(scanned(parts)))


def _damaged(parts: list[str], data) -> list[str]:
    how = data.draw(st.sampled_from(["drop", "mutate", "foreign", "text", "not-json"]))
    parts = list(parts)
    if how == "drop":
        del parts[data.draw(st.integers(0, len(parts) - 1))]
    elif how == "mutate":
        i = data.draw(st.integers(0, len(parts) - 1))
        parts[i] = data.draw(mutations(parts[i].encode())).decode("latin-1")
    elif how == "foreign":  # a part of another file slipped into the series
        parts.append(bbqr_split(b'{"other": "file"}' * 40, "J", max_version=6)[0])
    elif how == "text":
        parts = data.draw(st.lists(st.text(max_size=60), max_size=5))
    else:  # well-formed BBQr whose payload is not a ceremony file
        parts = bbqr_split(data.draw(st.binary(max_size=400)), data.draw(st.sampled_from("JUB")))
    return parts


@settings(max_examples=120)
@given(data=st.data())
def test_malformed_qr_parts_are_refused_and_change_nothing(offline_carol, data):
    carol, parts = offline_carol
    before = [(row.id, row.state) for row in carol.ceremonies()]
    damaged = _damaged(parts, data)
    joined = refused_or_parsed(transfer_qr.bundle_from_parts, damaged, MessageRefused)
    if joined is None:
        with pytest.raises(MessageRefused):
            transfer_qr.import_parts(carol, damaged)
    assert [(row.id, row.state) for row in carol.ceremonies()] == before


def test_the_cli_writes_png_and_svg_codes_and_imports_scanned_parts(tmp_path, monkeypatch, capsys):
    from custody_tui.cli import main

    (tmp_path / "config.toml").write_text('network = "regtest"\n[chain]\nbackend = "none"\n')
    _, nodes = make_nodes(tmp_path, NAMES, offline=("carol",), subdir="ceremony")
    cid = dkg.start(nodes["alice"], "cold", NAMES, 2)
    for node in nodes.values():
        node.close()
    monkeypatch.setenv("CUSTODY_TUI_PASSPHRASE", PASSPHRASE)

    def cli(*args: str) -> str:
        assert main(["--data-dir", str(tmp_path), "ceremony", *args]) == 0
        return capsys.readouterr().out

    cli("--node", "alice", "sync")  # the board positions of its posts go into the export
    for kind in ("png", "svg"):
        out = tmp_path / kind
        out.mkdir()
        cli("--node", "alice", "export", cid[:8], "--qr", kind, "--out", str(out))
        images = sorted(out.iterdir())
        assert images and all(p.suffix == f".{kind}" for p in images)
    assert (tmp_path / "png" / sorted((tmp_path / "png").iterdir())[0].name).read_bytes().startswith(b"\x89PNG")
    parts = cli("--node", "alice", "export", cid[:8], "--qr", "text").split()
    (tmp_path / "scanned.txt").write_text("# scanned\n" + "\n".join(scanned(parts)) + "\n")
    cli("--node", "carol", "import", "--bbqr", str(tmp_path / "scanned.txt"))
    assert cid in cli("--node", "carol", "list") and "invited" in cli("--node", "carol", "list")
    (tmp_path / "bad.txt").write_text("\n".join(parts[1:]))
    assert main(["--data-dir", str(tmp_path), "ceremony", "--node", "carol", "import", "--bbqr",
                 str(tmp_path / "bad.txt")]) != 0
    assert "cannot be joined" in capsys.readouterr().err
