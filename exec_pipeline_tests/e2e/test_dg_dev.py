"""End to end: a real `dg dev` (webserver + daemon) on a loopback port, driven over GraphQL.

Drop extracts -> the sensor's runs fill the tables; a backfill over a date range completes; the
same backfill again leaves the tables unchanged. Once with the shipped SQLite instance config and
warehouse, once with the shipped PostgreSQL instance config and a PostgreSQL warehouse.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from exec_pipeline.lib import settings, warehouse
from exec_pipeline_tests.dagster.conftest import order_rows, write_extract
from exec_pipeline_tests.helpers import fact_snapshot

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
FACT_KEYS = [["execution", "OrdersTS"], ["execution", "OrderEventsTS"], ["execution", "TradesTS"]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DgDev:
    def __init__(self, port: int, process: subprocess.Popen, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.process = process
        self.log = log

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = json.loads(response.read())
        assert "errors" not in payload, payload
        return payload["data"]

    def wait_until_up(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"dg dev exited:\n{self.log.read_text()[-5000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/server_info", timeout=5):
                    pass
                data = self.graphql("{ workspaceOrError { ... on Workspace { locationEntries { name "
                                    "locationOrLoadError { __typename ... on PythonError { message } } } } } }")
                entries = data["workspaceOrError"]["locationEntries"]
                if entries and entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation":
                    return
                if entries and entries[0]["locationOrLoadError"]["__typename"] == "PythonError":
                    raise AssertionError(entries[0]["locationOrLoadError"]["message"])
            except OSError:
                pass
            time.sleep(1)
        raise AssertionError(f"dg dev did not come up:\n{self.log.read_text()[-5000:]}")

    def launch_backfill(self, partitions: list[str]) -> str:
        data = self.graphql(
            """mutation($params: LaunchBackfillParams!) {
                 launchPartitionBackfill(backfillParams: $params) {
                   __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
                 } }""",
            {"params": {"assetSelection": [{"path": key} for key in FACT_KEYS], "partitionNames": partitions}},
        )["launchPartitionBackfill"]
        assert data["__typename"] == "LaunchBackfillSuccess", data
        return data["backfillId"]

    def wait_for_backfill(self, backfill_id: str, timeout: float = 240) -> str:
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            data = self.graphql(
                "query($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename "
                "... on PartitionBackfill { status } ... on PythonError { message } } }",
                {"id": backfill_id},
            )["partitionBackfillOrError"]
            status = data.get("status")
            if status in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"):
                return status
            time.sleep(2)
        raise AssertionError(f"backfill {backfill_id} still {status}:\n{self.log.read_text()[-5000:]}")

    def runs(self) -> list[dict]:
        data = self.graphql("{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }")
        return data["runsOrError"]["results"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def deployment(request, tmp_path) -> Iterator[tuple[DgDev, str, Path]]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    landing = tmp_path / "landing"
    landing.mkdir()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "EXEC_PIPELINE_LANDING_URL": str(landing),
        "EXEC_PIPELINE_SOURCES": str(settings.SAMPLE_DATA_DIR / "sources.yaml"),
        "EXEC_PIPELINE_SENSOR_INTERVAL_SECONDS": "2",
        "EXEC_PIPELINE_SETTLE_SECONDS": "1",
        "VIRTUAL_ENV": str(Path(sys.executable).parent.parent),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    databases: list[str] = []
    if request.param == "sqlite":
        shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
        warehouse_url = f"sqlite:///{home / 'warehouse.sqlite'}"
    else:
        server = request.getfixturevalue("postgres_server")
        instance_db, warehouse_db = server.create(), server.create()
        databases += [instance_db, warehouse_db]
        shutil.copy(REPO / "dagster_home" / "dagster.postgres.yaml", home / "dagster.yaml")
        admin = server.admin.url
        env.update(
            DAGSTER_PG_HOST=admin.host or "127.0.0.1",
            DAGSTER_PG_PORT=str(admin.port or 5432),
            DAGSTER_PG_USER=admin.username or "postgres",
            DAGSTER_PG_PASSWORD=admin.password or "",
            DAGSTER_PG_DB=instance_db,
        )
        warehouse_url = server.url(warehouse_db)
        upgraded = subprocess.run([sys.executable, "-m", "exec_pipeline.cli", "warehouse", "upgrade", "--url", warehouse_url],
                                  capture_output=True, text=True, check=False)
        assert upgraded.returncode == 0, upgraded.stderr
    env["EXEC_PIPELINE_WAREHOUSE_URL"] = warehouse_url

    port = _free_port()
    log = tmp_path / "dg-dev.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "dg"), "dev", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
    dg_dev = DgDev(port, process, log)
    try:
        dg_dev.wait_until_up()
        yield dg_dev, warehouse_url, landing
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        warehouse.dispose_engines()
        if databases:
            server = request.getfixturevalue("postgres_server")
            for name in databases:
                server.drop(name)


def _facts(warehouse_url: str) -> dict:
    engine = warehouse.build_engine(warehouse_url)
    try:
        return fact_snapshot(engine, extract_by_uri=True)
    finally:
        engine.dispose()


def _trade_count(warehouse_url: str) -> int:
    engine = create_engine(warehouse.normalise_url(warehouse_url))
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT COUNT(*) FROM trades_ts")).scalar_one()
    except Exception:  # noqa: BLE001 - the schema may not exist yet on the first look
        return 0
    finally:
        engine.dispose()


def _wait_for(predicate, what: str, dg_dev: DgDev, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}; runs: {dg_dev.runs()}\n{dg_dev.log.read_text()[-5000:]}")


def test_sensor_runs_fill_the_tables_and_backfills_are_idempotent(deployment):
    dg_dev, warehouse_url, landing = deployment
    days = ["2026-11-16", "2026-11-17"]
    for n, day in enumerate(days):
        write_extract(landing, day, "fills.csv", order_rows(day, f"PB-{n}", fills=2))

    # the sensor (running by default) notices the files and its runs publish them
    _wait_for(lambda: _trade_count(warehouse_url) == 4, "the sensor's runs to publish 4 trades", dg_dev)
    sensor_runs = [r for r in dg_dev.runs() if {"key": "exec_pipeline/trigger", "value": "landing_zone_sensor"} in r["tags"]]
    assert len(sensor_runs) == 2
    _wait_for(lambda: all(r["status"] == "SUCCESS" for r in dg_dev.runs()), "runs to finish", dg_dev)
    after_sensor = _facts(warehouse_url)

    # a backfill over the date range (one run: single-run backfill policy) completes with the same facts
    partitions = [f"{day}|acme" for day in days]
    assert dg_dev.wait_for_backfill(dg_dev.launch_backfill(partitions)) in ("COMPLETED", "COMPLETED_SUCCESS")
    assert _facts(warehouse_url) == after_sensor
    # and again: tables unchanged
    assert dg_dev.wait_for_backfill(dg_dev.launch_backfill(partitions)) in ("COMPLETED", "COMPLETED_SUCCESS")
    assert _facts(warehouse_url) == after_sensor
    assert all(r["status"] == "SUCCESS" for r in dg_dev.runs())
