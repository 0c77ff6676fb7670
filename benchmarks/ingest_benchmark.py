#!/usr/bin/env python
"""Ingest benchmark for exec_pipeline: one broker day of N fills, end to end, against the database's limit.

What it does (see benchmarks/README.md for how to read the figures):

1. Generates a realistic broker day of N fills, once as a FIX 4.4 ExecutionReport log (orders with
   several partial fills each, new / fills / final status, ~25-31 tags per report, correct BodyLength 9
   and CheckSum 10, SOH-delimited, a heartbeat every 30 s) and once as a CSV for a ``csv`` source (the
   same orders and reports), into a temporary landing zone ``<tmp>/landing/<source>/<date>/`` with a
   temporary source catalogue (two fix44 sources, one csv source).
2. Per backend (SQLite, PostgreSQL), medians over ``--runs``:
   - the product: ``services.ingestion.ingest_partition`` of the FIX partition on a fresh warehouse;
   - the same normalised rows (read once up front, encoded as ``lib.bulkload`` encodes them, with the
     same lineage columns) loaded by plain COPY (PostgreSQL, psycopg 3 ``cursor.copy``, text and binary:
     the faster is the limit) or one-transaction ``executemany`` (SQLite) into bare tables (same columns
     and types, no index or constraint);
   - the same rows by ``pandas.DataFrame.to_sql`` (default method) into bare tables;
   - re-materializing the unchanged partition (skips by content hash) and a forced re-run;
   - on that loaded warehouse, one order's rows from the views ``order_status`` and ``effective_trades``.
   Then the peak RSS of the materialization in a fresh child process for N, N/4 and for a baseline child
   that only imports and connects.
3. Reader throughput alone (fix44 and csv, one core, consuming the generator).
4. A landing-zone sensor tick over 100,000 small files (3 sources x ~33k files over ~365 date folders)
   when nothing changed: ``lib.landing_scan.scan_landing`` (second call) and ``landing_zone_sensor``.
5. Optionally (``--backfill``) a single-run Dagster backfill of 365 days x 3 sources of small extracts.

Usage::

    .venv/bin/python benchmarks/ingest_benchmark.py --quick                # ~50k-fill smoke run (< 2 min)
    .venv/bin/python benchmarks/ingest_benchmark.py                        # 1M fills, 3 runs, both backends
    .venv/bin/python benchmarks/ingest_benchmark.py --backend postgresql --fills 200000 --runs 1 --json out.json
    .venv/bin/python benchmarks/ingest_benchmark.py --profile py-spy --backend postgresql   # where the time goes

Generated data lives in a temporary directory and throwaway PostgreSQL databases named ``exec_bench_*``;
both are removed at the end (also on Ctrl-C).
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import gc
import json
import math
import os
import platform
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # the checkout's exec_pipeline, also when run as a script

SCRIPT = Path(__file__).resolve()

FIX_SOURCE = "bench_fix"  # the broker's FIX drop copy: the partition measured end to end
FIX2_SOURCE = "bench_fixdc"  # a second FIX session (backfill / sensor only)
CSV_SOURCE = "bench_csv"  # a prime broker's CSV
CCXT_SOURCE = "bench_ccxt"  # an exchange's ccxt JSON (reader figure only)
SOURCES = (CSV_SOURCE, FIX_SOURCE, FIX2_SOURCE)  # sorted, as the catalogue lists them
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

GiB = 1024**3

# --- goals -----------------------------------------------------------------------------------------------

GOAL_E2E_VS_COPY = 0.6  # PostgreSQL: product rows/s >= 0.6 x COPY rows/s
GOAL_E2E_VS_TO_SQL = 3.0  # product rows/s >= 3 x pandas to_sql rows/s
GOAL_RERUN_FRACTION = 0.10  # re-materializing an unchanged partition <= 10% of the first run
GOAL_PEAK_RSS = 2 * GiB  # at 1M fills
GOAL_SENSOR_SECONDS = 2.0  # a quiet tick over 100k files
GOAL_FIX_MSGS_PER_S = 150_000
#: "a plain split loop already reaches about 90,000 here" (the issue), to scale the goal by the day
ISSUE_SPLIT_LOOP_MSGS_PER_S = 90_000


# =========================================================================================================
# Data generation
# =========================================================================================================

_REAL_TICKERS = (
    "AAPL MSFT NVDA AMZN GOOGL META TSLA BRK.B AVGO JPM LLY V UNH XOM MA JNJ PG HD COST MRK ABBV CVX "
    "CRM BAC NFLX AMD PEP KO TMO WMT ADBE LIN MCD CSCO ACN ABT ORCL DHR INTC WFC DIS VZ CMCSA TXN PFE "
    "NKE PM AMGN IBM QCOM UNP"
).split()
MANAGERS = ("momentum", "pairs", "meanrev", "vwap-algo", "twap-algo", "rebalance", "hedger", "stat-arb")
VENUES = ("XNAS", "XNYS", "ARCX", "BATS", "EDGX", "IEXG", "XCHI", "MEMX")
N_ACCOUNTS = 8
N_SYMBOLS = 400

SESSION_START_US = (14 * 3600 + 30 * 60) * 1_000_000  # 14:30 UTC (US open)
SESSION_END_US = 21 * 3600 * 1_000_000  # 21:00 UTC (US close)
HEARTBEAT_US = 30 * 1_000_000


def universe(seed: int = 7) -> tuple[list[tuple[str, float]], list[str]]:
    """The instruments (symbol, reference price) and broker accounts of the generated days."""
    rng = random.Random(seed)
    symbols = list(_REAL_TICKERS)
    seen = set(symbols)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    while len(symbols) < N_SYMBOLS:
        name = "".join(rng.choice(letters) for _ in range(rng.choice((3, 4))))
        if name not in seen:
            seen.add(name)
            symbols.append(name)
    priced = [(s, round(rng.uniform(5, 600), 2)) for s in symbols]
    accounts = [f"ACC-{i}" for i in range(1, N_ACCOUNTS + 1)]
    return priced, accounts


def write_catalogue(path: Path, start_date: dt.date) -> None:
    import yaml

    symbols, accounts = universe()
    account_map = {a: f"00000000-0000-0000-0000-{i:012d}" for i, a in enumerate(accounts, 1)}
    asset_map = {s: f"{s.lower().replace('.', '-')}-us-equity" for s, _ in symbols}
    common = {
        "accounts": account_map,
        "assets": asset_map,
        "manager_pattern": "^(?P<manager>[^/]+)/",
    }
    document = {
        "start_date": start_date.isoformat(),
        "sources": {
            FIX_SOURCE: {"format": "fix44", **common},
            FIX2_SOURCE: {"format": "fix44", **common},
            CSV_SOURCE: {
                "format": "csv",
                "timezone": "UTC",
                **common,
                "options": {"columns": {"trade_time": "time", "trade_id": "exec_id", "client_order_id": "cl_ord_id"}},
            },
        },
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))


CSV_HEADER = (
    "time,exec_type,order_id,cl_ord_id,account,symbol,side,quantity,price,currency,commission,"
    "commission_currency,order_quantity,limit_price,cum_quantity,leaves_quantity,avg_price,order_status,"
    "venue,liquidity,reason,exec_id\n"
)


def generate_day(
    n_fills: int,
    day: dt.date,
    *,
    fmt: str,
    seed: int,
    broker: str = "NXBROKER",
    target: str = "EXECPIPE",
    prefix: str = "NX",
) -> tuple[bytes, dict[str, int]]:
    """One broker day of ``n_fills`` fills as a FIX 4.4 log (``fmt="fix"``) or a CSV (``fmt="csv"``).

    The same ``seed`` gives the same orders and reports in both formats. Orders: 1% rejected (37=NONE,
    no fill), 20% partially filled then canceled (150=4 with 41), 4% partially filled then expired at
    the close (150=C), the rest filled (the last fill carries 39=2, LeavesQty 0); 1-7 fills each,
    every report time-ordered in the file with increasing MsgSeqNum and ExecID.
    """
    rng = random.Random(seed)
    symbols, accounts = universe()
    ymd = day.strftime("%Y%m%d")
    yymmdd = ymd[2:]
    iso = day.isoformat()
    fix = fmt == "fix"

    def fix_time(t: int) -> str:
        s, us = divmod(t, 1_000_000)
        m, s = divmod(s, 60)
        h, m = divmod(m, 60)
        return f"{ymd}-{h:02d}:{m:02d}:{s:02d}.{us // 1000:03d}"

    def csv_time(t: int) -> str:
        s, us = divmod(t, 1_000_000)
        m, s = divmod(s, 60)
        h, m = divmod(m, 60)
        return f"{iso} {h:02d}:{m:02d}:{s:02d}.{us // 1000:03d}"

    # (time, tiebreak, text without MsgSeqNum/ExecID): sorted by time, then numbered
    events: list[tuple[int, int, str]] = []
    n = 0
    counts: Counter[str] = Counter()
    fills_left = n_fills
    order_no = 0
    window = SESSION_END_US - SESSION_START_US - 900_000_000
    while fills_left > 0:
        order_no += 1
        plan = rng.random()
        symbol, base = symbols[rng.randrange(len(symbols))]
        account = accounts[rng.randrange(len(accounts))]
        manager = MANAGERS[rng.randrange(len(MANAGERS))]
        side = "1" if rng.random() < 0.52 else "2"
        side_word = "buy" if side == "1" else "sell"
        t = SESSION_START_US + rng.randrange(window)
        order_id = f"{prefix}-{yymmdd}-{order_no:07d}"
        clordid = f"{manager}/{yymmdd}-{order_no:07d}"
        market = rng.random() < 0.15
        limit = None if market else round(base * (1.003 if side == "1" else 0.997), 2)
        ord_type = "1" if market else "2"
        tif = "0" if rng.random() < 0.9 else "1"
        limit_fix = "" if limit is None else f"44={limit:.2f}\x01"
        limit_csv = "" if limit is None else f"{limit:.2f}"
        order_fix = f"37={order_id}\x01"  # placed in tag order below
        counts["orders"] += 1

        if plan < 0.01:  # rejected by the broker: no order id, no fill
            counts["rejected_orders"] += 1
            qty = rng.randint(1, 10) * 100
            n += 1
            if fix:
                text = (
                    f"49={broker}\x0152={fix_time(t + 3000)}\x0156={target}\x011={account}\x016=0\x01"
                    f"11={clordid}\x0114=0\x0115=USD\x0137=NONE\x0138={qty}\x0139=8\x0140={ord_type}\x01"
                    f"{limit_fix}54={side}\x0155={symbol}\x0158=Order exceeds limit\x0159={tif}\x01"
                    f"60={fix_time(t)}\x01103=3\x01150=8\x01151=0\x01"
                )
            else:
                text = (
                    f"{csv_time(t)},rejected,NONE-{order_no},{clordid},{account},{symbol},{side_word},,,USD,,,"
                    f"{qty},{limit_csv},0,0,,rejected,,,Order exceeds limit,"
                )
            events.append((t, n, text))
            continue

        k = min(fills_left, rng.randint(1, 7))
        fills_left -= k
        quantities = [rng.randint(1, 10) * 100 for _ in range(k)]
        filled = sum(quantities)
        if plan < 0.21:
            final = "canceled"
            qty = filled + rng.randint(1, 10) * 100
        elif plan < 0.25:
            final = "expired"
            qty = filled + rng.randint(1, 10) * 100
        else:
            final = None
            qty = filled
        counts[f"{final or 'filled'}_orders"] += 1

        # the New
        n += 1
        if fix:
            text = (
                f"49={broker}\x0152={fix_time(t + 3000)}\x0156={target}\x011={account}\x016=0\x0111={clordid}\x01"
                f"14=0\x0115=USD\x01{order_fix}38={qty}\x0139=0\x0140={ord_type}\x01{limit_fix}54={side}\x01"
                f"55={symbol}\x0159={tif}\x0160={fix_time(t)}\x01150=0\x01151={qty}\x01"
            )
        else:
            text = (
                f"{csv_time(t)},new,{order_id},{clordid},{account},{symbol},{side_word},,,USD,,,{qty},{limit_csv},"
                f"0,{qty},,new,,,,"
            )
        events.append((t, n, text))

        # the fills
        cum = 0
        notional = 0.0
        for q in quantities:
            t += 1000 + int(rng.expovariate(1 / 4_000_000))
            price = round(base * (1 + rng.uniform(-0.002, 0.002)), 2)
            cum += q
            notional += q * price
            avg = notional / cum
            leaves = qty - cum
            commission = q * 0.0035
            venue = VENUES[rng.randrange(len(VENUES))]
            maker = rng.random() < 0.4
            n += 1
            counts["fills"] += 1
            if fix:
                status = "2" if leaves == 0 else "1"
                text = (
                    f"49={broker}\x0152={fix_time(t + 3000)}\x0156={target}\x011={account}\x016={avg:.4f}\x01"
                    f"11={clordid}\x0112={commission:.2f}\x0113=3\x0114={cum}\x0115=USD\x0130={venue}\x01"
                    f"31={price:.2f}\x0132={q}\x01{order_fix}38={qty}\x0139={status}\x0140={ord_type}\x01"
                    f"{limit_fix}54={side}\x0155={symbol}\x0159={tif}\x0160={fix_time(t)}\x01150=F\x01"
                    f"151={leaves}\x01851={'1' if maker else '2'}\x01"
                )
            else:
                status = "filled" if leaves == 0 else "partially_filled"
                text = (
                    f"{csv_time(t)},fill,{order_id},{clordid},{account},{symbol},{side_word},{q},{price:.2f},USD,"
                    f"{commission:.2f},USD,{qty},{limit_csv},{cum},{leaves},{avg:.4f},{status},{venue},"
                    f"{'maker' if maker else 'taker'},,"
                )
            events.append((t, n, text))

        # the final status of an order left open
        if final is not None:
            if final == "canceled":
                t += 1000 + int(rng.expovariate(1 / 20_000_000))
                exec_type, code, request = "4", "4", f"11={clordid}-C\x0141={clordid}\x01"
            else:
                t = max(t, SESSION_END_US) + rng.randrange(1000, 2_000_000)
                exec_type, code, request = "C", "C", f"11={clordid}\x01"
            n += 1
            avg_text = f"{notional / cum:.4f}"
            if fix:
                text = (
                    f"49={broker}\x0152={fix_time(t + 3000)}\x0156={target}\x011={account}\x016={avg_text}\x01"
                    f"{request}14={cum}\x0115=USD\x01{order_fix}38={qty}\x0139={code}\x0140={ord_type}\x01"
                    f"{limit_fix}54={side}\x0155={symbol}\x0159={tif}\x0160={fix_time(t)}\x01150={exec_type}\x01"
                    f"151=0\x01"
                )
            else:
                text = (
                    f"{csv_time(t)},{final},{order_id},{clordid},{account},{symbol},{side_word},,,USD,,,{qty},"
                    f"{limit_csv},{cum},0,{avg_text},{final},,,,"
                )
            events.append((t, n, text))

    if fix:  # the session's heartbeats (skipped by the reader, as in a real drop-copy log)
        beat = SESSION_START_US - 60_000_000
        while beat < SESSION_END_US + 120_000_000:
            n += 1
            events.append((beat, n, f"49={broker}\x0152={fix_time(beat)}\x0156={target}\x01"))
            beat += HEARTBEAT_US

    events.sort()
    lines: list[str] = []
    append = lines.append
    if fix:
        adler32 = zlib.adler32
        for seq, (_t, _n, text) in enumerate(events, 2):  # MsgSeqNum 1 was the Logon
            if text.count("\x01") == 3:  # a heartbeat
                body = f"35=0\x0134={seq}\x01{text}"
                counts["heartbeats"] += 1
            else:
                body = f"35=8\x0134={seq}\x01{text}17={prefix}{ymd}{seq:09d}\x01"
                counts["execution_reports"] += 1
            message = f"8=FIX.4.4\x019={len(body)}\x01{body}"
            data = message.encode()
            # adler32's low half is 1 + the byte sum (mod 65521): exact for ASCII messages < 516 bytes
            total = (adler32(data) & 0xFFFF) - 1 if len(data) < 516 else sum(data)
            append(f"{message}10={total & 255:03d}\x01\n")
    else:
        append(CSV_HEADER)
        for seq, (_t, _n, text) in enumerate(events, 1):
            append(f"{text}{prefix}-{ymd}-{seq:09d}\n")
            counts["csv_rows"] += 1
    del events
    payload = "".join(lines).encode()
    counts["lines"] = len(lines)
    counts["bytes"] = len(payload)
    return payload, dict(counts)


def write_ccxt_day(path: Path, n_fills: int, day: dt.date, *, seed: int, exchange: str = "benchx",
                   keys_first: bool = True) -> dict[str, int]:
    """One exchange day of ``n_fills`` fills as ccxt-unified JSON, written to ``path`` as it is generated
    (a 1M-fill day is ~0.5 GB of JSON; its dicts would be ~3 GB): ``fetch_orders`` (each order once, in
    its final state) and ``fetch_my_trades`` (every fill), as a source of the ``ccxt`` format delivers it.
    Orders as in :func:`generate_day`: 1-7 fills each, 20% canceled and 4% expired after partial fills.
    ``keys_first``: the file-level "exchange" and "account" before the lists (else after them, which
    makes the reader read the file twice)."""
    rng = random.Random(seed)
    symbols, accounts = universe()
    start = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp() * 1000)
    window_ms = (SESSION_END_US - SESSION_START_US - 900_000_000) // 1000

    def stamp(ms: int) -> dict[str, Any]:
        moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
        return {"timestamp": ms, "datetime": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"}

    keys = {"exchange": exchange, "account": accounts[0]}
    n_orders, fills_left, order_no, trade_no = 0, n_fills, 0, 0
    trades_path = path.with_name(path.name + ".trades")
    with path.open("w") as out, trades_path.open("w") as trades_out:
        out.write("{" + (json.dumps(keys)[1:-1] + ", " if keys_first else "") + '"orders": [')
        while fills_left > 0:
            order_no += 1
            symbol, base = symbols[rng.randrange(len(symbols))]
            market = f"{symbol}/USD"
            side = "buy" if rng.random() < 0.52 else "sell"
            t = start + SESSION_START_US // 1000 + rng.randrange(window_ms)
            order_id = f"{order_no:010d}"
            client_id = f"{MANAGERS[rng.randrange(len(MANAGERS))]}/{day:%y%m%d}-{order_no:07d}"
            k = min(fills_left, rng.randint(1, 7))
            fills_left -= k
            plan = rng.random()
            amounts = [rng.randint(1, 100) / 10 for _ in range(k)]
            filled = round(sum(amounts), 1)
            amount = filled if plan >= 0.25 else round(filled + rng.randint(1, 50) / 10, 1)
            status = "closed" if plan >= 0.25 else ("canceled" if plan >= 0.04 else "expired")
            limit = round(base * (1.003 if side == "buy" else 0.997), 2)
            cost, last = 0.0, t
            for quantity in amounts:
                last += 1 + int(rng.expovariate(1 / 4000))
                price = round(base * (1 + rng.uniform(-0.002, 0.002)), 2)
                cost += quantity * price
                trade_no += 1
                taker = rng.random() < 0.6
                trades_out.write(("" if trade_no == 1 else ", ") + json.dumps({
                    "id": f"{trade_no:012d}", "order": order_id, **stamp(last), "symbol": market, "type": "limit",
                    "side": side, "takerOrMaker": "taker" if taker else "maker", "price": price, "amount": quantity,
                    "cost": round(quantity * price, 8),
                    "fee": {"cost": round(quantity * price * 0.001, 8), "currency": "USD"},
                    "info": {"tradeId": trade_no, "orderId": order_id, "isBuyer": side == "buy", "isMaker": not taker},
                }))
            n_orders += 1
            out.write(("" if n_orders == 1 else ", ") + json.dumps({
                "id": order_id, "clientOrderId": client_id, **stamp(t), "lastTradeTimestamp": last, "status": status,
                "symbol": market, "type": "limit", "timeInForce": "GTC", "side": side, "price": limit,
                "average": round(cost / filled, 8), "amount": amount, "filled": filled,
                "remaining": round(amount - filled, 1), "cost": round(cost, 8), "fee": None, "trades": [],
                "info": {"orderId": order_id, "clientOrderId": client_id, "status": status.upper()},
            }))
        out.write('], "trades": [')
    with path.open("a") as out, trades_path.open() as trades_in:
        shutil.copyfileobj(trades_in, out, 1 << 20)
        out.write("]" + ("" if keys_first else ", " + json.dumps(keys)[1:-1]) + "}")
    trades_path.unlink()
    return {"orders": n_orders, "fills": trade_no, "records": n_orders + trade_no, "bytes": path.stat().st_size}


def write_ccxt_catalogue(path: Path, start_date: dt.date) -> None:
    """A catalogue of the one ccxt source whose reader is measured (kept out of the main catalogue:
    the sensor and backfill figures cover the three sources there)."""
    import yaml

    symbols, accounts = universe()
    document = {
        "start_date": start_date.isoformat(),
        "sources": {CCXT_SOURCE: {
            "format": "ccxt",
            "accounts": {a: f"00000000-0000-0000-0000-{i:012d}" for i, a in enumerate(accounts, 1)},
            "assets": {f"{s}/USD": f"{s.lower().replace('.', '-')}-us-equity" for s, _ in symbols},
            "manager_pattern": "^(?P<manager>[^/]+)/",
        }},
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def extract_name(source: str, day: dt.date) -> str:
    if source == CSV_SOURCE:
        return f"fills-{day:%Y%m%d}.csv"
    return f"{source}-execreports-{day:%Y%m%d}.log"


def write_extract(root: Path, source: str, day: dt.date, data: bytes, *, old: bool = True) -> Path:
    folder = root / source / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / extract_name(source, day)
    path.write_bytes(data)
    if old:  # settled long ago
        stamp = time.time() - 3600
        os.utime(path, (stamp, stamp))
        os.utime(folder, (stamp, stamp))
    return path


# =========================================================================================================
# Warehouses
# =========================================================================================================


class Postgres:
    """Throwaway ``exec_bench_*`` databases on the server named by ``--pg-url``."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.created: list[str] = []
        self.template: str | None = None
        self.tag = uuid.uuid4().hex[:8]

    def conninfo(self, database: str | None = None) -> str:
        url = self.url.set(drivername="postgresql")
        if database:
            url = url.set(database=database)
        return url.render_as_string(hide_password=False)

    def sqlalchemy_url(self, database: str) -> str:
        return self.url.set(drivername="postgresql+psycopg", database=database).render_as_string(hide_password=False)

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True) as connection:
            connection.execute(sql)

    def check(self) -> str:
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True, connect_timeout=5) as connection:
            return connection.execute("SHOW server_version").fetchone()[0]

    def create(self, purpose: str) -> str:
        """A new database at the latest schema (copied from a migrated template)."""
        if self.template is None:
            self.template = f"exec_bench_tpl_{self.tag}"
            self._admin(f'CREATE DATABASE "{self.template}"')
            self.created.append(self.template)
            from exec_pipeline.lib import warehouse

            engine = warehouse.build_engine(self.sqlalchemy_url(self.template))
            warehouse.upgrade(engine)
            engine.dispose()
        name = f"exec_bench_{self.tag}_{purpose}_{uuid.uuid4().hex[:6]}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return self.sqlalchemy_url(name)

    def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(reversed(self.created)):
            try:
                self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - best effort at exit
                print(f"warning: could not drop database {name}: {exc}", file=sys.stderr)
            self.created.remove(name)


