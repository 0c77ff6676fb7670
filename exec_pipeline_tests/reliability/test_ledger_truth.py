"""The ledger (``extract_files``) tells the truth after every failure: which run's rows are stored,
what each extract contributed, which attempt failed. Real failures on SQLite and PostgreSQL: an
unreadable file, a file changing while read, a lock held by another connection, a killed process."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import dagster as dg
import pytest
from sqlalchemy import text

from exec_pipeline.data_nodes.execution import ExtractFacts, TradeRecord, partition_key, publish_partition
from exec_pipeline.defs.execution.assets import execution_facts
from exec_pipeline.defs.execution.sensors import landing_zone_sensor
from exec_pipeline.lib import settings, warehouse
from exec_pipeline.lib.landing import LandingZone
from exec_pipeline.readers.base import ExtractUnreadable
from exec_pipeline.readers.catalogue import load_catalogue
from exec_pipeline.repositories import execution as repo
from exec_pipeline.services.ingestion import ExtractChanged, LedgerCountsStale, ingest_partition
from exec_pipeline_tests.dagster.conftest import order_rows, write_extract
from exec_pipeline_tests.reliability.conftest import impatient, locked_once_committed, run_child

SAMPLE_SOURCES = settings.SAMPLE_DATA_DIR / "sources.yaml"
CATALOGUE = load_catalogue(SAMPLE_SOURCES)
DAY16, DAY18 = dt.date(2026, 11, 16), dt.date(2026, 11, 18)
KEY16, KEY18 = partition_key("acme", DAY16), partition_key("acme", DAY18)


def ingest(engine, root, day=DAY18, *, run_id, catalogue=CATALOGUE, landing=None, force=False):
    return ingest_partition("acme", day, catalogue=catalogue, landing=landing or LandingZone(str(root)),
                            engine=engine, run_id=run_id, force=force)  # fmt: skip


def ledger(engine) -> dict[str, dict]:
    """The ledger's current rows (not the superseded versions) by day/file name."""
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT uri, sha256, status, last_ingested_run_id, last_ingested_at, config_digest, reader_version, "
            "orders_count, order_events_count, trades_count, rejects_count, error FROM extract_files "
            "WHERE status <> 'superseded'"))
        return {row.uri.rsplit("/", 2)[-2] + "/" + row.uri.rsplit("/", 1)[-1]: dict(row._mapping) for row in rows}


def assert_ledger_matches_facts(engine) -> None:
    """Every fact and reject names an ingested ledger row of its partition, with the row's run and
    ingest time, and each ingested row counts exactly the rows naming it."""
    tables = {"orders_ts": "orders_count", "order_events_ts": "order_events_count", "trades_ts": "trades_count",
              "ingest_rejects": "rejects_count"}  # fmt: skip
    with engine.connect() as connection:
        for table, count_column in tables.items():
            mismatched = connection.execute(text(
                f"SELECT f.extract_id, f.run_id, e.last_ingested_run_id, e.status FROM {table} f "
                "JOIN extract_files e ON e.id = f.extract_id "
                "WHERE e.status <> 'ingested' OR e.partition_key <> f.partition_key "
                "OR COALESCE(f.run_id, '') <> COALESCE(e.last_ingested_run_id, '')")).all()
            assert mismatched == [], f"{table}: facts whose lineage the ledger contradicts: {mismatched}"
            if table != "ingest_rejects":
                stale_time = connection.execute(text(
                    f"SELECT COUNT(*) FROM {table} f JOIN extract_files e ON e.id = f.extract_id "
                    "WHERE f.ingested_at <> e.last_ingested_at")).scalar_one()
                assert stale_time == 0, f"{table}: facts ingested at another time than the ledger says"
            wrong_counts = connection.execute(text(
                f"SELECT e.uri, e.{count_column}, (SELECT COUNT(*) FROM {table} f WHERE f.extract_id = e.id) "
                f"FROM extract_files e WHERE e.status = 'ingested' "
                f"AND e.{count_column} <> (SELECT COUNT(*) FROM {table} f WHERE f.extract_id = e.id)")).all()
            assert wrong_counts == [], f"{table}: ledger counts that are not the rows stored: {wrong_counts}"


def fact_run_ids(engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(text("SELECT DISTINCT run_id FROM trades_ts")).scalars())


