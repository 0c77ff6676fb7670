"""Helpers for the reliability tests: child processes that publish, and table snapshots."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from exec_pipeline.lib import warehouse
from exec_pipeline_tests.helpers import fact_snapshot

CHILD_PRELUDE = """
import datetime as dt, sys, time
from decimal import Decimal
from pathlib import Path
from exec_pipeline.data_nodes.execution import ExtractFacts, OrderRecord, TradeRecord, publish_partition
from exec_pipeline.lib.warehouse import get_engine

def day_facts(day, trades, price="10"):
    when = dt.datetime(day.year, day.month, day.day, 14, tzinfo=dt.UTC)
    yield OrderRecord(1, when, "o-1", "aapl", 1, quantity=Decimal(trades))
    for n in range(trades):
        yield TradeRecord(n + 2, when + dt.timedelta(microseconds=n), f"t-{n}", "aapl", 1, Decimal(1),
                          order_identifier="o-1", price=Decimal(price))
"""


def run_child(code: str, *args: str, wait: bool = True) -> subprocess.Popen | subprocess.CompletedProcess:
    script = CHILD_PRELUDE + textwrap.dedent(code)
    command = [sys.executable, "-c", script, *args]
    if wait:
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def snapshot(url: str) -> dict:
    """Every fact and its lineage (run lineage aside) plus the ledger: what must survive a fault."""
    engine = warehouse.build_engine(url)
    try:
        tables = fact_snapshot(engine, extract_by_uri=True)
        with engine.connect() as connection:
            tables["extract_files"] = sorted(map(tuple, connection.exec_driver_sql(
                "SELECT uri, sha256, status, trades_count FROM extract_files").all()))
            tables["ingest_rejects"] = connection.exec_driver_sql("SELECT COUNT(*) FROM ingest_rejects").scalar_one()
        return tables
    finally:
        engine.dispose()


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"child exited early: {process.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError("child never got there")
        time.sleep(0.05)


# the landing-zone fixtures of the Dagster tests, shared here
from exec_pipeline_tests.dagster.conftest import landing_root, resources  # noqa: E402, F401
