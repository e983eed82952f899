"""The wallet layer checked against Bitcoin Core itself (runs when a node is available, see
tests/bitcoind.py): descriptor checksums and addresses, and the PSBTs we build, combine and
finalize, as Core reads and handles them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from embit.networks import NETWORKS

from backends.wallet import (
    CHANGE, MAIN, RECEIVE, REGTEST, SIGNET, TEST, Payment, combine, create_psbt, descriptor_checksum, extract,
    finalize, mint_policy, parse_address, parse_descriptor, select_coins, serialize_psbt, spendable_coins,
)

from .conftest import cosigner_root, funding_coin, signed_copy

TEMPLATES = ("wsh(sortedmulti(2,{0},{1},{2}))", "sh(wsh(sortedmulti(2,{0},{1},{2})))", "wpkh({1})", "sh(wpkh({1}))",
             "tr({0})")
PURPOSE = {"wsh": "48h/{coin}h/0h/2h", "sh(wsh": "48h/{coin}h/0h/1h", "wpkh": "84h/{coin}h/0h",
           "sh(wpkh": "49h/{coin}h/0h", "tr": "86h/{coin}h/0h"}
ADDRESSES = 25  # indexes 0..24 of each branch


def _descriptor_text(template: str, network) -> str:
    head = template.split("(")
    path = PURPOSE["(".join(head[:2]) if head[0] == "sh" else head[0]].format(coin=network.coin_type)
    keys = []
    for i in (1, 2, 3):
        root = cosigner_root(i)
        xpub = root.derive(f"m/{path}").to_public().to_base58(NETWORKS[network.name]["xpub"])
        keys.append(f"[{root.my_fingerprint.hex()}/{path}]{xpub}/<0;1>/*")
    return template.format(*keys)


def _offline_node(binary, datadir, chain):
    from backends.chain.regtest_node import RegtestNode

    return RegtestNode(binary, datadir, chain=chain).start()


@pytest.fixture(scope="module", params=[REGTEST, TEST, SIGNET, MAIN], ids=lambda n: n.name)
def core_rpc(request, tmp_path_factory):
    """Core's RPC on a node of the network: the session's regtest node, else an offline one."""
    if request.param is REGTEST:
        rpc = request.getfixturevalue("bitcoind_node").node.rpc()
        yield request.param, rpc
        rpc.close()
        return
    from tests.bitcoind import locate_bitcoind

    binary, why_not = locate_bitcoind()
    if binary is None:
        pytest.skip(why_not)
    node = _offline_node(binary, tmp_path_factory.mktemp(f"core-{request.param.name}"), request.param.name)
    rpc = node.rpc()
    try:
        yield request.param, rpc
    finally:
        rpc.close()
        node.stop()


@pytest.mark.parametrize("template", TEMPLATES)
def test_checksums_and_addresses_equal_cores(core_rpc, template):
    network, rpc = core_rpc
    ours = parse_descriptor(_descriptor_text(template, network), network)
    for branch in (RECEIVE, CHANGE, None):
        text = ours.to_string(branch=branch)
        info = rpc.call("getdescriptorinfo", text)
        assert descriptor_checksum(text) == info["checksum"]
        assert info["isrange"] and not info["hasprivatekeys"]
        if branch is None:
            continue
        derived = rpc.call("deriveaddresses", ours.with_checksum(branch=branch), [0, ADDRESSES - 1])
        assert derived == [ours.address(branch, i) for i in range(ADDRESSES)]
    # Core derives both branches of the <0;1> form at once (a list per branch)
    both = rpc.call("deriveaddresses", ours.with_checksum(), [0, 2])
    assert both == [[ours.address(b, i) for i in range(3)] for b in (RECEIVE, CHANGE)]


# -- PSBTs

PAY_TO = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"


@pytest.fixture(scope="module")
def regtest_rpc(bitcoind_node):
    rpc = bitcoind_node.node.rpc()
    yield rpc
    rpc.close()


def _roots():
    return [cosigner_root(i) for i in (1, 2, 3)]


def _spend(template):
    """An unsigned PSBT of ``template`` spending two coins to a payee and change."""
    descriptor = parse_descriptor(_descriptor_text(template, REGTEST), REGTEST)
    coins = [funding_coin(descriptor.script_pubkey(RECEIVE, 0), 700_000, RECEIVE, 0, seed=b"\x41"),
             funding_coin(descriptor.script_pubkey(CHANGE, 5), 400_000, CHANGE, 5, seed=b"\x42")]
    payment = Payment(parse_address(PAY_TO, REGTEST), 600_000)
    return descriptor, create_psbt(descriptor, coins, [payment], change_amount=497_000, change_index=7)


def _btc(sat: int) -> Decimal:
    return Decimal(sat) / 100_000_000


@pytest.mark.parametrize("template", TEMPLATES)
def test_core_reads_our_psbt_alike_and_signs_it_through_to_the_same_transaction(regtest_rpc, template):
    descriptor, unsigned = _spend(template)
    decoded = regtest_rpc.call("decodepsbt", serialize_psbt(unsigned))
    assert [(v["txid"], v["vout"]) for v in decoded["tx"]["vin"]] == [(i.txid.hex(), i.vout) for i in unsigned.tx.vin]
    assert [(o["value"], o["scriptPubKey"]["hex"]) for o in decoded["tx"]["vout"]] == [
        (_btc(o.value), o.script_pubkey.data.hex()) for o in unsigned.tx.vout]
    assert decoded["fee"] == _btc(unsigned.fee()) == _btc(3_000)
    assert not decoded.get("unknown") and all(not i.get("unknown") for i in decoded["inputs"])
    analyzed = regtest_rpc.call("analyzepsbt", serialize_psbt(unsigned))
    # Core's analyzer tracks missing signatures of ECDSA keys only: a taproot input that waits
    # for its key-path signature reads "updater" with nothing listed as missing (README)
    expected_next = "updater" if template.startswith("tr") else "signer"
    assert (analyzed["next"], analyzed["fee"]) == (expected_next, _btc(3_000))
    assert "error" not in analyzed and all("missing" not in i or "signatures" in i["missing"]
                                           for i in analyzed["inputs"])

    roots = _roots()
    signers = [roots[0], roots[2]] if descriptor.is_multisig else [roots[1] if "wpkh" in template else roots[0]]
    parts = [signed_copy(unsigned, root) for root in signers]
    if descriptor.is_multisig:  # one of two signatures: Core still waits for a signer
        assert regtest_rpc.call("analyzepsbt", serialize_psbt(parts[0]))["next"] == "signer"
    ours = combine([unsigned, *parts])
    cores = regtest_rpc.call("combinepsbt", [serialize_psbt(p) for p in (unsigned, *parts)])
    # the same records as Core reads them; the bytes may order map entries differently (BIP-174
    # maps are unordered: we keep the order we received, Core sorts by key)
    assert regtest_rpc.call("decodepsbt", cores) == regtest_rpc.call("decodepsbt", serialize_psbt(ours))
    assert regtest_rpc.call("analyzepsbt", serialize_psbt(ours))["next"] == "finalizer"
    finalized = regtest_rpc.call("finalizepsbt", serialize_psbt(ours))
    assert finalized["complete"]
    assert finalized["hex"] == extract(finalize(ours)).hex()


# -- a whole spend, from coins on Core's chain to a mined transaction

FEE_RATE = 3.0


@pytest.mark.parametrize("template", TEMPLATES)
def test_core_accepts_and_mines_a_spend_we_select_build_sign_and_finalize(core_chain, bitcoind_node, template):
    """Coins of ``template`` on Core's regtest chain, selected, built into a PSBT, signed,
    finalized and extracted by the wallet layer: Core's testmempoolaccept takes the
    transaction at no more than our estimated vsize, and it is mined."""
    descriptor = parse_descriptor(_descriptor_text(template, REGTEST), REGTEST)
    core_chain.watch(descriptor.with_checksum(), range_end=10, label="ours")
    core_chain.mine(1, descriptor.address(RECEIVE, 1))
    core_chain.mine(1, descriptor.address(CHANGE, 2))
    core_chain.mine(100, PAY_TO)
    coins = spendable_coins(core_chain.utxos(descriptor.with_checksum()))
    assert sorted((c.branch, c.index) for c in coins) == [(RECEIVE, 1), (CHANGE, 2)]
    payee = parse_address(PAY_TO, REGTEST)
    selection = select_coins(coins, 70 * 100_000_000, FEE_RATE, mint_policy(descriptor.kind), payment_scripts=[payee])
    assert len(selection.coins) == 2 and selection.has_change
    unsigned = create_psbt(descriptor, selection.coins, [Payment(payee, selection.target)],
                           change_amount=selection.change, change_index=3)
    roots = _roots()
    signers = [roots[0], roots[2]] if descriptor.is_multisig else [roots[1] if "wpkh" in template else roots[0]]
    raw = extract(finalize(combine([signed_copy(unsigned, root) for root in signers]))).hex()
    rpc = bitcoind_node.node.rpc()
    try:
        [verdict] = rpc.call("testmempoolaccept", [raw])
        assert verdict["allowed"], verdict
        assert verdict["vsize"] <= selection.vsize <= verdict["vsize"] + 2  # 71- or 72-byte ECDSA signatures
        assert verdict["fees"]["base"] == _btc(selection.fee)
    finally:
        rpc.close()
    txid = core_chain.broadcast(bytes.fromhex(raw))
    core_chain.mine(1, PAY_TO)
    assert core_chain.tx_status(txid).state == "confirmed"
    [change] = core_chain.utxos(descriptor.with_checksum())
    assert (change.txid, change.branch, change.index, change.amount_sat) == (txid, CHANGE, 3, selection.change)
