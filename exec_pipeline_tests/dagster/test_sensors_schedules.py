"""Sensor ticks (cursor, settle window, re-delivery, cap) and the previous-day schedule."""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

from exec_pipeline.defs.execution import sensors
from exec_pipeline.defs.execution.assets import execution_facts
from exec_pipeline.defs.execution.schedules import previous_day_schedule
from exec_pipeline.defs.execution.sensors import landing_zone_sensor, order_manager_intents_sensor
from exec_pipeline_tests.dagster.conftest import order_rows, write_extract


def tick(instance, resources, cursor=None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    return landing_zone_sensor(context)


def partitions(result: dg.SensorResult) -> list[str]:
    return sorted(str(r.partition_key) for r in result.run_requests or [])


def test_ticks_request_changed_partitions_once(resources, landing_root):
    write_extract(landing_root, "2026-11-16", "a.csv", order_rows("2026-11-16", "PB-1"))
    write_extract(landing_root, "2026-11-17", "a.csv", order_rows("2026-11-17", "PB-2"))
    with dg.instance_for_test() as instance:
        first = tick(instance, resources)
        assert partitions(first) == ["2026-11-16|acme", "2026-11-17|acme"]
        assert len({r.run_key for r in first.run_requests}) == 2
        quiet = tick(instance, resources, first.cursor)
        assert quiet.run_requests == [] and "0 runs requested" in quiet.skip_reason.skip_message

        write_extract(landing_root, "2026-11-16", "late.csv", order_rows("2026-11-16", "PB-3"))
        later = tick(instance, resources, quiet.cursor)
        assert partitions(later) == ["2026-11-16|acme"]


def test_an_identical_redelivery_starts_no_run(resources, landing_root):
    path = write_extract(landing_root, "2026-11-17", "a.csv", order_rows("2026-11-17", "PB-1"))
    with dg.instance_for_test() as instance:
        first = tick(instance, resources)
        [request] = first.run_requests
        assert dg.materialize([execution_facts], partition_key=request.partition_key, resources=resources,
                              instance=instance).success
        # the broker sends the same bytes again (new mtime, same content)
        content = path.read_bytes()
        path.unlink()
        write_extract(landing_root, "2026-11-17", "a.csv", content.decode().split("\n", 1)[1])
        assert path.read_bytes() == content
        again = tick(instance, resources, first.cursor)
        assert again.run_requests == []
        assert "1 unchanged" in again.skip_reason.skip_message
        # different content does start a run
        write_extract(landing_root, "2026-11-17", "a.csv", order_rows("2026-11-17", "PB-1", fills=4))
        changed = tick(instance, resources, again.cursor)
        assert partitions(changed) == ["2026-11-17|acme"]
        assert changed.run_requests[0].run_key != request.run_key


def test_files_still_being_written_wait(resources, landing_root):
    path = write_extract(landing_root, "2026-11-17", "a.csv", order_rows("2026-11-17", "PB-1"))
    now = dt.datetime.now().timestamp()
    os.utime(path, (now, now))
    with dg.instance_for_test() as instance:
        waiting = tick(instance, resources)
        assert waiting.run_requests == [] and "1 still being written" in waiting.skip_reason.skip_message
        old = now - 3600
        os.utime(path, (old, old))
        assert partitions(tick(instance, resources, waiting.cursor)) == ["2026-11-17|acme"]


def test_the_cap_spreads_runs_over_ticks(resources, landing_root, monkeypatch):
    monkeypatch.setattr(sensors, "MAX_RUNS_PER_TICK", 2)
    for day in range(10, 15):
        write_extract(landing_root, f"2026-11-{day}", "a.csv", order_rows(f"2026-11-{day}", f"PB-{day}"))
    requested: list[str] = []
    cursor = None
    with dg.instance_for_test() as instance:
        for _ in range(4):
            result = tick(instance, resources, cursor)
            assert len(result.run_requests) <= 2
            requested += partitions(result)
            cursor = result.cursor
    assert requested == [f"2026-11-{day}|acme" for day in range(10, 15)]


def test_extracts_outside_the_partitions_are_not_requested(resources, landing_root):
    write_extract(landing_root, "2020-01-01", "a.csv", order_rows("2020-01-01", "PB-1"))  # before start_date
    with dg.instance_for_test() as instance:
        assert tick(instance, resources).run_requests == []


def test_intent_files_refresh_the_registry_once_per_change(resources, landing_root):
    folder = landing_root / "order-managers"
    folder.mkdir()
    (folder / "a.json").write_text("[]")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources=resources)
        first = order_manager_intents_sensor(context)
        assert len(first.run_requests) == 1
        context = dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor)
        assert order_manager_intents_sensor(context).run_requests in (None, [])
        (folder / "b.json").write_text("[]")
        context = dg.build_sensor_context(instance=instance, resources=resources, cursor=first.cursor)
        assert len(order_manager_intents_sensor(context).run_requests) == 1


