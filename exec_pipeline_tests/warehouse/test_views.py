"""The documented views: effective trades and each order's latest status, exact on both backends."""

from __future__ import annotations

import datetime as dt
import importlib
import random
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import text

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


def test_a_correction_reported_on_a_replacement_order_stays_on_its_fills_order(engine):
    # found in review: after a cancel/replace, FIX reports name the replacement's ClOrdID, so a price
    # correction of a fill made before the replace was keyed to the replacement order, and the fill
    # moved there: the original order showed nothing filled, a manager of it lost the fill
    publish_day(engine, DAY, "mem://d1", [
        fill(1, "f1", "40", "10.00", order="momentum/1"),
        fill(2, "c1", "40", "9.50", order="momentum/1.1", trade_kind="correction", ref_trade_identifier="f1"),
        fill(3, "f2", "60", "10.00", order="momentum/1.1"),
        # a correction of a fill the warehouse has not seen stays on its own order
        fill(4, "cx", "3", "1.00", order="momentum/1.1", trade_kind="correction", ref_trade_identifier="missing"),
    ])
    publish_day(engine, dt.date(2026, 1, 6), "mem://d2", [
        # corrected again the next day, still on the replacement order (FIX names the trade by its
        # last correction's ExecID: a correction of a correction)
        fill(1, "c2", "40", "9.40", order="momentum/1.1", minute=30, trade_kind="correction", ref_trade_identifier="c1"),
        # found in review: a fill stored without an order keeps its correction on the correction's order
        fill(2, "g1", "7", "5.00", order=None, minute=31),
        fill(3, "gc", "7", "5.10", order="momentum/1.1", minute=32, trade_kind="correction", ref_trade_identifier="g1"),
    ])
    rows = {row.original_trade_identifier: (row.trade_identifier, row.order_identifier, row.price)
            for row in EffectiveTrades.read(engine=engine).itertuples()}
    assert rows == {
        "f1": ("c2", "momentum/1", Decimal("9.40")),
        "f2": ("f2", "momentum/1.1", Decimal("10.00")),
        "missing": ("cx", "momentum/1.1", Decimal("1.00")),
        "g1": ("gc", "momentum/1.1", Decimal("5.10")),
    }
    # a filter on the order finds the fill through its correction
    assert list(EffectiveTrades.read(engine=engine, order_identifier="momentum/1")["trade_identifier"]) == ["c2"]
    # the stored correction is as reported
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT order_identifier FROM trades_ts WHERE trade_identifier = 'c2'")) == (
            "momentum/1.1")
    # the limit: a third level of corrections stays on the order it was reported on (telling it from
    # the fill would cost the recursive query on every order's query)
    publish_day(engine, dt.date(2026, 1, 7), "mem://d3", [
        fill(1, "c3", "40", "9.30", order="momentum/1.1", minute=40, trade_kind="correction", ref_trade_identifier="c2"),
    ])
    assert effective(engine)["f1"] == ("c3", Decimal("40"), Decimal("9.30"))
    assert list(EffectiveTrades.read(engine=engine, trade_identifier="c3")["order_identifier"]) == ["momentum/1.1"]


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


# --- 0009: the same effective trades, in a form whose filters reach trades_ts's indexes -------------

_views = importlib.import_module("exec_pipeline.migrations.versions.0002_views")
_chains = importlib.import_module("exec_pipeline.migrations.versions.0008_effective_trades_follow_correction_chains")


# the fill's adjustments are at most two levels deep (written apart from the migration's)
_SHALLOW = """NOT EXISTS (SELECT 1 FROM trades_ts a1 JOIN trades_ts a2 ON a2.ref_trade_identifier = a1.trade_identifier
    JOIN trades_ts a3 ON a3.ref_trade_identifier = a2.trade_identifier WHERE a1.ref_trade_identifier = f.trade_identifier)"""


def create_0008_effective_trades(engine, name: str = "effective_trades_0008") -> str:
    """0008's definition of effective_trades, beside the current one under another name, with 0010's
    one change: a deciding correction is on the order of its stored fill (when that has one) if the
    fill's busts and corrections are at most two levels deep. The oracle."""
    sql = _chains.EFFECTIVE_TRADES.replace("CREATE VIEW effective_trades AS", f"CREATE VIEW {name}_as_is AS")
    assert sql != _chains.EFFECTIVE_TRADES
    columns = ", ".join(
        f"CASE WHEN e.trade_kind = 'correction' AND f.order_identifier IS NOT NULL AND {_SHALLOW} "
        "THEN f.order_identifier ELSE e.order_identifier END AS order_identifier" if column == "order_identifier"
        else f"e.{column}"
        for column in (part.strip() for part in _views.TRADE_COLUMNS.split(","))
    )
    with engine.begin() as connection:
        connection.execute(text(sql))
        connection.execute(text(f"""
            CREATE VIEW {name} AS
            SELECT {columns}, e.original_trade_identifier
            FROM {name}_as_is e
            LEFT JOIN trades_ts f ON f.trade_identifier = e.original_trade_identifier AND f.trade_kind = 'fill'
        """))
    return name


