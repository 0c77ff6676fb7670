"""A publisher killed with SIGKILL mid-write loses nothing; concurrent publishers of one partition
end as a single run would; what follows a commit and fails is done by the retry. Real child
processes, real locks, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal

import dagster as dg

from exec_pipeline.api.execution import OrderManager
from exec_pipeline.data_nodes.execution import Trades
from exec_pipeline.defs.execution.assets import execution_facts, order_manager_table
from exec_pipeline.lib import warehouse
from exec_pipeline_tests.dagster.conftest import order_rows, write_extract
from exec_pipeline_tests.reliability.conftest import impatient, locked_once_committed, run_child, snapshot, wait_for

DAY = "2026-11-17"

PUBLISH = """
url, day, trades, price = sys.argv[1], dt.date.fromisoformat(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
summary = publish_partition("fixgw", day, [ExtractFacts("mem://a.log", "a" * 64, 1, "t", "1",
                            day_facts(day, trades, price))], run_id="child", engine=get_engine(url))
print(summary.rows_stored["TradesTS"])
"""

KILLED_MID_WRITE = """
url, day, ready = sys.argv[1], dt.date.fromisoformat(sys.argv[2]), Path(sys.argv[3])

def facts_then_hang():
    yield from day_facts(day, 50_000, price="11")   # several COPY / executemany chunks already written
    ready.write_text("inside the transaction")
    time.sleep(600)                                   # SIGKILL arrives here
    yield from ()

publish_partition("fixgw", day, [ExtractFacts("mem://a.log", "b" * 64, 1, "t", "1", facts_then_hang())],
                  run_id="doomed", engine=get_engine(url))
"""


def test_sigkill_mid_publish_leaves_every_table_as_before(warehouse_url, tmp_path):
    warehouse.get_engine(warehouse_url)  # schema in place (SQLite upgrades itself)
    first = run_child(PUBLISH, warehouse_url, DAY, "1000", "10")
    assert first.returncode == 0, first.stderr
    before = snapshot(warehouse_url)

    ready = tmp_path / "ready"
    child = run_child(KILLED_MID_WRITE, warehouse_url, DAY, str(ready), wait=False)
    wait_for(ready, child)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    assert snapshot(warehouse_url) == before
    # the next run completes the partition
    again = run_child(PUBLISH, warehouse_url, DAY, "2000", "11")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "2000"
    after = snapshot(warehouse_url)
    assert len(after["TradesTS"]) == 2000


CONCURRENT = """
url, day, go, trades = sys.argv[1], dt.date.fromisoformat(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
engine = get_engine(url)
while not go.exists():
    time.sleep(0.01)
publish_partition("fixgw", day, [ExtractFacts("mem://a.log", "c" * 64, 1, "t", "1", day_facts(day, trades))],
                  run_id="racer", engine=engine)
"""


def test_concurrent_runs_of_one_partition_equal_a_single_run(warehouse_url, tmp_path):
    warehouse.get_engine(warehouse_url)
    go = tmp_path / "go"
    racers = [run_child(CONCURRENT, warehouse_url, DAY, str(go), "20000", wait=False) for _ in range(3)]
    go.write_text("now")
    for racer in racers:
        out, err = racer.communicate(timeout=300)
        assert racer.returncode == 0, err  # no deadlock, no unique violation
    raced = snapshot(warehouse_url)
    single = run_child(CONCURRENT, warehouse_url, DAY, str(go), "20000")  # go exists: runs alone
    assert single.returncode == 0, single.stderr
    assert snapshot(warehouse_url) == raced
    assert len(raced["TradesTS"]) == 20000


OVERLAPPING = """
url, day, go = sys.argv[1], dt.date.fromisoformat(sys.argv[2]), Path(sys.argv[3])
engine = get_engine(url)
first_day = dt.date(2026, 11, 17)
while not go.exists():
    time.sleep(0.01)
for _ in range(3):
    # both partitions carry the first day's order and trades (overlapping statements)
    publish_partition("fixgw", day, [ExtractFacts(f"mem://{day}.log", "d" * 64, 1, "t", "1",
                      day_facts(first_day, 5000))], run_id="racer", engine=engine)
"""


def test_partitions_sharing_facts_publish_concurrently_without_deadlock(warehouse_url, tmp_path):
    warehouse.get_engine(warehouse_url)
    go = tmp_path / "go"
    racers = [run_child(OVERLAPPING, warehouse_url, day, str(go), wait=False) for day in ("2026-11-17", "2026-11-18")]
    go.write_text("now")
    for racer in racers:
        out, err = racer.communicate(timeout=300)
        assert racer.returncode == 0, err
    state = snapshot(warehouse_url)
    assert len(state["TradesTS"]) == 5000
    # the earliest observation owns each fact, whoever committed last
    partition_column = list(Trades.table.columns.keys()).index("partition_key")
    assert {row[partition_column] for row in state["TradesTS"]} == {"2026-11-17|fixgw"}


def test_managers_whose_advance_failed_after_the_commit_move_on_the_retry(resources, landing_root, warehouse_url):
    # found in review: managers advance in a transaction after the partition's publish commits; when
    # that failed, the run's retry skipped the partition (its extracts now the ingested ones) and so
    # never advanced them
    engine = impatient(warehouse.get_engine(warehouse_url))  # the resource's engine
    (landing_root / "order-managers").mkdir()
    (landing_root / "order-managers" / "pairs.json").write_text(json.dumps([{
        "unique_identifier": "pairs", "target_account_uid": "00000000-0000-0000-0000-000000000004",
        "target_time": "2026-11-17T07:55:00+00:00"}]))
    write_extract(landing_root, "2026-11-17", "fills.csv", order_rows("2026-11-17", "PB-1"))
    with dg.instance_for_test() as instance:
        assert dg.materialize([order_manager_table], resources=resources, instance=instance).success
        with locked_once_committed(engine, warehouse_url, table="order_manager") as lock:
            failed = dg.materialize([execution_facts], partition_key="2026-11-17|acme", resources=resources,
                                    instance=instance, raise_on_error=False)  # fmt: skip
        assert not failed.success and lock["failures"] == 1  # the advance really met the lock
        assert "order managers could not advance" in str(failed.failure_data_for_node("execution_facts").error)
        assert len(Trades.read(engine=engine)) == 2  # the publish stands, and Dagster shows it
        assert instance.get_materialized_partitions(dg.AssetKey(["execution", "TradesTS"])) == {"2026-11-17|acme"}
        assert OrderManager.get_by_unique_identifier("pairs", engine=engine).status == "created"

        retry = dg.materialize([execution_facts], partition_key="2026-11-17|acme", resources=resources,
                               instance=instance)  # fmt: skip
    [event] = [e for e in retry.get_asset_materialization_events() if e.asset_key.path[-1] == "TradesTS"]
    assert event.step_materialization_data.materialization.metadata["partitions_skipped_unchanged"].value == 1
    assert OrderManager.get_by_unique_identifier("pairs", engine=engine).status == "completed"


def test_a_database_error_stops_a_range_run_and_names_what_was_not_attempted(resources, landing_root, warehouse_url):
    # a database that fails (here: a lock that times out) would fail every partition after it, each
    # after listing and hashing its files: the range stops there, and says which days wait
    engine = impatient(warehouse.get_engine(warehouse_url))  # the resource's engine
    days = ["2026-11-16", "2026-11-17", "2026-11-18"]
    for n, day in enumerate(days):
        write_extract(landing_root, day, "fills.csv", order_rows(day, f"PB-{n}"))
    with dg.instance_for_test() as instance:
        with locked_once_committed(engine, warehouse_url, "2026-11-17|acme") as lock:  # after day 16 commits
            ranged = dg.materialize([execution_facts], resources=resources, instance=instance, raise_on_error=False,
                                    tags={"dagster/asset_partition_range_start": "2026-11-16|acme",
                                          "dagster/asset_partition_range_end": "2026-11-18|acme"})  # fmt: skip
        assert not ranged.success and lock["failures"] == 1
        failure = ranged.failure_data_for_node("execution_facts")
        assert "1 of 3 partitions materialized" in failure.error.message
        assert "2026-11-17|acme: " in failure.error.message
        assert "1 partitions not attempted after that (2026-11-18|acme ...)" in failure.error.message
        assert instance.get_materialized_partitions(dg.AssetKey(["execution", "TradesTS"])) == {"2026-11-16|acme"}
    assert set(Trades.read(engine=engine)["partition_key"]) == {"2026-11-16|acme"}
