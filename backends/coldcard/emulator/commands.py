"""The USB command set: request layouts, checks in the firmware's order, reply codes.

``handle(device, cmd, args)`` returns the reply (bytes with its 4-byte code, an int for
``int1``, or None for ``okay``) or raises what ``Device`` maps to a reply code. The
upper-case simulator commands are tried first, then the HSM whitelist and the
``hsmcmd`` gate, then the normal dispatch; an unknown command on a bound link (v2/v3)
also logs the device out.
"""

from __future__ import annotations

import os
import random
import struct
import traceback

from . import hsm_mode, messages, signing, simcmds
from .approvals import KeyDecision, Story
from .framing import MAX_BLK_LEN
from .keys import cleanup_deriv_path
from .multisig import MultisigWallet, parse_multisig_script, parse_wallet_file, wallets_of
from .outputs import render_script
from .story import ADDRESS_MARK, approval_story

MAX_TXN_LEN = 2 * 1024 * 1024
MAX_UPLOAD_LEN = 2 * MAX_TXN_LEN
STXN_FLAGS_MASK = 0x07
STXN_FINALIZE = 0x01
STXN_VISUALIZE = 0x02

HSM_WHITELIST = frozenset({
    "logo", "ping", "vers", "upld", "sha2", "dwld", "stxn", "mitm", "ncry", "smsg",
    "blkc", "hsts", "stok", "smok", "xpub", "msck", "p2sh", "show", "user", "gslr",
})
HSM_DISABLE_CMDS = frozenset({"user", "rmur", "nwur", "gslr", "hsts", "hsms"})


def where(exc: BaseException) -> str:
    """``file.py:line`` of where an exception was raised, as problem_file_line gives."""
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return "unknown"
    frame = tb[-1]
    return "%s:%d" % (os.path.basename(frame.filename), frame.lineno)


def handle(dev, cmd: str, args: bytes):
    if cmd[:1].isupper():
        return simcmds.handle(dev, cmd, args)
    if dev.hsm is not None and cmd not in HSM_WHITELIST:
        from .device import HsmDenied

        raise HsmDenied()
    if not dev.state.get("hsmcmd", False) and cmd in HSM_DISABLE_CMDS:
        from .device import HsmCommandsDisabled

        raise HsmCommandsDisabled()
    handler = _HANDLERS.get(cmd)
    if handler is None:
        if dev.bound:
            dev.power = "logout"
        return b"err_Unknown cmd"
    return handler(dev, args)


# ---- basics -----------------------------------------------------------------------

def _logout(dev, args):
    dev.power = "logout"


def _reboot(dev, args):
    dev.power = "reboot"


def _ping(dev, args):
    return b"biny" + args


def _version(dev, args):
    return b"asci" + "\n".join(["2023-02-31", "5.x.x", "2.0.0", "230231195308", dev.hw_label]).encode()


def _chain(dev, args):
    return b"asci" + dev.chain.encode()


def _ncry(dev, args):
    version, host_pub = struct.unpack_from("<I64s", args)
    assert len(args) == 68, "badlen"
    return dev.crypto_setup(version, host_pub)


def _mitm(dev, args):
    assert dev.encrypted_req, "must encrypt"
    dev.pending_sleep = 0.1 + random.random() * 0.1
    return b"biny" + dev.keys.sign_compact("m", dev.link.session_key, 31)


def _xpub(dev, args):
    assert dev.encrypted_req, "must encrypt"
    path = cleanup_deriv_path(args)
    hsm_mode.check_xpub_share(dev, path)
    return b"asci" + dev.keys.xpub(path).encode()


def _bag(dev, args):
    return b"asci"


# ---- upload / download ------------------------------------------------------------

def _upload(dev, args):
    try:
        offset, total_size = struct.unpack_from("<II", args)
        return _handle_upload(dev, offset, total_size, args[8:])
    except BaseException:
        dev.reset_upload()
        raise


def _handle_upload(dev, offset, total_size, data):
    dev.approvals.check_busy(("transaction",))
    dev.allowed_download = None
    if offset == 0:
        dev.reset_upload()
    assert offset % 256 == 0, "alignment"
    assert offset == dev.upload_next_offset, "offset"
    assert 1 <= total_size <= MAX_UPLOAD_LEN, "long"
    assert offset + len(data) <= total_size, "long"
    if dev.hsm is not None:
        assert offset + len(data) <= total_size <= MAX_TXN_LEN, "psbt"
        if offset == 0:
            assert data[0:5] == b"psbt\xff", "psbt"
    dev.upload_total_size = total_size
    if len(dev.staged) < offset + len(data):
        dev.staged.extend(bytes(offset + len(data) - len(dev.staged)))
    dev.staged[offset : offset + len(data)] = data
    dev.file_checksum.update(data)
    dev.upload_next_offset = offset + len(data)
    return offset


