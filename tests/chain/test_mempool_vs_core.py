"""The embedded mempool against Bitcoin Core's policy (runs when a node is available, see
tests/bitcoind.py): both chains hold the same blocks (built by the embedded chain, submitted
to Core), and a generated set of valid and invalid transactions gets the same accept/reject
verdict from ``EmbeddedChain.check_admission`` and Core's ``testmempoolaccept``.

Deliberate differences (README, "The embedded chain and Core"), kept out of the drawn cases:
fees between Core 29's 0.1 sat/vB relay floor and the embedded chain's 1 sat/vB, replacements
(the embedded mempool has none), non-standard output scripts.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.chain import TransactionRejected

from .funding import BURN_ADDRESS, RANGE_END
from .wallets import (
    Coin, coin_of, flip_signature_byte, multisig_wallet, sh_multisig_wallet, sh_wpkh_wallet, spend, taproot_wallet,
    wpkh_wallet,
)

COIN = 100_000_000
PAYEE = bytes.fromhex("0014" + "66" * 20)
DEFECTS = ["none", "bad-signature", "missing-input", "mempool-double-spend", "spent-input", "dust", "low-fee",
           "locktime", "sigops"]


class Twin:
    """An embedded chain and Core's session node holding the same blocks."""

    def __init__(self, embedded, rpc) -> None:
        self.embedded, self.rpc = embedded, rpc

    def mine(self, n: int, address: str, txs: tuple[bytes, ...] = ()) -> None:
        for _ in range(n):
            raw = self.embedded.propose_block(list(txs), address)
            self.embedded.submit_block(raw)
            assert self.rpc.call("submitblock", raw.hex()) is None

    def broadcast(self, raw: bytes) -> None:
        self.embedded.broadcast(raw)
        self.rpc.call("sendrawtransaction", raw.hex())

    def verdicts(self, raw: bytes) -> tuple[tuple[bool, str], tuple[bool, str]]:
        try:
            self.embedded.check_admission(raw)
            embedded = (True, "")
        except TransactionRejected as exc:
            embedded = (False, exc.reason)
        [answer] = self.rpc.call("testmempoolaccept", [raw.hex()])
        return embedded, (bool(answer["allowed"]), answer.get("reject-reason", ""))


@pytest.fixture(scope="module")
def twin(bitcoind_node, tmp_path_factory):
    from backends.chain import EmbeddedChain

    embedded = EmbeddedChain(tmp_path_factory.mktemp("twin") / "chain")
    rpc = bitcoind_node.node.rpc()
    try:
        assert rpc.call("getblockcount") == 0, "the session node is rewound after every test"
        wallets = [wpkh_wallet(), sh_wpkh_wallet(), multisig_wallet(), sh_multisig_wallet(), taproot_wallet()]
        for wallet in wallets:
            embedded.watch(wallet.descriptor, range_end=RANGE_END)
        both = Twin(embedded, rpc)
        for wallet in wallets:
            for index in range(3):
                both.mine(1, wallet.address(index))
        both.mine(100, BURN_ADDRESS)
        coins = {w.name: [coin_of(u, w) for u in embedded.utxos(w.descriptor)] for w in wallets}
        # one coin spent in the mempool, one spent in a block: the double-spend cases use them
        in_mempool, in_block = coins["wpkh"].pop(), coins["taproot"].pop()
        both.mine(1, BURN_ADDRESS, txs=(spend([in_block], [(PAYEE, in_block.amount_sat - 1_000)]),))
        both.broadcast(spend([in_mempool], [(PAYEE, in_mempool.amount_sat - 1_000)]))
        both.coins, both.in_mempool, both.in_block = coins, in_mempool, in_block
        yield both
    finally:
        rpc.close()
        embedded.close()
        bitcoind_node.reset(None)


def _vsize_estimate(n_outputs: int) -> int:
    return 200 + 43 * n_outputs  # generous: the largest input here is a 2-of-3 in p2sh-p2wsh


@st.composite
def cases(draw, twin):
    defect = draw(st.sampled_from(DEFECTS))
    wallet_name = draw(st.sampled_from(sorted(twin.coins)))
    coin: Coin = draw(st.sampled_from(twin.coins[wallet_name]))
    if defect == "mempool-double-spend":
        coin = twin.in_mempool
    elif defect == "spent-input":
        coin = twin.in_block
    elif defect == "missing-input":
        made_up = hashlib.sha256(draw(st.binary(min_size=1, max_size=8))).hexdigest()
        coin = Coin(made_up, draw(st.integers(0, 3)), coin.amount_sat, coin.script_pubkey, coin.wallet, coin.branch,
                    coin.index)
    fee = draw(st.integers(2 * _vsize_estimate(2), 50_000))  # at least 2 sat/vB
    if defect == "mempool-double-spend":
        fee = draw(st.integers(200, 1_000))  # never more than the spend it conflicts with: no replacement
    if defect == "low-fee":
        fee = draw(st.integers(0, 9))  # below 0.1 sat/vB: under both chains' floors
    pay = draw(st.integers(546, coin.amount_sat // 2))
    outputs = [(PAYEE, pay), (coin.wallet.script(draw(st.integers(0, 5)), branch=1), coin.amount_sat - pay - fee)]
    if defect == "dust":
        outputs[0] = (PAYEE, draw(st.integers(1, 293)))  # p2wpkh dust: below 294 sat
        outputs[1] = (outputs[1][0], coin.amount_sat - outputs[0][1] - fee)
    if defect == "sigops":  # a bare output of CHECKSIGs counts 4 sigop cost each: over the 16,000 budget
        outputs.append((b"\xac" * draw(st.integers(4_001, 4_100)), 0))
    locktime = 0
    if defect == "locktime":
        locktime = twin.embedded.tip().height + draw(st.integers(-2, 3))  # final up to the tip height
    raw = spend([coin], outputs, locktime=locktime)
    if defect == "bad-signature":
        raw = flip_signature_byte(raw, coin.wallet.kind)
    return defect, raw


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_embedded_mempool_and_core_agree_on_accept_or_reject(twin, data):
    defect, raw = data.draw(cases(twin))
    embedded, core = twin.verdicts(raw)
    assert embedded[0] == core[0], f"{defect}: embedded says {embedded}, Core says {core}"
    if defect not in ("none", "locktime"):
        assert not core[0], f"{defect} was meant to be refused"
