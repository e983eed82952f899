"""One emulated Coldcard: its link state, upload area, approvals and settings.

``Device.receive(report)`` takes one 64-byte report and returns the reports to send
back (possibly none). It owns what the firmware's USB handler owns: reassembly, the
``ncry`` link crypto, the running upload SHA-256 and the download lease, and the
mapping of handler exceptions to reply codes (``busy``, ``err_`` cut to 80 bytes,
``fram``). Timed effects (the ``mitm`` delay, logout, reboot) are left to the server
through ``pending_sleep`` and ``power``.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import coincurve

from . import commands
from .approvals import Approvals, Busy
from .crypto import NCRY_V3, LinkCrypto, ecdh_session_key
from .framing import MAX_MSG_LEN, RESYNC, V3_TAG_LEN, FramingError, Reassembler, frame
from .keys import DeviceKeys
from .state import DeviceState

MAX_CLIENTS = 32  # client sockets whose partial messages are kept


class HsmDenied(Exception):
    """A command outside the HSM whitelist while HSM mode is active."""


class HsmCommandsDisabled(Exception):
    """An HSM/user command while the ``hsmcmd`` setting is off."""


class Device:
    serial = "F1F1F1F1F1F1"

    def __init__(self, state_dir: Path, *, words: str | None = None, chain: str | None = None,
                 hw_label: str = "mk4", settings: dict | None = None) -> None:
        self.state = DeviceState(state_dir)
        if chain:
            self.state.set("chain", chain)
        for key, value in (settings or {}).items():
            self.state.set(key, value)
        self.state.save()
        self.keys = DeviceKeys(self.state.seed_words(words), self.state.get("chain", "XTN"))
        self.hw_label = hw_label
        self.hsm = None  # the active HSM mode, when there is one
        self.power: str | None = None  # "logout" | "reboot" once requested
        self.pending_sleep = 0.0
        self.boot()

    # ---- power cycle -------------------------------------------------------------
    def boot(self) -> None:
        """Everything volatile back to power-on values."""
        # one reassembler per client socket: a test's side channel (a keypress, a screen
        # read) may speak while another client is mid-message, which a single USB endpoint
        # would garble; the README lists this among the differences
        self.reassemblers: dict[object, Reassembler] = {}
        self.message_limit = MAX_MSG_LEN
        self.link: LinkCrypto | None = None
        self.encrypted_req = False
        self.approvals = Approvals()
        self.staged = bytearray()  # "PSRAM" file 0: what was uploaded
        self.result_file = b""  # file 1: the last signing result
        self.allowed_download: tuple[int, int, int] | None = None
        self.reset_upload()
        self.hsm = None
        self.power = None
        from . import hsm_mode

        hsm_mode.maybe_boot_to_hsm(self)

    def reset_upload(self) -> None:
        self.file_checksum = hashlib.sha256()
        self.upload_total_size = 0
        self.upload_next_offset = 0

    @property
    def chain(self) -> str:
        return self.keys.chain

    @property
    def bound(self) -> bool:
        return self.link is not None and self.link.bound

    # ---- the wire ----------------------------------------------------------------
    def _reassembler(self, sender: object) -> Reassembler:
        reassembler = self.reassemblers.pop(sender, None) or Reassembler()
        self.reassemblers[sender] = reassembler  # most recent last
        while len(self.reassemblers) > MAX_CLIENTS:
            del self.reassemblers[next(iter(self.reassemblers))]  # the longest silent client
        reassembler.limit = self.message_limit
        return reassembler

    def receive(self, report: bytes, sender: object = None) -> list[bytes]:
        self.pending_sleep = 0.0
        try:
            msg = self._reassembler(sender).feed(report)
            if msg is None:
                return []
            if msg is RESYNC:
                self.reset_upload()
                return []
            return self._reply(self._process(msg.body, msg.encrypted))
        except FramingError as exc:
            self.reset_upload()
            return self._reply(b"fram" + exc.reason.encode())

    def _process(self, body: bytes, encrypted: bool) -> bytes:
        v3 = self.link is not None and self.link.version == NCRY_V3
        low, high = (4 + V3_TAG_LEN, MAX_MSG_LEN + V3_TAG_LEN) if (v3 and encrypted) else (4, MAX_MSG_LEN)
        if not low <= len(body) <= high:
            raise FramingError("badsz")
        if not encrypted and self.bound:
            raise FramingError("must encrypt")
        if encrypted:
            if self.link is None:
                raise FramingError("no key")
            self.encrypted_req = True
            body = self.link.decrypt_request(body)
        else:
            self.encrypted_req = False
        return self._dispatch(body[:4], body[4:])

    def _dispatch(self, cmd: bytes, args: bytes) -> bytes:
        try:
            try:
                name = cmd.decode()
            except UnicodeDecodeError:
                raise FramingError("decode") from None
            resp = commands.handle(self, name, args)
        except FramingError:
            raise
        except Busy:
            return b"busy"
        except HsmDenied:
            return b"err_Not allowed in HSM mode"
        except HsmCommandsDisabled:
            return b"err_HSM commands disabled"
        except struct.error:
            return b"err_buffer too small"
        except (ValueError, AssertionError) as exc:
            text = str(exc) or "Assertion " + commands.where(exc)
            return b"err_" + text.encode()[:80]
        except MemoryError:
            return b"err_Out of RAM"
        except Exception as exc:  # a bug or a fuzzer: keep serving, as the device does
            return b"err_Confused " + commands.where(exc).encode()
        if resp is None:
            return b"okay"
        if isinstance(resp, int):
            return struct.pack("<4sI", b"int1", resp)
        return bytes(resp)

    def _reply(self, resp: bytes) -> list[bytes]:
        # quirk kept: a reply is encrypted when the last accepted request was
        if self.link is not None and self.encrypted_req:
            return frame(self.link.encrypt_response(resp), encrypted=True)
        return frame(resp, encrypted=False)

    # ---- ncry --------------------------------------------------------------------
    def crypto_setup(self, version: int, host_pub: bytes) -> bytes:
        if version not in (1, 2, 3):
            raise FramingError("bad ncry version")
        if self.bound:
            raise FramingError("crypto already set up")
        self.allowed_download = None
        pair = coincurve.PrivateKey()
        device_pub = pair.public_key.format(compressed=False)[1:]
        session_key = ecdh_session_key(pair, host_pub)
        self.link = LinkCrypto(version, session_key, host_pub, device_pub)
        self.message_limit = MAX_MSG_LEN + (V3_TAG_LEN if version == NCRY_V3 else 0)
        xpub = self.keys.xpub("m").encode()
        return b"mypb" + device_pub + struct.pack("<II", self.keys.xfp, len(xpub)) + xpub
