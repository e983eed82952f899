"""A coordinator process that is SIGKILLed at a chosen point of a spend (run by the tests).

    python -m tests.quorum.crashing_spend SPEC_JSON DATA_DIR CHAIN_SOCKET before|after AMOUNT ADDRESS

``before``: killed as it hands the transaction to the chain (signed, never broadcast);
``after``: killed right after the chain accepted it, before the ledger records it."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path


class KilledAround:
    def __init__(self, chain, when: str) -> None:
        self._chain, self._when = chain, when

    def __getattr__(self, name):
        return getattr(self._chain, name)

    def broadcast(self, raw_tx: bytes) -> str:
        if self._when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        txid = self._chain.broadcast(raw_tx)
        os.kill(os.getpid(), signal.SIGKILL)
        return txid


def main() -> None:
    from backends.chain import RemoteChain
    from backends.quorum import Coordinator, QuorumSpec, SignerSpec

    spec_json, data_dir, socket, when, amount, address = sys.argv[1:]
    raw = json.loads(spec_json)
    raw["signers"] = tuple(SignerSpec(**s) for s in raw["signers"])
    chain = KilledAround(RemoteChain(socket), when)
    coordinator = Coordinator(QuorumSpec(**raw), Path(data_dir), chain=chain)
    for event in coordinator.spend(int(amount), address):
        print(event, flush=True)
    sys.exit(3)  # never reached: the process is killed first


if __name__ == "__main__":
    main()
