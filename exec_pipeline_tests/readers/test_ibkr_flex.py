"""Tests of the Interactive Brokers Flex Query XML reader.

Statements are generated here as realistic Flex XML (the attribute set of IB's Activity Flex
"Trades" section). ``ibflex`` (an independent parser) is the oracle: it reads the same bytes and
the reader's trades and orders must agree with it on ids, sides, quantities, prices,
commissions, currencies and times (ibflex gives naive wall-clock times of the statement's zone).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import quoteattr
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ibflex import enums as ibenums
from ibflex import parser as ibparser

from exec_pipeline.data_nodes.execution import (
    EffectiveTrades,
    ExtractFacts,
    OrderEventRecord,
    OrderEvents,
    OrderRecord,
    Orders,
    OrderStatus,
    RejectRecord,
    TradeRecord,
    Trades,
    publish_partition,
)
from exec_pipeline.models.execution import EVENT_TYPES, ORDER_STATUSES, TRADE_KINDS
from exec_pipeline.readers import ibkr_flex
from exec_pipeline.readers.base import ExtractUnreadable, ReaderContext
from exec_pipeline.readers.catalogue import SourceConfig

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
SOURCE = "mysource"
URI = "memory://file"


# --- building statements -----------------------------------------------------------------------------


def _attrs(values: dict[str, str]) -> str:
    return " ".join(f"{name}={quoteattr(str(value))}" for name, value in values.items())


def execution(
    trade_id: str,
    transaction_id: str,
    order_id: str,
    quantity: str,
    price: str,
    *,
    account: str = "U1111111",
    commission: str = "-1",
    date_time: str = "20220215;102026",
    order_time: str = "20220215;102001",
    **extra: str,
) -> dict[str, str]:
    """A realistic EXECUTION row of IB's Activity Flex Trades section (stock by default)."""
    q, p, c = Decimal(quantity), Decimal(price), Decimal(commission)
    proceeds = -q * p
    trade_date = "".join(ch for ch in date_time if ch.isdigit())[:8]
    row = {
        "accountId": account,
        "acctAlias": "",
        "model": "",
        "currency": "USD",
        "fxRateToBase": "1",
        "assetCategory": "STK",
        "symbol": "AAPL",
        "description": "APPLE INC",
        "conid": "265598",
        "securityID": "US0378331005",
        "securityIDType": "ISIN",
        "cusip": "037833100",
        "isin": "US0378331005",
        "listingExchange": "NASDAQ",
        "underlyingConid": "",
        "underlyingSymbol": "",
        "multiplier": "1",
        "strike": "",
        "expiry": "",
        "putCall": "",
        "tradeID": trade_id,
        "reportDate": trade_date,
        "tradeDate": trade_date,
        "dateTime": date_time,
        "settleDateTarget": "20220217",
        "transactionType": "ExchTrade",
        "exchange": "ISLAND",
        "quantity": quantity,
        "tradePrice": price,
        "tradeMoney": str(q * p),
        "proceeds": str(proceeds),
        "taxes": "0",
        "ibCommission": commission,
        "ibCommissionCurrency": "USD",
        "netCash": str(proceeds + c),
        "closePrice": "172.79",
        "openCloseIndicator": "O" if q > 0 else "C",
        "notes": "P",
        "cost": str(-proceeds),
        "origTradePrice": "0",
        "origTradeDate": "",
        "origTradeID": "",
        "origOrderID": "0",
        "origTransactionID": "0",
        "clearingFirmID": "",
        "transactionID": transaction_id,
        "buySell": "BUY" if q > 0 else "SELL",
        "ibOrderID": order_id,
        "ibExecID": f"0000e0d5.{trade_id}.01.01",
        "brokerageOrderID": "",
        "orderReference": f"mgr-a/{order_id}",
        "volatilityOrderLink": "",
        "exchOrderId": "N/A",
        "extExecID": "N/A",
        "orderTime": order_time,
        "levelOfDetail": "EXECUTION",
        "orderType": "LMT",
        "traderID": "",
        "isAPIOrder": "N",
    }
    row.update(extra)
    return row


def order_row(order_id: str, quantity: str, avg_price: str, **extra: str) -> dict[str, str]:
    """IB's ORDER-level summary row of an order's executions (an ``<Order>`` element)."""
    row = execution("", "", order_id, quantity, avg_price, **extra)
    row.update(levelOfDetail="ORDER", ibExecID="", notes="")
    row.update(extra)
    return row


def cancellation(original: dict[str, str], transaction_id: str, **extra: str) -> dict[str, str]:
    """IB's cancellation of a fill: no tradeID of its own, reversing quantity, ``(Ca.)`` side, the
    cancelled booking named by ``origTradeID`` and ``origTransactionID``."""
    q = -Decimal(original["quantity"])
    row = dict(original)
    row.update(
        tradeID="",
        transactionType="TradeCancel",
        exchange="--",
        quantity=str(q),
        proceeds=str(-Decimal(original["proceeds"])),
        ibCommission=str(-Decimal(original["ibCommission"])),
        netCash=str(-Decimal(original["netCash"])),
        notes="Ca",
        origTradePrice=original["tradePrice"],
        origTradeDate=original["tradeDate"],
        origTradeID=original["tradeID"],
        origOrderID=original["ibOrderID"],
        origTransactionID=original["transactionID"],
        transactionID=transaction_id,
        buySell=f"{original['buySell']} (Ca.)",
        ibExecID="",
        orderTime="",
    )
    row.update(extra)
    return row


def statement(account: str, rows: list[tuple[str, dict[str, str]] | dict[str, str]], **attrs: str) -> str:
    body = []
    for item in rows:
        tag, values = item if isinstance(item, tuple) else ("Trade", item)
        body.append(f"<{tag} {_attrs(values)} />")
    header = {
        "accountId": account,
        "fromDate": attrs.get("fromDate", "20220215"),
        "toDate": attrs.get("toDate", "20220215"),
        "period": "LastBusinessDay",
        "whenGenerated": "20220216;083000",
    }
    return f"<FlexStatement {_attrs(header)}>\n<Trades>\n" + "\n".join(body) + "\n</Trades>\n</FlexStatement>"


def document(*statements: str) -> bytes:
    return (
        '<FlexQueryResponse queryName="Daily trades" type="AF">\n'
        f'<FlexStatements count="{len(statements)}">\n' + "\n".join(statements) + "\n</FlexStatements>\n"
        "</FlexQueryResponse>\n"
    ).encode()


def context(**config: Any) -> ReaderContext:
    settings_ = {
        "format": ibkr_flex.NAME,
        "accounts": {"U1111111": "00000000-0000-0000-0000-000000000001"},
        "assets": {"AAPL": "aapl-us-equity", "11004968": "es-2022-03", "AAPL  220318C00150000": "aapl-c150-2022-03"},
        "manager_pattern": r"^(?P<manager>[^/]+)/",
        "timezone": "America/New_York",
    }
    settings_.update(config)
    return ReaderContext(source=SOURCE, config=SourceConfig(**settings_), uri=URI)


def blocks_of(data: bytes, size: int) -> Iterator[bytes]:
    """``data`` in blocks of ``size`` bytes, as a one-pass iterator (like a file being read)."""
    return (data[at : at + size] for at in range(0, len(data), size))


class Output:
    """The records of a document read whole, checked to be those (and the counters) of the same
    bytes streamed in small blocks, as ingestion streams them."""

    def __init__(self, data: bytes, ctx: ReaderContext | None = None) -> None:
        self.context = ctx or context()
        before = Counter(self.context.stats)
        self.records = list(ibkr_flex.read(data, self.context))
        streamed = ReaderContext(source=self.context.source, config=self.context.config, uri=self.context.uri)
        assert list(ibkr_flex.read_stream(blocks_of(data, 7), streamed)) == self.records
        assert streamed.stats == self.context.stats - before
        self.orders = [r for r in self.records if isinstance(r, OrderRecord)]
        self.events = [r for r in self.records if isinstance(r, OrderEventRecord)]
        self.trades = [r for r in self.records if isinstance(r, TradeRecord)]
        self.rejects = [r for r in self.records if isinstance(r, RejectRecord)]

    def trade(self, transaction_id: str) -> TradeRecord:
        (found,) = [t for t in self.trades if t.venue_metadata["transactionID"] == transaction_id]
        return found

    def event_of(self, trade: TradeRecord) -> OrderEventRecord:
        (found,) = [e for e in self.events if e.event_metadata is trade.venue_metadata]
        return found


def local(naive: dt.datetime, zone: ZoneInfo = NY) -> dt.datetime:
    return naive.replace(tzinfo=zone).astimezone(UTC)


def oracle(data: bytes) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an attribute ibflex does not know would make the oracle blind
        return ibparser.parse(data)


