"""``[quorum]`` and ``[[quorum.signers]]``: read, rendered back, and every mistake named."""

from __future__ import annotations

import json

import pytest

from backends.coldcard.emulator.keys import DeviceKeys, xfp_to_str
from backends.quorum import QuorumConfigError, coldcard_wallet_file, load_policy
from backends.wallet import descriptor_checksum
from custody_tui.config import ConfigError, config_from_dict, load_config, render_toml
from custody_tui.services import quorum_spec
from tests.coldcard.emulators import COSIGNER_WORDS
from tests.coldcard.quorum import descriptor

from .rig import policy

KEYS = [DeviceKeys(w, "XRT") for w in COSIGNER_WORDS]
XFPS = [xfp_to_str(k.xfp) for k in KEYS]
BODY = descriptor(KEYS)
DESCRIPTOR = f"{BODY}#{descriptor_checksum(BODY)}"
NESTED = f"sh({BODY})#{descriptor_checksum(f'sh({BODY})')}"  # the same keys, nested in P2SH


def raw(**quorum_changes) -> dict:
    signers = [{"name": n, "target": f"/tmp/q/cc-{n}.sock", "xfp": x} for n, x in zip("abc", XFPS, strict=True)]
    quorum = {"descriptor": DESCRIPTOR, "wallet_name": "quorum23", "policy_file": "policy.json",
              "signers": signers}
    quorum.update(quorum_changes)
    return {"network": "regtest", "quorum": quorum}


def test_a_quorum_config_is_read_and_written_back_as_the_same_toml(tmp_path):
    config = config_from_dict(raw())
    assert [s.name for s in config.quorum.signers] == ["a", "b", "c"]
    text = render_toml(config)
    assert text.count("[[quorum.signers]]") == 3
    path = tmp_path / "config.toml"
    path.write_text(text)
    assert load_config(path) == config


def signer_change(index: int, **changes) -> dict:
    data = raw()
    data["quorum"]["signers"][index].update(changes)
    return data


@pytest.mark.parametrize("data, named", [
    (signer_change(1, colour="red"), "unknown key 'quorum.signers[1].colour'"),
    (signer_change(2, name="a"), "quorum.signers[2].name 'a' is also quorum.signers[0].name"),
    (signer_change(1, xfp=XFPS[0].lower()), "quorum.signers[1].xfp"),
    (signer_change(0, xfp="12345"), "quorum.signers[0].xfp must be 8 hex digits"),
    (signer_change(0, target=""), "quorum.signers[0].target"),
    (signer_change(2, target="/home/op/.local/cc-c.sock"), "quorum.signers[2].target is in a directory with a dot"),
    (signer_change(0, xfp="DEADBEEF"), "quorum.descriptor: its keys' fingerprints are"),
    (raw(descriptor=BODY + "#qqqqqqqq"), "quorum.descriptor"),
    (raw(descriptor=BODY), "quorum.descriptor"),
    (raw(descriptor=NESTED), "quorum.descriptor: is sh(wsh(sortedmulti(2,...))); the quorum signs native wsh"),
    (raw(wallet_name=""), "quorum.wallet_name"),
    (raw(policy_file=""), "quorum.policy_file"),
    (raw(signers={"name": "a"}), "quorum.signers must be an array of tables"),
    (raw(fee_rate=0), "quorum.fee_rate"),
    (raw(fee_rate=float("inf")), "quorum.fee_rate must be a finite number"),
    (raw(fee_rate=2000), "quorum.fee_rate must be at most 1000"),
    (raw(sign_timeout_seconds=float("inf")), "quorum.sign_timeout_seconds must be a finite number"),
    (raw(poll_seconds=float("inf")), "quorum.poll_seconds must be a finite number"),
], ids=["unknown-key", "duplicate-name", "duplicate-xfp", "bad-xfp", "no-target", "dotted-socket-dir", "xfp-not-in-descriptor",
        "bad-checksum", "no-checksum", "nested-in-p2sh", "no-wallet-name", "no-policy", "not-an-array", "zero-fee-rate",
        "infinite-fee-rate", "absurd-fee-rate", "infinite-sign-timeout", "infinite-poll"])
def test_quorum_config_mistakes_are_refused_by_name(data, named):
    with pytest.raises(ConfigError) as err:
        config_from_dict(data)
    assert named in str(err.value)


def test_a_policy_file_the_device_would_refuse_is_refused_by_the_coordinator_with_the_devices_words(tmp_path):
    config = config_from_dict(raw())
    (tmp_path / "policy.json").write_text(json.dumps({"rules": [{"max_amount": 5, "bogus": 1}]}))
    with pytest.raises(QuorumConfigError) as err:
        quorum_spec(config, tmp_path)
    assert "quorum.policy_file" in str(err.value) and "bogus" in str(err.value)
    (tmp_path / "policy.json").write_text("{not json")
    with pytest.raises(QuorumConfigError, match="is not JSON"):
        load_policy(tmp_path / "policy.json")


def test_the_spec_reads_the_policy_relative_to_the_data_dir_and_the_wallet_file_lists_every_key(tmp_path):
    (tmp_path / "policy.json").write_text(json.dumps(policy()))
    spec = quorum_spec(config_from_dict(raw()), tmp_path)
    assert spec.policy == policy() and spec.threshold == 2
    text = coldcard_wallet_file(spec)
    assert "Name: quorum23" in text and "Policy: 2 of 3" in text and "Derivation: m/48h/1h/0h/2h" in text
    assert all(f"{x}: " in text for x in XFPS)


from hypothesis import given
from hypothesis import strategies as st

_values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12),
                    st.lists(st.integers(), max_size=2))
_signer = st.dictionaries(st.sampled_from(["name", "target", "xfp", "enabled", "message_path", "extra"]),
                          _values, max_size=6)


@given(signers=st.one_of(_values, st.lists(st.one_of(_signer, _values), max_size=4)),
       descriptor=st.one_of(st.just(DESCRIPTOR), st.text(max_size=30), st.integers()))
def test_any_quorum_table_is_read_or_refused_with_a_config_error(signers, descriptor):
    data = raw(descriptor=descriptor)
    data["quorum"]["signers"] = signers
    try:
        config = config_from_dict({k: v for k, v in data.items() if k != "quorum"} | {"quorum": {
            k: v for k, v in data["quorum"].items() if v is not None}})
    except ConfigError as exc:
        assert str(exc).startswith("<config>: ") and "quorum" in str(exc)
    else:
        assert config.quorum.descriptor == DESCRIPTOR or not config.quorum.signers


def test_quorum_commands_without_a_configured_quorum_say_how_to_configure_one(tmp_path, capsys):
    from custody_tui.cli import main

    assert main(["--data-dir", str(tmp_path), "quorum", "status"]) == 1
    err = capsys.readouterr().err
    assert "no signer quorum is configured" in err and "[[quorum.signers]]" in err


def test_a_spec_holding_a_nested_descriptor_is_refused_before_a_wallet_file_is_written(tmp_path):
    """The config refuses sh(wsh(...)); a spec built around it anyway (a caller past the config)
    gets the same typed refusal, never a P2WSH wallet file for P2SH addresses."""
    import dataclasses

    (tmp_path / "policy.json").write_text(json.dumps(policy()))
    spec = dataclasses.replace(quorum_spec(config_from_dict(raw()), tmp_path), descriptor=NESTED)
    for use in (coldcard_wallet_file, lambda s: s.threshold, lambda s: s.wallet):
        with pytest.raises(QuorumConfigError, match=r"sh\(wsh\(sortedmulti\(2,...\)\)\)"):
            use(spec)
