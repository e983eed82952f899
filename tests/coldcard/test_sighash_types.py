"""Sighash types a PSBT asks for, as firmware v5.4.5 honours them (psbt.py:
consider_dangerous_sighash, make_txn_sighash, make_txn_segwit_sighash, sign_it).

ALL is the default; the six standard types are signed with that type (digest and appended
byte, checked here by Bitcoin Core's script interpreter) and all but ALL warn; NONE is
refused unless the ``sighshchk`` setting disables the checks; other values are refused.
"""

from __future__ import annotations

import pytest

from backends.coldcard.client import ColdcardClient

from .single_sig import KEYS, OTHER_KEYS, PAY_SCRIPT, Pay, Spend, build, change, consensus_failures
from .stxn import approve_and_sign, failure, failure_and_screen, visualize, warnings_in

ALL, NONE, SINGLE, ANYONECANPAY = 0x01, 0x02, 0x03, 0x80
CAUTION = "- Caution: Some inputs have unusual SIGHASH values not used in typical cases.\n\n"
DANGER = "- Danger: Destination address can be changed after signing (sighash NONE).\n\n"
NONE_REFUSED = "Sighash NONE is not allowed as funds could be going anywhere."
KINDS = ["p2wpkh", "p2pkh", "p2sh-p2wpkh", pytest.param("p2pk", marks=pytest.mark.emulator_only)]


def two_coins(kind: str, sighash: int | None, *, second_sequence: int = 0) -> list[Spend]:
    return [Spend(kind, sighash=sighash),
            Spend(kind, path="m/84h/1h/0h/0/1", value=600_000, sighash=sighash, sequence=second_sequence)]


def pays() -> list[Pay]:
    return [Pay(PAY_SCRIPT, 1_000_000), change(value=590_000)]


def our_signature(signed, n: int, spend: Spend) -> bytes:
    return next(sig for pub, sig in signed.inputs[n].partial_sigs.items() if pub.sec() == spend.pubkey)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sighash", [None, ALL, SINGLE, ALL | ANYONECANPAY, SINGLE | ANYONECANPAY],
                         ids=["default", "ALL", "SINGLE", "ALL_ACP", "SINGLE_ACP"])
def test_each_allowed_type_is_signed_with_that_type(target, kind, sighash):
    spends = two_coins(kind, sighash)
    psbt = build(spends, pays())
    story = visualize(target, psbt)
    assert warnings_in(story) == ("" if sighash in (None, ALL) else CAUTION)
    signed = approve_and_sign(target, psbt)
    used = ALL if sighash is None else sighash
    assert [our_signature(signed, n, s)[-1] for n, s in enumerate(spends)] == [used, used]
    assert consensus_failures(signed, spends) == []
    # an input signed with ALL loses the field; any other type stays named
    assert [i.sighash_type for i in signed.inputs] == [None if used == ALL else used] * 2


@pytest.mark.parametrize("sighash", [NONE, NONE | ANYONECANPAY], ids=["NONE", "NONE_ACP"])
def test_none_is_refused(target, sighash):
    assert failure(target, build(two_coins("p2wpkh", sighash), pays())) == NONE_REFUSED


def test_one_none_input_is_enough_to_refuse(target):
    spends = [Spend(), Spend(path="m/84h/1h/0h/0/1", value=600_000, sighash=NONE)]
    assert failure(target, build(spends, pays())) == NONE_REFUSED


@pytest.mark.parametrize("sighash", [0x00, 0x04, 0x84, 0x41], ids=["DEFAULT", "0x04", "0x84", "FORKID"])
def test_non_standard_types_are_refused(target, sighash):
    psbt = build(two_coins("p2wpkh", sighash), pays())
    assert failure(target, psbt) == "Unsupported sighash flag 0x%x" % sighash


def test_a_type_on_someone_elses_input_is_not_judged(target):
    theirs = Spend(keys=OTHER_KEYS, value=600_000, sighash=0x04)  # their key path, their concern
    story = visualize(target, build([Spend(), theirs], pays()))
    assert warnings_in(story) == ""


def test_consolidation_must_use_all(target):
    psbt = build(two_coins("p2wpkh", SINGLE), [change(value=1_590_000)])
    assert failure(target, psbt) == "Only sighash ALL is allowed for pure consolidation transactions."


@pytest.fixture
def checks_off(target):
    client = ColdcardClient(target.path)
    client.sim_exec("settings.set('sighshchk', 1)")
    yield
    client.sim_exec("settings.set('sighshchk', 0)")


@pytest.mark.parametrize("sighash", [NONE, NONE | ANYONECANPAY], ids=["NONE", "NONE_ACP"])
def test_none_is_signed_with_a_danger_warning_when_checks_are_off(target, checks_off, sighash):
    spends = two_coins("p2wpkh", sighash)
    psbt = build(spends, pays())
    assert warnings_in(visualize(target, psbt)) == DANGER
    signed = approve_and_sign(target, psbt)
    assert our_signature(signed, 0, spends[0])[-1] == sighash
    assert consensus_failures(signed, spends) == []


def test_consolidation_with_single_is_allowed_when_checks_are_off(target, checks_off):
    spends = two_coins("p2wpkh", SINGLE)
    psbt = build(spends, [change(value=800_000), change(path="m/84h/1h/0h/1/1", value=790_000)])
    story = visualize(target, psbt)
    assert story.startswith("(1 warning below)\n\nConsolidating 0.01590000 XTN\nwithin wallet.\n\n")
    assert warnings_in(story) == CAUTION
    assert consensus_failures(approve_and_sign(target, psbt), spends) == []


@pytest.mark.parametrize("kind", ["p2wpkh", "p2pkh"])
def test_single_without_its_output_fails_after_approval(target, kind):
    # input 1 has no output 1 to commit to; consensus would sign "1", the device refuses
    psbt = build(two_coins(kind, SINGLE), [Pay(PAY_SCRIPT, 1_590_000)])
    where = "psbt.py:2234" if kind == "p2wpkh" else "psbt.py:2172"
    assert failure_and_screen(target, psbt, approve=True) == (
        "Signing failed late", "Failure\0Signing failed late\n\nSINGLE corresponding output (1) missing\n\n" + where)


def test_default_is_all_for_a_key_of_ours_found_by_zero_xfp(target):
    spends = [Spend(xfp=0), Spend(path="m/84h/1h/0h/0/1", value=600_000, xfp=0)]
    signed = approve_and_sign(target, build(spends, pays()))
    assert consensus_failures(signed, spends) == []
    assert KEYS.fingerprint in {d.fingerprint for d in signed.inputs[0].bip32_derivations.values()}