class Sqlite:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def create(self, purpose: str) -> str:
        return f"sqlite:///{self.folder / f'{purpose}-{uuid.uuid4().hex[:6]}.sqlite'}"

    def drop(self, url: str) -> None:
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(path + suffix).unlink(missing_ok=True)


def release_engines() -> None:
    from exec_pipeline.lib import warehouse

    warehouse.dispose_engines()


# =========================================================================================================
# Measurements
# =========================================================================================================


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def read_records(fmt: str, data: bytes, catalogue: Any, source: str, uri: str) -> Any:
    from exec_pipeline.readers import get_reader
    from exec_pipeline.readers.base import ReaderContext

    context = ReaderContext(source=source, config=catalogue.source(source), uri=uri)
    return get_reader(fmt).read(data, context)


def plain_split_loop(data: bytes) -> int:
    """The issue's yardstick for the FIX reader ("a plain split loop already reaches about 90,000
    [msgs/s] here"): every line decoded, split into fields and into a dict, ExecutionReports
    counted. No validation, no records: what tokenising alone costs on this machine today."""
    messages = 0
    for line in data.decode().split("\n"):
        if line:
            fields = dict(field.split("=", 1) for field in line.split("\x01") if field)
            if fields.get("35") == "8":
                messages += 1
    return messages


