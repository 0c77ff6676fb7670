"""Exact decimals, UTC timestamps and NULLs survive the warehouse on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Text, cast, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from exec_pipeline.data_nodes.execution import ExtractFacts, OrderRecord, Orders, TradeRecord, Trades, publish_partition
from exec_pipeline.models.execution import OrderManagerTable, TradesTS

EXTREME_DECIMALS = [
    Decimal("12345678901234.123456789012345678"),
    Decimal("-0.000000000000000001"),
    Decimal("0"),
    Decimal("1.50"),
    Decimal("-98765432109876543210.5"),
]
UTC = dt.UTC


def _trade(number: int, when: dt.datetime, quantity: Decimal, price: Decimal | None, **extra) -> TradeRecord:
    return TradeRecord(
        record_number=number,
        trade_time=when,
        trade_identifier=f"trade-{number}",
        asset_identifier="aapl-us-equity",
        trade_side=1,
        quantity=quantity,
        price=price,
        **extra,
    )


def _publish(engine, records, uri="mem://extract-1", business_date=dt.date(2026, 1, 5)):
    return publish_partition(
        "fixgw",
        business_date,
        [ExtractFacts(uri, uri.encode().hex()[:64].ljust(64, "0"), 100, "test", "1", records)],
        run_id="run-1",
        engine=engine,
    )


def test_decimals_round_trip_exactly_through_publish(engine):
    when = dt.datetime(2026, 1, 5, 14, 30, 1, 123456, tzinfo=UTC)
    records = [
        _trade(i, when, abs(value), value, commission=value) for i, value in enumerate(EXTREME_DECIMALS, start=1)
    ]
    _publish(engine, records)

    stored = Trades.read(engine=engine).sort_values("record_number")
    assert list(stored["price"]) == EXTREME_DECIMALS
    assert list(stored["commission"]) == EXTREME_DECIMALS
    assert list(stored["quantity"]) == [abs(v) for v in EXTREME_DECIMALS]
    # the digits themselves are kept, not just an equal value (a float would lose them)
    assert [str(p) for p in stored["price"]] == [str(v) for v in EXTREME_DECIMALS]
    assert all(isinstance(p, Decimal) for p in stored["price"])


def test_decimals_round_trip_exactly_through_the_orm(engine):
    with Session(engine) as session, session.begin():
        session.add(
            OrderManagerTable(
                unique_identifier="m",
                target_account_uid=uuid.uuid4(),
                target_time=dt.datetime(2026, 1, 5, tzinfo=UTC),
                status="created",
                metadata_json={"budget": "12345678901234.123456789012345678"},
            )
        )
    with Session(engine) as session:
        row = session.execute(select(OrderManagerTable)).scalar_one()
    assert Decimal(row.metadata_json["budget"]) == EXTREME_DECIMALS[0]


def test_timestamps_come_back_as_the_same_utc_instant(engine):
    new_york = ZoneInfo("America/New_York")
    moments = [
        dt.datetime(2026, 1, 5, 9, 30, 0, 1, tzinfo=new_york),  # microsecond kept, zone converted
        dt.datetime(2026, 3, 8, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(1999, 12, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ]
    records = [_trade(i, when, Decimal(1), Decimal(1)) for i, when in enumerate(moments, start=1)]
    _publish(engine, records)

    stored = Trades.read(engine=engine).sort_values("record_number")
    for got, expected in zip(stored["trade_time"], moments, strict=True):
        assert got.to_pydatetime() == expected
        assert got.tzinfo is not None and got.utcoffset() == dt.timedelta(0)
        assert got.microsecond == expected.astimezone(UTC).microsecond


def test_time_order_queries_use_instants_not_text(engine):
    # 10:00 in New York is after 14:00 UTC the same day: a range query must agree
    early = dt.datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    late = dt.datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("America/New_York"))  # 15:00 UTC
    _publish(engine, [_trade(1, late, Decimal(1), None), _trade(2, early, Decimal(1), None)])
    window = Trades.read(engine=engine, start=dt.datetime(2026, 1, 5, 14, 30, tzinfo=UTC))
    assert list(window["record_number"]) == [1]


def test_times_of_any_year_keep_their_order_and_read_back(engine):
    # found in review: SQLite got year 999 as "999-12-31 ...", which sorted after every real time
    # and made the whole table unreadable
    moments = [
        dt.datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
        dt.datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(1, 1, 1, tzinfo=UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    _publish(engine, [_trade(i, when, Decimal(1), None) for i, when in enumerate(moments, start=1)])
    with Session(engine) as session:
        stored = session.execute(select(TradesTS.trade_time).order_by(TradesTS.trade_time)).scalars().all()
        since_1000 = session.execute(
            select(TradesTS.trade_time).where(TradesTS.trade_time >= dt.datetime(1000, 1, 1, tzinfo=UTC))
        ).scalars().all()
    assert stored == sorted(moments)
    assert sorted(since_1000) == [moments[0], moments[3]]


def test_unknown_values_stay_null(engine):
    when = dt.datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    _publish(
        engine,
        [OrderRecord(record_number=1, order_time=when, order_identifier="o-1", asset_identifier="x", order_side=-1)],
    )
    row = Orders.read(engine=engine).iloc[0]
    for column in ("account_identifier", "limit_price", "stop_price", "quantity", "currency", "expires_time",
                   "client_order_id", "order_type", "venue_metadata"):
        assert row[column] is None or row[column] != row[column], column  # None (or NaT for empty times)
    assert row["order_side"] == -1


def test_naive_timestamps_are_refused(engine):
    with pytest.raises(StatementError, match="no time zone"):
        with Session(engine) as session, session.begin():
            session.add(
                OrderManagerTable(
                    unique_identifier="naive",
                    target_account_uid=uuid.uuid4(),
                    target_time=dt.datetime(2026, 1, 5, 12, 0),
                    status="created",
                )
            )


def test_raw_records_keep_the_brokers_field_order_and_values(engine):
    # FIX tags in the order the broker sent them (not sorted: a jsonb column would re-order them)
    raw = {"8": "FIX.4.4", "35": "8", "49": "BROKER", "1": "ACC-1", "55": "ÆØÅ ☃", "38": "100", "6": "12.50",
           "453": [{"448": "X", "447": "D"}], "log_prefix": None}
    _publish(engine, [_trade(1, dt.datetime(2026, 1, 5, 14, 0, tzinfo=UTC), Decimal(1), None, venue_metadata=raw)])

    with engine.connect() as connection:
        stored_text = connection.execute(select(cast(TradesTS.venue_metadata, Text))).scalar_one()
    assert json.loads(stored_text, object_pairs_hook=list) == json.loads(json.dumps(raw), object_pairs_hook=list)
    assert Trades.read(engine=engine).iloc[0]["venue_metadata"] == raw


@pytest.mark.postgres
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_the_bulk_loader_encodes_for_the_columns_the_server_has(engine):
    # Binary COPY is encoded per the server's column types: a raw-record column a DBA turned back
    # into jsonb must still receive the record, not the record's JSON text as one JSON string.
    raw = {"35": "8", "31": "99.5", "58": "partial fill"}
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP VIEW order_status")
        connection.exec_driver_sql("DROP VIEW effective_trades")
        connection.exec_driver_sql("ALTER TABLE trades_ts ALTER COLUMN venue_metadata TYPE jsonb")
    _publish(engine, [_trade(1, dt.datetime(2026, 1, 5, 14, 0, tzinfo=UTC), Decimal("2.5"), Decimal("99.5"),
                             venue_metadata=raw)])

    with engine.connect() as connection:
        kind, price = connection.exec_driver_sql(
            "SELECT jsonb_typeof(venue_metadata), venue_metadata ->> '31' FROM trades_ts"
        ).one()
    assert (kind, price) == ("object", "99.5")
    assert Trades.read(engine=engine).iloc[0]["venue_metadata"] == raw