def catalogue_with(tmp_path, old: str, new: str):
    changed = tmp_path / "sources.yaml"
    changed.write_text(SAMPLE_SOURCES.read_text().replace(old, new))
    return load_catalogue(changed)


# --- a failed re-read leaves the ledger naming the run whose rows are stored ---------------------------


class RewrittenWhileRead(LandingZone):
    """The broker rewrites the file between hashing and reading."""

    def read_chunks(self, extract, chunk=64):
        with open(self.root + f"/{extract.source}/{extract.business_date.isoformat()}/{extract.name}", "a") as handle:
            handle.write(order_rows(DAY18.isoformat(), "PB-LATE"))
        return super().read_chunks(extract, chunk=chunk)


@pytest.mark.parametrize("failure", ["unreadable", "changed_while_read"])
def test_a_failed_forced_re_read_leaves_the_ledger_naming_the_run_whose_rows_are_stored(
    engine, landing_root, tmp_path, failure
):
    # found in review: the ledger row of a file a forced re-run could not read kept status `ingested`
    # but named the failed run, while every stored row still came from the run before
    write_extract(landing_root, DAY18.isoformat(), "fills.csv", order_rows(DAY18.isoformat(), "PB-1"))
    ingest(engine, landing_root, run_id="run-1")
    before = ledger(engine)["2026-11-18/fills.csv"]

    if failure == "unreadable":  # a catalogue edit names a column the file does not have
        broken = catalogue_with(tmp_path, "trade_time: time", "trade_time: executed_at")
        with pytest.raises(ExtractUnreadable, match="fills.csv"):
            ingest(engine, landing_root, run_id="run-2", catalogue=broken, force=True)
    else:
        with pytest.raises(ExtractChanged, match="fills.csv"):
            ingest(engine, landing_root, run_id="run-2", landing=RewrittenWhileRead(str(landing_root)), force=True)

    after = ledger(engine)["2026-11-18/fills.csv"]
    assert fact_run_ids(engine) == {"run-1"}
    assert after["last_ingested_run_id"] == "run-1"
    error = after.pop("error")
    before.pop("error")
    assert after == before  # status, sha, counts, reader version, catalogue digest, run, time
    if failure == "unreadable":  # the failed attempt is on record, with its run
        assert "executed_at" in error and "run-2" in error
    assert_ledger_matches_facts(engine)

    # the next good run clears the failure and names itself
    ingest(engine, landing_root, run_id="run-3", force=True)
    assert ledger(engine)["2026-11-18/fills.csv"]["last_ingested_run_id"] == "run-3"
    assert ledger(engine)["2026-11-18/fills.csv"]["error"] is None
    assert fact_run_ids(engine) == {"run-3"}
    assert_ledger_matches_facts(engine)


def test_a_file_that_cannot_be_read_names_no_run_as_having_ingested_it(engine, landing_root, tmp_path):
    write_extract(landing_root, DAY18.isoformat(), "fills.csv", order_rows(DAY18.isoformat(), "PB-1"))
    ingest(engine, landing_root, run_id="run-1")
    bad = landing_root / "acme" / DAY18.isoformat() / "broken.csv"
    bad.write_bytes(b"no,header,we,know\n1,2,3,4\n")
    with pytest.raises(ExtractUnreadable, match="broken.csv"):
        ingest(engine, landing_root, run_id="run-2")

    rows = ledger(engine)
    assert rows["2026-11-18/fills.csv"]["last_ingested_run_id"] == "run-1"
    assert rows["2026-11-18/fills.csv"]["error"] is None
    failed = rows["2026-11-18/broken.csv"]
    assert failed["status"] == "failed"
    assert failed["last_ingested_run_id"] is None and failed["last_ingested_at"] is None  # never ingested
    assert "broken.csv" in failed["error"] and "run-2" in failed["error"]
    assert failed["config_digest"] == CATALOGUE.source("acme").digest  # what it was read with

    # read again with another catalogue entry: the row says which attempt failed last
    other = catalogue_with(tmp_path, "timezone: Europe/London", "timezone: Europe/Paris")
    with pytest.raises(ExtractUnreadable, match="broken.csv"):
        ingest(engine, landing_root, run_id="run-3", catalogue=other)
    failed = ledger(engine)["2026-11-18/broken.csv"]
    assert failed["config_digest"] == other.source("acme").digest and "run-3" in failed["error"]
    assert failed["last_ingested_run_id"] is None
    assert_ledger_matches_facts(engine)


