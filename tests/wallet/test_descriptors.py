import pytest
from embit.descriptor import Descriptor as EmbitDescriptor
from embit.descriptor.checksum import checksum as embit_checksum
from embit.networks import NETWORKS

EMBIT_REGTEST = NETWORKS["regtest"]

from backends.wallet import (
    CHANGE,
    MAIN,
    RECEIVE,
    REGTEST,
    SIGNET,
    TEST,
    DescriptorChecksumError,
    DescriptorError,
    NetworkMismatch,
    descriptor_checksum,
    parse_descriptor,
)

from backends.wallet.fees import dust_threshold

from .conftest import account_key

# Cross-library vectors (embit, bitcointx, bdk, btclib agreed): ../shared/research/bitcoin-libs.md
FINGERPRINTS = ["f2b4577a", "e8032820", "4cef0100"]
RECEIVE_0_REGTEST = "bcrt1q7xhercf4jllu74fjnz8w5e9zqwmme5v9at39vt2whdgrazt8flsswlaekz"
RECEIVE_0_TESTNET = "tb1q7xhercf4jllu74fjnz8w5e9zqwmme5v9at39vt2whdgrazt8flssrxhlrc"
CHANGE_0_REGTEST = "bcrt1qfducgyrpwsqjrpmk5upatmfqlkrxkkasjh8x80wrvzphdkuf9vyqvs7968"
BIP86_0_REGTEST = "bcrt1p4svuz4pgew0zefqq93x94767ne6fz330r4tn86e53kc2gc86m2cqzy4exx"

# BIP-380's own examples
BIP380_VALID = [
    "raw(deadbeef)#89f8spxm",
    "pk(0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798)#gn28ywm7",
]


def test_multisig_descriptor_derives_the_agreed_receive_and_change_addresses(multisig):
    assert multisig.receive_address(0) == RECEIVE_0_REGTEST
    assert multisig.change_address(0) == CHANGE_0_REGTEST
    assert [k.origin.fingerprint.hex() for k in multisig.keys] == FINGERPRINTS


def test_same_descriptor_on_signet_and_testnet_gives_tb_addresses(multisig_text):
    for network in (TEST, SIGNET):
        assert parse_descriptor(multisig_text, network).receive_address(0) == RECEIVE_0_TESTNET


def test_taproot_key_path_descriptor_gives_the_bip86_address(taproot):
    assert taproot.receive_address(0) == BIP86_0_REGTEST


@pytest.mark.parametrize("text", BIP380_VALID)
def test_checksum_algorithm_matches_bip380_examples(text):
    body, _, check = text.partition("#")
    assert descriptor_checksum(body) == check


def test_checksum_matches_embit_on_the_multisig(multisig):
    body = multisig.to_string()
    assert descriptor_checksum(body) == embit_checksum(body)


def test_with_checksum_round_trips_and_a_missing_checksum_is_accepted(multisig, multisig_text):
    full = multisig.with_checksum()
    assert full == f"{multisig_text}#{descriptor_checksum(multisig_text)}"
    assert parse_descriptor(full, REGTEST).receive_address(0) == RECEIVE_0_REGTEST
    with pytest.raises(DescriptorError, match="no #checksum"):
        parse_descriptor(multisig_text, REGTEST, require_checksum=True)


def test_wrong_checksum_names_expected_and_given(multisig):
    full = multisig.with_checksum()
    wrong = full[:-1] + ("q" if full[-1] != "q" else "p")
    with pytest.raises(DescriptorChecksumError) as err:
        parse_descriptor(wrong, REGTEST)
    assert err.value.expected == full[-8:] and err.value.given == wrong[-8:]
    assert full[-8:] in str(err.value) and wrong[-8:] in str(err.value)
    # embit itself accepts the wrong checksum: this is why we check
    EmbitDescriptor.from_string(wrong)


def test_altered_descriptor_body_fails_its_checksum(multisig):
    full = multisig.with_checksum()
    altered = full.replace("sortedmulti(2,", "sortedmulti(1,")
    with pytest.raises(DescriptorChecksumError):
        parse_descriptor(altered, REGTEST)


def test_testnet_keys_on_mainnet_are_refused(multisig_text):
    with pytest.raises(NetworkMismatch, match="tpub"):
        parse_descriptor(multisig_text, MAIN)


def test_mainnet_keys_on_regtest_are_refused(roots):
    from embit.networks import NETWORKS

    xpub = roots[0].derive("m/48h/0h/0h/2h").to_public().to_base58(version=NETWORKS["main"]["xpub"])
    text = f"wpkh([{roots[0].my_fingerprint.hex()}/48h/0h/0h/2h]{xpub}/<0;1>/*)"
    assert parse_descriptor(text, MAIN).receive_address(0).startswith("bc1q")
    with pytest.raises(NetworkMismatch, match="xpub"):
        parse_descriptor(text, REGTEST)


def test_single_branch_forms_cover_only_their_branch(roots, multisig):
    receive_only = parse_descriptor(
        "wsh(sortedmulti(2,%s))" % ",".join(account_key(r, suffix="0/*") for r in roots), REGTEST
    )
    change_only = parse_descriptor(
        "wsh(sortedmulti(2,%s))" % ",".join(account_key(r, suffix="1/*") for r in roots), REGTEST
    )
    assert receive_only.address(RECEIVE, 5) == multisig.address(RECEIVE, 5)
    assert change_only.address(CHANGE, 5) == multisig.address(CHANGE, 5)
    with pytest.raises(DescriptorError, match="no change"):
        receive_only.address(CHANGE, 0)
    assert multisig.to_string(branch=RECEIVE) == receive_only.to_string()
    assert multisig.with_checksum(branch=CHANGE) == change_only.with_checksum()


