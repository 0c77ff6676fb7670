"""What a read gives, as one comparable value, and files cut into blocks: for the streamed-read tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from exec_pipeline.readers.base import ExtractUnreadable, ReaderContext


def read_outcome(read: Callable[[ReaderContext], Iterable[Any]], context: ReaderContext) -> tuple[Any, ...]:
    """Everything a read gives: its records and counters, or the error refusing the file."""
    try:
        records = list(read(context))
    except ExtractUnreadable as exc:
        return ("unreadable", str(exc))
    return (records, dict(context.stats), dict(context.unmapped_accounts), dict(context.unmapped_assets))


def blocks_cut_at(data: bytes, positions: list[int]) -> list[bytes]:
    """``data`` cut at ``positions`` (taken modulo its length + 1), as a streamed read gets it."""
    edges = sorted({0, len(data), *(p % (len(data) + 1) for p in positions)})
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]
