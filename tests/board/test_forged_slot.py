"""A file planted in a poster's place on the board (by anyone with push access) never
keeps that poster out: readers refuse it naming the poster, and the poster's own valid
post replaces it. A VALID post is never replaced: a second, different post of one poster
for one phase is an equivocation and is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends.audit.entry import canonical_json
from backends.board import Board, PostConflict, PostRejected, make_post, post_path

from .conftest import ROSTER, Outsider, git, host_key, host_pub

CEREMONY = "fedcba9876543210fedcba9876543210"
ALICE = host_pub("alice").hex()
SLOT = post_path(CEREMONY, "round1", ALICE)


def forged_signature() -> bytes:
    _, data = make_post(CEREMONY, "round1", {"pmsg1": "00"}, host_key("mallory"))
    forged = json.loads(data)
    forged["poster"] = ALICE
    return canonical_json(forged).encode()


def plant(outsider: Outsider, kind: str) -> None:
    outsider.pull()
    if kind == "bad signature":
        outsider.write(SLOT, forged_signature(), f"board post {SLOT}")
    elif kind == "garbage":
        outsider.write(SLOT, b"not a post at all", f"board post {SLOT}")
    elif kind == "folder in the post's place":
        outsider.write(SLOT + "/inner", b"{}")
    else:  # a file where the phase's folder belongs: every poster of the phase was blocked
        outsider.write(SLOT.rsplit("/", 1)[0], b"{}")
    outsider.push()


def blobs_in_history(remote: Path, path: str) -> list[str]:
    out = git(remote, "log", "--format=%H", "main", "--", path)
    return out.split()


@pytest.mark.parametrize("kind", ["bad signature", "garbage", "folder in the post's place", "file in the phase's place"])
def test_the_posters_valid_post_replaces_a_forged_file_in_its_place(nodes, outsider, remote, kind):
    nodes["bob"].post(CEREMONY, "start", {"n": 3}, host_key("bob"))
    plant(outsider, kind)
    nodes["carol"].sync()
    refused = nodes["carol"].read_ceremony(CEREMONY).rejected
    assert len(refused) == 1 and isinstance(refused[0], PostRejected)
    if kind != "file in the phase's place":
        assert refused[0].poster.startswith("alice")  # the reader names whom the file claims

    nodes["alice"].post(CEREMONY, "round1", {"pmsg1": "ab"}, host_key("alice"))  # not blocked

    nodes["carol"].sync()
    view = nodes["carol"].read_ceremony(CEREMONY)
    assert view.rejected == ()
    assert {(p.phase, p.poster_name, json.dumps(p.body)) for p in view.posts} == \
        {("start", "bob", '{"n": 3}'), ("round1", "alice", '{"pmsg1": "ab"}')}
    assert len(blobs_in_history(remote, SLOT.rsplit("/", 1)[0])) == 2  # the forgery stays in history


def test_a_forgery_pushed_between_a_post_and_its_push_is_replaced_on_sync(nodes, outsider):
    nodes["bob"].post(CEREMONY, "start", {"n": 3}, host_key("bob"))
    nodes["alice"].sync()
    nodes["alice"].post(CEREMONY, "round1", {"pmsg1": "ab"}, host_key("alice"), sync=False)
    plant(outsider, "bad signature")
    nodes["alice"].sync()  # the replay onto the new remote head meets the forgery
    nodes["bob"].sync()
    assert nodes["bob"].read_post(CEREMONY, "round1", host_pub("alice")).body == {"pmsg1": "ab"}


def test_a_valid_post_is_never_replaced_by_another_of_the_same_poster(nodes, tmp_path, remote):
    nodes["alice"].post(CEREMONY, "round1", {"pmsg1": "ab"}, host_key("alice"))
    with pytest.raises(PostConflict):
        nodes["alice"].post(CEREMONY, "round1", {"pmsg1": "cd"}, host_key("alice"))
    # an older copy of alice's node (it never saw her post) commits another round 1: its
    # sync refuses to replay it over the valid one
    old_copy = Board(tmp_path / "old-alice", remote, ROSTER)
    try:
        old_copy.post(CEREMONY, "round1", {"pmsg1": "ef"}, host_key("alice"), sync=False)
        with pytest.raises(PostConflict):
            old_copy.sync()
        # a courier carrying a different signed post of hers is refused the same way
        _, other = make_post(CEREMONY, "round1", {"pmsg1": "01"}, host_key("alice"))
        with pytest.raises(PostConflict):
            nodes["carol"].put_signed(other)
    finally:
        old_copy.close()
    nodes["bob"].sync()
    assert nodes["bob"].read_post(CEREMONY, "round1", host_pub("alice")).body == {"pmsg1": "ab"}


def test_an_invalid_file_never_replaces_a_valid_post(nodes):
    nodes["alice"].post(CEREMONY, "round1", {"pmsg1": "ab"}, host_key("alice"))
    with pytest.raises(PostRejected):  # a courier's file is verified before anything is written
        nodes["carol"].put_signed(forged_signature().replace(b'"00"', b'"11"'))
    nodes["carol"].sync()
    assert nodes["carol"].read_post(CEREMONY, "round1", host_pub("alice")).body == {"pmsg1": "ab"}
