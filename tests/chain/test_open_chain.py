"""Configuration to backend, and the layering rule."""

from __future__ import annotations

import subprocess
import sys

import pytest

from backends.chain import ChainError, EmbeddedChain, open_chain


def test_default_backend_is_the_embedded_regtest_chain(tmp_path):
    chain = open_chain(data_dir=tmp_path / "chain")
    try:
        assert isinstance(chain, EmbeddedChain)
        assert (chain.backend_name, chain.network, chain.tip().height) == ("embedded", "regtest", 0)
    finally:
        chain.close()


@pytest.mark.parametrize("kwargs,names", [
    ({"backend": "embedded"}, "data directory"),
    ({"backend": "bitcoind"}, "chain.bitcoind.url"),
    ({"backend": "bitcoind", "rpc_url": "http://127.0.0.1:8332"}, "chain.bitcoind.cookie_file"),
    ({"backend": "electrum"}, "chain.backend"),
])
def test_incomplete_configuration_names_the_key(kwargs, names):
    with pytest.raises(ChainError, match=names):
        open_chain(**kwargs)


def test_chain_backend_code_imports_neither_textual_nor_rich():
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "backends" / "chain"
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] in ("textual", "rich") for n in names), source.name
    # (httpx itself pulls in rich when it is installed, for its CLI; textual must never load)
    code = "import sys, backends.chain.embedded, backends.chain.bitcoind; print([m for m in sys.modules if m.startswith('textual')])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
