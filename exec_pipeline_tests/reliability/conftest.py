"""Helpers for the reliability tests: child processes that publish, table snapshots, and real locks
held by another connection."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, event

from exec_pipeline.lib import warehouse
from exec_pipeline.repositories import execution as repo
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


# --- real locks held by another connection -------------------------------------------------------

SHORT_WAIT_MS = 300


def impatient(engine: Engine) -> Engine:
    """The engine's new connections wait at most SHORT_WAIT_MS for a lock (lock_timeout, busy_timeout)."""

    @event.listens_for(engine, "connect")
    def _short_waits(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute(f"PRAGMA busy_timeout={SHORT_WAIT_MS}")
        else:
            cursor.execute(f"SET lock_timeout = '{SHORT_WAIT_MS}ms'")
        cursor.close()
        if engine.dialect.name != "sqlite":
            dbapi_connection.commit()

    engine.dispose()  # pooled connections were made without it
    return engine


@contextmanager
def locked_once_committed(
    engine: Engine, url: str, partition: str | None = None, *, table: str | None = None, after_commit: bool = True
) -> Iterator[dict]:
    """From the moment a transaction on ``engine`` has committed (the publish; or, without
    ``after_commit``, once its first connection is back: the ledger reads), another connection
    holds ``partition``'s lock as a publisher of it would (PostgreSQL: the partition's advisory
    lock, or an exclusive lock on ``table``; SQLite: the database's write lock), until a statement
    on ``engine`` fails (the recount, after waiting SHORT_WAIT_MS). A real lock and a real timeout;
    no database call is faked. A test can also arm it itself (``state["armed"] = True``)."""
    other = warehouse.build_engine(url)
    state: dict = {"armed": not after_commit, "held": None, "failures": 0}

    def release() -> None:
        if state["held"]:
            connection, transaction = state["held"]
            transaction.rollback()
            connection.close()
            state["held"] = False

    def on_commit(_connection) -> None:
        state["armed"] = True

    def on_checkin(_dbapi_connection, _record) -> None:  # the publish's connection is back: committed
        if state["armed"] and state["held"] is None:
            connection = other.connect()
            transaction = connection.begin()  # SQLite: BEGIN IMMEDIATE, the write lock
            if partition is not None:
                repo.lock_partition(connection, partition)
            elif connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            state["held"] = (connection, transaction)

    def on_error(_context) -> None:
        if state["held"]:
            state["failures"] += 1
            release()

    listeners = [(engine, "commit", on_commit), (engine, "checkin", on_checkin), (engine, "handle_error", on_error)]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield state
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)
        release()
        other.dispose()
