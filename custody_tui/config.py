"""The typed configuration model, read from one TOML file.

Every field has a default and a one-line doc (the docs become the comments of
``config init``). Unknown keys and bad values are refused with an error that names the
key and the file, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from urllib.parse import urlsplit
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from backends.errors import CustodyError, os_error_message
from backends.outside_input import MAX_TOML_BYTES, OutsideInputRefused, excerpt, load_toml

NETWORKS = ("main", "test", "signet", "regtest")
CHAIN_BACKENDS = ("embedded", "bitcoind", "none")
REDACTED = "<redacted>"


class ConfigError(CustodyError):
    """The configuration file is missing a value, has a bad one, or cannot be read."""


def doc(text: str, *, secret: bool = False) -> dict[str, Any]:
    """Field metadata: the comment written by ``config init``, and whether to redact it."""
    return {"doc": text, "secret": secret}


@dataclass(frozen=True)
class KeystoreConfig:
    unlock_ttl_seconds: int = field(
        default=300, metadata=doc("Seconds the keystore stays unlocked before it locks itself.")
    )
    kdf_opslimit: int = field(default=3, metadata=doc("Argon2id passes for new keystore entries."))
    kdf_memlimit_mib: int = field(
        default=256, metadata=doc("Argon2id memory in MiB for new keystore entries.")
    )

    def validate(self, key: str) -> None:
        _require(self.unlock_ttl_seconds >= 10, f"{key}.unlock_ttl_seconds", "must be at least 10")
        # the keystore's own bounds: it refuses to read entries outside them
        _require(1 <= self.kdf_opslimit <= 64, f"{key}.kdf_opslimit", "must be 1 to 64")
        _require(8 <= self.kdf_memlimit_mib <= 4096, f"{key}.kdf_memlimit_mib", "must be 8 to 4096 (MiB)")


@dataclass(frozen=True)
class BitcoindConfig:
    url: str = field(
        default="http://127.0.0.1:8332",
        metadata=doc("Bitcoin Core JSON-RPC URL (regtest 18443, signet 38332, testnet 18332)."),
    )
    user: str = field(default="", metadata=doc("RPC user (leave empty to use cookie_file)."))
    password: str = field(default="", repr=False, metadata=doc("RPC password.", secret=True))
    cookie_file: str = field(
        default="", metadata=doc("Path of Core's .cookie file, used when user is empty.")
    )
    wallet: str = field(
        default="custody-tui", metadata=doc("Name of the watch-only descriptor wallet to use.")
    )
    timeout_seconds: float = field(default=30.0, metadata=doc("Timeout of one RPC call."))

    def validate(self, key: str) -> None:
        # checked first, and the URL is not echoed: it may hold a password
        _require(
            "@" not in self.url,
            f"{key}.url",
            "must not carry credentials (use user/password or cookie_file)",
        )
        # a NUL or other control character would reach the socket layer (or a log) raw
        _require(self.url.isprintable(), f"{key}.url", "must not hold control characters")
        _require(
            self.url.startswith(("http://", "https://")),
            f"{key}.url",
            f"must be an http:// or https:// URL, got {self.url!r}",
        )
        try:
            parts = urlsplit(self.url)
            parts.port  # noqa: B018 -- parsing the port is the check
        except ValueError as exc:
            raise ConfigError(f"{key}.url is not a valid URL ({exc}): {self.url!r}") from None
        _require(bool(parts.hostname), f"{key}.url", f"names no host: {self.url!r}")
        _require(self.timeout_seconds > 0, f"{key}.timeout_seconds", "must be positive")


@dataclass(frozen=True)
class ChainConfig:
    backend: Literal["embedded", "bitcoind", "none"] = field(
        default="none",
        metadata=doc("Where chain data comes from: embedded (regtest only), bitcoind, or none."),
    )
    auto_mine_seconds: float = field(
        default=0.0, metadata=doc("Embedded chain: mine a block every N seconds (0 = off).")
    )
    auto_mine_address: str = field(
        default="", metadata=doc("Embedded chain: the regtest address auto-mined blocks pay.")
    )
    bitcoind: BitcoindConfig = field(default_factory=BitcoindConfig)

    def validate(self, key: str) -> None:
        _require(self.auto_mine_seconds >= 0, f"{key}.auto_mine_seconds", "must be 0 or more")
        _require(
            not self.auto_mine_seconds or bool(self.auto_mine_address),
            f"{key}.auto_mine_address",
            "is required when auto_mine_seconds is set",
        )
        self.bitcoind.validate(f"{key}.bitcoind")


@dataclass(frozen=True)
class UiConfig:
    theme: str = field(default="textual-dark", metadata=doc("Textual theme name."))
    poll_seconds: float = field(
        default=5.0, metadata=doc("How often the status line asks the backends for news.")
    )

    def validate(self, key: str) -> None:
        _require(self.poll_seconds >= 0.5, f"{key}.poll_seconds", "must be at least 0.5")
        if self.theme != UiConfig.theme:  # Textual is imported only to check a chosen theme
            from textual.theme import BUILTIN_THEMES

            _require(self.theme in BUILTIN_THEMES, f"{key}.theme",
                     f"is not a Textual theme: {self.theme!r} (try {', '.join(sorted(BUILTIN_THEMES)[:4])}, ...)")


XFP_DIGITS = frozenset("0123456789abcdefABCDEF")
#: sat/vB; above every fee rate the network has ever needed, far below what a slipped digit gives
MAX_QUORUM_FEE_RATE = 1000
#: every bitcoin there will ever be, in sat: no cap above it means anything
MAX_MONEY_SAT = 21_000_000 * 100_000_000


@dataclass(frozen=True)
class QuorumSignerConfig:
    name: str = field(default="", metadata=doc("The signer's name, as the operator calls it."))
    target: str = field(
        default="", metadata=doc("A USB serial number, or a simulator/emulator socket path.")
    )
    xfp: str = field(
        default="", metadata=doc("Expected master fingerprint, 8 hex digits (e.g. 0F056943).")
    )
    enabled: bool = field(default=True, metadata=doc("Whether the quorum asks this signer."))
    message_path: str = field(
        default="", metadata=doc("BIP-32 path it signs messages with (empty: quorum.message_path).")
    )

    def validate(self, key: str) -> None:
        _require(bool(self.name.strip()), f"{key}.name", "must not be empty")
        _require(bool(self.target.strip()), f"{key}.target", "must name a USB serial or a socket path")
        if "/" in self.target:  # a simulator socket: ckcc names its own socket after this path
            directory = self.target.rsplit("/", 1)[0]
            _require("." not in directory, f"{key}.target",
                     f"is in a directory with a dot ({directory}); ckcc cannot use such a socket path")
            _require(len(self.target.encode()) <= 107, f"{key}.target", "is longer than a socket path may be (107 bytes)")
        _require(len(self.xfp) == 8 and XFP_DIGITS.issuperset(self.xfp), f"{key}.xfp",
                 f"must be 8 hex digits, got {self.xfp!r}")


@dataclass(frozen=True)
class QuorumConfig:
    descriptor: str = field(
        default="", metadata=doc("The quorum's wsh(sortedmulti(...)) descriptor, with its checksum.")
    )
    wallet_name: str = field(
        default="", metadata=doc("The multisig wallet's name on the Coldcards (1 to 20 characters).")
    )
    policy_file: str = field(
        default="", metadata=doc("HSM policy JSON to arm the signers with (relative: to the data dir).")
    )
    message_path: str = field(
        default="m/84h/1h/0h/0/0", metadata=doc("BIP-32 path of proof-of-control messages (p2wpkh).")
    )
    fee_rate: float = field(default=2.0, metadata=doc("Fee rate of quorum spends, sat/vB."))
    sign_timeout_seconds: float = field(
        default=30.0, metadata=doc("How long a signer may take to answer a signing request.")
    )
    poll_seconds: float = field(default=3.0, metadata=doc("How often the status poller reads each signer."))
    heal_cooldown_seconds: float = field(
        default=30.0, metadata=doc("Auto-heal: seconds between re-arm attempts on one signer.")
    )
    heal_max_attempts: int = field(
        default=5, metadata=doc("Auto-heal: attempts per signer before it waits for an operator.")
    )
    global_cap_sat: int = field(
        default=0, metadata=doc("Coordinator-wide cap on what the quorum sends out per period, counted "
                                "from the chain (0: none).")
    )
    global_period_minutes: int = field(
        default=1440, metadata=doc("The global cap's rolling window, in minutes.")
    )
    surge_global_cap_sat: int = field(
        default=0, metadata=doc("The global cap when a spend carries the owner's TOTP code (0: the global cap).")
    )
    signers: list[QuorumSignerConfig] = field(
        default_factory=list, metadata=doc("One [[quorum.signers]] table per Coldcard.")
    )

    @property
    def configured(self) -> bool:
        return bool(self.signers)

    def validate(self, key: str, network: str) -> None:
        _require(self.fee_rate > 0, f"{key}.fee_rate", "must be positive")
        _require(self.fee_rate <= MAX_QUORUM_FEE_RATE, f"{key}.fee_rate",
                 f"must be at most {MAX_QUORUM_FEE_RATE} sat/vB, got {self.fee_rate:g} (a typo would pay it "
                 "on every unattended spend)")
        _require(self.sign_timeout_seconds > 0, f"{key}.sign_timeout_seconds", "must be positive")
        _require(self.poll_seconds >= 0.5, f"{key}.poll_seconds", "must be at least 0.5")
        _require(self.heal_cooldown_seconds >= 0, f"{key}.heal_cooldown_seconds", "must be 0 or more")
        _require(self.heal_max_attempts >= 0, f"{key}.heal_max_attempts", "must be 0 or more")
        _require(0 <= self.global_cap_sat <= MAX_MONEY_SAT, f"{key}.global_cap_sat",
                 f"must be 0 (no cap) to 21,000,000 BTC in sat, got {self.global_cap_sat}")
        _require(1 <= self.global_period_minutes <= 366 * 1440, f"{key}.global_period_minutes",
                 f"must be 1 minute to a year, got {self.global_period_minutes}")
        _require(0 <= self.surge_global_cap_sat <= MAX_MONEY_SAT, f"{key}.surge_global_cap_sat",
                 f"must be 0 (the global cap) to 21,000,000 BTC in sat, got {self.surge_global_cap_sat}")
        _require(not self.surge_global_cap_sat or self.global_cap_sat, f"{key}.surge_global_cap_sat",
                 "needs quorum.global_cap_sat: a surge raises the global cap")
        _require(not self.surge_global_cap_sat or self.surge_global_cap_sat >= self.global_cap_sat,
                 f"{key}.surge_global_cap_sat",
                 f"must be at least quorum.global_cap_sat ({self.global_cap_sat}), got {self.surge_global_cap_sat}")
        for n, signer in enumerate(self.signers):
            signer.validate(f"{key}.signers[{n}]")
        for what in ("name", "xfp", "target"):
            seen: dict[str, int] = {}
            for n, signer in enumerate(self.signers):
                value = getattr(signer, what).upper() if what == "xfp" else getattr(signer, what)
                if value in seen:
                    raise ConfigError(f"{key}.signers[{n}].{what} {getattr(signer, what)!r} is also "
                                      f"{key}.signers[{seen[value]}].{what}: each signer's {what} must be unique")
                seen[value] = n
        if not self.signers:
            return
        _require(1 <= len(self.wallet_name) <= 20, f"{key}.wallet_name", "must be 1 to 20 characters")
        _require(bool(self.policy_file), f"{key}.policy_file", "must name the HSM policy to arm with")
        from backends.quorum import QuorumConfigError, check_descriptor

        try:
            check_descriptor(self.descriptor, [s.xfp for s in self.signers], network)
        except QuorumConfigError as exc:
            raise ConfigError(f"{key}.descriptor: {exc}", hint=exc.hint) from None


@dataclass(frozen=True)
class BunkerConfig:
    relays: str = field(
        default="ws://127.0.0.1:7447",
        metadata=doc("NIP-46 relays the bunker listens on and puts in bunker:// URLs, comma-separated."),
    )
    keys: str = field(
        default="", metadata=doc("Keystore nostr keys the bunker serves, comma-separated (empty = all).")
    )
    admin_key: str = field(
        default="", metadata=doc("Keystore nostr key of the admin RPC (kind 24134); empty = no admin RPC.")
    )
    admin_pubkeys: str = field(
        default="", metadata=doc("Hex pubkeys allowed to use the admin RPC, comma-separated.")
    )

    def relay_list(self) -> tuple[str, ...]:
        return tuple(r.strip() for r in self.relays.split(",") if r.strip())

    def key_list(self) -> tuple[str, ...]:
        return tuple(k.strip() for k in self.keys.split(",") if k.strip())

    def admin_list(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.admin_pubkeys.split(",") if k.strip())

    def validate(self, key: str) -> None:
        for relay in self.relay_list():
            _require(relay.startswith(("ws://", "wss://")), f"{key}.relays",
                     f"must list ws:// or wss:// URLs, got {relay!r}")
            try:  # what websockets would refuse at connect time, stopping the bunker
                parts = urlsplit(relay)
                parts.port  # noqa: B018 -- parsing the port is the check
            except ValueError as exc:
                raise ConfigError(f"{key}.relays has an invalid URL ({exc}): {relay!r}") from None
            _require(bool(parts.hostname), f"{key}.relays", f"names no host: {relay!r}")
        for pubkey in self.admin_list():
            _require(len(pubkey) == 64 and all(c in "0123456789abcdef" for c in pubkey),
                     f"{key}.admin_pubkeys", f"must list 64-hex pubkeys, got {pubkey!r}")


@dataclass(frozen=True)
class MintConfig:
    reserve_descriptor: str = field(
        default="", metadata=doc("Output descriptor of the mint's reserve wallet (watched on the chain).")
    )
    reserve_signer: str = field(
        default="hot", metadata=doc("Who signs reserve payouts: 'hot' (reserve_signer_label) or 'quorum' "
                                    "(the [quorum] Coldcards, under their HSM policy; the reserve is the "
                                    "quorum's wallet).")
    )
    reserve_signer_label: str = field(
        default="", metadata=doc("Keystore mnemonic whose key signs reserve payouts (the hot-key signer).")
    )
    finalization_depth: int = field(
        default=6, metadata=doc("Confirmations before a deposit is credited or a payout is final.")
    )
    fee_rate: float = field(
        default=0.0, metadata=doc("Payout fee rate in sat/vB (0 = the chain's 6-block estimate).")
    )
    min_change: int = field(default=1000, metadata=doc("Smallest change output a payout creates, in sat."))
    max_inputs: int = field(default=8, metadata=doc("Most reserve coins one payout may spend."))
    events_retention_days: int = field(default=90, metadata=doc("Days the mint keeps its events history."))
    deposit_address_cap: int = field(
        default=1000, metadata=doc("Most deposit addresses waiting for a deposit at once (anyone may ask "
                                   "for one; each 1000 widens the chain's watch).")
    )
    deposit_address_expiry_hours: float = field(
        default=24.0, metadata=doc("Hours after which a deposit address with no deposit registered stops "
                                   "counting against the cap (a late payment can still be registered).")
    )
    deposit_address_rate_per_hour: float = field(
        default=30.0, metadata=doc("Deposit addresses one client (an IPv4 address or IPv6 /64) may ask "
                                   "the HTTP API for per hour.")
    )
    deposit_address_burst: int = field(
        default=5, metadata=doc("Deposit addresses one client may ask for at once before the hourly rate applies.")
    )

    def validate(self, key: str) -> None:
        _require(self.reserve_signer in ("hot", "quorum"), f"{key}.reserve_signer", "must be 'hot' or 'quorum'")
        _require(1 <= self.finalization_depth <= 1000, f"{key}.finalization_depth", "must be 1 to 1000")
        _require(0 <= self.fee_rate <= 10_000, f"{key}.fee_rate", "must be 0 to 10000 (sat/vB)")
        _require(self.min_change >= 0, f"{key}.min_change", "must be 0 or more")
        _require(1 <= self.max_inputs <= 500, f"{key}.max_inputs", "must be 1 to 500")
        _require(1 <= self.events_retention_days <= 3650, f"{key}.events_retention_days", "must be 1 to 3650")
        _require(1 <= self.deposit_address_cap <= 1_000_000, f"{key}.deposit_address_cap", "must be 1 to 1000000")
        _require(1 / 60 <= self.deposit_address_expiry_hours <= 8760, f"{key}.deposit_address_expiry_hours",
                 "must be 1/60 (a minute) to 8760 (a year)")
        _require(0 < self.deposit_address_rate_per_hour <= 1_000_000, f"{key}.deposit_address_rate_per_hour",
                 "must be above 0 and at most 1000000")
        _require(1 <= self.deposit_address_burst <= 10_000, f"{key}.deposit_address_burst", "must be 1 to 10000")


@dataclass(frozen=True)
class Config:
    network: Literal["main", "test", "signet", "regtest"] = field(
        default="main", metadata=doc("Bitcoin network: main, test, signet or regtest.")
    )
    data_dir: str = field(
        default="", metadata=doc("Data directory (empty = the XDG data dir; --data-dir wins).")
    )
    demo: bool = field(
        default=False,
        metadata=doc("True only for the embedded demo rig: fixed seeds, a published passphrase."),
    )
    keystore: KeystoreConfig = field(default_factory=KeystoreConfig)
    chain: ChainConfig = field(default_factory=ChainConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    quorum: QuorumConfig = field(default_factory=QuorumConfig)
    bunker: BunkerConfig = field(default_factory=BunkerConfig)
    mint: MintConfig = field(default_factory=MintConfig)

    def validate(self, key: str = "") -> None:
        if self.chain.backend == "embedded" and self.network != "regtest":
            raise ConfigError(
                "chain.backend = 'embedded' runs a regtest chain only, "
                f"but network = {self.network!r}",
                hint="set network = 'regtest', or use chain.backend = 'bitcoind'",
            )
        self.keystore.validate("keystore")
        self.chain.validate("chain")
        self.ui.validate("ui")
        self.quorum.validate("quorum", self.network)
        self.bunker.validate("bunker")
        self.mint.validate("mint")
        if self.mint.reserve_signer == "quorum":
            from backends.chain.descriptors import strip_checksum

            _require(self.quorum.configured, "mint.reserve_signer", "= 'quorum' needs [quorum] and its signers")
            _require(not self.mint.reserve_descriptor or strip_checksum(self.mint.reserve_descriptor)
                     == strip_checksum(self.quorum.descriptor), "mint.reserve_descriptor",
                     "must be the quorum's descriptor (or empty) when mint.reserve_signer = 'quorum'")
        if self.mint.reserve_descriptor:
            from backends.wallet import parse_descriptor

            try:
                parse_descriptor(self.mint.reserve_descriptor, self.network)
            except CustodyError as exc:
                raise ConfigError(f"mint.reserve_descriptor: {exc}") from None
        if self.chain.auto_mine_address:
            from backends.wallet import parse_address

            try:
                parse_address(self.chain.auto_mine_address, self.network)
            except CustodyError as exc:
                raise ConfigError(f"chain.auto_mine_address: {exc}") from None


def _require(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{key} {message}")


# -- reading ---------------------------------------------------------------------------


def load_config(path: Path) -> Config:
    """Read ``path``; a missing file gives the defaults. Errors name the file and the key."""
    if not path.exists():
        return Config()
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_TOML_BYTES + 1)  # a bigger file is refused unread
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {os_error_message(exc)}") from None
    try:
        raw = load_toml(data, what="the config file")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OutsideInputRefused as exc:
        raise ConfigError(f"{path}: refused: {exc}") from None
    except ValueError:  # tomllib passes int()'s own error through (over 4,300 digits)
        raise ConfigError(f"{path}: not valid TOML: a number is too long") from None
    return config_from_dict(raw, source=str(path))


def config_from_dict(raw: dict[str, Any], *, source: str = "<config>") -> Config:
    try:
        config = _build(Config, raw, prefix="")
        config.validate()
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}", hint=exc.hint) from None
    return config


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'top level'} must be a table")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields))
        raise ConfigError(f"unknown key {excerpt(prefix + unknown[0])!r} (known here: {known})")
    values = {}
    for name, value in raw.items():
        secret = bool(fields[name].metadata.get("secret"))
        values[name] = _coerce(hints[name], value, f"{prefix}{name}", secret=secret)
    return cls(**values)


def _shown(value: Any, secret: bool) -> str:
    """How a bad value appears in an error: a secret only by its TOML type."""
    if not secret:
        return excerpt(repr(value), 80)
    kinds = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "an array", dict: "a table"}
    return kinds.get(type(value), "another type") + " (value not shown)"


def _coerce(kind: Any, value: Any, key: str, *, secret: bool = False) -> Any:
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, prefix=f"{key}.")
    if get_origin(kind) is list:  # an array of tables: [[key]]
        (item,) = get_args(kind)
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be an array of tables ([[{key}]])")
        return [_coerce(item, entry, f"{key}[{n}]") for n, entry in enumerate(value)]
    if get_origin(kind) is Literal:
        choices = get_args(kind)
        if value not in choices:
            raise ConfigError(f"{key} must be one of {', '.join(map(repr, choices))}, got {_shown(value, secret)}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {_shown(value, secret)}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {_shown(value, secret)}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key} must be a number, got {_shown(value, secret)}")
        if not math.isfinite(value):  # TOML has inf and nan; no setting means either
            raise ConfigError(f"{key} must be a finite number, got {_shown(value, secret)}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {_shown(value, secret)}")
        return value
    raise TypeError(f"config field {key} has an unsupported type {kind!r}")


# -- writing and showing ---------------------------------------------------------------


def config_to_dict(config: Any, *, redact: bool = True) -> dict[str, Any]:
    """The effective config as plain data; secret fields that are set show as <redacted>."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            out[f.name] = config_to_dict(value, redact=redact)
        elif isinstance(value, list):
            out[f.name] = [config_to_dict(v, redact=redact) for v in value]
        elif redact and f.metadata.get("secret") and value:
            out[f.name] = REDACTED
        else:
            out[f.name] = value
    return out