def random_days(rng: random.Random, prefix: str, days: int, per_day: int) -> list[list[TradeRecord]]:
    """Days of fills, busts and corrections of earlier (or later, or missing) trades: chains across
    days, several corrections of a trade (ties in trade_time among them), busts of corrections,
    corrections of busts, and references that loop (to itself, or to a later trade naming it back)."""
    out: list[list[TradeRecord]] = []
    idents: list[str] = []
    n = 0
    for day in range(days):
        records = []
        for record_number in range(1, per_day + 1):
            n += 1
            ident = f"{prefix}-t{n:04d}"
            roll = rng.random()
            kind = "fill" if not idents or roll < 0.55 else ("bust" if roll < 0.7 else "correction")
            ref = None
            if kind != "fill":
                pick = rng.random()
                if pick < 0.7:
                    ref = rng.choice(idents[-60:])  # mostly recent trades: chains grow
                elif pick < 0.8:
                    ref = f"{prefix}-missing-{rng.randrange(4)}"  # the fill was never stored
                elif pick < 0.95:
                    ref = f"{prefix}-t{n + rng.randrange(1, 25):04d}"  # a later trade (it may name this one)
                else:
                    ref = ident  # itself
            when = dt.datetime(2026, 1, 5 + day, 14, rng.randrange(4), tzinfo=UTC)  # few times: ties
            records.append(TradeRecord(
                record_number, when, ident, "aapl", 1, Decimal(rng.randrange(1, 9)),
                # some fills and corrections without an order (CSV and ccxt rows may have none)
                order_identifier=None if rng.random() < 0.1 else f"{prefix}-o{rng.randrange(6)}",
                price=Decimal(rng.randrange(90, 110)),
                trade_kind=kind, ref_trade_identifier=ref,
            ))
            idents.append(ident)
        out.append(records)
    return out


def rows_of(engine, view: str) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(f"SELECT * FROM {view} ORDER BY trade_identifier"))]


def test_effective_trades_has_the_rows_of_0008s_definition(engine):
    oracle = create_0008_effective_trades(engine)
    for seed in range(3):
        rng = random.Random(seed)
        source = f"fix{seed}"
        days = random_days(rng, f"s{seed}", days=4, per_day=40)
        for number, records in enumerate(days):
            extract = ExtractFacts(f"mem://{source}/{number}", f"{seed}{number}".ljust(64, "0"), 1, "test", "1", records)
            publish_partition(source, dt.date(2026, 1, 5 + number), [extract], engine=engine)
            assert rows_of(engine, "effective_trades") == rows_of(engine, oracle), (seed, number)
        # a day published again without some of its trades: chains through them break or end elsewhere
        kept = [record for record in days[1] if rng.random() < 0.6]
        extract = ExtractFacts(f"mem://{source}/1b", f"{seed}1b".ljust(64, "0"), 1, "test", "1", kept)
        publish_partition(source, dt.date(2026, 1, 6), [extract], engine=engine)
        assert rows_of(engine, "effective_trades") == rows_of(engine, oracle), (seed, "republished")

    # the data had the cases that matter
    with engine.connect() as connection:
        effective = connection.execute(text(f"SELECT * FROM {oracle}")).mappings().all()
        fills = set(connection.scalars(text("SELECT trade_identifier FROM trades_ts WHERE trade_kind = 'fill'")))
        reported_order = dict(connection.execute(text("SELECT trade_identifier, order_identifier FROM trades_ts")).all())
        orderless = set(connection.scalars(text(
            "SELECT trade_identifier FROM trades_ts WHERE trade_kind = 'fill' AND order_identifier IS NULL")))
    corrections = [row for row in effective if row["trade_kind"] == "correction"]
    seen = {
        "corrections of a correction": sum(
            row["original_trade_identifier"] not in (row["ref_trade_identifier"], row["trade_identifier"])
            for row in corrections),
        "corrections of a fill not stored": sum(
            row["original_trade_identifier"] not in fills | {row["trade_identifier"]} for row in corrections),
        "corrections whose references loop": sum(
            row["original_trade_identifier"] == row["trade_identifier"] for row in corrections),
        "fills busted or corrected": len(fills - {row["original_trade_identifier"] for row in effective}),
        "corrections reported on another order than their fill's": sum(
            row["order_identifier"] != reported_order[row["trade_identifier"]] for row in corrections),
        "corrections of a fill without an order": sum(
            row["original_trade_identifier"] in orderless for row in corrections),
        "corrections without an order on their fill's": sum(
            reported_order[row["trade_identifier"]] is None and row["order_identifier"] is not None
            for row in corrections),
    }
    assert all(seen.values()), seen