def bench_split_loop(data: bytes, runs: int) -> dict[str, Any]:
    """:func:`plain_split_loop`'s rate on the same log, so the FIX reader's rate can be compared
    with the issue's figures on a day when the machine is faster or slower."""
    walls: list[float] = []
    messages = 0
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        messages = plain_split_loop(data)
        walls.append(time.perf_counter() - t0)
    wall = median(walls)
    return {"seconds": wall, "messages": messages, "msgs_per_s": messages / wall, "runs": walls}


def bench_reader(fmt: str, data: bytes, catalogue: Any, source: str, runs: int) -> dict[str, Any]:
    """Reader alone: bytes -> records, consuming the generator, one core; messages are the broker
    records the reader counted (FIX ExecutionReports, CSV rows)."""
    from exec_pipeline.readers import get_reader
    from exec_pipeline.readers.base import ReaderContext

    reader = get_reader(fmt)
    walls: list[float] = []
    cpus: list[float] = []
    records = 0
    context = None
    for _ in range(runs):
        context = ReaderContext(source=source, config=catalogue.source(source), uri=f"file:///bench/{source}")
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        records = 0
        for _record in reader.read(data, context):
            records += 1
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    assert context is not None
    messages = context.stats.get("messages", 0) if fmt == "fix44" else context.stats.get("rows", 0)
    rejects = context.stats.get("rejects", 0)
    if rejects:
        print(f"warning: the {fmt} reader rejected {rejects:,} generated records", file=sys.stderr)
    wall = median(walls)
    return {
        "format": fmt,
        "seconds": wall,
        "cpu_seconds": median(cpus),
        "records": records,
        "messages": messages,
        "records_per_s": records / wall,
        "msgs_per_s": messages / wall,
        "runs": walls,
        "stats": dict(context.stats),
    }


class Rows:
    """The normalised rows of one extract, encoded for one backend as ``lib.bulkload`` encodes them."""

    TABLES = {"OrdersTS": "orders_ts", "OrderEventsTS": "order_events_ts", "TradesTS": "trades_ts"}

    def __init__(self, records: Any, dialect: str, *, source: str, partition_key: str, uri: str,
                 reader_name: str, reader_version: str) -> None:
        from exec_pipeline.data_nodes import execution as nodes
        from exec_pipeline.lib import bulkload
        from exec_pipeline.lib.sqltypes import datetime_to_sqlite

        try:
            specs = bulkload._specs()  # noqa: SLF001 - the loader's own table specs and encoder
            encoders = {name: bulkload._RowEncoder(specs[name], dialect) for name in self.TABLES}  # noqa: SLF001
            lineage_columns = bulkload._LINEAGE_COLUMNS  # noqa: SLF001
        except AttributeError as exc:  # the loader was refactored: say so rather than measure something else
            raise SystemExit(f"exec_pipeline.lib.bulkload changed ({exc}); update Rows in {SCRIPT.name}") from None
        now = dt.datetime.now(dt.UTC)
        ref = bulkload.ExtractRef(uri, 1, reader_name, reader_version)
        lineage = (source, partition_key, "bench-copy", reader_name, reader_version,
                   datetime_to_sqlite(now) if dialect == "sqlite" else now)
        table_of = {nodes.OrderRecord: "OrdersTS", nodes.OrderEventRecord: "OrderEventsTS",
                    nodes.TradeRecord: "TradesTS"}
        self.columns = {name: (*specs[name].fields, "extract_id", *lineage_columns) for name in self.TABLES}
        self.rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in self.TABLES}
        self.rejects = 0
        clock = time.perf_counter
        encoding = 0.0
        t0 = clock()
        for record in records:  # the reader runs as this loop pulls records; only encode() is summed
            name = table_of.get(type(record))
            if name is None:
                self.rejects += 1
                continue
            e0 = clock()
            row = encoders[name].encode(record, ref) + lineage
            encoding += clock() - e0
            self.rows[name].append(row)
        self.prep_seconds = clock() - t0
        self.encode_seconds = encoding

    @property
    def count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.rows.items()}


def bare_tables_sql(dialect: str) -> list[str]:
    statements = []
    for table in Rows.TABLES.values():
        statements.append(f"DROP TABLE IF EXISTS bare_{table}")
        if dialect == "postgresql":
            statements.append(f"CREATE TABLE bare_{table} AS SELECT * FROM {table} WITH NO DATA")
        else:
            statements.append(f"CREATE TABLE bare_{table} AS SELECT * FROM {table} WHERE 0")
    return statements


def bench_copy_postgres(url: str, rows: Rows, runs: int, *, binary: bool) -> list[float]:
    """psycopg 3 ``cursor.copy`` with ``write_row`` into bare tables: text COPY, or binary COPY with the
    column types set as the product's loader sets them (``binary``)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from exec_pipeline.lib import bulkload

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    times = []
    with psycopg.connect(conninfo) as connection:
        for _ in range(runs):
            with connection.transaction():
                for statement in bare_tables_sql("postgresql"):
                    connection.execute(statement)
            types = {  # binary COPY: the columns' types, as the loader reads them from the catalogue
                table: dict(connection.execute(
                    "SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
                    (f"bare_{table}",)).fetchall())
                for table in Rows.TABLES.values()
            } if binary else {}
            gc.collect()
            t0 = time.perf_counter()
            with connection.transaction(), connection.cursor() as cursor:
                if binary:
                    for dumper in bulkload._json_text_dumpers():  # noqa: SLF001 - the loader's own
                        cursor.adapters.register_dumper(None, dumper)
                for name, table in Rows.TABLES.items():
                    columns = ", ".join(rows.columns[name])
                    statement = f"COPY bare_{table} ({columns}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")
                    with cursor.copy(statement) as copy:
                        if binary:
                            copy.set_types([types[table][column] for column in rows.columns[name]])
                        for row in rows.rows[name]:
                            copy.write_row(row)
            times.append(time.perf_counter() - t0)
            stored = sum(connection.execute(f"SELECT count(*) FROM bare_{t}").fetchone()[0] for t in Rows.TABLES.values())
            assert stored == rows.count, (stored, rows.count)
    return times


def bench_copy_sqlite(url: str, rows: Rows, runs: int) -> list[float]:
    """``executemany`` of plain INSERTs into bare tables, one transaction, the product's connection settings."""
    from exec_pipeline.lib.warehouse import get_engine

    engine = get_engine(url)
    times = []
    for _ in range(runs):
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            for statement in bare_tables_sql("sqlite"):
                cursor.execute(statement)
            gc.collect()
            t0 = time.perf_counter()
            cursor.execute("BEGIN")
            for name, table in Rows.TABLES.items():
                columns = rows.columns[name]
                cursor.executemany(
                    f"INSERT INTO bare_{table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                    rows.rows[name],
                )
            cursor.execute("COMMIT")
            times.append(time.perf_counter() - t0)
            stored = sum(cursor.execute(f"SELECT count(*) FROM bare_{t}").fetchone()[0] for t in Rows.TABLES.values())
            assert stored == rows.count, (stored, rows.count)
            cursor.close()
        finally:
            raw.close()
    return times


def to_sql_dtypes(name: str, dialect: str) -> dict[str, Any] | None:
    """``to_sql``'s ``dtype=`` for PostgreSQL: the table's column types in plain SQLAlchemy terms.

    SQLAlchemy 2.1's psycopg dialect casts every parameter to its SQL type, so pandas' guesses (object ->
    VARCHAR) are refused by numeric / timestamptz / json columns; a user of to_sql passes ``dtype=``.
    The JSON documents stay the loader's text, cast to json by the server. SQLite needs none (the rows
    hold the loader's text and integers already)."""
    if dialect != "postgresql":
        return None
    import sqlalchemy as sa
    from sqlalchemy.types import TypeDecorator

    from exec_pipeline.lib.sqltypes import ExactDecimal, UTCDateTime
    from exec_pipeline.models.execution import FACT_TABLES

    class JsonFromText(TypeDecorator):
        impl = sa.Text
        cache_ok = True

        def bind_expression(self, bindvalue):  # noqa: ANN001, ANN201
            return sa.cast(bindvalue, sa.JSON)

    dtypes: dict[str, Any] = {}
    for column in FACT_TABLES[name].__table__.columns:
        if isinstance(column.type, ExactDecimal):
            dtypes[column.name] = sa.Numeric()
        elif isinstance(column.type, UTCDateTime):
            dtypes[column.name] = sa.DateTime(timezone=True)
        elif column.type._type_affinity.__name__ == "JSON":  # noqa: SLF001
            dtypes[column.name] = JsonFromText()
        else:
            dtypes[column.name] = column.type
    return dtypes


