"""The board over real git repositories: posts verify on read, forgeries and tampering
are refused naming the poster, concurrent pushes converge, a force-push is detected."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from backends.audit.entry import canonical_json
from backends.board import (BadSignature, Board, BoardError, BoardRewound, BoardSyncError, MalformedPost,
                            UnknownPoster,
                            make_post, new_ceremony_id, post_path)

from .conftest import NAMES, ROSTER, Outsider, git, host_key, host_pub

CEREMONY = "0123456789abcdef0123456789abcdef"


def test_a_post_reads_back_verified_on_every_node(nodes):
    path = nodes["alice"].post(CEREMONY, "start", {"threshold": 2, "name": "treasury"}, host_key("alice"))
    assert path == f"ceremonies/01/{CEREMONY}/start/{host_pub('alice').hex()}.json"
    nodes["bob"].sync()
    view = nodes["bob"].read_ceremony(CEREMONY)
    assert view.rejected == ()
    [post] = view.posts
    assert (post.phase, post.poster, post.poster_name, post.body) == \
        ("start", host_pub("alice"), "alice", {"threshold": 2, "name": "treasury"})
    assert nodes["bob"].read_post(CEREMONY, "start", host_pub("alice")) == post
    assert nodes["bob"].read_post(CEREMONY, "round1", host_pub("alice")) is None
    assert nodes["bob"].read_ceremony(new_ceremony_id()).posts == ()


def test_posting_the_same_post_twice_changes_nothing(nodes):
    nodes["alice"].post(CEREMONY, "start", {"n": 1}, host_key("alice"))
    head = nodes["alice"].head()
    nodes["alice"].post(CEREMONY, "start", {"n": 1}, host_key("alice"))
    assert nodes["alice"].head() == head


def test_the_seen_head_is_remembered_after_sync(nodes, tmp_path: Path):
    nodes["alice"].post(CEREMONY, "start", {"n": 1}, host_key("alice"))
    stored = (tmp_path / "nodes" / "alice" / "board-seen-head").read_text().strip()
    assert stored == nodes["alice"].head() == nodes["alice"].seen_head()


def test_a_body_naming_a_secret_is_refused_before_anything_is_written(nodes):
    with pytest.raises(BoardError, match="holds no secret"):
        nodes["alice"].post(CEREMONY, "share", {"shares": [{"secret_share": "00"}]}, host_key("alice"))
    assert nodes["alice"].head() is None
    with pytest.raises(BoardError, match="refused by its readers"):
        nodes["alice"].post(CEREMONY, "start", {"fee": 1.5}, host_key("alice"))


def test_a_forged_post_is_rejected_naming_the_poster_it_claims(nodes, outsider: Outsider):
    nodes["alice"].post(CEREMONY, "start", {"n": 1}, host_key("alice"))
    outsider.pull()
    # signed by a key not alice's, placed at alice's path with alice's key inside
    _, data = make_post(CEREMONY, "approve", {"ok": True}, host_key("mallory"))
    forged = json.loads(data)
    forged["poster"] = host_pub("alice").hex()
    outsider.write(post_path(CEREMONY, "approve", host_pub("alice").hex()), canonical_json(forged).encode())
    outsider.push()
    nodes["bob"].sync()
    with pytest.raises(BadSignature, match="alice") as caught:
        nodes["bob"].read_post(CEREMONY, "approve", host_pub("alice"))
    assert caught.value.poster.startswith("alice")
    view = nodes["bob"].read_ceremony(CEREMONY)
    assert [p.phase for p in view.posts] == ["start"]  # the good post still reads
    assert [type(r) for r in view.rejected] == [BadSignature]


def test_a_post_by_a_key_off_the_roster_is_rejected_naming_that_key(nodes, outsider: Outsider):
    nodes["alice"].post(CEREMONY, "start", {"n": 1}, host_key("alice"))
    outsider.pull()
    path, data = make_post(CEREMONY, "approve", {"ok": True}, host_key("mallory"))
    outsider.write(path, data)
    outsider.push()
    nodes["carol"].sync()
    with pytest.raises(UnknownPoster, match=host_pub("mallory").hex()[:16]):
        nodes["carol"].read_post(CEREMONY, "approve", host_pub("mallory"))


@pytest.mark.parametrize("tamper", ["value", "whitespace", "moved"])
def test_a_tampered_post_is_rejected(nodes, outsider: Outsider, tamper: str):
    path = nodes["alice"].post(CEREMONY, "round1", {"amount": 1000}, host_key("alice"))
    outsider.pull()
    original = (outsider.work / path).read_bytes()
    if tamper == "value":
        edited = json.loads(original)
        edited["body"]["amount"] = 1001
        outsider.write(path, canonical_json(edited).encode())
    elif tamper == "whitespace":
        outsider.write(path, json.dumps(json.loads(original), indent=1, sort_keys=True).encode())
    else:  # the same signed file copied into another phase
        outsider.write(post_path(CEREMONY, "round2", host_pub("alice").hex()), original)
    outsider.push()
    nodes["bob"].sync()
    [rejected] = nodes["bob"].read_ceremony(CEREMONY).rejected
    assert isinstance(rejected, BadSignature if tamper == "value" else MalformedPost)
    assert "alice" in str(rejected) and rejected.poster.startswith("alice")


def test_odd_files_in_a_ceremony_are_rejected_and_good_posts_still_read(nodes, outsider: Outsider):
    nodes["alice"].post(CEREMONY, "start", {"n": 1}, host_key("alice"))
    outsider.pull()
    base = f"ceremonies/01/{CEREMONY}"
    bob = host_pub("bob").hex()
    outsider.write(f"{base}/start/README", b"hello")
    outsider.write(f"{base}/Bad Phase/{bob}.json", b"{}")
    outsider.write(f"{base}/start/{bob}.json/inner", b"{}")  # a folder where a post belongs
    outsider.write(f"{base}/big/{bob}.json", b" " * (300 * 1024))
    outsider.push()
    nodes["carol"].sync()
    view = nodes["carol"].read_ceremony(CEREMONY)
    assert [p.poster_name for p in view.posts] == ["alice"]
    assert len(view.rejected) == 4 and all(isinstance(r, MalformedPost) for r in view.rejected)


def test_concurrent_pushes_from_three_nodes_converge_with_no_post_lost(nodes):
    per_node = 4
    errors: list[BaseException] = []
    start = threading.Barrier(len(NAMES))

    def run(name: str) -> None:
        try:
            start.wait()
            for i in range(per_node):
                nodes[name].post(CEREMONY, f"round{i}", {"from": name, "i": i}, host_key(name))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in NAMES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    heads = set()
    for board in nodes.values():
        board.sync()
        heads.add(board.head())
        view = board.read_ceremony(CEREMONY)
        assert view.rejected == ()
        assert sorted((p.body["from"], p.body["i"]) for p in view.posts) == \
            sorted((name, i) for name in NAMES for i in range(per_node))
    assert len(heads) == 1


def test_a_force_push_rewriting_seen_history_is_refused(nodes, outsider: Outsider):
    nodes["alice"].post(CEREMONY, "start", {"n": 1}, host_key("alice"))
    nodes["alice"].post(CEREMONY, "round1", {"n": 2}, host_key("alice"))
    nodes["bob"].sync()
    seen = nodes["bob"].head()
    outsider.pull()
    subprocess.run(["git", "reset", "--quiet", "--hard", "HEAD~1"], cwd=outsider.work, check=True)
    outsider.push(force=True)
    with pytest.raises(BoardRewound, match="rewritten") as caught:
        nodes["bob"].sync()
    assert caught.value.seen == seen and caught.value.hint
    # the node's view keeps what it saw, and stays refused on the next sync
    assert [p.phase for p in nodes["bob"].read_ceremony(CEREMONY).posts] == ["round1", "start"]
    with pytest.raises(BoardRewound):
        nodes["bob"].sync()


def test_a_deleted_board_branch_is_refused(nodes, outsider: Outsider, remote: Path):
    nodes["alice"].post(CEREMONY, "start", {"n": 1}, host_key("alice"))
    outsider.pull()
    # git refuses to delete a bare repository's current branch by push; its admin can
    subprocess.run(["git", "--git-dir", str(remote), "update-ref", "-d", "refs/heads/main"], check=True)
    with pytest.raises(BoardRewound, match="gone"):
        nodes["alice"].sync()


def test_an_unreachable_board_is_a_typed_error(tmp_path: Path):
    with Board(tmp_path / "node", tmp_path / "no-such-board.git", ROSTER) as board:
        with pytest.raises(BoardSyncError, match="cannot fetch"):
            board.sync()


def count_git_fetches(board: Board, monkeypatch) -> list[str]:
    """The git fetches ``board`` runs from now on (the list fills as it does)."""
    fetched: list[str] = []
    real_git = board._repo.git

    class CountingGit:
        def __getattr__(self, name: str):
            if name == "fetch":
                fetched.append(name)
            return getattr(real_git, name)

    monkeypatch.setattr(board._repo, "git", CountingGit())
    return fetched


@pytest.fixture
def url_nodes(tmp_path: Path, remote: Path):
    """Nodes reaching the board by a file:// URL: git treats it as any remote (no shared
    directory to lock, no refs to peek at), as over ssh or https."""
    boards = {name: Board(tmp_path / "url-nodes" / name, f"file://{remote}", ROSTER) for name in NAMES}
    yield boards
    for board in boards.values():
        board.close()


def test_a_push_lost_to_another_node_is_replayed_and_retried(url_nodes, monkeypatch):
    nodes = url_nodes
    nodes["bob"].post(CEREMONY, "start", {"n": 0}, host_key("bob"))
    nodes["alice"].post(CEREMONY, "round1", {"from": "alice"}, host_key("alice"), sync=False)
    nodes["carol"].post(CEREMONY, "round1", {"from": "carol"}, host_key("carol"), sync=False)
    alice = nodes["alice"]
    real_fetch = alice._fetch
    fetches = []

    def fetch_then_lose_the_race():
        head = real_fetch()
        if not fetches:  # carol pushes between alice's fetch and alice's push
            nodes["carol"].sync()
        fetches.append(head)
        return head

    monkeypatch.setattr(alice, "_fetch", fetch_then_lose_the_race)
    result = alice.sync()
    assert result.attempts == 2 and result.pushed == 1
    nodes["bob"].sync()
    assert sorted(p.poster_name for p in nodes["bob"].read_ceremony(CEREMONY).phase("round1")) == ["alice", "carol"]


def test_nodes_pushing_at_once_to_a_local_board_take_turns_and_lose_no_push(nodes, monkeypatch):
    nodes["bob"].post(CEREMONY, "start", {"n": 0}, host_key("bob"))
    nodes["alice"].post(CEREMONY, "round1", {"from": "alice"}, host_key("alice"), sync=False)
    nodes["carol"].post(CEREMONY, "round1", {"from": "carol"}, host_key("carol"), sync=False)
    alice, carol = nodes["alice"], nodes["carol"]
    real_push = alice._push
    results = {}
    racer = threading.Thread(target=lambda: results.setdefault("carol", carol.sync()))

    def push_while_carol_tries(head: str) -> bool:
        # alice holds the board's push lock: carol, syncing now, waits for her turn
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive()
        return real_push(head)

    monkeypatch.setattr(alice, "_push", push_while_carol_tries)
    results["alice"] = alice.sync()
    racer.join()
    assert results["alice"].attempts == 1 and results["carol"].attempts == 1
    assert results["alice"].pushed == results["carol"].pushed == 1
    nodes["bob"].sync()
    assert sorted(p.poster_name for p in nodes["bob"].read_ceremony(CEREMONY).phase("round1")) == ["alice", "carol"]


def test_a_local_board_is_followed_without_git_fetch_while_it_can_be(nodes, remote: Path, monkeypatch):
    alice, bob = nodes["alice"], nodes["bob"]
    alice.post(CEREMONY, "start", {"n": 0}, host_key("alice"))
    bob.sync()
    fetched = count_git_fetches(bob, monkeypatch)
    assert bob.sync().head == alice.head() and fetched == []  # unmoved: a ref file read
    alice.post(CEREMONY, "round1", {"n": 1}, host_key("alice"))
    alice.post(CEREMONY, "round2", {"n": 2}, host_key("alice"))
    # moved forward by loose objects: copied (hash-checked) from the board's files
    assert bob.sync().head == alice.head() and fetched == []
    assert [p.phase for p in bob.read_ceremony(CEREMONY).posts] == ["round1", "round2", "start"]
    subprocess.run(["git", "--git-dir", str(bob._git_dir), "fsck", "--strict", "--no-dangling"],
                   check=True, capture_output=True)
    # packed on the board (its admin ran gc): git fetch does it
    alice.post(CEREMONY, "round3", {"n": 3}, host_key("alice"))
    subprocess.run(["git", "--git-dir", str(remote), "gc", "--quiet", "--prune=now"], check=True)
    assert bob.sync().head == alice.head() and fetched == ["fetch"]
    assert [p.phase for p in bob.read_ceremony(CEREMONY).posts] == ["round1", "round2", "round3", "start"]


def test_a_roster_change_verifies_posts_read_before_again(nodes):
    nodes["alice"].post(CEREMONY, "start", {"n": 0}, host_key("alice"))
    bob = nodes["bob"]
    bob.sync()
    assert [p.poster_name for p in bob.read_ceremony(CEREMONY).posts] == ["alice"]
    bob.roster = {key: name for key, name in ROSTER.items() if name != "alice"}
    view = bob.read_ceremony(CEREMONY)
    assert view.posts == () and [type(r) for r in view.rejected] == [UnknownPoster]


def test_a_node_copy_packed_by_git_gc_still_syncs_reads_and_posts(nodes):
    alice, bob = nodes["alice"], nodes["bob"]
    alice.post(CEREMONY, "start", {"n": 0}, host_key("alice"))
    bob.sync()
    bob.read_ceremony(CEREMONY)
    subprocess.run(["git", "--git-dir", str(bob._git_dir), "gc", "--quiet", "--prune=now"], check=True)
    assert not [p for p in (bob._git_dir / "objects").glob("??/*")]  # nothing loose any more
    alice.post(CEREMONY, "round1", {"n": 1}, host_key("alice"))
    assert bob.sync().head == alice.head()  # copied against trees that are now packed
    assert [p.phase for p in bob.read_ceremony(CEREMONY).posts] == ["round1", "start"]
    bob.post(CEREMONY, "round2", {"n": 2}, host_key("bob"))
    alice.sync()
    assert [p.phase for p in alice.read_ceremony(CEREMONY).posts] == ["round1", "round2", "start"]


def test_loose_objects_piling_up_in_a_node_copy_start_git_gc(nodes, monkeypatch):
    from backends.board import board as board_module

    bob = nodes["bob"]
    calls = []

    class RecordingGit:
        def __call__(self, **options):
            calls.append(options)
            return self

        def gc(self, *args):
            calls.append(args)

    nodes["alice"].post(CEREMONY, "start", {"n": 0}, host_key("alice"))
    (bob._git_dir / "objects" / "17").mkdir(parents=True, exist_ok=True)
    bob.sync()
    monkeypatch.setattr(bob._repo, "git", RecordingGit())
    bob.sync()
    assert calls == []
    monkeypatch.setattr(board_module, "_GC_LOOSE_IN_17", -1)  # as if objects/17 were crowded
    bob.sync()
    assert calls == [{"c": "gc.autoDetach=false"}, ("--auto", "--quiet")]
    monkeypatch.undo()  # the real git again, for closing the node


def test_a_board_moved_by_an_odd_commit_is_fetched_by_git(nodes, outsider: Outsider, monkeypatch):
    # folders nested deeper than any post, or a merge: left to git fetch, read as before
    alice, bob = nodes["alice"], nodes["bob"]
    alice.post(CEREMONY, "start", {"n": 0}, host_key("alice"))
    bob.sync()
    fetched = count_git_fetches(bob, monkeypatch)
    outsider.pull()
    outsider.write("/".join(["deep"] * 40) + "/file", b"x", "deep folders")
    outsider.push()
    assert bob.sync().head == nodes["carol"].sync().head and fetched == ["fetch"]
    git(outsider.work, "checkout", "--quiet", "-b", "side", "HEAD~1")
    outsider.write("side.txt", b"y", "side")
    git(outsider.work, "checkout", "--quiet", "main")
    git(outsider.work, "merge", "--quiet", "--no-edit", "side")
    outsider.push()
    assert bob.sync().head == nodes["carol"].sync().head and fetched == ["fetch", "fetch"]
    assert [p.phase for p in bob.read_ceremony(CEREMONY).posts] == ["start"]
    monkeypatch.undo()