def _plan_nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


@pytest.mark.postgres
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_one_orders_rows_come_from_trades_ts_indexes_on_postgres(engine):
    # 40,000 fills (10,000 orders of 4), 1.5 % of them corrected or busted, some through chains:
    # enough that PostgreSQL reads the whole table only when a filter cannot reach its indexes
    lineage = "'fixgw', 1, 1, '2026-01-05|fixgw', 'test', '1', now()"
    columns = ("trade_time, trade_identifier, order_identifier, account_identifier, asset_identifier, trade_side, "
               "quantity, price, trade_kind, ref_trade_identifier, "
               "source, extract_id, record_number, partition_key, reader_name, reader_version, ingested_at")
    with engine.begin() as connection:
        connection.execute(text(f"""
            INSERT INTO trades_ts ({columns})
            SELECT timestamptz '2026-01-05 14:30:00+00' + i * interval '500 ms', 'f' || i, 'o' || (i / 4),
                   'acc-' || (i % 8), 'aapl', 1, 100, 10, 'fill', NULL, {lineage}
            FROM generate_series(0, 39999) i
        """))
        connection.execute(text(f"""
            INSERT INTO trades_ts ({columns})
            SELECT timestamptz '2026-01-06 14:30:00+00' + i * interval '1 s', kind || i, 'o' || (i / 4),
                   'acc-' || (i % 8), 'aapl', 1, 90, 10, CASE WHEN kind = 'b' THEN 'bust' ELSE 'correction' END,
                   CASE kind WHEN 'd' THEN 'c' || i ELSE 'f' || i END, {lineage}
            FROM generate_series(0, 39999) i, (VALUES ('c'), ('d'), ('b')) k(kind)
            WHERE (kind = 'c' AND i % 100 = 1) OR (kind = 'd' AND i % 500 = 1) OR (kind = 'b' AND i % 300 = 202)
        """))
        connection.execute(text(f"""
            INSERT INTO orders_ts (order_time, order_identifier, asset_identifier, order_side, quantity,
                                   source, extract_id, record_number, partition_key, reader_name, reader_version,
                                   ingested_at)
            SELECT timestamptz '2026-01-05 14:00:00+00', 'o' || i, 'aapl', 1, 400, {lineage}
            FROM generate_series(0, 9999) i
        """))
        connection.execute(text("ANALYZE trades_ts"))
        connection.execute(text("ANALYZE orders_ts"))

    with engine.connect() as connection:
        # order o125: fills f500-f503; f501 corrected by c501, then c501 by d501 (at the same time:
        # the greater identifier wins); f502 busted
        assert connection.execute(text(
            "SELECT trade_identifier, original_trade_identifier FROM effective_trades "
            "WHERE order_identifier = 'o125' ORDER BY original_trade_identifier"
        )).all() == [("f500", "f500"), ("d501", "f501"), ("f503", "f503")]
        trades = connection.execute(text("SELECT count(*) FROM trades_ts")).scalar_one()
        for view in ("effective_trades", "order_status"):
            (plan,) = connection.execute(text(
                f"EXPLAIN (FORMAT JSON) SELECT * FROM {view} WHERE order_identifier = 'o125'"
            )).scalar_one()
            scans = [node for node in _plan_nodes(plan["Plan"]) if node.get("Relation Name") == "trades_ts"]
            assert scans, view
            for node in scans:
                assert node["Node Type"] != "Seq Scan", (view, node)
                assert node["Plan Rows"] < trades / 20, (view, {k: node.get(k) for k in ("Index Name", "Index Cond", "Filter", "Plan Rows", "Parent Relationship")})  # nor a walk through a whole index
        # found in review of 0010's first form: an order none of whose fills a bust or correction
        # names (o126: f504-f507) must not run the recursive query over every bust and correction
        for view in ("effective_trades", "order_status"):
            (plan,) = connection.execute(text(
                f"EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM {view} WHERE order_identifier = 'o126'"
            )).scalar_one()
            recursions = [node for node in _plan_nodes(plan["Plan"]) if node["Node Type"] == "Recursive Union"]
            assert all(node["Actual Loops"] == 0 for node in recursions), view
