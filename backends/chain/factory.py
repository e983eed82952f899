"""``open_chain``: the one place that turns configuration into a ``Chain``."""

from __future__ import annotations

from pathlib import Path

from .errors import ChainError
from .interface import Chain


def open_chain(
    backend: str = "embedded", *, data_dir: Path | str | None = None,
    rpc_url: str | None = None, rpc_user: str | None = None, rpc_password: str | None = None,
    rpc_cookie_file: Path | str | None = None, wallet: str = "custody-watch", timeout: float = 30.0,
    auto_mine_interval: float | None = None, auto_mine_to: str | bytes | None = None,
) -> Chain:
    """Open the configured chain backend (``[chain]`` in the config file).

    - ``embedded``: a regtest chain in ``data_dir`` (required); optional auto-mining.
    - ``bitcoind``: Bitcoin Core at ``rpc_url`` with user/password or a cookie file; with
      ``data_dir``, what it reads of the node's wallet is kept there for the next connection.
    """
    if backend == "embedded":
        if data_dir is None:
            raise ChainError("the embedded chain needs a data directory")
        from .embedded import EmbeddedChain

        return EmbeddedChain(data_dir, auto_mine_interval=auto_mine_interval, auto_mine_to=auto_mine_to)
    if backend == "bitcoind":
        if not rpc_url:
            raise ChainError("chain.bitcoind.url is required for the bitcoind backend, e.g. http://127.0.0.1:8332")
        if rpc_cookie_file is None and rpc_user is None:
            raise ChainError("bitcoind needs chain.bitcoind.cookie_file, or chain.bitcoind.user and password")
        from .bitcoind import Bitcoind

        return Bitcoind(rpc_url, wallet=wallet, user=rpc_user, password=rpc_password,
                        cookie_file=rpc_cookie_file, timeout=timeout, cache_dir=data_dir)
    raise ChainError(f"chain.backend must be \"embedded\" or \"bitcoind\", not {backend!r}")
