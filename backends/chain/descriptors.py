"""Scripts of a watched output descriptor, derived with embit.

The wallet layer verifies descriptor checksums before handing descriptors over; here the
checksum is only stripped, so a descriptor is known by its text without ``#checksum``.
"""

from __future__ import annotations

from .errors import DescriptorError

#: how many addresses past the highest used one stay watched (Bitcoin Core's keypool refill)
GAP_LIMIT = 20


def strip_checksum(descriptor: str) -> str:
    return descriptor.strip().split("#", 1)[0]


def _parse(descriptor: str):
    from embit.descriptor import Descriptor

    try:
        return Descriptor.from_string(strip_checksum(descriptor))
    except Exception as exc:
        raise DescriptorError(f"cannot parse descriptor {strip_checksum(descriptor)[:60]}…: {exc}") from exc


def is_ranged(descriptor: str) -> bool:
    return bool(_parse(descriptor).is_wildcard)


def derive_scripts(descriptor: str, start: int, end: int) -> list[tuple[bytes, int | None, int | None]]:
    """(scriptPubKey, branch, index) for indexes ``start..end`` inclusive of every branch.

    ``branch`` is the position in a ``<0;1>`` multipath (0 receive, 1 change), None for a
    single-path descriptor; ``index`` is None for a descriptor without a wildcard.
    """
    parsed = _parse(descriptor)
    branches: list[int | None] = list(range(parsed.num_branches)) if parsed.num_branches > 1 else [None]
    out: list[tuple[bytes, int | None, int | None]] = []
    try:
        if not parsed.is_wildcard:
            for branch in branches:
                derived = parsed.branch(branch) if branch is not None else parsed
                out.append((derived.script_pubkey().data, branch, None))
            return out
        for branch in branches:
            for index in range(start, end + 1):
                derived = parsed.derive(index, branch_index=branch if branch is not None else 0)
                out.append((derived.script_pubkey().data, branch, index))
    except DescriptorError:
        raise
    except Exception as exc:
        raise DescriptorError(f"cannot derive scripts of {strip_checksum(descriptor)[:60]}…: {exc}") from exc
    return out


def single_path_descriptors(descriptor: str) -> list[tuple[str, bool]]:
    """Split a ``<0;1>`` descriptor into (descriptor, internal) pairs as Bitcoin Core < 29 imports them."""
    text = strip_checksum(descriptor)
    if "<0;1>" not in text:
        return [(text, False)]
    return [(text.replace("<0;1>", "0"), False), (text.replace("<0;1>", "1"), True)]