def assert_agrees_with_ibflex(data: bytes, out: Output, zone: ZoneInfo = NY) -> None:
    """Every EXECUTION row of ibflex is one trade of ours with the same values; ORDER rows likewise."""
    response = oracle(data)
    executions = 0
    for stmt in response.FlexStatements:
        for row in stmt.Trades:
            if row.levelOfDetail == "ORDER":
                (order,) = [o for o in out.orders if o.order_remote_id == row.ibOrderID
                            and o.venue_metadata["accountId"] == row.accountId]  # fmt: skip
                assert order.quantity is None  # the row's quantity is what executed, not the order's size
                assert Decimal(order.venue_metadata["quantity"]) == row.quantity
                assert order.order_side == (1 if row.buySell == ibenums.BuySell.BUY else -1)
                assert order.order_time == local(row.orderTime or row.dateTime, zone)
                assert order.currency == row.currency
                continue
            executions += 1
            trade = out.trade(row.transactionID)
            assert trade.venue_metadata["accountId"] == row.accountId
            assert trade.trade_remote_id == (row.tradeID or row.ibExecID or row.transactionID)
            assert trade.quantity == abs(row.quantity)
            assert trade.price == row.tradePrice
            buy = row.buySell in (ibenums.BuySell.BUY, ibenums.BuySell.CANCELBUY)
            assert trade.trade_side == (1 if buy else -1)
            assert trade.currency == row.currency
            assert trade.commission == (None if row.ibCommission is None else -row.ibCommission)
            if row.ibCommission is not None:
                assert trade.commission_asset_identifier == (row.ibCommissionCurrency or row.currency)
            assert trade.settlement_cost == row.netCash
            assert trade.trade_time == local(row.dateTime, zone)
            assert trade.venue == row.exchange
            cancelled = row.transactionType in (ibenums.TradeType.TRADECANCEL, ibenums.TradeType.FRACSHARECANCEL)
            assert (trade.trade_kind == "bust") == cancelled
    assert len(out.trades) == executions


def check_contract(records: list[Any]) -> None:
    """What the warehouse requires of every record (types, vocabularies, UTC times, exact numbers)."""

    def utc(value: dt.datetime) -> None:
        assert isinstance(value, dt.datetime) and value.utcoffset() == dt.timedelta(0)

    def number(value: Any) -> None:
        assert value is None or (isinstance(value, Decimal) and value.is_finite())

    for r in records:
        if isinstance(r, RejectRecord):
            assert r.reason and (r.raw_record is None or isinstance(r.raw_record, str))
            continue
        assert isinstance(r.record_number, int) and r.record_number >= 1
        if isinstance(r, TradeRecord):
            utc(r.trade_time)
            assert r.trade_side in (1, -1) and r.quantity > 0 and r.trade_kind in TRADE_KINDS
            assert (r.trade_kind == "fill") == (r.ref_trade_identifier is None)
            for value in (r.price, r.commission, r.settlement_cost):
                number(value)
            assert r.asset_identifier
        elif isinstance(r, OrderRecord):
            utc(r.order_time)
            assert r.order_side in (1, -1)
            number(r.quantity)
        elif isinstance(r, OrderEventRecord):
            utc(r.event_time)
            assert r.event_type in EVENT_TYPES
            assert r.order_status is None or r.order_status in ORDER_STATUSES
            for value in (r.cum_quantity, r.leaves_quantity, r.avg_price):
                number(value)
        else:
            raise AssertionError(f"unexpected record {r!r}")
    facts = [r for r in records if not isinstance(r, RejectRecord)]
    for kind in (OrderRecord, OrderEventRecord, TradeRecord):
        ids = [r[2] for r in facts if isinstance(r, kind)]
        assert len(ids) == len(set(ids)), f"duplicate {kind.__name__} identifiers"


# --- the golden statement -------------------------------------------------------------------------------

# Account U1111111: order 1001 (buy 300 AAPL) in three partial fills, with its ORDER row; a sell
# with negative quantity (order 1002). Account U2222222 (unmapped): executions only (no ORDER rows).
A1 = execution("431001", "1830001", "1001", "100", "172.10", date_time="20220215;102026", commission="-0.35")
A2 = execution("431002", "1830002", "1001", "150", "172.12", date_time="20220215;102031", commission="-0.52")
A3 = execution("431003", "1830003", "1001", "50", "172.15", date_time="20220215;102105", commission="-0.18",
               notes="")  # fmt: skip
S1 = execution("431010", "1830010", "1002", "-200", "173.5", date_time="20220215;143000", order_time="20220215;142959",
               commission="-1.0446", ibCommissionCurrency="USD", notes="")  # fmt: skip
ORDER_1001 = order_row("1001", "300", "172.118333333", tradeMoney="51635.5", ibCommission="-1.05", dateTime="20220215;102105")
B1 = execution("431100", "1830100", "2001", "-5", "410.2", account="U2222222", symbol="SPY", conid="756733",
               isin="US78462F1030", date_time="20220215;150000", order_time="20220215;145950")  # fmt: skip
B2 = execution("431101", "1830101", "2001", "-5", "410.25", account="U2222222", symbol="SPY", conid="756733",
               isin="US78462F1030", date_time="20220215;150002", order_time="20220215;145950")  # fmt: skip

GOLDEN = document(
    statement("U1111111", [("Order", ORDER_1001), A1, A2, A3, S1]),
    statement("U2222222", [B2, B1]),  # file order is not time order
)


def test_golden_statement_agrees_with_ibflex() -> None:
    out = Output(GOLDEN)
    assert out.rejects == []
    assert_agrees_with_ibflex(GOLDEN, out)
    check_contract(out.records)
    assert len(out.trades) == 6 and len(out.events) == 6
    assert sorted(o.order_remote_id for o in out.orders) == ["1001", "1002", "2001"]
    assert out.context.stats["order_rows"] == 1 and out.context.stats["derived_orders"] == 2


def test_multi_account_mapping_and_identifiers() -> None:
    out = Output(GOLDEN)
    first, second = out.trade("1830001"), out.trade("1830100")
    assert first.account_identifier == "00000000-0000-0000-0000-000000000001"
    assert second.account_identifier == f"{SOURCE}:U2222222"
    assert out.context.unmapped_accounts["U2222222"] > 0
    assert first.asset_identifier == "aapl-us-equity"
    assert second.asset_identifier == f"{SOURCE}:SPY"
    ctx = out.context
    assert first.trade_identifier == ctx.identifier("trade", "U1111111", "transactionID", "1830001")
    assert first.order_identifier == ctx.identifier("order", "U1111111", "1001")
    # record numbers are positions among the Trades rows of the whole file
    assert [first.record_number, second.record_number] == [2, 7]


def test_order_and_execution_rows_are_not_double_counted() -> None:
    out = Output(GOLDEN)
    order = next(o for o in out.orders if o.order_remote_id == "1001")
    fills = [t for t in out.trades if t.order_identifier == order.order_identifier]
    assert len(fills) == 3  # the ORDER row is an order, not a fourth fill
    assert sum(t.quantity for t in fills) == Decimal(order.venue_metadata["quantity"]) == Decimal(300)
    assert order.quantity is None  # IB's sum of the statement's executions, not the order's size
    assert order.record_number == 1
    assert order.order_time == local(dt.datetime(2022, 2, 15, 10, 20, 1))  # orderTime, not dateTime
    assert order.order_type == "LMT" and order.limit_price is None
    assert order.client_order_id == "mgr-a/1001" and order.order_manager_identifier == "mgr-a"


def test_fills_of_an_order_with_its_order_row_stay_partial_fills() -> None:
    # the ORDER row of 1001 sums the statement's three executions (300): it does not say how large
    # the order was nor whether more was to come, so no execution makes the order "filled"
    out = Output(GOLDEN)
    events = [out.event_of(out.trade(t)) for t in ("1830001", "1830002", "1830003")]
    assert [e.event_type for e in events] == ["partially_filled"] * 3
    assert [e.order_status for e in events] == ["partially_filled"] * 3
    assert all(e.cum_quantity is None and e.leaves_quantity is None and e.avg_price is None for e in events)
    assert events[0].event_time == local(dt.datetime(2022, 2, 15, 10, 20, 26))
    assert len({e.event_identifier for e in events}) == 3


# An order for 500 AAPL, good till cancelled (placed 15 Feb 09:30), executes 100 + 200 @ 10 on 15 Feb
# and 200 @ 11 on 16 Feb: each day's statement has an ORDER row summing that day's executions only.
GTC_DAY1 = document(statement("U1111111", [
    ("Order", order_row("4001", "300", "10", dateTime="20220215;110000", orderTime="20220215;093000")),
    execution("441001", "1840001", "4001", "100", "10", date_time="20220215;100000", order_time="20220215;093000"),
    execution("441002", "1840002", "4001", "200", "10", date_time="20220215;110000", order_time="20220215;093000"),
]))  # fmt: skip
GTC_DAY2 = document(statement("U1111111", [
    ("Order", order_row("4001", "200", "11", dateTime="20220216;100000", orderTime="20220215;093000")),
    execution("441003", "1840003", "4001", "200", "11", date_time="20220216;100000", order_time="20220215;093000"),
], fromDate="20220216", toDate="20220216"))  # fmt: skip