def test_key_origins_carry_fingerprint_and_full_path(multisig):
    keys = multisig.derived_keys(CHANGE, 7)
    assert [str(k.origin) for k in keys] == [f"{fp}/48h/1h/0h/2h/1/7" for fp in FINGERPRINTS]
    assert all(len(k.pubkey) == 33 for k in keys)


def test_witness_script_sorts_keys(multisig):
    ws = multisig.witness_script(RECEIVE, 0)
    pubkeys = [ws[2 + 34 * i : 2 + 34 * i + 33] for i in range(3)]
    assert pubkeys == sorted(pubkeys) and ws[0] == 0x52 and ws[-2:] == b"\x53\xae"


def test_find_locates_a_change_script(multisig):
    assert multisig.find(multisig.script_pubkey(CHANGE, 3), gap=10) == (CHANGE, 3)
    assert multisig.find(b"\x00\x14" + b"\x00" * 20, gap=3) is None


def test_fee_model_of_the_multisig_is_2_of_3(multisig, taproot, wpkh):
    assert multisig.kind.input_vbytes == 104.5
    assert taproot.kind.input_vbytes == 57.5
    assert wpkh.kind.input_vbytes == 68


def test_nested_descriptors_derive_what_embit_derives_and_round_trip(sh_wpkh, sh_multisig):
    for descriptor in (sh_wpkh, sh_multisig):
        text = descriptor.to_string()
        assert text.startswith(("sh(wpkh(", "sh(wsh(sortedmulti(2,")) and descriptor.is_nested
        reference = EmbitDescriptor.from_string(text)
        for branch in (RECEIVE, CHANGE):
            for index in (0, 1, 17):
                ref = reference.derive(index, branch_index=branch)
                assert descriptor.script_pubkey(branch, index) == ref.script_pubkey().data
                assert descriptor.redeem_script(branch, index) == ref.redeem_script().data
                assert descriptor.address(branch, index) == ref.address(EMBIT_REGTEST)
                assert descriptor.address(branch, index).startswith("2")  # P2SH on test networks
        assert descriptor_checksum(text) == embit_checksum(text)
        assert parse_descriptor(descriptor.with_checksum(), REGTEST) == descriptor
        assert descriptor.with_checksum(branch=CHANGE).startswith(text[:3])
    assert sh_multisig.witness_script(RECEIVE, 4) == (
        EmbitDescriptor.from_string(sh_multisig.to_string()).derive(4).witness_script().data)
    assert sh_wpkh.witness_script(RECEIVE, 0) is None


def test_nested_fee_models_count_the_redeem_script_push_and_the_p2sh_output(sh_wpkh, sh_multisig, multisig):
    assert sh_wpkh.kind.input_vbytes == 91  # 68 + the 23-byte scriptSig
    assert sh_multisig.kind.input_vbytes == multisig.kind.input_vbytes + 35 == 139.5
    for kind in (sh_wpkh.kind, sh_multisig.kind):
        assert kind.output_size == 32
        assert kind.dust_threshold == 540 == dust_threshold(sh_wpkh.script_pubkey(CHANGE, 0))


BAD = [
    ("unsupported form", "sh(multi(1,{k}))"),
    ("bare p2sh key", "sh(pkh({k}))"),
    ("nested taproot", "sh(tr({k}))"),
    ("doubly nested", "sh(sh(wpkh({k})))"),
    ("p2sh inside wsh", "wsh(sh(wpkh({k})))"),
    ("unclosed nesting", "sh(wpkh({k})"),
    ("nested threshold above key count", "sh(wsh(sortedmulti(3,{k},{k2})))"),
    ("threshold above key count", "wsh(sortedmulti(4,{k},{k2}))"),
    ("threshold zero", "wsh(sortedmulti(0,{k}))"),
    ("unranged key", "wpkh({bare})"),
    ("hardened step after xpub", "wpkh({bare}/0h/*)"),
    ("two branch steps", "wpkh({bare}/0/0/*)"),
    ("script-path taproot", "tr({k},pk({k2}))"),
    ("duplicate key", "wsh(sortedmulti(1,{k},{k}))"),
    ("garbage key", "wpkh(tpubNOTAKEY/0/*)"),
    ("bad character", "wpkh(é)"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_unsupported_or_malformed_descriptors_are_refused(case, roots):
    k, k2 = account_key(roots[0]), account_key(roots[1])
    bare = roots[0].derive("m/84h/1h/0h").to_public().to_base58()
    with pytest.raises(DescriptorError):
        parse_descriptor(case[1].format(k=k, k2=k2, bare=bare), REGTEST)


def test_private_key_is_refused_without_echoing_it(roots):
    xprv = roots[0].to_base58()
    with pytest.raises(DescriptorError) as err:
        parse_descriptor(f"wpkh({xprv}/0/*)", REGTEST)
    assert xprv not in str(err.value) and "private" in str(err.value)