def _sha256(dev, args):
    return b"biny" + dev.file_checksum.copy().digest()


def _download(dev, args):
    offset, length, file_number = struct.unpack_from("<III", args)
    assert len(args) == 12, "badlen"
    length = min(length, MAX_BLK_LEN)
    assert 0 <= file_number < 2, "bad fnum"
    assert 0 <= offset < MAX_TXN_LEN, "bad offset"
    assert offset + length <= MAX_TXN_LEN, "bad offset"
    assert 1 <= length, "len"
    assert dev.encrypted_req, "must encrypt"
    assert dev.allowed_download, "not allowed"
    fn, start, size = dev.allowed_download
    assert file_number == fn, "not allowed: file no"
    assert start <= offset and offset + length <= start + size, "not allowed: out of bounds"
    if offset == 0:
        dev.file_checksum = __import__("hashlib").sha256()
    data = dev.result_file[offset : offset + length]
    dev.file_checksum.update(data)
    return b"biny" + data


def staged_bytes(dev, length: int) -> bytes:
    return bytes(dev.staged[:length])


# ---- signing ----------------------------------------------------------------------

def _sign_txn(dev, args):
    txn_len, flags, txn_sha = struct.unpack_from("<II32s", args)
    assert len(args) == 40, "badlen"
    if txn_sha != dev.file_checksum.digest():
        return b"err_Checksum"
    assert 50 < txn_len <= MAX_TXN_LEN, "badlen"
    import hashlib

    if txn_len != dev.upload_total_size or txn_sha != hashlib.sha256(staged_bytes(dev, txn_len)).digest():
        return b"err_Checksum"
    dev.approvals.check_busy(("transaction",))
    start_transaction(dev, staged_bytes(dev, txn_len), flags & STXN_FLAGS_MASK)


def start_transaction(dev, raw: bytes, flags: int) -> None:
    action = KeyDecision(Story("", ""), lambda: None, "transaction")
    dev.approvals.start(action)
    try:
        analysis = signing.analyse(raw, dev.keys, wallets_of(dev.state.get("multisig")),
                                   fee_limit=dev.state.get("fee_limit", signing.DEFAULT_FEE_LIMIT),
                                   sighash_checks_disabled=bool(dev.state.get("sighshchk")))
    except signing.SigningFailure as exc:
        action.failed = str(exc)
        action.finish()
        if dev.hsm is None:  # in HSM mode the text is for USB only
            dev.approvals.show(Story(exc.title, exc.screen))
        return
    if flags & STXN_VISUALIZE:  # the story without the prompt, address marks as spaces
        story_text = approval_story(analysis, dev.chain, prompt=False).replace(ADDRESS_MARK, " ")
        _set_result(dev, action, story_text.encode())
        return

    def approve():
        out = signing.sign(analysis, dev.keys)
        if flags & STXN_FINALIZE:
            out = _finalized(out)
        return _store_result(dev, out)

    action._on_approve = approve
    if dev.hsm is not None:
        hsm_mode.decide_transaction(dev, action, analysis)  # the policy, not the operator
    else:
        action.story = Story("OK TO SEND?", approval_story(analysis, dev.chain))


def _finalized(psbt_bytes: bytes) -> bytes:
    from backends.wallet import extract, finalize, parse_psbt

    try:
        return extract(finalize(parse_psbt(psbt_bytes)))
    except Exception:
        return psbt_bytes


def _store_result(dev, out: bytes):
    import hashlib

    dev.result_file = out
    dev.allowed_download = (1, 0, len(out))
    return len(out), hashlib.sha256(out).digest()


def _set_result(dev, action, out: bytes) -> None:
    action.result = _store_result(dev, out)
    action.finish()


def _sign_msg(dev, args):
    addr_fmt, len_subpath, len_msg = struct.unpack_from("<III", args)
    assert len(args) == 12 + len_subpath + len_msg, "badlen"
    subpath = args[12 : 12 + len_subpath]
    raw = args[12 + len_subpath :]
    dev.approvals.check_busy()
    text = messages.validate_text_for_signing(raw)
    path = cleanup_deriv_path(subpath)
    addr_fmt = messages.check_msg_addr_fmt(addr_fmt)
    address = messages.single_address(dev.keys, path, addr_fmt)

    def approve():
        return address, messages.sign_message(dev.keys, text, path, addr_fmt)

    body = ("Ok to sign this?\n      --=--\n%s\n      --=--\n\nUsing the key associated with address:\n\n"
            "%s =>\n%s\n\nPress OK to continue, otherwise X to cancel." % (text, path, address))
    action = KeyDecision(Story("", body), approve, "message")
    dev.approvals.start(action)
    if dev.hsm is not None:
        hsm_mode.decide_message(dev, action, path, text, address)


