"""Loading the official vector files copied unchanged under tests/vectors/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def load(folder: str, name: str) -> dict:
    return json.loads((VECTORS / folder / name).read_text())


def h(x: str | None) -> bytes | None:
    return None if x is None else bytes.fromhex(x)


def cases(data: dict, *kinds: str) -> list:
    """pytest params (group, kind, case) over every case of the given kinds, the comment as id."""
    groups = data.get("test_groups", [data])
    out = []
    for group in groups:
        for kind in kinds:
            for case in group.get(kind, []):
                label = f"{group.get('tg_id', '')}-{kind}-{case.get('tc_id', '')}-{case.get('comment', '')}"
                out.append(pytest.param(group, kind, case, id=label))
    return out