def test_a_failure_noted_while_another_run_ingests_the_same_version_keeps_it_ingested(engine):
    # found in review (PostgreSQL; SQLite's write lock serialises the two): the note of a failed read
    # has a transaction of its own, after the failed publish rolled back. It read the row as `failed`,
    # waited for a run ingesting that version, then marked it failed over that run's stored facts.
    key, uri, sha = partition_key("fixgw", DAY18), "mem://fixgw/2026-11-18/a.log", "e" * 64
    note = dict(source="fixgw", business_date=DAY18, partition_key=key, uri=uri, sha256=sha, size_bytes=1,
                reader_name="t", reader_version="1", error=f"{uri}: cannot read extract")  # fmt: skip
    with engine.begin() as connection:  # an earlier run could not read it (an older reader, say)
        repo.record_failed_extract(connection, **note, run_id="run-failed")
    inside, go, errors = threading.Event(), threading.Event(), []

    def facts() -> Iterator:
        yield TradeRecord(1, dt.datetime(2026, 11, 18, 14, tzinfo=dt.UTC), "t-1", "aapl", 1, Decimal(1))
        inside.set()  # the ledger row is written (uncommitted), the partition's lock held
        go.wait(30)

    def publish() -> None:
        try:
            publish_partition("fixgw", DAY18, [ExtractFacts(uri, sha, 1, "t", "1", facts())], run_id="run-good",
                              engine=engine)  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def record_failure() -> None:
        try:
            with engine.begin() as connection:
                repo.record_failed_extract(connection, **note, run_id="run-late")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    publisher = threading.Thread(target=publish)
    publisher.start()
    assert inside.wait(30)
    noting = threading.Thread(target=record_failure)
    noting.start()
    time.sleep(0.5)  # the note has read the row (then still `failed`) and waits for the publisher
    go.set()
    publisher.join(60)
    noting.join(60)
    assert errors == []

    [row] = ledger(engine).values()
    assert (row["status"], row["last_ingested_run_id"]) == ("ingested", "run-good")
    assert_ledger_matches_facts(engine)


# --- the recount after the commit ---------------------------------------------------------------------

class LockedOnceRead(LandingZone):
    """Arms a ``locked_once_committed`` lock as the publish starts reading: it is taken as soon as
    the failed publish has rolled back and given its connection back, before the failure's note."""

    lock: dict

    def read_chunks(self, extract, chunk=64):
        self.lock["armed"] = True
        return super().read_chunks(extract, chunk=chunk)


def test_a_failure_the_ledger_cannot_note_still_names_the_file_and_why(warehouse_url, landing_root):
    # found in review: when the note of an unreadable file failed too (a lock timeout), the run's
    # error was the database's, and which file could not be read, and why, was lost
    engine = impatient(warehouse.get_engine(warehouse_url))
    write_extract(landing_root, DAY18.isoformat(), "fills.csv", order_rows(DAY18.isoformat(), "PB-1"))
    ingest(engine, landing_root, run_id="run-1")
    (landing_root / "acme" / DAY18.isoformat() / "broken.csv").write_bytes(b"no,header,we,know\n1,2,3,4\n")

    landing = LockedOnceRead(str(landing_root))
    with locked_once_committed(engine, warehouse_url, KEY18) as lock:
        landing.lock = lock
        with pytest.raises(ExtractUnreadable, match="broken.csv: cannot read extract") as raised:
            ingest(engine, landing_root, run_id="run-2", landing=landing)
    assert lock["failures"] == 1  # the note really met the lock and gave up
    [note] = raised.value.__notes__
    assert note.startswith("The ledger could not note this failure:") and "lock" in note.lower()
    assert "2026-11-18/broken.csv" not in ledger(engine)  # as the note says
    assert fact_run_ids(engine) == {"run-1"}
    assert_ledger_matches_facts(engine)


def overlapping_days(landing_root) -> None:
    """Day 18's statement repeats day 16's order PB-0 (an overlapping statement)."""
    write_extract(landing_root, DAY16.isoformat(), "fills.csv", order_rows(DAY16.isoformat(), "PB-0"))
    write_extract(landing_root, DAY18.isoformat(), "fills.csv",
                  order_rows(DAY16.isoformat(), "PB-0") + order_rows(DAY18.isoformat(), "PB-2"))  # fmt: skip


