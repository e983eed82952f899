"""The backend-contract fixture: every contract test runs against the embedded chain, against
the embedded chain served over a socket to a RemoteChain, and against a real regtest bitcoind
when one is available (tests/bitcoind.py says which)."""

from __future__ import annotations

import pytest

BACKENDS = ["embedded", "remote", "bitcoind"]


@pytest.fixture(params=BACKENDS)
def chain(request, tmp_path):
    if request.param == "embedded":
        from backends.chain import EmbeddedChain

        opened = EmbeddedChain(tmp_path / "embedded")
        yield opened
        opened.close()
        return
    if request.param == "remote":
        yield from _served_embedded_chain(tmp_path)
        return
    yield request.getfixturevalue("core_chain")  # the session's Bitcoin Core, a fresh wallet (tests/bitcoind.py)


def _served_embedded_chain(tmp_path):
    """A RemoteChain talking to a ChainServer that wraps an EmbeddedChain, all in this process."""
    from backends.chain import ChainServer, EmbeddedChain, RemoteChain

    served = EmbeddedChain(tmp_path / "embedded")
    server = ChainServer(served, tmp_path / "chain.sock")
    try:
        server.start()
        remote = RemoteChain(server.socket_path, timeout=60)
        try:
            yield remote
        finally:
            remote.close()
    finally:
        server.stop()
        served.close()


@pytest.fixture
def embedded(tmp_path):
    from backends.chain import EmbeddedChain

    opened = EmbeddedChain(tmp_path / "chain")
    yield opened
    opened.close()
