"""Check a hash chain and name what happened to it.

The verifier works on plain records (dicts with the stored fields) so the same code checks
the live database and an exported JSON file. It first decides, for every stored row, which
authentic entry it is (its *claim*), then compares the claims with the storage order:

- **edited**: a row whose content no longer hashes to its stored hash, while its successor
  (or the anchor) still links to that stored hash — the entry was changed in place; or a
  self-consistent row whose successor recorded a different hash for it — the entry was
  rewritten and re-hashed.
- **removed**: a gap in the sequence of authentic entries (a missing seq, whether or not
  the rows after it were renumbered to hide the gap).
- **inserted**: a row that is no authentic entry (its hash matches no position and nothing
  links to it), a second row claiming a position already held by the entry its successor
  links to, or entries appended after the anchored head.
- **reordered**: authentic entries stored out of their chain order (each one still hashes
  correctly at the position it was written at, which is not where it is stored).
- **truncated**: the anchor names a later entry than the last one stored.
- **anchor-mismatch**: the anchor is missing, unreadable, or disagrees with the entry at
  its seq.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from backends.audit.anchor import HeadAnchor
from backends.audit.entry import GENESIS_HASH, entry_hash

PROBLEM_KINDS = ("edited", "removed", "inserted", "reordered", "truncated", "anchor-mismatch")

# How far from its stored position a displaced entry is searched for. Moving an entry
# further than this (or deleting more than this many rows and renumbering) is still
# reported, as edited/inserted instead of reordered/removed.
DISPLACEMENT_SEARCH = 64


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class ChainStatus:
    ok: bool
    entries_checked: int
    head_seq: int
    head_hash: str
    problems: list[Problem] = field(default_factory=list)

    def kinds(self) -> set[str]:
        return {problem.kind for problem in self.problems}

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries_checked": self.entries_checked,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "problems": [problem.to_dict() for problem in self.problems],
        }


def _span(first: int, last: int) -> str:
    return f"#{first}" if first == last else f"#{first}–#{last}"


def _hash_at(record: dict[str, Any], seq: int) -> str | None:
    try:
        return entry_hash({**record, "seq": seq})
    except (KeyError, TypeError, ValueError):
        return None


class _Chain:
    """Working state of one verification: rows in storage order and what each one is."""

    def __init__(self, records: Iterable[dict[str, Any]]) -> None:
        self.rows = sorted(records, key=lambda record: record["seq"])
        self.claims: list[int | None] = [None] * len(self.rows)
        self.edited: set[int] = set()  # row indices changed in place
        self.inserted: set[int] = set()
        self.problems: list[Problem] = []

    def report(self, seq: int, kind: str, message: str) -> None:
        self.problems.append(Problem(seq=seq, kind=kind, message=message))

    # -- step 1: which authentic entry is each row?

    def identify(self, anchor: HeadAnchor | None) -> None:
        for index, row in enumerate(self.rows):
            if _hash_at(row, row["seq"]) == row["hash"]:
                self.claims[index] = row["seq"]
        for index, row in enumerate(self.rows):
            if self.claims[index] is None:
                self.claims[index] = self._displaced_position(row)
        self._identify_edited_in_place(anchor)
        self._drop_duplicate_claims(anchor)

    def _displaced_position(self, row: dict[str, Any]) -> int | None:
        stored = row["seq"]
        for distance in range(1, DISPLACEMENT_SEARCH + 1):
            for candidate in (stored - distance, stored + distance):
                if candidate >= 1 and _hash_at(row, candidate) == row["hash"]:
                    return candidate
        return None

    def _identify_edited_in_place(self, anchor: HeadAnchor | None) -> None:
        # A row whose content changed but whose stored hash is still what its successor
        # (or the anchor) links to is the authentic entry, edited where it stands.
        successor_claim = {
            row["prev_hash"]: claim for row, claim in zip(self.rows, self.claims) if claim is not None
        }
        # Newest first, so a run of consecutive edited entries resolves back from the
        # first intact successor.
        for index in reversed(range(len(self.rows))):
            row = self.rows[index]
            if self.claims[index] is not None:
                continue
            if row["hash"] in successor_claim:
                self.claims[index] = successor_claim[row["hash"]] - 1
            elif anchor is not None and anchor.hash == row["hash"]:
                self.claims[index] = anchor.seq
            else:
                self.inserted.add(index)
                continue
            self.edited.add(index)
            successor_claim.setdefault(row["prev_hash"], self.claims[index])
            self.report(
                row["seq"], "edited", f"entry #{row['seq']} was edited after it was written: its content no longer matches its hash"
            )
        for index in sorted(self.inserted):
            seq = self.rows[index]["seq"]
            self.report(seq, "inserted", f"entry #{seq} is not part of the chain: it was inserted (no valid hash, nothing links to it)")

    def _drop_duplicate_claims(self, anchor: HeadAnchor | None) -> None:
        holders: dict[int, list[int]] = defaultdict(list)
        for index, claim in enumerate(self.claims):
            if claim is not None and index not in self.inserted:
                holders[claim].append(index)
        linked = {row["prev_hash"] for row in self.rows}
        if anchor is not None:
            linked.add(anchor.hash)
        for claim, indices in holders.items():
            if len(indices) < 2:
                continue
            authentic = [index for index in indices if self.rows[index]["hash"] in linked] or indices[-1:]
            for index in indices:
                if index == authentic[0]:
                    continue
                self.inserted.add(index)
                seq = self.rows[index]["seq"]
                self.report(seq, "inserted", f"entry #{seq} was inserted: it claims position #{claim}, which the chain links to another entry")

    # -- step 2: compare the authentic entries with their storage order

    def authentic(self) -> list[tuple[int, dict[str, Any], int]]:
        """(claim, row, row index) of every non-inserted row, in storage order."""
        return [
            (claim, row, index)
            for index, (row, claim) in enumerate(zip(self.rows, self.claims))
            if claim is not None and index not in self.inserted
        ]

    def check_order(self) -> None:
        stored = self.authentic()
        in_chain_order = sorted(claim for claim, _, _ in stored)
        for (claim, row, _), expected in zip(stored, in_chain_order):
            if claim != expected:
                self.report(
                    row["seq"], "reordered", f"entry #{row['seq']} holds the entry written as #{claim}: entries were reordered"
                )

    def check_gaps_and_links(self) -> None:
        by_claim = {claim: (row, index) for claim, row, index in self.authentic()}
        expected_next = 1
        for claim in sorted(by_claim):
            if claim > expected_next:
                after = f"after #{expected_next - 1}" if expected_next > 1 else "at the start"
                self.report(expected_next, "removed", f"entries {_span(expected_next, claim - 1)} are missing ({after}, before #{claim}): they were removed")
            row, index = by_claim[claim]
            if claim == 1 and row["prev_hash"] != GENESIS_HASH and index not in self.edited:
                self.report(row["seq"], "edited", f"entry #{row['seq']} was rewritten: the first entry must link to the genesis hash")
            elif claim - 1 in by_claim:
                previous, previous_index = by_claim[claim - 1]
                if row["prev_hash"] != previous["hash"] and not {index, previous_index} & self.edited:
                    self.report(
                        previous["seq"],
                        "edited",
                        f"entry #{previous['seq']} was rewritten: entry #{row['seq']} recorded a different hash for it",
                    )
            expected_next = claim + 1

    # -- step 3: the tail, against the anchor

    def check_anchor(self, anchor: HeadAnchor | None, anchor_error: str | None) -> None:
        authentic = self.authentic()
        if anchor_error is not None:
            self.report(self._last_seq(), "anchor-mismatch", f"the head anchor is unreadable ({anchor_error}); the log holds entries up to #{self._last_seq()}")
            return
        if anchor is None:
            if self.rows:
                self.report(self._last_seq(), "anchor-mismatch", f"the head anchor is missing although the log holds entries up to #{self._last_seq()}")
            return
        if not authentic:
            if anchor.seq > 0:
                self.report(1, "truncated", f"entries {_span(1, anchor.seq)} were removed: the head anchor records #{anchor.seq}")
            return
        last_claim, last_row, _ = max(authentic, key=lambda item: item[0])
        hashes_by_claim = {claim: row["hash"] for claim, row, _ in authentic}
        if anchor.seq > last_claim:
            if anchor.hash in hashes_by_claim.values():
                self.report(anchor.seq, "anchor-mismatch", f"the head anchor records #{anchor.seq} with the hash of an earlier entry: the anchor was edited")
            else:
                self.report(
                    last_claim + 1,
                    "truncated",
                    f"entries {_span(last_claim + 1, anchor.seq)} were removed from the end: the head anchor records #{anchor.seq}",
                )
        elif hashes_by_claim.get(anchor.seq) != anchor.hash:
            self.report(anchor.seq, "anchor-mismatch", f"the head anchor disagrees with entry #{anchor.seq}: the anchor or that entry was changed")
        elif anchor.seq < last_claim:
            self.report(
                anchor.seq + 1,
                "inserted",
                f"entries {_span(anchor.seq + 1, last_claim)} follow the anchored head #{anchor.seq}: "
                "they were appended outside custody-tui (or an append crashed before updating the anchor)",
            )

    def _last_seq(self) -> int:
        return self.rows[-1]["seq"] if self.rows else 0


def verify_chain(
    records: Iterable[dict[str, Any]],
    *,
    anchor: HeadAnchor | None,
    check_anchor: bool = True,
    anchor_error: str | None = None,
) -> ChainStatus:
    """Verify stored records (each with seq, hash and the hashed fields)."""
    chain = _Chain(records)
    chain.identify(anchor if check_anchor else None)
    chain.check_order()
    chain.check_gaps_and_links()
    if check_anchor:
        chain.check_anchor(anchor, anchor_error)
    problems = sorted(chain.problems, key=lambda problem: (problem.seq, PROBLEM_KINDS.index(problem.kind)))
    head = chain.rows[-1] if chain.rows else None
    return ChainStatus(
        ok=not problems,
        entries_checked=len(chain.rows),
        head_seq=head["seq"] if head else 0,
        head_hash=head["hash"] if head else GENESIS_HASH,
        problems=problems,
    )
