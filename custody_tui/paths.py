"""Where custody-tui keeps its configuration and its data (XDG base directories)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path, user_data_path

APP_NAME = "custody-tui"
CONFIG_FILE_NAME = "config.toml"
#: an environment variable that names the config file, for scripts and CI
CONFIG_ENV = "CUSTODY_TUI_CONFIG"


def default_config_file() -> Path:
    return user_config_path(APP_NAME) / CONFIG_FILE_NAME


def default_data_dir() -> Path:
    return user_data_path(APP_NAME)


def resolve_config_file(explicit: Path | None, data_dir: Path | None) -> Path:
    """Pick the config file: ``--config``, then $CUSTODY_TUI_CONFIG, then a config.toml
    inside ``--data-dir`` (a data dir such as the demo rig's carries its own), then the
    XDG config file. The file need not exist; defaults apply then."""
    if explicit is not None:
        return explicit
    if env := os.environ.get(CONFIG_ENV):
        return Path(env)
    if data_dir is not None and (data_dir / CONFIG_FILE_NAME).exists():
        return data_dir / CONFIG_FILE_NAME
    return default_config_file()


def assets_dir() -> Path:
    """The ``assets/`` folder: inside the installed package (a wheel maps it there), or
    beside the packages in a source checkout."""
    packaged = Path(__file__).resolve().parent / "assets"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "assets"
