"""Enrolling the owner of the surge tier: a TOTP secret made here, kept in the keystore,
created as the same user on every signer, handed to the owner's authenticator as an
``otpauth://`` URI (a QR code).

A Coldcard adds users only outside HSM mode and checks a policy's ``users`` against the
users it holds, so enrol first, then push the policy whose surge rule names the user.
Enrolment is all or nothing: a device that refuses undoes the users already created and
the keystore entry. The secret and the URI (which holds it) are never in ``repr``, logs,
the audit log or an error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from backends.errors import CustodyError

from .errors import EnrolmentError
from .push import SignerOutcome, SignerProgress

#: the keystore label of a user's TOTP secret
LABEL_PREFIX = "totp-"


def keystore_label(username: str) -> str:
    return f"{LABEL_PREFIX}{username}"


@dataclass(frozen=True)
class Enrolment:
    username: str
    keystore_label: str
    signers: tuple[str, ...]
    uri: str = field(repr=False)  # otpauth://totp/...?secret=...: show as a QR, never log
    secret_b32: str = field(repr=False)  # show only when the operator asks, once


def enroll_totp(coordinator, keystore, username: str, *, issuer: str = "custody-tui",
                on_event: Callable[[object], None] | None = None,
                random_base32: Callable[[], str] | None = None) -> Enrolment:
    """Create TOTP user ``username`` on every enabled signer with one new secret (kept in
    the keystore as ``totp-USERNAME``). Every enabled signer must be reachable and out of
    HSM mode, else nothing is done."""
    import pyotp

    emit = on_event or (lambda _event: None)
    signers = [s for s in coordinator.spec.signers if coordinator.enabled(s.name)]
    if not signers:
        raise EnrolmentError("no signer is enabled; there is no device to enrol the user on")
    statuses = {s.name: s for s in coordinator.refresh([s.name for s in signers])}
    blocked = [f"{name}: {_why_blocked(st)}" for name, st in statuses.items() if _why_blocked(st)]
    if blocked:
        raise EnrolmentError("cannot enrol on every signer; nothing was done: " + "; ".join(blocked),
                             hint="users are added outside HSM mode: power-cycle the signers in it, "
                                  "enrol, then push the policy")
    secret_b32 = (random_base32 or pyotp.random_base32)()  # 32 letters: a 20-byte secret
    label = keystore_label(username)
    keystore.add_secret(label, "totp", pyotp.TOTP(secret_b32).byte_secret(),
                        public={"user": username, "issuer": issuer})
    created: list = []
    try:
        for signer in signers:
            emit(SignerProgress(signer.name, f"creating user {username}"))
            try:
                coordinator.clients[signer.name].create_user(username, secret_b32)
            except CustodyError as exc:
                emit(SignerOutcome(signer.name, "refused", str(exc)))
                raise EnrolmentError(f"{signer.name} refused user {username}: {exc}; nothing was kept",
                                     hint="a user that exists already must be removed on the device first") from None
            created.append(signer)
            emit(SignerOutcome(signer.name, "enrolled", f"user {username} created"))
    except BaseException:
        _undo(coordinator, keystore, label, username, created)
        raise
    uri = pyotp.TOTP(secret_b32).provisioning_uri(name=username, issuer_name=issuer)
    return Enrolment(username, label, tuple(s.name for s in created), uri, secret_b32)


def _why_blocked(status) -> str | None:
    if not status.reachable:
        return "unreachable"
    if status.hsm_active:
        return "in HSM mode"
    return None


def _undo(coordinator, keystore, label: str, username: str, created: list) -> None:
    for signer in created:
        try:
            coordinator.clients[signer.name].delete_user(username)
        except CustodyError:
            pass  # the error raised names the refusal; a leftover user holds no key of ours
    try:
        keystore.delete(label)
    except CustodyError:
        pass
