"""Ceremony nodes: one keyholder's part in threshold-key ceremonies run over the git board.

A node is one participant: its state in ``<node dir>/node.sqlite3`` (SQLite, WAL, FULL
sync), its copy of the board in ``<node dir>/board.git`` (``backends.board``), and its
secrets (host secret, DKG randomness, shares, secret nonces) only in the keystore it is
given. Every decision is committed before the post that carries it leaves (an outbox);
every secret is written (fsync) before anything derived from it is posted.

API (what the CLI and the Ceremonies screen call; all raise ``CeremonyError`` subclasses)::

    node = Node.create(dir, "alice", keystore, board="/path/board.git", network="regtest")
    node = Node.open(dir, keystore)          # keystore unlocked for anything secret
    node.hostpubkey / node.name / node.online / node.roster() / node.add_peer(name, hostpubkey)

    cid = dkg.start(node, "treasury", ["alice", "bob", "carol"], t=2)     # joins at once
    dkg.join(node, cid)                      # the other keyholders, after comparing
    dkg.params_hash(node.ceremony(cid))      #   this hash out of band
    node.group(cid) -> GroupKey(thresh_pk, address, descriptor, output_script, t, n)

    cid = signing.request(node, dkg_cid, reason="...", message=b"..." | psbt="<base64>")
    signing.review(node, node.ceremony(cid).info) -> Review (lines(), to_dict())
    signing.approve(node, cid) / signing.decline(node, cid, reason)

    node.sync(chain=None, progress=callback) -> [NodeEvent]   # post, fetch, advance all
    node.ceremonies() -> [CeremonyRow(id, kind, state, info, note)]
    status.ceremony_status(node, row) -> CeremonyStatus (mine, board, mismatches,
                                                        waiting_on_me, waiting_on)
    transfer.export_ceremony(node, cid) -> bytes   # a file for an offline node / courier
    transfer.import_bundle(node, data) -> [NodeEvent]
    recovery.recover(node) -> [NodeEvent]          # after a lost or restored data dir

``node.sync`` is what a node process runs in a loop (``custody-tui ceremony sync``); the
keyholder's own steps (join, approve, decline) are separate calls. Modules: ``node``
(opening, outbox, sync, discovery, stale-copy check), ``dkg`` (ChillDKG rounds),
``signing`` (BIP-445 rounds, nonce rules, aggregation, PSBT broadcast), ``review`` (the
decoded request), ``status``, ``transfer`` (files), ``recovery``, ``messages`` (post
bodies), ``store`` (the database).
"""

from .errors import (CeremonyError, CeremonyFailed, MessageRefused, NodeNotInitialized, NonceRefused, StaleNode,
                     UnknownCeremony)
from .node import CRASH_ENV, GroupKey, Node, NodeEvent
from .review import Review
from .status import CeremonyStatus, ceremony_status
from .store import CeremonyRow

__all__ = [
    "CRASH_ENV", "CeremonyError", "CeremonyFailed", "CeremonyRow", "CeremonyStatus", "GroupKey", "MessageRefused",
    "Node", "NodeEvent", "NodeNotInitialized", "NonceRefused", "Review", "StaleNode", "UnknownCeremony",
    "ceremony_status",
]
