"""Publishing facts for a partition: atomic, idempotent, no duplicates, late facts kept."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from exec_pipeline.data_nodes.execution import (
    ExtractFacts,
    OrderEventRecord,
    OrderRecord,
    RejectRecord,
    TradeRecord,
    Trades,
    publish_partition,
)
from exec_pipeline.lib import bulkload, warehouse
from exec_pipeline.lib.bulkload import FactValidationError
from exec_pipeline.models.execution import ExtractFile, IngestReject
from exec_pipeline_tests.helpers import fact_snapshot

UTC = dt.UTC
DAY1, DAY2 = dt.date(2026, 1, 5), dt.date(2026, 1, 6)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def order_day(day: dt.date, order: str, *, fills: int = 2, first_record: int = 1) -> list:
    """An order and its life: new, partial fills, filled; one record per 'line'."""
    n = first_record
    records: list = [
        OrderRecord(n, at(day, 14), f"ord-{order}", "aapl", 1, account_identifier="acc-1", quantity=Decimal(fills * 10),
                    limit_price=Decimal("187.25"), client_order_id=f"momentum/{order}", order_manager_identifier="momentum"),
        OrderEventRecord(n, at(day, 14), f"evt-{order}-new", f"ord-{order}", "aapl", "new", order_status="new",
                         cum_quantity=Decimal(0), leaves_quantity=Decimal(fills * 10)),
    ]
    for fill in range(1, fills + 1):
        n += 1
        records += [
            OrderEventRecord(n, at(day, 14, fill), f"evt-{order}-{fill}", f"ord-{order}", "aapl",
                             "filled" if fill == fills else "partially_filled",
                             order_status="filled" if fill == fills else "partially_filled",
                             cum_quantity=Decimal(fill * 10), leaves_quantity=Decimal((fills - fill) * 10),
                             avg_price=Decimal("187.2"), event_metadata={"line": n}),
            TradeRecord(n, at(day, 14, fill), f"trd-{order}-{fill}", "aapl", 1, Decimal(10), order_identifier=f"ord-{order}",
                        price=Decimal("187.2"), commission=Decimal("0.35"), commission_asset_identifier="USD",
                        venue_metadata={"raw": f"line {n}"}),
        ]
    return records


def extract(uri: str, records, reader_version: str = "1.0.0") -> ExtractFacts:
    return ExtractFacts(uri, hashlib.sha256(repr(records).encode()).hexdigest(), 1000, "test", reader_version, records)


def fact_rows(engine) -> dict[str, list[tuple]]:
    """Every fact column (not run lineage), sorted: what a user would compare."""
    return fact_snapshot(engine, drop=("run_id", "ingested_at", "extract_id"))


def publish(engine, day, extracts, run_id="run-1", source="fixgw"):
    return publish_partition(source, day, extracts, run_id=run_id, engine=engine)


def test_publish_writes_facts_with_lineage(engine):
    summary = publish(engine, DAY1, [extract("file:///landing/fixgw/2026-01-05/a.log", order_day(DAY1, "A"))])

    assert summary.partition_key == "2026-01-05|fixgw"
    assert summary.rows_stored == {"OrdersTS": 1, "OrderEventsTS": 3, "TradesTS": 2, "rejects": 0}
    trades = Trades.read(engine=engine)
    assert list(trades["quantity"]) == [Decimal(10), Decimal(10)]
    row = trades.iloc[0]
    assert (row["source"], row["partition_key"], row["run_id"], row["reader_name"], row["reader_version"]) == (
        "fixgw", "2026-01-05|fixgw", "run-1", "test", "1.0.0")
    assert row["record_number"] == 2
    with engine.connect() as connection:
        ledger = connection.execute(select(ExtractFile)).one()
    assert ledger.uri == "file:///landing/fixgw/2026-01-05/a.log"
    assert ledger.id == row["extract_id"]
    assert (ledger.orders_count, ledger.order_events_count, ledger.trades_count, ledger.status) == (1, 3, 2, "ingested")


def test_publishing_the_same_partition_twice_changes_nothing(engine):
    extracts = [extract("file:///l/a.log", order_day(DAY1, "A")), extract("file:///l/b.log", order_day(DAY1, "B"))]
    publish(engine, DAY1, extracts, run_id="run-1")
    first = fact_rows(engine)
    summary = publish(engine, DAY1, extracts, run_id="run-2")
    assert fact_rows(engine) == first
    assert summary.rows_stored["TradesTS"] == 4
    assert set(Trades.read(engine=engine)["run_id"]) == {"run-2"}
    with engine.connect() as connection:
        assert connection.execute(select(ExtractFile.status)).scalars().all() == ["ingested", "ingested"]


def test_republishing_replaces_the_partition(engine):
    publish(engine, DAY1, [extract("file:///l/a.log", order_day(DAY1, "A", fills=3))])
    corrected = order_day(DAY1, "A", fills=2)  # the broker re-sent the file without the third fill
    summary = publish(engine, DAY1, [extract("file:///l/a.log", corrected)])
    assert sorted(Trades.read(engine=engine)["trade_identifier"]) == ["trd-A-1", "trd-A-2"]
    assert len(summary.superseded_extract_ids) == 1
    with engine.connect() as connection:
        statuses = dict(connection.execute(select(ExtractFile.id, ExtractFile.status)).all())
    assert statuses[summary.superseded_extract_ids[0]] == "superseded"
    assert statuses[summary.extracts[0].extract_id] == "ingested"


def test_late_facts_for_another_day_stay_where_they_are(engine):
    # day 2's file carries a late fill of a day-1 order (trade_time on day 1)
    late_fill = TradeRecord(7, at(DAY1, 20), "trd-late", "aapl", 1, Decimal(5), order_identifier="ord-A")
    publish(engine, DAY2, [extract("file:///l/d2.log", [*order_day(DAY2, "C"), late_fill])])
    publish(engine, DAY1, [extract("file:///l/d1.log", order_day(DAY1, "A"))])
    publish(engine, DAY1, [extract("file:///l/d1.log", order_day(DAY1, "A"))])  # re-run day 1

    trades = Trades.read(engine=engine)
    late = trades[trades["trade_identifier"] == "trd-late"]
    assert len(late) == 1
    assert late.iloc[0]["partition_key"] == "2026-01-06|fixgw"
    day1 = Trades.read(engine=engine, start=at(DAY1, 0), end=at(DAY2, 0))
    assert sorted(day1["trade_identifier"]) == ["trd-A-1", "trd-A-2", "trd-late"]


def test_a_fact_seen_by_two_partitions_is_stored_once_whatever_the_order(engine, warehouse_url):
    # overlapping statements: day 2's file repeats day 1's order A
    day1 = [extract("file:///l/d1.log", order_day(DAY1, "A"))]
    day2 = [extract("file:///l/d2.log", [*order_day(DAY1, "A"), *order_day(DAY2, "B", first_record=10)])]

    publish(engine, DAY2, day2)
    publish(engine, DAY1, day1)
    forward = fact_rows(engine)
    trades = Trades.read(engine=engine)
    assert len(trades) == 4 and trades["trade_identifier"].is_unique
    # the earliest observation wins: day 1's partition owns order A's facts
    owners = dict(zip(trades["trade_identifier"], trades["partition_key"], strict=True))
    assert owners["trd-A-1"] == "2026-01-05|fixgw"
    assert owners["trd-B-1"] == "2026-01-06|fixgw"

    # publishing again in the other order gives the same tables
    publish(engine, DAY1, day1)
    publish(engine, DAY2, day2)
    assert fact_rows(engine) == forward


def ledger_trades(engine, uri: str) -> int:
    with engine.connect() as connection:
        return connection.execute(select(ExtractFile.trades_count).where(ExtractFile.uri == uri)).scalar_one()


def republish_requests(engine) -> list[tuple[str, str, int]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            text("SELECT partition_key, requested_by, facts FROM republish_requests ORDER BY partition_key")
        )]  # fmt: skip


@pytest.mark.parametrize("first", [DAY1, DAY2])
def test_a_fact_only_another_partition_still_holds_comes_back_when_it_publishes_again(engine, first):
    # found in review: day 1 stores order A, which day 2's overlapping statement repeats; day 1's file
    # is then re-delivered without A. A must not vanish for good: day 2 still holds it.
    extracts = {
        DAY1: [extract("file:///l/d1.log", order_day(DAY1, "A"))],
        DAY2: [extract("file:///l/d2.log", [*order_day(DAY1, "A"), *order_day(DAY2, "B", first_record=10)])],
    }
    second = DAY2 if first == DAY1 else DAY1
    publish(engine, first, extracts[first])
    publish(engine, second, extracts[second])
    publish(engine, DAY1, extracts[DAY1])  # a plain re-run of the day storing A changes nothing
    assert ledger_trades(engine, "file:///l/d2.log") == 2  # B's fills only: day 1 stores A's
    assert republish_requests(engine) == []

    corrected = publish(engine, DAY1, [extract("file:///l/d1-corrected.log", order_day(DAY1, "Z"))])

    assert corrected.republish_requested == {"2026-01-06|fixgw": 6}  # A's order, 3 events, 2 fills
    assert republish_requests(engine) == [("2026-01-06|fixgw", "2026-01-05|fixgw", 6)]
    assert not any(Trades.read(engine=engine)["trade_identifier"].str.startswith("trd-A"))

    publish(engine, DAY2, extracts[DAY2])  # what the sensor's run for the request does

    trades = Trades.read(engine=engine)
    owners = dict(zip(trades["trade_identifier"], trades["partition_key"], strict=True))
    assert owners["trd-A-1"] == owners["trd-A-2"] == "2026-01-06|fixgw"
    assert republish_requests(engine) == []
    assert ledger_trades(engine, "file:///l/d2.log") == 4


def test_when_the_day_storing_a_shared_fact_observes_it_later_the_earliest_observation_still_wins(engine):
    # found in review: day 1 stores fill X (14:00), day 2 also saw it (15:00); day 1's corrected file
    # has X at 16:00. Published in the other order, day 2's 15:00 would win: it must win here too.
    def fill_x(day, hour):
        return TradeRecord(1, at(day, hour), "trd-X", "aapl", 1, Decimal(10), price=Decimal("100"))

    day2 = [extract("file:///l/d2.log", [fill_x(DAY1, 15)])]
    publish(engine, DAY1, [extract("file:///l/d1.log", [fill_x(DAY1, 14)])])
    publish(engine, DAY2, day2)
    corrected = publish(engine, DAY1, [extract("file:///l/d1-corrected.log", [fill_x(DAY1, 16)])])
    assert corrected.republish_requested == {"2026-01-06|fixgw": 1}
    publish(engine, DAY2, day2)  # the requested run
    [row] = Trades.read(engine=engine).itertuples()
    assert (row.partition_key, row.trade_time) == ("2026-01-06|fixgw", at(DAY1, 15))
    assert republish_requests(engine) == []


def test_a_fact_nobody_else_observed_goes_with_its_partition(engine):
    publish(engine, DAY1, [extract("file:///l/d1.log", order_day(DAY1, "A"))])
    publish(engine, DAY2, [extract("file:///l/d2.log", order_day(DAY2, "B"))])
    summary = publish(engine, DAY1, [extract("file:///l/d1.log", order_day(DAY1, "Z"))])
    assert summary.republish_requested == {}
    assert republish_requests(engine) == []
    assert sorted(Trades.read(engine=engine)["trade_identifier"]) == ["trd-B-1", "trd-B-2", "trd-Z-1", "trd-Z-2"]


@pytest.mark.parametrize("chunk_rows", [1, 1000])
def test_between_two_files_of_a_day_the_first_by_name_wins_a_tie_whatever_the_history(engine, monkeypatch, chunk_rows):
    # found in review: two files report fill X at the same time and line; the ledger id (which file
    # version was seen first) broke the tie, so appending an unrelated line to a.log flipped the price
    monkeypatch.setattr(bulkload, "CHUNK_ROWS", chunk_rows)

    def fill_x(price: str) -> TradeRecord:
        return TradeRecord(1, at(DAY1, 15), "trd-X", "aapl", 1, Decimal(10), price=Decimal(price))

    other = TradeRecord(2, at(DAY1, 16), "trd-Z", "aapl", 1, Decimal(1))
    b = extract("file:///l/b.log", [fill_x("100.20")])
    publish(engine, DAY1, [extract("file:///l/a.log", [fill_x("100.10")]), b])
    publish(engine, DAY1, [extract("file:///l/a.log", [fill_x("100.10"), other]), b])
    prices = Trades.read(engine=engine).set_index("trade_identifier")["price"]
    assert prices["trd-X"] == Decimal("100.10")


def test_the_same_file_under_two_names_is_stored_once(engine):
    records = order_day(DAY1, "A")
    summary = publish(engine, DAY1, [extract("file:///l/a.log", records), extract("file:///l/a-copy.log", records)])
    assert summary.rows_stored["TradesTS"] == 2
    assert summary.duplicates["TradesTS"] == 2
    assert len(Trades.read(engine=engine)) == 2


def test_rejects_are_kept_with_their_reason_and_replaced_with_the_partition(engine):
    bad = RejectRecord(4, "tag 31 (LastPx): 'abc' is not a number", "tag 31 (LastPx)", "8=FIX.4.4|35=8|31=abc")
    publish(engine, DAY1, [extract("file:///l/a.log", [*order_day(DAY1, "A"), bad])])
    publish(engine, DAY1, [extract("file:///l/a.log", [*order_day(DAY1, "A"), bad])])
    with engine.connect() as connection:
        rejects = connection.execute(select(IngestReject)).all()
    assert len(rejects) == 1
    assert (rejects[0].record_number, rejects[0].field, rejects[0].raw_record, rejects[0].run_id) == (
        4, "tag 31 (LastPx)", "8=FIX.4.4|35=8|31=abc", "run-1")
    assert "not a number" in rejects[0].reason


@pytest.mark.parametrize("chunk_rows", [1, 3, 20_000])
def test_chunking_never_changes_which_observation_wins(engine, monkeypatch, chunk_rows):
    # Small chunks make the loader meet stored facts mid-publish: within the partition (b.log
    # repeats a.log with earlier record numbers, and is loaded after it) and across partitions.
    monkeypatch.setattr(bulkload, "CHUNK_ROWS", chunk_rows)
    day1 = [
        extract("file:///l/a.log", order_day(DAY1, "A", fills=3, first_record=10)),
        extract("file:///l/b.log", order_day(DAY1, "A", fills=3, first_record=1)),
    ]
    day2 = [extract("file:///l/d2.log", [*order_day(DAY1, "A", fills=3), *order_day(DAY2, "B", first_record=20)])]

    publish(engine, DAY2, day2)
    summary = publish(engine, DAY1, day1)
    publish(engine, DAY2, day2)  # the later partition, published again, takes nothing back

    with engine.connect() as connection:
        owners = {
            row.trade_identifier: (row.partition_key, row.uri, row.record_number)
            for row in connection.execute(text(
                "SELECT t.trade_identifier, t.partition_key, e.uri, t.record_number "
                "FROM trades_ts t JOIN extract_files e ON e.id = t.extract_id"))
        }
    assert owners == {
        "trd-A-1": ("2026-01-05|fixgw", "file:///l/b.log", 2),
        "trd-A-2": ("2026-01-05|fixgw", "file:///l/b.log", 3),
        "trd-A-3": ("2026-01-05|fixgw", "file:///l/b.log", 4),
        "trd-B-1": ("2026-01-06|fixgw", "file:///l/d2.log", 21),
        "trd-B-2": ("2026-01-06|fixgw", "file:///l/d2.log", 22),
    }
    assert len(Trades.read(engine=engine)) == 5
    stored = {e.uri: e.rows_stored for e in summary.extracts}
    assert stored["file:///l/a.log"] == {"OrdersTS": 0, "OrderEventsTS": 0, "TradesTS": 0, "rejects": 0}
    assert stored["file:///l/b.log"] == {"OrdersTS": 1, "OrderEventsTS": 4, "TradesTS": 3, "rejects": 0}


class Crash(RuntimeError):
    pass


def crashing(records, after: int) -> Iterator:
    for number, record in enumerate(records):
        if number == after:
            raise Crash("reader died mid-file")
        yield record


@pytest.mark.parametrize("chunk_rows", [1, 20_000])
def test_a_crash_inside_the_transaction_leaves_the_previous_state(engine, monkeypatch, chunk_rows):
    monkeypatch.setattr(bulkload, "CHUNK_ROWS", chunk_rows)  # 1: rows already written when it dies
    publish(engine, DAY1, [extract("file:///l/a.log", order_day(DAY1, "A"))])
    before = fact_rows(engine)
    with engine.connect() as connection:
        ledger_before = connection.execute(select(ExtractFile)).all()

    new_version = order_day(DAY1, "A", fills=4)
    with pytest.raises(Crash):
        publish(engine, DAY1, [extract("file:///l/a.log", crashing(new_version, after=len(new_version) - 2))], run_id="run-2")

    assert fact_rows(engine) == before
    with engine.connect() as connection:
        assert connection.execute(select(ExtractFile)).all() == ledger_before
    # the next run completes the partition
    publish(engine, DAY1, [extract("file:///l/a.log", new_version)], run_id="run-3")
    assert len(Trades.read(engine=engine)) == 4


@pytest.mark.parametrize(
    ("bad_record", "message"),
    [
        (TradeRecord(9, dt.datetime(2026, 1, 5, 14), "t", "aapl", 1, Decimal(1)), r"TradesTS.trade_time .*no time zone"),
        (TradeRecord(9, at(DAY1, 14), "t", "aapl", 1, 1.5), r"TradesTS.quantity expected an exact Decimal, got float"),
        (TradeRecord(9, at(DAY1, 14), "t", "aapl", 2, Decimal(1)), r"TradesTS.trade_side 2 is not one of"),
        (OrderEventRecord(9, at(DAY1, 14), "e", "o", "aapl", "live"), r"OrderEventsTS.event_type 'live' is not one of"),
        (OrderRecord(9, at(DAY1, 14), "o", None, 1), r"OrdersTS.asset_identifier is required"),
        (TradeRecord(9, at(DAY1, 14), "t", "aapl", 1, Decimal("NaN")), r"TradesTS.quantity NaN is not a finite"),
    ],
)
def test_invalid_records_fail_naming_extract_record_and_field(engine, bad_record, message):
    publish(engine, DAY1, [extract("file:///l/a.log", order_day(DAY1, "A"))])
    before = fact_rows(engine)
    with pytest.raises(FactValidationError, match=rf"file:///l/bad.log, record 9: {message}"):
        publish(engine, DAY1, [extract("file:///l/bad.log", [*order_day(DAY1, "A"), bad_record])])
    assert fact_rows(engine) == before


def test_text_that_postgresql_cannot_hold_is_kept_visible(engine):
    nul = RejectRecord(1, "binary junk", None, "8=FIX\x00garbage")
    weird = TradeRecord(2, at(DAY1, 14), "t-nul", "aapl", 1, Decimal(1), venue_metadata={"raw": "a\x00b"})
    # not a NUL: a backslash, then the text u0000 (found in review: it failed the partition on PostgreSQL)
    path = TradeRecord(3, at(DAY1, 14), "t-path", "aapl", 1, Decimal(1), venue_metadata={"memo": "C:\\u0000"})
    publish(engine, DAY1, [extract("file:///l/a.log", [nul, weird, path])])
    with engine.connect() as connection:
        raw = connection.execute(text("SELECT raw_record FROM ingest_rejects")).scalar_one()
    assert raw.startswith("8=FIX") and raw.endswith("garbage") and len(raw) > len("8=FIXgarbage")
    trades = Trades.read(engine=engine).set_index("trade_identifier")
    assert "a" in trades.loc["t-nul", "venue_metadata"]["raw"]
    assert trades.loc["t-path", "venue_metadata"] == {"memo": "C:\\u0000"}


@pytest.fixture
def sqlite_load(tmp_path, monkeypatch) -> Iterator[tuple]:
    """A SQLite warehouse engine, and the page cache sizes the writer thread saw while loading."""
    monkeypatch.setattr(bulkload, "CHUNK_ROWS", 1)  # chunks go through the writer thread
    seen_while_loading: list[int] = []
    write = bulkload.SqliteFactLoader._write

    def observing_write(loader, name, rows):
        seen_while_loading.append(loader.driver_connection.execute("PRAGMA cache_size").fetchone()[0])
        write(loader, name, rows)

    monkeypatch.setattr(bulkload.SqliteFactLoader, "_write", observing_write)
    yield warehouse.get_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}"), seen_while_loading
    warehouse.dispose_engines()


def cache_size(engine) -> int:
    with engine.connect() as connection:  # the pool's one connection, as a publish gets it
        return connection.exec_driver_sql("PRAGMA cache_size").scalar_one()


@pytest.mark.parametrize("outcome", ["published", "crashed"])
def test_a_sqlite_load_enlarges_the_page_cache_only_while_it_runs(sqlite_load, outcome):
    """The load runs with a large page cache (the identifier indexes take keys in hash order), and
    the pooled connection gets its own size back afterwards, whether the publish landed or not."""
    engine, seen_while_loading = sqlite_load
    before = cache_size(engine)
    records = order_day(DAY1, "A")
    if outcome == "published":
        publish(engine, DAY1, [extract("file:///l/a.log", records)])
    else:
        with pytest.raises(Crash):
            publish(engine, DAY1, [extract("file:///l/a.log", crashing(records, after=len(records) - 1))])
    assert seen_while_loading and set(seen_while_loading) == {-bulkload.SQLITE_LOAD_CACHE_KIB}
    assert before != -bulkload.SQLITE_LOAD_CACHE_KIB
    assert cache_size(engine) == before


def test_a_sqlite_connection_with_a_larger_page_cache_keeps_it_while_loading(sqlite_load):
    engine, seen_while_loading = sqlite_load
    larger = -2 * bulkload.SQLITE_LOAD_CACHE_KIB
    with engine.connect() as connection:
        connection.exec_driver_sql(f"PRAGMA cache_size = {larger}")
    publish(engine, DAY1, [extract("file:///l/a.log", order_day(DAY1, "A"))])
    assert seen_while_loading and set(seen_while_loading) == {larger}
    assert cache_size(engine) == larger
