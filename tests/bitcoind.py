"""Which Bitcoin Core the suite checks custody-tui against, and one regtest node per session.

The rule (README, "Testing against Bitcoin Core"): ``BITCOIND`` names the binary; when it is
unset and ``<repo>/../shared/oracles/bitcoind/bitcoind`` exists (CI clones the repository beside
``shared/``), that one is used. A binary that cannot run (a missing shared library) or no binary
at all skips the node's tests with the reason.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ORACLE = Path("..") / "shared" / "oracles" / "bitcoind" / "bitcoind"


def locate_bitcoind(environ=os.environ, repo_root: Path = REPO_ROOT) -> tuple[str | None, str]:
    """(binary, "") when a runnable bitcoind is configured or beside the clone, else (None, why not)."""
    from backends.chain.regtest_node import cannot_run

    named = environ.get("BITCOIND")
    if named:
        if not Path(named).is_file():
            return None, f"BITCOIND={named} is not a file"
        binary = named
    else:
        beside = (repo_root / ORACLE).resolve()
        if not beside.is_file():
            return None, (f"no Bitcoin Core: set BITCOIND=/path/to/bitcoind (Core >= 26), or place it at "
                          f"{repo_root / ORACLE}")
        binary = str(beside)
    why = cannot_run(binary)
    return (None, why) if why else (binary, "")


class SessionNode:
    """A regtest node shared by the session: each test gets a fresh watch-only wallet on it and
    finds the chain back at genesis, so tests stay independent at the cost of one node start."""

    def __init__(self, binary: str, datadir: Path) -> None:
        from backends.chain.regtest_node import RegtestNode

        self.node = RegtestNode(binary, datadir).start()
        self._wallets = 0

    def open_chain(self):
        from backends.chain import Bitcoind

        self._wallets += 1
        # saving in a data dir as the app does, so that every contract test runs through it
        return Bitcoind(self.node.url, cookie_file=self.node.cookie_file, wallet=f"test-{self._wallets}", timeout=120,
                        cache_dir=self.node.datadir / "custody-cache")

    def reset(self, chain) -> None:
        """Unload the test's wallet and rewind the chain to genesis (its mempool empties with it:
        every test transaction descends from a coinbase of the rewound blocks)."""
        rpc = self.node.rpc()
        try:
            if chain is not None:
                rpc.call("unloadwallet", chain.wallet)
            if rpc.call("getblockcount") > 0:
                first = rpc.call("getblockhash", 1)
                first_time = rpc.call("getblockheader", first)["time"]
                rpc.call("invalidateblock", first, timeout=600)
                # the next block 1 must differ from the invalidated one (same coinbase, same
                # second would be the same, now invalid, block)
                while time.time() < first_time + 1:
                    time.sleep(0.05)
            left = rpc.call("getrawmempool")
            assert not left, f"the rewound node kept {len(left)} mempool transactions"
        finally:
            rpc.close()

    def stop(self) -> None:
        self.node.stop()
