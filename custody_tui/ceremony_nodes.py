"""The ceremony nodes this data dir hosts (``DATA_DIR/ceremony/NAME``), opened once for
the app: usually one (the keyholder's), three on the demo rig, where one app acts as each.

A node is used by one thread at a time (its git copy of the board and its outbox are not
for concurrent writers): every call here holds that node's lock. Each node has its own
keystore; the app unlocks it with the keyholder's passphrase (the demo rig's published
one on the demo) and, while it is unlocked, keeps the node in step with the board.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from backends.errors import CustodyError

if TYPE_CHECKING:
    from backends.ceremony import Node, NodeEvent

    from .services import Services


class NoCeremonyNode(CustodyError):
    """This data dir hosts no ceremony node (or not the one asked for)."""


class CeremonyNodes:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._nodes: dict[str, Node] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @property
    def root(self):
        return self.services.data_dir / "ceremony"

    def names(self) -> list[str]:
        root = self.root
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if (p / "node.sqlite3").exists())

    @contextmanager
    def using(self, name: str) -> Iterator[Node]:
        """The node ``name``, held by this thread until the block ends."""
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            yield self._open(name)

    def _open(self, name: str) -> Node:
        node = self._nodes.get(name)
        if node is None:
            if name not in self.names():
                raise NoCeremonyNode(f"no ceremony node {name!r} in {self.root}",
                                     hint="create one with `custody-tui ceremony node init`")
            from backends.ceremony import Node

            from .commands.ceremony import node_keystore

            node = Node.open(self.root / name, node_keystore(self.services, self.root / name))
            self._nodes[name] = node
        return node

    def unlocked(self, name: str) -> bool:
        with self.using(name) as node:
            return node.keystore.is_unlocked

    def unlock(self, name: str, passphrase: str) -> None:
        with self.using(name) as node, self.services.audited("ceremony", "unlock", node=name, via="tui"):
            node.keystore.unlock(passphrase, self.services.config.keystore.unlock_ttl_seconds)

    def unlock_demo(self) -> None:
        """On the demo rig, every node's keystore opens with the published passphrase."""
        if not self.services.config.demo:
            return
        from .services import DEMO_PASSPHRASE

        for name in self.names():
            if not self.unlocked(name):
                self.unlock(name, DEMO_PASSPHRASE)

    def act(self, node_name: str, action: str, call: Callable[[Node], Any], /, **details: Any) -> Any:
        """A keyholder's action on node ``node_name`` (audited, the node held meanwhile)."""
        with self.using(node_name) as node, self.services.audited("ceremony", action, node=node_name, via="tui",
                                                                  **details) as result:
            out = call(node)
            if isinstance(out, str):
                result["ceremony"] = out
            return out

    def sync(self, names: list[str] | None = None, *, rounds: int = 1, asked: bool = True) -> list[NodeEvent]:
        """Post, fetch and advance each unlocked node (all of them by default), ``rounds``
        times, so that nodes hosted together see each other's posts. A sync the operator
        ``asked`` for is audited; the app's own periodic one only when it did something."""
        chain = self.services.chain if self.services.chain_configured else None
        events: list[NodeEvent] = []
        for _ in range(rounds):
            for name in names or self.names():
                with self.using(name) as node:
                    if not node.keystore.is_unlocked:
                        continue
                    if asked:
                        with self.services.audited("ceremony", "sync", node=name, via="tui") as result:
                            found = node.sync(chain=chain)
                            result["events"] = len(found)
                    else:
                        found = node.sync(chain=chain)
                        if found:
                            with self.services.audited("ceremony", "sync", node=name, via="tui", background=True,
                                                       events=len(found)):
                                pass
                    events += found
        return events

    def close(self) -> None:
        with self._guard:
            for name, node in self._nodes.items():
                with self._locks[name]:
                    node.close()
                    node.keystore.lock()
            self._nodes.clear()
