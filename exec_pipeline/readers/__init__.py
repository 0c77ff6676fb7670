"""Broker extract readers, one module per format, and the registry of formats.

To add a format: write ``exec_pipeline/readers/<format>.py`` with ``NAME``, ``VERSION``, an optional
pydantic ``Options`` model (its settings under ``options:`` in the source catalogue) and
``read(data, context)`` (see :mod:`exec_pipeline.readers.base`), then add it to ``_MODULES`` below.
A format may also offer ``read_stream(blocks, context)``, the same records from the
file's bytes in blocks: ingestion then streams the file instead of holding it (all four formats
here do; a format with ``read`` alone is read whole).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

_MODULES = ("fix44", "ibkr_flex", "ccxt", "csv")


@dataclass(frozen=True)
class ReaderSpec:
    name: str
    version: str
    read: Callable[[bytes, Any], Iterator[Any]]
    #: ``read`` of the file whose bytes are the blocks joined (``None``: the format is read whole)
    read_stream: Callable[[Iterable[bytes], Any], Iterator[Any]] | None
    options_model: type[BaseModel] | None


def _load() -> dict[str, ReaderSpec]:
    readers: dict[str, ReaderSpec] = {}
    for module_name in _MODULES:
        module = importlib.import_module(f"{__name__}.{module_name}")
        readers[module.NAME] = ReaderSpec(
            name=module.NAME,
            version=module.VERSION,
            read=module.read,
            read_stream=getattr(module, "read_stream", None),
            options_model=getattr(module, "Options", None),
        )
    return readers


READERS: dict[str, ReaderSpec] = _load()


def get_reader(format_name: str) -> ReaderSpec:
    try:
        return READERS[format_name]
    except KeyError:
        raise KeyError(f"no reader for format {format_name!r}; known: {', '.join(sorted(READERS))}") from None
