"""The documented views: effective trades and each order's latest status, exact on both backends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from exec_pipeline.data_nodes.execution import (
    EffectiveTrades,
    ExtractFacts,
    OrderEventRecord,
    OrderRecord,
    OrderStatus,
    TradeRecord,
    publish_partition,
)

UTC = dt.UTC
DAY = dt.date(2026, 1, 5)


def t(minute: int) -> dt.datetime:
    return dt.datetime(2026, 1, 5, 14, minute, tzinfo=UTC)


def fill(n, ident, qty, price, order="o-1", minute=None, **kw) -> TradeRecord:
    return TradeRecord(n, t(minute if minute is not None else n), ident, "aapl", 1, Decimal(qty), order_identifier=order,
                       price=Decimal(price), **kw)


def publish(engine, records):
    publish_partition("fixgw", DAY, [ExtractFacts("mem://x", "0" * 64, 1, "test", "1", records)], engine=engine)


def test_busts_and_corrections_give_the_effective_trades(engine):
    publish(engine, [
        fill(1, "f1", "10", "100.00"),
        fill(2, "f2", "5", "101.00"),
        fill(3, "f3", "7", "102.00"),
        fill(4, "f4", "1", "99.00"),
        # f2 busted
        fill(5, "b2", "5", "101.00", trade_kind="bust", ref_trade_identifier="f2"),
        # f3 corrected twice: the latest correction wins
        fill(6, "c3a", "6", "102.00", trade_kind="correction", ref_trade_identifier="f3"),
        fill(7, "c3b", "7", "102.50", trade_kind="correction", ref_trade_identifier="f3"),
        # f4 corrected, then busted: nothing remains of it
        fill(8, "c4", "2", "99.00", trade_kind="correction", ref_trade_identifier="f4"),
        fill(9, "b4", "1", "99.00", trade_kind="bust", ref_trade_identifier="f4"),
    ])
    effective = EffectiveTrades.read(engine=engine)
    got = {row.original_trade_identifier: (row.trade_identifier, row.quantity, row.price)
           for row in effective.itertuples()}
    assert got == {
        "f1": ("f1", Decimal("10"), Decimal("100.00")),
        "f3": ("c3b", Decimal("7"), Decimal("102.50")),
    }


def publish_day(engine, day: dt.date, uri: str, records) -> None:
    publish_partition("fixgw", day, [ExtractFacts(uri, uri.encode().hex()[:64].ljust(64, "0"), 1, "test", "1", records)],
                      engine=engine)


def effective(engine) -> dict:
    return {row.original_trade_identifier: (row.trade_identifier, row.quantity, row.price)
            for row in EffectiveTrades.read(engine=engine).itertuples()}


def test_a_chain_of_corrections_across_days_gives_one_effective_trade_and_a_bust_of_it_none(engine):
    # found in review: FIX names a trade corrected twice by its last correction (19 = the previous
    # correction's ExecID); read in another file than the first correction, both corrections were
    # effective: 200 shares of a 100-share fill
    day2 = dt.date(2026, 1, 6)
    publish_day(engine, DAY, "mem://d1", [
        fill(1, "f1", "100", "10.00"),
        fill(2, "c1", "100", "10.50", trade_kind="correction", ref_trade_identifier="f1"),
        fill(3, "g1", "5", "20.00"),
    ])
    publish_day(engine, day2, "mem://d2", [
        fill(1, "c2", "100", "10.40", minute=30, trade_kind="correction", ref_trade_identifier="c1"),
        # a correction of a fill the warehouse has not seen keeps that fill as its original
        fill(2, "cx", "3", "1.00", minute=31, trade_kind="correction", ref_trade_identifier="missing-fill"),
    ])
    assert effective(engine) == {
        "f1": ("c2", Decimal("100"), Decimal("10.40")),
        "g1": ("g1", Decimal("5"), Decimal("20.00")),
        "missing-fill": ("cx", Decimal("3"), Decimal("1.00")),
    }
    publish_day(engine, dt.date(2026, 1, 7), "mem://d3", [
        fill(1, "b2", "100", "10.40", minute=40, trade_kind="bust", ref_trade_identifier="c2"),
    ])
    assert set(effective(engine)) == {"g1", "missing-fill"}  # busting the last correction voids the trade


def test_order_status_gives_latest_status_filled_quantity_and_average_price(engine):
    order = OrderRecord(1, t(0), "o-1", "aapl", 1, quantity=Decimal("0.6"), limit_price=Decimal("10"))
    quiet = OrderRecord(2, t(0), "o-2", "aapl", -1, quantity=Decimal("1"))
    events = [
        OrderEventRecord(1, t(0), "e1", "o-1", "aapl", "new", order_status="new"),
        OrderEventRecord(3, t(3), "e3", "o-1", "aapl", "filled", order_status="filled",
                         cum_quantity=Decimal("0.6"), avg_price=Decimal("9.9")),
        OrderEventRecord(2, t(2), "e2", "o-1", "aapl", "partially_filled", order_status="partially_filled"),
        OrderEventRecord(4, t(0), "e4", "o-2", "aapl", "canceled", order_status="canceled"),
    ]
    trades = [
        # 0.1 + 0.2 + 0.3: a float sum would not give 0.6 exactly
        fill(1, "a", "0.1", "9.7", minute=1),
        fill(2, "b", "0.2", "9.9", minute=2),
        fill(3, "c", "0.3", "10.0", minute=3),
        fill(4, "x", "0.4", "1.0", minute=4),
        fill(5, "bx", "0.4", "1.0", minute=5, trade_kind="bust", ref_trade_identifier="x"),
    ]
    publish(engine, [order, quiet, *events, *trades])
    status = {row.order_identifier: row for row in OrderStatus.read(engine=engine).itertuples()}

    o1 = status["o-1"]
    assert (o1.order_status, o1.last_event_type) == ("filled", "filled")
    assert o1.filled_quantity == Decimal("0.6")
    assert o1.trade_count == 3
    # (0.1*9.7 + 0.2*9.9 + 0.3*10.0) / 0.6 = 5.95 / 0.6
    expected = (Decimal("0.1") * Decimal("9.7") + Decimal("0.2") * Decimal("9.9") + Decimal("0.3") * Decimal("10.0")) / Decimal("0.6")
    assert abs(o1.avg_price - expected) < Decimal("1e-15")
    assert o1.reported_cum_quantity == Decimal("0.6")
    assert o1.last_trade_time.to_pydatetime() == t(3)

    o2 = status["o-2"]
    assert (o2.order_status, o2.trade_count, o2.filled_quantity) == ("canceled", 0, Decimal(0))
    assert o2.avg_price is None


def test_order_status_sums_extreme_decimals_exactly(engine):
    publish(engine, [
        OrderRecord(1, t(0), "o-1", "aapl", 1),
        fill(1, "a", "12345678901234.123456789012345678", "1"),
        fill(2, "b", "0.000000000000000001", "1"),
    ])
    row = OrderStatus.read(engine=engine).iloc[0]
    assert row["filled_quantity"] == Decimal("12345678901234.123456789012345679")
