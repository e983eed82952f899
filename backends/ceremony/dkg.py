"""The DKG ceremony on a node: ChillDKG rounds carried by the board.

States: ``invited`` (a start names this node; the keyholder has not joined) -> ``round1``
(pmsg1 queued) -> ``round2`` (CertEq signature queued) -> ``finalized`` (certificate
checked, share in the keystore, recovery data and group key stored, acknowledgment
queued) -> ``complete`` (every participant acknowledged the recovery data). ``failed``
names the culprit when the protocol says who.

The untrusted coordinator's work is deterministic, so every node computes it itself from
the participants' posts; whichever node first sees a round complete also posts its result
(``coord1``, ``coord2``) for offline nodes, and a posted result that differs from a node's
own computation is reported naming its poster. The DKG randomness is the only secret a
round needs: it is written to the keystore before pmsg1 is queued, and every later round
is recomputed from it and the board, so a restart anywhere resumes.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from backends.board import Post
from backends.keystore import EntryExists, EntryKind
from backends.mpc import chilldkg
from backends.mpc.errors import (FaultyParticipantError, FaultyParticipantOrCoordinatorError, MpcError,
                                 UnknownFaultyParticipantOrCoordinatorError)

from . import messages
from .errors import CeremonyError, CeremonyFailed, MessageRefused
from .node import crash_point

if TYPE_CHECKING:
    from backends.board import CeremonyView

    from .node import Node
    from .store import CeremonyRow


def random_label(cid: str) -> str:
    return f"dkg-{cid}"


def share_label(cid: str) -> str:
    return f"share-{cid}"


def params_of(row: CeremonyRow) -> chilldkg.SessionParams:
    return chilldkg.SessionParams(tuple(bytes.fromhex(h) for h in row.info["hostpubkeys"]), row.info["t"])


def start(node: Node, name: str, participants: list[str], t: int) -> str:
    """Start a DKG among ``participants`` (roster names, in the order that assigns
    participant ids; this node among them) with threshold ``t``; joins it at once."""
    by_name = {n: key for key, n in node.roster().items()}
    missing = [p for p in participants if p not in by_name]
    if missing:
        raise CeremonyError(f"not on this node's roster: {', '.join(missing)}",
                            hint="add each keyholder's host key with `ceremony roster add NAME HOSTKEY`")
    hostpubkeys = [by_name[p] for p in participants]
    if node.hostpubkey not in hostpubkeys:
        raise CeremonyError("this node is not among the participants")
    try:
        chilldkg.params_hash(chilldkg.SessionParams(tuple(hostpubkeys), t))
    except MpcError as exc:
        raise CeremonyError(f"these participants and threshold cannot make a key: {exc}") from None
    if len(hostpubkeys) > messages.MAX_PARTICIPANTS:
        raise CeremonyError(f"at most {messages.MAX_PARTICIPANTS} participants")
    body = {"kind": "dkg", "name": name, "t": t, "hostpubkeys": [h.hex() for h in hostpubkeys],
            "network": node.network}
    messages.dkg_start({**body, "counter": 1}, "the new DKG")  # what we post must pass our own checks
    cid = node.new_ceremony_id()
    info = {**body, "initiator": node.name, "my_id": hostpubkeys.index(node.hostpubkey)}
    with node.store.transaction() as db:
        node.store.put_ceremony(cid, "dkg", "invited", info, db=db)
        node.store.queue_post(db, cid, "start", body)
    crash_point("start-queued")
    join(node, cid)
    return cid


def discover(node: Node, cid: str, post: Post) -> None:
    try:
        name, t, hostpubkeys, network = messages.dkg_start(post.body, f"DKG start by {post.poster_name}")
    except MessageRefused as exc:
        node.emit(cid, "refused", str(exc))
        return
    if node.hostpubkey not in hostpubkeys:
        return
    info = {"kind": "dkg", "name": name, "t": t, "hostpubkeys": [h.hex() for h in hostpubkeys],
            "network": network, "initiator": post.poster_name, "my_id": hostpubkeys.index(node.hostpubkey)}
    node.store.put_ceremony(cid, "dkg", "invited", info)
    node.emit(cid, "state", f"invited by {post.poster_name} to DKG {name!r} ({t}-of-{len(hostpubkeys)})")


def params_hash(row: CeremonyRow) -> str:
    """What keyholders compare out of band before joining (ChillDKG's params_hash)."""
    return chilldkg.params_hash(params_of(row)).hex()


def join(node: Node, cid: str) -> None:
    """The keyholder agrees to the DKG: every participant must be on the roster (their
    posts are read by host key), then the round-1 randomness is stored and pmsg1 queued."""
    row = node.ceremony(cid)
    if row.kind != "dkg":
        raise CeremonyError(f"ceremony {cid[:12]} is not a DKG")
    if row.state != "invited":
        return
    params = params_of(row)
    roster = node.roster()
    strangers = [h.hex()[:16] for h in params.hostpubkeys if h not in roster]
    if strangers:
        raise CeremonyError(f"participants not on this node's roster: {', '.join(strangers)}",
                            hint="add their host keys with `ceremony roster add` after checking them with them")
    host = node.host_secret()
    random = node.secret(random_label(cid))
    if random is None:
        random = secrets.token_bytes(32)
        node.keystore.add_secret(random_label(cid), EntryKind.MPC_SESSION, random, public={"ceremony": cid})
        crash_point("dkg-random-stored")
    _, pmsg1 = chilldkg.participant_step1(host, params, random)
    with node.store.transaction() as db:
        node.store.queue_post(db, cid, "round1", {"pmsg1": pmsg1.hex()})
        node.store.set_state(cid, "round1", db=db)
    crash_point("round1-queued")
    node.emit(cid, "state", "joined the DKG: round 1 queued")
    node.flush()


def advance(node: Node, row: CeremonyRow, view: CeremonyView) -> None:
    if row.state == "invited":
        return
    params = params_of(row)
    hostpubkeys = list(params.hostpubkeys)
    n = len(hostpubkeys)
    try:
        if row.state in ("round1", "round2"):
            round1 = node.posts_by_participant(view, "round1", hostpubkeys)
            if len(round1) < n:
                return
            pmsgs1 = [_hex(node, hostpubkeys, round1, i, "pmsg1") for i in range(n)]
            cstate, cmsg1 = _coordinate1(node, row, view, params, pmsgs1)
            if row.state == "round1":
                _round2(node, row, params, pmsgs1, cmsg1)
                return
            round2 = node.posts_by_participant(view, "round2", hostpubkeys)
            if len(round2) < n:
                return
            pmsgs2 = [_hex(node, hostpubkeys, round2, i, "pmsg2") for i in range(n)]
            _finalize(node, row, view, params, cstate, cmsg1, pmsgs2)
        elif row.state == "finalized":
            _destroy_randomness(node, row.id)
            _check_acks(node, row, view, params)
    except CeremonyFailed as exc:
        node.store.set_state(row.id, "failed", str(exc), culprit=exc.culprit)
        node.forget(random_label(row.id))
        node.emit(row.id, "refused", str(exc))


def _destroy_randomness(node: Node, cid: str) -> None:
    # the share and the recovery data replace it once finalized; a node killed between
    # finalizing and deleting it deletes it on its next pass, before the DKG can complete
    # (a locked keystore refuses, and the DKG waits for an unlocked pass)
    node.forget(random_label(cid))


def _hex(node: Node, hostpubkeys: list[bytes], posts: dict[int, Post], i: int, field: str) -> bytes:
    try:
        return messages.hex_field(posts[i].body, field, f"{field} of {posts[i].poster_name}")
    except MessageRefused as exc:
        raise CeremonyFailed(str(exc), culprit=node.participant_label(hostpubkeys, i)) from None


def _blame(node: Node, hostpubkeys: list[bytes], exc: MpcError) -> CeremonyFailed:
    who = node.participant_label(hostpubkeys, exc.participant)
    return CeremonyFailed(f"the DKG failed: {who} is to blame ({exc.check}): {exc}", culprit=who)


def _coordinate1(node: Node, row: CeremonyRow, view: CeremonyView, params, pmsgs1: list[bytes]):
    hostpubkeys = list(params.hostpubkeys)
    try:
        cstate, cmsg1 = chilldkg.coordinator_step1(pmsgs1, params)
    except MpcError as exc:
        raise _blame(node, hostpubkeys, exc) from None
    _publish_coordinator(node, row, view, "coord1", {"cmsg1": cmsg1.hex()}, "cmsg1")
    return cstate, cmsg1


def _publish_coordinator(node: Node, row: CeremonyRow, view: CeremonyView, phase: str, body: dict, field: str) -> None:
    posted = view.phase(phase)
    for post in posted:
        if post.body.get(field) != body[field]:
            node.emit(row.id, "refused", f"{post.poster_name} posted a {phase} that differs from this node's own "
                      "computation from the board; it is ignored")
    if not posted and node.store.queued(row.id, phase) is None:
        with node.store.transaction() as db:
            node.store.queue_post(db, row.id, phase, body)
        crash_point(f"{phase}-queued")


def _state2(node: Node, row: CeremonyRow, params, cmsg1: bytes):
    random = node.secret(random_label(row.id))
    if random is None:
        raise CeremonyFailed("this node's DKG randomness is gone from its keystore; the DKG cannot finish here",
                             culprit=node.name)
    host = node.host_secret()
    state1, _ = chilldkg.participant_step1(host, params, random)
    return chilldkg.participant_step2(host, state1, cmsg1, secrets.token_bytes(32))


def _round2(node: Node, row: CeremonyRow, params, pmsgs1: list[bytes], cmsg1: bytes) -> None:
    hostpubkeys = list(params.hostpubkeys)
    try:
        _, pmsg2 = _state2(node, row, params, cmsg1)
    except UnknownFaultyParticipantOrCoordinatorError as exc:
        raise _investigate(node, params, pmsgs1, exc) from None
    except MpcError as exc:
        raise _blame(node, hostpubkeys, exc) from None
    with node.store.transaction() as db:
        node.store.queue_post(db, row.id, "round2", {"pmsg2": pmsg2.hex()})
        node.store.set_state(row.id, "round2", db=db)
    crash_point("round2-queued")
    node.emit(row.id, "state", "round 1 complete: certificate signature queued")


def _investigate(node: Node, params, pmsgs1: list[bytes], error) -> CeremonyFailed:
    """A bad share arrived: ChillDKG's investigation names who sent it."""
    hostpubkeys = list(params.hostpubkeys)
    my_id = hostpubkeys.index(node.hostpubkey)
    try:
        cinv = chilldkg.coordinator_investigate(pmsgs1, params)
        chilldkg.participant_investigate(error, cinv[my_id])
    except (FaultyParticipantOrCoordinatorError, FaultyParticipantError) as exc:
        who = node.participant_label(hostpubkeys, exc.participant)
        return CeremonyFailed(f"the DKG failed: {who} sent this node an invalid share (investigation: {exc.check})",
                              culprit=who)
    except MpcError as exc:
        return _blame(node, hostpubkeys, exc)
    return CeremonyFailed("the DKG failed: an invalid share, and the investigation blamed no one")


def _finalize(node: Node, row: CeremonyRow, view: CeremonyView, params, cstate, cmsg1: bytes,
              pmsgs2: list[bytes]) -> None:
    hostpubkeys = list(params.hostpubkeys)
    try:
        cert, _, recovery = chilldkg.coordinator_finalize(cstate, pmsgs2)
        state2, _ = _state2(node, row, params, cmsg1)
        output, my_recovery = chilldkg.participant_finalize(state2, cert)
    except MpcError as exc:
        raise _blame(node, hostpubkeys, exc) from None
    if my_recovery != recovery:
        raise CeremonyFailed("the DKG failed: this node's transcript differs from the certified one")
    _publish_coordinator(node, row, view, "coord2", {"recovery": recovery.hex()}, "recovery")
    store_share(node, row.id, output.secshare, output.thresh_pk)
    crash_point("share-stored")
    ack = chilldkg.participant_recovery_ack_sign(node.host_secret(), recovery, params, secrets.token_bytes(32))
    with node.store.transaction() as db:
        node.store.queue_post(db, row.id, "done", {"ack": ack.hex(), "thresh_pk": output.thresh_pk.hex()})
        node.store.set_state(row.id, "finalized", db=db, thresh_pk=output.thresh_pk.hex(),
                             pubshares=[p.hex() for p in output.pubshares], recovery=recovery.hex())
    crash_point("done-queued")
    node.forget(random_label(row.id))
    crash_point("dkg-random-destroyed")
    node.emit(row.id, "result", f"DKG finalized: group key {output.thresh_pk.hex()}")


def store_share(node: Node, cid: str, secshare: bytes, thresh_pk: bytes) -> None:
    try:
        node.keystore.add_secret(share_label(cid), EntryKind.MPC_SHARE, secshare,
                                 public={"ceremony": cid, "thresh_pk": thresh_pk.hex()})
    except EntryExists:
        if node.keystore.get_secret(share_label(cid)) != secshare:
            raise CeremonyFailed("the keystore holds another share for this DKG") from None


def _check_acks(node: Node, row: CeremonyRow, view: CeremonyView, params) -> None:
    hostpubkeys = list(params.hostpubkeys)
    done = node.posts_by_participant(view, "done", hostpubkeys)
    if len(done) < len(hostpubkeys):
        return
    acks = [_hex(node, hostpubkeys, done, i, "ack") for i in range(len(hostpubkeys))]
    try:
        chilldkg.participant_recovery_acks_verify(bytes.fromhex(row.info["recovery"]), params, acks)
    except MpcError as exc:
        raise _blame(node, hostpubkeys, exc) from None
    node.store.set_state(row.id, "complete")
    node.emit(row.id, "state", "every participant acknowledged the recovery data: the key is ready")


def recover_share(node: Node, row: CeremonyRow, view: CeremonyView) -> bool:
    """Restore this node's share of a DKG from its host secret and the recovery data on
    the board (the ``coord2`` post). True when a share was restored."""
    params = params_of(row)
    for post in view.phase("coord2"):
        try:
            recovery = messages.hex_field(post.body, "recovery", f"coord2 of {post.poster_name}")
            output, recovered_params = chilldkg.participant_recover(node.host_secret(), recovery)
        except (MessageRefused, MpcError):
            continue
        if recovered_params != params:
            continue
        store_share(node, row.id, output.secshare, output.thresh_pk)
        node.store.set_state(row.id, "finalized", thresh_pk=output.thresh_pk.hex(),
                             pubshares=[p.hex() for p in output.pubshares], recovery=recovery.hex())
        return True
    return False
