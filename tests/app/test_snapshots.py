"""Every screen at 80x24, frozen clock, fixed theme: a change in what an operator sees
shows up here. Update with --snapshot-update after a deliberate change, and review."""

from __future__ import annotations

import pytest

from .pilot import settle
from .conftest import PASSPHRASE

ABANDON = " ".join(["abandon"] * 11 + ["about"])
SIZE = (80, 24)



def press_then_settle(*keys: str):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("key", ["1", "2", "3", "4", "5", "6", "7", "8"])
def test_each_area_on_an_empty_data_dir(snap_compare, app_factory, key):
    assert snap_compare(app_factory(), run_before=press_then_settle(key), terminal_size=SIZE)


def populated(app):
    keystore = app.services.keystore
    with app.services.audited("keys", "initialise"):
        keystore.initialize(PASSPHRASE)
    with app.services.audited("keys", "unlock", ttl_seconds=300):
        keystore.unlock(PASSPHRASE, 300)
    with app.services.audited("keys", "import-mnemonic", label="cold") as result:
        result["fingerprint"] = keystore.import_mnemonic("cold", ABANDON).fingerprint
    return app


def test_keys_unlocked_with_an_entry(snap_compare, app_factory):
    assert snap_compare(populated(app_factory()), run_before=press_then_settle("7"),
                        terminal_size=SIZE)


def test_audit_verified(snap_compare, app_factory):
    assert snap_compare(populated(app_factory()), run_before=press_then_settle("8", "v"),
                        terminal_size=SIZE)


def test_dashboard_with_state(snap_compare, app_factory):
    assert snap_compare(populated(app_factory()), run_before=press_then_settle("r"),
                        terminal_size=SIZE)


def test_help(snap_compare, app_factory):
    assert snap_compare(app_factory(), run_before=press_then_settle("f1"), terminal_size=SIZE)


def test_unlock_dialog(snap_compare, app_factory):
    app = app_factory()
    app.services.keystore.initialize(PASSPHRASE)
    assert snap_compare(app, run_before=press_then_settle("7", "u"), terminal_size=SIZE)
