"""The backends opened for one data directory, shared by the CLI and the app.

Backends are opened lazily (the first frame must not wait for a chain or a keystore), and
every operator action goes through :meth:`Services.audited`, so the audit log records it
whether it came from the TUI or the command line, and whether it worked or not.
"""

from __future__ import annotations

import getpass
import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backends.errors import CustodyError
from backends.fsutil import ensure_private_dir

from .config import Config

if TYPE_CHECKING:
    from backends.audit import AuditLog
    from backends.bunker.tokens import TokenStore
    from backends.chain import Chain
    from backends.keystore import Keystore
    from backends.quorum import Coordinator
    from backends.mint.service import Mint
    from backends.policy import PolicyHistory

    from .ceremony_nodes import CeremonyNodes

#: the keystore passphrase of the demo rig; published on purpose, shown on screen
DEMO_PASSPHRASE = "custody-demo"


def wall_clock() -> datetime:
    return datetime.now(UTC)


def unlock_clock() -> float:
    """The keystore's clock for its unlock TTL: it keeps counting while the machine sleeps."""
    from backends.keystore.store import suspend_aware_clock

    return suspend_aware_clock()


@dataclass
class Clocks:
    """Injected time sources: tests freeze both to make screens deterministic."""

    wall: Callable[[], datetime] = wall_clock
    monotonic: Callable[[], float] = unlock_clock


