"""The app over a real quorum: three emulator processes (tests/quorum/rig.py) and the rig's
embedded chain, served on DATA_DIR/chain.sock as the demo rig serves it. The app opens its
own coordinator from ``[quorum]`` in its config, as it would for USB Coldcards."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from backends.chain import ChainServer
from backends.coldcard.emulator.keys import xfp_to_str
from backends.quorum import GateRefused
from custody_tui.app import make_app
from custody_tui.config import ChainConfig, QuorumConfig, QuorumSignerConfig
from custody_tui.services import chain_socket
from tests.coldcard.quorum import WALLET_NAME
from tests.quorum.rig import MESSAGE_PATH, NAMES, QuorumRig, policy

from .conftest import test_config

POLICY_FILE = "quorum-policy.json"


class QuorumApp:
    """A rig plus an app factory whose config names the rig's devices and chain."""

    def __init__(self, data_dir: Path, clocks) -> None:
        self.data_dir = data_dir
        self.clocks = clocks
        self.rig = QuorumRig(data_dir)  # its chain at DATA_DIR/chain, where the config looks
        try:  # the rig's emulators are stopped even when the server cannot start
            self.server = ChainServer(self.rig.chain, chain_socket(data_dir))
            self.server.start()
        except BaseException:
            self.rig.close()
            raise
        (data_dir / POLICY_FILE).write_text(json.dumps(policy()))

    def config(self, **quorum_changes):
        signers = [QuorumSignerConfig(name=name, target=target, xfp=xfp_to_str(key.xfp))
                   for name, target, key in zip(NAMES, self.rig.targets, self.rig.keys, strict=True)]
        quorum = QuorumConfig(descriptor=self.rig.descriptor, wallet_name=WALLET_NAME, policy_file=POLICY_FILE,
                              message_path=MESSAGE_PATH, sign_timeout_seconds=10.0, poll_seconds=0.5,
                              heal_cooldown_seconds=0.0, signers=signers, **quorum_changes)
        return test_config(chain=ChainConfig(backend="embedded"), quorum=quorum)

    def app(self, *, armed: bool = True, **quorum_changes):
        app = make_app(self.config(**quorum_changes), self.data_dir, clocks=self.clocks, poll=False, actor="operator@test")
        if armed:
            assert all(s.live for s in app.services.quorum.arm())
        return app

    def close(self) -> None:
        self.server.stop()
        self.rig.close()


@pytest.fixture
def quorum_app(data_dir, clocks):
    harness = QuorumApp(data_dir, clocks)
    try:
        yield harness
    finally:
        harness.close()


class HeldGate:
    """A coordinator gate that holds a spend after pre-flight, before any device is asked,
    until released; then it refuses it, so that nothing is signed or broadcast."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, plan) -> None:
        self.reached.set()
        self.release.wait(20)
        raise GateRefused("held by the test, then refused")