def test_order_filled_over_two_days_is_not_filled_by_its_first_order_row(engine) -> None:
    day1, day2 = Output(GTC_DAY1), Output(GTC_DAY2)
    for out in (day1, day2):
        assert out.rejects == []
        (order,) = out.orders
        assert order.quantity is None  # 300, then 200: what executed that day, not the order's 500
        assert order.order_time == local(dt.datetime(2022, 2, 15, 9, 30))
        assert [e.event_type for e in out.events] == ["partially_filled"] * len(out.trades)
        assert all(e.order_status == "partially_filled" for e in out.events)
        # day 2 alone would give cum 200 @ 11; the order's are 500 @ 10.4: neither day states them
        assert all(e.cum_quantity is None and e.leaves_quantity is None and e.avg_price is None for e in out.events)
    assert day1.orders[0].order_identifier == day2.orders[0].order_identifier

    publish_partition(SOURCE, dt.date(2022, 2, 15), [_facts("memory://day1.xml", GTC_DAY1)], engine=engine)
    publish_partition(SOURCE, dt.date(2022, 2, 16), [_facts("memory://day2.xml", GTC_DAY2)], engine=engine)
    (status,) = OrderStatus.read(engine=engine).to_dict("records")
    assert status["order_quantity"] is None
    assert status["order_status"] == "partially_filled"  # never "filled" before the day-2 fill
    assert status["filled_quantity"] == Decimal(500) and status["trade_count"] == 3
    assert status["avg_price"] == (300 * Decimal(10) + 200 * Decimal(11)) / 500


def test_day_order_partly_filled_then_cancelled_is_not_reported_filled() -> None:
    # a DAY order for 500: 100 + 200 execute, IB cancels the other 200 at the close. The statement
    # holds the two executions and an ORDER row of 300; nothing shows the cancelled remainder
    data = document(statement("U1111111", [
        execution("442001", "1841001", "4002", "100", "10.00", date_time="20220215;100000"),
        execution("442002", "1841002", "4002", "200", "10.10", date_time="20220215;110000"),
        ("Order", order_row("4002", "300", "10.0666667", dateTime="20220215;110000")),
    ]))  # fmt: skip
    out = Output(data)
    assert_agrees_with_ibflex(data, out)
    check_contract(out.records)
    (order,) = out.orders
    assert order.quantity is None and order.record_number == 3
    assert [e.event_type for e in out.events] == ["partially_filled", "partially_filled"]
    assert [e.order_status for e in out.events] == ["partially_filled", "partially_filled"]
    assert all(e.leaves_quantity is None and e.cum_quantity is None for e in out.events)


def test_executions_without_order_rows_derive_one_order() -> None:
    out = Output(GOLDEN)
    (order,) = [o for o in out.orders if o.order_remote_id == "2001"]
    assert order.quantity is None  # an execution statement never says how large the order was
    assert order.order_side == -1
    assert order.order_time == local(dt.datetime(2022, 2, 15, 14, 59, 50))
    assert order.venue_metadata["transactionID"] == "1830100"  # the first execution in time, not in file
    events = [out.event_of(out.trade(t)) for t in ("1830100", "1830101")]
    assert [e.event_type for e in events] == ["partially_filled", "partially_filled"]
    # without the ORDER row the statement may hold only part of the order: totals are unknown, not partial
    assert all(e.cum_quantity is None and e.avg_price is None for e in events)
    assert all(e.leaves_quantity is None for e in events)


def test_sell_with_negative_quantity() -> None:
    out = Output(GOLDEN)
    sell = out.trade("1830010")
    assert sell.trade_side == -1 and sell.quantity == Decimal(200)
    assert sell.commission == Decimal("1.0446") and sell.commission_asset_identifier == "USD"
    assert sell.settlement_cost == Decimal(200) * Decimal("173.5") - Decimal("1.0446")  # cash received
    assert sell.settlement_asset_identifier == "USD"
    assert sell.venue == "ISLAND" and sell.trade_remote_id == "431010"
    assert sell.venue_metadata["ibCommission"] == "-1.0446"  # the raw value is kept


# --- cancellations and corrections --------------------------------------------------------------------------

ORIGINAL = execution("1389766089", "5694297401", "706190606", "-100", "16.2", date_time="20150910;134859",
                     order_time="20150910;133314", notes="")  # fmt: skip
CANCEL = cancellation(ORIGINAL, "5694297405")


def test_cancellation_is_a_bust_of_the_original() -> None:
    data = document(statement("U1111111", [ORIGINAL, CANCEL]))
    out = Output(data)
    assert_agrees_with_ibflex(data, out)
    check_contract(out.records)
    original, bust = out.trade("5694297401"), out.trade("5694297405")
    assert original.trade_kind == "fill" and bust.trade_kind == "bust"
    assert bust.ref_trade_identifier == original.trade_identifier
    assert bust.trade_identifier != original.trade_identifier
    assert bust.trade_side == -1 and bust.quantity == Decimal(100)  # "SELL (Ca.)": the side of the cancelled sell
    assert bust.commission == Decimal(-1)  # the commission is refunded
    event = out.event_of(bust)
    # no ORDER row in this statement: the order's running total is unknown, not 0
    assert event.event_type == "trade_cancel" and event.cum_quantity is None and event.order_status is None
    assert "1389766089" in event.reason


def test_cancellation_in_a_later_statement_refers_to_the_same_fill() -> None:
    day1 = Output(document(statement("U1111111", [ORIGINAL])))
    day2 = Output(document(statement("U1111111", [CANCEL], fromDate="20150911", toDate="20150911")))
    (bust,) = day2.trades
    assert bust.ref_trade_identifier == day1.trades[0].trade_identifier
    assert bust.order_identifier == day1.trades[0].order_identifier
    # the cancel alone still gives its order a row (derived from it, with the side of the fill)
    assert day2.orders[0].order_identifier == day1.orders[0].order_identifier
    assert day2.orders[0].order_side == -1


def test_cancellation_marked_only_by_notes_or_buysell() -> None:
    by_notes = cancellation(ORIGINAL, "5694297405", transactionType="ExchTrade", buySell="SELL")
    by_side = cancellation(ORIGINAL, "5694297405", transactionType="ExchTrade", notes="")
    for row in (by_notes, by_side):
        out = Output(document(statement("U1111111", [ORIGINAL, row])))
        assert out.trade("5694297405").trade_kind == "bust"
        assert out.trade("5694297405").trade_side == -1


def test_rebooked_fill_under_the_same_trade_id_is_a_new_fill() -> None:
    # IB corrects a 2-lot fill to 1 lot: cancel it, then book it again under the same tradeID
    original = execution("1786699376", "10651107881", "726326436", "2", "0.73", ibExecID="0001938c.6a59af42.01.01")
    cancel = cancellation(original, "10651118319")
    rebooked = execution("1786699376", "10651118321", "726326436", "1", "0.73", ibExecID="0001938c.6a59af42.01.02",
                         ibCommission="-0.3333")  # fmt: skip
    data = document(statement("U1111111", [original, cancel, rebooked]))
    out = Output(data)
    assert_agrees_with_ibflex(data, out)
    check_contract(out.records)
    first, bust, again = out.trade("10651107881"), out.trade("10651118319"), out.trade("10651118321")
    assert bust.ref_trade_identifier == first.trade_identifier
    assert again.trade_kind == "fill" and again.trade_identifier != first.trade_identifier
    busted = {t.ref_trade_identifier for t in out.trades if t.trade_kind == "bust"}
    effective = [t for t in out.trades if t.trade_kind == "fill" and t.trade_identifier not in busted]
    assert [t.quantity for t in effective] == [1]
    assert out.event_of(again).cum_quantity is None  # no ORDER row: the order's total is unknown
    assert out.context.stats["rebooked_fills"] == 1
    # a later statement with the cancel and the re-booking only gives the same identifiers
    later = Output(document(statement("U1111111", [cancel, rebooked])))
    assert later.trade("10651118321").trade_identifier == again.trade_identifier
    assert later.trade("10651118319").ref_trade_identifier == first.trade_identifier


def test_cancellation_without_orig_trade_id() -> None:
    # a FracShareCancel of an old statement names no original: matched in the statement, else rejected
    fraction = execution("", "3831648700", "3831648700", "0.276942", "0.00001", transactionType="FracShare",
                         ibExecID="", notes="")  # fmt: skip
    cancel = cancellation(fraction, "3831648707", transactionType="FracShareCancel", origTradeID="",
                          origTransactionID="", origOrderID="0", origTradePrice="0")  # fmt: skip
    out = Output(document(statement("U1111111", [fraction, cancel])))
    assert out.rejects == []
    assert out.trade("3831648707").ref_trade_identifier == out.trade("3831648700").trade_identifier
    assert out.context.stats["ref_by_match"] == 1
    alone = Output(document(statement("U1111111", [cancel])))
    (reject,) = alone.rejects
    assert reject.field == "origTradeID" and "cannot tell which fill" in reject.reason
    assert 'transactionID="3831648707"' in reject.raw_record



def test_a_cancellation_naming_nothing_takes_a_fill_no_other_cancellation_names() -> None:
    # found in review: the nameless cancellation (matched by content) took fill 102, which a later
    # cancellation names by origTransactionID: 102 was busted twice and 101 stayed effective
    first = execution("1", "101", "9001", "100", "10", notes="", date_time="20220215;100000")
    second = execution("2", "102", "9001", "100", "10", notes="", date_time="20220215;100100")
    nameless = cancellation(first, "103", origTradeID="", origTransactionID="", dateTime="20220215;120000")
    explicit = cancellation(second, "104", dateTime="20220215;120100")  # names transactionID 102
    data = document(statement("U1111111", [first, second, nameless, explicit]))
    out = Output(data)
    assert out.rejects == []
    assert_agrees_with_ibflex(data, out)
    check_contract(out.records)
    assert out.trade("104").ref_trade_identifier == out.trade("102").trade_identifier
    assert out.trade("103").ref_trade_identifier == out.trade("101").trade_identifier
    assert out.context.stats["ref_by_match"] == 1
    # the same in an overlapping statement of the file, after one where 102's cancellation was read
    data = document(
        statement("U1111111", [first, second, explicit]),
        statement("U1111111", [first, second, nameless, explicit], fromDate="20220215", toDate="20220216"),
    )
    out = Output(data)
    assert out.rejects == []
    assert out.trade("103").ref_trade_identifier == out.trade("101").trade_identifier
    assert out.context.stats["duplicate_rows"] == 3


