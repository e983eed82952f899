"""A quorum rig for the tests: three emulator processes holding an enrolled, funded 2-of-3
on an embedded chain, and a coordinator over them (real ckcc client, real chain)."""

from __future__ import annotations

import shutil
from pathlib import Path

from backends.coldcard.emulator.keys import xfp_to_str
from backends.quorum import Coordinator, QuorumSpec, SignerSpec
from backends.wallet import descriptor_checksum
from backends.coldcard.emulator.keys import DeviceKeys
from tests.coldcard.emulators import COSIGNER_WORDS, EmulatorProcess, short_tempdir
from tests.coldcard.quorum import WALLET_NAME, descriptor

SINK = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
OFF_LIST = "bcrt1qft5p2uhsdcdc3l2ua4ap5qqfg4pjaqlp250x7us7a8qqhrxrxfsqseac85"
MINER = "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"
MAX_AMOUNT = 1_000_000
PER_PERIOD = 5_000_000
MESSAGE_PATH = "m/84h/1h/0h/0/0"
NAMES = ("a", "b", "c")


def policy(whitelist=(SINK,), max_amount=MAX_AMOUNT, per_period=PER_PERIOD) -> dict:
    return {"period": 60, "msg_paths": [MESSAGE_PATH], "notes": "custody-tui tests",
            "rules": [{"wallet": WALLET_NAME, "max_amount": max_amount, "per_period": per_period,
                       "whitelist": list(whitelist)}]}


def healed_by_the_poller(coordinator, timeout: float) -> None:
    """Start the coordinator's poller (with auto-heal) and wait until health is ``ok``."""
    import time

    coordinator.start_polling(heal=True)
    try:
        deadline = time.monotonic() + timeout
        while coordinator.health() != "ok":
            assert time.monotonic() < deadline, coordinator.statuses()
            time.sleep(0.1)
    finally:
        coordinator.stop_polling()


class QuorumRig:
    """``targets``: sockets of devices started elsewhere (official simulators holding
    ``COSIGNER_WORDS``); by default three emulator processes are started."""

    def __init__(self, base: Path, coins: int = 3, targets: list[str] | None = None) -> None:
        from backends.chain import EmbeddedChain

        self.base = Path(base)
        self.socket_base = short_tempdir()
        self.keys = [DeviceKeys(w, "XRT") for w in COSIGNER_WORDS]
        self.processes = [] if targets else [
            EmulatorProcess(name, words=w, chain="XRT", settings={"hsmcmd": 1}, base=self.socket_base)
            for name, w in zip(NAMES, COSIGNER_WORDS, strict=True)]
        self.chain = None
        try:  # a rig half built (an emulator slow to start on a busy machine) leaves no process behind
            for process in self.processes:
                process.start()
            self.targets = targets or [p.socket for p in self.processes]
            body = descriptor(self.keys)
            self.descriptor = f"{body}#{descriptor_checksum(body)}"
            self.chain = EmbeddedChain(self.base / "chain")
            self.chain.watch(self.descriptor, range_end=50, label="quorum")
            from backends.wallet import REGTEST, parse_descriptor

            wallet = parse_descriptor(self.descriptor, REGTEST)
            for index in range(coins):
                self.chain.mine(1, wallet.receive_address(index))
            self.chain.mine(100, MINER)
        except BaseException:
            self.close()
            raise

    def spec(self, **changes) -> QuorumSpec:
        signers = tuple(SignerSpec(name, target, xfp_to_str(key.xfp)) for name, target, key in
                        zip(NAMES, self.targets, self.keys, strict=True))
        values = dict(signers=signers, descriptor=self.descriptor, wallet_name=WALLET_NAME,
                      policy=policy(), network="regtest", message_path=MESSAGE_PATH,
                      sign_timeout_seconds=10.0, poll_seconds=0.5, heal_cooldown_seconds=0.0)
        values.update(changes)
        return QuorumSpec(**values)

    def coordinator(self, data_dir: Path, services=None, **changes) -> Coordinator:
        return Coordinator(self.spec(**changes), data_dir, chain=self.chain,
                           audited=services.audited if services is not None else None)

    def process(self, name: str):
        return self.processes[NAMES.index(name)]

    def close(self) -> None:
        if self.chain is not None:
            self.chain.close()
        for process in self.processes:
            process.stop()
        shutil.rmtree(self.socket_base, ignore_errors=True)
        shutil.rmtree(self.base, ignore_errors=True)