def pending_requests(engine) -> list[tuple]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT partition_key, requested_by, facts FROM republish_requests ORDER BY partition_key"))
        return [tuple(row) for row in rows]


def test_a_recount_failing_after_the_commit_leaves_the_publish_standing_and_is_repaired(warehouse_url, landing_root):
    engine = impatient(warehouse.get_engine(warehouse_url))
    overlapping_days(landing_root)
    ingest(engine, landing_root, DAY18, run_id="run-18")  # day 18 stores PB-0's facts for now
    assert ledger(engine)["2026-11-18/fills.csv"]["trades_count"] == 4

    with locked_once_committed(engine, warehouse_url, KEY18) as lock:
        result = ingest(engine, landing_root, DAY16, run_id="run-16")  # takes PB-0 over: earlier partition
    assert lock["failures"] == 1  # the recount really met the lock and gave up

    summary = result.summary
    assert summary is not None and summary.rows_stored["TradesTS"] == 2  # committed
    assert list(summary.recount_failed) == [KEY18]
    assert "lock" in summary.recount_failed[KEY18].lower()
    assert ledger(engine)["2026-11-18/fills.csv"]["trades_count"] == 4  # stale for now...
    assert pending_requests(engine) == [(KEY18, KEY16, 0)]  # ...and noted, in the publish's own transaction

    # found in review: a run of day 18 whose refresh meets the lock too failed with the driver's bare
    # lock error; it fails saying what failed, and the request stays for the next run
    with locked_once_committed(engine, warehouse_url, KEY18, after_commit=False) as lock:
        with pytest.raises(LedgerCountsStale, match=f"{KEY18}: its extracts are unchanged.*re-run the partition"):
            ingest(engine, landing_root, DAY18, run_id="run-18a")
    assert lock["failures"] == 1
    assert pending_requests(engine) == [(KEY18, KEY16, 0)]

    # the next run of day 18 (the sensor starts it for the request) refreshes the counts, cheaply
    again = ingest(engine, landing_root, DAY18, run_id="run-18b")
    assert again.skipped_unchanged and again.counts_refreshed
    assert ledger(engine)["2026-11-18/fills.csv"]["trades_count"] == 2
    assert ledger(engine)["2026-11-18/fills.csv"]["last_ingested_run_id"] == "run-18"  # nothing re-published
    assert pending_requests(engine) == []
    assert_ledger_matches_facts(engine)


def test_a_new_stale_note_gets_a_new_run_key_and_never_replaces_a_request_to_publish_again(engine):
    # found in review: a second note on a partition whose counts-only run had failed kept the old
    # time, so the sensor's run key was the one already used and no new run ever started
    first, later = dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC), dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    with engine.begin() as connection:
        repo.lock_fact_tables(connection)
        repo.note_stale_counts(connection, [(KEY18, "acme", DAY18)], requested_by=KEY16, now=first)
        repo.request_republish(connection, "2026-11-17|acme", source="acme", business_date=dt.date(2026, 11, 17),
                               requested_by=KEY16, facts=3, now=first)  # fmt: skip
    with engine.begin() as connection:
        repo.lock_fact_tables(connection)
        repo.note_stale_counts(connection, [(KEY18, "acme", DAY18), ("2026-11-17|acme", "acme", dt.date(2026, 11, 17))],
                               requested_by="2026-11-19|acme", now=later)  # fmt: skip
    with engine.connect() as connection:
        requests = {r.partition_key: (r.requested_by, r.facts, r.requested_at) for r in repo.republish_requests(connection)}
    assert requests == {
        KEY18: ("2026-11-19|acme", repo.COUNTS_ONLY, later),  # a new time: a new run key
        "2026-11-17|acme": (KEY16, 3, first),  # the request to publish again stands as it was
    }


def test_a_recount_that_succeeds_leaves_no_request_behind(engine, landing_root):
    overlapping_days(landing_root)
    ingest(engine, landing_root, DAY18, run_id="run-18")
    result = ingest(engine, landing_root, DAY16, run_id="run-16")
    assert result.summary.recount_failed == {}
    assert pending_requests(engine) == []
    assert_ledger_matches_facts(engine)
    quiet = ingest(engine, landing_root, DAY18, run_id="run-18b")
    assert quiet.skipped_unchanged and not quiet.counts_refreshed


