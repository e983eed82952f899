from pathlib import Path

import pytest

from custody_tui.cli import main
from custody_tui.config import (
    Config,
    ConfigError,
    config_to_dict,
    default_config_text,
    load_config,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_missing_file_gives_defaults(tmp_path):
    assert load_config(tmp_path / "absent.toml") == Config()


def test_values_are_read_into_typed_sections(tmp_path):
    path = write(tmp_path, 'network = "regtest"\n[chain]\nbackend = "embedded"\n'
                 "auto_mine_seconds = 5\nauto_mine_address = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080'\n"
                 "[chain.bitcoind]\ntimeout_seconds = 3\n")
    config = load_config(path)
    assert config.network == "regtest"
    assert config.chain.backend == "embedded"
    assert config.chain.auto_mine_seconds == 5.0
    assert config.chain.bitcoind.timeout_seconds == 3.0


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("netwrok = 'main'\n", "unknown key 'netwrok'"),
        ("[chain]\nbackned = 'none'\n", "unknown key 'chain.backned'"),
        ("[chain.bitcoind]\nurll = 'x'\n", "unknown key 'chain.bitcoind.urll'"),
        ("network = 'mainnet'\n", "network must be one of"),
        ("[keystore]\nunlock_ttl_seconds = 'long'\n", "keystore.unlock_ttl_seconds must be an integer"),
        ("[keystore]\nunlock_ttl_seconds = 1\n", "keystore.unlock_ttl_seconds must be at least 10"),
        ("[chain.bitcoind]\nurl = 'localhost:8332'\n", "chain.bitcoind.url must be an http"),
        ("[chain.bitcoind]\nurl = 'http://ops:s3cret@node:8332'\n",
         "chain.bitcoind.url must not carry credentials"),
        ("demo = 'yes'\n", "demo must be true or false"),
        ("chain = 3\n", "chain must be a table"),
        ("[chain]\nauto_mine_seconds = 5\n", "chain.auto_mine_address is required"),
        ("network = \n", "not valid TOML"),
        ("[chain.bitcoind]\nurl = 'http://127.0.0.1:notaport'\n", "chain.bitcoind.url is not a valid URL"),
        ("[chain.bitcoind]\nurl = 'http://[::1'\n", "chain.bitcoind.url is not a valid URL"),
        # a relay URL websockets cannot open stopped the whole bunker (every relay) at start
        ("[bunker]\nrelays = 'ws://127.0.0.1:7447, ws://127.0.0.1:99999'\n", "bunker.relays has an invalid URL"),
        ("[bunker]\nrelays = 'ws://[::1'\n", "bunker.relays has an invalid URL"),
        ("[bunker]\nrelays = 'ws://'\n", "bunker.relays names no host"),
        ("[ui]\ntheme = 'nope'\n", "ui.theme is not a Textual theme: 'nope'"),
        ("[keystore]\nkdf_memlimit_mib = 100000000\n", "keystore.kdf_memlimit_mib must be 8 to 4096"),
        ("[keystore]\nkdf_opslimit = 65\n", "keystore.kdf_opslimit must be 1 to 64"),
        ("network = 'regtest'\n[chain]\nauto_mine_seconds = 5\nauto_mine_address = 'garbage'\n",
         "chain.auto_mine_address: 'garbage' is not a bitcoin address"),
        # a secret of the wrong type is named by its type, never shown
        ("[chain.bitcoind]\npassword = 7357\n", "chain.bitcoind.password must be a string, got an integer"),
    ],
)
def test_bad_config_is_refused_naming_file_and_key(tmp_path, text, names):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
    assert names in str(caught.value)
    assert "s3cret" not in str(caught.value) and "7357" not in str(caught.value)


def test_embedded_chain_requires_regtest(tmp_path):
    path = write(tmp_path, "[chain]\nbackend = 'embedded'\n")
    with pytest.raises(ConfigError, match="regtest"):
        load_config(path)


def test_default_file_is_commented_and_loads_back_as_the_defaults(tmp_path):
    text = default_config_text()
    assert "# Bitcoin network" in text
    assert load_config(write(tmp_path, text)) == Config()


def test_config_show_redacts_the_rpc_password(tmp_path, capsys):
    path = write(tmp_path, "[chain.bitcoind]\nuser = 'ops'\npassword = 'hunter2-secret'\n")
    assert main(["--config", str(path), "config", "show"]) == 0
    out = capsys.readouterr().out
    assert "hunter2-secret" not in out
    assert 'password = "<redacted>"' in out
    assert 'user = "ops"' in out
    assert config_to_dict(load_config(path))["chain"]["bitcoind"]["password"] == "<redacted>"


def test_no_secret_field_of_the_config_shows_in_its_repr(tmp_path):
    """A repr lands in logs, in a debugger and in error reports; the dataclass default
    printed the RPC password."""
    import dataclasses

    path = write(tmp_path, "[chain.bitcoind]\nuser = 'ops'\npassword = 'hunter2-secret'\n")
    config = load_config(path)
    assert "hunter2-secret" not in repr(config) and "'ops'" in repr(config)

    def secret_fields(cls):
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(f.type if isinstance(f.type, type) else None):
                yield from secret_fields(f.type)
            elif f.metadata.get("secret"):
                yield f

    for f in secret_fields(type(config.chain.bitcoind)):
        assert f.repr is False, f.name


def test_config_init_writes_once_then_refuses_without_force(tmp_path, capsys):
    path = tmp_path / "conf" / "config.toml"
    assert main(["--config", str(path), "config", "init"]) == 0
    assert load_config(path) == Config()
    assert path.stat().st_mode & 0o777 == 0o600
    assert main(["--config", str(path), "config", "init"]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["--config", str(path), "config", "init", "--force"]) == 0


def test_a_bad_config_makes_the_cli_exit_1_with_the_key(tmp_path, capsys):
    path = write(tmp_path, "[ui]\npoll_seconds = 0\n")
    assert main(["--config", str(path), "config", "show"]) == 1
    assert "ui.poll_seconds" in capsys.readouterr().err
