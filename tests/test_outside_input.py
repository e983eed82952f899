"""The limits every parser of outside input applies (backends/outside_input.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.outside_input import (
    MAX_DEPTH,
    OutsideInputRefused,
    excerpt,
    is_decimal,
    load_json,
    load_toml,
    parse_decimal,
    require_encodable,
    require_plain,
)

from .outside import deep, huge_numbers, mutations, nestings, odd_text, refused_or_parsed


@pytest.mark.parametrize("text", ["²", "٣", "1" * 21, "", "-1", "+1", " 1", "1_000", "0x1"])
def test_numbers_are_ascii_digits_within_the_cap(text):
    assert not is_decimal(text)
    with pytest.raises(OutsideInputRefused):
        parse_decimal(text)


def test_numbers_within_the_cap_parse():
    assert parse_decimal("0") == 0
    assert parse_decimal("9" * 20) == 10**20 - 1
    assert parse_decimal("1" * 4300, max_digits=5000) == int("1" * 4300)
    with pytest.raises(OutsideInputRefused):  # never past what int() itself accepts
        parse_decimal("1" * 4301, max_digits=5000)


def test_lone_surrogates_are_refused_where_they_appear():
    with pytest.raises(OutsideInputRefused):
        require_encodable("a\udc80")
    with pytest.raises(OutsideInputRefused):
        load_json(b'{"notes": "\\udc80"}', max_bytes=100)
    with pytest.raises(OutsideInputRefused):
        load_json(b'{"\\ud800": 1}', max_bytes=100)
    # a surrogate pair is one valid character
    assert load_json(b'["\\ud83d\\ude00"]', max_bytes=100) == ["\U0001f600"]


def test_nesting_is_refused_before_the_recursive_parser_sees_it():
    assert load_json(deep("[", "]", MAX_DEPTH), max_bytes=1000)
    for levels in (MAX_DEPTH + 1, 3000, 100_000):
        with pytest.raises(OutsideInputRefused, match="nests deeper"):
            load_json(deep("[", "]", levels), max_bytes=10**6)
        with pytest.raises(OutsideInputRefused, match="nests deeper"):
            load_toml("x = " + deep("[", "]", levels), max_bytes=10**6)
    with pytest.raises(OutsideInputRefused):
        load_toml("x = " + deep("{a=", "}", 330, "1"), max_bytes=10**6)


def test_brackets_inside_strings_and_comments_nest_nothing():
    assert load_json(json.dumps({"a": "[" * 500}), max_bytes=10**4) == {"a": "[" * 500}
    assert load_toml('a = "' + "[" * 500 + '"\n# ' + "{" * 500 + "\nb = '''" + "[" * 99 + "'''",
                     max_bytes=10**4)["b"] == "[" * 99


def test_decoded_documents_are_checked_without_recursion():
    value: list = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(OutsideInputRefused):
        require_plain(value)
    assert require_plain({"a": [1, {"b": "c"}]}) == {"a": [1, {"b": "c"}]}


def test_size_is_checked_first_and_nan_is_not_json():
    with pytest.raises(OutsideInputRefused, match="larger than 10 bytes"):
        load_json(b"[" + b" " * 20 + b"]", max_bytes=10)
    for constant in (b"NaN", b"[Infinity]", b"-Infinity"):
        with pytest.raises(OutsideInputRefused):
            load_json(constant, max_bytes=100)


def test_long_dotted_keys_are_refused_quickly():
    # 23,000 parts took 9.5 s inside tomllib before it refused the key
    with pytest.raises(OutsideInputRefused, match="dots"):
        refused_or_parsed(lambda t: load_toml(t, max_bytes=10**6), ".".join(["a"] * 23_000) + " = 1", ())


def test_excerpt_keeps_messages_short():
    assert excerpt("short") == "short"
    assert excerpt("x" * 5000) == "x" * 40 + "…"


outside_text = st.binary(max_size=300) | nestings("[", "]").map(str.encode) | odd_text.map(
    lambda t: t.encode("utf-8", "surrogatepass")
) | huge_numbers.map(lambda t: ("[" + t + "]").encode())


@settings(max_examples=150)
@given(outside_text | mutations(b'{"a": [1, 2.5, "x\\u00e9", {"b": null}], "c": true}'))
def test_json_reader_raises_only_value_errors(data):
    value = refused_or_parsed(lambda d: load_json(d, max_bytes=10**5), data, ValueError)
    if value is not None:
        require_plain(value)  # what it returns is always shallow and encodable


@settings(max_examples=150)
@given(outside_text | mutations(b'a = 1\n[t]\nb = "x"\nc = [1, {d = 2}]\ne.f.g = 3.5\n'))
def test_toml_reader_raises_only_value_errors(data):
    value = refused_or_parsed(lambda d: load_toml(d, max_bytes=10**5), data, ValueError)
    if value is not None:
        require_plain(value)
