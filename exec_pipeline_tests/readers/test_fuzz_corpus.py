"""The fuzzers' seeds and crash inputs as regression cases (fast: a few dozen small files).

Every file under ``fuzz/corpus/<format>/`` (valid seed extracts) and ``fuzz/crashes/<format>/``
(inputs on which ``fuzz/run`` found a crash) is read by its format's reader under every source
configuration of the fuzz harness, and must keep the readers' contract (the property of
``fuzz/fuzz_readers.py``): consuming the records either finishes or raises ``ExtractUnreadable``;
each record is one of the four record types; every reject has a reason; facts' times are
timezone-aware and their decimals finite (fix44: no exception masked as a reject).

A crash input is expected to fail until its reader is fixed (``xfail(strict=True)``, with the
saved signature as the reason). Once the reader is fixed the case XPASSes, which fails the suite:
add a line ``fixed: <commit or note>`` to the input's ``.txt`` and it becomes a plain regression
case (the input stays in ``fuzz/crashes/``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUZZ = ROOT / "fuzz"


def _harness():
    spec = importlib.util.spec_from_file_location("fuzz_readers", FUZZ / "fuzz_readers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fuzz_readers", module)
    spec.loader.exec_module(module)
    return module


harness = _harness()

_SKIP_SUFFIXES = {".txt", ".md"}


def _inputs(kind: str) -> list[tuple[str, Path]]:
    found = []
    for fmt in harness.FORMATS:
        directory = FUZZ / kind / fmt
        if directory.is_dir():
            found += [
                (fmt, path)
                for path in sorted(directory.iterdir())
                if path.is_file() and path.suffix not in _SKIP_SUFFIXES and not path.name.startswith(".")
            ]
    return found


def _fixed(path: Path) -> bool:
    """Whether the crash input's ``.txt`` says it is fixed (a line ``fixed: ...``)."""
    note = path.with_suffix(".txt")
    return note.exists() and any(line.startswith("fixed:") for line in note.read_text(errors="replace").splitlines())


def _crash_reason(path: Path) -> str:
    """The saved signature and exception line of a crash input (from its .txt), else its name."""
    note = path.with_suffix(".txt")
    if not note.exists():
        return f"fuzz crash {path.name} (not fixed yet)"
    lines = note.read_text(errors="replace").splitlines()
    signature = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("signature:")), path.name)
    last = next((line for line in reversed(lines) if line.strip()), "")
    return f"fuzz crash not fixed yet: {signature}: {last[:200]}"


SEEDS = _inputs("corpus")
CRASHES = _inputs("crashes")


def test_every_format_has_seeds() -> None:
    assert {fmt for fmt, _ in SEEDS} == set(harness.FORMATS)


@pytest.mark.parametrize(("fmt", "path"), SEEDS, ids=[f"{fmt}/{path.name}" for fmt, path in SEEDS])
def test_seed_keeps_the_contract(fmt: str, path: Path) -> None:
    harness.check_all_configs(fmt, path.read_bytes())


@pytest.mark.parametrize(
    ("fmt", "path"),
    [
        pytest.param(fmt, path, marks=() if _fixed(path) else pytest.mark.xfail(strict=True, reason=_crash_reason(path)))
        for fmt, path in CRASHES
    ],
    ids=[f"{fmt}/{path.name}" for fmt, path in CRASHES],
)
def test_crash_input_keeps_the_contract(fmt: str, path: Path) -> None:
    harness.check_all_configs(fmt, path.read_bytes())
