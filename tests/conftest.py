"""Fixtures shared by every test: a deterministic environment for Textual."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def deterministic_textual(monkeypatch: pytest.MonkeyPatch) -> None:
    # settings that leak into rendering (research/textual.md, snapshot gotchas)
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    monkeypatch.delenv("CUSTODY_TUI_CONFIG", raising=False)
    monkeypatch.delenv("CUSTODY_TUI_PASSPHRASE", raising=False)
