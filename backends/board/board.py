"""One node's handle on the bulletin board: post, sync, read.

The node keeps a bare git repository in its data dir (``board.git``) holding two refs:

- ``refs/board/remote/<branch>``: the remote's branch as last fetched;
- ``refs/heads/view``: what this node reads, the remote's head plus this node's posts
  not yet pushed, one commit each.

Sync fetches, checks the remote did not rewrite what this node has seen, replays the
node's unpushed posts onto the remote head (the "rebase": each post is a file added at its
own path, so replaying never merges content), and pushes without force. When several
nodes push at once, git refuses all but one; the others fetch and replay again. The last
head this node saw is written atomically to ``board-seen-head`` after every fetch and push.

On a board at a local path the hot path starts few processes: the branch is read from
its ref file (an unmoved board is not fetched), a forward move made of loose objects is
copied in process (``local_fetch``), and pushers take turns under an advisory lock. Objects
are read in process (``objects``) and a post verified at its place is not verified again.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from git import Actor, Repo
from git.exc import GitCommandError
from git.objects import Blob, Commit, Tree
from git.refs import Reference
from gitdb.exc import ODBError

from backends.errors import os_error_message
from backends.fsutil import atomic_write, ensure_private_dir

from . import layout, refs, trees
from .local_fetch import fetch_local
from .objects import BoardObjects
from .errors import (BoardError, BoardRewound, BoardSyncError, MalformedPost, PostConflict, PostRejected,
                     UnknownPoster)
from .post import MAX_POST_BYTES, Post, Roster, make_post, parse_post, poster_label

VIEW = "refs/heads/view"
SEEN_FILE = "board-seen-head"
#: the advisory lock nodes take in turn to push to a board on a local path
PUSH_LOCK = "custody-tui-push.lock"
#: pushes lost to other nodes before giving up (each retry refetches and replays)
MAX_ATTEMPTS = 25
#: bounds on one ceremony's trees (outside input: anyone with push access shapes them)
MAX_PHASES = 64
MAX_POSTERS_PER_PHASE = 256
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_IDENTITY = Actor("custody-tui board", "board@custody-tui.invalid")
# git's words for "someone else pushed first" (non-fast-forward, or a ref lock held by a
# concurrent receive on a local or ssh remote)
_RACE = ("non-fast-forward", "fetch first", "rejected", "cannot lock ref", "failed to update ref",
         "incorrect old value")
_MESSAGE_PREFIX = "board post "
#: git gc --auto's default threshold (gc.auto = 6700 loose objects) as seen in one fan-out directory
_GC_LOOSE_IN_17 = (6700 + 255) // 256
#: a remote whose head cannot be read without git
_UNKNOWN = object()
#: posts remembered as verified by one Board (about 100 bytes each)
_VERIFIED_KEPT = 100_000


@dataclass(frozen=True)
class CeremonyView:
    """A ceremony's verified posts, and the refusals of the files that failed a check
    (a bad file never hides the good posts beside it)."""

    ceremony: str
    posts: tuple[Post, ...]
    rejected: tuple[PostRejected, ...]

    def phase(self, phase: str) -> tuple[Post, ...]:
        return tuple(post for post in self.posts if post.phase == phase)


@dataclass(frozen=True)
class SyncResult:
    head: str | None
    pushed: int
    attempts: int


def init_board(path: Path | str, *, branch: str = "main") -> Path:
    """Create an empty bare repository to serve as a board (the default, local board)."""
    path = Path(path)
    try:
        repo = Repo.init(path, bare=True, mkdir=True)
        repo.git.symbolic_ref("HEAD", f"refs/heads/{branch}")
        repo.close()
    except (GitCommandError, OSError) as exc:
        raise BoardError(f"cannot create a board at {path}: {_git_reason(exc)}") from None
    return path


def _git_reason(exc: Exception) -> str:
    if isinstance(exc, GitCommandError):
        lines = [line.strip() for line in str(exc.stderr or "").splitlines() if line.strip()]
        return lines[-1].removeprefix("stderr: ").strip("'") if lines else f"git exited with {exc.status}"
    if isinstance(exc, OSError):
        return os_error_message(exc)
    return type(exc).__name__


class Board:
    """A node's view of the board at ``remote`` (a path or any git URL), trusting ``roster``."""

    def __init__(self, data_dir: Path | str, remote: str | Path, roster: Roster, *, branch: str = "main") -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", branch) or ".." in branch:
            raise BoardError(f"board branch name {branch!r} is not a plain branch name")
        self._dir = ensure_private_dir(Path(data_dir))
        self._remote = str(remote)
        self._branch = branch
        self._remote_ref = f"refs/board/remote/{branch}"
        self._roster: dict[bytes, str] = dict(roster)
        #: where each post verified so far was found: (blob id, mode, ceremony, phase, file
        #: name); a post is written once, so every later pass over a ceremony reads it again
        self._verified: set[tuple[bytes, int, str, str, str]] = set()
        #: the board's directory when the remote is a repository on a local path
        self._local: Path | None = None
        git_dir = self._git_dir = self._dir / "board.git"
        try:
            if not git_dir.exists():
                Repo.init(git_dir, bare=True, mkdir=True).close()
            self._repo = Repo(git_dir, odbt=BoardObjects)
        except Exception as exc:  # noqa: BLE001 - GitPython raises several unrelated types here
            raise BoardError(f"cannot open the node's board copy at {git_dir}: {_git_reason(exc)}") from None

    @property
    def roster(self) -> Mapping[bytes, str]:
        return MappingProxyType(self._roster)

    @roster.setter
    def roster(self, roster: Roster) -> None:
        self._roster = dict(roster)
        self._verified.clear()  # verified under the old roster: a poster may have left it

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        self._repo.close()

    def __enter__(self) -> Board:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # one writer per data dir: a second process of the same node waits its turn
        with open(self._dir / "board.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- refs -------------------------------------------------------------------------------

    def _ref(self, name: str) -> str | None:
        # read in this process (loose ref file or packed-refs); every ref here names a
        # commit (the remote's branch is outside input: anything else reads as no branch)
        try:
            sha = refs.read_ref(self._git_dir, name)
        except refs.Unreadable:
            try:
                return Reference(self._repo, name, check_path=False).commit.hexsha
            except (ValueError, OSError):
                return None
        if sha is None:
            return None
        try:
            return sha if self._repo.odb.info(bytes.fromhex(sha)).type == b"commit" else None
        except (ValueError, OSError, ODBError):  # not here, or not an object git can read
            return None

    def _set_ref(self, name: str, sha: str) -> None:
        if self._ref(name) != sha:
            Reference(self._repo, name, check_path=False).set_object(sha)

    def head(self) -> str | None:
        """The commit this node reads from (None before the first post or sync)."""
        return self._ref(VIEW)

    def seen_head(self) -> str | None:
        path = self._dir / SEEN_FILE
        try:
            text = path.read_text("ascii", errors="replace").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BoardError(os_error_message(exc)) from None
        if not _SHA.fullmatch(text):
            raise BoardError(f"{path} does not hold a commit id; restore it from a backup of this node")
        return text

    def _remember(self, sha: str) -> None:
        if self.seen_head() != sha:  # an unmoved board costs no fsync
            atomic_write(self._dir / SEEN_FILE, (sha + "\n").encode("ascii"))

    # -- posting ----------------------------------------------------------------------------

    def post(self, ceremony: str, phase: str, body: dict[str, Any], host_seckey: bytes, *,
             sync: bool = True) -> str:
        """Sign ``body`` with the host key, commit it to this node's view and (by default)
        sync. Returns the post's path. Posting the same post again changes nothing."""
        path, data = make_post(ceremony, phase, body, host_seckey)
        with self._locked():
            base = self._ref(VIEW)
            if self._commit_post(base, path, data) is None and not sync:
                return path
        if sync:
            self.sync()
        return path

    def put_signed(self, data: bytes, *, sync: bool = True) -> Post:
        """Add a post someone else signed (a courier carrying an offline node's post, or an
        offline node taking in the board's posts): verified against the roster first, then
        committed like one's own post. Returns the verified post."""
        post = self.verify_file(data)
        path = layout.post_path(post.ceremony, post.phase, post.poster.hex())
        with self._locked():
            self._commit_post(self._ref(VIEW), path, data)
        if sync:
            self.sync()
        return post

    def verify_file(self, data: bytes) -> Post:
        """The verified post in a post file found outside the board (bounded, canonical,
        signed by a roster key), or its :class:`PostRejected`."""
        if not isinstance(data, bytes) or len(data) > MAX_POST_BYTES:
            raise MalformedPost(f"a post file is at most {MAX_POST_BYTES} bytes", path="(file)")
        try:
            head = json.loads(data) if data[:1] == b"{" else None
        except (ValueError, RecursionError):
            head = None
        fields = head if isinstance(head, dict) else {}
        ceremony, phase, poster = (fields.get(k) for k in ("ceremony", "phase", "poster"))
        if not (layout.is_ceremony_id(ceremony) and layout.is_phase(phase) and layout.is_poster(poster)):
            raise MalformedPost("the file is not a board post (no valid ceremony, phase and poster)", path="(file)")
        return parse_post(data, ceremony=ceremony, phase=phase, poster_hex=poster, roster=self.roster)

    def _commit_post(self, base: str | None, path: str, data: bytes) -> str | None:
        """Commit a valid post (our own, or one verified by ``put_signed``) at ``path``.
        Whatever sits in its place and fails verification (a file planted by anyone with
        push access) is replaced: an invalid file never keeps a poster out. A valid post is
        never replaced (a different one is an equivocation, refused)."""
        base_commit = self._repo.commit(base) if base else None
        ceremony, phase = path.split("/")[2:4]

        def invalid(existing: Blob | Tree) -> bool:
            try:
                self._verify_entry(ceremony, phase, existing)
            except PostRejected:
                return True
            return False

        try:
            tree_sha = trees.put(self._repo, base_commit.tree if base_commit else None, path.split("/"),
                                 trees.store_blob(self._repo, data), whole=path, displace=invalid)
        except PostConflict:
            if base_commit is not None and self._same_post(base_commit.tree, path, data):
                return None  # the same post, signed again (BIP-340 signing is randomised)
            raise
        if tree_sha is None:
            return None  # the identical post is already there
        commit = Commit.create_from_tree(
            self._repo, Tree(self._repo, tree_sha), _MESSAGE_PREFIX + path,
            parent_commits=[base_commit] if base_commit else [], author=_IDENTITY, committer=_IDENTITY)
        self._set_ref(VIEW, commit.hexsha)
        return commit.hexsha

    def _same_post(self, tree: Tree, path: str, data: bytes) -> bool:
        # both are signed by the same poster; the one on the board must verify to count
        ceremony, phase, name = path.split("/")[2:5]
        existing = trees.get(tree, path.split("/"))
        if not isinstance(existing, Blob) or existing.size > MAX_POST_BYTES:
            return False
        try:
            on_board = self._verify_entry(ceremony, phase, existing)
        except PostRejected:
            return False
        return json.loads(data)["body"] == on_board.body

    # -- sync -------------------------------------------------------------------------------

    def sync(self) -> SyncResult:
        """Fetch, refuse a rewritten history, replay unpushed posts, push; retry when
        another node pushed first. On a board at a local path, nodes with posts to push
        take turns (see :meth:`_board_turn`), so they seldom lose a push at all."""
        with self._locked(), ExitStack() as turn:
            waited = False
            attempt = 1
            while True:
                remote = self._fetch()
                previous = self.seen_head()
                self._check_not_rewound(remote)
                if remote is not None:
                    self._remember(remote)
                pending = self._pending(remote, previous)
                head = remote
                for sha in pending:
                    path, data = self._post_of(sha)
                    parents = self._repo.commit(sha).parents
                    if parents and parents[0].hexsha == head:
                        head = sha  # already on top of the board: nothing to replay
                        continue
                    head = self._commit_post(head, path, data) or head
                if head is not None:
                    self._set_ref(VIEW, head)
                if head == remote:
                    self._maintain()
                    return SyncResult(head=head, pushed=0, attempts=attempt)
                if not waited:
                    waited = True
                    if turn.enter_context(self._board_turn()):
                        continue  # the board may have moved while this node waited: fetch and replay again
                if self._push(head):
                    self._remember(head)
                    self._set_ref(self._remote_ref, head)
                    self._maintain()
                    return SyncResult(head=head, pushed=len(pending), attempts=attempt)
                if attempt == MAX_ATTEMPTS:
                    raise BoardSyncError(f"the board at {self._remote} kept moving: gave up after {MAX_ATTEMPTS} "
                                         "attempts to push; sync again later")
                time.sleep(random.uniform(0.0, 0.02 * attempt))  # let the winner's push land
                attempt += 1

    def _maintain(self) -> None:
        """Let git pack the node's copy when loose objects pile up. ``git fetch`` used to
        run this after every fetch; posts and in-process fetches write loose objects
        without it. The test is git's own (``gc --auto``: more than 6700 loose objects,
        estimated from the 1/256 of them in ``objects/17``), made here without a process."""
        try:
            loose = len(os.listdir(self._git_dir / "objects" / "17"))
        except OSError:
            return
        if loose > _GC_LOOSE_IN_17:
            try:
                # in the foreground: a detached gc would outlive this process
                self._repo.git(c="gc.autoDetach=false").gc("--auto", "--quiet")
            except GitCommandError:
                pass  # maintenance only: the copy stays correct unpacked, and the next sync tries again

    @contextmanager
    def _board_turn(self) -> Iterator[bool]:
        """On a board at a local path, hold its push lock (``custody-tui-push.lock`` in the
        board's git dir, an advisory lock every node of this program takes) from fetching to
        pushing: fifteen nodes posting a round at once then push one after another instead
        of each losing, refetching and replaying up to fifteen times. Yields whether it is
        held; without it (a URL, or a board this user cannot lock) the retry above is the
        rule, and it stays the rule for anyone who pushes without the lock."""
        board = self._local_board()
        fd = None
        if board is not None:
            try:
                fd = os.open(board / PUSH_LOCK, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError:
                fd = None
        if fd is None:
            yield False
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by the kernel if this process dies
            yield True
        finally:
            os.close(fd)

    def _fetch(self) -> str | None:
        known = self._ref(self._remote_ref)
        if known == self.seen_head():
            board, tip = self._local_board(), self._local_tip()
            if tip == known:
                return known  # a board on a local path whose branch has not moved: nothing to fetch
            if board is not None and isinstance(tip, str) and fetch_local(board / "objects", self._repo.odb,
                                                                          known, tip):
                self._set_ref(self._remote_ref, tip)
                return tip
        try:
            self._repo.git.fetch("--quiet", "--no-tags", "--prune", self._remote,
                                 "+refs/heads/*:refs/board/remote/*")
        except GitCommandError as exc:
            raise BoardSyncError(f"cannot fetch the board from {self._remote}: {_git_reason(exc)}") from None
        return self._ref(self._remote_ref)

    def _local_tip(self) -> str | None | object:
        """The branch's head read straight from a board on a local path, as ``git fetch``
        would see it first (None: no such branch yet); ``_UNKNOWN`` when the remote is not
        such a board or the head is not plainly readable here (then a fetch finds out).
        Waiting for a round is then a file read per poll, not a git process."""
        board = self._local_board()
        if board is None:
            return _UNKNOWN
        try:
            return refs.read_ref(board, f"refs/heads/{self._branch}")
        except refs.Unreadable:
            return _UNKNOWN

    def _local_board(self) -> Path | None:
        if self._local is None:
            remote = self._remote
            if "://" in remote or ":" in remote.split("/", 1)[0]:
                return None  # a URL, or git's scp-like host:path
            path = Path(remote)
            for git_dir in (path, path / ".git"):
                if refs.is_files_backend(git_dir):  # a reftable board is left to git fetch
                    self._local = git_dir
                    break
        return self._local

    def _check_not_rewound(self, remote: str | None) -> None:
        seen = self.seen_head()
        if seen is None or seen == remote:
            return
        if remote is None:
            raise BoardRewound(f"the board's branch {self._branch!r} at {self._remote} is gone, "
                               f"but this node saw commit {seen[:12]} on it", seen=seen, now=None)
        if self._walk_back(remote, seen) is not None:
            return  # the usual case: the remote moved forward a few posts
        try:
            self._repo.git.merge_base("--is-ancestor", seen, remote)
        except GitCommandError:
            raise BoardRewound(f"the board at {self._remote} was rewritten: its head {remote[:12]} does not "
                               f"contain commit {seen[:12]} this node saw (a force-push)",
                               seen=seen, now=remote) from None

    def _pending(self, remote: str | None, previous: str | None = None) -> list[str]:
        view = self._ref(VIEW)
        if view is None or view == remote:
            return []  # nothing of ours waits (the common case: spares a git process per sync)
        # the view is the remote head of the last sync plus our unpushed posts on top
        stops = frozenset(sha for sha in (remote, previous) if sha)
        walked = self._walk_back(view, stops) if stops else None
        if walked is not None:
            return [commit.hexsha for commit in reversed(walked)]
        span = f"{remote}..{view}" if remote else view
        out = self._repo.git.rev_list("--reverse", "--first-parent", span)
        return out.split() if out else []

    def _walk_back(self, tip: str, stop: str | frozenset[str], limit: int = 256) -> list[Commit] | None:
        """The commits from ``tip`` back along first parents to ``stop`` (a commit, or the
        first of a set; excluded), newest first; None when it is not met within ``limit``. Read through the
        object database already open, so a sync that moved a few posts starts no git
        process for it (callers fall back to git for anything longer or stranger)."""
        stops = {stop} if isinstance(stop, str) else stop
        walked: list[Commit] = []
        commit = self._repo.commit(tip)
        while commit.hexsha not in stops:
            walked.append(commit)
            if len(walked) > limit or not commit.parents:
                return None
            commit = commit.parents[0]
        return walked

    def _post_of(self, sha: str) -> tuple[str, bytes]:
        commit = self._repo.commit(sha)
        path = str(commit.message).removeprefix(_MESSAGE_PREFIX).strip()
        blob = trees.get(commit.tree, path.split("/")) if str(commit.message).startswith(_MESSAGE_PREFIX) else None
        if not isinstance(blob, Blob):
            raise BoardError(f"the node's board copy has commit {sha[:12]} that is not one of its posts; "
                             "the local copy was altered")
        return path, blob.data_stream.read()

    def _push(self, head: str) -> bool:
        try:
            self._repo.git.push("--quiet", "--porcelain", self._remote, f"{head}:refs/heads/{self._branch}")
        except GitCommandError as exc:
            text = f"{exc.stdout or ''}\n{exc.stderr or ''}"
            if any(word in text for word in _RACE):
                return False
            raise BoardSyncError(f"cannot push to the board at {self._remote}: {_git_reason(exc)}") from None
        return True

    # -- reading ----------------------------------------------------------------------------

    def remote_head(self) -> str | None:
        """The remote's head as last fetched (None before the first sync)."""
        return self._ref(self._remote_ref)

    def history(self, since: str | None = None) -> list[tuple[str, str]]:
        """``(commit, post path)`` of every post commit on the remote's branch after
        ``since`` (an earlier remote head), oldest first: the board's order, the same for
        every node that syncs (the branch is only ever fast-forwarded). Commits that do not
        name a post (written by other tools) are skipped."""
        head = self.remote_head()
        if head is None or head == since:
            return []
        walked = self._walk_back(head, since, limit=1024) if since else None
        if walked is not None:
            lines = [(c.hexsha, str(c.message).split("\n", 1)[0]) for c in reversed(walked)]
        else:
            span = f"{since}..{head}" if since else head
            out = self._repo.git.log("--first-parent", "--reverse", "--format=%H %s", span)
            lines = [(sha, subject) for sha, _, subject in (line.partition(" ") for line in out.splitlines())]
        return [(sha, subject.removeprefix(_MESSAGE_PREFIX).strip()) for sha, subject in lines
                if subject.startswith(_MESSAGE_PREFIX)]

    def wrote(self, sha: str, path: str) -> bool:
        """Whether commit ``sha`` put new bytes at ``path`` (a commit only naming a path in
        its message, as anyone with push access can write, puts nothing there)."""
        commit = self._repo.commit(sha)
        now = trees.get(commit.tree, path.split("/"))
        before = trees.get(commit.parents[0].tree, path.split("/")) if commit.parents else None
        return now is not None and (before is None or before.binsha != now.binsha)

    def raw_post(self, ceremony: str, phase: str, poster: bytes) -> bytes | None:
        """The file bytes of a post, verified first (for carrying it to an offline node)."""
        if self.read_post(ceremony, phase, poster) is None:
            return None
        tree = self._ceremony_tree(ceremony)
        entry = trees.get(tree, [phase, poster.hex() + layout.SUFFIX]) if tree is not None else None
        return entry.data_stream.read() if isinstance(entry, Blob) else None

    def _ceremony_tree(self, ceremony: str) -> Tree | None:
        layout.check_ceremony_id(ceremony)
        head = self._ref(VIEW)
        if head is None:
            return None
        node = trees.get(self._repo.commit(head).tree, layout.ceremony_parts(ceremony))
        if node is not None and not isinstance(node, Tree):
            raise BoardError(f"ceremony {ceremony} on the board is a file, not a folder")
        return node

    def read_ceremony(self, ceremony: str) -> CeremonyView:
        """Every post of ``ceremony`` verified; reads that ceremony's trees only."""
        tree = self._ceremony_tree(ceremony)
        posts: list[Post] = []
        rejected: list[PostRejected] = []
        if tree is None:
            return CeremonyView(ceremony, (), ())
        phases = list(tree)
        if len(phases) > MAX_PHASES:
            raise BoardError(f"ceremony {ceremony} has {len(phases)} phases on the board; at most {MAX_PHASES} are read")
        for phase_tree in phases:
            where = f"{'/'.join(layout.ceremony_parts(ceremony))}/{phase_tree.name}"
            if not isinstance(phase_tree, Tree) or not layout.is_phase(phase_tree.name):
                rejected.append(MalformedPost(f"{where}: not a phase folder of the board layout", path=where))
                continue
            entries = list(phase_tree)
            if len(entries) > MAX_POSTERS_PER_PHASE:
                rejected.append(MalformedPost(f"{where}: {len(entries)} files; a phase holds at most "
                                              f"{MAX_POSTERS_PER_PHASE}", path=where))
                continue
            for entry in entries:
                try:
                    posts.append(self._verified_entry(ceremony, phase_tree.name, entry))
                except PostRejected as exc:
                    rejected.append(exc)
        return CeremonyView(ceremony, tuple(posts), tuple(rejected))

    def read_places(self, ceremony: str, places: list[tuple[str, bytes]]) -> CeremonyView:
        """The posts at the given (phase, poster) places of ``ceremony``, verified as by
        :meth:`read_ceremony`; the ceremony's folder is looked up by its path in one step
        (what a node reads of each past ceremony it may not be part of)."""
        layout.check_ceremony_id(ceremony)
        head = self._ref(VIEW)
        tree = None
        if head is not None:
            try:
                sha, kind, _ = self._repo.git.get_object_header(f"{head}:{'/'.join(layout.ceremony_parts(ceremony))}")
            except ValueError:  # not on the board
                sha, kind = None, None
            if kind is not None and kind != b"tree":
                raise BoardError(f"ceremony {ceremony} on the board is a file, not a folder")
            tree = Tree(self._repo, bytes.fromhex(sha.decode()), trees.TREE_MODE, ceremony) if sha else None
        posts: list[Post] = []
        rejected: list[PostRejected] = []
        for phase, poster in places:
            layout.check_phase(phase)
            entry = trees.get(tree, [phase, poster.hex() + layout.SUFFIX]) if tree is not None else None
            if entry is None:
                continue
            try:
                posts.append(self._verify_entry(ceremony, phase, entry))
            except PostRejected as exc:
                rejected.append(exc)
        return CeremonyView(ceremony, tuple(posts), tuple(rejected))

    def read_post(self, ceremony: str, phase: str, poster: bytes) -> Post | None:
        """The verified post of ``poster`` in (ceremony, phase), None when there is none;
        a post that fails a check raises its :class:`PostRejected`."""
        layout.check_phase(phase)
        tree = self._ceremony_tree(ceremony)
        entry = trees.get(tree, [phase, poster.hex() + layout.SUFFIX]) if tree is not None else None
        return None if entry is None else self._verified_entry(ceremony, phase, entry)

    def _verified_entry(self, ceremony: str, phase: str, entry: Blob | Tree) -> Post:
        # every check of a post is a function of its bytes (named by the blob id), its place
        # and the roster: a post verified once at this place is only decoded again
        key = (entry.binsha, entry.mode, ceremony, phase, entry.name)
        if key in self._verified:
            poster = bytes.fromhex(entry.name.removesuffix(layout.SUFFIX))
            return Post(ceremony=ceremony, phase=phase, poster=poster, poster_name=self._roster[poster],
                        body=json.loads(entry.data_stream.read())["body"])
        post = self._verify_entry(ceremony, phase, entry)
        if len(self._verified) >= _VERIFIED_KEPT:
            self._verified.clear()
        self._verified.add(key)
        return post

    def _verify_entry(self, ceremony: str, phase: str, entry: Blob | Tree) -> Post:
        name = entry.name
        poster_hex = name.removesuffix(layout.SUFFIX)
        where = f"{'/'.join(layout.ceremony_parts(ceremony))}/{phase}/{name}"
        label = poster_label(poster_hex, self.roster)
        if not name.endswith(layout.SUFFIX) or not layout.is_poster(poster_hex):
            raise MalformedPost(f"{where}: not a post file name (<64-hex host key>.json)", path=where, poster=label)
        if not isinstance(entry, Blob) or entry.mode != trees.BLOB_MODE:
            raise MalformedPost(f"{where}: post by {label} is not a plain file", path=where, poster=label)
        if bytes.fromhex(poster_hex) not in self.roster:  # before reading a stranger's bytes
            raise UnknownPoster(f"post by unknown poster {label} in ceremony {ceremony} phase {phase}: "
                                "the key is not on this node's roster", path=where, poster=label)
        if entry.size > MAX_POST_BYTES:
            raise MalformedPost(f"post by {label} in ceremony {ceremony} phase {phase} is {entry.size} bytes; "
                                f"a post is at most {MAX_POST_BYTES}", path=where, poster=label)
        return parse_post(entry.data_stream.read(), ceremony=ceremony, phase=phase, poster_hex=poster_hex,
                          roster=self.roster)
