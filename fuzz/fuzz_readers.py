"""Coverage-guided fuzzing of the broker extract readers (``exec_pipeline.readers``) with atheris.

The property (the readers' contract, see ``exec_pipeline/readers/base.py``), checked on every input:

- consuming ``read(data, context)`` to the end either finishes or raises exactly
  :class:`~exec_pipeline.readers.base.ExtractUnreadable`; any other exception is a crash;
- every yielded record is an ``OrderRecord``, ``OrderEventRecord``, ``TradeRecord`` or
  ``RejectRecord`` (exactly those types);
- every ``RejectRecord`` has a non-empty (non-blank) text ``reason``;
- every fact's datetime fields are timezone-aware (and the required time is present), its Decimal
  fields are finite ``Decimal`` values (never floats, NaN or infinities);
- fix44 only: ``context.stats["unexpected_errors"]`` stays 0. That reader turns an exception of
  its own code into a reject instead of failing; its module doc and tests say the counter is 0
  unless the reader has a bug, so a masked exception counts as a crash too.

Usage (one harness per reader, chosen by ``--reader``; any other argument goes to libFuzzer)::

    .venv/bin/python fuzz/fuzz_readers.py --reader=csv -atheris_runs=10000 fuzz/work/csv fuzz/corpus/csv
    .venv/bin/python fuzz/fuzz_readers.py --reader=all ...            # first input byte picks the reader
    .venv/bin/python fuzz/fuzz_readers.py --reader=ccxt --keep-going ... # record crashes, go on fuzzing
    .venv/bin/python fuzz/fuzz_readers.py --reader=fix44 --driver=hypothesis --runs=10000
    .venv/bin/python fuzz/fuzz_readers.py --reader=fix44 --reproduce FILE...   # re-run saved inputs

``fuzz/run`` drives all of this; see ``fuzz/README.md``.

Each format has a few source configurations (``CONFIGS``); the fuzzer reads an input under
configuration ``len(data) % len(CONFIGS[format])`` (cheap, and a mutation that changes the length
moves the input to another configuration), while ``check_all_configs`` (the regression test and
``--reproduce``) reads it under every configuration.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FORMATS = ("fix44", "ibkr_flex", "ccxt", "csv")

#: Source configurations per format (``SourceConfig`` keyword arguments). Realistic mappings, so the
#: mapped/unmapped account and asset paths, manager patterns and non-UTC zones are all exercised.
CONFIGS: dict[str, list[dict[str, Any]]] = {
    "fix44": [
        {
            "accounts": {"ACC-1": "00000000-0000-0000-0000-000000000001"},
            "assets": {"AAPL": "aapl-us-equity", "MSFT": "msft-us-equity", "US0378331005": "aapl-us-equity",
                       "USD": "usd"},
            "manager_pattern": r"^(?P<manager>[^/]+)/",
        },
    ],
    "ibkr_flex": [
        {
            "timezone": "America/New_York",
            "accounts": {"U1234567": "00000000-0000-0000-0000-000000000002"},
            "assets": {"AAPL": "aapl-us-equity", "11004968": "es-2026-03", "US5949181045": "msft-us-equity"},
            "manager_pattern": r"^(?P<manager>[^/]+)/",
        },
        {"timezone": "Australia/Lord_Howe", "default_account": "00000000-0000-0000-0000-00000000000a"},
    ],
    "ccxt": [
        {
            "default_account": "00000000-0000-0000-0000-000000000003",
            "assets": {"BTC/USDT": "btc-usdt-spot", "ETH/USDT": "eth-usdt-spot", "BNB": "bnb"},
            "accounts": {"main": "00000000-0000-0000-0000-000000000004"},
            "manager_pattern": r"^(?P<manager>[a-z0-9-]+)_",
        },
        {},
    ],
    "csv": [
        {},  # every option at its default: the canonical column names, ISO times in UTC
        {
            "timezone": "Europe/London",
            "accounts": {"ACC-1": "00000000-0000-0000-0000-000000000001"},
            "assets": {"VOD.L": "vod-ln-equity", "GBP": "gbp"},
            "manager_pattern": r"^(?P<manager>[a-z]+)/",
            "options": {"ids_per_symbol": True, "venue": "XLON"},
        },
        {
            "timezone": "America/Chicago",
            "options": {
                "time_format": "epoch_ms",
                "side_values": {"Long": "buy", "Short": "sell"},
                "exec_type_values": {"EXEC": "fill", "OPEN": "new"},
                "status_values": {"PF": "partially_filled", "DONE": "filled", "WORKING": "new"},
            },
        },
        {
            "timezone": "Europe/Berlin",
            "options": {
                "delimiter": ";",
                "decimal_comma": True,
                "thousands_separator": ".",
                "time_format": "%d.%m.%Y %H:%M:%S",
            },
        },
    ],
}

URI = "fuzz://input"


# --- the readers (imported lazily: atheris must instrument them as they are imported) ---------------

_loaded: dict[str, Any] = {}


def _import_readers() -> None:
    if _loaded:
        return
    from exec_pipeline.data_nodes.execution import OrderEventRecord, OrderRecord, RejectRecord, TradeRecord
    from exec_pipeline.readers import READERS
    from exec_pipeline.readers.base import ExtractUnreadable, ReaderContext
    from exec_pipeline.readers.catalogue import SourceConfig

    _loaded.update(
        READERS=READERS, ExtractUnreadable=ExtractUnreadable, ReaderContext=ReaderContext, SourceConfig=SourceConfig,
        OrderRecord=OrderRecord, OrderEventRecord=OrderEventRecord, TradeRecord=TradeRecord, RejectRecord=RejectRecord,
    )


class _Readers(dict):
    """``READ[format]`` -> the reader's ``read`` function (imports the readers on first use)."""

    def __missing__(self, fmt: str) -> Callable[..., Iterator[Any]]:
        _import_readers()
        self[fmt] = _loaded["READERS"][fmt].read
        return self[fmt]


