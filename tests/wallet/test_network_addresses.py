import pytest

from backends.wallet import (
    MAIN,
    REGTEST,
    SIGNET,
    TEST,
    AddressError,
    Network,
    NetworkMismatch,
    UnknownNetwork,
    address_from_script,
    parse_address,
)

# BIP-173 / BIP-350 examples and well-known base58 addresses
VALID = [
    ("main p2wpkh", MAIN, "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    ("main p2tr", MAIN, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
    ("test p2wsh", TEST, "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"),
    ("test p2wsh on signet", SIGNET, "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"),
    ("regtest p2wpkh", REGTEST, "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    ("main p2pkh", MAIN, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "76a91477bff20c60e522dfaa3350c39b030a5d004e839a88ac"),
    ("main p2sh", MAIN, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "a914b472a266d0bd89c13706a4132ccfb16f7c3b9fcb87"),
    ("test p2pkh", TEST, "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", None),
    ("regtest p2sh", REGTEST, "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", None),
]


@pytest.mark.parametrize("case", VALID, ids=[c[0] for c in VALID])
def test_valid_address_round_trips_through_its_script(case):
    _, network, address, spk_hex = case
    spk = parse_address(address, network)
    if spk_hex:
        assert spk.hex() == spk_hex
    assert address_from_script(spk, network) == (address.lower() if address[:2].lower() in ("bc", "tb") else address)


def test_mainnet_address_on_regtest_is_refused_naming_both_networks():
    with pytest.raises(NetworkMismatch) as err:
        parse_address("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", REGTEST)
    assert "mainnet" in str(err.value) and "regtest" in str(err.value)


@pytest.mark.parametrize(
    "address,network",
    [
        ("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", REGTEST),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", TEST),
        ("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", MAIN),
        ("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", REGTEST),
        ("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", TEST),
    ],
)
def test_address_of_another_network_is_refused(address, network):
    with pytest.raises(NetworkMismatch):
        parse_address(address, network)


INVALID = [
    ("bad bech32 checksum", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"),
    ("bad base58 checksum", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"),
    # BIP-350: a v1+ program encoded with bech32 (not bech32m), and v0 with bech32m
    ("v1 with bech32 checksum", "bc1pw508d6qejxtdg4y5r3zarqfsj6c3"),
    ("v0 with bech32m checksum", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh"),
    ("v0 program of 21 bytes", "bc1qr508d6qejxtdg4y5r3zarvaryvq37eag7"),
    ("mixed case", "bc1QW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
    ("program too short", "bc1pw5dgrnzv"),
    ("not an address", "hello world"),
    ("empty", ""),
]


@pytest.mark.parametrize("case", INVALID, ids=[c[0] for c in INVALID])
def test_malformed_address_is_refused_with_a_typed_error(case):
    with pytest.raises(AddressError):
        parse_address(case[1], MAIN)


def test_network_lookup_accepts_core_names_and_aliases():
    assert Network.from_name("regtest") is REGTEST
    assert Network.from_name("mainnet") is MAIN
    assert Network.from_name("testnet") is TEST
    assert (MAIN.coin_type, TEST.coin_type, SIGNET.coin_type, REGTEST.coin_type) == (0, 1, 1, 1)
    assert REGTEST.embit["bech32"] == "bcrt"
    with pytest.raises(UnknownNetwork):
        Network.from_name("litecoin")


def test_script_without_address_form_is_refused():
    with pytest.raises(AddressError):
        address_from_script(bytes.fromhex("6a0401020304"), MAIN)
