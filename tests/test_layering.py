"""The wall between UI and logic: backends never import textual or rich (DESIGN.md)."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import backends

ROOT = Path(__file__).resolve().parent.parent
UI_MODULES = ("textual", "rich")


def backend_modules() -> list[str]:
    return sorted(
        info.name for info in pkgutil.walk_packages(backends.__path__, prefix="backends.")
    )


def test_no_backend_source_mentions_an_ui_import():
    offenders = []
    for path in (ROOT / "backends").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in UI_MODULES + ("screens", "custody_tui"):
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_importing_every_backend_loads_no_textual():
    # The static check cannot see imports made at run time. (rich is not checked here:
    # httpx loads it for its own command line whenever click is installed.)
    code = (
        "import importlib, sys\n"
        f"for name in {backend_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=ROOT).stdout
    assert out.strip() == "[]"


def test_screens_never_import_the_app_shell():
    offenders = []
    for path in (ROOT / "screens").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] == "custody_tui":
                    offenders.append(f"{path.relative_to(ROOT)} imports {node.module}")
    assert offenders == []