READ: dict[str, Callable[..., Iterator[Any]]] = _Readers()
_configs: dict[tuple[str, int], Any] = {}


def config_for(fmt: str, data: bytes) -> int:
    """The configuration the fuzzer reads ``data`` under."""
    return len(data) % len(CONFIGS[fmt])


def make_context(fmt: str, index: int = 0) -> Any:
    """A fresh ReaderContext for configuration ``index`` of ``fmt`` (the validated config is cached)."""
    _import_readers()
    config = _configs.get((fmt, index))
    if config is None:
        config = _configs[(fmt, index)] = _loaded["SourceConfig"](format=fmt, **CONFIGS[fmt][index])
    return _loaded["ReaderContext"](source=f"fuzz_{fmt}", config=config, uri=URI)


# --- the property -----------------------------------------------------------------------------------


class PropertyViolation(AssertionError):
    """The reader returned something the contract forbids (as opposed to raising)."""


_FIELD_KINDS: dict[type, list[tuple[int, str, str, bool]]] = {}


def _field_kinds(record_type: type) -> list[tuple[int, str, str, bool]]:
    """(position, name, "decimal"|"datetime", required) of a record type's typed fields, from its annotations."""
    kinds = _FIELD_KINDS.get(record_type)
    if kinds is None:
        kinds = []
        for position, name in enumerate(record_type._fields):
            annotation = str(record_type.__annotations__[name])
            required = "None" not in annotation
            if "Decimal" in annotation:
                kinds.append((position, name, "decimal", required))
            elif "datetime" in annotation:
                kinds.append((position, name, "datetime", required))
        _FIELD_KINDS[record_type] = kinds
    return kinds


