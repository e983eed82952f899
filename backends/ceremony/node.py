"""One participant's node: its data dir, its keystore, its view of the board, and the
actions a keyholder takes. The protocol steps live in ``dkg`` and ``signing``; this module
holds what they share: opening, posting through the outbox, syncing and discovery.

Crash safety: every decision is committed to the node's database (SQLite, FULL sync) and
every secret to the keystore (atomic write, fsync) *before* the post that reveals it is
made; posts are made from the outbox, so a restart re-posts what had not left.
"""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backends.board import Board, CeremonyView, Post, PostRejected, new_ceremony_id
from backends.board import layout as board_layout
from backends.errors import CustodyError
from backends.fsutil import ensure_private_dir
from backends.keystore import EntryExists, EntryNotFound, Keystore
from backends.mpc import chilldkg, taproot
from backends.mpc.bip340 import pubkey_gen

from . import messages
from .errors import CeremonyError, NodeNotInitialized, StaleNode, UnknownCeremony
from .store import CeremonyRow, NodeStore

if TYPE_CHECKING:
    from backends.chain import Chain

#: the fault-injection switch of the crash tests: a node process kills itself (SIGKILL)
#: when it reaches the persistence point named here
CRASH_ENV = "CUSTODY_TUI_CEREMONY_CRASH_AT"
HOST_LABEL = "ceremony-host"
NETWORKS = ("main", "test", "signet", "regtest")


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class NodeEvent:
    """One line of a node's progress: ``kind`` is posted, state, refused, result or info."""

    ceremony: str
    kind: str
    text: str


@dataclass(frozen=True)
class GroupKey:
    """The outcome of a DKG that everyone can see: the threshold key and its address."""

    ceremony: str
    name: str
    t: int
    n: int
    thresh_pk: bytes
    network: str

    @property
    def address(self) -> str:
        return taproot.address(self.thresh_pk, self.network)

    @property
    def output_key(self) -> bytes:
        return bytes(taproot.output_key(self.thresh_pk))

    @property
    def output_script(self) -> bytes:
        return taproot.output_script(self.thresh_pk)

    @property
    def descriptor(self) -> str:
        return taproot.descriptor(self.thresh_pk)


Progress = Callable[[NodeEvent], None]