def test_correction_refers_to_the_original_and_replaces_it() -> None:
    original = execution("500001", "900001", "3001", "100", "50.00", notes="")
    corrected = execution("500002", "900002", "3001", "100", "50.05", transactionType="TradeCorrect",
                          origTradeID="500001", origTradePrice="50.00", origTradeDate="20220215",
                          origOrderID="3001", notes="", date_time="20220215;102027")  # fmt: skip
    data = document(statement("U1111111", [original, corrected]))
    out = Output(data)
    assert_agrees_with_ibflex(data, out)
    check_contract(out.records)
    fix = out.trade("900002")
    assert fix.trade_kind == "correction" and fix.ref_trade_identifier == out.trade("900001").trade_identifier
    assert fix.price == Decimal("50.05")
    event = out.event_of(fix)
    assert event.event_type == "trade_correct"
    assert event.cum_quantity is None and event.avg_price is None  # no ORDER row: totals unknown
    # origTradeID on a row that is not a cancellation also makes it a correction
    implicit = execution("500003", "900003", "3001", "100", "50.05", origTradeID="500001", notes="")
    out = Output(document(statement("U1111111", [original, implicit])))
    assert out.trade("900003").trade_kind == "correction"



# A fill corrected twice, the second correction naming the first by origTradeID only (a query
# without origTransactionID), and a cancellation of the first correction.
CHAIN_FILL = execution("500001", "900001", "3001", "100", "50.00", notes="")
CHAIN_FIX = execution("500002", "900002", "3001", "100", "50.05", transactionType="TradeCorrect", origTradeID="500001",
                      origTransactionID="", notes="", date_time="20220215;102027")  # fmt: skip
CHAIN_FIX_AGAIN = execution("500003", "900003", "3001", "100", "50.07", transactionType="TradeCorrect",
                            origTradeID="500002", origTransactionID="", notes="",
                            date_time="20220215;102028")  # fmt: skip
CHAIN_FIX_CANCEL = cancellation(CHAIN_FIX, "900004", origTransactionID="", dateTime="20220215;160000")


def test_a_correction_or_cancellation_of_a_correction_refers_to_that_correction(engine) -> None:
    # found in review: only fills were looked up by origTradeID, so both were rejected as "not in
    # this statement" although the correction they name is in it
    corrected_twice = document(statement("U1111111", [CHAIN_FILL, CHAIN_FIX, CHAIN_FIX_AGAIN]))
    out = Output(corrected_twice)
    assert out.rejects == []
    assert_agrees_with_ibflex(corrected_twice, out)
    check_contract(out.records)
    fix, again = out.trade("900002"), out.trade("900003")
    assert fix.ref_trade_identifier == out.trade("900001").trade_identifier
    assert again.trade_kind == "correction" and again.ref_trade_identifier == fix.trade_identifier
    cancelled = document(statement("U1111111", [CHAIN_FILL, CHAIN_FIX, CHAIN_FIX_CANCEL]))
    out = Output(cancelled)
    assert out.rejects == []
    assert_agrees_with_ibflex(cancelled, out)
    bust = out.trade("900004")
    assert bust.trade_kind == "bust" and bust.ref_trade_identifier == out.trade("900002").trade_identifier
    # the warehouse follows the chain back to the fill: the second correction is the trade
    publish_partition(SOURCE, dt.date(2022, 2, 15), [_facts("memory://twice.xml", corrected_twice)], engine=engine)
    (effective,) = EffectiveTrades.read(engine=engine).to_dict("records")
    assert effective["trade_identifier"] == again.trade_identifier and effective["price"] == Decimal("50.07")


# IB re-books a corrected fill under the same tradeID: fill 451001 (transactionID 1850001, 10 @ 1.50)
# is cancelled at 16:00 (1850002) and booked again as 10 @ 1.45 (1850003, a new ibExecID).
REBOOK_ORIGINAL = execution("451001", "1850001", "5001", "10", "1.50", date_time="20220215;100000",
                            order_time="20220215;095900", notes="")  # fmt: skip
REBOOK_CANCEL = cancellation(REBOOK_ORIGINAL, "1850002", dateTime="20220215;160000")
REBOOK_AGAIN = execution("451001", "1850003", "5001", "10", "1.45", date_time="20220215;100000",
                         order_time="20220215;095900", notes="", ibExecID="0000e0d5.451001.01.02")  # fmt: skip


def test_rebooked_fill_after_a_cancellation_in_an_earlier_file_is_kept(engine) -> None:
    day1 = document(statement("U1111111", [REBOOK_ORIGINAL, REBOOK_CANCEL]))
    day2 = document(statement("U1111111", [REBOOK_AGAIN], fromDate="20220216", toDate="20220216"))
    first, second = Output(day1), Output(day2)
    original, bust = first.trade("1850001"), first.trade("1850002")
    (again,) = second.trades
    assert bust.trade_kind == "bust" and bust.ref_trade_identifier == original.trade_identifier
    assert again.trade_kind == "fill" and again.trade_identifier not in (original.trade_identifier,
                                                                        bust.trade_identifier)  # fmt: skip
    assert second.event_of(again).event_identifier != first.event_of(original).event_identifier

    publish_partition(SOURCE, dt.date(2022, 2, 15), [_facts("memory://day1.xml", day1)], engine=engine)
    summary = publish_partition(SOURCE, dt.date(2022, 2, 16), [_facts("memory://day2.xml", day2)], engine=engine)
    assert summary.duplicates["TradesTS"] == 0
    (effective,) = EffectiveTrades.read(engine=engine).to_dict("records")
    assert effective["trade_identifier"] == again.trade_identifier
    assert effective["quantity"] == Decimal(10) and effective["price"] == Decimal("1.45")


def test_rebooked_fill_has_the_same_identifier_whatever_else_the_file_holds() -> None:
    alone = Output(document(statement("U1111111", [REBOOK_AGAIN])))
    (again,) = alone.trades
    same_statement = Output(document(statement("U1111111", [REBOOK_ORIGINAL, REBOOK_CANCEL, REBOOK_AGAIN])))
    later_statement = Output(document(  # one statement a day in one file, then an overlapping one
        statement("U1111111", [REBOOK_ORIGINAL, REBOOK_CANCEL]),
        statement("U1111111", [REBOOK_AGAIN], fromDate="20220216", toDate="20220216"),
        statement("U1111111", [REBOOK_AGAIN], fromDate="20220216", toDate="20220217"),
    ))  # fmt: skip
    for out in (same_statement, later_statement):
        assert out.rejects == []
        check_contract(out.records)
        original = out.trade("1850001")
        assert original.trade_identifier != again.trade_identifier
        assert out.trade("1850002").ref_trade_identifier == original.trade_identifier
        assert out.trade("1850003").trade_identifier == again.trade_identifier
        assert out.trade("1850003").trade_kind == "fill"
        assert out.event_of(out.trade("1850003")).event_identifier == alone.events[0].event_identifier
    assert same_statement.context.stats["rebooked_fills"] == 1
    assert later_statement.context.stats["duplicate_rows"] == 1  # the identical row of the overlap, once


def test_cancellation_of_a_rebooked_fill_in_a_later_statement_refers_to_the_rebooked_fill() -> None:
    again_cancelled = cancellation(REBOOK_AGAIN, "1850004", dateTime="20220216;120000")
    day1 = Output(document(statement("U1111111", [REBOOK_ORIGINAL, REBOOK_CANCEL, REBOOK_AGAIN])))
    day2 = Output(document(statement("U1111111", [again_cancelled], fromDate="20220216", toDate="20220216")))
    (bust,) = day2.trades
    assert bust.ref_trade_identifier == day1.trade("1850003").trade_identifier  # its origTransactionID
    assert bust.ref_trade_identifier != day1.trade("1850001").trade_identifier


def test_cancellation_without_orig_transaction_id() -> None:
    # older statements name the cancelled fill by origTradeID only
    cancel = cancellation(REBOOK_ORIGINAL, "1850002", dateTime="20220215;160000", origTransactionID="")
    out = Output(document(statement("U1111111", [REBOOK_ORIGINAL, cancel, REBOOK_AGAIN])))
    assert out.rejects == []
    # the fill of that tradeID booked before the cancellation, not the later re-booking
    assert out.trade("1850002").ref_trade_identifier == out.trade("1850001").trade_identifier
    # in another statement the booking it cancels cannot be told: rejected, not guessed
    alone = Output(document(statement("U1111111", [cancel], fromDate="20220216", toDate="20220216")))
    (reject,) = alone.rejects
    assert reject.field == "origTransactionID"
    assert "451001" in reject.reason and "not in this file" in reject.reason
    assert alone.trades == [] and alone.context.stats["rejects"] == 1
    # a statement without transactionIDs identifies fills by tradeID, and so its references to them
    fill = dict(REBOOK_ORIGINAL, transactionID="")
    old_cancel = dict(cancel, transactionID="", ibExecID="0000e0d5.451001.02.01")
    day1 = Output(document(statement("U1111111", [fill])))
    day2 = Output(document(statement("U1111111", [old_cancel], fromDate="20220216", toDate="20220216")))
    assert day1.trades[0].trade_identifier == day1.context.identifier("trade", "U1111111", "451001")
    assert day2.trades[0].ref_trade_identifier == day1.trades[0].trade_identifier


