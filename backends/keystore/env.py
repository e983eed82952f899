"""The keystore passphrase for scripted, non-interactive use."""

from __future__ import annotations

import os
from collections.abc import Mapping

PASSPHRASE_ENV = "CUSTODY_TUI_PASSPHRASE"


def passphrase_from_env(environ: Mapping[str, str] = os.environ) -> str | None:
    """The passphrase from ``CUSTODY_TUI_PASSPHRASE``, or None when unset or empty."""
    value = environ.get(PASSPHRASE_ENV)
    return value or None
