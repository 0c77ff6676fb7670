"""A publisher killed with SIGKILL mid-write loses nothing; concurrent publishers of one partition
end as a single run would. Real child processes on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal

from exec_pipeline.data_nodes.execution import Trades
from exec_pipeline.lib import warehouse
from exec_pipeline_tests.reliability.conftest import run_child, snapshot, wait_for

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
