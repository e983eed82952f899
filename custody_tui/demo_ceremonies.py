"""The demo rig's ceremonies: three keyholders' nodes on a local bare board, a 2-of-3 key
they made together, its taproot address funded on the embedded chain, and a spend waiting
for their approval.

``prepare_nodes`` (after the chain part) creates the nodes alice, bob and carol in
``DATA_DIR/ceremony/NAME`` (the layout ``custody-tui ceremony --node NAME`` uses), each
with its own keystore under the demo passphrase and a host key from a published seed, the
board ``DATA_DIR/board.git``, and runs the DKG "treasury" to completion (its randomness
is fresh, so each rig has its own group key); then it mines one coinbase to the group's
address, which the quorum's funding blocks mature. ``prepare_request`` (after the quorum
part) has bob ask the group to pay 0.5 BTC to the demo hot wallet. From the Ceremonies
screen the operator approves as two nodes (``n`` switches) and syncs; the spend is
broadcast and the rig's auto-miner confirms it. Each step checks what is already there,
so a rig killed half-way is completed on the next run.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from .services import DEMO_PASSPHRASE, Services

if TYPE_CHECKING:
    from backends.ceremony import Node

NODE_NAMES = ("alice", "bob", "carol")
KEY_NAME = "treasury"
THRESHOLD = 2
REQUESTER = "bob"
SPEND_SAT = 50_000_000
SPEND_REASON = "refill the hot wallet"
FEE_RATE = 2.0
MAX_ROUNDS = 8


def host_secret(name: str) -> bytes:
    """A demo node's host secret, from a published seed: the same rosters on every machine."""
    return hashlib.sha256(f"custody-tui demo ceremony host: {name}".encode()).digest()


def demo_payee() -> str:
    from .demo import demo_address

    return demo_address("demo-treasury", 1)


def _open_nodes(services: Services) -> dict[str, Node]:
    from backends.board import init_board
    from backends.ceremony import Node

    from .commands.ceremony import node_keystore, nodes_dir

    board = services.data_dir / "board.git"
    if not board.exists():
        init_board(board)
    nodes = {}
    for name in NODE_NAMES:
        directory = nodes_dir(services) / name
        keystore = node_keystore(services, directory)
        if not keystore.exists():
            keystore.initialize(DEMO_PASSPHRASE)
        keystore.unlock(DEMO_PASSPHRASE, 600)
        if (directory / "node.sqlite3").exists():
            nodes[name] = Node.open(directory, keystore)
            continue
        with services.audited("ceremony", "node init", node=name, board=str(board), demo=True):
            nodes[name] = Node.create(directory, name, keystore, board=str(board), network=services.config.network,
                                      host_secret=host_secret(name))
    for node in nodes.values():
        known = node.roster()
        for other in nodes.values():
            if other.hostpubkey not in known:
                node.add_peer(other.name, other.hostpubkey)
    return nodes


def _close(nodes: dict[str, Node]) -> None:
    for node in nodes.values():
        node.close()
        node.keystore.lock()


def _sync(nodes: dict[str, Node], chain=None) -> None:
    for node in nodes.values():
        node.sync(chain=chain)


def _treasury(node: Node):
    return next((row for row in node.ceremonies() if row.kind == "dkg" and row.info.get("name") == KEY_NAME), None)


def _make_key(services: Services, nodes: dict[str, Node]) -> str:
    """The DKG "treasury" among the three, run (or resumed) to completion."""
    from backends.ceremony import CeremonyError, dkg

    alice = nodes["alice"]
    row = _treasury(alice)
    if row is None:
        with services.audited("ceremony", "dkg start", node="alice", name=KEY_NAME, participants=list(NODE_NAMES),
                              t=THRESHOLD, demo=True) as result:
            result["ceremony"] = cid = dkg.start(alice, KEY_NAME, list(NODE_NAMES), THRESHOLD)
    else:
        cid = row.id
    for _ in range(MAX_ROUNDS):
        _sync(nodes)
        for name, node in nodes.items():
            if node.store.ceremony(cid) is not None and node.ceremony(cid).state == "invited":
                with services.audited("ceremony", "dkg join", node=name, ceremony=cid, demo=True):
                    dkg.join(node, cid)
        if all(node.store.ceremony(cid) is not None and node.ceremony(cid).state == "complete"
               for node in nodes.values()):
            return cid
    raise CeremonyError(f"the demo DKG {cid[:12]} did not complete", hint="start the demo again with --fresh")


def prepare_nodes(services: Services) -> None:
    """The nodes, the key, and one coinbase on the key's address."""
    nodes = _open_nodes(services)
    try:
        cid = _make_key(services, nodes)
        group = nodes["alice"].group(cid)
    finally:
        _close(nodes)
    chain = services.chain
    if group.descriptor not in chain.watched():
        with services.audited("chain", "watch", descriptor=group.descriptor, label=f"ceremony {KEY_NAME}", demo=True):
            chain.watch(group.descriptor, label=f"ceremony {KEY_NAME}")
    if not chain.history(group.descriptor):
        with services.audited("ceremony", "fund", address=group.address, demo=True):
            chain.mine(1, group.address)


def prepare_request(services: Services) -> None:
    """Bob's request to pay the hot wallet from the group's (now mature) coin."""
    from backends.ceremony import spend

    nodes = _open_nodes(services)
    try:
        if any(row.kind == "sign" for row in nodes[REQUESTER].ceremonies()):
            _sync(nodes)  # a request posted by a rig killed before the others saw it
            return
        dkg_row = _treasury(nodes[REQUESTER])
        if dkg_row is None or dkg_row.state != "complete":
            return  # prepare_nodes did not finish; the next run completes it
        chain = services.chain
        group = nodes[REQUESTER].group(dkg_row.id)
        if not spend.group_coins(group, chain.utxos()):
            _mature(services, group)
        with services.audited("ceremony", "sign request", node=REQUESTER, dkg=dkg_row.id, to=demo_payee(),
                              amount_sat=SPEND_SAT, reason=SPEND_REASON, demo=True) as result:
            result["ceremony"] = spend.request_spend(nodes[REQUESTER], dkg_row.id, chain, pay_to=demo_payee(),
                                                     amount_sat=SPEND_SAT, fee_rate=FEE_RATE, reason=SPEND_REASON)
        _sync(nodes)
    finally:
        _close(nodes)


def _mature(services: Services, group) -> None:
    """Mine what the group's coinbase still needs (only on a rig whose quorum was funded
    before this part existed: otherwise the quorum's blocks matured it)."""
    from .demo import demo_address

    chain = services.chain
    coins = [u for u in chain.utxos(group.descriptor) if u.coinbase]
    if coins:
        with services.audited("chain", "mine", blocks=100 - coins[0].confirmations, demo=True):
            chain.mine(max(0, 100 - coins[0].confirmations), demo_address("demo-ops"))