class Node:
    """A ceremony node in ``data_dir`` (``node.sqlite3``, ``board.git``) whose secrets are
    in ``keystore`` (unlocked by the caller for actions that touch a secret)."""

    def __init__(self, data_dir: Path, keystore: Keystore, store: NodeStore) -> None:
        self.data_dir = data_dir
        self.keystore = keystore
        self.store = store
        self._board: Board | None = None
        self._events: list[NodeEvent] = []
        self._progress: Progress | None = None
        #: the board head of the last full pass over the ceremonies (None: do one)
        self._advanced_at: str | None = None

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def create(cls, data_dir: Path | str, name: str, keystore: Keystore, *, board: str | None,
               network: str = "regtest", host_secret: bytes | None = None) -> Node:
        """A new node: its host key in the keystore (generated, or restored from
        ``host_secret``), its name and board remote (None: an offline node that moves
        messages by file)."""
        data_dir = ensure_private_dir(Path(data_dir))
        if (data_dir / "node.sqlite3").exists():
            raise CeremonyError(f"{data_dir} already holds a ceremony node")
        if network not in NETWORKS:
            raise CeremonyError(f"unknown network {network!r}; use one of {', '.join(NETWORKS)}")
        _check_name(name)
        secret = host_secret if host_secret is not None else secrets.token_bytes(32)
        hostpubkey = chilldkg.hostpubkey_gen(secret)
        from backends.keystore import EntryKind

        try:
            keystore.add_secret(HOST_LABEL, EntryKind.MPC_HOST, secret, public={"hostpubkey": hostpubkey.hex()})
        except EntryExists:
            if keystore.get_secret(HOST_LABEL) != secret and host_secret is not None:
                raise CeremonyError("the keystore already holds another ceremony host key") from None
            secret = keystore.get_secret(HOST_LABEL)
            hostpubkey = chilldkg.hostpubkey_gen(secret)
        store = NodeStore(data_dir / "node.sqlite3")
        with store.transaction() as db:
            store.set("name", name, db)
            store.set("hostpubkey", hostpubkey.hex(), db)
            store.set("board", board or "", db)
            store.set("network", network, db)
        store.add_to_roster(hostpubkey, name)
        return cls(data_dir, keystore, store)

    @classmethod
    def open(cls, data_dir: Path | str, keystore: Keystore) -> Node:
        data_dir = Path(data_dir)
        if not (data_dir / "node.sqlite3").exists():
            raise NodeNotInitialized(f"no ceremony node in {data_dir}",
                                     hint="create one with `custody-tui ceremony node init`")
        return cls(data_dir, keystore, NodeStore(data_dir / "node.sqlite3"))

    def close(self) -> None:
        if self._board is not None:
            self._board.close()
            self._board = None
        self.store.close()

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- who I am ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.store.get("name") or ""

    @property
    def hostpubkey(self) -> bytes:
        """The 33-byte host public key others list in a DKG start."""
        return bytes.fromhex(self.store.get("hostpubkey") or "")

    @property
    def poster_key(self) -> bytes:
        """The 32-byte x-only key the node's board posts are signed with."""
        return self.hostpubkey[1:]

    @property
    def network(self) -> str:
        return self.store.get("network") or "regtest"

    @property
    def online(self) -> bool:
        return bool(self.store.get("board"))

    def host_secret(self) -> bytes:
        secret = self.keystore.get_secret(HOST_LABEL)
        if pubkey_gen(secret) != self.poster_key:
            raise CeremonyError("the keystore's ceremony host key is not this node's")
        return secret

    # -- roster and board ------------------------------------------------------------------

    def roster(self) -> dict[bytes, str]:
        return self.store.roster()

    def add_peer(self, name: str, hostpubkey: bytes) -> None:
        """Trust ``hostpubkey`` (33 bytes, compressed) as ``name``'s host key."""
        _check_name(name)
        try:
            chilldkg.params_validate(chilldkg.SessionParams((bytes(hostpubkey),), 1))
        except Exception:  # noqa: BLE001 - any refusal means the same to the operator
            raise CeremonyError("a host public key is 33 bytes (66 hex digits), a point on secp256k1") from None
        self.store.add_to_roster(bytes(hostpubkey), name)
        self._advanced_at = None
        if self._board is not None:
            self._board.roster = self._board_roster()

    def name_of(self, hostpubkey_or_xonly: bytes) -> str:
        key = bytes(hostpubkey_or_xonly)
        for pubkey, name in self.roster().items():
            if key in (pubkey, pubkey[1:]):
                return name
        return key.hex()[:16] + "…"

    def _board_roster(self) -> dict[bytes, str]:
        return {pubkey[1:]: name for pubkey, name in self.roster().items()}

    @property
    def board(self) -> Board:
        if self._board is None:
            self._board = Board(self.data_dir, self.store.get("board") or "", self._board_roster())
        return self._board

    # -- events ------------------------------------------------------------------------------

    def emit(self, ceremony: str, kind: str, text: str) -> None:
        event = NodeEvent(ceremony, kind, text)
        self._events.append(event)
        if self._progress is not None:
            self._progress(event)

    def _take_events(self) -> list[NodeEvent]:
        events, self._events = self._events, []
        return events

    # -- posting -----------------------------------------------------------------------------

    def flush(self, *, push: bool = True) -> None:
        """Post every queued body that has not reached the board (or, offline, the node's
        own view, from where it is exported by file). Without ``push`` the posts are only
        committed to the node's copy; the next board sync carries them."""
        pending = self.store.unposted()
        if not pending:
            return
        secret = self.host_secret()
        for cid, phase, body in pending:
            self.board.post(cid, phase, body, secret, sync=False)
            crash_point(f"{phase}-committed")  # in the node's copy of the board, not pushed yet
        if self.online and not push:
            return
        if self.online:
            self.board.sync()
        self._mark_posted(pending)

    def _mark_posted(self, pending: list[tuple[str, str, dict]]) -> None:
        for cid, phase, _ in pending:
            self.store.mark_posted(cid, phase)
            self.emit(cid, "posted", f"posted {phase}" + ("" if self.online else " (to export)"))
            crash_point(f"{phase}-posted")

    # -- ceremonies --------------------------------------------------------------------------

    def ceremony(self, cid: str) -> CeremonyRow:
        row = self.store.ceremony(cid)
        if row is None:
            raise UnknownCeremony(f"this node knows no ceremony {cid}",
                                  hint="sync first; `ceremony list` shows the ones it knows")
        return row

    def find(self, prefix: str) -> CeremonyRow:
        """A ceremony by its id or a unique prefix of it (at least 6 hex digits)."""
        if board_layout.is_ceremony_id(prefix):
            return self.ceremony(prefix)
        matches = [row for row in self.store.ceremonies() if len(prefix) >= 6 and row.id.startswith(prefix)]
        if len(matches) != 1:
            raise UnknownCeremony(f"no single ceremony starts with {prefix!r}" if matches or len(prefix) >= 6
                                  else "give at least 6 hex digits of a ceremony id")
        return matches[0]

    def ceremonies(self) -> list[CeremonyRow]:
        return self.store.ceremonies()

    def group(self, dkg_cid: str) -> GroupKey:
        row = self.ceremony(dkg_cid)
        if row.kind != "dkg" or "thresh_pk" not in row.info:
            raise CeremonyError(f"ceremony {dkg_cid[:12]} has no group key yet (state {row.state})")
        return GroupKey(dkg_cid, row.info["name"], row.info["t"], len(row.info["hostpubkeys"]),
                        bytes.fromhex(row.info["thresh_pk"]), row.info["network"])

    def groups(self) -> list[GroupKey]:
        return [self.group(row.id) for row in self.ceremonies() if row.kind == "dkg" and "thresh_pk" in row.info]

    def new_ceremony_id(self) -> str:
        return new_ceremony_id()

    # -- sync ----------------------------------------------------------------------------------

    def sync(self, *, chain: Chain | None = None, progress: Progress | None = None) -> list[NodeEvent]:
        """Post what is queued, fetch the board, index its new posts in board order, find
        new ceremonies, and advance every ceremony as far as it can go without the
        keyholder (joining and approving are the keyholder's). Returns what happened."""
        from . import dkg, signing

        self._progress = progress
        try:
            pending = self.store.unposted()
            self.flush(push=False)
            if self.online:
                self.board.sync()
                self._mark_posted(pending)
                self._index()
            head = self.board.head()
            if chain is None and head is not None and head == self._advanced_at:
                return self._take_events()  # nothing new on the board since the last pass
            self._discover()
            for row in self.store.ceremonies():
                if row.state in FINAL_STATES:
                    continue
                view = self.board.read_ceremony(row.id)
                self._report_rejected(view)
                self._reclaim(row.id, view)
                self.check_own_posts(row.id, view)
                try:
                    if row.kind == "dkg":
                        dkg.advance(self, row, view)
                    else:
                        signing.advance(self, row, view, chain=chain)
                except StaleNode:
                    raise
                except CustodyError as exc:  # one ceremony's refusal never stalls the others
                    self.emit(row.id, "refused", str(exc))
            self.flush()
            self._advanced_at = head if not self.store.unposted() and head == self.board.head() else None
            return self._take_events()
        finally:
            self._progress = None

    def _index(self) -> None:
        entries, commits = [], []
        for sha, path in self.board.history(self.store.get("index_head")):
            parts = path.split("/")
            if len(parts) == 5 and parts[0] == board_layout.ROOT and board_layout.is_ceremony_id(parts[2]) \
                    and board_layout.is_phase(parts[3]) and parts[4].endswith(board_layout.SUFFIX):
                entries.append((parts[2], parts[3], parts[4].removesuffix(board_layout.SUFFIX)))
                commits.append((sha, path))
        head = self.board.remote_head()
        if entries or head != self.store.get("index_head"):
            # asked only for a place named twice (rare: a planted file, then the real post)
            self.store.record_order(entries, head, rewritten=lambda i: self.board.wrote(*commits[i]))

    def _report_rejected(self, view: CeremonyView) -> None:
        for refusal in view.rejected:
            self.emit(view.ceremony, "refused", str(refusal))

    def _reclaim(self, cid: str, view: CeremonyView) -> None:
        """A post of this node whose place on the board now holds a file that fails
        verification (someone with push access overwrote it) is posted again, as it was:
        the valid post takes its place back (the same body; never a new one)."""
        mine = f"{self.poster_key.hex()}{board_layout.SUFFIX}"
        for refusal in view.rejected:
            parts = refusal.path.split("/")  # a file in my place, or where a phase folder belongs
            if len(parts) == 5 and parts[4] == mine or len(parts) == 4:
                phase = parts[3]
                if (self.store.my_posts(cid).get(phase) or {}).get("_posted"):
                    self.store.mark_posted(cid, phase, posted=False)
                    self.emit(cid, "info", f"posting {phase} again: its place on the board holds a file that "
                              "fails verification")

    def _discover(self) -> None:
        # an online node's index knows every post's place, so a new node's first sync over a
        # long history reads one start (or request) per past ceremony, not every post of it
        seen = []
        try:
            for cid, placed in self.store.unseen_ceremonies().items():
                self.discover(cid, placed if self.online else None, mark_seen=False)
                seen.append(cid)
        finally:  # looking again at a ceremony is harmless: one that is known is skipped
            self.store.mark_seen(*seen)

    def discover(self, cid: str, placed: dict[str, list[str]] | None = None, *, mark_seen: bool = True) -> None:
        """Look at ceremony ``cid`` in this node's copy of the board once: a start or a
        request naming this node makes it a ceremony of this node; a post of its own there
        that its data dir does not know means the data dir is an older copy. With
        ``placed`` (phase -> posters, from the board index) only the posts that can say so
        are read; without it, the whole ceremony. (A sync discovers from board positions;
        an import of a file discovers its ceremony directly, positions or not.)"""
        from . import dkg, signing

        if self.store.ceremony(cid) is None:
            view = self.board.read_ceremony(cid) if placed is None else self._read_places(cid, placed)
            self._report_rejected(view)
            if any(post.poster == self.poster_key for post in view.posts):
                raise StaleNode(
                    f"the board holds posts by this node ({self.name}) in ceremony {cid[:12]} that its data "
                    "dir does not know: the data dir is an older copy",
                    hint="run `custody-tui ceremony recover` before this node signs again")
            for post in view.phase("start"):
                dkg.discover(self, cid, post)
            for post in view.phase("request"):
                signing.discover(self, cid, post)
        if mark_seen:
            self.store.mark_seen(cid)

    def _read_places(self, cid: str, placed: dict[str, list[str]]) -> CeremonyView:
        me = self.poster_key.hex()
        wanted = [(phase, bytes.fromhex(poster)) for phase, posters in placed.items() for poster in posters
                  if phase in ("start", "request") or poster == me]
        return self.board.read_places(cid, wanted)

    def index(self) -> None:
        """Record the board positions of the posts this node's copy has fetched (local:
        no network), as a sync does."""
        if self.online:
            self._index()

    def check_own_posts(self, cid: str, view: CeremonyView) -> None:
        """Every post of mine on the board must be one this data dir decided, with its
        counter: otherwise this data dir is older than the node that posted it."""
        mine = self.store.my_posts(cid)
        for post in view.posts:
            if post.poster != self.poster_key:
                continue
            queued = mine.get(post.phase)
            counter = post.body.get("counter")
            if queued is None or queued.get("counter") != counter or \
                    (type(counter) is int and counter > self.store.counter()):
                raise StaleNode(
                    f"the board holds this node's {post.phase} post in ceremony {cid[:12]} (counter {counter}) "
                    f"that its data dir does not have (its counter is {self.store.counter()}): this data dir is "
                    "an older copy of the node", hint="run `custody-tui ceremony recover` before this node "
                    "signs again; it destroys every nonce the old copy holds")

    # -- shared helpers for the protocol modules ---------------------------------------------------

    def posts_by_participant(self, view: CeremonyView, phase: str, hostpubkeys: list[bytes]) -> dict[int, Post]:
        index = {pubkey[1:]: i for i, pubkey in enumerate(hostpubkeys)}
        return {index[post.poster]: post for post in view.phase(phase) if post.poster in index}

    def secret(self, label: str) -> bytes | None:
        try:
            return self.keystore.get_secret(label)
        except EntryNotFound:
            return None

    def forget(self, label: str) -> None:
        try:
            self.keystore.delete(label)
        except EntryNotFound:
            pass

    def participant_label(self, hostpubkeys: list[bytes], index: int | None) -> str:
        if index is None or not 0 <= index < len(hostpubkeys):
            return "the coordinator"
        return f"{self.name_of(hostpubkeys[index])} (participant {index})"


#: states in which nothing more happens
FINAL_STATES = frozenset({"complete", "failed", "declined", "aborted", "refused"})


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not 0 < len(name) <= messages.MAX_NAME_CHARS \
            or not name.replace("-", "").replace("_", "").isalnum() or not name.isascii():
        raise CeremonyError(f"a node name is 1-{messages.MAX_NAME_CHARS} letters, digits, '-' or '_'")
