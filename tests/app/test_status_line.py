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


#: a demo rig at 3 a.m.: every area configured, keys unlocked, a critical alert
BUSY = [StatusItem("chain", "embedded regtest #217", short="regtest #217"),
        StatusItem("quorum", "degraded 2/3 live", "warn", short="degraded 2/3"),
        StatusItem("alerts", "3 mint, 1 critical", "bad", short="3 (1 crit)"),
        StatusItem("keys", "unlocked 14:57", "warn")]


def test_every_live_item_stays_whole_at_80_columns_with_short_values():
    line = StatusLine.line(BUSY, 78).plain
    assert line == "chain regtest #217│quorum degraded 2/3│alerts 3 (1 crit)│keys unlocked 14:57"
    assert len(line) <= 78


def test_short_values_are_used_only_when_the_full_line_does_not_fit():
    assert StatusLine.line(BUSY, 118).plain == (
        "chain: embedded regtest #217 │ quorum: degraded 2/3 live │ alerts: 3 mint, 1 critical │ "
        "keys: unlocked 14:57")
    healthy = [*BUSY[:1], StatusItem("quorum", "ok 3/3 live", short="ok 3/3"), *BUSY[2:]]
    assert StatusLine.line(healthy, 78).plain == (
        "chain: regtest #217│quorum: ok 3/3│alerts: 3 (1 crit)│keys: unlocked 14:57")


def test_what_is_not_configured_goes_before_a_live_item_is_shortened():
    items = [StatusItem("chain", "embedded regtest #103", short="regtest #103"),
             StatusItem("quorum", "ok 3/3 live", short="ok 3/3"), StatusItem("keys", "not initialised", "warn"),
             StatusItem("alerts", "not configured", "off")]
    assert StatusLine.line(items, 78).plain == (
        "chain: embedded regtest #103 │ quorum: ok 3/3 live │ keys: not initialised")


def test_error_notifications_are_titled_in_words_not_class_names():
    from backends.errors import CustodyError
    from backends.keystore import WrongPassphrase
    from screens.base import error_title

    assert error_title(WrongPassphrase("x")) == "Wrong passphrase"
    assert error_title(CustodyError("x")) == "Refused"
