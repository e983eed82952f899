"""The status line keeps every live item on an 80-column terminal; notices read as words."""

from __future__ import annotations

from screens.widgets.status import StatusItem, StatusLine

ITEMS = [StatusItem("chain", "embedded regtest #214"), StatusItem("keys", "unlocked 14:56", "warn"),
         StatusItem("quorum", "", "off"), StatusItem("alerts", "", "off")]


def test_what_is_not_configured_is_named_when_it_fits():
    assert StatusLine.line(ITEMS, 120).plain == (
        "chain: embedded regtest #214 │ keys: unlocked 14:56 │ not configured: quorum, alerts")


def test_what_is_not_configured_shrinks_to_a_count_so_live_items_stay_whole():
    line = StatusLine.line(ITEMS, 78).plain  # 80 columns less the padding
    assert line == "chain: embedded regtest #214 │ keys: unlocked 14:56 │ 2 not configured"
    assert len(line) <= 78


def test_error_notifications_are_titled_in_words_not_class_names():
    from backends.errors import CustodyError
    from backends.keystore import WrongPassphrase
    from screens.base import error_title

    assert error_title(WrongPassphrase("x")) == "Wrong passphrase"
    assert error_title(CustodyError("x")) == "Refused"