def test_a_cancellation_or_correction_naming_only_orig_trade_id_finds_its_fill_in_an_earlier_statement(engine) -> None:
    # found in review: a query with "one statement per day" and without origTransactionID gave
    # day 2's cancellation of day 1's fill as a reject ("not in this statement"): the bust was
    # lost and the cancelled fill stayed effective
    again_cancelled = cancellation(REBOOK_AGAIN, "1850004", dateTime="20220216;120000", origTransactionID="")
    day1 = statement("U1111111", [REBOOK_ORIGINAL, REBOOK_CANCEL, REBOOK_AGAIN, CHAIN_FILL, CHAIN_FIX])
    day2 = statement("U1111111", [again_cancelled, CHAIN_FIX_AGAIN], fromDate="20220216", toDate="20220216")
    data = document(day1, day2)
    out = Output(data)
    assert out.rejects == [] and out.context.stats["rejects"] == 0
    assert_agrees_with_ibflex(data, out)
    check_contract(out.records)
    # the latest booking of tradeID 451001 before the cancellation: the re-booked fill, not the original
    bust = out.trade("1850004")
    assert bust.trade_kind == "bust" and bust.ref_trade_identifier == out.trade("1850003").trade_identifier
    # a correction of day 1's correction goes by that correction's own tradeID
    again = out.trade("900003")
    assert again.trade_kind == "correction" and again.ref_trade_identifier == out.trade("900002").trade_identifier
    assert out.context.stats["busts"] == 2 and out.context.stats["corrections"] == 2
    # the same references as when the rows name their originals by origTransactionID
    by_transaction = [
        dict(again_cancelled, origTransactionID="1850003"),
        dict(CHAIN_FIX_AGAIN, origTransactionID="900002"),
    ]
    named = Output(document(day1, statement("U1111111", by_transaction)))
    assert [named.trade("1850004").ref_trade_identifier, named.trade("900003").ref_trade_identifier] == [
        bust.ref_trade_identifier,
        again.ref_trade_identifier,
    ]
    publish_partition(SOURCE, dt.date(2022, 2, 16), [_facts("memory://week.xml", data)], engine=engine)
    effective = EffectiveTrades.read(engine=engine).set_index("trade_identifier")
    assert sorted(effective.index) == [again.trade_identifier]  # 451001 cancelled twice, 500001 corrected twice


# --- instruments ------------------------------------------------------------------------------------------

OPTION = execution("1786324343", "10650349329", "726154187", "2", "2.14", assetCategory="OPT",
                   symbol="AAPL  220318C00150000", description="AAPL 18MAR22 150 C", conid="518467934",
                   securityID="", securityIDType="", cusip="", isin="", underlyingConid="265598",
                   underlyingSymbol="AAPL", multiplier="100", strike="150", expiry="20220318", putCall="C",
                   exchange="CBOE", commission="-1.3")  # fmt: skip
FUTURE = execution("1786330251", "10650358114", "726156619", "-1", "4380.25", assetCategory="FUT",
                   symbol="ESH2", description="ES 18MAR22", conid="11004968", securityID="", securityIDType="",
                   cusip="", isin="", listingExchange="CME", underlyingConid="11004958", underlyingSymbol="ES",
                   multiplier="50", expiry="20220318", exchange="CME", commission="-2.25")  # fmt: skip


def test_options_and_futures_keep_their_contract_attributes() -> None:
    data = document(statement("U1111111", [OPTION, FUTURE]))
    out = Output(data)
    assert_agrees_with_ibflex(data, out)
    response = oracle(data)
    option_row, future_row = response.FlexStatements[0].Trades
    option, future = out.trade("10650349329"), out.trade("10650358114")
    assert option.asset_identifier == "aapl-c150-2022-03"  # mapped by IB's full local symbol
    assert future.asset_identifier == "es-2022-03"  # mapped by conid
    meta = option.venue_metadata
    assert Decimal(meta["multiplier"]) == option_row.multiplier == 100
    assert Decimal(meta["strike"]) == option_row.strike
    assert meta["expiry"] == option_row.expiry.strftime("%Y%m%d") and meta["putCall"] == option_row.putCall.value
    assert meta["underlyingSymbol"] == option_row.underlyingSymbol == "AAPL"
    assert future.venue_metadata["conid"] == future_row.conid and Decimal(future.venue_metadata["multiplier"]) == 50
    assert future.trade_side == -1 and future.venue == "CME"


def test_unmapped_instrument_keeps_the_local_symbol() -> None:
    out = Output(document(statement("U1111111", [OPTION])), context(assets={}))
    assert out.trades[0].asset_identifier == f"{SOURCE}:AAPL  220318C00150000"
    assert out.context.unmapped_assets["AAPL  220318C00150000"] > 0


# --- times and missing values -------------------------------------------------------------------------------

DATETIME_FORMS = [
    "20220215;102026",
    "2022-02-15;10:20:26",
    "2022-02-1510:20:26",
    "20220215 102026",
    "2022-02-15, 10:20:26",
    "20220215",
    "2022-02-15",
    "20220715;102026",  # summer time: UTC-4
]


@pytest.mark.parametrize("form", DATETIME_FORMS)
def test_every_datetime_form_is_read_in_the_statement_zone(form: str) -> None:
    row = execution("431001", "1830001", "1001", "100", "172.10", date_time=form, order_time=form)
    data = document(statement("U1111111", [row]))
    out = Output(data)
    (expected,) = oracle(data).FlexStatements[0].Trades
    expected_time = expected.dateTime if isinstance(expected.dateTime, dt.datetime) else None
    assert expected_time is not None
    assert out.trades[0].trade_time == local(expected_time)
    assert out.orders[0].order_time == local(expected.orderTime)
    assert out.trades[0].trade_time.tzinfo == UTC
    if len(form) <= 10:
        assert out.context.stats["date_only_times"] > 0


def test_times_follow_the_source_timezone() -> None:
    row = execution("431001", "1830001", "1001", "100", "172.10", date_time="20220215;102026")
    tokyo = Output(document(statement("U1111111", [row])), context(timezone="Asia/Tokyo"))
    assert tokyo.trades[0].trade_time == dt.datetime(2022, 2, 15, 1, 20, 26, tzinfo=UTC)


def test_trade_date_and_time_when_datetime_is_missing() -> None:
    row = execution("431001", "1830001", "1001", "100", "172.10", dateTime="", tradeDate="20220215", tradeTime="102026")
    out = Output(document(statement("U1111111", [row])))
    assert out.trades[0].trade_time == local(dt.datetime(2022, 2, 15, 10, 20, 26))
    assert out.context.stats["time_from_trade_date"] == 1


def _one_trade(date_time: str, ctx: ReaderContext | None = None, **extra: str) -> Output:
    """A statement of A1 then one execution (order 1099) at ``date_time``."""
    row = execution("431099", "1830099", "1099", "100", "172.10", date_time=date_time, **extra)
    return Output(document(statement("U1111111", [A1, row])), ctx)


def _time_reject(out: Output) -> RejectRecord:
    """The one reject of :func:`_one_trade`: its execution, line 2; A1 is read."""
    (reject,) = out.rejects
    assert reject.record_number == 2 and 'transactionID="1830099"' in reject.raw_record
    assert [t.venue_metadata["transactionID"] for t in out.trades] == ["1830001"]
    return reject