class Services:
    """Config, data directory and the backends of one custody-tui instance."""

    def __init__(
        self,
        config: Config,
        data_dir: Path,
        *,
        actor: str | None = None,
        clocks: Clocks | None = None,
    ) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self.clocks = clocks or Clocks()
        self.actor = actor or default_actor()
        self._lock = threading.Lock()
        self._keystore: Keystore | None = None
        self._audit: AuditLog | None = None
        self._chain: Chain | None = None
        self._quorum: Coordinator | None = None
        self._bunker: TokenStore | None = None
        self._mint: Mint | None = None
        self._policy_history: PolicyHistory | None = None
        self._ceremony_nodes: CeremonyNodes | None = None

    # -- backends, opened on first use ----------------------------------------------------

    @property
    def keystore(self) -> Keystore:
        with self._lock:
            if self._keystore is None:
                self._keystore = self.keystore_at(self.data_dir / "keystore")
            return self._keystore

    def keystore_at(self, directory: Path) -> Keystore:
        """A keystore in ``directory`` with the configured cost and this instance's clocks
        (the main one, or a ceremony node's own)."""
        from backends.keystore import KdfParams, Keystore

        kdf = KdfParams(
            opslimit=self.config.keystore.kdf_opslimit,
            memlimit=self.config.keystore.kdf_memlimit_mib * 1024 * 1024,
        )
        return Keystore(
            ensure_private_dir(directory),
            kdf=kdf,
            clock=self.clocks.monotonic,
            wall_clock=lambda: self.clocks.wall().timestamp(),
        )

    @property
    def audit(self) -> AuditLog:
        with self._lock:
            if self._audit is None:
                from backends.audit import AuditLog

                ensure_private_dir(self.data_dir)
                self._audit = AuditLog(self.data_dir / "audit.sqlite3", clock=self.clocks.wall)
            return self._audit

    @property
    def bunker(self) -> TokenStore:
        """The bunker's device tokens (``DATA_DIR/bunker.sqlite3``)."""
        with self._lock:
            if self._bunker is None:
                from backends.bunker.tokens import TokenStore

                ensure_private_dir(self.data_dir)
                self._bunker = TokenStore(self.data_dir / "bunker.sqlite3",
                                          clock=lambda: self.clocks.wall().timestamp())
            return self._bunker

    @property
    def chain_configured(self) -> bool:
        return self.config.chain.backend != "none"

    @property
    def chain(self) -> Chain:
        with self._lock:
            if self._chain is None:
                self._chain = open_configured_chain(self.config, self.data_dir)
            return self._chain

    @property
    def quorum_configured(self) -> bool:
        return self.config.quorum.configured

    @property
    def quorum(self) -> Coordinator:
        """The signer quorum's coordinator (``[quorum]``), opened on first use; its actions
        are audited here and it reaches the chain through :attr:`chain`."""
        with self._lock:
            if self._quorum is None:
                from backends.quorum import Coordinator

                spec = quorum_spec(self.config, self.data_dir)
                history = self._open_policy_history()
                self._quorum = Coordinator(spec, self.data_dir, chain=lambda: self.chain, audited=self.audited,
                                           intended_policy=history.latest_policy)
            return self._quorum

    @property
    def policy_history(self) -> PolicyHistory:
        """Every HSM policy version pushed (``DATA_DIR/policy.sqlite3``); the newest is the
        policy the quorum verifies its signers against."""
        with self._lock:
            return self._open_policy_history()

    def _open_policy_history(self) -> PolicyHistory:
        if self._policy_history is None:
            from backends.policy import PolicyHistory

            self._policy_history = PolicyHistory(ensure_private_dir(self.data_dir),
                                                 clock=lambda: self.clocks.wall().timestamp())
        return self._policy_history

    @property
    def runs_demo_devices(self) -> bool:
        """Whether this process runs the demo rig's Coldcards (``custody-tui demo``), so that
        one can be power-cycled from the app."""
        if not self.config.demo:
            return False
        from .demo_coldcards import running_devices

        return running_devices(self.data_dir) is not None

    def power_cycle_demo_signer(self, name: str) -> None:
        """Restart the demo rig's device ``name`` (audited); auto-heal then re-arms it."""
        from .demo_coldcards import NotRunningHere, running_devices

        with self.audited("quorum", "power-cycle", signer=name, demo=True):
            devices = running_devices(self.data_dir) if self.config.demo else None
            if devices is None:
                raise NotRunningHere("the demo Coldcards do not run in this process",
                                     hint="power-cycle from the app that `custody-tui demo` started")
            devices.power_cycle(name)

    @property
    def mint(self) -> Mint:
        """The mint of ``[mint]``: its ledger in the data dir, its keys in the keystore."""
        quorum_signer = self.config.mint.reserve_signer == "quorum"
        reserve = self.config.mint.reserve_descriptor or (self.config.quorum.descriptor if quorum_signer else "")
        chain = self.chain if self.chain_configured and reserve else None
        keystore = self.keystore
        with self._lock:
            if self._mint is None:
                from backends.mint.deposit_limits import DepositLimits
                from backends.mint.service import Mint, MintSettings

                mint = self.config.mint
                settings = MintSettings(
                    reserve_descriptor=reserve or None,
                    reserve_signer=mint.reserve_signer,
                    finalization_depth=mint.finalization_depth,
                    reserve_signer_label=mint.reserve_signer_label or None,
                    fee_rate=mint.fee_rate or None,
                    min_change=mint.min_change,
                    max_inputs=mint.max_inputs,
                    events_retention_days=mint.events_retention_days,
                    deposit_limits=DepositLimits(mint.deposit_address_cap, mint.deposit_address_expiry_hours * 3600),
                )
                ensure_private_dir(self.data_dir)
                self._mint = Mint(self.data_dir, keystore, chain=chain, settings=settings,
                                  clock=lambda: self.clocks.wall().timestamp(),
                                  quorum=(lambda: self.quorum) if quorum_signer else None)
            return self._mint

    @property
    def ceremony_nodes(self) -> CeremonyNodes:
        """The ceremony nodes this data dir hosts (``DATA_DIR/ceremony``)."""
        with self._lock:
            if self._ceremony_nodes is None:
                from .ceremony_nodes import CeremonyNodes

                self._ceremony_nodes = CeremonyNodes(self)
            return self._ceremony_nodes

    # -- operator actions -------------------------------------------------------------------

    @contextmanager
    def audited(
        self, area: str, action: str, *, irreversible: bool = False, **details: Any
    ) -> Iterator[dict[str, Any]]:
        """Record an operator action: ``ok`` when the block finishes, ``refused`` for an
        expected failure (wrong passphrase, policy), ``error`` for anything else. The block
        may add result details (never secrets) to the yielded dict.

        An ``irreversible`` action (a broadcast, a deletion, words shown on screen) is
        also recorded as ``started`` before it runs: if the process dies half-way, the log
        still says it may have happened."""
        extra: dict[str, Any] = {}
        if irreversible:
            self.audit.append(area, action, actor=self.actor, details=details, outcome="started")
        try:
            yield extra
        except CustodyError as exc:
            self.audit.append(
                area, action, actor=self.actor, details={**details, "reason": str(exc)},
                outcome="refused",
            )
            raise
        except BaseException as exc:
            self.audit.append(
                area, action, actor=self.actor,
                details={**details, "reason": type(exc).__name__}, outcome="error",
            )
            raise
        try:
            self.audit.append(area, action, actor=self.actor, details={**details, **extra})
        except Exception as exc:
            from backends.audit import AuditUnrecorded

            # The action has happened: saying "failed" would invite the operator to repeat it.
            cause = str(exc) if isinstance(exc, (CustodyError, OSError, sqlite3.Error)) else type(exc).__name__
            raise AuditUnrecorded(
                f"{area} {action} was done, but the audit log could not record it ({cause})",
                hint="do not repeat it; note it by hand, then free disk space or fix DATA_DIR/audit",
            ) from exc

    def keystore_passphrase_hint(self) -> str | None:
        """What to tell the operator about the passphrase (the demo publishes its own)."""
        if self.config.demo:
            return f"demo rig: the keystore passphrase is '{DEMO_PASSPHRASE}'"
        return None

    def close(self) -> None:
        with self._lock:
            if self._ceremony_nodes is not None:
                self._ceremony_nodes.close()
                self._ceremony_nodes = None
            if self._quorum is not None:
                self._quorum.close()
                self._quorum = None
            if self._keystore is not None:
                self._keystore.lock()
            if self._mint is not None:
                self._mint.close()
                self._mint = None
            if self._chain is not None:
                self._chain.close()
                self._chain = None
            if self._bunker is not None:
                self._bunker.close()
                self._bunker = None
            if self._policy_history is not None:
                self._policy_history.close()
                self._policy_history = None
            if self._audit is not None:
                self._audit.close()
                self._audit = None