def test_schedule_requests_the_previous_utc_day_for_every_source():
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 18, 6, 30, tzinfo=dt.UTC))
    requests = previous_day_schedule(context)
    assert sorted(str(r.partition_key) for r in requests) == [
        "2026-11-17|acme", "2026-11-17|binance", "2026-11-17|fixgw", "2026-11-17|ibkr"]


def test_sensors_and_schedule_run_by_default():
    assert landing_zone_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert order_manager_intents_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert previous_day_schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_a_day_holding_facts_another_day_dropped_is_run_again(resources, landing_root):
    # found in review: day 17's statement repeats day 16's order PB-1, which day 16 stores; day 16 is
    # re-delivered without it. Day 17's extracts did not change, yet its run must bring PB-1 back.
    write_extract(landing_root, "2026-11-16", "a.csv", order_rows("2026-11-16", "PB-1"))
    write_extract(landing_root, "2026-11-17", "a.csv", order_rows("2026-11-16", "PB-1") + order_rows("2026-11-17", "PB-2"))

    def run(request: dg.RunRequest) -> None:
        assert dg.materialize([execution_facts], partition_key=request.partition_key, resources=resources,
                              instance=instance, tags=request.tags).success

    def pb1_fills() -> list[str]:
        from exec_pipeline.data_nodes.execution import Trades

        trades = Trades.read(engine=resources["warehouse"].engine())
        return sorted(trades[trades["trade_remote_id"].str.startswith("PB-1")]["partition_key"])

    with dg.instance_for_test() as instance:
        first = tick(instance, resources)
        for request in sorted(first.run_requests, key=lambda r: str(r.partition_key)):
            run(request)
        assert pb1_fills() == ["2026-11-16|acme", "2026-11-16|acme"]

        write_extract(landing_root, "2026-11-16", "a.csv", order_rows("2026-11-16", "PB-3"))
        corrected = tick(instance, resources, first.cursor)
        assert partitions(corrected) == ["2026-11-16|acme"]
        run(corrected.run_requests[0])
        assert pb1_fills() == []  # stored nowhere until day 17 publishes again

        again = tick(instance, resources, corrected.cursor)
        assert partitions(again) == ["2026-11-17|acme"]
        [republish] = again.run_requests
        assert republish.tags["exec_pipeline/requested_by"] == "2026-11-16|acme"
        assert republish.tags["dagster/max_retries"] == "2"  # Dagster re-launches it if it fails

        # its run fails (here: day 17's folder gone for a while); the run key is spent, so later ticks
        # leave it to Dagster's retries instead of holding a place under the cap
        folder = landing_root / "acme" / "2026-11-17"
        folder.rename(landing_root / "moved-away")
        failed = dg.materialize([execution_facts], partition_key=republish.partition_key, resources=resources,
                                instance=instance, tags={**republish.tags, "dagster/run_key": republish.run_key},
                                raise_on_error=False)
        assert not failed.success
        (landing_root / "moved-away").rename(folder)
        assert tick(instance, resources, again.cursor).run_requests == []

        run(republish)  # what a retry (or an operator's re-run) does
        assert pb1_fills() == ["2026-11-17|acme", "2026-11-17|acme"]
        assert tick(instance, resources, again.cursor).run_requests == []
