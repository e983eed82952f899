"""The coordinator: the quorum's one object. It holds no keys; the Coldcards sign."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.errors import CustodyError
from backends.fsutil import ensure_private_dir

from .arming import accepted_policy_hashes, arm
from .events import Event, Failed
from .ledger import SpendLedger
from .poller import HEALABLE, HealTracker, StatusPoller
from .registry import QuorumSpec, SignerSpec
from .status import Health, SignerStatus, health_of, read_status

log = logging.getLogger(__name__)

#: ``Services.audited``'s shape: ``audited(area, action, *, irreversible=False, **details)``
Audited = Callable[..., contextlib.AbstractContextManager]


@contextlib.contextmanager
def _not_audited(area: str, action: str, *, irreversible: bool = False, **details: Any):
    yield {}


@dataclass(frozen=True)
class HealthChanged:
    """The quorum's health changed (also audited as ``quorum health``)."""

    old: str
    new: Health
    live: tuple[str, ...]


@dataclass(frozen=True)
class Balance:
    confirmed_sat: int
    unconfirmed_sat: int


class Coordinator:
    """See the package docstring for what each method promises."""

    def __init__(self, spec: QuorumSpec, data_dir: Path, *, chain: Any = None, audited: Audited | None = None,
                 on_event: Callable[[Any], None] | None = None, client_factory: Callable[[str], Any] | None = None,
                 gates: list[Callable] | None = None,
                 intended_policy: Callable[[], dict | None] | None = None) -> None:
        from backends.coldcard.client import ColdcardClient

        self.spec = spec
        self.data_dir = ensure_private_dir(Path(data_dir))
        self._chain = chain
        self.audited = audited or _not_audited
        self.on_event = on_event or (lambda _event: None)
        make = client_factory or (lambda target: ColdcardClient(target))
        self.clients = {s.name: make(s.target) for s in spec.signers}
        #: coordinator gates, run after pre-flight and before any device is asked to sign
        #: (``gate(plan)`` raises ``GateRefused``); see ``spend.SpendPlan``
        self.gates: list[Callable] = list(gates or [])
        self.ledger = SpendLedger(self.data_dir / "quorum.sqlite3")
        #: the coordinator-wide velocity cap (``global_cap``), the first gate; None when not configured
        self.global_cap = self._open_global_cap()
        if self.global_cap is not None:
            self.gates.insert(0, self.global_cap)
        self._relayed_codes = None
        self.accepted_hashes = accepted_policy_hashes(spec.policy)
        #: where the policy last pushed is kept (``backends.policy``); it wins over the
        #: configured file and is read again at every status read, so a push made by another
        #: process (the CLI while the app polls) is what this coordinator verifies and heals with
        self._intended_policy = intended_policy
        self._follow_intended_policy()
        self.heal = HealTracker(spec.heal_cooldown_seconds, spec.heal_max_attempts)
        self._lock = threading.Lock()
        self._statuses: dict[str, SignerStatus] = {
            s.name: SignerStatus(s.name, self.enabled(s.name)) for s in spec.signers}
        self._read: set[str] = set()
        self._poller: StatusPoller | None = None
        self._heal_lease = None  # the open lock file while this coordinator is the healer

    def _open_global_cap(self):
        if not self.spec.global_cap_sat:
            return None
        from .global_cap import GlobalCap

        return GlobalCap(self.data_dir / "global_cap.sqlite3", chain=lambda: self.chain,
                         descriptor=self.spec.descriptor, limit_sat=self.spec.global_cap_sat,
                         period_minutes=self.spec.global_period_minutes,
                         surge_limit_sat=self.spec.surge_global_cap_sat, spend_state=self.ledger.state_of)

    def global_usage(self, *, surge: bool = False):
        """The global cap's figure now (``GlobalUsage``), or None when no cap is configured."""
        return self.global_cap.usage(surge=surge) if self.global_cap is not None else None

    def relayed_codes(self):
        """The TOTP codes relayed from this data dir (``surge.RelayedCodes``), opened on first use."""
        with self._lock:
            if self._relayed_codes is None:
                from .surge import RelayedCodes

                self._relayed_codes = RelayedCodes(self.data_dir / "relayed_codes.sqlite3")
            return self._relayed_codes

    # -- the chain ------------------------------------------------------------------------
    @property
    def chain(self):
        """The chain given: a ``Chain``, or a callable returning one at each use (such as
        ``lambda: services.chain``, which opens it once), so that a coordinator can be made
        before its chain is reachable."""
        chain = self._chain() if callable(self._chain) and not hasattr(self._chain, "tip") else self._chain
        if chain is None:
            raise CustodyError("the quorum needs a chain", hint="set chain.backend in the config file")
        return chain

    # -- signers ----------------------------------------------------------------------------
    def enabled(self, name: str) -> bool:
        signer = self.spec.signer(name)
        return self.ledger.enabled_overrides().get(name, signer.enabled)

    def set_enabled(self, name: str, enabled: bool) -> SignerStatus:
        """Enable or disable a signer (kept in the data dir; the config is the default)."""
        self.spec.signer(name)
        with self.audited("quorum", "enable" if enabled else "disable", signer=name):
            self.ledger.set_enabled(name, enabled)
        if enabled:
            self.heal.reset(name)
        return self.refresh([name])[0]

    def statuses(self) -> list[SignerStatus]:
        """The newest status of every signer, in configured order (no device is asked)."""
        with self._lock:
            return [self._statuses[s.name] for s in self.spec.signers]

    def live(self) -> list[SignerStatus]:
        return [s for s in self.statuses() if s.live]

    def health(self) -> Health:
        """From the newest statuses (a signer never read counts as not live)."""
        return health_of(self.statuses(), self.spec.threshold)

    def adopt_policy(self, policy: dict) -> None:
        """Expect ``policy`` from now on: a signer running another is stale (not live), and
        arming and auto-heal upload this one. The caller has validated it."""
        from dataclasses import replace

        accepted = accepted_policy_hashes(policy)
        with self._lock:
            self.spec = replace(self.spec, policy=policy)
            self.accepted_hashes = accepted

    def _follow_intended_policy(self) -> None:
        if self._intended_policy is None:
            return
        policy = self._intended_policy()
        if policy is not None and policy != self.spec.policy:
            self.adopt_policy(policy)

    def refresh(self, names: list[str] | None = None) -> list[SignerStatus]:
        """Read the named signers (all by default) now, in parallel; returns their statuses."""
        self._follow_intended_policy()
        signers = [self.spec.signer(n) for n in names] if names else list(self.spec.signers)
        overrides = self.ledger.enabled_overrides()

        def one(signer: SignerSpec) -> SignerStatus:
            enabled = overrides.get(signer.name, signer.enabled)
            return read_status(self.clients[signer.name], signer, self.spec, enabled, self.accepted_hashes)

        with ThreadPoolExecutor(max_workers=len(signers)) as pool:
            fresh = list(pool.map(one, signers))
        self._store(fresh)
        return fresh

    def _store(self, fresh: list[SignerStatus]) -> None:
        with self._lock:
            for status in fresh:
                self._statuses[status.name] = status
                self._read.add(status.name)
            everyone_read = len(self._read) == len(self.spec.signers)
        if everyone_read:  # a health built on signers never read would be a false alarm
            self._note_health()

    def _note_health(self) -> None:
        new = self.health()
        old = self.ledger.fact("health") or "unknown"
        if new == old:
            return
        self.ledger.set_fact("health", new)
        live = tuple(s.name for s in self.live())
        log.warning("quorum health %s -> %s (live: %s)", old, new, ", ".join(live) or "none")
        with contextlib.suppress(CustodyError):
            with self.audited("quorum", "health", old=old, new=new, live=list(live)):
                pass
        self.on_event(HealthChanged(old, new, live))

    def arm(self, names: list[str] | None = None, *, say: Callable[[str], None] = lambda _t: None) -> list[SignerStatus]:
        """Arm the named signers (all enabled ones by default), in parallel; each is audited
        with its verified outcome. Returns their statuses (``failing_check`` says what failed)."""
        signers = [self.spec.signer(n) for n in names] if names else [
            s for s in self.spec.signers if self.enabled(s.name)]
        with ThreadPoolExecutor(max_workers=max(1, len(signers))) as pool:
            results = list(pool.map(lambda s: self._arm_one(s, "arm", say), signers))
        self._store(results)
        return results

    def _arm_one(self, signer: SignerSpec, action: str, say, **details: Any) -> SignerStatus:
        with self.audited("quorum", action, signer=signer.name, **details) as result:
            status = arm(self.clients[signer.name], signer, self.spec, enabled=self.enabled(signer.name), say=say)
            result.update(live=status.live, failing_check=status.failing_check)
            if status.failing_check is not None:
                result["problem"] = status.problem
        if status.live:
            self.heal.reset(signer.name)
        return status

    def poll_once(self, *, heal: bool = True) -> list[SignerStatus]:
        """One poller round: read every signer, then re-arm the rebooted ones that are due."""
        statuses = self.refresh()
        if not heal or not self.holds_heal_lease():
            return statuses
        now = time.monotonic()
        healed = []
        for status in statuses:
            if status.live:
                self.heal.reset(status.name)
            elif status.enabled and status.failing_check in HEALABLE and self.heal.due(status.name, now):
                attempt = self.heal.tried(status.name, now)
                signer = self.spec.signer(status.name)
                try:
                    healed.append(self._arm_one(signer, "auto-heal", lambda _t: None, attempt=attempt))
                except CustodyError:
                    pass  # audited as refused; the next round (after the cooldown) tries again
        if healed:
            self._store(healed)
        return self.statuses()

    def holds_heal_lease(self) -> bool:
        """Whether this coordinator is the one that heals signers of this data dir.

        Several coordinators may poll the same devices (the demo rig's and the app's, a
        second app over SSH): each would re-arm a rebooted signer and audit its own attempt.
        The first to ask takes an exclusive lock on ``quorum-heal.lock`` and keeps it until
        it closes (or its process dies: the system lets go of the lock then, and the next
        poller to ask takes over)."""
        if self._heal_lease is not None:
            return True
        handle = open(self.data_dir / "quorum-heal.lock", "a")  # noqa: SIM115 -- held until close()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._heal_lease = handle
        return True

    def start_polling(self, *, heal: bool = True) -> None:
        if self._poller is None:
            self._poller = StatusPoller(self, self.spec.poll_seconds, heal=heal).start()

    def stop_polling(self) -> None:
        if self._poller is not None:
            self._poller.stop()
            self._poller = None

    def close(self) -> None:
        self.stop_polling()
        if self._heal_lease is not None:
            self._heal_lease.close()  # closing the file lets go of the lock
            self._heal_lease = None
        self.ledger.close()
        if self.global_cap is not None:
            self.global_cap.close()
        if self._relayed_codes is not None:
            self._relayed_codes.close()

    # -- the wallet -------------------------------------------------------------------------
    def balance(self) -> Balance:
        coins = self.chain.utxos(self.spec.descriptor)
        confirmed = sum(c.amount_sat for c in coins if c.confirmations > 0)
        return Balance(confirmed, sum(c.amount_sat for c in coins) - confirmed)

    def receive_address(self) -> str:
        """The first receive address past every one holding a coin now."""
        coins = self.chain.utxos(self.spec.descriptor)
        used = [c.index for c in coins if c.branch == 0 and c.index is not None]
        return self.spec.wallet.receive_address(max(used) + 1 if used else 0)

    # -- spending ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """One spend (or recovery) at a time per data dir, across processes: a spend in
        flight in another process is never mistaken for a crashed one."""
        with open(self.data_dir / "quorum.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CustodyError("another quorum spend is running in this data dir",
                                   hint="wait for it to finish, then try again") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def recover(self) -> list:
        """Settle spends a killed coordinator left unfinished; see ``spend.recover``."""
        from .spend import recover

        with self.exclusive():
            return recover(self)

    def preflight(self, amount_sat: int, destination: str, *, surge: bool = False, totp_user: str | None = None):
        """Pre-flight only: plan the spend and judge it by every live signer's policy,
        locally. Nothing is recorded and no device is asked to sign. ``surge``: judged as
        if the surge tier's user (``totp_user``, else the one the policy names) gave a
        right code."""
        from .spend import plan_spend
        from .surge import surge_user

        self.refresh()
        user = surge_user(self.spec.policy, totp_user) if surge else None
        plan = plan_spend(self, amount_sat, destination, surge_user=user)
        return plan.preflight

    def spend(self, amount_sat: int, destination: str, note: str = "", *, totp: str | None = None,
              totp_user: str | None = None) -> Iterator[Event]:
        """Pay ``amount_sat`` to ``destination``: a generator of events ending in ``Done``
        or ``Failed``. See ``spend.run_spend`` for the stages. ``totp`` (the owner's code)
        asks for the surge tier: the code is relayed to each signer asked and the surge
        global cap applies (``surge``)."""
        from .spend import run_spend

        return run_spend(self, amount_sat, destination, note, totp=totp, totp_user=totp_user)

    def sign_message(self, text: str) -> Iterator[Event]:
        """Proof of control: ``threshold`` signers sign ``text`` (BIP-137) on their message
        paths; events end in ``Proven`` or ``Failed``."""
        from .proof import prove_control

        return prove_control(self, text)


def last_event(events: Iterator[Event]) -> Event:
    """Run an operation to its end; its last event (``Done``/``Proven``/``Failed``)."""
    last: Event = Failed("the operation reported nothing")
    for last in events:
        pass
    return last
