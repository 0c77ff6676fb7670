"""Per-key state with bounded memory: the oldest entries spill to a private temporary SQLite file.

A reader that must remember something about every order of a file (was its row emitted, its
CumQty so far, which reports were delivered) would otherwise grow with the file. Broker days are
time-ordered and an order lives minutes, so the orders still reporting are few: keeping the most
recently seen ``limit`` in memory and the rest on disk, loaded back if their order reports again,
bounds the memory and changes nothing in what the reader computes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from itertools import islice
from typing import Generic, TypeVar

State = TypeVar("State")

#: The spill file's page cache (SQLite's default, 2 MB, makes every lookup a read from the file).
_CACHE_KIB = 16 * 1024
#: Bits of the filter of spilled keys (2 MiB, two bits a key): ~0.1 % false positives at 250,000
#: spilled keys.
_BLOOM_BITS = 1 << 24
_BLOOM_MASK = _BLOOM_BITS - 1


class SpillingDict(Generic[State]):
    """``key -> state``, at most ``limit`` states in memory (:attr:`live`, oldest first).

    :meth:`get` returns the key's state, loading it back from the spill file or creating it with
    ``factory``. When more than ``limit`` are live, the oldest half is written with ``pack`` (to
    bytes) and dropped; ``unpack`` reads one back. States for which ``is_empty`` holds are dropped
    without being written. The spill file is SQLite's private temporary database (deleted on
    :meth:`close`; nothing is written until the first spill). Hot loops may read :attr:`live`
    directly and call :meth:`get` on a miss.
    """

    def __init__(
        self,
        factory: Callable[[], State],
        *,
        pack: Callable[[State], bytes],
        unpack: Callable[[bytes], State],
        is_empty: Callable[[State], bool] = lambda state: False,
        limit: int = 50_000,
    ) -> None:
        self.live: dict[str, State] = {}
        self.factory = factory
        self.pack = pack
        self.unpack = unpack
        self.is_empty = is_empty
        self.limit = max(limit, 1)
        self.spilled = 0  # states written to the spill file
        self.reloaded = 0  # states read back from it
        self._db: sqlite3.Connection | None = None
        # a Bloom filter of the spilled keys (made at the first spill): most misses are new keys, and
        # asking SQLite about each costs ~7 us where this costs well under 1 (a false positive only
        # costs that query)
        self._spilled_bits = bytearray()

    def get(self, key: str) -> State:
        state = self.live.get(key)
        if state is not None:
            return state
        if self._db is not None and self._may_be_spilled(key):
            row = self._db.execute("SELECT state FROM spill WHERE key = ?", (key,)).fetchone()
            if row is not None:
                state = self.unpack(row[0])
                self.reloaded += 1
        if state is None:
            state = self.factory()
        self.live[key] = state
        if len(self.live) > self.limit:
            self._spill_oldest()
        return state

    def _spill_oldest(self) -> None:
        count = max(len(self.live) // 2, 1)
        oldest = list(islice(self.live.items(), count))
        if self._db is None:
            # "" = a private temporary database on disk, deleted when closed; no journal: it dies with us
            self._db = sqlite3.connect("", check_same_thread=False)
            self._db.execute("PRAGMA journal_mode = OFF")
            self._db.execute("PRAGMA synchronous = OFF")
            self._db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            self._db.execute("CREATE TABLE spill (key TEXT PRIMARY KEY, state BLOB NOT NULL)")
            self._spilled_bits = bytearray(_BLOOM_BITS // 8)
        pack, is_empty = self.pack, self.is_empty
        rows = [(key, pack(state)) for key, state in oldest if not is_empty(state)]
        bits = self._spilled_bits
        for key, _ in rows:
            h = hash(key)
            at = h & _BLOOM_MASK
            bits[at >> 3] |= 1 << (at & 7)
            at = (h >> 32) & _BLOOM_MASK
            bits[at >> 3] |= 1 << (at & 7)
        with self._db:  # one transaction: a spill is one write
            self._db.executemany("INSERT OR REPLACE INTO spill (key, state) VALUES (?, ?)", rows)
        self.spilled += len(rows)
        live = self.live
        for key, _ in oldest:
            del live[key]

    def _may_be_spilled(self, key: str) -> bool:
        bits = self._spilled_bits
        h = hash(key)
        at = h & _BLOOM_MASK
        if not bits[at >> 3] & (1 << (at & 7)):
            return False
        at = (h >> 32) & _BLOOM_MASK
        return bool(bits[at >> 3] & (1 << (at & 7)))

    def close(self) -> None:
        """Drop every state and delete the spill file."""
        self.live.clear()
        if self._db is not None:
            self._db.close()
            self._db = None
