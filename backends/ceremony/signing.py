"""The signing ceremony on a node: BIP-445 FROST over the board, with the nonce rules.

States: ``review`` (a request for a group this node holds a share of; waiting on the
keyholder) -> ``approved`` (secret nonces in the keystore, public nonces posted) or
``declined`` -> ``signed`` (partial signatures posted) or ``not-selected`` (the locked set
is complete without this node; its nonces destroyed unused) -> ``complete`` (the group
signature verified; for a PSBT, finalized, broadcast and the txid posted). ``aborted``:
this node will not sign (its nonces are gone); ``failed`` names the culprit.

The locked signer set is the first t approvals in board order (the position of each post
on the board's branch, which every node sees the same); later approvals change nothing.

Nonce rules, in the order a node meets them:

1. a secret nonce is generated for one ceremony and one message (BIP-445 NonceGen with
   the share, the group key, the message and the ceremony id), written to the keystore
   (fsync) before the approval carrying its public nonce is queued;
2. before signing, the signer set and aggregate nonces are written (``nonce_use``); a
   nonce is never used with any other set or aggregate nonce (NonceRefused);
3. the partial signatures are written, then the secret nonces deleted, then posted; after a
   crash between writing the binding and writing the signatures, the same session is
   signed again, which gives the identical partial signature (BIP-445 signing is
   deterministic in the nonce and the session), never a second one;
4. every post of this node on the board must be one its data dir decided, with its
   monotonic counter (``Node.check_own_posts``): a data dir restored from an older copy
   stops before it signs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backends.board import Post
from backends.keystore import EntryKind
from backends.mpc import frost, taproot
from backends.mpc.bip340 import schnorr_verify
from backends.mpc.errors import InvalidContributionError, MpcError

from . import messages
from .dkg import share_label
from .errors import CeremonyError, CeremonyFailed, MessageRefused, NonceRefused
from .node import crash_point
from .review import Review, review_message, review_psbt

if TYPE_CHECKING:
    from backends.board import CeremonyView
    from backends.chain import Chain

    from .node import GroupKey, Node
    from .store import CeremonyRow


def nonce_label(cid: str) -> str:
    return f"nonce-{cid}"


# -- request and discovery ------------------------------------------------------------------------


def request(node: Node, dkg_cid: str, *, reason: str, message: bytes | None = None, psbt: str | None = None) -> str:
    """Ask the group of ``dkg_cid`` to sign ``message`` or ``psbt`` (base64), for ``reason``."""
    group = node.group(dkg_cid)
    if (message is None) == (psbt is None):
        raise CeremonyError("a signing request is for a message or for a PSBT")
    body: dict = {"kind": "sign", "dkg": dkg_cid, "reason": reason}
    if message is not None:
        body.update(payload="message", message=bytes(message).hex())
    else:
        body.update(payload="psbt", psbt=psbt)
    messages.sign_request({**body, "counter": 1}, "the new request")
    _review(body, group, node.name)  # a request this node would refuse is never posted
    cid = node.new_ceremony_id()
    with node.store.transaction() as db:
        node.store.put_ceremony(cid, "sign", "review", _info(node, body, group, node.name), db=db)
        node.store.queue_post(db, cid, "request", body)
    node.flush()
    return cid


def _info(node: Node, body: dict, group: GroupKey, requester: str) -> dict:
    dkg_row = node.ceremony(group.ceremony)
    return {"dkg": group.ceremony, "payload": body["payload"], "message": body.get("message"),
            "psbt": body.get("psbt"), "reason": body["reason"], "requester": requester, "t": group.t,
            "n": group.n, "my_id": dkg_row.info["my_id"]}


def discover(node: Node, cid: str, post: Post) -> None:
    where = f"signing request by {post.poster_name}"
    try:
        dkg_cid, _, _, _ = messages.sign_request(post.body, where)
        dkg_row = node.store.ceremony(dkg_cid)
        if dkg_row is None or "thresh_pk" not in dkg_row.info:
            return  # not a group this node holds a share of
        group = node.group(dkg_cid)
        info = _info(node, post.body, group, post.poster_name)
        review(node, info)
    except (MessageRefused, CeremonyError) as exc:
        node.store.put_ceremony(cid, "sign", "refused", {"dkg": post.body.get("dkg"), "requester": post.poster_name},
                                note=str(exc))
        node.emit(cid, "refused", f"{where} refused: {exc}")
        return
    node.store.put_ceremony(cid, "sign", "review", info)
    node.emit(cid, "state", f"{post.poster_name} asks the group to sign: {info['reason']}")


def review(node: Node, info: dict) -> Review:
    return _review(info, node.group(info["dkg"]), info.get("requester", "?"))


def _review(body: dict, group: GroupKey, requester: str) -> Review:
    if body["payload"] == "message":
        return review_message(bytes.fromhex(body["message"]), body["reason"], requester)
    return review_psbt(body["psbt"], group.output_script, group.network, body["reason"], requester)


# -- the keyholder's decision ---------------------------------------------------------------------


def approve(node: Node, cid: str) -> None:
    """Approve after review: fresh secret nonces stored, then the approval with their
    public nonces queued and posted."""
    row = node.ceremony(cid)
    _require_sign(row)
    if row.state != "review":
        raise CeremonyError(f"ceremony {cid[:12]} is {row.state}; only a request under review can be approved")
    if node.online:
        node.sync()  # the staleness check runs against the board as it is now
        row = node.ceremony(cid)
        if row.state != "review":
            raise CeremonyError(f"ceremony {cid[:12]} is now {row.state}")
    rev = review(node, row.info)
    group = node.group(row.info["dkg"])
    secshare = node.keystore.get_secret(share_label(group.ceremony))
    my_id = row.info["my_id"]
    pubshare = bytes.fromhex(node.ceremony(group.ceremony).info["pubshares"][my_id])
    secnonces, pubnonces = b"", []
    for message in rev.messages:
        secnonce, pubnonce = frost.nonce_gen(secshare, pubshare, group.output_key, message, bytes.fromhex(cid))
        secnonces += secnonce.consume()[0]
        pubnonces.append(pubnonce.hex())
    # under the node database's write lock, so another process of this node approving at the
    # same time cannot swap the stored nonces under a commitment it already queued
    with node.store.transaction() as db:
        _still_under_review(node, cid)
        if node.secret(nonce_label(cid)) is not None:
            # an earlier approval died before it was queued: its nonces never left this node
            node.forget(nonce_label(cid))
        node.keystore.add_secret(nonce_label(cid), EntryKind.MPC_SESSION, secnonces, public={"ceremony": cid})
        crash_point("nonce-stored")
        node.store.queue_post(db, cid, "decision", {"approve": True, "pubnonces": pubnonces})
        node.store.set_state(cid, "approved", db=db)
    crash_point("decision-persisted")
    node.emit(cid, "state", "approved: nonce commitment queued")
    node.flush()


def decline(node: Node, cid: str, reason: str = "") -> None:
    row = node.ceremony(cid)
    _require_sign(row)
    if row.state != "review":
        raise CeremonyError(f"ceremony {cid[:12]} is {row.state}; only a request under review can be declined")
    with node.store.transaction() as db:
        _still_under_review(node, cid)
        node.store.queue_post(db, cid, "decision", {"approve": False, "reason": reason[:messages.MAX_REASON_CHARS]})
        node.store.set_state(cid, "declined", reason, db=db)
    node.emit(cid, "state", "declined")
    node.flush()


def _still_under_review(node: Node, cid: str) -> None:
    """Within the write transaction of a decision: another process of this node may have
    decided since this one read the request."""
    row = node.ceremony(cid)
    if row.state != "review" or node.store.queued(cid, "decision") is not None:
        raise CeremonyError(f"ceremony {cid[:12]} is now {row.state}; another process of this node decided")


def _require_sign(row: CeremonyRow) -> None:
    if row.kind != "sign":
        raise CeremonyError(f"ceremony {row.id[:12]} is not a signing ceremony")


# -- advancing ----------------------------------------------------------------------------------------


def advance(node: Node, row: CeremonyRow, view: CeremonyView, *, chain: Chain | None = None) -> None:
    try:
        _advance(node, row, view, chain)
    except CeremonyFailed as exc:
        node.forget(nonce_label(row.id))
        node.store.set_state(row.id, "failed", str(exc), culprit=exc.culprit)
        node.emit(row.id, "refused", str(exc))


def _advance(node: Node, row: CeremonyRow, view: CeremonyView, chain: Chain | None) -> None:
    group = node.group(row.info["dkg"])
    dkg_info = node.ceremony(group.ceremony).info
    hostpubkeys = [bytes.fromhex(h) for h in dkg_info["hostpubkeys"]]
    rev = review(node, row.info)
    k = len(rev.messages)
    if row.state == "signed" and node.secret(nonce_label(row.id)) is not None:
        node.forget(nonce_label(row.id))  # died between writing the signatures and deleting the nonces
    approvals, declines = _decisions(node, row, view, hostpubkeys, k)
    locked = _locked(node, row, approvals)
    if locked is None:
        if declines > group.n - group.t:
            _end_without_me(node, row, "declined", f"{declines} of {group.n} declined: the group cannot reach {group.t}")
        return
    ids = sorted(locked)
    if row.state == "approved":
        if row.info["my_id"] in locked:
            _sign(node, row, group, dkg_info, ids, [approvals[i] for i in ids], rev)
        else:
            _end_without_me(node, row, "not-selected", "the first approvals locked the signer set without this node")
        row = node.ceremony(row.id)
    if row.state in ("review", "approved"):
        if row.state == "review":
            node.store.set_state(row.id, "not-selected", "the signer set was locked before this node decided")
        return
    _aggregate(node, row, view, group, dkg_info, ids, [approvals[i] for i in ids], rev, hostpubkeys, chain)


def _decisions(node: Node, row: CeremonyRow, view: CeremonyView, hostpubkeys: list[bytes], k: int):
    approvals: dict[int, tuple[int | None, list[bytes]]] = {}
    declines = 0
    order = node.store.order(row.id, "decision")
    for i, post in node.posts_by_participant(view, "decision", hostpubkeys).items():
        try:
            pubnonces = messages.decision(post.body, f"decision of {post.poster_name}", k)
        except MessageRefused as exc:
            node.emit(row.id, "refused", str(exc))
            continue
        if pubnonces is None:
            declines += 1
        else:
            approvals[i] = (order.get(post.poster.hex()), pubnonces)
    return {i: a for i, a in approvals.items()}, declines


def _locked(node: Node, row: CeremonyRow, approvals) -> set[int] | None:
    """The first t approvals in board order; None until t approvals have a board position.
    A set this node already signed with stays its set whatever it reads later."""
    use = node.store.nonce_use(row.id)
    if use is not None:
        return set(use[0])
    placed = sorted((seq, i) for i, (seq, _) in approvals.items() if seq is not None)
    if len(placed) < row.info["t"]:
        return None
    return {i for _, i in placed[: row.info["t"]]}


def _end_without_me(node: Node, row: CeremonyRow, state: str, why: str) -> None:
    node.forget(nonce_label(row.id))
    node.store.set_state(row.id, state, why)
    node.emit(row.id, "state", why)


def _session(group: GroupKey, dkg_info: dict, ids: list[int], pubnonces: list[list[bytes]], k: int,
             message: bytes) -> tuple[frost.SignersCtx, frost.SessionCtx, list[bytes]]:
    pubshares = tuple(bytes.fromhex(dkg_info["pubshares"][i]) for i in ids)
    ctx = frost.SignersCtx(group.n, group.t, tuple(ids), pubshares, group.thresh_pk)
    tweaks, is_xonly = taproot.signing_tweaks(group.thresh_pk)
    nonces_k = [p[k] for p in pubnonces]
    session = frost.SessionCtx(ctx, frost.nonce_agg(nonces_k), tweaks, is_xonly, message)
    return ctx, session, nonces_k


def _sign(node: Node, row: CeremonyRow, group: GroupKey, dkg_info: dict, ids: list[int],
          approvals: list[tuple[int | None, list[bytes]]], rev: Review) -> None:
    cid, my_id = row.id, row.info["my_id"]
    pubnonces = [nonces for _, nonces in approvals]
    mine = node.store.queued(cid, "decision")
    if mine is None or [bytes.fromhex(p) for p in mine["pubnonces"]] != pubnonces[ids.index(my_id)]:
        raise CeremonyFailed("the board's approval of this node does not carry the nonces this node committed")
    try:
        sessions = [_session(group, dkg_info, ids, pubnonces, k, m) for k, m in enumerate(rev.messages)]
    except InvalidContributionError as exc:
        who = node.participant_label([bytes.fromhex(h) for h in dkg_info["hostpubkeys"]],
                                     ids[exc.participant] if exc.participant is not None else None)
        raise CeremonyFailed(f"invalid {exc.contrib} from {who}", culprit=who) from None
    aggnonces = [s[1].aggnonce.hex() for s in sessions]
    # read and bind under the write lock: another process of this node may have signed since
    # this one read the ceremony (it is then signed, and this process has nothing to do)
    with node.store.transaction() as db:
        if node.ceremony(cid).state != "approved":
            return
        use = node.store.nonce_use(cid)
        if use is None:
            db.execute("INSERT INTO nonce_use (ceremony, signers, aggnonces) VALUES (?, ?, ?)",
                       (cid, _json(ids), _json(aggnonces)))
    if use is None:
        crash_point("binding-persisted")
    elif use[0] != ids or use[1] != aggnonces:
        node.forget(nonce_label(cid))
        node.store.set_state(cid, "aborted", "refused to sign: the nonces were bound to another session")
        raise NonceRefused(f"ceremony {cid[:12]}: this node's nonces are bound to signers {use[0]}; "
                           f"the board now says {ids}. Not signing again.")
    raw = node.secret(nonce_label(cid))
    if raw is None or len(raw) != 64 * len(rev.messages):
        with node.store.transaction() as db:
            if node.ceremony(cid).state != "approved":
                return  # signed meanwhile by another process of this node, which then destroyed them
            node.store.set_state(cid, "aborted", "this node's secret nonces are gone (restored or recovered node)",
                                 db=db)
        node.emit(cid, "refused", "cannot sign: the secret nonces are gone")
        return
    secshare = node.keystore.get_secret(share_label(group.ceremony))
    psigs = []
    for k, (_, session, nonces_k) in enumerate(sessions):
        secnonce = frost.SecNonce(raw[64 * k: 64 * k + 64], nonces_k[ids.index(my_id)])
        psigs.append(frost.sign(secnonce, secshare, my_id, session).hex())
    with node.store.transaction() as db:
        db.execute("UPDATE nonce_use SET psigs = ? WHERE ceremony = ?", (_json(psigs), cid))
        node.store.queue_post(db, cid, "psig", {"signers": ids, "psigs": psigs})
        node.store.set_state(cid, "signed", db=db)
    crash_point("psig-persisted")
    node.forget(nonce_label(cid))
    crash_point("nonce-destroyed")
    node.emit(cid, "state", f"signed as one of signers {ids}")


def _aggregate(node: Node, row: CeremonyRow, view: CeremonyView, group: GroupKey, dkg_info: dict, ids: list[int],
               approvals, rev: Review, hostpubkeys: list[bytes], chain: Chain | None) -> None:
    psig_posts = node.posts_by_participant(view, "psig", hostpubkeys)
    if not all(i in psig_posts for i in ids):
        return
    pubnonces = [nonces for _, nonces in approvals]
    sigs = []
    for k, message in enumerate(rev.messages):
        try:
            ctx, session, nonces_k = _session(group, dkg_info, ids, pubnonces, k, message)
        except InvalidContributionError as exc:
            who = node.participant_label(hostpubkeys, ids[exc.participant] if exc.participant is not None else None)
            raise CeremonyFailed(f"invalid {exc.contrib} from {who}", culprit=who) from None
        tweaks, is_xonly = taproot.signing_tweaks(group.thresh_pk)
        psigs = []
        for i in ids:
            post = psig_posts[i]
            who = node.participant_label(hostpubkeys, i)
            try:
                signers, values = messages.psig(post.body, f"psig of {post.poster_name}", len(rev.messages))
            except MessageRefused as exc:
                raise CeremonyFailed(str(exc), culprit=who) from None
            if signers != ids:
                raise CeremonyFailed(f"{who} signed for signers {signers}, not the locked set {ids}", culprit=who)
            psigs.append(values[k])
        try:
            frost.check_partial_sigs(psigs, nonces_k, ctx, tweaks, is_xonly, message)
            sig = frost.partial_sig_agg(psigs, session)
        except InvalidContributionError as exc:
            who = node.participant_label(hostpubkeys, ids[exc.participant] if exc.participant is not None else None)
            raise CeremonyFailed(f"the partial signature of {who} does not verify", culprit=who) from None
        except MpcError as exc:
            raise CeremonyFailed(f"cannot aggregate: {exc}") from None
        if not schnorr_verify(message, group.output_key, sig):
            raise CeremonyFailed("the aggregated signature does not verify under the group's key")
        sigs.append(sig)
    txid = None
    if rev.payload == "psbt":
        txid, raw_tx = _finalize_psbt(row, sigs)
        txid = _broadcast(node, row, view, txid, raw_tx, chain)
        if txid is None:
            return  # signed and finalized; waiting for a node with a chain to broadcast
    with node.store.transaction() as db:
        if not view.phase("result") and node.store.queued(row.id, "result") is None:
            node.store.queue_post(db, row.id, "result", {"sigs": [s.hex() for s in sigs], "txid": txid})
        node.store.set_state(row.id, "complete", db=db, sigs=[s.hex() for s in sigs], txid=txid)
    node.emit(row.id, "result", f"group signature verified{f'; transaction {txid} broadcast' if txid else ''}")


def _finalize_psbt(row: CeremonyRow, sigs: list[bytes]) -> tuple[str, bytes]:
    from backends.wallet import WalletError, extract, finalize, parse_psbt

    psbt = parse_psbt(row.info["psbt"])
    for inp, sig in zip(psbt.inputs, sigs, strict=True):
        inp.taproot_key_sig = sig
    try:
        return psbt.txid, extract(finalize(psbt))
    except WalletError as exc:
        raise CeremonyFailed(f"the signed PSBT does not finalize: {exc}") from None


def _broadcast(node: Node, row: CeremonyRow, view: CeremonyView, txid: str, raw_tx: bytes,
               chain: Chain | None) -> str | None:
    for post in view.phase("result"):
        if post.body.get("txid") == txid:
            return txid  # someone broadcast it already
    if chain is None:
        if row.note != "signed; waiting for a node with a chain to broadcast":
            node.store.set_state(row.id, row.state, "signed; waiting for a node with a chain to broadcast",
                                 raw_tx=raw_tx.hex(), txid=txid)
        return None
    from backends.chain.errors import ChainError

    try:
        status = chain.tx_status(txid)
        if status.state in ("confirmed", "mempool"):
            return txid
        node.store.set_state(row.id, row.state, "broadcast started", raw_tx=raw_tx.hex(), txid=txid)
        chain.broadcast(raw_tx)
    except ChainError as exc:
        node.emit(row.id, "refused", f"broadcast failed: {exc}")
        return None
    return txid


def _json(value) -> str:
    from backends.audit.entry import canonical_json

    return canonical_json(value)


