"""A small demo mint for the Reserves screen tests: the rig's own code (``demo_mint``) on a
smaller reserve, built once per session on the embedded chain and copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

from custody_tui.config import ChainConfig, load_config, render_toml
from custody_tui.demo import _prepare_chain, _prepare_keystore
from custody_tui.demo_mint import ReservePlan, prepare_mint
from custody_tui.services import Services

from .conftest import test_config

#: 12 deposits, 30 small and 10 medium coins (fragmentation 58%); three redemptions, the last
#: of 1 BTC, more than the 8 largest coins (0.8 BTC) can pay
SMALL_RESERVE = ReservePlan(deposits=12, small_coins=30, medium_coins=10,
                            redemptions=((1_000_000, 2), (1_000_000, 3), (10_000_000, 10)), notes_held=0)


def build_template(directory: Path) -> Path:
    directory.mkdir(mode=0o700)
    config = test_config(chain=ChainConfig(backend="embedded"))
    (directory / "config.toml").write_text(render_toml(config))
    services = Services(config, directory)
    try:
        _prepare_keystore(services)
        _prepare_chain(services)
        prepare_mint(services, SMALL_RESERVE)
    finally:
        services.close()
    return directory


def install(template: Path, data_dir: Path):
    """The template's files in ``data_dir``; returns its config."""
    shutil.copytree(template, data_dir, dirs_exist_ok=True)
    return load_config(data_dir / "config.toml")