TZ_FORMS = [
    # the Flex query's time format "HHmmss TZ" / "HH:mm:ss TZ" with each date format and separator
    ("20261115;093000 EST", dt.datetime(2026, 11, 15, 14, 30, tzinfo=UTC)),
    ("2026-11-15;09:30:00 EST", dt.datetime(2026, 11, 15, 14, 30, tzinfo=UTC)),
    ("2026-11-15, 09:30:00 EST", dt.datetime(2026, 11, 15, 14, 30, tzinfo=UTC)),
    ("20261115 093000 EST", dt.datetime(2026, 11, 15, 14, 30, tzinfo=UTC)),
    ("2026-11-1509:30:00 EST", dt.datetime(2026, 11, 15, 14, 30, tzinfo=UTC)),
    ("20261115093000 EST", dt.datetime(2026, 11, 15, 14, 30, tzinfo=UTC)),
    ("20260715;093000 EDT", dt.datetime(2026, 7, 15, 13, 30, tzinfo=UTC)),
    # the hour repeated on 2026-11-01: the abbreviation tells which
    ("20261101;013000 EDT", dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
    ("20261101;013000 EST", dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize(("form", "expected"), TZ_FORMS)
def test_times_with_a_zone_abbreviation_are_read_and_checked_against_the_zone(form: str, expected: dt.datetime) -> None:
    out = _one_trade(form, order_time=form)
    assert not out.rejects
    assert out.trades[1].trade_time == expected
    (order,) = [o for o in out.orders if o.order_remote_id == "1099"]
    assert order.order_time == expected


def test_a_time_in_the_repeated_autumn_hour_without_zone_is_rejected_saying_how_to_fix_it() -> None:
    # 01:30 on 2026-11-01 came twice in New York (EDT, then EST): an hour apart in UTC
    out = _one_trade("20261101;013000")
    reject = _time_reject(out)
    assert reject.field == "dateTime" and "ambiguous" in reject.reason and "America/New_York" in reject.reason
    assert "05:30:00 UTC" in reject.reason and "06:30:00 UTC" in reject.reason
    assert "HHmmss TZ" in reject.reason  # how to fix it in the Flex query
    # an execution's orderTime only dates the order derived from it: its time then (see below)
    out = _one_trade("20261101;023000", orderTime="2026-11-01;01:59:59")
    assert out.rejects == [] and out.context.stats["unusable_order_times"] == 1
    (order,) = [o for o in out.orders if o.order_remote_id == "1099"]
    assert order.order_time == out.trades[1].trade_time == dt.datetime(2026, 11, 1, 7, 30, tzinfo=UTC)
    # with an explicit offset (old statements) it is no longer ambiguous
    assert _one_trade("20261101;013000-0500").trades[1].trade_time == dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


def test_a_time_in_the_spring_gap_is_rejected() -> None:
    for form in ("20260308;023000", "20260308;023000 EST", "20260308;023000 EDT"):
        reject = _time_reject(_one_trade(form))
        assert reject.field == "dateTime" and "does not exist" in reject.reason, reject



@pytest.mark.parametrize(
    "order_time",
    ["2026-11-01;01:59:59", "20260308;023000", "20261115;093000 CET", "20261115;093000 E5T", "yesterday"],
)
def test_an_unusable_order_time_of_an_execution_keeps_the_fill_and_dates_its_order_by_the_fill(order_time: str) -> None:
    # decided in review: an execution's orderTime (ambiguous, in the spring gap, with another
    # zone's name, malformed) only dates the order derived from it, so it no longer rejects the
    # fill: the order takes the execution's time, as without orderTime
    out = _one_trade("20261115;093000", orderTime=order_time)
    assert out.rejects == []
    trade = out.trade("1830099")
    assert trade.trade_time == dt.datetime(2026, 11, 15, 14, 30, tzinfo=UTC)
    assert out.event_of(trade).event_type == "partially_filled"
    (order,) = [o for o in out.orders if o.order_remote_id == "1099"]
    assert order.order_time == trade.trade_time
    assert order.venue_metadata["orderTime"] == order_time  # the raw text is kept
    assert out.context.stats["unusable_order_times"] == 1 and out.context.stats["derived_orders"] == 2


def test_an_order_row_with_an_unusable_order_time_is_rejected_and_its_order_derived_from_its_fills() -> None:
    ambiguous = "20261101;013000"
    order = order_row("4003", "100", "10", dateTime="20261101;093000", orderTime=ambiguous)
    fill = execution("443001", "1843001", "4003", "100", "10", date_time="20261101;093000", order_time=ambiguous)
    out = Output(document(statement("U1111111", [("Order", order), fill])))
    (reject,) = out.rejects
    assert reject.record_number == 1 and reject.field == "orderTime" and "ambiguous" in reject.reason
    assert reject.raw_record.startswith("<Order ")
    (derived,) = out.orders  # the order is not lost: derived from its execution, dated by it
    assert derived.record_number == 2 and derived.order_time == out.trade("1843001").trade_time
    assert out.context.stats["order_rows"] == 0 and out.context.stats["derived_orders"] == 1
    assert out.context.stats["unusable_order_times"] == 1


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ("20260715;093000 EST", "(EDT)"),  # the winter name in summer
        ("20261115;093000 CET", "(EST)"),  # another zone's name
        ("20261101;013000 CST", "(EDT or EST)"),
        ("20261115;093000 XYZ", "(EST)"),
        ("20261115;093000 E5T", "unexpected text"),
        ("20261115;093000 EST EST", "unexpected text"),
    ],
)
def test_a_zone_abbreviation_that_disagrees_with_the_zone_is_rejected(form: str, words: str) -> None:
    reject = _time_reject(_one_trade(form))
    assert reject.field == "dateTime" and words in reject.reason and repr(form) in reject.reason, reject


def _unzoned(**config: Any) -> ReaderContext:
    ctx = context(**config)
    settings_ = ctx.config.model_dump(exclude={"timezone"})
    return ReaderContext(source=SOURCE, config=SourceConfig(**settings_), uri=URI)


def test_without_a_configured_timezone_only_utc_abbreviations_are_read() -> None:
    assert not _unzoned().config.timezone_configured
    out = _one_trade("20261115;093000 UTC", _unzoned(), order_time="20260715;093000 GMT")
    assert out.trades[1].trade_time == dt.datetime(2026, 11, 15, 9, 30, tzinfo=UTC)
    assert out.orders[1].order_time == dt.datetime(2026, 7, 15, 9, 30, tzinfo=UTC)
    # without an abbreviation, times of a source without timezone are UTC (unchanged)
    out = _one_trade("20261115;093000", _unzoned())
    assert out.trades[1].trade_time == dt.datetime(2026, 11, 15, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("abbreviation", ["EST", "IST", "CST", "BST"])
def test_without_a_configured_timezone_another_abbreviation_is_rejected_asking_for_the_zone(abbreviation: str) -> None:
    # EST is -05:00 in New York and +10:00 in older Australian statements: never guessed
    reject = _time_reject(_one_trade(f"20261115;093000 {abbreviation}", _unzoned()))
    assert reject.field == "dateTime" and abbreviation in reject.reason
    assert "set the source's timezone" in reject.reason


def test_a_date_alone_on_a_day_whose_midnight_the_clocks_skip_is_its_first_instant() -> None:
    # found in review: Santiago skips 00:00-00:59 on 2026-09-06; a date alone was rejected (midnight
    # does not exist), though nothing was observed at midnight: it is 01:00 local, 04:00 UTC
    out = _one_trade("20260906", context(timezone="America/Santiago"))
    assert out.trades[1].trade_time == dt.datetime(2026, 9, 6, 4, 0, tzinfo=UTC)
    assert "does not exist" in _time_reject(_one_trade("20260906;003000", context(timezone="America/Santiago"))).reason


def test_a_source_configured_in_utc_rejects_times_written_in_another_zone() -> None:
    reject = _time_reject(_one_trade("20261115;093000 EST", context(timezone="UTC")))
    assert "(UTC)" in reject.reason and "timezone" in reject.reason
    assert _one_trade("20261115;093000 GMT", context(timezone="UTC")).trades[1].trade_time.hour == 9


def test_trade_date_and_trade_time_with_a_zone_abbreviation() -> None:
    out = _one_trade("", tradeDate="20261101", tradeTime="013000 EST")
    assert out.trades[1].trade_time == dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    reject = _time_reject(_one_trade("", tradeDate="20261101", tradeTime="013000"))
    assert reject.field == "tradeDate" and "ambiguous" in reject.reason


def test_symbol_na_is_national_bank_of_canada_not_a_missing_value() -> None:
    na = execution("431001", "1830001", "1001", "100", "98.50", symbol="NA", conid="NA", isin="N/A",
                   currency="CAD", listingExchange="TSE")  # fmt: skip
    out = Output(document(statement("U1111111", [na])))
    assert not out.rejects
    assert out.trades[0].asset_identifier == f"{SOURCE}:NA" and out.orders[0].asset_identifier == f"{SOURCE}:NA"
    assert out.context.unmapped_assets["NA"] > 0
    assert out.context.stats["identifiers_like_missing"] == 3  # the symbol, conid and isin read as written
    mapped = Output(document(statement("U1111111", [na])), context(assets={"NA": "na-ca-equity"}))
    assert mapped.trades[0].asset_identifier == "na-ca-equity"
    by_conid = Output(document(statement("U1111111", [dict(na, symbol="NA.TO")])), context(assets={"NA": "x"}))
    assert by_conid.trades[0].asset_identifier == "x"  # a conid spelled NA maps too
    # an ORDER row's symbol too
    order = order_row("1001", "100", "98.50", symbol="NA")
    assert Output(document(statement("U1111111", [order, na]))).orders[0].asset_identifier == f"{SOURCE}:NA"
    # the markers that never are a symbol still are missing
    for marker in ("", "-", "--", "null", "None"):
        (reject,) = Output(document(statement("U1111111", [dict(na, symbol=marker)]))).rejects
        assert reject.field == "symbol" and "missing" in reject.reason


def test_na_and_empty_values_are_missing() -> None:
    row = execution("431001", "1830001", "1001", "100", "172.10", netCash="N/A", ibCommission="",
                    ibCommissionCurrency="", exchange="N/A", orderReference="", orderType="",
                    orderTime="N/A", brokerageOrderID="N/A")  # fmt: skip
    data = document(statement("U1111111", [row]))
    out = Output(data)
    assert_agrees_with_ibflex(data, out)
    trade, order = out.trades[0], out.orders[0]
    assert trade.settlement_cost is None and trade.settlement_asset_identifier is None
    assert trade.commission is None and trade.commission_asset_identifier is None
    assert trade.venue is None
    assert order.client_order_id is None and order.order_manager_identifier is None and order.order_type is None
    assert order.order_time == trade.trade_time  # no orderTime: the first execution's time
    assert trade.venue_metadata["netCash"] == "N/A"  # raw kept as sent


def test_other_levels_of_detail_are_skipped_and_counted() -> None:
    lot = execution("431001", "", "", "-100", "172.10", levelOfDetail="CLOSED_LOT")
    summary = execution("", "", "", "100", "172.10", levelOfDetail="SYMBOL_SUMMARY")
    as_trade_tag = order_row("1001", "100", "172.10")  # <Trade levelOfDetail="ORDER">
    data = document(statement("U1111111", [("Lot", lot), ("SymbolSummary", summary), as_trade_tag, A1]))
    out = Output(data)
    assert out.context.stats["skipped_closed_lot"] == 1
    assert out.context.stats["skipped_symbol_summary"] == 1
    assert len(out.trades) == 1 and len(out.orders) == 1 and out.orders[0].order_remote_id == "1001"
    assert out.context.stats["order_rows"] == 1 and out.context.stats["derived_orders"] == 0



def test_an_empty_level_of_detail_is_a_missing_one() -> None:
    # found in review: <Trade levelOfDetail=""> was skipped as an unknown row and its fill lost;
    # "" is a missing value, and a <Trade> without levelOfDetail is an execution
    row = execution("431001", "1830001", "1001", "100", "172.10", levelOfDetail="")
    data = document(statement("U1111111", [row]))
    out = Output(data)
    assert_agrees_with_ibflex(data, out)  # ibflex reads it as a trade too
    assert out.rejects == [] and len(out.events) == 1
    assert out.trade("1830001").trade_kind == "fill" and out.orders[0].order_remote_id == "1001"
    assert out.context.stats["fills"] == 1 and out.context.stats["skipped_unknown_row"] == 0
    # the other missing markers alike; an <Order> is an order, and other elements stay skipped
    order = order_row("1001", "100", "172.10", levelOfDetail="N/A")
    lot = execution("431001", "", "", "-100", "172.10", levelOfDetail=" ")
    out = Output(document(statement("U1111111", [("Order", order), ("Lot", lot), dict(row, levelOfDetail="--")])))
    assert out.rejects == [] and len(out.trades) == 1 and len(out.orders) == 1
    assert out.context.stats["order_rows"] == 1 and out.context.stats["derived_orders"] == 0
    assert out.context.stats["skipped_unknown_row"] == 1


def test_same_trade_twice_in_one_file_is_yielded_once() -> None:
    data = document(statement("U1111111", [A1, A2]), statement("U1111111", [A2, A3]))
    out = Output(data)
    assert [t.venue_metadata["transactionID"] for t in out.trades] == ["1830001", "1830002", "1830003"]
    check_contract(out.records)
    assert out.context.stats["duplicate_rows"] == 1



@pytest.mark.parametrize("names", ["origTradeID", "nothing"])
def test_a_cancellation_repeated_in_overlapping_statements_is_yielded_once_and_not_rejected(names: str) -> None:
    # found in review: the copy in the statement without the fill was rejected ("not in this
    # statement") although the same cancellation was read from the other statement of the file
    fill = execution("1", "101", "9001", "100", "10", notes="", date_time="20220215;100000")
    unnamed = {"origTransactionID": ""} if names == "origTradeID" else {"origTransactionID": "", "origTradeID": ""}
    cancel = cancellation(fill, "105", dateTime="20220216;100000", **unnamed)
    with_fill = statement("U1111111", [fill, cancel], fromDate="20220215", toDate="20220216")
    without_fill = statement("U1111111", [cancel], fromDate="20220216", toDate="20220217")
    for data in (document(with_fill, without_fill), document(without_fill, with_fill)):
        out = Output(data)
        assert out.rejects == [] and out.context.stats["rejects"] == 0
        check_contract(out.records)
        assert [t.trade_kind for t in out.trades] == ["fill", "bust"]
        assert out.trade("105").ref_trade_identifier == out.trade("101").trade_identifier
        assert out.context.stats["busts"] == 1 and out.context.stats["duplicate_rows"] == 1
    # where no statement of the file has the fill, the cancellation is rejected, once
    out = Output(document(without_fill, without_fill))
    (reject,) = out.rejects
    assert reject.record_number == 1 and 'transactionID="105"' in reject.raw_record
    assert out.trades == [] and out.context.stats["rejects"] == 1 and out.context.stats["duplicate_rows"] == 1


# --- bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"tradePrice": ""}, "tradePrice", "missing"),
        ({"quantity": "N/A"}, "quantity", "missing"),
        ({"quantity": "1O0"}, "quantity", "not a number"),
        ({"quantity": "0"}, "quantity", "zero"),
        ({"tradePrice": "NaN"}, "tradePrice", "finite"),
        ({"symbol": ""}, "symbol", "missing"),
        ({"dateTime": "", "tradeDate": ""}, "dateTime", "missing"),
        ({"dateTime": "2022-13-45;10:20:26"}, "dateTime", "not a valid time"),
        ({"dateTime": "20220215;1020"}, "dateTime", "time"),
        ({"tradeID": "", "transactionID": "", "ibExecID": ""}, "tradeID", "missing"),
        ({"buySell": "HOLD"}, "buySell", "BUY"),
        ({"buySell": "BUY", "quantity": "-100"}, "buySell", "contradicts"),
        ({"ibCommission": "1e400"}, "ibCommission", "out of range"),
        ({"currency": "USD" * 10}, "currency", "longer"),
    ],
)
def test_bad_row_is_rejected_and_the_rest_is_read(change: dict[str, str], field: str, words: str) -> None:
    bad = execution("431099", "1830099", "1099", "100", "172.10")
    bad.update(change)
    out = Output(document(statement("U1111111", [A1, bad, A2])))
    (reject,) = out.rejects
    assert reject.field == field and words in reject.reason, reject
    assert reject.record_number == 2
    assert reject.raw_record.startswith("<Trade ") and 'ibOrderID="1099"' in reject.raw_record
    assert [t.venue_metadata["transactionID"] for t in out.trades] == ["1830001", "1830002"]
    assert out.context.stats["rejects"] == 1


