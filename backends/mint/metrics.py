"""The mint's figures in the Prometheus text exposition format (version 0.0.4).

Every value is read fresh from the chain and the ledger when scraped; all are gauges but the
refused deposit address requests, a counter kept in the ledger.
"""

from __future__ import annotations

from typing import Iterable

from .pause import PauseState
from .reserves import CRITICAL, HEALTHY, WARN, Accounting, Health, Inventory

HEALTH_CODES = {HEALTHY: 0, WARN: 1, CRITICAL: 2}


def _gauge(name: str, help_text: str, samples: Iterable[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    for labels, value in samples:
        lines.append(f"{name}{labels} {value:g}" if isinstance(value, float) else f"{name}{labels} {value}")
    return lines


def render(inv: Inventory, books: Accounting, health: Health, pause: PauseState,
           redemptions_by_status: dict[str, int], commitments: int, inputs_in_flight: int,
           deposit_addresses: dict | None = None) -> str:
    lines: list[str] = []
    lines += _gauge("mint_reserve_utxo_count", "Reserve coins a payout may spend now.", [("", inv.utxo_count)])
    lines += _gauge("mint_reserve_value_sat", "Value of every reserve coin, in sat.", [("", inv.total_value_sat)])
    lines += _gauge("mint_reserve_small_utxo_count", "Spendable reserve coins below the small-coin size.",
                    [("", inv.small_utxo_count)])
    lines += _gauge("mint_reserve_fragmentation", "Share of spendable reserve coins that are small.",
                    [("", float(round(inv.fragmentation, 6)))])
    lines += _gauge("mint_reserve_max_payout_sat", "The most one payout of max_inputs coins can move, in sat.",
                    [("", inv.max_payout_sat)])
    lines += _gauge("mint_liabilities_sat", "What the mint owes: notes, unissued deposits, unsettled payouts.",
                    [("", books.liabilities_sat)])
    lines += _gauge("mint_outstanding_notes_sat", "Issued notes not yet redeemed, in sat.",
                    [("", books.outstanding_notes_sat)])
    lines += _gauge("mint_surplus_sat", "Reserves minus liabilities (negative: deficit), in sat.",
                    [("", books.surplus_sat)])
    lines += _gauge("mint_redemptions", "Redemptions by status.",
                    [(f'{{status="{status}"}}', count) for status, count in sorted(redemptions_by_status.items())])
    lines += _gauge("mint_pending_spend_commitment_count", "Reserve spends recorded or broadcast, not final.",
                    [("", commitments)])
    lines += _gauge("mint_pending_spend_input_count", "Reserve coins held by those spends.", [("", inputs_in_flight)])
    lines += _gauge("mint_health", "Reserve health: 0 healthy, 1 warn, 2 critical.",
                    [("", HEALTH_CODES[health.status])])
    lines += _gauge("mint_redemptions_paused", "1 while redemption payouts are paused.", [("", int(pause.paused))])
    if deposit_addresses is not None:
        lines += _gauge("mint_deposit_addresses_outstanding", "Deposit addresses handed out, no deposit yet, "
                        "not expired.", [("", deposit_addresses["outstanding"])])
        lines += _gauge("mint_deposit_address_cap", "The most deposit addresses outstanding at once.",
                        [("", deposit_addresses["cap"])])
        name = "mint_deposit_address_refusals_total"
        lines += [f"# HELP {name} Deposit address requests refused, by limit (rate: per client; cap).",
                  f"# TYPE {name} counter"]
        lines += [f'{name}{{reason="{reason}"}} {count}'
                  for reason, count in sorted(deposit_addresses["refused"].items())]
    return "\n".join(lines) + "\n"