def check_record(record: Any) -> None:
    """Raise PropertyViolation unless ``record`` is one of the four record types and well-formed."""
    record_type = type(record)
    fact_types = (_loaded["OrderRecord"], _loaded["OrderEventRecord"], _loaded["TradeRecord"])
    if record_type is _loaded["RejectRecord"]:
        reason = record.reason
        if not isinstance(reason, str) or not reason.strip():
            raise PropertyViolation(f"RejectRecord without a reason: {record!r:.300}")
        return
    if record_type not in fact_types:
        raise PropertyViolation(f"yielded a {record_type.__module__}.{record_type.__qualname__}: {record!r:.300}")
    for position, name, kind, required in _field_kinds(record_type):
        value = record[position]
        if value is None:
            if required:
                raise PropertyViolation(f"{record_type.__name__}.{name} is None (required)")
            continue
        if kind == "decimal":
            if type(value) is not Decimal:
                raise PropertyViolation(f"{record_type.__name__}.{name} is a {type(value).__name__}: {value!r:.80}")
            if not value.is_finite():
                raise PropertyViolation(f"{record_type.__name__}.{name} is not finite: {value!r}")
        else:
            if not isinstance(value, dt.datetime):
                raise PropertyViolation(f"{record_type.__name__}.{name} is a {type(value).__name__}: {value!r:.80}")
            if value.tzinfo is None or value.utcoffset() is None:
                raise PropertyViolation(f"{record_type.__name__}.{name} is a naive datetime: {value!r}")


def check(fmt: str, data: bytes, index: int | None = None) -> dict[str, Any]:
    """Read ``data`` with the ``fmt`` reader under configuration ``index`` (default: ``config_for``) and
    check the property. Returns a summary; raises PropertyViolation, or lets any exception other than
    ExtractUnreadable propagate (both are crashes)."""
    read = READ[fmt]
    if index is None:
        index = config_for(fmt, data)
    context = make_context(fmt, index)
    records = 0
    unreadable = None
    try:
        for record in read(data, context):
            check_record(record)
            records += 1
    except _loaded["ExtractUnreadable"] as exc:
        unreadable = str(exc)
    if fmt == "fix44" and context.stats.get("unexpected_errors"):
        raise PropertyViolation(
            f"fix44 masked {context.stats['unexpected_errors']} exception(s) of its own code as rejects "
            "(stats['unexpected_errors'] > 0; see the rejects' reasons)"
        )
    return {"config": index, "records": records, "unreadable": unreadable}


def check_all_configs(fmt: str, data: bytes) -> list[dict[str, Any]]:
    return [check(fmt, data, index) for index in range(len(CONFIGS[fmt]))]


# --- crash bookkeeping ------------------------------------------------------------------------------