def test_thousands_separators_are_read() -> None:
    row = execution("431001", "1830001", "1001", "100", "172.10", netCash="-17,211.00")
    assert Output(document(statement("U1111111", [row]))).trades[0].settlement_cost == Decimal("-17211.00")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<FlexQueryResponse queryName="x" type="AF"><FlexStatements count="1">
<FlexStatement accountId="U1111111" fromDate="20220215" toDate="20220215" period="x" whenGenerated="20220216;083000">
<Trades><Trade accountId="U1111111" symbol="&lol9;" tradeID="1" quantity="1" tradePrice="1"
 dateTime="20220215;102026" levelOfDetail="EXECUTION"/></Trades></FlexStatement></FlexStatements></FlexQueryResponse>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<FlexQueryResponse queryName="x" type="AF"><FlexStatements count="0">&secret;</FlexStatements></FlexQueryResponse>
"""


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (BILLION_LAUGHS, "DTD"),
        (EXTERNAL_ENTITY, "DTD"),
        (b"", "not well-formed"),
        (b"accountId,symbol,quantity\nU1,AAPL,100\n", "not well-formed"),
        (GOLDEN[: len(GOLDEN) // 2], "not well-formed"),
        (GOLDEN.replace(b"Daily trades", "Daily trades \u00e9".encode("latin-1")), "not well-formed"),  # not UTF-8
        (b'<?xml version="1.0" encoding="klingon"?><FlexQueryResponse/>', "not well-formed"),
        (b"<FlexStatementResponse><Status>Fail</Status><ErrorCode>1019</ErrorCode></FlexStatementResponse>", "error"),
        (b"<html><body>maintenance</body></html>", "root element"),
        (b'<FlexQueryResponse queryName="x" type="AF"/>', "no <FlexStatements>"),
    ],
)
def test_unreadable_files_raise_one_error_naming_the_file(data: bytes, words: str) -> None:
    with pytest.raises(ExtractUnreadable) as info:
        list(ibkr_flex.read(data, context()))
    assert info.value.uri == URI and URI in str(info.value)
    assert words in info.value.reason


def test_empty_statement_gives_no_records() -> None:
    data = document(statement("U1111111", []))
    assert list(ibkr_flex.read(data, context())) == []
    assert list(ibkr_flex.read(document(), context())) == []


def trade_confirm(trade_id: str, order_id: str, quantity: str, price: str) -> dict[str, str]:
    """A row of IB's Trade Confirmation Flex query (``<TradeConfirm>``: its own attribute names)."""
    q, p = Decimal(quantity), Decimal(price)
    return {
        "accountId": "U1111111", "currency": "USD", "assetCategory": "STK", "symbol": "AAPL",
        "description": "APPLE INC", "conid": "265598", "isin": "US0378331005", "transactionType": "ExchTrade",
        "tradeID": trade_id, "orderID": order_id, "execID": f"0000e0d5.{trade_id}.01.01", "brokerageOrderID": "",
        "orderReference": f"mgr-a/{order_id}", "dateTime": "20220215;102026", "tradeDate": "20220215",
        "settleDate": "20220217", "exchange": "ISLAND", "buySell": "BUY" if q > 0 else "SELL",
        "quantity": quantity, "price": price, "amount": str(q * p), "proceeds": str(-q * p), "commission": "-1",
        "commissionCurrency": "USD", "orderType": "LMT", "levelOfDetail": "EXECUTION",
    }  # fmt: skip