def _poll(kind):
    def poll(dev, args):
        req = dev.approvals.active
        if req is None:
            return b"err_No active request"
        if req.refused:
            dev.approvals.cleanup()
            return b"refu"
        if req.failed:
            dev.approvals.cleanup()
            return b"err_" + req.failed.encode()
        if not req.result:
            return None
        dev.approvals.cleanup()
        if kind == "smok":
            address, sig = req.result
            return struct.pack("<4sI", b"smrx", len(address)) + address.encode() + sig
        if kind == "pwok":
            return b"asci" + str(req.result).encode()
        resp_len, sha = req.result
        return struct.pack("<4sI32s", b"strx", resp_len, sha)

    return poll


# ---- addresses and multisig -------------------------------------------------------

def _show(dev, args):
    (addr_fmt,) = struct.unpack_from("<I", args)
    assert len(args) >= 4, "badlen"
    if addr_fmt == 0x17:
        addr_fmt = 0x23
    path = cleanup_deriv_path(args[4:])
    hsm_mode.check_address_share(dev, path)
    if addr_fmt not in (0x01, 0x07, 0x13):
        raise AssertionError("Unknown/unsupported addr format")
    address = messages.single_address(dev.keys, path, addr_fmt)
    dev.approvals.idle_story = Story("", "%s =>\n%s" % (path, address))
    return b"asci" + address.encode()


def _p2sh(dev, args):
    hsm_mode.check_address_share(dev, None, is_p2sh=True)
    addr_fmt, m, n, script_len = struct.unpack_from("<IBBH", args)
    assert addr_fmt & 0x08
    assert 1 <= m <= n <= 20
    assert 30 <= script_len <= 520
    offset = 8
    script = bytes(args[offset : offset + script_len])
    offset += script_len
    assert len(script) == script_len
    xfp_paths = []
    for _ in range(n):
        assert offset < len(args), "badlen"
        ln = args[offset]
        assert 1 <= ln <= 16, "badlen"
        xfp_paths.append(list(struct.unpack_from("<%dI" % ln, args, offset + 1)))
        offset += ln * 4 + 1
    assert offset == len(args)
    xfps = {p[0] for p in xfp_paths}
    wallet = next((w for w in wallets_of(dev.state.get("multisig")) if w.xfps == xfps), None)
    assert wallet, "Multisig wallet with those fingerprints not found"
    assert wallet.m == m
    assert wallet.n == n
    _, pubkeys = parse_multisig_script(script)
    wallet.validate_script(script, dict(zip(pubkeys, xfp_paths)))
    if addr_fmt != 0x0E:
        raise AssertionError("Unknown/unsupported addr format")
    import hashlib

    address = render_script(b"\x00\x20" + hashlib.sha256(script).digest(), dev.chain)
    return b"asci" + address.encode()


def _enroll(dev, args):
    file_len, file_sha = struct.unpack_from("<I32s", args)
    assert len(args) == 36, "badlen"
    if file_sha != dev.file_checksum.digest():
        return b"err_Checksum"
    assert 100 < file_len <= 20 * 200, "badlen"
    dev.approvals.check_busy()
    text = staged_bytes(dev, file_len).decode("utf-8", "replace")
    wallet = parse_wallet_file(text, dev.keys)
    existing = wallets_of(dev.state.get("multisig"))
    if any(w.same_keys(wallet) and w.name == wallet.name for w in existing):
        dev.approvals.idle_story = Story("Duplicate wallet", "This wallet is already installed.")
        return None
    keep = [w for w in existing if w.name != wallet.name]

    def approve():
        dev.state.put_and_save("multisig", [w.to_setting() for w in keep + [wallet]])
        return True

    body = ("Create new multisig wallet?\n\nWallet Name:\n  %s\n\nPolicy: %d of %d\n\nP2WSH\n\nPress (1) to see "
            "extended public keys, OK to approve, X to cancel." % (wallet.name, wallet.m, wallet.n))
    dev.approvals.start(KeyDecision(Story("", body), approve, "enroll"))


def _ms_check(dev, args):
    m, n, xfp_xor = struct.unpack_from("<3I", args)
    assert len(args) == 12, "badlen"
    return int(any((w.m, w.n) == (m, n) and w.xfp_xor() == xfp_xor for w in wallets_of(dev.state.get("multisig"))))


_HANDLERS = {
    "rebo": _reboot, "logo": _logout, "ping": _ping, "upld": _upload, "dwld": _download,
    "ncry": _ncry, "vers": _version, "sha2": _sha256, "xpub": _xpub, "mitm": _mitm,
    "smsg": _sign_msg, "p2sh": _p2sh, "show": _show, "enrl": _enroll, "msck": _ms_check,
    "stxn": _sign_txn, "stok": _poll("stok"), "smok": _poll("smok"), "bkok": _poll("bkok"),
    "pwok": _poll("pwok"), "blkc": _chain, "bagi": _bag,
    **hsm_mode.HANDLERS,
}

__all__ = ["handle", "where", "MultisigWallet"]