def signature(exc: BaseException) -> str:
    """A short, stable name of a failure: the exception type and the innermost frame in the project."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = "?"
    for frame in reversed(frames):
        if "/exec_pipeline/" in frame.filename:
            where = f"{Path(frame.filename).name}:{frame.lineno}"
            break
    if isinstance(exc, PropertyViolation):
        what = re.sub(r"[^A-Za-z0-9_.]+", "_", str(exc).split(":")[0])[:60].strip("_")
        return f"PropertyViolation-{what}"
    return f"{type(exc).__name__}-{where}"


def describe(fmt: str, data: bytes, exc: BaseException, index: int) -> str:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return (
        f"reader: {fmt}\nconfig: {index} {json.dumps(CONFIGS[fmt][index], sort_keys=True)}\n"
        f"input: {len(data)} bytes, sha1 {hashlib.sha1(data).hexdigest()}\n"
        f"signature: {signature(exc)}\n\n{tb}"
    )


class CrashLog:
    """``--keep-going``: record each distinct crash (by signature) and fuzz on.

    The input is saved as ``fuzz/crashes/<format>/<signature>-<sha1[:12]>.bin`` with a ``.txt`` holding
    the traceback (unless that signature is already saved there), and one JSON line per crash of this run
    is appended to ``--report``."""

    def __init__(self, fmt_dir: Path, report: Path | None) -> None:
        self.root = fmt_dir
        self.report = report
        self.seen: set[str] = set()
        self.count = 0

    def record(self, fmt: str, data: bytes, exc: BaseException, index: int) -> None:
        self.count += 1
        sig = signature(exc)
        key = f"{fmt}/{sig}"
        if key in self.seen:
            return
        self.seen.add(key)
        directory = self.root / fmt
        directory.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", sig)
        existing = sorted(directory.glob(f"{slug}-*.bin"))
        if existing:
            path = existing[0]
            status = "known"
        else:
            path = directory / f"{slug}-{hashlib.sha1(data).hexdigest()[:12]}.bin"
            path.write_bytes(data)
            path.with_suffix(".txt").write_text(describe(fmt, data, exc, index))
            status = "new"
        shown = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        line = {"format": fmt, "signature": sig, "status": status, "file": shown,
                "exception": f"{type(exc).__name__}: {str(exc)[:300]}"}
        print(f"\n=== {status.upper()} CRASH [{fmt}] {sig}: {line['exception']}\n    saved: {line['file']}",
              file=sys.stderr, flush=True)
        if self.report is not None:
            with self.report.open("a") as handle:
                handle.write(json.dumps(line) + "\n")


# --- drivers ----------------------------------------------------------------------------------------


def _pick(reader: str, data: bytes) -> tuple[str, bytes]:
    if reader != "all":
        return reader, data
    if not data:
        return FORMATS[0], data
    return FORMATS[data[0] % len(FORMATS)], data[1:]


def _options(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """Split our own ``--name[=value]`` options from libFuzzer's arguments."""
    ours: dict[str, str] = {}
    rest = [argv[0]]
    names = ("--reader", "--keep-going", "--report", "--crash-dir", "--driver", "--runs", "--reproduce", "--slow")
    args = iter(argv[1:])
    for arg in args:
        name, equals, value = arg.partition("=")
        if name in names:
            if name == "--reproduce":
                ours[name] = "\n".join([value] * bool(value) + list(args))
                break
            ours[name] = value if equals else "1"
        else:
            rest.append(arg)
    return ours, rest


def run_atheris(reader: str, keep_going: bool, crashes: CrashLog, slow_seconds: float, libfuzzer_args: list[str]) -> None:
    import atheris

    # heavy, uninteresting dependencies first (not instrumented), then the readers, instrumented
    import exec_pipeline.data_nodes.execution  # noqa: F401
    import pydantic  # noqa: F401

    with atheris.instrument_imports(include=["exec_pipeline.readers"]):
        _import_readers()
        for fmt in FORMATS:
            READ[fmt]  # noqa: B018 - import
    for fmt in FORMATS:  # validated configs, outside the fuzzing loop
        for index in range(len(CONFIGS[fmt])):
            make_context(fmt, index)

    slow_seen: set[str] = set()

    def test_one_input(raw: bytes) -> None:
        fmt, data = _pick(reader, raw)
        started = time.perf_counter()
        index = config_for(fmt, data)
        try:
            check(fmt, data, index)
        except Exception as exc:  # noqa: BLE001 - every exception but ExtractUnreadable is a crash
            if not keep_going:
                raise
            crashes.record(fmt, data, exc, index)
        elapsed = time.perf_counter() - started
        if elapsed > slow_seconds:
            digest = hashlib.sha1(data).hexdigest()[:12]
            if digest not in slow_seen:
                slow_seen.add(digest)
                directory = crashes.root.parent / "slow" / fmt
                directory.mkdir(parents=True, exist_ok=True)
                (directory / f"slow-{digest}.bin").write_bytes(data)
                print(f"\n=== SLOW INPUT [{fmt}] {elapsed:.2f}s for {len(data)} bytes: saved fuzz/slow/{fmt}/slow-{digest}.bin",
                      file=sys.stderr, flush=True)

    atheris.Setup(libfuzzer_args, test_one_input)
    atheris.Fuzz()


