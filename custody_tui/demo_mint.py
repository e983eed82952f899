"""The demo rig's mint: a fragmented reserve, deposits, issued notes and redemptions.

``prepare`` puts a deterministic reserve key (``demo-reserve``) in the keystore, writes the
``[mint]`` section of the rig's config, and pays the reserve from one of the treasury's
mature coinbases in one transaction of several hundred outputs: user deposits of 0.1 BTC,
a crowd of small coins (the fragmentation a busy mint accumulates) and medium ones. Some
deposits are registered, credited and turned into notes (through the same blind issuance a
wallet uses); some notes are redeemed: small payouts waiting for the operator's approval,
and one of 1 BTC that no payout of ``max_inputs`` reserve coins can fund, which stays
pending with its reason. Credited deposits not yet issued are listed, their outpoint and claim
secret a line (the demo publishes its secrets), in ``DATA_DIR/mint-deposits.txt`` for the
demo wallet:

    custody-tui --data-dir DEMO_DIR mint serve --port 8338 &
    custody-tui --data-dir DEMO_DIR mint demo-wallet --url http://127.0.0.1:8338

Auto-pause is turned off (audited) so that the small payouts can be approved while the
unfundable one makes reserve health critical; ``o`` on the Reserves screen turns it on.
Every step checks what is already there, so a rig killed half-way completes on the next run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from backends.fsutil import atomic_write

from .demo import demo_address, demo_wallet_descriptor, demo_words
from .paths import CONFIG_FILE_NAME
from .services import DEMO_PASSPHRASE, Services

RESERVE_KEY = "demo-reserve"
TREASURY_KEY = "demo-treasury"
OPERATOR_KEY = "demo-operator"
DENOMINATIONS = (1_000, 10_000, 100_000, 1_000_000, 10_000_000)
DEPOSIT_SAT = 10_000_000
DEPTH = 2
FEE_RATE = 2.0
READY_MARKER = ".mint-demo-ready"
CONFIG_HEADER = "# custody-tui demo rig: regtest, deterministic seeds, published passphrase.\n"


@dataclass(frozen=True)
class ReservePlan:
    """The shape of the demo reserve; tests use a smaller one."""

    deposits: int = 24
    small_coins: int = 260  # below the small-coin line (10x min_change): what consolidation merges
    medium_coins: int = 100
    #: (redemption sat per note, notes) issued from deposits and redeemed; the last is unfundable
    redemptions: tuple[tuple[int, int], ...] = ((1_000_000, 2), (1_000_000, 3), (1_000_000, 5), (10_000_000, 10))
    notes_held: int = 5  # deposits turned into notes a user keeps (outstanding liabilities)

    def amounts(self) -> list[int]:
        deposits = [DEPOSIT_SAT] * self.deposits
        small = [2_000 + (i * 373) % 7_900 for i in range(self.small_coins)]
        medium = [20_000 + (i * 9_973) % 970_000 for i in range(self.medium_coins)]
        return deposits + small + medium


DEMO_RESERVE = ReservePlan()


def reserve_file(data_dir: Path) -> Path:
    return data_dir / "mint-deposits.txt"


def prepare_mint(services: Services, plan: ReservePlan = DEMO_RESERVE) -> None:
    data_dir = services.data_dir
    if (data_dir / READY_MARKER).exists():
        return
    _reserve_key(services)
    _configure(services)
    _fund_reserve(services, plan)
    keystore = services.keystore
    keystore.unlock(DEMO_PASSPHRASE, 300)
    try:
        _operator_key(services)
        _issue_and_redeem(services, plan)
    finally:
        keystore.lock()
    atomic_write(data_dir / READY_MARKER, b"mint demo prepared\n", mode=0o644)


def _reserve_key(services: Services) -> None:
    keystore = services.keystore
    if RESERVE_KEY in {entry.label for entry in keystore.entries()}:
        return
    keystore.unlock(DEMO_PASSPHRASE, 60)
    try:
        with services.audited("keys", "import-mnemonic", label=RESERVE_KEY, demo=True):
            keystore.import_mnemonic(RESERVE_KEY, demo_words(RESERVE_KEY))
    finally:
        keystore.lock()


def _operator_key(services: Services) -> None:
    """The operator key the Reserves screen signs admin requests with (kept in the keystore;
    its secret is not shown: the demo's operator works at this console)."""
    from backends.mint.local_operator import operator_key_ids

    if OPERATOR_KEY in operator_key_ids(services.keystore):
        return
    with services.audited("mint", "operator create", key_id=OPERATOR_KEY, demo=True):
        services.mint.create_operator_key(OPERATOR_KEY)


def _configure(services: Services) -> None:
    """``[mint]`` in the rig's config file, as an operator would write it."""
    from .config import MintConfig, render_toml

    if services.config.mint.reserve_descriptor:
        return
    mint = MintConfig(reserve_descriptor=demo_wallet_descriptor(services, RESERVE_KEY), reserve_signer_label=RESERVE_KEY,
                      finalization_depth=DEPTH, fee_rate=FEE_RATE)
    config = dataclasses.replace(services.config, mint=mint)
    config.validate()
    with services.audited("mint", "configure", reserve_signer=RESERVE_KEY, demo=True):
        atomic_write(data_dir_config(services), (CONFIG_HEADER + render_toml(config)).encode())
    services.config = config


def data_dir_config(services: Services) -> Path:
    return services.data_dir / CONFIG_FILE_NAME


def _fund_reserve(services: Services, plan: ReservePlan) -> None:
    """One treasury coinbase pays the reserve: the deposits to addresses the mint handed out
    (their claim secrets kept in ``DATA_DIR/mint-claims.json``, the demo publishes them), the
    other coins to its change branch (what a busy mint's payouts leave behind); then DEPTH
    blocks."""
    from backends.wallet import parse_descriptor

    chain = services.chain
    reserve = services.config.mint.reserve_descriptor
    amounts = plan.amounts()
    chain.watch(reserve, range_end=len(amounts) + 100, label="demo mint reserve")
    if not chain.utxos(reserve):
        claims = _deposit_claims(services, plan.deposits)
        _change_indexes_taken(services, len(amounts) - plan.deposits)
        treasury_text = demo_wallet_descriptor(services, TREASURY_KEY)
        treasury = parse_descriptor(treasury_text, "regtest")
        raw = _fan_out(services, treasury, treasury_text, parse_descriptor(reserve, "regtest"), amounts,
                       sorted(claims))
        with services.audited("chain", "broadcast", what="demo mint reserve", outputs=len(amounts), demo=True):
            chain.broadcast(raw)
    unconfirmed = min(u.confirmations for u in chain.utxos(reserve))
    if unconfirmed < DEPTH:
        with services.audited("chain", "mine", blocks=DEPTH - unconfirmed, demo=True):
            chain.mine(DEPTH - unconfirmed, demo_address("demo-ops"))


def claims_file(data_dir: Path) -> Path:
    return data_dir / "mint-claims.json"


def read_claims(data_dir: Path) -> dict[int, str]:
    import json

    path = claims_file(data_dir)
    return {int(k): v for k, v in json.loads(path.read_text()).items()} if path.exists() else {}


def _deposit_claims(services: Services, count: int) -> dict[int, str]:
    """``count`` deposit addresses handed out by the mint, by index, with their claim secrets
    (hex); asked once and kept, so a rig killed before broadcasting pays the same ones."""
    import json

    claims = read_claims(services.data_dir)
    if len(claims) < count:
        with services.audited("mint", "deposit address", count=count, demo=True):
            given = [services.mint.deposit_address() for _ in range(count)]
        claims = {g.address_index: g.claim_secret.hex() for g in given}
        atomic_write(claims_file(services.data_dir), json.dumps(claims).encode())
    return claims


def _change_indexes_taken(services: Services, count: int) -> None:
    """The demo's change-branch coins take change indexes 0..count-1: the mint's own payouts
    and consolidations go on from there, never reusing an address."""
    ledger = services.mint.ledger
    with ledger.transaction() as db:
        while ledger.next_counter(db, "next_change_index") < count - 1:
            pass


def _fan_out(services: Services, treasury, treasury_text: str, reserve, amounts: list[int],
             deposit_indexes: list[int]) -> bytes:
    from backends.wallet import CHANGE, RECEIVE, Payment, create_psbt, extract, finalize, spendable_coins
    from backends.wallet.fees import WPKH, estimate_vsize, fee_for, output_size

    # a mature coinbase of the treasury (the quorum's refills pay it smaller coins)
    coins = [c for c in spendable_coins(services.chain.utxos(treasury_text)) if c.value >= sum(amounts) + 100_000]
    coin = sorted(coins, key=lambda c: c.outpoint)[0]
    deposits = len(deposit_indexes)
    payments = [Payment(reserve.script_pubkey(RECEIVE, index), amount)
                for index, amount in zip(deposit_indexes, amounts[:deposits])]
    payments += [Payment(reserve.script_pubkey(CHANGE, n), amount) for n, amount in enumerate(amounts[deposits:])]
    sizes = [output_size(p.script_pubkey) for p in payments] + [output_size(treasury.script_pubkey(1, 0))]
    fee = fee_for(estimate_vsize(WPKH, 1, sizes) * 4, FEE_RATE)
    psbt = create_psbt(treasury, [coin], payments, change_amount=coin.value - sum(amounts) - fee, change_index=0)
    keystore = services.keystore
    keystore.unlock(DEMO_PASSPHRASE, 60)
    try:
        keystore.sign_psbt(TREASURY_KEY, psbt, "regtest")
    finally:
        keystore.lock()
    return extract(finalize(psbt))


def _issue_and_redeem(services: Services, plan: ReservePlan) -> None:
    """Deposits registered and credited, notes issued by blind signatures, redemptions made;
    the unfundable one approved (it stays pending with the reason)."""
    from backends.mint.wallet_client import BlindedNotes, PublishedKeyset

    mint = services.mint
    if mint.redemptions():  # done before a crash cut the rig short: only the list is missing
        _list_fresh_deposits(services)
        return
    if not mint.keysets():
        with services.audited("mint", "keys create", denominations=list(DENOMINATIONS), demo=True):
            mint.create_keyset(DENOMINATIONS)
    keyset = PublishedKeyset.from_dict(mint.keyset().to_public_dict())
    reserve = services.config.mint.reserve_descriptor
    claims = read_claims(services.data_dir)
    paid = sorted((u.index, u.txid, u.vout) for u in services.chain.utxos(reserve)
                  if u.branch == 0 and u.index in claims)
    with services.audited("mint", "deposit register", deposits=len(paid), txid=paid[0][1], demo=True):
        deposits = [mint.register_deposit(txid, vout) for _, txid, vout in paid]
    claim_of = {d.reference: claims[index] for d, (index, _, _) in zip(deposits, paid)}
    with services.audited("mint", "refresh", demo=True):
        mint.refresh()
    with services.audited("mint", "auto-pause", setting="off", demo=True):
        mint.set_auto_pause(False)
    fresh = iter(d for d in deposits if mint.deposit(d.reference).issued_sat == 0)

    def notes_from(count: int, amount: int) -> list:
        """``count`` notes of ``amount``, drawn on as many fresh deposits as they need."""
        per_deposit = DEPOSIT_SAT // amount
        notes = []
        while len(notes) < count:
            take = min(per_deposit, count - len(notes))
            pending = BlindedNotes(keyset, [amount] * take)
            deposit = next(fresh)
            issued = mint.issue_blind(deposit.reference, pending.requests, claim_secret=claim_of[deposit.reference])
            notes += pending.unblind(list(issued.blind_sigs))
        return notes

    redemptions = []
    for n, (amount, count) in enumerate(plan.redemptions):
        notes = notes_from(count, amount)
        payee = demo_address("demo-ops", 100 + n)
        with services.audited("mint", "redemption create", amount_sat=amount * count, demo=True):
            redemptions.append(mint.create_redemption(notes, payee))
    for _ in range(plan.notes_held):
        notes_from(1, DEPOSIT_SAT)  # kept by their user: outstanding
    big = redemptions[-1]
    with services.audited("mint", "redemption approve", irreversible=True, batch_id=big.redemption_id, demo=True):
        mint.approve_redemption(big.redemption_id, "demo rig")
    _list_fresh_deposits(services)


def _list_fresh_deposits(services: Services) -> None:
    """``TXID:VOUT CLAIM_SECRET`` of each credited deposit nothing was issued on yet."""
    claims = read_claims(services.data_dir)
    index_of = dict(services.mint.ledger.read("SELECT reference, address_index FROM deposit_claims"))
    left = [d for d in services.mint.deposits("credited") if d.issued_sat == 0 and index_of.get(d.reference) in claims]
    atomic_write(reserve_file(services.data_dir),
                 "".join(f"{d.outpoint} {claims[index_of[d.reference]]}\n" for d in left).encode())


# -- the demo wallet: a user of the mint, over its HTTP API ------------------------------

WALLET_AMOUNT_SAT = 2_500_000


def add_wallet_parser(actions) -> None:
    from .commands.common import add_json_flag, count_arg

    p = actions.add_parser("demo-wallet", help="demo: a user's wallet against `mint serve`: blind, get "
                                               "issued, unblind, redeem")
    p.add_argument("--url", default="http://127.0.0.1:8080", help="the mint API (`mint serve`)")
    p.add_argument("--deposit", help="TXID:VOUT of a credited deposit; its claim secret is read from standard "
                                     "input (default: the next unissued deposit of the demo rig and its "
                                     "secret, from DATA_DIR/mint-deposits.txt)")
    p.add_argument("--amount", type=count_arg(1, 21_000_000 * 100_000_000), default=WALLET_AMOUNT_SAT,
                   help=f"sat to turn into notes and redeem (default {WALLET_AMOUNT_SAT})")
    p.add_argument("--redeem-to", help="the payout address (default: a demo-ops address)")
    add_json_flag(p)


def _outpoint(text: str) -> tuple[str, int]:
    from backends.mint.wallet_client import MintClientError
    from backends.outside_input import OutsideInputRefused, parse_decimal

    txid, _, vout = text.strip().rpartition(":")
    try:
        return txid, parse_decimal(vout, what="the vout")
    except OutsideInputRefused:
        raise MintClientError(f"{text!r} is not TXID:VOUT") from None


def run_wallet(services: Services, url: str, *, deposit: str | None, claim: str | None, amount_sat: int,
               address: str | None) -> dict:
    """What a user's wallet does, over HTTP: read the keys, check the deposit, blind notes,
    get them signed, unblind and verify them, then redeem them all to ``address``."""
    from backends.mint.wallet_client import BlindedNotes, MintClient, MintClientError, split_amount

    steps: list[str] = []
    address = address or demo_address("demo-ops", 200)
    with MintClient(url) as client:
        keyset = client.keyset()
        steps.append(f"keyset {keyset.keyset_id}: notes of {', '.join(map(str, sorted(keyset.keys)))} sat")
        if deposit is not None:
            candidates = [(deposit, claim or "")]
        else:
            listing = reserve_file(services.data_dir)
            if not listing.exists():
                raise MintClientError("no --deposit given and no demo deposit list",
                                      hint=f"pass --deposit TXID:VOUT, or run the demo rig ({listing} is its list)")
            candidates = [tuple(line.split()[:2]) for line in listing.read_text().splitlines() if len(line.split()) >= 2]
        found = None
        for text, claim in candidates:
            found = client.register_deposit(*_outpoint(text))
            if isinstance(found.get("available_sat"), int) and found["available_sat"] >= amount_sat \
                    and isinstance(found.get("mint_deposit_ref"), str):
                break
            found = None
        if found is None:
            raise MintClientError(f"no credited deposit has {amount_sat} sat left to issue",
                                  hint="pass --deposit of a credited deposit, or a smaller --amount")
        steps.append(f"deposit {found['txid'][:16]}…:{found['vout']}: {found['available_sat']} sat to issue")
        pending = BlindedNotes(keyset, split_amount(amount_sat, tuple(keyset.keys)))
        steps.append(f"blinded {len(pending.amounts)} notes ({amount_sat} sat); the mint sees no serial")
        notes = client.issue(found["mint_deposit_ref"], claim, pending)
        steps.append(f"unblinded and verified {len(notes)} notes")
        redemption = client.redeem(notes, address)
        steps.append(f"redemption {redemption['batch_id']}: {redemption['amount_sat']} sat to {address}, "
                     f"{redemption['status']} (an operator approves it: Reserves screen, or "
                     f"`mint redemptions approve`)")
    return {"steps": steps, "deposit": found["mint_deposit_ref"], "notes": len(notes),
            "redemption": redemption}
