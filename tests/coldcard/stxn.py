"""Driving ``stxn`` through the real ckcc client, on the emulator or the official simulator:
the visualised story, the device's failure text, and a signature approved on screen."""

from __future__ import annotations

import time

import pytest
from ckcc.constants import STXN_VISUALIZE
from ckcc.protocol import CCProtocolPacker as P
from ckcc.protocol import CCProtoError

from backends.wallet import parse_psbt
from backends.wallet.psbt import Psbt

SCREEN_STORY = b"EXEC" + b"RV.write('\\0'.join(sim_display.story or []))"
WARNINGS_HEADER = "---WARNING---\n\n"


def _result(dev, deadline_s: float = 30.0):
    deadline = time.monotonic() + deadline_s  # a hang guard, not a speed check
    while True:
        done = dev.send_recv(P.get_signed_txn(), timeout=None)
        if done is not None:
            return done
        assert time.monotonic() < deadline, "the device never answered"
        time.sleep(0.05)


def visualize(target, psbt: bytes) -> str:
    """The approval story, as ``stxn`` with the visualise flag returns it."""
    with target.open() as dev:
        length, sha = dev.upload_file(psbt)
        dev.send_recv(P.sign_transaction(length, sha, flags=STXN_VISUALIZE))
        return dev.download_file(*_result(dev)).decode()


def warnings_in(story: str) -> str:
    """The story's warning section ("" when it has none)."""
    return story.split(WARNINGS_HEADER, 1)[1] if WARNINGS_HEADER in story else ""


def _wait_for_story(dev) -> None:
    deadline = time.monotonic() + 30
    while not dev.send_recv(SCREEN_STORY, encrypt=False).startswith(b"OK TO SEND?"):
        assert time.monotonic() < deadline, "the approval never reached the screen"
        time.sleep(0.05)


def failure(target, psbt: bytes, *, approve: bool = False) -> str:
    """The ``err_`` text of a PSBT the device will not sign (after OK, with ``approve``)."""
    return failure_and_screen(target, psbt, approve=approve)[0]


def failure_and_screen(target, psbt: bytes, *, approve: bool = False) -> tuple[str, str]:
    """The ``err_`` text and the story the device shows for it (``title\0body``)."""
    with target.open() as dev:
        length, sha = dev.upload_file(psbt)
        dev.send_recv(P.sign_transaction(length, sha))
        if approve:
            _wait_for_story(dev)
            dev.send_recv(P.sim_keypress(b"y"))
        with pytest.raises(CCProtoError) as err:
            _result(dev)
        screen = dev.send_recv(SCREEN_STORY, encrypt=False).decode()
        dev.send_recv(P.sim_keypress(b"y"))  # dismiss the failure story
    return err.value.args[1].decode(), screen


def approve_and_sign(target, psbt: bytes) -> Psbt:
    """The signed PSBT, once OK was pressed on the approval story."""
    with target.open() as dev:
        length, sha = dev.upload_file(psbt)
        dev.send_recv(P.sign_transaction(length, sha))
        _wait_for_story(dev)
        dev.send_recv(P.sim_keypress(b"y"))
        return parse_psbt(dev.download_file(*_result(dev)))
