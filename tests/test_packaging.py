"""An installed copy (a wheel, not this checkout) carries the stylesheets and the three
import packages."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_ships_packages_and_assets(tmp_path):
    # no build isolation: the test extra installed hatchling, so no index is needed here
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("custody_tui-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "custody_tui/assets/app.tcss" in names
    for package in ("custody_tui", "screens", "backends"):
        assert f"{package}/__init__.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "custody-tui = custody_tui.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
