"""A 2-of-3 quorum of emulated Coldcards for signing tests and benchmarks."""

from __future__ import annotations

import contextlib
import shutil
import time

from ckcc.client import ColdcardDevice
from ckcc.protocol import CCProtocolPacker as P

from backends.coldcard.emulator.keys import DeviceKeys, xfp_to_str

from .emulators import COSIGNER_WORDS, EmulatorProcess, short_tempdir

ACCOUNT = "m/48h/1h/0h/2h"
WALLET_NAME = "quorum23"


def wallet_file(keys: list[DeviceKeys], name: str = WALLET_NAME) -> str:
    lines = [f"Name: {name}", "Policy: 2 of 3", f"Derivation: {ACCOUNT}", "Format: P2WSH", ""]
    lines += [f"{xfp_to_str(k.xfp)}: {k.xpub(ACCOUNT)}" for k in keys]
    return "\n".join(lines) + "\n"


def descriptor(keys: list[DeviceKeys]) -> str:
    parts = [f"[{k.fingerprint.hex()}/48h/1h/0h/2h]{k.xpub(ACCOUNT)}/<0;1>/*" for k in keys]
    return "wsh(sortedmulti(2,%s))" % ",".join(parts)


@contextlib.contextmanager
def device(path: str, **kw):
    dev = ColdcardDevice(sn=path, **kw)
    try:
        yield dev
    finally:
        dev.close()


def enrol(path: str, text: str) -> None:
    with device(path) as dev:
        length, sha = dev.upload_file(text.encode())
        dev.send_recv(P.multisig_enroll(length, sha))
        dev.send_recv(P.sim_keypress(b"y"))


def sign_with_keypress(path: str, psbt: bytes, *, finalize: bool = False) -> bytes:
    with device(path) as dev:
        length, sha = dev.upload_file(psbt)
        dev.send_recv(P.sign_transaction(length, sha, finalize=finalize))
        dev.send_recv(P.sim_keypress(b"y"))
        while True:
            done = dev.send_recv(P.get_signed_txn(), timeout=None)
            if done is not None:
                break
            time.sleep(0.05)
        result_len, result_sha = done
        return dev.download_file(result_len, result_sha)


class Quorum:
    def __init__(self, chain: str = "XRT") -> None:
        self.base = short_tempdir()
        self.keys = [DeviceKeys(w, chain) for w in COSIGNER_WORDS]
        self.processes = [EmulatorProcess(str(i), words=w, chain=chain, base=self.base)
                          for i, w in enumerate(COSIGNER_WORDS)]

    def start(self) -> Quorum:
        for p in self.processes:
            p.start()
        return self

    @property
    def paths(self) -> list[str]:
        return [p.socket for p in self.processes]

    def stop(self) -> None:
        for p in self.processes:
            p.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def funded_chain(quorum: Quorum, directory, *, coins: int, pay_to: str):
    """An embedded chain watching the quorum's descriptor, with ``coins`` mature coinbase
    coins at its first receive address; returns (chain, descriptor). Close the chain."""
    from backends.chain import EmbeddedChain
    from backends.wallet import REGTEST, parse_descriptor

    chain = EmbeddedChain(directory / "embedded")
    desc = parse_descriptor(descriptor(quorum.keys), REGTEST)
    chain.watch(str(desc), range_end=20, label="quorum")
    for _ in range(coins):
        chain.mine(1, desc.receive_address(0))
    chain.mine(100, pay_to)
    return chain, desc