def test_a_trade_confirmation_query_rejects_every_row_instead_of_reading_empty() -> None:
    # found in review: a source set up with a Trade Confirmation query (type TCF) read zero
    # records, no reject and no error: every fill lost without notice
    rows = [trade_confirm("431001", "1001", "100", "172.10"), trade_confirm("431002", "1001", "-50", "172.50")]
    confirms = "<TradeConfirms>\n" + "\n".join(f"<TradeConfirm {_attrs(row)} />" for row in rows) + "\n</TradeConfirms>"
    tcf = statement("U1111111", []).replace("<Trades>\n\n</Trades>", confirms)
    data = document(tcf).replace(b'type="AF"', b'type="TCF"')
    out = Output(data)
    assert len(oracle(data).FlexStatements[0].TradeConfirms) == 2  # ibflex reads two confirmations
    assert out.trades == [] and out.orders == [] and out.events == []
    assert len(out.rejects) == 2
    for reject, row in zip(out.rejects, rows, strict=True):
        assert reject.field == "TradeConfirms" and "Activity Flex query with the Trades section" in reject.reason
        assert reject.record_number is None  # record numbers count the rows of <Trades> sections only
        assert reject.raw_record.startswith("<TradeConfirm ") and f'tradeID="{row["tradeID"]}"' in reject.raw_record
    assert out.context.stats["trade_confirms_rejected"] == 2 and out.context.stats["rejects"] == 2
    # with both sections (TradeConfirms first), the Trades rows are read as without it, same numbers
    plain = document(statement("U1111111", [A1, A2]), statement("U1111111", [A3]))
    both = plain.replace(b"<Trades>", confirms.encode() + b"\n<Trades>", 1)
    without, with_confirms = Output(plain), Output(both)
    assert [r for r in with_confirms.records if not isinstance(r, RejectRecord)] == without.records
    assert [r.raw_record for r in with_confirms.rejects] == [r.raw_record for r in out.rejects]
    assert with_confirms.context.stats["fills"] == 3 and with_confirms.context.stats["trade_confirms_rejected"] == 2


def test_statements_are_read_one_at_a_time_as_the_file_streams() -> None:
    # a Flex query over many accounts gives one statement per account: each is read as it arrives
    statements = [statement(f"U{9000000 + i}", [execution(str(i), str(i), str(i), "1", "10")]) for i in range(200)]
    data = document(*statements)
    handed: list[int] = []

    def blocks() -> Iterator[bytes]:
        for at in range(0, len(data), 1024):
            handed.append(at)
            yield data[at : at + 1024]

    stream = ibkr_flex.read_stream(blocks(), context())
    first = next(stream)
    assert first.record_number == 1 and len(handed) < len(data) // 1024 // 10
    assert sum(1 for _ in stream) == 3 * 200 - 1  # a derived order, an event and a trade per statement


def test_a_file_cut_short_after_whole_statements_is_still_unreadable() -> None:
    # streamed, the first statement's records come out before the cut is seen; the reader still
    # refuses the file, so ingestion publishes nothing from it
    data = GOLDEN[: GOLDEN.index(b"</FlexStatements>")]
    stream = ibkr_flex.read_stream(blocks_of(data, 64), context())
    with pytest.raises(ExtractUnreadable, match="not well-formed"):
        list(stream)


# --- property tests ---------------------------------------------------------------------------------------

FUZZ_BASE = document(
    statement("U1111111", [("Order", ORDER_1001), A1, A2, A3, S1, ORIGINAL, CANCEL, OPTION]),
    statement("U2222222", [B1, B2]),
)
FUZZ_ROWS = [A1, A2, ORIGINAL, CANCEL, FUTURE, ORDER_1001]
JUNK = st.sampled_from(
    ["", "N/A", "--", "0", "-0", "1e999", "NaN", "-1", "abc", "2022-02-30;25:61:61", "20220215;", "SELL (Ca.)",
     "BUY", "Ca", "TradeCancel", "TradeCorrect", "ORDER", "CLOSED_LOT", "\u00e9\u00e8", "9" * 80, " 1 ", "1,000"]
) | st.text(st.characters(exclude_categories=("Cc", "Cs", "Cn")), max_size=12)  # characters XML can carry  # fmt: skip


def _read_safely(data: bytes) -> list[Any] | None:
    """The records of ``data`` (None: unreadable), checked against the contract and to be the same
    when the bytes are streamed in small blocks."""
    outcomes: list[list[Any] | None] = []
    for source in ((data,), blocks_of(data, 5)):
        try:
            outcomes.append(list(ibkr_flex.read_stream(source, context())))
        except ExtractUnreadable as exc:
            assert exc.uri == URI
            outcomes.append(None)
    records, streamed = outcomes
    assert streamed == records
    if records is not None:
        check_contract(records)
    return records


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    _read_safely(data)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_files_never_raise_anything_else(data: st.DataObject) -> None:
    mutation = data.draw(st.sampled_from(["truncate", "flip", "rows"]))
    if mutation == "truncate":
        blob = FUZZ_BASE[: data.draw(st.integers(0, len(FUZZ_BASE)))]
    elif mutation == "flip":
        blob = bytearray(FUZZ_BASE)
        for _ in range(data.draw(st.integers(1, 8))):
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
        blob = bytes(blob)
    else:  # rows with deleted / duplicated / junk attributes, duplicated rows, other levels
        rows: list[tuple[str, dict[str, str]]] = []
        for _ in range(data.draw(st.integers(1, 6))):
            row = dict(data.draw(st.sampled_from(FUZZ_ROWS)))
            for name in data.draw(st.lists(st.sampled_from(sorted(row)), max_size=4)):
                action = data.draw(st.sampled_from(["delete", "junk"]))
                if action == "delete":
                    row.pop(name, None)
                else:
                    row[name] = data.draw(JUNK)
            tag = data.draw(st.sampled_from(["Trade", "Order", "Lot"]))
            rows.append((tag, row))
            if data.draw(st.booleans()):
                rows.append((tag, row))
        account = data.draw(st.sampled_from(["U1111111", "", "U2222222"]))
        blob = document(statement(account, rows), statement("U1111111", rows[:2]))
    records = _read_safely(blob)
    if mutation == "rows":
        assert records is not None  # well-formed XML is always readable: bad rows become rejects


# --- publishing ---------------------------------------------------------------------------------------------


def _facts(uri: str, data: bytes) -> ExtractFacts:
    ctx = ReaderContext(source=SOURCE, config=context().config, uri=uri)
    return ExtractFacts(uri, hashlib.sha256(data).hexdigest(), len(data), ibkr_flex.NAME, ibkr_flex.VERSION,
                        ibkr_flex.read(data, ctx))  # fmt: skip


def test_overlapping_statements_publish_without_duplicates(engine) -> None:
    # day 1's statement and a statement covering days 1-2 (the same trades again, plus new ones)
    day2_fill = execution("431200", "1830200", "1003", "10", "175.00", date_time="20220216;093500",
                          order_time="20220216;093459")  # fmt: skip
    day1 = document(statement("U1111111", [("Order", ORDER_1001), A1, A2, A3, S1]), statement("U2222222", [B1, B2]))
    both = document(
        statement("U1111111", [A1, A2, A3, S1, day2_fill], fromDate="20220215", toDate="20220216"),
        statement("U2222222", [B1, B2], fromDate="20220215", toDate="20220216"),
    )
    first, second = Output(day1), Output(both)
    shared = {t.trade_identifier for t in first.trades} & {t.trade_identifier for t in second.trades}
    assert len(shared) == 6  # the same trade in two files has the same identifier
    assert {o.order_identifier for o in first.orders} <= {o.order_identifier for o in second.orders}

    publish_partition(SOURCE, dt.date(2022, 2, 15), [_facts("memory://day1.xml", day1)], engine=engine)
    summary = publish_partition(SOURCE, dt.date(2022, 2, 16), [_facts("memory://both.xml", both)], engine=engine)
    assert summary.duplicates["TradesTS"] == 6

    trades = Trades.read(engine=engine)
    assert len(trades) == 7 and trades["trade_identifier"].is_unique
    orders = Orders.read(engine=engine)
    assert len(orders) == 4 and orders["order_identifier"].is_unique
    events = OrderEvents.read(engine=engine)
    assert len(events) == 7 and events["event_identifier"].is_unique
    stored = trades.set_index("trade_identifier")
    sell = stored.loc[first.trade("1830010").trade_identifier]
    assert sell["quantity"] == Decimal(200) and sell["price"] == Decimal("173.5") and sell["trade_side"] == -1
    assert sell["commission"] == Decimal("1.0446")
    assert sell["trade_time"] == local(dt.datetime(2022, 2, 15, 14, 30))
    order_1001 = orders.set_index("order_identifier").loc[first.trade("1830001").order_identifier]
    assert order_1001["quantity"] is None and order_1001["order_manager_identifier"] == "mgr-a"
    # publishing the same files again changes nothing
    publish_partition(SOURCE, dt.date(2022, 2, 16), [_facts("memory://both.xml", both)], engine=engine)
    assert len(Trades.read(engine=engine)) == 7
    assert Counter(Trades.read(engine=engine)["partition_key"]) == Counter(trades["partition_key"])
