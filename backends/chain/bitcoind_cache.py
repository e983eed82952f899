"""What the ``bitcoind`` backend keeps of its Core wallet in the data dir, so that a new
connection (the app starting, every CLI call) does not read 10,000 transactions again.

One file per network and wallet name: the scripts each watched descriptor derives, the decoded transactions (a txid fixes its inputs and
outputs, so these never go stale), their state as of one ``listsinceblock`` listing and the
block that listing reached (the cursor to resume from), the digest of the wallet's descriptor
set it was listed under, and the wallet's unspent coins under the fingerprint of the wallet
state they were listed in. The backend trusts none of it blindly: a different descriptor set
drops the states, a cursor no longer in the active chain drops them too, a transaction count
that disagrees with the wallet's lists everything again, and the coins are used only when the
fingerprint of the wallet as it is now matches.

The file starts with a line naming the format and the SHA-256 of the rest; a file that is not
whole, not ours or not well-formed is ignored (and rewritten on the next change), never an
error: it is only a cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .bitcoind_txs import Decoded, WalletTx

log = logging.getLogger(__name__)

_MAGIC = b"custody-tui bitcoind wallet cache 1 "
#: a wallet of a million transactions is a few hundred MiB here; more is not our file
MAX_CACHE_BYTES = 1024 * 1024 * 1024
_HEX = frozenset("0123456789abcdef")
_HEX_RUN = re.compile("[0-9a-f]*")
_MAX_SAT = 21_000_000 * 100_000_000
_MAX_INDEX = 2**32 - 1  # output index, block height, unix time: all 32-bit in Bitcoin


@dataclass(frozen=True, slots=True)
class Stored:
    """A wallet as one connection last saw it."""

    network: str
    wallet: str
    descriptors: str  # digest of the descriptor set the listing was made under
    cursor: str | None  # the block the listing reached; None: states not usable
    txs: dict[str, WalletTx]
    unspent: tuple[str, frozenset[tuple[str, int]]] | None  # (wallet fingerprint, outpoints)
    #: descriptor -> (last index derived, {scriptPubKey: (branch, index)}): the addresses Core
    #: derived for it, which only the descriptor's text decides
    scripts: dict[str, tuple[int, dict[bytes, tuple[int | None, int | None]]]]


class CacheFile:
    def __init__(self, directory: Path | str, network: str, wallet: str) -> None:
        name = hashlib.sha256(f"{network}\0{wallet}".encode()).hexdigest()[:24]
        self.path = Path(directory).expanduser() / f"bitcoind-{network}-{name}.json"
        self.network, self.wallet = network, wallet

    def load(self) -> Stored | None:
        """What the file holds for this network and wallet; None when absent or unusable."""
        try:
            with open(self.path, "rb") as file:
                data = file.read(MAX_CACHE_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("bitcoind cache %s not read: %s", self.path, exc.strerror)
            return None
        try:
            stored = parse(data)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
            log.warning("bitcoind cache %s ignored: %s", self.path, exc)
            return None
        if (stored.network, stored.wallet) != (self.network, self.wallet):
            return None  # a hash collision of names, or a file copied from elsewhere
        return stored

    def save(self, stored: Stored) -> None:
        """Write atomically (a reader sees the old file or the new one); a failure is logged,
        not raised: the next connection reads the wallet from the node instead."""
        data = serialize(stored)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".bitcoind-cache-")
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temp, self.path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("bitcoind cache %s not written: %s", self.path, exc.strerror)


def serialize(stored: Stored) -> bytes:
    txs = [[tx.txid, tx.decoded.time, tx.height, tx.confirmations, tx.abandoned, tx.mempool_conflicted,
            [[prev, vout] for prev, vout in tx.decoded.inputs],
            [[sat, spk.hex()] for sat, spk in tx.decoded.outputs]] for tx in stored.txs.values()]
    unspent = None if stored.unspent is None else [stored.unspent[0], sorted(stored.unspent[1])]
    scripts = [[descriptor, end, [[spk.hex(), branch, index] for spk, (branch, index) in owned.items()]]
               for descriptor, (end, owned) in stored.scripts.items()]
    body = json.dumps({"network": stored.network, "wallet": stored.wallet, "descriptors": stored.descriptors,
                       "cursor": stored.cursor, "txs": txs, "unspent": unspent, "scripts": scripts},
                      separators=(",", ":")).encode()
    return _MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def parse(data: bytes) -> Stored:
    """The file's contents; ValueError (or TypeError, KeyError...) when they are not a whole,
    well-formed cache file.

    Plain ``json.loads``, not ``outside_input.load_json``: its generic walk costs four times
    the parse on a 10,000-transaction wallet, and every value is checked here by type and
    bound instead (deep nesting is a RecursionError, a 5,000-digit number a ValueError,
    NaN a float: all refused)."""
    head, newline, body = data.partition(b"\n")
    if not newline or not head.startswith(_MAGIC):
        raise ValueError("not a custody-tui bitcoind cache file of this version")
    if head[len(_MAGIC):] != hashlib.sha256(body).hexdigest().encode():
        raise ValueError("its checksum does not match (a partial or damaged file)")
    document = json.loads(body)
    txs: dict[str, WalletTx] = {}
    hashes: list = []  # every txid read, checked at once at the end (a third of the time, one by one)
    for txid, time, height, confirmations, abandoned, conflicted, inputs, outputs in document["txs"]:
        decoded = Decoded(tuple((prev, _bounded(vout, _MAX_INDEX)) for prev, vout in inputs),
                          tuple((_bounded(sat, _MAX_SAT), bytes.fromhex(spk)) for sat, spk in outputs),
                          _bounded(time, _MAX_INDEX))
        if type(confirmations) is not int or abs(confirmations) > _MAX_INDEX or (height is None) == (confirmations > 0):
            raise ValueError("a transaction's confirmations do not match its block")
        if type(abandoned) is not bool or type(conflicted) is not bool:
            raise TypeError("a transaction's flags are not true or false")
        txs[txid] = WalletTx(txid, decoded, None if height is None else _bounded(height, _MAX_INDEX),
                             confirmations, abandoned, conflicted)
        hashes.append(txid)
        hashes.extend(prev for prev, _ in decoded.inputs)
    unspent = document["unspent"]
    if unspent is not None:
        fingerprint, outpoints = unspent
        unspent = (_text(fingerprint), frozenset((t, _bounded(v, _MAX_INDEX)) for t, v in outpoints))
        hashes.extend(t for t, _ in unspent[1])
    if not all(type(h) is str and len(h) == 64 for h in hashes) or not _HEX_RUN.fullmatch("".join(hashes)):
        raise ValueError("a txid that is not 64 lowercase hex digits")
    scripts = {}
    for descriptor, end, owned in document["scripts"]:
        scripts[_text(descriptor)] = (_bounded(end, _MAX_INDEX), {
            bytes.fromhex(spk): (_optional(branch, 1), _optional(index, _MAX_INDEX)) for spk, branch, index in owned})
    cursor = document["cursor"]
    return Stored(_text(document["network"]), _text(document["wallet"]), _text(document["descriptors"]),
                  None if cursor is None else _txid(cursor), txs, unspent, scripts)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, found {type(value).__name__}")
    return value


def _txid(value: object) -> str:
    if not isinstance(value, str) or len(value) != 64 or not _HEX.issuperset(value):
        raise ValueError("a txid or block hash that is not 64 lowercase hex digits")
    return value


def _optional(value: object, most: int) -> int | None:
    return None if value is None else _bounded(value, most)


def _bounded(value: object, most: int) -> int:
    if type(value) is not int or not 0 <= value <= most:
        raise ValueError("an amount, index, height or time out of range")
    return value