def render_toml(config: Any, *, redact: bool = True, comments: bool = False) -> str:
    """Serialise a config as TOML (the subset this model uses), optionally with each
    field's doc as a comment above it."""
    lines: list[str] = []
    _render_table(config, "", lines, redact=redact, comments=comments)
    return "\n".join(lines).strip() + "\n"


def _render_table(obj: Any, table: str, lines: list[str], *, redact: bool, comments: bool,
                  array_item: bool = False) -> None:
    fields = dataclasses.fields(obj)
    arrays = [f for f in fields if isinstance(getattr(obj, f.name), list)]
    tables = [f for f in fields if dataclasses.is_dataclass(getattr(obj, f.name))]
    scalars = [f for f in fields if f not in arrays and f not in tables]
    if table and not array_item:
        lines.extend(["", f"[{table}]"])
    for f in scalars:
        value = getattr(obj, f.name)
        if redact and f.metadata.get("secret") and value:
            value = REDACTED
        if comments and f.metadata.get("doc"):
            lines.append(f"# {f.metadata['doc']}")
        lines.append(f"{f.name} = {_toml_value(value)}")
    for f in tables:
        sub = f"{table}.{f.name}" if table else f.name
        _render_table(getattr(obj, f.name), sub, lines, redact=redact, comments=comments)
    for f in arrays:
        sub = f"{table}.{f.name}" if table else f.name
        if comments and f.metadata.get("doc") and not getattr(obj, f.name):
            lines.extend(["", f"# {f.metadata['doc']} (none by default)"])
        for item in getattr(obj, f.name):
            lines.extend(["", f"[[{sub}]]"])
            _render_table(item, sub, lines, redact=redact, comments=comments, array_item=True)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + "".join(_toml_char(c) for c in str(value)) + '"'


def _toml_char(char: str) -> str:
    """One character of a TOML basic string: quote, backslash and control characters escaped
    (TOML forbids them raw), so what ``config show`` prints always loads again."""
    if char in '"\\':
        return "\\" + char
    if char < " " or char == "\x7f":
        return f"\\u{ord(char):04x}"
    return char


def default_config_text() -> str:
    header = (
        "# custody-tui configuration. Every key is optional; the values below are the defaults.\n"
        "# Unknown keys are refused. Docs: README.md, section Configuration.\n"
    )
    return header + "\n" + render_toml(Config(), redact=False, comments=True)
