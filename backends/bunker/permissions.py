"""What a token lets a device do: NIP-46 permission strings, ``method`` or ``method:kind``.

The policy lives here, on the bunker's side: perms a client asks for in ``connect`` are
advisory (NIP-46) and never widen a token.
"""

from __future__ import annotations

from dataclasses import dataclass

from backends.bunker.errors import InvalidPermission

#: methods a token can grant; the session methods below need no grant
GRANTABLE = ("sign_event", "nip44_encrypt", "nip44_decrypt", "nip04_encrypt", "nip04_decrypt")
#: always allowed to the bound device while its token is live (they reveal or sign nothing)
SESSION_METHODS = frozenset({"connect", "get_public_key", "ping", "logout"})


@dataclass(frozen=True, slots=True)
class Permission:
    method: str
    kind: int | None = None  # for sign_event; None means any kind

    def __str__(self) -> str:
        return self.method if self.kind is None else f"{self.method}:{self.kind}"

    def allows(self, method: str, kind: int | None) -> bool:
        if method != self.method:
            return False
        return self.kind is None or self.kind == kind


def parse_permission(text: str) -> Permission:
    method, sep, param = text.strip().partition(":")
    if method not in GRANTABLE:
        raise InvalidPermission(
            f"unknown permission {text!r}; use {', '.join(GRANTABLE)} (sign_event:KIND for one kind)"
        )
    if not sep:
        return Permission(method)
    if method != "sign_event" or not param.isdigit() or not 0 <= int(param) <= 65535:
        raise InvalidPermission(f"permission {text!r}: only sign_event takes a kind, 0..65535")
    return Permission(method, int(param))


def parse_permissions(texts: str | list[str] | tuple[str, ...]) -> tuple[Permission, ...]:
    """A comma-separated list (or several) as given on a command line or in a URL."""
    items = texts.split(",") if isinstance(texts, str) else [p for t in texts for p in t.split(",")]
    perms = tuple(dict.fromkeys(parse_permission(item) for item in items if item.strip()))
    if not perms:
        raise InvalidPermission("a token needs at least one permission, e.g. sign_event:21000")
    return perms


def format_permissions(perms: tuple[Permission, ...]) -> str:
    return ",".join(str(p) for p in perms)


def allowed(perms: tuple[Permission, ...], method: str, kind: int | None) -> bool:
    return method in SESSION_METHODS or any(p.allows(method, kind) for p in perms)
