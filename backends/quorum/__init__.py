"""The signer quorum: a keyless coordinator for k-of-n Coldcards in HSM mode.

It holds no keys. The Coldcards sign under their on-device HSM policy; the coordinator
chooses coins, builds PSBTs, asks the signers, combines, finalizes, broadcasts and keeps
a crash-safe ledger. It never imports textual. One concern per module:

- ``registry``: ``SignerSpec``/``QuorumSpec`` (from ``[quorum]`` and ``[[quorum.signers]]``),
  ``check_descriptor``, ``load_policy``, ``coldcard_wallet_file``;
- ``status``: ``SignerStatus`` (one signer's newest read and checks), ``health_of``;
- ``arming``: enrol, upload policy, start HSM, verify (``accepted_policy_hashes``);
- ``poller``: the status thread and auto-heal's cooldown/attempt cap (``HealTracker``);
- ``preflight``: the policy run locally on a PSBT (``tx_summary``, ``judge``);
- ``gather``: ask signers in parallel, fail over to spares;
- ``spend``: the spend pipeline, the gate insertion point and crash recovery;
- ``conflicts``: signed spends given up are voided by reusing one of their coins;
- ``proof``: proof of control (2-of-3 BIP-137 message signatures);
- ``ledger``: the SQLite (WAL) spend ledger and the operator's enable/disable;
- ``events``: the typed events every operation reports.

Public API (stable; the Quorum screen and the CLI are built on it)::

    coordinator = Coordinator(spec, data_dir, chain=chain_or_factory, audited=services.audited,
                              on_event=callback, gates=[...])
    coordinator.statuses() -> list[SignerStatus]     # newest known, no device asked
    coordinator.refresh([names]) -> list[SignerStatus]   # read devices now
    coordinator.health() -> "ok" | "degraded" | "down"
    coordinator.start_polling(heal=True) / stop_polling() / close()
    coordinator.holds_heal_lease() -> bool            # the one healer of this data dir
    coordinator.arm([names]) -> list[SignerStatus]   # verified; failing_check names what failed
    coordinator.set_enabled(name, bool) -> SignerStatus
    coordinator.balance() -> Balance(confirmed_sat, unconfirmed_sat)
    coordinator.receive_address() -> str
    coordinator.preflight(amount_sat, address) -> Preflight
    coordinator.spend(amount_sat, address, note="") -> Iterator[Event]   # ... Done | Failed
    coordinator.sign_message(text) -> Iterator[Event]                     # ... Proven | Failed
    coordinator.recover() -> list                     # settle spends a crash left unfinished
    coordinator.ledger.recent(n) -> list[SpendRow]
    coordinator.gates                                 # list of gate(plan: SpendPlan) callables

Events: ``Step(name, text)``, ``Preflight(verdicts, amount_sat, fee_sat, threshold)`` of
``PreflightVerdict(signer, approved, rule, reason, headroom_sat, period_ends)``,
``DeviceResult(signer, ok, detail, seconds)``, ``Refusal(signer, reason)``,
``Done(txid, fee_sat, signers, spend_id)``, ``Failed(reason, refusals, hint)``,
``Proven(text, signatures)`` of ``MessageSignature(signer, path, address, signature)``;
``on_event`` receives ``HealthChanged(old, new, live)`` from any thread.

Health: ``ok`` when every signer is live, ``degraded`` with at least the threshold live,
``down`` below it. A signer is live when it is enabled, reachable, its XFP is the expected
one, the wallet is enrolled, HSM mode is active and its policy hash is the configured
policy's. Health changes are logged and audited (``quorum health``).
"""

from importlib import import_module

# names are imported on first use, so that reading a config (which checks [quorum] with
# ``check_descriptor``) does not load the coordinator, its threads and SQLite at startup
_WHERE = {
    "accepted_policy_hashes": "arming", "arm": "arming",
    "Balance": "coordinator", "Coordinator": "coordinator", "HealthChanged": "coordinator",
    "last_event": "coordinator",
    "GateRefused": "errors", "QuorumConfigError": "errors", "QuorumError": "errors",
    "SpendRefused": "errors", "UnknownSigner": "errors",
    "Done": "events", "DeviceResult": "events", "Event": "events", "Failed": "events",
    "Preflight": "events", "PreflightVerdict": "events", "Refusal": "events", "Step": "events",
    "SpendLedger": "ledger", "SpendRow": "ledger",
    "MessageSignature": "proof", "Proven": "proof",
    "QuorumSpec": "registry", "SignerSpec": "registry", "check_descriptor": "registry",
    "coldcard_wallet_file": "registry", "load_policy": "registry",
    "SpendPlan": "spend",
    "CHECKS": "status", "Health": "status", "SignerStatus": "status", "health_of": "status",
}


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CHECKS", "Balance", "Coordinator", "DeviceResult", "Done", "Event", "Failed", "GateRefused",
    "Health", "HealthChanged", "MessageSignature", "Preflight", "PreflightVerdict", "Proven",
    "QuorumConfigError", "QuorumError", "QuorumSpec", "Refusal", "SignerSpec", "SignerStatus",
    "SpendLedger", "SpendPlan", "SpendRefused", "SpendRow", "Step", "UnknownSigner",
    "accepted_policy_hashes", "arm", "check_descriptor", "coldcard_wallet_file", "health_of",
    "last_event", "load_policy",
]
