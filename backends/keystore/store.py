"""``Keystore``: one directory of encrypted entries, unlocked for a limited time.

Unlocking runs Argon2id once over the keystore-wide salt and cost in ``keystore.hdr``
and checks the passphrase against the sealed verifier there. Every entry records the salt
and cost it was sealed under; entries that differ from the header (only after an
interrupted passphrase change) get their key derived during the same unlock, once per
distinct setting. Keys are cached in ``bytearray``s that ``lock()`` and TTL expiry zero.

Several processes may share the directory: writers (add, delete, passphrase change) hold
an flock on it, and a process whose unlock predates another's passphrase change is told
to unlock again rather than seal an entry under a key no header names any more.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from embit.bip32 import HDKey

from backends.errors import os_error_message
from backends.fsutil import atomic_write, ensure_private_dir, fsync_dir
from backends.keystore import bip32, bip39
from backends.keystore.addresses import DerivedAddress, ScriptType, address_for, network_params
from backends.keystore.crypto import (
    DecryptionFailed,
    KdfParams,
    derive_key,
    new_nonce,
    nfkd_utf8,
    new_salt,
    open_sealed,
    seal,
    wipe,
)
from backends.keystore.entries import (
    ENTRY_SUFFIX,
    EntryInfo,
    EntryListing,
    EntryKind,
    build_metadata,
    check_label,
    check_public,
    check_raw_secret,
    decode_mnemonic_payload,
    encode_mnemonic_payload,
    info_from_metadata,
    raw_secret_fingerprint,
)
from backends.keystore.errors import (
    EntryExists,
    EntryNotFound,
    InvalidPassphrase,
    KeystoreAlreadyInitialized,
    KeystoreCorrupt,
    KeystoreError,
    KeystoreLocked,
    KeystoreNotInitialized,
    WrongEntryKind,
    WrongPassphrase,
)
from backends.keystore.format import (
    VERIFIER_PLAINTEXT,
    KdfStamp,
    SealedFile,
    encode_file,
    entry_associated,
    header_associated,
    parse_entry,
    parse_header,
)
from backends.keystore.messages import sign_message_with_key

HEADER_NAME = "keystore.hdr"
PENDING_HEADER_NAME = "keystore.hdr.next"


def suspend_aware_clock() -> float:
    """Seconds that keep counting while the machine sleeps, for the unlock TTL.

    ``time.monotonic`` stops during a suspend on Linux, so a laptop closed for a night would
    wake up still unlocked. CLOCK_BOOTTIME (Linux) and CLOCK_MONOTONIC elsewhere (macOS and
    the BSDs count sleep in it) do not stop.
    """
    clock_id = getattr(time, "CLOCK_BOOTTIME", getattr(time, "CLOCK_MONOTONIC", None))
    if clock_id is None:
        return time.monotonic()
    return time.clock_gettime(clock_id)


class Keystore:
    """Encrypted secrets in ``directory``: list while locked, use while unlocked."""

    def __init__(
        self,
        directory: Path,
        kdf: KdfParams | None = None,
        *,
        clock: Callable[[], float] = suspend_aware_clock,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._directory = Path(directory)
        self._kdf = kdf if kdf is not None else KdfParams.default()
        self._clock = clock
        self._wall_clock = wall_clock
        self._keys: dict[KdfStamp, bytearray] = {}
        self._primary: KdfStamp | None = None
        self._deadline: float | None = None
        self._mutex = threading.RLock()

    def __repr__(self) -> str:
        state = "unlocked" if self.is_unlocked else "locked"
        return f"Keystore({str(self._directory)!r}, {state})"

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def kdf(self) -> KdfParams:
        """The cost used for new keystores and for passphrase changes."""
        return self._kdf

    # -- lifecycle -------------------------------------------------------------------

    def exists(self) -> bool:
        return (self._directory / HEADER_NAME).is_file()

    def initialize(self, passphrase: str) -> None:
        """Create the keystore header and its passphrase verifier. Leaves it locked."""
        with self._mutex:
            if self.exists():
                raise KeystoreAlreadyInitialized(f"{self._directory} already holds a keystore")
            _check_new_passphrase(passphrase)
            if orphans := self._entry_paths():
                # a new header (a new salt) would leave every one of them unopenable
                raise KeystoreCorrupt(
                    f"{self._directory / HEADER_NAME} is missing but {len(orphans)} entries remain "
                    "beside it; a new keystore here could open none of them",
                    hint="Restore keystore.hdr from a backup, or initialise an empty directory.",
                )
            ensure_private_dir(self._directory)
            os.chmod(self._directory, 0o700)
            stamp = KdfStamp(new_salt(), self._kdf)
            key = derive_key(passphrase, stamp.salt, stamp.params)
            try:
                self._write_header(self._directory / HEADER_NAME, stamp, key, new=True)
            finally:
                wipe(key)

    def unlock(self, passphrase: str, ttl_seconds: float) -> None:
        """Check the passphrase and keep the key for ``ttl_seconds``; WrongPassphrase if not."""
        if not ttl_seconds > 0:
            raise KeystoreError(f"unlock time must be positive, not {ttl_seconds}")
        with self._mutex:
            header = self._read_header(self._directory / HEADER_NAME)
            key = _open_verifier(header, passphrase)
            if key is None:
                header, key = self._try_pending_header(passphrase)
            if key is None:
                raise WrongPassphrase(
                    f"the passphrase does not open the keystore in {self._directory}",
                    hint="Check the passphrase (and keyboard layout) and try again.",
                )
            self.lock()
            keys = {header.stamp: key}
            # Only the other header's settings: the one legitimate way for an entry to
            # differ. A planted entry must not buy Argon2id runs (each up to 64 x 4 GiB).
            for stamp in (self._entry_stamps() & self._header_stamps()) - set(keys):
                keys[stamp] = derive_key(passphrase, stamp.salt, stamp.params)
            self._keys, self._primary = keys, header.stamp
            self._deadline = self._clock() + ttl_seconds

    def lock(self) -> None:
        """Zero and forget every cached key."""
        with self._mutex:
            for key in self._keys.values():
                wipe(key)
            self._keys = {}
            self._primary = None
            self._deadline = None

    @property
    def is_unlocked(self) -> bool:
        with self._mutex:
            self._expire_if_due()
            return bool(self._keys)

    def seconds_left(self) -> float | None:
        """Seconds until the keystore locks itself, or None when locked."""
        with self._mutex:
            self._expire_if_due()
            if self._deadline is None:
                return None
            return max(0.0, self._deadline - self._clock())

    def change_passphrase(self, old: str, new: str) -> None:
        """Re-encrypt every entry under ``new`` (and the keystore's current KDF cost).

        Order: decrypt everything first (any failure: nothing is written); write the new
        header as ``keystore.hdr.next``; rewrite each entry atomically; rename the new
        header over the old. A crash part-way leaves every file readable by the old or
        the new passphrase: ``unlock`` accepts either, and running ``change_passphrase``
        again with the same two passphrases finishes the job.
        """
        _check_new_passphrase(new)
        with self._mutex, self._writers_lock():
            header = self._read_header(self._directory / HEADER_NAME)
            old_key = _open_verifier(header, old)
            if old_key is None:
                raise WrongPassphrase(f"the old passphrase does not open {self._directory}")
            keys = _KeyFinder({header.stamp: old_key}, (old, new))
            payloads: list[tuple[EntryInfo, bytearray]] = []
            new_stamp = KdfStamp(new_salt(), self._kdf)
            new_key = bytearray()
            try:
                for path in self._entry_paths():
                    sealed, info = self._read_entry(path)
                    payloads.append((info, keys.open(path, sealed)))
                new_key = derive_key(new, new_stamp.salt, new_stamp.params)
                pending = self._directory / PENDING_HEADER_NAME
                self._write_header(pending, new_stamp, new_key)
                for info, payload in payloads:
                    self._write_entry(info, payload, new_stamp, new_key, new=False)
                os.replace(pending, self._directory / HEADER_NAME)
                fsync_dir(self._directory)
            except BaseException:
                wipe(new_key)
                raise
            finally:
                keys.wipe()
                for _, payload in payloads:
                    wipe(payload)
            was_unlocked = self.is_unlocked
            deadline = self._deadline
            self.lock()
            if was_unlocked:
                self._keys, self._primary, self._deadline = {new_stamp: new_key}, new_stamp, deadline
            else:
                wipe(new_key)

    # -- listing (works while locked) ------------------------------------------------

    def entries(self) -> list[EntryInfo]:
        """Public metadata of every entry, sorted by label. Needs no passphrase.

        Strict: the first unreadable entry file raises KeystoreCorrupt naming it. Screens
        and commands list with :meth:`listing`, which reports it and lists the others.
        """
        with self._mutex:
            self._require_initialized()
            return [self._read_entry(path)[1] for path in self._entry_paths()]

    def listing(self) -> EntryListing:
        """Every readable entry, and one error per entry file that is not (a planted or
        damaged file never hides the operator's other entries)."""
        readable: list[EntryInfo] = []
        unreadable: list[KeystoreError] = []
        with self._mutex:
            self._require_initialized()
            for path in self._entry_paths():
                try:
                    readable.append(self._read_entry(path)[1])
                except KeystoreCorrupt as exc:
                    unreadable.append(exc)
                except OSError as exc:
                    unreadable.append(KeystoreCorrupt(os_error_message(exc)))
        return EntryListing(readable, unreadable)

    def entry(self, label: str) -> EntryInfo:
        with self._mutex:
            return self._read_entry(self._existing_path(label))[1]

    # -- BIP-39 ------------------------------------------------------------------------

    def create_mnemonic(self, label: str, words: int = 12, bip39_passphrase: str = "") -> EntryInfo:
        """Generate and store a new 12- or 24-word mnemonic; show it with reveal_mnemonic."""
        self._check_new_entry(label)
        return self._store_mnemonic(label, bip39.generate_mnemonic(words), bip39_passphrase)

    def import_mnemonic(self, label: str, mnemonic: str, bip39_passphrase: str = "") -> EntryInfo:
        """Validate (words and checksum) and store an existing mnemonic."""
        self._check_new_entry(label)
        return self._store_mnemonic(label, bip39.validate_mnemonic(mnemonic), bip39_passphrase)

    def reveal_mnemonic(self, label: str) -> str:
        info, payload = self._open_entry(label)
        try:
            _require_kind(info, EntryKind.MNEMONIC, "reveal_mnemonic")
            return decode_mnemonic_payload(payload)[0]
        finally:
            wipe(payload)

    # -- raw secrets -------------------------------------------------------------------

    def add_secret(
        self,
        label: str,
        kind: EntryKind | str,
        secret: bytes | bytearray,
        public: dict | None = None,
    ) -> EntryInfo:
        entry_kind = EntryKind.parse(kind)
        check_raw_secret(entry_kind, secret)
        public_info = check_public(public)
        with self._mutex, self._writers_lock():
            self._check_new_entry(label)
            self._require_current_key()
            info = self._new_info(label, entry_kind, raw_secret_fingerprint(entry_kind, secret), public_info)
            payload = bytearray(secret)
            try:
                self._write_entry(info, payload, self._primary, self._primary_key())
            finally:
                wipe(payload)
            return info

    def get_secret(self, label: str) -> bytes:
        """The raw secret of a non-mnemonic entry. The caller owns (and should drop) it."""
        info, payload = self._open_entry(label)
        try:
            if info.kind is EntryKind.MNEMONIC:
                raise WrongEntryKind(f"{label!r} is a mnemonic; use reveal_mnemonic")
            return bytes(payload)
        finally:
            wipe(payload)

    def delete(self, label: str) -> None:
        """Remove an entry's file. Needs the keystore unlocked."""
        with self._mutex, self._writers_lock():
            path = self._existing_path(label)
            self._primary_key()
            self._require_current_key()
            path.unlink()
            fsync_dir(self._directory)

    # -- BIP-32 --------------------------------------------------------------------------

    def xpub(self, label: str, path: str, network: str = "main") -> str:
        """The extended public key at ``path`` (xpub on main, tpub elsewhere)."""
        return self._derive(label, path, network).to_public().to_base58()

    def descriptor_key(self, label: str, path: str, network: str = "main") -> str:
        """``[xfp/path]xpub`` as used in output descriptors."""
        indices = bip32.parse_path(path)
        origin = bip32.format_path(indices)[1:]
        xfp = self.entry(label).fingerprint
        return f"[{xfp}{origin}]{self.xpub(label, path, network)}"

    def derive_address(
        self, label: str, path: str, network: str = "main", script: str | ScriptType = "wpkh"
    ) -> DerivedAddress:
        kind = ScriptType.parse(script)
        child = self._derive(label, path, network)
        public_key = child.sec()
        return DerivedAddress(
            address=address_for(public_key, kind, network),
            public_key=public_key,
            path=bip32.format_path(bip32.parse_path(path)),
            script=kind,
            network=network,
        )

    def sign_message(
        self,
        label: str,
        path: str,
        message: str,
        network: str = "main",
        script: str | ScriptType = "wpkh",
    ) -> tuple[str, str]:
        """BIP-137 sign with the key at ``path``; returns (address, base64 signature)."""
        kind = ScriptType.parse(script)
        child = self._derive(label, path, network)
        secret = bytearray(child.key.secret)
        try:
            return sign_message_with_key(secret, message, kind, network)
        finally:
            wipe(secret)

    def sign_psbt(self, label: str, psbt, network: str = "main") -> int:
        """Add this mnemonic's signatures to ``psbt`` (a ``backends.wallet.Psbt``), in place:
        every input whose BIP-32 origins name this entry's fingerprint is signed with the key
        at that path (embit's signer: ECDSA for segwit v0, BIP-340 for a taproot key path).
        Returns how many signatures were added; 0 when no input is this key's."""
        master = self._derive(label, "m", network)
        return psbt.sign_with(master)

    # -- internals -------------------------------------------------------------------------

    def _derive(self, label: str, path: str, network: str) -> HDKey:
        indices = bip32.parse_path(path)
        network_params(network)
        info, payload = self._open_entry(label)
        seed = bytearray()
        try:
            _require_kind(info, EntryKind.MNEMONIC, "BIP-32 derivation")
            seed = bip39.mnemonic_to_seed(*decode_mnemonic_payload(payload))
            return bip32.derive(bip32.master_key(seed, network), indices)
        finally:
            wipe(seed)
            wipe(payload)

    def _store_mnemonic(self, label: str, mnemonic: str, bip39_passphrase: str) -> EntryInfo:
        with self._mutex, self._writers_lock():
            self._check_new_entry(label)
            key = self._primary_key()
            self._require_current_key()
            seed = bip39.mnemonic_to_seed(mnemonic, bip39_passphrase)
            try:
                fingerprint = bip32.fingerprint_of(bip32.master_key(seed))
            finally:
                wipe(seed)
            public = {"words": len(mnemonic.split(" ")), "bip39_passphrase": bool(bip39_passphrase)}
            info = self._new_info(label, EntryKind.MNEMONIC, fingerprint, public)
            payload = encode_mnemonic_payload(mnemonic, bip39_passphrase)
            try:
                self._write_entry(info, payload, self._primary, key)
            finally:
                wipe(payload)
            return info

    def _new_info(self, label: str, kind: EntryKind, fingerprint: str, public: dict) -> EntryInfo:
        created = datetime.fromtimestamp(int(self._wall_clock()), tz=UTC)
        return info_from_metadata(build_metadata(label, kind, fingerprint, created, public))

    def _expire_if_due(self) -> None:
        if self._deadline is not None and self._clock() >= self._deadline:
            self.lock()

    def _require_initialized(self) -> None:
        if not self.exists():
            raise KeystoreNotInitialized(
                f"no keystore in {self._directory}", hint="Create one with a new passphrase."
            )

    @contextlib.contextmanager
    def _writers_lock(self) -> Iterator[None]:
        """Serialise the keystore's writers across processes: a passphrase change rewrites
        every entry, and an entry added or deleted meanwhile by another process would be
        sealed under the old key or brought back by the rewrite. An flock on the directory
        itself, so no extra file appears in it."""
        if not self._directory.is_dir():
            yield  # nothing to guard yet; the operation reports the missing keystore
            return
        fd = os.open(self._directory, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _require_current_key(self) -> None:
        """KeystoreLocked (and forget the keys) when the header on disk is no longer the
        one this process unlocked: another process changed the passphrase since."""
        # the pending header counts too: after an interrupted change the new passphrase
        # unlocks through it, and a repeated change_passphrase re-seals what it wrote
        if self._primary not in self._header_stamps():
            self.lock()
            raise KeystoreLocked(
                "the keystore passphrase was changed (by another session) since it was unlocked",
                hint="Unlock it again with the new passphrase.",
            )

    def _primary_key(self) -> bytearray:
        """The key new entries are sealed with; KeystoreLocked when locked or expired."""
        self._expire_if_due()
        if not self._keys or self._primary is None:
            raise KeystoreLocked("the keystore is locked", hint="Unlock it with its passphrase.")
        return self._keys[self._primary]

    def _check_new_entry(self, label: str) -> None:
        check_label(label)
        self._require_initialized()
        self._primary_key()
        wanted = label.casefold()
        for path in self._entry_paths():
            if path.name[: -len(ENTRY_SUFFIX)].casefold() == wanted:
                raise EntryExists(f"an entry labelled {path.name[: -len(ENTRY_SUFFIX)]!r} already exists")

    def _entry_paths(self) -> list[Path]:
        if not self._directory.is_dir():
            return []
        return sorted(
            path
            for path in self._directory.iterdir()
            if path.name.endswith(ENTRY_SUFFIX) and not path.name.startswith(".")
        )

    def _existing_path(self, label: str) -> Path:
        check_label(label)
        self._require_initialized()
        path = self._directory / f"{label}{ENTRY_SUFFIX}"
        if not path.is_file():
            raise EntryNotFound(f"no entry labelled {label!r} in {self._directory}")
        return path

    def _entry_stamps(self) -> set[KdfStamp]:
        stamps = set()
        for path in self._entry_paths():
            try:
                stamps.add(parse_entry(path.read_bytes(), path).stamp)
            except (OSError, KeystoreCorrupt):
                continue  # reported when the entry itself is read
        return stamps

    def _header_stamps(self) -> set[KdfStamp]:
        """The key settings of the header and of a pending one (after an interrupted change)."""
        stamps = set()
        for path in (self._directory / HEADER_NAME, self._directory / PENDING_HEADER_NAME):
            try:
                stamps.add(parse_header(path.read_bytes(), path).stamp)
            except (OSError, KeystoreCorrupt):
                continue
        return stamps

    def _read_header(self, path: Path) -> SealedFile:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise KeystoreNotInitialized(f"no keystore in {self._directory}") from None
        return parse_header(data, path)

    def _try_pending_header(self, passphrase: str) -> tuple[SealedFile | None, bytearray | None]:
        pending_path = self._directory / PENDING_HEADER_NAME
        if not pending_path.is_file():
            return None, None
        pending = self._read_header(pending_path)
        return pending, _open_verifier(pending, passphrase)

    def _read_entry(self, path: Path) -> tuple[SealedFile, EntryInfo]:
        sealed = parse_entry(path.read_bytes(), path)
        try:
            info = info_from_metadata(sealed.metadata)
        except (KeyError, ValueError, TypeError, KeystoreError):
            raise KeystoreCorrupt(f"{path} has malformed public metadata") from None
        if path.name != f"{info.label}{ENTRY_SUFFIX}":
            raise KeystoreCorrupt(
                f"{path} holds the entry labelled {info.label!r}: the file was renamed or swapped"
            )
        return sealed, info

    def _open_entry(self, label: str) -> tuple[EntryInfo, bytearray]:
        with self._mutex:
            path = self._existing_path(label)
            sealed, info = self._read_entry(path)
            self._primary_key()
            if sealed.stamp not in self._keys:
                self._require_current_key()
                raise KeystoreCorrupt(
                    f"{path} is sealed under key settings not seen at unlock",
                    hint="Lock and unlock again; if it persists, the file was modified: "
                    "restore it from a backup.",
                )
            key = self._keys[sealed.stamp]
            try:
                return info, open_sealed(key, sealed.nonce, sealed.sealed, sealed.associated)
            except DecryptionFailed:
                if sealed.stamp != self._primary:
                    self._require_current_key()
                raise _entry_failure(path, sealed.stamp == self._primary) from None

    def _write_header(
        self, path: Path, stamp: KdfStamp, key: bytearray, *, new: bool = False
    ) -> None:
        nonce = new_nonce()
        associated = header_associated(stamp, nonce)
        sealed = seal(key, nonce, VERIFIER_PLAINTEXT, associated)
        try:
            atomic_write(path, encode_file(associated, sealed), mode=0o600, exclusive=new)
        except FileExistsError:
            raise KeystoreAlreadyInitialized(f"{self._directory} already holds a keystore") from None

    def _write_entry(
        self,
        info: EntryInfo,
        payload: bytearray,
        stamp: KdfStamp | None,
        key: bytearray,
        *,
        new: bool = True,
    ) -> None:
        """Seal and write an entry; a ``new`` one never replaces a file another process
        created under the same label in the meantime."""
        assert stamp is not None
        metadata = build_metadata(
            info.label, info.kind, info.fingerprint, info.created_at, dict(info.public)
        )
        nonce = new_nonce()
        associated = entry_associated(stamp, nonce, metadata)
        sealed = seal(key, nonce, payload, associated)
        path = self._directory / f"{info.label}{ENTRY_SUFFIX}"
        try:
            atomic_write(path, encode_file(associated, sealed), mode=0o600, exclusive=new)
        except FileExistsError:
            raise EntryExists(f"an entry labelled {info.label!r} already exists") from None


class _KeyFinder:
    """During a passphrase change: the key for each entry, trying old then new passphrase."""

    def __init__(self, verified: dict[KdfStamp, bytearray], passphrases: tuple[str, ...]) -> None:
        self._verified = dict(verified)
        self._derived: dict[tuple[KdfStamp, int], bytearray] = {}
        self._passphrases = passphrases

    def open(self, path: Path, sealed: SealedFile) -> bytearray:
        for key in self._candidates(sealed.stamp):
            try:
                return open_sealed(key, sealed.nonce, sealed.sealed, sealed.associated)
            except DecryptionFailed:
                continue
        raise _entry_failure(path, sealed.stamp in self._verified)

    def _candidates(self, stamp: KdfStamp) -> Iterator[bytearray]:
        if stamp in self._verified:
            yield self._verified[stamp]
            return
        for position, passphrase in enumerate(self._passphrases):
            if (stamp, position) not in self._derived:
                self._derived[(stamp, position)] = derive_key(passphrase, stamp.salt, stamp.params)
            yield self._derived[(stamp, position)]

    def wipe(self) -> None:
        for key in [*self._verified.values(), *self._derived.values()]:
            wipe(key)


def _open_verifier(header: SealedFile | None, passphrase: str) -> bytearray | None:
    """The header's key if ``passphrase`` opens its verifier, else None."""
    if header is None:
        return None
    key = derive_key(passphrase, header.stamp.salt, header.stamp.params)
    try:
        plain = open_sealed(key, header.nonce, header.sealed, header.associated)
    except DecryptionFailed:
        wipe(key)
        return None
    if bytes(plain) != VERIFIER_PLAINTEXT:
        wipe(key)
        return None
    return key


def _entry_failure(path: Path, key_was_verified: bool) -> KeystoreError:
    if key_was_verified:
        return KeystoreCorrupt(
            f"{path} failed its integrity check: it was modified or damaged",
            hint="Restore this file from a backup; the keystore left it untouched.",
        )
    return WrongPassphrase(
        f"{path} is sealed under another passphrase or was modified",
        hint="If a passphrase change was interrupted, run it again with the same old and "
        "new passphrases.",
    )


def _require_kind(info: EntryInfo, kind: EntryKind, operation: str) -> None:
    if info.kind is not kind:
        raise WrongEntryKind(
            f"{operation} needs a {kind.value} entry; {info.label!r} is {info.kind.value}"
        )


MIN_PASSPHRASE_LENGTH = 8


def _check_new_passphrase(passphrase: str) -> None:
    if not isinstance(passphrase, str) or not passphrase:
        raise InvalidPassphrase("the keystore passphrase must not be empty")
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise InvalidPassphrase(f"the keystore passphrase must be at least {MIN_PASSPHRASE_LENGTH} characters",
                                hint="it guards every key here; a few random words make a good one")
    nfkd_utf8(passphrase, "the keystore passphrase")  # refused before anything is written
