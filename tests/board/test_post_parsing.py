"""Property tests: whatever bytes sit in a post file, reading it gives a verified post or
a typed refusal naming the poster, within the time bound."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backends.board import PostRejected, make_post, parse_post
from tests.outside import deep, huge_numbers, mutations, nestings, odd_text, refused_or_parsed

from .conftest import ROSTER, host_key, host_pub

CEREMONY = "fedcba9876543210fedcba9876543210"
ALICE = host_pub("alice").hex()
_, VALID = make_post(CEREMONY, "round1", {"commitments": ["02" * 33, "03" * 33], "index": 1}, host_key("alice"))


def read(data: bytes):
    return parse_post(data, ceremony=CEREMONY, phase="round1", poster_hex=ALICE, roster=ROSTER)


def test_the_valid_post_reads():
    assert read(VALID).body["index"] == 1


def _in_a_post(inner: str) -> bytes:
    return VALID.replace(b'"index":1', b'"index":' + inner.encode("utf-8", "surrogatepass"))


hostile = (
    st.binary(max_size=512)
    | mutations(VALID)
    | nestings().map(lambda text: text.encode())
    | nestings("{\"a\":", "}").map(_in_a_post)
    | huge_numbers.map(_in_a_post)
    | odd_text.map(lambda text: _in_a_post('"' + text + '"'))
    | st.sampled_from(["1e999", "1.5", "NaN", "-Infinity", '"\\udc80"', '"\\ud800"', "18446744073709551616"])
    .map(_in_a_post)
    | st.just(deep("[", "]", 100_000).encode())
)


@given(hostile)
def test_hostile_post_files_are_refused_naming_the_poster(data: bytes):
    post = refused_or_parsed(read, data, PostRejected)
    if post is None:
        try:
            read(data)
        except PostRejected as exc:
            assert exc.poster and exc.poster.startswith("alice")
    else:
        assert data == VALID  # any change to a signed post is refused
