"""Bad input to the config reader and the command line: a typed error and exit 1 (or
argparse's usage error, exit 2), never a traceback or a hang (issue 14)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody_tui.cli import main
from custody_tui.config import Config, ConfigError, _toml_value, load_config, render_toml

from ..outside import deep, huge_numbers, mutations, nestings, odd_text, refused_or_parsed, snapshot, within

VALID = (b'network = "regtest"\n[chain]\nbackend = "bitcoind"\n[chain.bitcoind]\n'
         b'url = "http://127.0.0.1:18443"\nuser = "ops"\ntimeout_seconds = 3.5\n[ui]\npoll_seconds = 2\n')


def _load(tmp_path: Path, data: bytes | str) -> Config | None:
    path = tmp_path / "config.toml"
    path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return refused_or_parsed(load_config, path, ConfigError)


@pytest.mark.parametrize("text", [
    "x = " + deep("[", "]", 500),
    "x = " + deep("{a = ", "}", 330, "1"),
    "x = " + "1" * 4301,
    ".".join(["a"] * 23_000) + " = 1",  # took 9.5 s in tomllib
    ".".join(["a"] * 40_000) + " = 1",
    "a = 1\n" * 20_000,  # over the size cap
], ids=["500-arrays", "330-tables", "4301-digits", "23000-dots", "40000-dots", "oversized"])
def test_hostile_config_files_are_config_errors(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with within(), pytest.raises(ConfigError, match="config.toml"):
        load_config(path)


@pytest.mark.parametrize("url", ["http://\x00/", "http://host\x00:8332", "http://ho\nst:8332", "http://\x7f:1/"])
def test_a_bitcoind_url_with_control_characters_is_refused(tmp_path, url):
    path = tmp_path / "config.toml"
    path.write_text(f"[chain.bitcoind]\nurl = {_toml_value(url)}\n")
    with pytest.raises(ConfigError, match="chain.bitcoind.url must not hold control characters"):
        load_config(path)


@pytest.mark.parametrize("user", ["\x7f", "a\x00b", "tab\there", "\x1b[31mred", 'quote"and\\slash', "\u2028"])
def test_config_show_output_loads_again(tmp_path, capsys, user):
    path = tmp_path / "config.toml"
    path.write_text("[chain.bitcoind]\nuser = " + '"' + "".join(
        f"\\u{ord(c):04x}" for c in user) + '"\n')  # every character escaped, as a person might
    config = load_config(path)
    assert config.chain.bitcoind.user == user
    assert main(["--config", str(path), "config", "show"]) == 0
    shown = tmp_path / "shown.toml"
    shown.write_text(capsys.readouterr().out)
    assert load_config(shown) == config


def _string_fields(obj, prefix=""):
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _string_fields(value, f"{prefix}{f.name}.")
        elif isinstance(value, str) and not f.metadata.get("secret"):
            yield f"{prefix}{f.name}"


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=30), field=st.sampled_from(list(_string_fields(Config()))))
def test_any_accepted_config_round_trips_through_config_show(tmp_path, text, field):
    *tables, key = field.split(".")
    body = (f"[{'.'.join(tables)}]\n" if tables else "") + f"{key} = {_toml_value(text)}\n"
    config = _load(tmp_path, body)
    if config is not None:
        shown = tmp_path / "shown.toml"
        shown.write_text(render_toml(config, redact=False))
        assert load_config(shown) == config


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | mutations(VALID) | nestings().map(lambda t: b"x = " + t.encode())
       | nestings("{a=", "}").map(lambda t: b"x = " + t.encode())
       | huge_numbers.map(lambda n: VALID.replace(b"2\n", n.encode() + b"\n"))
       | odd_text.map(lambda t: VALID.replace(b"ops", t.encode("unicode_escape"))))
def test_config_reading_raises_only_config_errors(tmp_path, data):
    _load(tmp_path, data)


ARGUMENTS = odd_text | huge_numbers | st.sampled_from(["-", "--", "--json", "m/" + "1" * 4301, "\x00"])
COMMANDS = st.sampled_from([
    ["keys", "xpub"], ["keys", "verify"], ["keys", "address"], ["keys", "list"], ["chain", "tx"],
    ["chain", "watch"], ["audit", "list", "--limit"], ["audit", "list", "--grep"], ["audit", "verify"],
    ["config", "show"],
])


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=COMMANDS, arguments=st.lists(ARGUMENTS, max_size=3))
def test_command_line_arguments_give_an_exit_status_not_a_traceback(tmp_path, capsys, command, arguments):
    data_dir = tmp_path / "data"
    (tmp_path / "config.toml").write_text("")
    before = snapshot(tmp_path)
    arguments = [a for a in arguments if "\x00" not in a]  # the kernel refuses NUL in argv
    with within():
        try:
            status = main(["--config", str(tmp_path / "config.toml"), "--data-dir", str(data_dir),
                           *command, *arguments])
        except SystemExit as exc:  # argparse's usage error
            status = exc.code
    assert status in (0, 1, 2)
    assert "Traceback" not in capsys.readouterr().err
    if status != 0:
        # a refused command changes no file it finds, except the audit log recording the refusal
        after = snapshot(tmp_path)
        assert _not_audit({k: v for k, v in after.items() if k in before}) == _not_audit(before)


def _not_audit(files: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in files.items() if "audit" not in k}