def bench_to_sql(url: str, dialect: str, rows: Rows, runs: int) -> tuple[list[float], float]:
    """``DataFrame.to_sql`` (default method, if_exists=append) into bare tables; frames built untimed."""
    import pandas as pd
    from sqlalchemy import text

    from exec_pipeline.lib.warehouse import get_engine

    engine = get_engine(url)
    t0 = time.perf_counter()
    frames = {name: pd.DataFrame.from_records(rows.rows[name], columns=list(rows.columns[name])) for name in Rows.TABLES}
    dtypes = {name: to_sql_dtypes(name, dialect) for name in Rows.TABLES}
    build_seconds = time.perf_counter() - t0
    times = []
    for _ in range(runs):
        with engine.begin() as connection:
            for statement in bare_tables_sql(dialect):
                connection.execute(text(statement))
        gc.collect()
        t0 = time.perf_counter()
        for name, table in Rows.TABLES.items():
            frames[name].to_sql(f"bare_{table}", engine, if_exists="append", index=False, dtype=dtypes[name])
        times.append(time.perf_counter() - t0)
        with engine.connect() as connection:
            stored = sum(connection.execute(text(f"SELECT count(*) FROM bare_{t}")).scalar_one()
                         for t in Rows.TABLES.values())
        assert stored == rows.count, (stored, rows.count)
    del frames
    return times, build_seconds


def bench_product(warehouses: Any, *, landing: Path, catalogue_path: Path, day: dt.date, runs: int) -> dict[str, Any]:
    """``ingest_partition`` on a fresh warehouse, then again unchanged (skip) and forced, ``runs`` times.

    Each run is a fresh interpreter (``child_product``): the timings cover the ``ingest_partition`` calls only,
    in a process that holds nothing else, and the same child gives the peak RSS of the first materialization."""
    first: list[float] = []
    skipped: list[float] = []
    forced: list[float] = []
    rss_first: list[int] = []
    client_cpu: list[float] = []
    server_cpu: list[float] = []
    rss_total: list[int] = []
    view_queries: list[dict[str, Any] | None] = []
    out: dict[str, Any] = {}
    for run in range(runs):
        url = warehouses.create("product")
        try:
            result, peak = run_child("product", {
                "url": url, "landing": str(landing), "catalogue": str(catalogue_path), "source": FIX_SOURCE,
                "date": day.isoformat(), "run": run,
            })
        finally:
            warehouses.drop(url)
        first.append(result["first"])
        skipped.append(result["skip"])
        forced.append(result["forced"])
        client_cpu.append(result["client_cpu"])
        if result["server_cpu"] is not None:
            server_cpu.append(result["server_cpu"])
        rss_first.append(result["rss_after_first_bytes"])
        rss_total.append(peak)
        view_queries.append(result.get("view_queries"))
        out = result
    rows = sum(out["rows_stored"].get(name, 0) for name in ("OrdersTS", "OrderEventsTS", "TradesTS"))
    return {"first": first, "skip": skipped, "forced": forced, "rows_stored": out["rows_stored"],
            "records_read": out["records_read"], "rows": rows, "rss_after_first_bytes": rss_first,
            "client_cpu": client_cpu, "server_cpu": server_cpu,
            "rss_child_peak_bytes": rss_total, "view_queries": view_queries}


#: A minimal launcher between this (big) process and a measured child. Linux records a process's peak RSS
#: in ``ru_maxrss`` across fork/vfork + exec, so a child started straight from a 3 GB parent reports >= 3 GB.
#: Started from this ~10 MB launcher, the child's peak is its own, and the launcher reads it as its
#: ``RUSAGE_CHILDREN`` once the child has exited.
_LAUNCHER = (
    "import json, resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "sys.stdout.flush()\n"
    "print('RUSAGE_CHILDREN ' + json.dumps({'code': code, "
    "'maxrss_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}), flush=True)\n"
    "sys.exit(code)\n"
)


def run_child(mode: str, payload: dict[str, Any], *, env: dict[str, str] | None = None,
              timeout: float | None = None) -> tuple[dict[str, Any], int]:
    """Run this script in ``--child-mode`` in a fresh interpreter; returns (its JSON, its peak RSS in bytes).

    The peak RSS is ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` read by a small launcher process whose only
    child is the measured one (see ``_LAUNCHER``)."""
    command = [sys.executable, "-c", _LAUNCHER, sys.executable, str(SCRIPT), "--child-mode", mode,
               "--child-args", json.dumps(payload)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})},
                          cwd=str(REPO), timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"child {mode} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    lines = done.stdout.splitlines()
    usage = json.loads(next(line for line in reversed(lines) if line.startswith("RUSAGE_CHILDREN "))[16:])
    result = json.loads([line for line in lines if line.startswith("{")][-1])
    return result, usage["maxrss_kib"] * 1024  # Linux: KiB


def bench_rss(warehouses: Any, *, landing: Path, catalogue_path: Path,
              partitions: dict[str, tuple[str, dt.date]]) -> dict[str, Any]:
    """Peak RSS of one partition's materialization in a fresh child process, per label: (source, day)
    (``baseline``: imports and engine only)."""
    out: dict[str, Any] = {}
    for label, (source, day) in partitions.items():
        url = warehouses.create("rss")
        try:
            result, peak = run_child("ingest", {
                "url": url, "landing": str(landing), "catalogue": str(catalogue_path), "source": source,
                "date": day.isoformat(), "dry": label == "baseline",
            })
        finally:
            warehouses.drop(url)
        out[label] = {"peak_rss_bytes": peak, **result}
    return out