class QuorumNotConfigured(CustodyError):
    """An action needs the signer quorum and the config has no [[quorum.signers]]."""


def quorum_spec(config: Config, data_dir: Path):
    """The coordinator's view of ``[quorum]``: signers, wallet, the policy file's JSON."""
    from backends.quorum import QuorumSpec, SignerSpec, load_policy

    q = config.quorum
    if not q.configured:
        raise QuorumNotConfigured(
            "no signer quorum is configured",
            hint="add [quorum] and one [[quorum.signers]] table per Coldcard (README: Signer quorum)",
        )
    policy_path = Path(q.policy_file).expanduser()
    if not policy_path.is_absolute():
        policy_path = Path(data_dir) / policy_path
    signers = tuple(SignerSpec(s.name, s.target, s.xfp.upper(), s.enabled, s.message_path) for s in q.signers)
    return QuorumSpec(
        signers=signers, descriptor=q.descriptor, wallet_name=q.wallet_name,
        policy=load_policy(policy_path), network=config.network, message_path=q.message_path,
        fee_rate=q.fee_rate, sign_timeout_seconds=q.sign_timeout_seconds, poll_seconds=q.poll_seconds,
        heal_cooldown_seconds=q.heal_cooldown_seconds, heal_max_attempts=q.heal_max_attempts,
        policy_source=str(policy_path), global_cap_sat=q.global_cap_sat,
        global_period_minutes=q.global_period_minutes, surge_global_cap_sat=q.surge_global_cap_sat,
    )


class ChainNotConfigured(CustodyError):
    """An action needs a chain and the config names none."""


def chain_socket(data_dir: Path) -> Path:
    """Where a process that owns the embedded chain serves it to the others."""
    return data_dir / "chain.sock"


def open_configured_chain(config: Config, data_dir: Path) -> Chain:
    """The chain of ``[chain]``. The embedded chain belongs to one process at a time; when
    another process (the headless demo rig) owns it, talk to that process instead."""
    chain = config.chain
    if chain.backend == "none":
        raise ChainNotConfigured(
            "no chain is configured",
            hint="set chain.backend to 'embedded' (regtest) or 'bitcoind' in the config file",
        )
    from backends.chain import ChainDataDirInUse, open_chain

    if chain.backend == "embedded":
        try:
            return open_chain(
                "embedded",
                data_dir=data_dir / "chain",
                auto_mine_interval=chain.auto_mine_seconds or None,
                auto_mine_to=chain.auto_mine_address or None,
            )
        except ChainDataDirInUse:
            if not chain_socket(data_dir).exists():
                raise
            from backends.chain import RemoteChain

            return RemoteChain(chain_socket(data_dir))
    rpc = chain.bitcoind
    return open_chain(
        "bitcoind",
        rpc_url=rpc.url,
        rpc_user=rpc.user or None,
        rpc_password=rpc.password or None,
        rpc_cookie_file=rpc.cookie_file or None,
        wallet=rpc.wallet,
        timeout=rpc.timeout_seconds,
        data_dir=data_dir / "bitcoind-cache",  # the node's wallet as last read, for the next process
    )


def default_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"
