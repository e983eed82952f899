"""Bad input to the emulator's own parsers: multisig wallet files and its saved state.
(USB reports and commands are fuzzed in test_fuzz.py.)"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.coldcard.emulator.keys import DeviceKeys
from backends.coldcard.emulator.multisig import parse_wallet_file
from backends.coldcard.emulator.state import DeviceState
from backends.coldcard.errors import DeviceStateUnreadable

from ..outside import huge_numbers, mutations, nestings, odd_text, refused_or_parsed, snapshot
from .emulators import COSIGNER_WORDS
from .quorum import wallet_file

KEYS = [DeviceKeys(words, "XTN") for words in COSIGNER_WORDS[:3]]
VALID = wallet_file(KEYS)


def test_the_valid_wallet_file_parses():
    assert parse_wallet_file(VALID, KEYS[0]).m == 2


@settings(max_examples=150)
@given(mutations(VALID.encode()).map(lambda b: b.decode("utf-8", "replace")) | odd_text
       | huge_numbers.map(lambda n: VALID.replace("2 of 3", f"{n} of 3"))
       | huge_numbers.map(lambda n: VALID.replace("Policy: 2 of 3", f"Policy: 2 of {n}"))
       | huge_numbers.map(lambda n: VALID.replace("/48h/", f"/{n}h/", 1)))
def test_a_wallet_file_is_enrolled_or_refused_with_the_devices_words(text):
    # the device answers AssertionError/ValueError as err_<text>; nothing else may escape
    refused_or_parsed(lambda t: parse_wallet_file(t, KEYS[0]), text, (AssertionError, ValueError))


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200) | nestings().map(str.encode) | mutations(b'{"words": "abandon", "chain": "XTN"}'))
def test_damaged_saved_state_is_refused_and_left_alone(tmp_path, data):
    (tmp_path / "settings.json").write_bytes(data)
    before = snapshot(tmp_path)
    refused_or_parsed(DeviceState, tmp_path, DeviceStateUnreadable)
    assert snapshot(tmp_path) == before