KILLED_AFTER_COMMIT = """
from sqlalchemy import event
import os, signal
url, first = sys.argv[1], dt.date(2026, 11, 17)
engine = get_engine(url)
committed = []
event.listen(engine, "commit", lambda connection: committed.append(True))

@event.listens_for(engine, "checkin")
def _die(dbapi_connection, record):
    if committed:  # the publish committed; its recount of the other day has not run
        os.kill(os.getpid(), signal.SIGKILL)

publish_partition("fixgw", first, [ExtractFacts("mem://17.log", "a" * 64, 1, "t", "1", day_facts(first, 5))],
                  run_id="doomed", engine=engine)
"""

PUBLISH_18 = """
url = sys.argv[1]
publish_partition("fixgw", dt.date(2026, 11, 18), [ExtractFacts("mem://18.log", "b" * 64, 1, "t", "1",
                  day_facts(dt.date(2026, 11, 17), 5))], run_id="run-18", engine=get_engine(url))
"""


def test_a_process_killed_between_the_commit_and_the_recount_leaves_the_recount_pending(warehouse_url):
    engine = warehouse.get_engine(warehouse_url)
    assert run_child(PUBLISH_18, warehouse_url).returncode == 0  # day 18's statement holds day 17's order
    child = run_child(KILLED_AFTER_COMMIT, warehouse_url)
    assert child.returncode == -signal.SIGKILL, child.stderr

    key18 = partition_key("fixgw", dt.date(2026, 11, 18))
    with engine.connect() as connection:
        counts = dict(connection.execute(text("SELECT uri, trades_count FROM extract_files")).all())
    assert counts == {"mem://17.log": 5, "mem://18.log": 5}  # day 18's count is stale: day 17 took them
    assert pending_requests(engine) == [(key18, partition_key("fixgw", dt.date(2026, 11, 17)), 0)]

    with engine.begin() as connection:  # what day 18's next run does
        assert repo.refresh_stale_counts(connection, key18)
    with engine.connect() as connection:
        counts = dict(connection.execute(text("SELECT uri, trades_count FROM extract_files")).all())
    assert counts == {"mem://17.log": 5, "mem://18.log": 0}
    assert pending_requests(engine) == []
    assert_ledger_matches_facts(engine)


def test_the_asset_succeeds_and_shows_a_failed_recount(resources, landing_root, warehouse_url):
    engine = impatient(warehouse.get_engine(warehouse_url))  # the resource's engine
    overlapping_days(landing_root)
    with dg.instance_for_test() as instance:
        assert dg.materialize([execution_facts], partition_key=KEY18, resources=resources, instance=instance).success
        with locked_once_committed(engine, warehouse_url, KEY18):
            result = dg.materialize([execution_facts], partition_key=KEY16, resources=resources, instance=instance,
                                    raise_on_error=False)  # fmt: skip
        assert result.success
        [event_16] = [e.step_materialization_data.materialization for e in result.get_asset_materialization_events()
                      if e.asset_key.to_user_string() == "execution/TradesTS"]  # fmt: skip
        failed = event_16.metadata["ledger_recount_failed"].value
        assert list(failed) == [KEY18]
        warnings = [entry.user_message for entry in instance.all_logs(result.run_id) if entry.level == logging.WARNING]
        assert any(KEY18 in message and "ledger counts" in message for message in warnings), warnings
        assert pending_requests(engine) == [(KEY18, KEY16, 0)]

        # the sensor starts day 18's run for the request the publish left; the run refreshes the counts
        [request] = landing_zone_sensor(dg.build_sensor_context(instance=instance, resources=resources)).run_requests
        assert (str(request.partition_key), request.tags["exec_pipeline/trigger"]) == (KEY18, "republish_request")
        again = dg.materialize([execution_facts], partition_key=KEY18, resources=resources, instance=instance,
                               tags=request.tags)  # fmt: skip
        assert again.success
        [event_18] = [e.step_materialization_data.materialization for e in again.get_asset_materialization_events()
                      if e.asset_key.to_user_string() == "execution/TradesTS"]  # fmt: skip
        assert event_18.metadata["skipped_unchanged"].value is True  # nothing read again
    assert pending_requests(engine) == []
    assert ledger(engine)["2026-11-18/fills.csv"]["trades_count"] == 2
    assert_ledger_matches_facts(engine)