def run_hypothesis(reader: str, runs: int, corpus_root: Path) -> int:
    """Fallback driver without atheris: hypothesis mutates the seed corpus (no coverage guidance, but it
    shrinks a failing input). Stops at the first crash, printing the shrunk input."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    _import_readers()
    formats = FORMATS if reader == "all" else (reader,)
    seeds = {fmt: [p.read_bytes() for p in sorted((corpus_root / fmt).glob("*")) if p.is_file()] or [b""]
             for fmt in formats}
    tokens = [b"\x00", b"\x01", b"|", b"\n", b"\r", b",", b";", b'"', b"=", b"<", b">", b"{", b"}", b"[", b"]",
              b"NaN", b"1e999999", b"1e9999999999999999999", b"-0", b"99999999999999999999", b"\xff", b"\xef\xbb\xbf", b"\xed\xa0\x80",
              b"\\ud800", b"0001-01-01", b"9999-12-31T23:59:59", b"20260105-25:61:60", b"-1", b"\xe9"]

    @st.composite
    def inputs(draw: st.DrawFn) -> tuple[str, bytes]:
        fmt = draw(st.sampled_from(formats))
        data = bytearray(draw(st.sampled_from(seeds[fmt])))
        for _ in range(draw(st.integers(0, 12))):
            op = draw(st.sampled_from(["flip", "insert", "delete", "token", "splice", "dup"]))
            at = draw(st.integers(0, len(data)))
            if op == "flip" and data:
                data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
            elif op == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=8))
            elif op == "delete":
                del data[at : at + draw(st.integers(1, 64))]
            elif op == "token":
                data[at:at] = draw(st.sampled_from(tokens))
            elif op == "splice":
                other = draw(st.sampled_from(seeds[fmt]))
                start = draw(st.integers(0, len(other)))
                data[at:at] = other[start : start + draw(st.integers(1, 200))]
            elif op == "dup" and data:
                data[at:at] = data[at : at + draw(st.integers(1, 200))]
        return fmt, bytes(data)

    @settings(max_examples=runs, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(inputs())
    def fuzz(case: tuple[str, bytes]) -> None:
        check(*case)

    started = time.perf_counter()
    try:
        fuzz()
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        print(f"hypothesis driver: CRASH after {time.perf_counter() - started:.1f}s", file=sys.stderr)
        return 1
    print(f"hypothesis driver: {runs} examples, no crash, {time.perf_counter() - started:.1f}s")
    return 0


def reproduce(reader: str, paths: list[str]) -> int:
    """Re-run saved inputs under every configuration of their format; exit 1 if any still crashes."""
    failures = 0
    for name in paths:
        path = Path(name)
        fmt = reader if reader in FORMATS else path.parent.name
        data = path.read_bytes()
        try:
            summaries = check_all_configs(fmt, data)
        except Exception:  # noqa: BLE001
            failures += 1
            print(f"CRASH  {fmt:9} {path}")
            traceback.print_exc()
            continue
        print(f"ok     {fmt:9} {path}  {summaries}")
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    ours, libfuzzer_args = _options(argv)
    reader = ours.get("--reader", "all")
    if reader not in (*FORMATS, "all"):
        print(f"--reader must be one of {', '.join(FORMATS)}, all", file=sys.stderr)
        return 2
    if "--reproduce" in ours:
        return reproduce(reader, [p for p in ours["--reproduce"].split("\n") if p])
    driver = ours.get("--driver", "atheris")
    if driver == "hypothesis":
        return run_hypothesis(reader, int(ours.get("--runs", "10000")), HERE / "corpus")
    report = Path(ours["--report"]) if ours.get("--report") else None
    crashes = CrashLog(Path(ours.get("--crash-dir", str(HERE / "crashes"))), report)
    run_atheris(reader, "--keep-going" in ours, crashes, float(ours.get("--slow", "5")), libfuzzer_args)
    return 0  # not reached: libFuzzer exits the process


if __name__ == "__main__":
    sys.exit(main(sys.argv))