def build_sensor_zone(root: Path, total_files: int, days: int, today: dt.date) -> dict[str, Any]:
    """``total_files`` small extracts: 3 sources x (total/3) files spread over ``days`` date folders each,
    the last folder today, all settled (modified > 2 h ago)."""
    t0 = time.perf_counter()
    dates = [today - dt.timedelta(days=i) for i in range(days)]
    content = b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01\n"
    now = time.time()
    files = 0
    for number, source in enumerate(SOURCES):
        per_source = total_files // len(SOURCES) + (1 if number < total_files % len(SOURCES) else 0)
        base, extra = divmod(per_source, days)
        for i, day in enumerate(dates):
            folder = root / source / day.isoformat()
            folder.mkdir(parents=True, exist_ok=True)
            stamp = min(dt.datetime.combine(day, dt.time(22), tzinfo=dt.UTC).timestamp(), now - 7200)
            prefix = f"{folder}/{source}-{day:%Y%m%d}-"
            for j in range(base + (1 if i < extra else 0)):
                fd = os.open(f"{prefix}{j:04d}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    os.write(fd, content)
                    os.utime(fd, (stamp, stamp))
                finally:
                    os.close(fd)
                files += 1
            os.utime(folder, (stamp, stamp))
    return {"files": files, "folders": len(SOURCES) * days, "build_seconds": time.perf_counter() - t0}


def build_backfill_zone(root: Path, days: int, fills: int, today: dt.date) -> dict[str, Any]:
    t0 = time.perf_counter()
    dates = [today - dt.timedelta(days=i) for i in range(days, 0, -1)]  # the last `days` days before today
    total = Counter()
    for i, day in enumerate(dates):
        for source, fmt, broker, prefix in ((FIX_SOURCE, "fix", "NXBROKER", "NX"), (FIX2_SOURCE, "fix", "DCBROKER", "DC"),
                                            (CSV_SOURCE, "csv", "PBROKER", "PB")):
            data, counts = generate_day(fills, day, fmt=fmt, seed=10_000 + i * 3 + len(source), broker=broker,
                                        prefix=prefix)
            write_extract(root, source, day, data)
            total["fills"] += counts["fills"]
            total["bytes"] += counts["bytes"]
            total["extracts"] += 1
    return {"first_date": dates[0].isoformat(), "last_date": dates[-1].isoformat(), "days": days, **total,
            "build_seconds": time.perf_counter() - t0}


# =========================================================================================================
# Children (fresh interpreters)
# =========================================================================================================


def child_ingest(args: dict[str, Any]) -> dict[str, Any]:
    """One partition's materialization (``ingest_partition``) on a fresh warehouse; ``dry``: imports and
    engine only (the baseline)."""
    from exec_pipeline.lib.landing import LandingZone
    from exec_pipeline.lib.warehouse import get_engine
    from exec_pipeline.readers.catalogue import load_catalogue
    from exec_pipeline.services.ingestion import ingest_partition

    engine = get_engine(args["url"])
    catalogue = load_catalogue(args["catalogue"])
    if args.get("dry"):
        with engine.connect():
            pass
        return {"seconds": 0.0, "rows": 0}
    t0 = time.perf_counter()
    result = ingest_partition(args["source"], dt.date.fromisoformat(args["date"]), catalogue=catalogue,
                              landing=LandingZone(args["landing"]), engine=engine, run_id="bench-child")
    seconds = time.perf_counter() - t0
    stored = result.summary.rows_stored if result.summary else {}
    return {"seconds": seconds, "rows": sum(stored.get(n, 0) for n in ("OrdersTS", "OrderEventsTS", "TradesTS")),
            "fills": stored.get("TradesTS", 0),
            "self_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def child_reader(args: dict[str, Any]) -> dict[str, Any]:
    """A reader alone on one file, streamed in ingestion's blocks (``read_stream``) as a partition reads
    it, ``runs`` times; its peak RSS is the reader's (no warehouse). ``dry``: the imports only."""
    from exec_pipeline.lib.landing import READ_CHUNK_BYTES
    from exec_pipeline.readers import get_reader
    from exec_pipeline.readers.base import ReaderContext
    from exec_pipeline.readers.catalogue import load_catalogue

    reader = get_reader(args["format"])
    config = load_catalogue(args["catalogue"]).source(args["source"])
    if args.get("dry"):
        return {"seconds": 0.0}

    def blocks() -> Any:
        with open(args["path"], "rb") as handle:
            while block := handle.read(READ_CHUNK_BYTES):
                yield block

    walls: list[float] = []
    cpus: list[float] = []
    records = 0
    context = None
    for _ in range(args["runs"]):
        context = ReaderContext(source=args["source"], config=config, uri=f"file:///bench/{args['source']}")
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        records = sum(1 for _record in reader.read_stream(blocks(), context))
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    assert context is not None
    wall = median(walls)
    return {"format": args["format"], "seconds": wall, "cpu_seconds": median(cpus), "records": records,
            "messages": args["messages"], "records_per_s": records / wall, "msgs_per_s": args["messages"] / wall,
            "runs": walls, "stats": dict(context.stats)}


def bench_ccxt_reader(tmp: Path, fills: int, day: dt.date, *, seed: int, runs: int) -> dict[str, Any]:
    """The ccxt reader on an exchange day of ``fills`` fills, streamed, in a fresh process: its rate and
    peak RSS, with the file-level keys before the lists (one pass) and after them (two passes)."""
    catalogue_path = tmp / "ccxt-sources.yaml"
    write_ccxt_catalogue(catalogue_path, day - dt.timedelta(days=30))
    payload = {"format": "ccxt", "catalogue": str(catalogue_path), "source": CCXT_SOURCE, "runs": runs}
    _, baseline = run_child("reader", {**payload, "dry": True})
    out: dict[str, Any] = {}
    for label, keys_first in (("keys_first", True), ("keys_last", False)):
        path = tmp / f"ccxt-{label}.json"
        counts = write_ccxt_day(path, fills, day, seed=seed, keys_first=keys_first)
        try:
            result, peak = run_child("reader", {**payload, "path": str(path), "messages": counts["records"]})
        finally:
            path.unlink()
        out[label] = {**result, "generated": counts, "peak_rss_bytes": peak, "baseline_rss_bytes": baseline}
    return out


def server_cpu_seconds(url: str) -> float | None:
    """CPU seconds used so far by the PostgreSQL server's processes, when it runs on this machine.

    Read from /proc (every ``postgres`` process, background workers included): the product is a
    pipeline of this process and the server, and its rate is set by whichever is busier. None for
    SQLite (in process), a remote server, or a system without /proc."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql") or parsed.host not in ("127.0.0.1", "localhost", "::1", None):
        return None
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    ticks = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        name, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if name.startswith("postgres"):
            ticks += int(rest[11]) + int(rest[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_product(args: dict[str, Any]) -> dict[str, Any]:
    """First materialization on a fresh warehouse, then unchanged (must skip), then forced."""
    from exec_pipeline.lib.landing import LandingZone
    from exec_pipeline.lib.warehouse import get_engine
    from exec_pipeline.readers.catalogue import load_catalogue
    from exec_pipeline.services.ingestion import ingest_partition

    engine = get_engine(args["url"])  # SQLite upgrades itself here, outside the timing
    catalogue = load_catalogue(args["catalogue"])
    zone = LandingZone(args["landing"])
    source, day, run = args["source"], dt.date.fromisoformat(args["date"]), args["run"]
    trace = install_sql_trace(engine, explain=bool(args.get("explain"))) if args.get("trace_sql") else None
    gc.collect()
    server_before, client_before = server_cpu_seconds(args["url"]), process_cpu_seconds()
    t0 = time.perf_counter()
    result = ingest_partition(source, day, catalogue=catalogue, landing=zone, engine=engine, run_id=f"bench-{run}")
    first = time.perf_counter() - t0
    client_cpu = process_cpu_seconds() - client_before
    server_after = server_cpu_seconds(args["url"])
    server_cpu = None if server_after is None or server_before is None else server_after - server_before
    rss_after_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert result.summary is not None and not result.skipped_unchanged
    if args.get("only_first"):
        return {"first": first, "rows_stored": result.summary.rows_stored, "rss_after_first_bytes": rss_after_first,
                "sql_trace": trace}
    gc.collect()
    t0 = time.perf_counter()
    again = ingest_partition(source, day, catalogue=catalogue, landing=zone, engine=engine, run_id=f"bench-{run}-again")
    skip = time.perf_counter() - t0
    assert again.skipped_unchanged, "an unchanged partition was re-published"
    gc.collect()
    t0 = time.perf_counter()
    force = ingest_partition(source, day, catalogue=catalogue, landing=zone, engine=engine,
                             run_id=f"bench-{run}-forced", force=True)
    forced = time.perf_counter() - t0
    assert force.summary is not None and force.summary.rows_stored == result.summary.rows_stored
    view_queries = time_view_queries(engine)  # on the loaded day, outside the ingest timings
    return {"first": first, "skip": skip, "forced": forced, "rows_stored": result.summary.rows_stored,
            "client_cpu": client_cpu, "server_cpu": server_cpu,
            "records_read": result.summary.records_read, "rss_after_first_bytes": rss_after_first,
            "reader_stats": dict(result.reader_stats), "view_queries": view_queries}


#: the views' one-order queries: what quants and ops run every day
VIEW_QUERIES = {
    "order_status": "SELECT * FROM order_status WHERE order_identifier = :order",
    "effective_trades": "SELECT * FROM effective_trades WHERE order_identifier = :order",
}


def time_view_queries(engine: Any, *, samples: int = 5, budget_seconds: float = 5.0) -> dict[str, Any]:
    """Wall times of one order's rows from each view (execute + fetch), on the loaded warehouse.

    On PostgreSQL the fact tables are analyzed first, as autovacuum leaves them about a minute after
    a load: straight after the first load they have no statistics, and the plan's cost estimate
    (the views' recursive query over busts and corrections) sends it through JIT compilation, about
    0.7 s that says nothing about the views. The order is the one with the median trade of the day
    (picked untimed). Each query runs up to ``samples`` times, at least 3, fewer than ``samples``
    once ``budget_seconds`` are spent on it (a view that scans the whole day takes seconds per
    query at 1M fills)."""
    from sqlalchemy import text

    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE trades_ts, orders_ts, order_events_ts"))
    with engine.connect() as connection:
        trades = connection.execute(
            text("SELECT count(*) FROM trades_ts WHERE order_identifier IS NOT NULL")).scalar_one()
        order = connection.execute(
            text("SELECT order_identifier FROM trades_ts WHERE order_identifier IS NOT NULL "
                 "ORDER BY trade_time, trade_identifier LIMIT 1 OFFSET :half"), {"half": trades // 2},
        ).scalar_one()
        out: dict[str, Any] = {"order": order}
        for name, sql in VIEW_QUERIES.items():
            times: list[float] = []
            while len(times) < samples and (len(times) < 3 or sum(times) < budget_seconds):
                t0 = time.perf_counter()
                rows = connection.execute(text(sql), {"order": order}).all()
                times.append(time.perf_counter() - t0)
            out[name] = {"seconds": times, "rows": len(rows)}
    return out


def install_sql_trace(engine: Any, *, explain: bool) -> list[dict[str, Any]]:
    """Time every statement the product sends (SQLAlchemy cursor events) and every COPY (psycopg's
    ``Cursor.copy``, wrapped in this process only); with ``explain``, the staging -> fact moves
    (``INSERT ... SELECT DISTINCT ON``) run under ``EXPLAIN (ANALYZE, BUFFERS)``: they still insert, and the
    product ignores their (now plan) result."""
    import contextlib

    import psycopg
    from sqlalchemy import event

    trace: list[dict[str, Any]] = []
    starts: list[float] = []

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
        if explain and statement.lstrip().startswith("INSERT INTO") and "SELECT DISTINCT ON" in statement:
            statement = "EXPLAIN (ANALYZE, BUFFERS) " + statement
        starts.append(time.perf_counter())
        return statement, parameters

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
        elapsed = time.perf_counter() - starts.pop()
        plan = None
        if statement.startswith("EXPLAIN"):
            plan = "\n".join(row[0] for row in cursor.fetchall())
        trace.append({"sql": " ".join(statement.split())[:160], "seconds": elapsed, "plan": plan})

    original = psycopg.Cursor.copy

    @contextlib.contextmanager
    def timed_copy(self, statement, *args, **kwargs):  # noqa: ANN001, ANN202
        t0 = time.perf_counter()
        with original(self, statement, *args, **kwargs) as copy:
            yield copy
        trace.append({"sql": " ".join(str(statement).split())[:160], "seconds": time.perf_counter() - t0, "plan": None})

    psycopg.Cursor.copy = timed_copy  # type: ignore[method-assign]
    return trace


def child_sensor(args: dict[str, Any]) -> dict[str, Any]:
    """A quiet tick over a big landing zone: ``scan_landing`` twice (the second timed) and the sensor."""
    os.environ["EXEC_PIPELINE_SOURCES"] = args["catalogue"]  # the code location reads it at import
    os.environ["EXEC_PIPELINE_LANDING_URL"] = args["landing"]
    os.environ["EXEC_PIPELINE_WAREHOUSE_URL"] = args["warehouse"]
    from exec_pipeline.lib.landing import LandingZone
    from exec_pipeline.lib.landing_scan import ScanCursor, scan_landing

    repeats = int(args.get("repeats", 5))
    zone = LandingZone(args["landing"])
    sources = list(SOURCES)
    t0 = time.perf_counter()
    first = scan_landing(zone, sources, ScanCursor(), now=dt.datetime.now(dt.UTC), max_partitions=10**9)
    first_seconds = time.perf_counter() - t0
    quiet: list[float] = []
    listed = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        again = scan_landing(zone, sources, first.cursor, now=dt.datetime.now(dt.UTC))
        quiet.append(time.perf_counter() - t0)
        assert not again.ready, f"a quiet tick found {len(again.ready)} partitions ready"
        listed = again.folders_listed
    out: dict[str, Any] = {
        "first_scan_seconds": first_seconds, "first_scan_ready": len(first.ready),
        "first_scan_folders_listed": first.folders_listed, "quiet_scan_seconds": quiet,
        "quiet_scan_folders_listed": listed, "cursor_bytes": len(first.cursor.to_json()),
    }
    try:
        import dagster as dg

        from exec_pipeline.defs.execution.sensors import landing_zone_sensor
        from exec_pipeline.defs.resources import LandingZoneResource, WarehouseResource

        resources = {"warehouse": WarehouseResource(url=args["warehouse"]),
                     "landing": LandingZoneResource(url=args["landing"], sources_path=args["catalogue"])}
        ticks: list[float] = []
        cursor = first.cursor.to_json()
        with dg.instance_for_test() as instance:
            for i in range(repeats + 1):  # the first call warms the engine (and upgrades the SQLite file)
                context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
                t0 = time.perf_counter()
                result = landing_zone_sensor(context)
                elapsed = time.perf_counter() - t0
                assert not result.run_requests, f"a quiet tick requested {len(result.run_requests)} runs"
                if i:
                    ticks.append(elapsed)
                cursor = result.cursor
        out["sensor_tick_seconds"] = ticks
    except Exception as exc:  # noqa: BLE001 - report it, keep the scan figures
        out["sensor_error"] = f"{type(exc).__name__}: {exc}"
    return out


def child_backfill(args: dict[str, Any]) -> dict[str, Any]:
    """A single-run backfill of a date range x every source through ``dagster.materialize``."""
    os.environ["EXEC_PIPELINE_SOURCES"] = args["catalogue"]  # partitions come from it at import time
    os.environ["EXEC_PIPELINE_LANDING_URL"] = args["landing"]
    os.environ["EXEC_PIPELINE_WAREHOUSE_URL"] = args["warehouse"]
    t_import = time.perf_counter()
    import dagster as dg
    from sqlalchemy import text

    from exec_pipeline.defs.execution.assets import execution_facts
    from exec_pipeline.defs.resources import LandingZoneResource, WarehouseResource
    from exec_pipeline.lib.warehouse import get_engine

    engine = get_engine(args["warehouse"])
    import_seconds = time.perf_counter() - t_import
    resources = {"warehouse": WarehouseResource(url=args["warehouse"]),
                 "landing": LandingZoneResource(url=args["landing"], sources_path=args["catalogue"])}
    tags = {"dagster/asset_partition_range_start": f"{args['first_date']}|{SOURCES[0]}",
            "dagster/asset_partition_range_end": f"{args['last_date']}|{SOURCES[-1]}"}
    with dg.instance_for_test() as instance:
        t0 = time.perf_counter()
        result = dg.materialize([execution_facts], resources=resources, instance=instance, tags=tags,
                                raise_on_error=False)
        seconds = time.perf_counter() - t0
        partitions = None
        for event in result.get_asset_materialization_events():
            if event.asset_key.to_user_string() == "execution/TradesTS":
                partitions = event.step_materialization_data.materialization.metadata["partitions"].value
    with engine.connect() as connection:
        counts = {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("orders_ts", "order_events_ts", "trades_ts")}
    return {"success": result.success, "seconds": seconds, "import_seconds": import_seconds,
            "partitions": partitions, "rows": sum(counts.values()), "counts": counts}


CHILDREN = {"product": child_product, "ingest": child_ingest, "sensor": child_sensor, "backfill": child_backfill,
            "reader": child_reader}


# =========================================================================================================
# Profile
# =========================================================================================================


def profile_product(how: str, warehouses: Any, backend: str, *, landing: Path, catalogue_path: Path, day: dt.date,
                    out_dir: Path, top: int) -> dict[str, Any]:
    """One product run under a profiler, in a child; prints and returns the hottest functions."""
    url = warehouses.create("profile")
    payload = {"url": url, "landing": str(landing), "catalogue": str(catalogue_path), "source": FIX_SOURCE,
               "date": day.isoformat()}
    try:
        if how == "py-spy":
            py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            if not Path(py_spy).exists():
                raise SystemExit("py-spy is not installed (.venv/bin/pip install py-spy), or use --profile cprofile")
            raw = out_dir / f"profile-{backend}.txt"
            command = [py_spy, "record", "--idle", "--rate", "200", "--format", "raw", "--output", str(raw), "--",
                       sys.executable, str(SCRIPT), "--child-mode", "ingest", "--child-args", json.dumps(payload)]
            t0 = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, cwd=str(REPO))
            wall = time.perf_counter() - t0
            if done.returncode != 0:
                raise RuntimeError(f"py-spy failed: {done.stderr[-3000:]}")
            report = summarise_collapsed(raw.read_text(), top)
            report.update({"wall_seconds": wall, "file": str(raw)})
        elif how == "sql":
            result, _ = run_child("product", {**payload, "run": 0, "only_first": True, "trace_sql": True,
                                              "explain": backend == "postgresql"})
            report = summarise_sql_trace(result["sql_trace"], result["first"])
        else:
            stats_file = out_dir / f"profile-{backend}.pstats"
            payload["cprofile"] = str(stats_file)
            result, _ = run_child("ingest", payload)
            report = summarise_pstats(stats_file, top)
            report["wall_seconds"] = result["seconds"]
    finally:
        warehouses.drop(url)
    return report


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; keep "module.py:function"
    name, _, where = frame.rpartition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = path.split("/")
    short = "/".join(parts[-2:]) if parts and parts[-1] in ("__init__.py",) else parts[-1]
    if "exec_pipeline/" in path:
        short = path[path.index("exec_pipeline/"):]
    return f"{short}:{name}" if name else frame


def summarise_collapsed(text: str, top: int) -> dict[str, Any]:
    """Self and inclusive time per function from py-spy's collapsed stacks (``frame;frame;... count``)."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if f and not f.startswith("process ")
                  and not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        self_time[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    return {
        "samples": total,
        "self": [(name, count / total) for name, count in self_time.most_common(top)],
        "inclusive": [(name, count / total) for name, count in inclusive.most_common(top * 3)],
    }


def summarise_pstats(path: Path, top: int) -> dict[str, Any]:
    import pstats

    stats = pstats.Stats(str(path))
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_cc, _nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        short = filename[filename.index("exec_pipeline/"):] if "exec_pipeline/" in filename else Path(filename).name
        rows.append((f"{short}:{name}", tt, ct))
    by_self = sorted(rows, key=lambda r: r[1], reverse=True)[:top]
    by_cum = sorted(rows, key=lambda r: r[2], reverse=True)[: top * 3]
    return {"samples": None, "self": [(n, tt / total) for n, tt, _ in by_self],
            "inclusive": [(n, ct / total) for n, _, ct in by_cum]}


def summarise_sql_trace(trace: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    groups: dict[str, list[float]] = {}
    for item in trace:
        sql = item["sql"]
        key = sql if sql.startswith("COPY") else sql[:110]
        groups.setdefault(key, []).append(item["seconds"])
    statements = sorted(((k, sum(v), len(v)) for k, v in groups.items()), key=lambda g: g[1], reverse=True)
    return {"kind": "sql", "wall_seconds": wall, "statements": statements,
            "plans": [(item["sql"], item["seconds"], item["plan"]) for item in trace if item["plan"]]}


def print_profile(backend: str, report: dict[str, Any]) -> None:
    if report.get("kind") == "sql":
        total = sum(t for _, t, _ in report["statements"])
        print(f"\nSQL of the product path on {backend}: {total:.1f} s of {report['wall_seconds']:.1f} s in statements")
        for sql, seconds, count in report["statements"][:25]:
            print(f"  {seconds:8.2f} s {seconds / report['wall_seconds']:6.1%}  x{count:<4} {sql}")
        for sql, seconds, plan in report["plans"]:
            print(f"\n  EXPLAIN ANALYZE ({seconds:.1f} s): {sql[:100]}")
            print("    " + plan.replace("\n", "\n    "))
        return
    print(f"\nProfile of the product path on {backend} (wall {report['wall_seconds']:.1f} s"
          + (f", {report['samples']} samples" if report.get("samples") else "") + ")")
    print("  self time (where the CPU / waiting actually is):")
    for name, share in report["self"]:
        print(f"    {share:6.1%}  {name}")
    print("  inclusive time (exec_pipeline and driver frames):")
    shown = 0
    for name, share in report["inclusive"]:
        if share < 0.01:
            continue
        if not ("exec_pipeline" in name or "psycopg" in name or "sqlite" in name or "cursor" in name):
            continue
        print(f"    {share:6.1%}  {name}")
        shown += 1
        if shown >= 25:
            break


# =========================================================================================================
# Report
# =========================================================================================================


def fmt_rate(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:,.0f}"


def fmt_s(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:,.2f} s"


def fmt_ms(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value * 1000:,.1f} ms"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.2f}x"


def fmt_bytes(value: float | None) -> str:
    return "-" if value is None else f"{value / 2**20:,.0f} MiB"


def goal(ok: bool | None) -> str:
    return "n/a " if ok is None else ("PASS" if ok else "FAIL")


def report(results: dict[str, Any]) -> None:
    gen = results["generated"]
    n = results["config"]["fills"]
    print()
    print("=" * 100)
    print(f"exec_pipeline ingest benchmark: {n:,} fills, {results['config']['runs']} run(s) per figure (medians), "
          f"business date {results['config']['date']}")
    fix, csv_ = gen["fix"], gen["csv"]
    print(f"  FIX 4.4 log: {fix['execution_reports']:,} ExecutionReports + {fix['heartbeats']:,} heartbeats, "
          f"{fix['orders']:,} orders, {fix['bytes'] / 2**20:,.0f} MiB;  CSV: {csv_['csv_rows']:,} rows, "
          f"{csv_['bytes'] / 2**20:,.0f} MiB;  generated in {gen['seconds']:.1f} s")
    env = results["environment"]
    print(f"  machine: {env['cpus']} CPUs, Python {env['python']}, PostgreSQL {env.get('postgres') or '-'}, "
          f"load average {env['load_start']} at start, {env.get('load_end', '-')} at end; code {env.get('code', '-')}")
    backends = [b for b in ("sqlite", "postgresql") if b in results["backends"]]
    if backends:
        width = 30
        print()
        print(f"{'':<44}" + "".join(f"{b:>{width}}" for b in backends))

        def line(label: str, cell) -> None:
            print(f"{label:<44}" + "".join(f"{cell(results['backends'][b]):>{width}}" for b in backends))

        line("rows per run (orders+events+trades)", lambda r: f"{r['rows']:,}")
        line("product ingest_partition: time", lambda r: fmt_s(r["product_seconds"]))
        line("  rows/s", lambda r: fmt_rate(r["product_rows_per_s"]))
        line("  fills/s", lambda r: fmt_rate(r["product_fills_per_s"]))
        line("plain COPY / executemany (bare): time", lambda r: fmt_s(r["copy_seconds"]))
        line("  rows/s", lambda r: fmt_rate(r["copy_rows_per_s"]))
        line("  text COPY, binary COPY (the faster counts)",
             lambda r: f"{fmt_rate(r['copy_text_rows_per_s'])}, {fmt_rate(r['copy_binary_rows_per_s'])}"
             if "copy_text_rows_per_s" in r else "-")
        line("pandas to_sql (bare): time", lambda r: fmt_s(r["to_sql_seconds"]))
        line("  rows/s", lambda r: fmt_rate(r["to_sql_rows_per_s"]))
        line("product / COPY", lambda r: fmt_ratio(r["product_vs_copy"]))
        line("product / to_sql", lambda r: fmt_ratio(r["product_vs_to_sql"]))
        line("  CPU: this process, the server's (local)",
             lambda r: f"{fmt_s(r.get('product_client_cpu_seconds'))}, {fmt_s(r.get('product_server_cpu_seconds'))}")
        line("one order: order_status, effective_trades",
             lambda r: f"{fmt_ms(r.get('order_status_one_order_seconds'))}, "
                       f"{fmt_ms(r.get('effective_trades_one_order_seconds'))}")
        line("re-run unchanged (skip): time", lambda r: fmt_s(r["skip_seconds"]))
        line("  fraction of first run", lambda r: f"{r['skip_fraction']:.2%}")
        line("re-run forced: time", lambda r: fmt_s(r["forced_seconds"]))
        line("  fraction of first run", lambda r: f"{r['forced_fraction']:.0%}")
        line("peak RSS of the materialization, N", lambda r: fmt_bytes(r["rss"].get("N", {}).get("peak_rss_bytes")))
        line("  N/4", lambda r: fmt_bytes(r["rss"].get("N/4", {}).get("peak_rss_bytes")))
        line("  baseline child (imports + engine)",
             lambda r: fmt_bytes(r["rss"].get("baseline", {}).get("peak_rss_bytes")))
        line("  growth per 1M fills (N vs N/4)", lambda r: fmt_bytes(r.get("rss_per_million_fills")))
        line("  the CSV partition, N", lambda r: fmt_bytes(r["rss"].get("CSV N", {}).get("peak_rss_bytes")))
        fix_reader_seconds = results.get("readers", {}).get("fix44", {}).get("seconds")
        line("for reference: fix44 reader alone", lambda r: fmt_s(fix_reader_seconds) + (
            f" ({fix_reader_seconds / r['product_seconds']:.0%})" if fix_reader_seconds else ""))
        line("  the loader's row encoding (_RowEncoder)", lambda r: fmt_s(r["encode_seconds"])
             + f" ({r['encode_seconds'] / r['product_seconds']:.0%})")
        line("  reader + encoding (untimed prep)", lambda r: fmt_s(r["prep_seconds"]))
        line("  DataFrame build for to_sql (untimed)", lambda r: fmt_s(r["frame_build_seconds"]))
    readers = results.get("readers", {})
    if readers:
        print()
        print("reader alone (one core, consuming the generator)    records/s        msgs/s    time     records")
        for name, r in readers.items():
            if name == "fix_split_loop":
                continue
            label = {"fix44": "fix44 (msgs: ExecutionReports)", "csv": "csv (msgs: rows)",
                     "ccxt": "ccxt (msgs: orders + trades in the JSON)",
                     "ccxt_keys_last": "ccxt, file keys after the lists (2 passes)"}.get(name, name)
            memory = (f"   peak RSS {fmt_bytes(r['peak_rss_bytes'])} (baseline {fmt_bytes(r['baseline_rss_bytes'])})"
                      if "peak_rss_bytes" in r else "")
            print(f"  {label:<48} {fmt_rate(r['records_per_s']):>10} {fmt_rate(r['msgs_per_s']):>13} "
                  f"{r['seconds']:>7.2f} s {r['records']:>11,}{memory}")
        split = readers.get("fix_split_loop")
        if split:  # fix44 / split loop is in the goals, next to the goal scaled the same way
            print(f"  plain split loop over the FIX log (the issue's yardstick) {fmt_rate(split['msgs_per_s']):>16} "
                  f"{split['seconds']:>7.2f} s")
    sensor = results.get("sensor")
    if sensor:
        print()
        print(f"sensor over {sensor['files']:,} files in {sensor['folders']:,} date folders (built in "
              f"{sensor['build_seconds']:.1f} s under {sensor.get('location', '-')}):")
        print(f"  first scan (everything new, hashes every file): {sensor['first_scan_seconds']:.2f} s")
        print(f"  quiet scan_landing (nothing changed): {median(sensor['quiet_scan_seconds']) * 1000:,.1f} ms "
              f"(median of {len(sensor['quiet_scan_seconds'])}; {sensor['quiet_scan_folders_listed']} folders listed)")
        if "sensor_tick_seconds" in sensor:
            print(f"  quiet landing_zone_sensor tick: {median(sensor['sensor_tick_seconds']) * 1000:,.1f} ms")
        else:
            print(f"  landing_zone_sensor: not measured ({sensor.get('sensor_error')})")
    backfills = results.get("backfill") or {}
    for backend, b in backfills.items():
        print()
        if "error" in b:
            print(f"backfill on {backend}: failed: {b['error']}")
            continue
        print(f"backfill on {backend}: {b['partitions']} partitions ({b['days']} days x {len(SOURCES)} sources, "
              f"{b['fills']:,} fills) in one run: {b['seconds']:.1f} s = {b['partitions'] / b['seconds']:.1f} "
              f"partitions/s, {b['rows'] / b['seconds']:,.0f} rows/s (success={b['success']})")
    print()
    print("goals")
    for g in results["goals"]:
        print(f"  [{goal(g['ok'])}] {g['name']}: {g['value']}")
    print("=" * 100)


def evaluate_goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    goals = []
    n = results["config"]["fills"]
    pg = results["backends"].get("postgresql")
    goals.append({"name": f"end to end >= {GOAL_E2E_VS_COPY} x COPY (PostgreSQL)",
                  "ok": None if not pg else pg["product_vs_copy"] >= GOAL_E2E_VS_COPY,
                  "value": "-" if not pg else f"{pg['product_vs_copy']:.2f}x"})
    for backend, r in results["backends"].items():
        ratio = r["product_vs_to_sql"]
        measured = not math.isnan(ratio)  # --no-to-sql leaves NaN
        goals.append({"name": f"end to end >= {GOAL_E2E_VS_TO_SQL:g} x to_sql ({backend})",
                      "ok": ratio >= GOAL_E2E_VS_TO_SQL if measured else None,
                      "value": f"{ratio:.2f}x" if measured else "- (--no-to-sql)"})
    for backend, r in results["backends"].items():
        goals.append({"name": f"re-run unchanged <= {GOAL_RERUN_FRACTION:.0%} of the first run ({backend})",
                      "ok": r["skip_fraction"] <= GOAL_RERUN_FRACTION, "value": f"{r['skip_fraction']:.2%}"})
    for backend, r in results["backends"].items():
        peak = r["rss"].get("N", {}).get("peak_rss_bytes")
        at_1m = n == 1_000_000
        goals.append({"name": f"peak RSS < 2 GiB at 1M fills ({backend}; measured at N={n:,})",
                      "ok": None if peak is None else (peak < GOAL_PEAK_RSS if at_1m or peak >= GOAL_PEAK_RSS else None),
                      "value": fmt_bytes(peak) + ("" if at_1m else " (N is not 1M: indicative)")})
    sensor = results.get("sensor")
    if sensor:
        tick = median(sensor.get("sensor_tick_seconds") or sensor["quiet_scan_seconds"])
        full = sensor["files"] >= 100_000
        goals.append({"name": f"sensor tick <= {GOAL_SENSOR_SECONDS:g} s at 100k files (measured at {sensor['files']:,})",
                      "ok": tick <= GOAL_SENSOR_SECONDS if full or tick > GOAL_SENSOR_SECONDS else None,
                      "value": f"{tick * 1000:,.0f} ms"})
    fix = results.get("readers", {}).get("fix44")
    if fix:
        goals.append({"name": f"FIX reader >= {GOAL_FIX_MSGS_PER_S:,} msgs/s",
                      "ok": fix["msgs_per_s"] >= GOAL_FIX_MSGS_PER_S, "value": f"{fix['msgs_per_s']:,.0f} msgs/s"})
        split = results["readers"].get("fix_split_loop")
        if split:
            scaled = GOAL_FIX_MSGS_PER_S / ISSUE_SPLIT_LOOP_MSGS_PER_S
            ratio = fix["msgs_per_s"] / split["msgs_per_s"]
            goals.append({"name": f"  the same goal scaled by the day: >= {scaled:.2f} x a plain split loop",
                          "ok": ratio >= scaled, "value": f"{ratio:.2f}x of {split['msgs_per_s']:,.0f} msgs/s"})
    return goals


# =========================================================================================================
# Main
# =========================================================================================================


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark one partition's ingestion (FIX 4.4 / CSV broker day) against COPY and pandas.to_sql.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--fills", type=int, default=None, help="fills in the generated broker day (default 1,000,000; "
                        "50,000 with --quick)")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure, medians reported (default 3; 1 with --quick)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("EXEC_BENCH_PG_URL", DEFAULT_PG_URL),
                        help="PostgreSQL server (a role that may create databases); databases exec_bench_* are "
                             "created and dropped")
    parser.add_argument("--quick", action="store_true", help="a ~50k-fill smoke run (under 2 minutes)")
    parser.add_argument("--date", type=dt.date.fromisoformat, default=None,
                        help="business date of the generated day (default: yesterday, UTC)")
    parser.add_argument("--seed", type=int, default=20261116)
    parser.add_argument("--sensor-files", type=int, default=100_000, help="files in the sensor's landing zone (0: skip)")
    parser.add_argument("--sensor-days", type=int, default=365, help="date folders per source in the sensor's landing zone")
    parser.add_argument("--sensor-dir", type=Path, default=None,
                        help="where the sensor's landing zone is built (default: the temporary directory; with "
                             "--quick, /dev/shm when present: writing 100k files to a busy disk can take 20 s)")
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS child processes")
    parser.add_argument("--no-to-sql", action="store_true", help="skip pandas.to_sql (the slowest figure)")
    parser.add_argument("--backfill", action="store_true", help="also time a Dagster backfill (days x 3 sources)")
    parser.add_argument("--backfill-days", type=int, default=None, help="days in the backfill (default 365; 10 with --quick)")
    parser.add_argument("--backfill-fills", type=int, default=300, help="fills per small extract in the backfill")
    parser.add_argument("--profile", choices=("py-spy", "cprofile", "sql"), default=None,
                        help="only profile one product run per backend (py-spy: needs `pip install py-spy`)")
    parser.add_argument("--profile-top", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None, help="also write every figure to this JSON file")
    parser.add_argument("--tmpdir", type=Path, default=None, help="where the temporary data goes (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (not the databases)")
    parser.add_argument("--child-mode", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--child-args", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fills is None:
        args.fills = 50_000 if args.quick else 1_000_000
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.backfill_days is None:
        args.backfill_days = 10 if args.quick else 365
    if args.fills < 100 or args.runs < 1:
        parser.error("--fills must be >= 100 and --runs >= 1")
    return args


def child_main(args: argparse.Namespace) -> None:
    payload = json.loads(args.child_args)
    profile = payload.pop("cprofile", None)
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        result = CHILDREN[args.child_mode](payload)
        profiler.disable()
        profiler.dump_stats(profile)
    else:
        result = CHILDREN[args.child_mode](payload)
    print(json.dumps(result, default=str))


def code_version() -> str:
    """The commit measured, and whether the product code had uncommitted changes (read-only git calls)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "exec_pipeline"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f"{head}{' + uncommitted changes in exec_pipeline/' if dirty else ''}" if head else "-"
    except (OSError, subprocess.SubprocessError):
        return "-"


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "-"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_mode:
        child_main(args)
        return 0

    started = time.perf_counter()
    today = dt.datetime.now(dt.UTC).date()
    day = args.date or today - dt.timedelta(days=1)
    small_day = day - dt.timedelta(days=1)  # the N/4 extract for the memory figure
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]

    tmp = Path(tempfile.mkdtemp(prefix="exec_bench_", dir=args.tmpdir))
    sensor_parent = args.sensor_dir or (Path("/dev/shm") if args.quick and Path("/dev/shm").is_dir() else tmp)
    sensor_root = Path(tempfile.mkdtemp(prefix="exec_bench_sensor_", dir=sensor_parent))
    pg: Postgres | None = None

    def cleanup() -> None:
        if pg is not None:
            pg.drop_all()
        release_engines_quietly()
        shutil.rmtree(sensor_root, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    results: dict[str, Any] = {
        "config": {"fills": args.fills, "runs": args.runs, "backends": backends, "date": day.isoformat(),
                   "seed": args.seed, "quick": args.quick},
        "environment": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_start": loadavg(), "code": code_version(),
                        "platform": platform.platform()},
        "backends": {},
    }

    if "postgresql" in backends:
        pg = Postgres(args.pg_url)
        try:
            results["environment"]["postgres"] = pg.check()
        except Exception as exc:  # noqa: BLE001
            print(f"PostgreSQL at {pg.url.render_as_string(hide_password=True)} is unreachable ({exc}); "
                  "measuring SQLite only", file=sys.stderr)
            backends.remove("postgresql")
            pg = None
    warehouses = {"sqlite": Sqlite(tmp / "warehouses"), "postgresql": pg}

    print(f"temporary data under {tmp}", flush=True)
    from exec_pipeline.readers.catalogue import load_catalogue

    catalogue_path = tmp / "sources.yaml"
    write_catalogue(catalogue_path, today - dt.timedelta(days=max(400, args.backfill_days + 30)))
    catalogue = load_catalogue(catalogue_path)
    landing = tmp / "landing"

    # --- generate ------------------------------------------------------------------------------------
    print(f"generating {args.fills:,} fills as FIX 4.4 and CSV ...", flush=True)
    t0 = time.perf_counter()
    fix_data, fix_counts = generate_day(args.fills, day, fmt="fix", seed=args.seed)
    fix_path = write_extract(landing, FIX_SOURCE, day, fix_data)
    csv_data, csv_counts = generate_day(args.fills, day, fmt="csv", seed=args.seed, prefix="PB")
    write_extract(landing, CSV_SOURCE, day, csv_data)
    small_data, small_counts = generate_day(max(args.fills // 4, 100), small_day, fmt="fix", seed=args.seed + 1)
    write_extract(landing, FIX_SOURCE, small_day, small_data)
    del small_data
    results["generated"] = {"fix": fix_counts, "csv": csv_counts, "fix_quarter": small_counts,
                            "seconds": time.perf_counter() - t0}
    print(f"  {fix_counts['execution_reports']:,} FIX ExecutionReports ({fix_counts['bytes'] / 2**20:,.0f} MiB), "
          f"{csv_counts['csv_rows']:,} CSV rows, in {results['generated']['seconds']:.1f} s", flush=True)

    if args.profile:
        for backend in backends:
            if warehouses[backend] is None:
                continue
            print(f"profiling the product on {backend} with {args.profile} ...", flush=True)
            profile = profile_product(args.profile, warehouses[backend], backend, landing=landing,
                                      catalogue_path=catalogue_path, day=day, out_dir=tmp, top=args.profile_top)
            results.setdefault("profile", {})[backend] = profile
            print_profile(backend, profile)
        write_json(args.json, results)
        return 0

    # --- readers alone -------------------------------------------------------------------------------
    print("reader throughput ...", flush=True)
    results["readers"] = {
        "fix44": bench_reader("fix44", fix_data, catalogue, FIX_SOURCE, args.runs),
        "fix_split_loop": bench_split_loop(fix_data, args.runs),
        "csv": bench_reader("csv", csv_data, catalogue, CSV_SOURCE, args.runs),
    }
    del csv_data
    # the ccxt reader streams its file in a child process: its rate, and its peak memory alone
    ccxt = bench_ccxt_reader(tmp, args.fills, day, seed=args.seed, runs=args.runs)
    results["generated"]["ccxt"] = ccxt["keys_first"]["generated"]
    results["readers"]["ccxt"] = ccxt["keys_first"]
    results["readers"]["ccxt_keys_last"] = ccxt["keys_last"]
    fix_stats = results["readers"]["fix44"]["stats"]
    for problem in ("bad_checksum", "bad_body_length", "missing_checksum", "rejects", "unexpected_errors"):
        if fix_stats.get(problem):
            print(f"warning: the generated FIX log has {fix_stats[problem]} {problem}", file=sys.stderr)
    for name, r in results["readers"].items():
        records = f", {r['records_per_s']:,.0f} records/s" if "records_per_s" in r else ""
        print(f"  {name}: {r['msgs_per_s']:,.0f} msgs/s{records}", flush=True)

    # --- per backend ---------------------------------------------------------------------------------
    from exec_pipeline.data_nodes.execution import partition_key
    from exec_pipeline.lib.landing import LandingZone
    from exec_pipeline.readers import get_reader

    fix_reader = get_reader("fix44")
    uri = LandingZone(str(landing)).uri(str(fix_path))
    for backend in backends:
        store = warehouses[backend]
        r: dict[str, Any] = {}
        print(f"[{backend}] product: ingest_partition x {args.runs} (+ unchanged and forced re-runs) ...", flush=True)
        product = bench_product(store, landing=landing, catalogue_path=catalogue_path, day=day, runs=args.runs)
        r["product"] = product
        r["rows"] = product["rows"]
        r["product_seconds"] = median(product["first"])
        r["product_rows_per_s"] = product["rows"] / r["product_seconds"]
        r["product_fills_per_s"] = product["rows_stored"].get("TradesTS", 0) / r["product_seconds"]
        r["skip_seconds"] = median(product["skip"])
        r["forced_seconds"] = median(product["forced"])
        r["skip_fraction"] = r["skip_seconds"] / r["product_seconds"]
        r["forced_fraction"] = r["forced_seconds"] / r["product_seconds"]
        r["product_client_cpu_seconds"] = median(product["client_cpu"])
        r["product_server_cpu_seconds"] = median(product["server_cpu"]) if product["server_cpu"] else None
        print(f"  {r['product_seconds']:.1f} s = {r['product_rows_per_s']:,.0f} rows/s; skip "
              f"{r['skip_seconds']:.2f} s, forced {r['forced_seconds']:.1f} s", flush=True)
        for view in VIEW_QUERIES:  # every sample of every run's loaded warehouse
            samples = [t for q in product["view_queries"] if q for t in q[view]["seconds"]]
            r[f"{view}_one_order_seconds"] = median(samples)
        print(f"  one order from the loaded day: order_status {fmt_ms(r['order_status_one_order_seconds'])}, "
              f"effective_trades {fmt_ms(r['effective_trades_one_order_seconds'])}", flush=True)

        print(f"[{backend}] preparing the normalised rows (reader + the loader's encoding, untimed) ...", flush=True)
        rows = Rows(read_records("fix44", fix_data, catalogue, FIX_SOURCE, uri), backend, source=FIX_SOURCE,
                    partition_key=partition_key(FIX_SOURCE, day), uri=uri, reader_name=fix_reader.name,
                    reader_version=fix_reader.version)
        r.update(prep_seconds=rows.prep_seconds, encode_seconds=rows.encode_seconds, prepared_rows=rows.counts())
        if product["rows"] != rows.count:
            print(f"warning: the product stored {product['rows']:,} rows, the prepared rows are {rows.count:,}",
                  file=sys.stderr)
        gc.collect()
        gc.freeze()  # the prepared rows are permanent for the collector: COPY / to_sql do not pay to walk them

        baseline_url = store.create("baseline")
        try:
            if backend == "sqlite":
                from exec_pipeline.lib.warehouse import get_engine

                get_engine(baseline_url)  # the schema (upgrade) so the bare tables copy its column types
            if backend == "postgresql":
                # the database's limit: the faster of text and binary COPY (the product uses binary)
                for form in ("text", "binary"):
                    print(f"[{backend}] plain {form} COPY x {args.runs} ...", flush=True)
                    times = bench_copy_postgres(baseline_url, rows, args.runs, binary=form == "binary")
                    r[f"copy_{form}_runs"] = times
                    r[f"copy_{form}_seconds"] = median(times)
                    r[f"copy_{form}_rows_per_s"] = rows.count / median(times)
                    print(f"  {median(times):.1f} s = {rows.count / median(times):,.0f} rows/s", flush=True)
                form = min(("text", "binary"), key=lambda f: r[f"copy_{f}_seconds"])
                r.update(copy_form=form, copy_runs=r[f"copy_{form}_runs"], copy_seconds=r[f"copy_{form}_seconds"])
            else:
                print(f"[{backend}] plain executemany x {args.runs} ...", flush=True)
                r["copy_runs"] = bench_copy_sqlite(baseline_url, rows, args.runs)
                r["copy_seconds"] = median(r["copy_runs"])
                print(f"  {r['copy_seconds']:.1f} s = {rows.count / r['copy_seconds']:,.0f} rows/s", flush=True)
            r["copy_rows_per_s"] = rows.count / r["copy_seconds"]
            if args.no_to_sql:
                r.update(to_sql_runs=[], to_sql_seconds=float("nan"), to_sql_rows_per_s=float("nan"),
                         frame_build_seconds=float("nan"))
            else:
                print(f"[{backend}] pandas to_sql x {args.runs} ...", flush=True)
                to_sql_times, build = bench_to_sql(baseline_url, backend, rows, args.runs)
                r["to_sql_runs"] = to_sql_times
                r["to_sql_seconds"] = median(to_sql_times)
                r["to_sql_rows_per_s"] = rows.count / r["to_sql_seconds"]
                r["frame_build_seconds"] = build
                print(f"  {r['to_sql_seconds']:.1f} s = {r['to_sql_rows_per_s']:,.0f} rows/s", flush=True)
        finally:
            release_engines()
            store.drop(baseline_url)
        r["product_vs_copy"] = r["product_rows_per_s"] / r["copy_rows_per_s"]
        r["product_vs_to_sql"] = r["product_rows_per_s"] / r["to_sql_rows_per_s"]
        gc.unfreeze()
        del rows
        gc.collect()

        r["rss"] = {}
        if not args.no_rss:
            print(f"[{backend}] peak RSS in child processes (baseline, N/4, the CSV partition at N; the FIX "
                  "partition at N from the product runs) ...", flush=True)
            r["rss"] = bench_rss(store, landing=landing, catalogue_path=catalogue_path, partitions={
                "baseline": (FIX_SOURCE, day), "N/4": (FIX_SOURCE, small_day), "CSV N": (CSV_SOURCE, day)})
            r["rss"]["N"] = {"peak_rss_bytes": int(median(product["rss_after_first_bytes"])),
                             "runs": product["rss_after_first_bytes"],
                             "child_peak_with_forced_rerun_bytes": product["rss_child_peak_bytes"]}
            big, small = r["rss"]["N"]["peak_rss_bytes"], r["rss"]["N/4"]["peak_rss_bytes"]
            grown_fills = args.fills - max(args.fills // 4, 100)
            r["rss_per_million_fills"] = (big - small) / grown_fills * 1_000_000 if grown_fills else None
            print(f"  N: {big / 2**20:,.0f} MiB, N/4: {small / 2**20:,.0f} MiB, baseline "
                  f"{r['rss']['baseline']['peak_rss_bytes'] / 2**20:,.0f} MiB, CSV partition at N "
                  f"{r['rss']['CSV N']['peak_rss_bytes'] / 2**20:,.0f} MiB", flush=True)
        results["backends"][backend] = r
    del fix_data
    gc.collect()

    # --- sensor --------------------------------------------------------------------------------------
    if args.sensor_files:
        print(f"sensor: building a landing zone of {args.sensor_files:,} files ...", flush=True)
        built = build_sensor_zone(sensor_root, args.sensor_files, args.sensor_days, today)
        built["location"] = str(sensor_root)
        print(f"  built in {built['build_seconds']:.1f} s; ticking ...", flush=True)
        sensor, _ = run_child("sensor", {"landing": str(sensor_root), "catalogue": str(catalogue_path),
                                         "warehouse": f"sqlite:///{tmp / 'sensor-warehouse.sqlite'}", "repeats": 5})
        results["sensor"] = {**built, **sensor}
        shutil.rmtree(sensor_root, ignore_errors=True)

    # --- backfill ------------------------------------------------------------------------------------
    if args.backfill:
        print(f"backfill: generating {args.backfill_days} days x {len(SOURCES)} sources x {args.backfill_fills} fills ...",
              flush=True)
        backfill_root = tmp / "backfill_landing"
        built = build_backfill_zone(backfill_root, args.backfill_days, args.backfill_fills, today)
        results["backfill"] = {}
        for backend in backends:
            store = warehouses[backend]
            url = store.create("backfill")
            print(f"[{backend}] backfill of {built['days'] * len(SOURCES)} partitions through dagster.materialize ...",
                  flush=True)
            try:
                if backend == "sqlite":
                    from exec_pipeline.lib.warehouse import get_engine

                    get_engine(url)
                    release_engines()
                out, peak = run_child("backfill", {"landing": str(backfill_root), "catalogue": str(catalogue_path),
                                                   "warehouse": url, "first_date": built["first_date"],
                                                   "last_date": built["last_date"]},
                                      env={"DAGSTER_HOME": str(tmp / "dagster_home")})
                results["backfill"][backend] = {**built, **out, "peak_rss_bytes": peak}
                print(f"  {out['seconds']:.1f} s for {out['partitions']} partitions", flush=True)
            except Exception as exc:  # noqa: BLE001 - keep the other figures
                results["backfill"][backend] = {"error": str(exc)[-2000:]}
                print(f"  failed: {str(exc)[-2000:]}", file=sys.stderr)
            finally:
                store.drop(url)
        shutil.rmtree(backfill_root, ignore_errors=True)

    results["environment"]["load_end"] = loadavg()
    results["goals"] = evaluate_goals(results)
    results["total_seconds"] = time.perf_counter() - started
    report(results)
    print(f"total {results['total_seconds']:.0f} s")
    write_json(args.json, results)
    return 0


def release_engines_quietly() -> None:
    try:
        release_engines()
    except Exception:  # noqa: BLE001
        pass


def write_json(path: Path | None, results: dict[str, Any]) -> None:
    if path is None:
        return
    path.write_text(json.dumps(results, indent=2, default=str))
    print(f"figures written to {path}")


if __name__ == "__main__":
    sys.exit(main())
