"""The fix44 reader: FIX 4.4 (and 4.2) ExecutionReport logs -> orders, order events, trades, rejects.

Every input message is built with ``simplefix`` (an independent FIX implementation: it computes
BodyLength 9 and CheckSum 10), then some are corrupted on purpose. Expected values come from what
the logs say (the builder's inputs, or simplefix's own parse of the same message), never from the
reader's code.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from typing import Any
from unittest import mock

import pytest
import simplefix
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exec_pipeline.data_nodes.execution import (
    ExtractFacts,
    OrderEventRecord,
    OrderRecord,
    Orders,
    RejectRecord,
    TradeRecord,
    Trades,
    OrderEvents,
    publish_partition,
)
from exec_pipeline.lib.sqltypes import json_dumps
from exec_pipeline.models.execution import EVENT_TYPES, LIQUIDITY, ORDER_STATUSES, TRADE_KINDS
from exec_pipeline.readers import fix44
from exec_pipeline.readers.base import ExtractUnreadable, ReaderContext, make_identifier
from exec_pipeline.readers.catalogue import SourceConfig
from exec_pipeline_tests.readers.outcomes import blocks_cut_at, read_outcome

UTC = dt.UTC
SOH = b"\x01"
SOURCE = "fixgw"
ACC1 = "00000000-0000-0000-0000-000000000001"
ASSETS = {
    "AAPL": "aapl-us-equity",
    "MSFT": "msft-us-equity",
    "TSLA": "tsla-us-equity",
    "IBM": "ibm-us-equity",
    "ESH6": "es-2026-03",
    "BNB": "bnb-crypto",
}


def make_context(uri: str = "memory://file") -> ReaderContext:
    config = SourceConfig(
        format=fix44.NAME, accounts={"ACC-1": ACC1}, assets=ASSETS, manager_pattern=r"^(?P<manager>[^/]+)/"
    )
    return ReaderContext(source=SOURCE, config=config, uri=uri)


# --- building logs with simplefix ---------------------------------------------------------------------


def fix_message(
    body: Iterable[tuple[int, object]] | dict[int, object],
    *,
    msg_type: str = "8",
    begin: str = "FIX.4.4",
    seq: int = 1,
    sending: str = "20260105-14:30:00.000",
    sender: str = "BROKER",
    target: str = "FIRM",
    header: Iterable[tuple[int, object]] = (),
) -> bytes:
    """One FIX message, SOH-delimited, with correct BodyLength and CheckSum (simplefix computes them)."""
    message = simplefix.FixMessage()
    message.append_pair(8, begin, header=True)
    message.append_pair(35, msg_type, header=True)
    message.append_pair(49, sender, header=True)
    message.append_pair(56, target, header=True)
    message.append_pair(34, seq, header=True)
    message.append_pair(52, sending, header=True)
    for tag, value in header:
        message.append_pair(tag, value, header=True)
    for tag, value in body.items() if isinstance(body, dict) else body:
        message.append_pair(tag, value)  # None values are left out
    return message.encode()


@dataclass
class Log:
    """A FIX engine log, one message per line; ``add`` returns the line number."""

    lines: list[bytes] = field(default_factory=list)
    messages: list[bytes | None] = field(default_factory=list)  # the SOH message of each line
    seq: int = 0
    begin: str = "FIX.4.4"

    def add(
        self,
        body: Iterable[tuple[int, object]] | dict[int, object],
        *,
        msg_type: str = "8",
        sending: str = "20260105-14:30:00.000",
        sender: str = "BROKER",
        target: str = "FIRM",
        header: Iterable[tuple[int, object]] = (),
        pipe: bool = False,
        prefix: str | None = None,
        corrupt: Callable[[bytes], bytes] | None = None,
        seq: int | None = None,
    ) -> int:
        self.seq += 1
        message = fix_message(
            body, msg_type=msg_type, begin=self.begin, seq=self.seq if seq is None else seq, sending=sending,
            sender=sender, target=target, header=header,
        )  # fmt: skip
        self.messages.append(message)
        line = corrupt(message) if corrupt else message
        if pipe:
            line = line.replace(SOH, b"|")
        if prefix is not None:
            line = prefix.encode() + line
        self.lines.append(line)
        return len(self.lines)

    def text(self, line: bytes) -> int:
        self.lines.append(line)
        self.messages.append(None)
        return len(self.lines)

    def data(self, newline: bytes = b"\n") -> bytes:
        return newline.join(self.lines) + newline


def report(order: dict[int, object], **fields: object) -> dict[int, object]:
    """An ExecutionReport body: the order's fields then the report's (``t60=`` sets tag 60...)."""
    body = dict(order)
    for name, value in fields.items():
        body[int(name[1:])] = value
    return body


# --- reading -----------------------------------------------------------------------------------------


@dataclass
class Result:
    records: list[Any]
    context: ReaderContext

    @property
    def orders(self) -> list[OrderRecord]:
        return [r for r in self.records if isinstance(r, OrderRecord)]

    @property
    def events(self) -> list[OrderEventRecord]:
        return [r for r in self.records if isinstance(r, OrderEventRecord)]

    @property
    def trades(self) -> list[TradeRecord]:
        return [r for r in self.records if isinstance(r, TradeRecord)]

    @property
    def rejects(self) -> list[RejectRecord]:
        return [r for r in self.records if isinstance(r, RejectRecord)]

    @property
    def stats(self) -> Counter[str]:
        return self.context.stats

    def order(self, client_order_id: str) -> OrderRecord:
        (found,) = [o for o in self.orders if o.client_order_id == client_order_id]
        return found

    def events_of(self, client_order_id: str) -> list[OrderEventRecord]:
        order = self.order(client_order_id).order_identifier
        return [e for e in self.events if e.order_identifier == order]

    def trades_of(self, client_order_id: str) -> list[TradeRecord]:
        order = self.order(client_order_id).order_identifier
        return [t for t in self.trades if t.order_identifier == order]


def read_log(data: bytes, context: ReaderContext | None = None) -> Result:
    context = context or make_context()
    return Result(list(fix44.read(data, context)), context)


def effective_trades(trades: list[TradeRecord]) -> dict[str, TradeRecord]:
    """What the warehouse view computes: fills not busted, with corrections applied."""
    fills = {t.trade_identifier: t for t in trades if t.trade_kind == "fill"}
    for trade in trades:
        if trade.trade_kind == "bust":
            fills.pop(trade.ref_trade_identifier, None)
    for trade in trades:
        if trade.trade_kind == "correction" and trade.ref_trade_identifier in fills:
            original = fills[trade.ref_trade_identifier]
            fills[trade.ref_trade_identifier] = original._replace(quantity=trade.quantity, price=trade.price)
    return fills


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the golden log: a realistic trading day ---------------------------------------------------------------

ORDER_A = {37: "OA1", 11: "ALGO1/A-1", 1: "ACC-1", 55: "AAPL", 54: 1, 38: 100, 40: 2, 44: "187.50", 59: 0, 15: "USD"}
ORDER_B = {37: "OB1", 11: "ALGO2/B-1", 1: "ACC-2", 55: "MSFT", 54: 2, 38: 50, 40: 2, 44: "400", 59: 0, 15: "USD"}
ORDER_C = {37: "OC1", 11: "ALGO1/C-1", 1: "ACC-1", 55: "TSLA", 54: 1, 38: 200, 40: 2, 44: "250", 59: 1, 15: "USD"}
ORDER_D = {37: "NONE", 11: "ALGO3/D-1", 1: "ACC-1", 55: "XYZ", 54: 1, 38: 10, 40: 1, 59: 0, 15: "USD"}
ORDER_E = {37: "OE1", 11: "ALGO2/E-1", 1: "ACC-1", 55: "IBM", 54: 2, 38: 100, 40: 1, 59: 3, 15: "USD"}
ORDER_F = {
    37: "OF1", 11: "ALGO1/F-1", 1: "ACC-1", 55: "ES", 200: "202603", 48: "ESH6", 22: "8", 54: 5, 38: 2,
    40: 3, 99: "5000.25", 59: 6, 126: "20260105-21:00:00", 15: "USD",
}  # fmt: skip


def golden_log() -> tuple[Log, dict[str, int]]:
    """A day of a FIX drop copy: six orders and their lives, admin messages, a resend, mixed formats."""
    log = Log()
    at: dict[str, int] = {}
    log.add({98: 0, 108: 30}, msg_type="A", prefix="2026-01-05 14:29:59.001 INFO  [fix-in] ")  # logon
    # A: pending new, new, two fills (the last still says 39=1), a resend of fill 1, the final status
    at["A_pending"] = log.add(report(ORDER_A, t17="EA-1", t150="A", t39="A", t14=0, t151=100, t6=0, t60="20260105-14:30:00"))
    at["A_new"] = log.add(report(ORDER_A, t17="EA-2", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-14:30:00.250"))
    fill_a1 = report(ORDER_A, t17="EA-3", t150="F", t39="1", t32=40, t31="187.49", t14=40, t151=60, t6="187.49",
                     t60="20260105-14:30:01.123456", t30="XNAS", t851=2, t12="0.40", t13="3", t479="USD")  # fmt: skip
    at["A_fill1"] = log.add(fill_a1, sending="20260105-14:30:01.124", prefix="2026-01-05 14:30:01.124 INFO  [fix-in] ")
    log.add({}, msg_type="0")  # heartbeat
    at["A_fill2"] = log.add(
        report(ORDER_A, t17="EA-4", t150="F", t39="1", t32=60, t31="187.50", t14=100, t151=0, t6="187.496",
               t60="20260105-14:30:02.5", t30="XNAS", t851=1, t12="0.005", t13="1"),  # fmt: skip
        pipe=True,
    )
    at["A_resend"] = log.add(
        fill_a1, sending="20260105-14:31:00.000", header=[(43, "Y"), (122, "20260105-14:30:01.124")], pipe=True,
        prefix="2026-01-05 14:31:00.000 WARN  [fix-in] resend: ",
    )  # fmt: skip
    at["A_status"] = log.add(report(ORDER_A, t17="EA-5", t150="I", t39="2", t14=100, t151=0, t6="187.496",
                                    t60="20260105-14:30:03"))  # fmt: skip
    # B: new, cancel request acknowledged (pending cancel), canceled
    at["B_new"] = log.add(report(ORDER_B, t17="EB-1", t150="0", t39="0", t14=0, t151=50, t6=0, t60="20260105-14:35:00.000"))
    cancel = {**ORDER_B, 11: "ALGO2/B-1-cxl", 41: "ALGO2/B-1"}
    at["B_pending"] = log.add(report(cancel, t17="EB-2", t150="6", t39="6", t14=0, t151=50, t6=0, t60="20260105-14:36:00.000"))
    at["B_canceled"] = log.add(report(cancel, t17="EB-3", t150="4", t39="4", t14=0, t151=0, t6=0,
                                      t60="20260105-14:36:00.010", t58="Canceled by user"))  # fmt: skip
    # C: new, fill, replace (pending, replaced: qty 300 @ 251), fill of the replacement
    at["C_new"] = log.add(report(ORDER_C, t17="EC-1", t150="0", t39="0", t14=0, t151=200, t6=0, t60="20260105-15:00:00.000"))
    at["C_fill1"] = log.add(report(ORDER_C, t17="EC-2", t150="F", t39="1", t32=50, t31="249.90", t14=50, t151=150,
                                   t6="249.90", t60="20260105-15:00:01.000"))  # fmt: skip
    replace = {**ORDER_C, 11: "ALGO1/C-2", 41: "ALGO1/C-1"}
    at["C_pending"] = log.add(report(replace, t17="EC-3", t150="E", t39="E", t14=50, t151=150, t6="249.90",
                                     t60="20260105-15:01:00.000"))  # fmt: skip
    at["C_replaced"] = log.add(report({**replace, 38: 300, 44: "251"}, t17="EC-4", t150="5", t39="1", t14=50,
                                      t151=250, t6="249.90", t60="20260105-15:01:00.100"))  # fmt: skip
    at["C_fill2"] = log.add(report({**replace, 38: 300, 44: "251"}, t17="EC-5", t150="F", t39="2", t32=250,
                                   t31="250.95", t14=300, t151=0, t6="250.775", t60="20260105-15:02:00.000"))  # fmt: skip
    log.text(b"")
    # D: rejected at entry (OrderID NONE)
    at["D_rejected"] = log.add(report(ORDER_D, t17="ED-1", t150="8", t39="8", t14=0, t151=0, t6=0, t103=1,
                                      t58="Unknown symbol XYZ", t60="20260105-15:10:00.000"))  # fmt: skip
    # E: two fills, the first busted, the second corrected
    at["E_new"] = log.add(report(ORDER_E, t17="EE-1", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-15:20:00.000"))
    at["E_fill1"] = log.add(report(ORDER_E, t17="EE-F1", t150="F", t39="1", t32=60, t31="150.00", t14=60, t151=40,
                                   t6="150.00", t60="20260105-15:20:01.000", t30="XNYS", t851=2))  # fmt: skip
    at["E_fill2"] = log.add(report(ORDER_E, t17="EE-F2", t150="F", t39="2", t32=40, t31="150.10", t14=100, t151=0,
                                   t6="150.04", t60="20260105-15:20:02.000", t30="XNYS", t851=2))  # fmt: skip
    at["E_bust"] = log.add(report(ORDER_E, t17="EE-B1", t150="H", t19="EE-F1", t39="1", t32=60, t31="150.00", t14=40,
                                  t151=0, t6="150.10", t60="20260105-16:00:00.000", t58="trade busted by venue"))  # fmt: skip
    at["E_correct"] = log.add(report(ORDER_E, t17="EE-C1", t150="G", t19="EE-F2", t39="1", t32=40, t31="150.05",
                                     t14=40, t151=0, t6="150.05", t60="20260105-16:05:00.000"))  # fmt: skip
    # F: a stop order on a future (SecurityID), expired
    at["F_new"] = log.add(report(ORDER_F, t17="EF-1", t150="0", t39="0", t14=0, t151=2, t6=0, t60="20260105-16:10:00.000"))
    at["F_expired"] = log.add(report(ORDER_F, t17="EF-2", t150="C", t39="C", t14=0, t151=0, t6=0, t60="20260105-21:00:00.000"))
    log.add({11: "ALGO9/X-1", 55: "AAPL", 54: 1, 38: 5, 40: 1, 60: "20260105-21:00:01"}, msg_type="D", sender="FIRM", target="BROKER")
    log.add({58: "bye"}, msg_type="5")
    return log, at


@pytest.fixture(scope="module")
def golden() -> tuple[Result, dict[str, int]]:
    log, at = golden_log()
    return read_log(log.data()), at


def test_golden_log_reads_without_rejects_and_counts_what_it_skipped(golden) -> None:
    result, _ = golden
    assert result.rejects == []
    assert result.stats["skipped_messages"] == 4  # logon, heartbeat, the firm's 35=D, logout
    assert result.stats["skipped_35_A"] == result.stats["skipped_35_D"] == 1
    assert result.stats["duplicate_resend"] == 1
    assert result.stats["blank_lines"] == 1
    assert result.stats["bad_checksum"] == result.stats["bad_body_length"] == 0  # simplefix got them right
    assert result.stats["log_prefixed_lines"] == 3
    assert result.stats["pipe_delimited_lines"] == 2
    assert result.stats["stale_fill_status"] == 1
    assert result.context.unmapped_accounts == Counter({"ACC-2": 3})
    assert set(result.context.unmapped_assets) == {"XYZ"}


def test_golden_orders_one_row_each_from_the_first_report(golden) -> None:
    result, at = golden
    assert sorted(o.client_order_id for o in result.orders) == [
        "ALGO1/A-1", "ALGO1/C-1", "ALGO1/C-2", "ALGO1/F-1", "ALGO2/B-1", "ALGO2/E-1", "ALGO3/D-1",
    ]  # fmt: skip
    a = result.order("ALGO1/A-1")
    assert a.record_number == at["A_pending"]
    assert a.order_time == utc("2026-01-05 14:30:00")
    assert a.order_identifier == make_identifier(SOURCE, "order", "OA1", "ALGO1/A-1")
    assert (a.order_remote_id, a.orig_client_order_id) == ("OA1", None)
    assert (a.order_type, a.time_in_force, a.order_side) == ("limit", "day", 1)
    assert (a.quantity, a.limit_price, a.stop_price, a.currency) == (Decimal(100), Decimal("187.50"), None, "USD")
    assert (a.account_identifier, a.asset_identifier, a.order_manager_identifier) == (ACC1, "aapl-us-equity", "ALGO1")
    assert a.venue_metadata is not None and a.venue_metadata["11"] == "ALGO1/A-1"
    b = result.order("ALGO2/B-1")
    assert (b.account_identifier, b.order_side, b.order_manager_identifier) == (f"{SOURCE}:ACC-2", -1, "ALGO2")
    d = result.order("ALGO3/D-1")
    assert d.order_remote_id is None  # 37=NONE is FIX's placeholder, not a venue id
    assert d.asset_identifier == f"{SOURCE}:XYZ" and d.order_type == "market"
    f = result.order("ALGO1/F-1")
    assert (f.order_type, f.time_in_force, f.order_side) == ("stop", "gtd", -1)  # 54=5 sell short
    assert f.stop_price == Decimal("5000.25") and f.limit_price is None
    assert f.expires_time == utc("2026-01-05 21:00:00")
    assert f.asset_identifier == "es-2026-03"  # mapped through SecurityID 48
    e = result.order("ALGO2/E-1")
    assert (e.order_type, e.time_in_force) == ("market", "ioc")


def test_golden_fills_and_the_lagging_final_status(golden) -> None:
    result, at = golden
    events = result.events_of("ALGO1/A-1")
    assert [e.event_type for e in events] == ["pending_new", "new", "partially_filled", "filled", "status"]
    # the last fill said 39=1 with LeavesQty 0: the order is filled after it, and the 150=I confirms
    assert [e.order_status for e in events] == ["pending_new", "new", "partially_filled", "filled", "filled"]
    assert [e.record_number for e in events] == [at[k] for k in ("A_pending", "A_new", "A_fill1", "A_fill2", "A_status")]
    assert events[2].event_time == utc("2026-01-05 14:30:01.123456")
    assert (events[3].cum_quantity, events[3].leaves_quantity, events[3].avg_price) == (
        Decimal(100), Decimal(0), Decimal("187.496"),
    )  # fmt: skip
    trades = result.trades_of("ALGO1/A-1")
    assert [(t.quantity, t.price, t.trade_side) for t in trades] == [
        (Decimal(40), Decimal("187.49"), 1), (Decimal(60), Decimal("187.50"), 1),
    ]  # fmt: skip
    assert sum(t.quantity for t in trades) == result.order("ALGO1/A-1").quantity
    assert [(t.liquidity, t.venue, t.trade_remote_id) for t in trades] == [("taker", "XNAS", "EA-3"), ("maker", "XNAS", "EA-4")]
    # commission: absolute 0.40 USD; 0.005 per share x 60 shares
    assert [(t.commission, t.commission_asset_identifier) for t in trades] == [
        (Decimal("0.40"), "USD"), (Decimal("0.300"), "USD"),
    ]  # fmt: skip
    assert trades[0].trade_time == utc("2026-01-05 14:30:01.123456")
    assert trades[0].trade_identifier == make_identifier(SOURCE, "trade", "OA1", "EA-3")
    assert all(t.trade_kind == "fill" and t.ref_trade_identifier is None for t in trades)
    assert {t.account_identifier for t in trades} == {ACC1}


def test_golden_resend_is_stored_once(golden) -> None:
    result, at = golden
    assert at["A_resend"] not in {r.record_number for r in result.records}
    assert len({t.trade_identifier for t in result.trades}) == len(result.trades)
    assert len({e.event_identifier for e in result.events}) == len(result.events)


def test_golden_cancel_belongs_to_the_order_not_to_the_cancel_request(golden) -> None:
    result, _ = golden
    assert "ALGO2/B-1-cxl" not in {o.client_order_id for o in result.orders}
    events = result.events_of("ALGO2/B-1")
    assert [(e.event_type, e.order_status) for e in events] == [
        ("new", "new"), ("pending_cancel", "pending_cancel"), ("canceled", "canceled"),
    ]  # fmt: skip
    assert events[-1].reason == "Canceled by user"
    assert result.trades_of("ALGO2/B-1") == []


def test_golden_replace_chain_links_the_replacement(golden) -> None:
    result, at = golden
    first, second = result.order("ALGO1/C-1"), result.order("ALGO1/C-2")
    assert (second.orig_client_order_id, second.order_remote_id) == ("ALGO1/C-1", "OC1")
    assert (second.quantity, second.limit_price, second.record_number) == (Decimal(300), Decimal(251), at["C_replaced"])
    assert (first.quantity, first.limit_price) == (Decimal(200), Decimal(250))
    assert [(e.event_type, e.order_status) for e in result.events_of("ALGO1/C-1")] == [
        ("new", "new"), ("partially_filled", "partially_filled"), ("pending_replace", "pending_replace"),
        ("replaced", "replaced"),
    ]  # fmt: skip
    assert [(e.event_type, e.order_status) for e in result.events_of("ALGO1/C-2")] == [
        ("replaced", "partially_filled"), ("filled", "filled"),
    ]  # fmt: skip
    assert [t.quantity for t in result.trades_of("ALGO1/C-1")] == [Decimal(50)]
    assert [(t.quantity, t.price) for t in result.trades_of("ALGO1/C-2")] == [(Decimal(250), Decimal("250.95"))]
    assert "ALGO1/C-2" not in {o.client_order_id for o in result.orders if o.record_number == at["C_pending"]}


def test_golden_reject_keeps_the_reason(golden) -> None:
    result, _ = golden
    (event,) = result.events_of("ALGO3/D-1")
    assert (event.event_type, event.order_status) == ("rejected", "rejected")
    assert event.reason is not None and "Unknown symbol XYZ" in event.reason and "OrdRejReason 1" in event.reason
    assert result.trades_of("ALGO3/D-1") == []


def test_golden_bust_and_correction_refer_to_the_original_fills(golden) -> None:
    result, at = golden
    trades = result.trades_of("ALGO2/E-1")
    fill1, fill2, bust, correction = trades
    assert [t.trade_kind for t in trades] == ["fill", "fill", "bust", "correction"]
    assert bust.ref_trade_identifier == fill1.trade_identifier == make_identifier(SOURCE, "trade", "OE1", "EE-F1")
    assert correction.ref_trade_identifier == fill2.trade_identifier
    assert (bust.quantity, bust.price, bust.record_number) == (Decimal(60), Decimal("150.00"), at["E_bust"])
    assert (correction.quantity, correction.price) == (Decimal(40), Decimal("150.05"))
    assert len({t.trade_identifier for t in trades}) == 4
    assert all(t.trade_side == -1 and t.quantity > 0 for t in trades)
    events = result.events_of("ALGO2/E-1")
    assert [e.event_type for e in events] == ["new", "partially_filled", "filled", "trade_cancel", "trade_correct"]
    assert events[3].reason == "trade busted by venue"
    (effective,) = effective_trades(trades).values()  # fill 1 busted, fill 2 repriced
    assert (effective.quantity, effective.price) == (Decimal(40), Decimal("150.05"))


def test_golden_expired_future(golden) -> None:
    result, _ = golden
    events = result.events_of("ALGO1/F-1")
    assert [(e.event_type, e.order_status) for e in events] == [("new", "new"), ("expired", "expired")]
    assert events[-1].event_time == utc("2026-01-05 21:00:00")


def test_golden_raw_record_is_kept_for_audit(golden) -> None:
    result, at = golden
    (fill,) = [e for e in result.events if e.record_number == at["A_fill1"]]
    metadata = fill.event_metadata
    assert metadata is not None
    assert metadata["17"] == "EA-3" and metadata["31"] == "187.49" and metadata["10"]
    assert metadata["log_prefix"] == "2026-01-05 14:30:01.124 INFO  [fix-in]"
    json.loads(json_dumps(metadata))  # the warehouse can store it


def test_identifiers_do_not_depend_on_the_file() -> None:
    """The same facts read from one file or from two halves (two files, two days) get the same ids."""
    log, at = golden_log()
    whole = read_log(log.data())
    cut = at["D_rejected"]  # an order boundary
    first = read_log(b"\n".join(log.lines[: cut - 1]) + b"\n", make_context("memory://part1"))
    second = read_log(b"\n".join(log.lines[cut - 1 :]) + b"\n", make_context("memory://part2"))

    def ids(result: Result) -> set[tuple[str, str]]:
        return {(type(r).__name__, r[2]) for r in result.records if not isinstance(r, RejectRecord)}

    assert ids(first) | ids(second) == ids(whole)
    again = read_log(log.data(), make_context("memory://elsewhere"))
    assert [r[:3] for r in again.records] == [r[:3] for r in whole.records]


def test_soh_and_pipe_logs_give_the_same_facts() -> None:
    log, _ = golden_log()
    piped = Log(lines=[line.replace(SOH, b"|") for line in log.lines])
    soh = read_log(log.data())
    pipe = read_log(piped.data())
    assert [r[:-1] for r in soh.records] == [r[:-1] for r in pipe.records]  # all but the raw record
    assert pipe.stats["bad_checksum"] == 0 and pipe.stats["bad_body_length"] == 0


def test_classic_mac_line_ends_read_like_line_feeds() -> None:
    log, _ = golden_log()
    lf = b"\n".join(log.lines) + b"\n"
    assert read_log(lf.replace(b"\n", b"\r")).records == read_log(lf).records


def test_crlf_and_utf8_bom_are_accepted() -> None:
    log, _ = golden_log()
    plain = read_log(log.data())
    crlf = read_log(b"\xef\xbb\xbf" + log.data(b"\r\n"))
    assert [r[:-1] for r in crlf.records] == [r[:-1] for r in plain.records]


def test_identifier_rules_are_the_documented_ones(golden) -> None:
    result, at = golden
    (fill,) = [e for e in result.events if e.record_number == at["A_fill1"]]
    assert fill.event_identifier == make_identifier(SOURCE, "event", "OA1", "ALGO1/A-1", "EA-3", "F", "", "1", "40")
    (cancel,) = [e for e in result.events if e.record_number == at["B_canceled"]]
    assert cancel.event_identifier == make_identifier(SOURCE, "event", "OB1", "ALGO2/B-1", "EB-3", "4", "", "4", "0")
    assert cancel.order_identifier == make_identifier(SOURCE, "order", "OB1", "ALGO2/B-1")


def test_bust_without_last_qty_takes_the_busted_fill() -> None:
    log = Log()
    log.add(report(ORDER_E, t17="F1", t150="F", t39="1", t32=30, t31="150", t14=30, t151=70, t6="150", t60="20260105-10:00:00"))
    log.add(report(ORDER_E, t17="B1", t150="H", t19="F1", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:05:00"))
    log.add(report(ORDER_E, t17="B2", t150="H", t19="F0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:06:00"))
    result = read_log(log.data())
    fill, bust = result.trades
    assert (bust.trade_kind, bust.quantity, bust.price) == ("bust", Decimal(30), Decimal(150))
    assert bust.ref_trade_identifier == fill.trade_identifier
    (reject,) = result.rejects  # the fill busted by B2 is in no file we read: its quantity is unknown
    assert (reject.record_number, reject.field) == (3, "tag 32 (LastQty)")


# --- FIX 4.2 dialect ----------------------------------------------------------------------------------------

ORDER_42 = {37: "O42", 11: "C42-1", 1: "ACC-1", 55: "IBM", 54: 1, 38: 100, 40: 2, 44: "10.50", 59: 0, 15: "USD"}


def test_fix42_fills_busts_corrections_and_status() -> None:
    log = Log(begin="FIX.4.2")
    log.add(report(ORDER_42, t17="X1", t20="0", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"))
    log.add(report(ORDER_42, t17="X2", t20="0", t150="1", t39="1", t32=30, t31="10.50", t14=30, t151=70, t6="10.50",
                   t60="20260105-10:00:01"))  # fmt: skip
    log.add(report(ORDER_42, t17="X3", t150="2", t39="2", t32=70, t31="10.40", t14=100, t151=0, t6="10.43",
                   t60="20260105-10:00:02"))  # no 20 at all: a fill  # fmt: skip
    log.add(report(ORDER_42, t17="X4", t20="1", t150="1", t19="X2", t39="1", t32=30, t31="10.50", t14=70, t151=0,
                   t6="10.40", t60="20260105-11:00:00"))  # bust of X2  # fmt: skip
    log.add(report(ORDER_42, t17="X5", t20="2", t150="2", t19="X3", t39="2", t32=70, t31="10.45", t14=70, t151=0,
                   t6="10.45", t60="20260105-11:00:01"))  # correction of X3  # fmt: skip
    log.add(report(ORDER_42, t17="X6", t20="3", t150="2", t39="2", t14=70, t151=0, t6="10.45", t60="20260105-11:00:02"))
    result = read_log(log.data())
    assert result.rejects == []
    assert [(e.event_type, e.order_status) for e in result.events] == [
        ("new", "new"), ("partially_filled", "partially_filled"), ("filled", "filled"),
        ("trade_cancel", "partially_filled"), ("trade_correct", "filled"), ("status", "filled"),
    ]  # fmt: skip
    fill1, fill2, bust, correction = result.trades
    assert [t.trade_kind for t in result.trades] == ["fill", "fill", "bust", "correction"]
    assert (fill1.quantity, fill2.quantity) == (Decimal(30), Decimal(70))
    assert bust.ref_trade_identifier == fill1.trade_identifier
    assert correction.ref_trade_identifier == fill2.trade_identifier
    (effective,) = effective_trades(result.trades).values()
    assert (effective.quantity, effective.price) == (Decimal(70), Decimal("10.45"))
    assert result.stats["fix42_reports"] == 6


def test_fix42_replace_with_ordstatus_replaced() -> None:
    log = Log(begin="FIX.4.2")
    log.add(report(ORDER_42, t17="R1", t20="0", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"))
    log.add(report({**ORDER_42, 11: "C42-2", 41: "C42-1", 38: 150}, t17="R2", t20="0", t150="5", t39="5", t14=0,
                   t151=150, t6=0, t60="20260105-10:05:00"))  # fmt: skip
    result = read_log(log.data())
    assert result.order("C42-2").orig_client_order_id == "C42-1"
    assert result.order("C42-2").quantity == Decimal(150)
    assert [(e.event_type, e.order_status) for e in result.events_of("C42-1")] == [
        ("new", "new"), ("replaced", "replaced"),
    ]  # fmt: skip
    assert [(e.event_type, e.order_status) for e in result.events_of("C42-2")] == [("replaced", "new")]


def test_replaced_order_not_in_the_file_gets_a_row_without_terms() -> None:
    log = Log()
    log.add(report({**ORDER_C, 11: "ALGO1/C-2", 41: "ALGO1/C-1", 38: 300}, t17="Q1", t150="5", t39="0", t14=0,
                   t151=300, t6=0, t60="20260105-10:05:00"))  # fmt: skip
    result = read_log(log.data())
    old = result.order("ALGO1/C-1")
    assert (old.quantity, old.limit_price, old.order_remote_id) == (None, None, "OC1")
    assert result.stats["synthesized_orders"] == 1
    assert [e.order_status for e in result.events_of("ALGO1/C-1")] == ["replaced"]


# --- managers along cancel/replace chains -----------------------------------------------------------------

MOMENTUM = {37: "OM1", 11: "momentum/1", 1: "ACC-1", 55: "AAPL", 54: 1, 38: 100, 40: 2, 44: "187", 59: 0, 15: "USD"}


def replace_chain_log(ids: tuple[str, ...], *, order: dict[int, object] = MOMENTUM, tag: str = "M") -> Log:
    """An order replaced along ``ids`` (the OMS's ClOrdIDs, the first the order's own): for each
    replace a pending replace, the Replaced report (150=5, 41 = the previous id) and a fill of the
    replacement (its 41 still the previous id, as brokers echoing 41 write it)."""
    log = Log()
    log.add(report({**order, 11: ids[0]}, t17=f"{tag}0", t150="0", t39="0", t14=0, t151=100, t6=0,
                   t60="20260105-10:00:00"))  # fmt: skip
    for n, (previous, clordid) in enumerate(pairwise(ids), 1):
        replace = {**order, 11: clordid, 41: previous}
        log.add(report(replace, t17=f"{tag}{n}E", t150="E", t39="E", t14=10 * (n - 1), t151=100 - 10 * (n - 1),
                       t6="187", t60=f"20260105-10:0{n}:00"))  # fmt: skip
        log.add(report(replace, t17=f"{tag}{n}R", t150="5", t39="0" if n == 1 else "1", t14=10 * (n - 1),
                       t151=100 - 10 * (n - 1), t6="187", t60=f"20260105-10:0{n}:01"))  # fmt: skip
        log.add(report(replace, t17=f"{tag}{n}F", t150="F", t39="1", t32=10, t31="187", t14=10 * n,
                       t151=100 - 10 * n, t6="187", t60=f"20260105-10:0{n}:02"))  # fmt: skip
    return log


def managers_of(result: Result) -> dict[str | None, str | None]:
    """What a user sees: each order's manager, by its client order id."""
    return {o.client_order_id: o.order_manager_identifier for o in result.orders}


def test_replacements_without_the_strategy_prefix_keep_the_manager_along_the_chain() -> None:
    result = read_log(replace_chain_log(("momentum/1", "R-1", "R-2", "R-3")).data())
    assert result.rejects == []
    assert managers_of(result) == {"momentum/1": "momentum", "R-1": "momentum", "R-2": "momentum", "R-3": "momentum"}
    assert [o.orig_client_order_id for o in result.orders] == [None, "momentum/1", "R-1", "R-2"]
    # every fill after a replace belongs to an order the manager is known of
    orders = {o.order_identifier: o for o in result.orders}
    assert [(orders[t.order_identifier].client_order_id, orders[t.order_identifier].order_manager_identifier)
            for t in result.trades] == [("R-1", "momentum"), ("R-2", "momentum"), ("R-3", "momentum")]  # fmt: skip


def test_a_replacement_naming_another_manager_keeps_its_own_and_passes_it_on() -> None:
    result = read_log(replace_chain_log(("momentum/1", "R-1", "meanrev/7", "R-9")).data())
    assert managers_of(result) == {"momentum/1": "momentum", "R-1": "momentum", "meanrev/7": "meanrev", "R-9": "meanrev"}


def test_a_replacement_first_seen_through_its_fill_inherits_from_its_orig_clordid() -> None:
    """The Replaced report was in an earlier file: the replacement's fill still names the order it
    replaced (41), whose own id names the manager."""
    log = Log()
    log.add(report({**MOMENTUM, 11: "R-1", 41: "momentum/1"}, t17="X1", t150="F", t39="1", t32=10, t31="187",
                   t14=10, t151=90, t6="187", t60="20260105-10:00:00"))  # fmt: skip
    assert managers_of(read_log(log.data())) == {"R-1": "momentum"}


def test_a_replacement_without_orig_clordid_or_a_prefixed_predecessor_has_no_manager() -> None:
    """Nothing is made up: an unprefixed id with no order of the strategy behind it stays without one."""
    log = Log()
    log.add(report({**MOMENTUM, 11: "R-1"}, t17="Y0", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"))
    log.add(report({**MOMENTUM, 11: "R-2", 41: "R-1"}, t17="Y1", t150="5", t39="0", t14=0, t151=100, t6=0,
                   t60="20260105-10:01:00"))  # fmt: skip
    assert managers_of(read_log(log.data())) == {"R-1": None, "R-2": None}


def test_the_chain_of_managers_survives_the_order_state_spilling_to_disk() -> None:
    """Other orders report between the replaces: with one live order, the chain's order state is
    spilled and loaded back at each replace."""
    chain = replace_chain_log(("momentum/1", "R-1", "R-2", "R-3"))
    other = replace_chain_log(("ALGO1/Z-1", "ZR-1", "ZR-2", "ZR-3"), order={**ORDER_B, 37: "OZ9"}, tag="Z")
    interleaved = Log(lines=[line for pair in zip(chain.lines, other.lines) for line in pair])
    with mock.patch.object(fix44, "LIVE_ORDERS", 1):
        result = read_log(interleaved.data())
    assert result.stats["orders_reloaded"] > 0
    managers = managers_of(result)
    assert [managers[c] for c in ("momentum/1", "R-1", "R-2", "R-3")] == ["momentum"] * 4
    assert [managers[c] for c in ("ALGO1/Z-1", "ZR-1", "ZR-2", "ZR-3")] == ["ALGO1"] * 4


# --- reports whose message does not name their order: the file's orders of the OrderID tell it ----------


def without_clordid(order: dict[int, object], **fields: object) -> dict[int, object]:
    """A report carrying OrderID 37 but no ClOrdID 11 (a venue's unsolicited report, some drop copies)."""
    return {tag: value for tag, value in report(order, **fields).items() if tag != 11}


def owner_of(result: Result, record: OrderEventRecord | TradeRecord) -> tuple[str | None, str | None]:
    """What a user sees of the order a fact belongs to: (client_order_id, order_manager_identifier)."""
    (order,) = [o for o in result.orders if o.order_identifier == record.order_identifier]
    return order.client_order_id, order.order_manager_identifier


def test_a_report_without_clordid_belongs_to_the_one_order_of_its_order_id() -> None:
    log = Log()
    log.add(report(MOMENTUM, t17="K0", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"))
    log.add(without_clordid(MOMENTUM, t17="K1", t150="F", t39="1", t32=10, t31="187", t14=10, t151=90, t6="187",
                            t60="20260105-10:00:01"))  # fmt: skip
    log.add(without_clordid(MOMENTUM, t17="K2", t150="4", t39="4", t14=10, t151=0, t6="187",
                            t60="20260105-21:00:00", t58="canceled at the close"))  # fmt: skip
    result = read_log(log.data())
    assert result.rejects == []
    assert managers_of(result) == {"momentum/1": "momentum"}  # no second order without client id
    (fill,) = result.trades
    assert owner_of(result, fill) == ("momentum/1", "momentum")
    assert [(e.event_type, e.order_status) for e in result.events_of("momentum/1")] == [
        ("new", "new"), ("partially_filled", "partially_filled"), ("canceled", "canceled"),
    ]  # fmt: skip
    assert result.events[1].event_identifier == make_identifier(
        SOURCE, "event", "OM1", "momentum/1", "K1", "F", "", "1", "10"
    )


@pytest.mark.parametrize("live_orders", [fix44.LIVE_ORDERS, 1])
def test_a_report_without_clordid_after_a_replace_belongs_to_the_replacement(live_orders: int) -> None:
    """Also when another order reports between the lines, with its state spilled and loaded back."""
    chain = replace_chain_log(("momentum/1", "R-1", "R-2"))
    chain.add(without_clordid(MOMENTUM, t17="K9", t150="F", t39="2", t32=80, t31="187", t14=100, t151=0, t6="187",
                              t60="20260105-10:05:00"))  # fmt: skip
    other = replace_chain_log(("ALGO1/Z-1", "ZR-1", "ZR-2"), order={**ORDER_B, 37: "OZ9"}, tag="Z")
    other.add(without_clordid({**ORDER_B, 37: "OZ9"}, t17="Z9", t150="4", t39="4", t14=20, t151=0, t6="187",
                              t60="20260105-10:05:00"))  # fmt: skip
    interleaved = Log(lines=[line for pair in zip(chain.lines, other.lines) for line in pair])
    with mock.patch.object(fix44, "LIVE_ORDERS", live_orders):
        result = read_log(interleaved.data())
    assert result.rejects == []
    assert (result.stats["orders_reloaded"] > 0) == (live_orders == 1)
    assert managers_of(result) == {
        "momentum/1": "momentum", "R-1": "momentum", "R-2": "momentum",
        "ALGO1/Z-1": "ALGO1", "ZR-1": "ALGO1", "ZR-2": "ALGO1",
    }  # fmt: skip
    (fill,) = [t for t in result.trades if t.trade_remote_id == "K9"]
    assert owner_of(result, fill) == ("R-2", "momentum")
    assert [e.order_status for e in result.events_of("R-2")][-1] == "filled"
    assert [e.order_status for e in result.events_of("ZR-2")][-1] == "canceled"


def test_a_report_without_clordid_stays_on_its_own_when_the_file_does_not_tell_its_order() -> None:
    """37 unknown in the file, two unrelated orders on one 37, or FIX's shared placeholder 37=NONE:
    the order (37, "") as the message says, without client order id or manager."""
    lone = Log()
    lone.add(without_clordid(MOMENTUM, t17="L1", t150="F", t39="1", t32=10, t31="187", t14=10, t151=90, t6="187",
                             t60="20260105-10:00:01"))  # fmt: skip
    two = Log()
    for clordid, exec_id in (("momentum/1", "T0"), ("meanrev/2", "T1")):
        two.add(report({**MOMENTUM, 11: clordid}, t17=exec_id, t150="0", t39="0", t14=0, t151=100, t6=0,
                       t60="20260105-10:00:00"))  # fmt: skip
    two.add(without_clordid(MOMENTUM, t17="T2", t150="F", t39="1", t32=10, t31="187", t14=10, t151=90, t6="187",
                            t60="20260105-10:00:01"))  # fmt: skip
    rejected = Log()
    rejected.add(report(ORDER_D, t17="N1", t150="8", t39="8", t14=0, t151=0, t6=0, t60="20260105-10:00:00"))
    rejected.add(without_clordid(ORDER_D, t17="N2", t150="8", t39="8", t14=0, t151=0, t6=0, t60="20260105-10:00:01"))
    for log, order_id in ((lone, "OM1"), (two, "OM1"), (rejected, "NONE")):
        result = read_log(log.data())
        last = result.events[-1]
        assert last.order_identifier == make_identifier(SOURCE, "order", order_id, "")
        assert owner_of(result, last) == (None, None)


def test_a_copy_of_a_report_without_clordid_keeps_the_identifiers_of_its_first_delivery() -> None:
    """Read before the order's ClOrdID was known, the report is the order (37, ""); a drop copy read
    after must not become another event of another order."""
    log = Log()
    early = without_clordid(MOMENTUM, t17="C1", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00")
    log.add(early)
    log.add(report(MOMENTUM, t17="C2", t150="F", t39="1", t32=10, t31="187", t14=10, t151=90, t6="187",
                   t60="20260105-10:00:01"))  # fmt: skip
    log.add(early, sender="BROKER-DR")
    log.add(early, header=[(43, "Y"), (122, "20260105-10:00:00")])
    result = read_log(log.data())
    first, fill, copy = result.events
    assert (copy.event_identifier, copy.order_identifier) == (first.event_identifier, first.order_identifier)
    assert result.stats["duplicate_resend"] == 1


def test_a_replacement_canceled_by_the_venue_is_canceled_not_the_order_it_replaced() -> None:
    """An unsolicited 150=4 of a replacement written like its other reports (11 = the replacement,
    41 = the order it replaced): 11 is an order of the file, no cancel request."""
    log = replace_chain_log(("momentum/1", "R-1"))
    cancel = report({**MOMENTUM, 11: "R-1", 41: "momentum/1"}, t17="M9", t150="4", t39="4", t14=10, t151=0,
                    t6="187", t60="20260105-21:00:00", t58="canceled at the close")  # fmt: skip
    log.add(cancel)
    log.add(cancel, header=[(43, "Y"), (122, "20260105-21:00:00")])
    result = read_log(log.data())
    assert [(e.event_type, e.order_status) for e in result.events_of("momentum/1")] == [
        ("new", "new"), ("pending_replace", "pending_replace"), ("replaced", "replaced"),
    ]  # fmt: skip
    assert [(e.event_type, e.order_status) for e in result.events_of("R-1")] == [
        ("replaced", "new"), ("partially_filled", "partially_filled"), ("canceled", "canceled"),
    ]  # fmt: skip
    assert result.events_of("R-1")[-1].reason == "canceled at the close"
    assert result.stats["duplicate_resend"] == 1


def test_a_copy_of_a_cancel_read_before_its_replacement_keeps_the_identifiers_of_its_first_delivery() -> None:
    """Read before the file held an order R-1, the cancel is of 41 (as the message says); its drop copy
    read after R-1's first report is the same fact, with the same identifiers."""
    log = Log()
    cancel = report({**MOMENTUM, 11: "R-1", 41: "momentum/1"}, t17="V9", t150="4", t39="4", t14=10, t151=0,
                    t6="187", t60="20260105-21:00:00")  # fmt: skip
    log.add(cancel)
    log.add(report({**MOMENTUM, 11: "R-1", 41: "momentum/1"}, t17="V1", t150="F", t39="1", t32=10, t31="187",
                   t14=10, t151=90, t6="187", t60="20260105-10:02:00"))  # fmt: skip
    log.add(cancel, sender="BROKER-DR")
    result = read_log(log.data())
    first, copy = [e for e in result.events if e.event_type == "canceled"]
    assert (copy.event_identifier, copy.order_identifier) == (first.event_identifier, first.order_identifier)


def test_a_cancel_request_reusing_an_old_order_id_cancels_the_order_41_names() -> None:
    """Found in review of 1.3.0: a 150=4 whose 11 was any order of the file was taken for that order,
    so a cancel request reusing the chain's first ClOrdID, or a rejected replace request's id,
    cancelled an order already replaced (or never made) and left the live one open."""
    log = replace_chain_log(("momentum/1", "R-1"))
    log.add(report({**MOMENTUM, 11: "momentum/1", 41: "R-1"}, t17="M9", t150="4", t39="4", t14=10, t151=0,
                   t6="187", t60="20260105-21:00:00"))  # fmt: skip
    result = read_log(log.data())
    assert result.events_of("R-1")[-1].event_type == "canceled"
    assert [e.event_type for e in result.events_of("momentum/1")][-1] == "replaced"

    log = Log()
    order = {**MOMENTUM, 11: "momentum/2"}
    log.add(report(order, t17="N1", t150="0", t39="0", t14=0, t151=100, t60="20260105-10:00:00"))
    rejected = {**MOMENTUM, 11: "R-2", 41: "momentum/2"}
    log.add(report(rejected, t17="N2", t150="8", t39="0", t14=0, t151=100, t60="20260105-10:01:00",
                   t58="replace rejected"))  # fmt: skip
    log.add(report(rejected, t17="N3", t150="4", t39="4", t14=0, t151=0, t60="20260105-10:02:00"))
    result = read_log(log.data())
    assert result.events_of("momentum/2")[-1].event_type == "canceled"
    assert "canceled" not in [e.event_type for e in result.events_of("R-2")]


def test_the_venues_cancel_of_a_replacement_made_in_an_earlier_file_cancels_the_replacement() -> None:
    """Found in review: with the replace in yesterday's file, today's file knows R-1 only from its
    fill (no 41 there); the venue's cancel (11 = R-1, 41 = momentum/1) is R-1's, not momentum/1's."""
    log = Log()
    replacement = {**MOMENTUM, 11: "R-1"}
    log.add(report(replacement, t17="D2-1", t150="F", t39="1", t32=10, t31="187", t14=20, t151=80, t6="187",
                   t60="20260106-10:00:00"))  # fmt: skip
    log.add(report({**replacement, 41: "momentum/1"}, t17="D2-2", t150="4", t39="4", t14=20, t151=0, t6="187",
                   t60="20260106-21:00:00"))  # fmt: skip
    result = read_log(log.data())
    assert [e.event_type for e in result.events_of("R-1")] == ["partially_filled", "canceled"]
    assert "momentum/1" not in {o.client_order_id for o in result.orders}  # no order made up for 41


def test_a_cancel_reusing_a_request_id_reported_without_41_cancels_the_live_order() -> None:
    """Found in review: a rejected replace (150=8) or a pending cancel (150=6) sent without 41 made an
    order row for the request's id; a 150=4 reusing it (11 = that id, 41 = the live order) went to it
    and left the order open."""
    for request_type, request_status in (("8", "0"), ("6", "6")):
        log = Log()
        log.add(report({**MOMENTUM, 11: "momentum/1"}, t17="Q1", t150="0", t39="0", t14=0, t151=100,
                       t60="20260105-10:00:00"))  # fmt: skip
        log.add(report({**MOMENTUM, 11: "REQ-1"}, t17="Q2", t150=request_type, t39=request_status, t14=0, t151=100,
                       t60="20260105-10:01:00"))  # fmt: skip
        log.add(report({**MOMENTUM, 11: "REQ-1", 41: "momentum/1"}, t17="Q3", t150="4", t39="4", t14=0, t151=0,
                       t60="20260105-10:02:00"))  # fmt: skip
        result = read_log(log.data())
        assert result.events_of("momentum/1")[-1].event_type == "canceled", request_type


def test_a_cancel_request_of_a_replacement_still_names_the_order_by_41() -> None:
    log = replace_chain_log(("momentum/1", "R-1"))
    request = {**MOMENTUM, 11: "C-1", 41: "R-1"}
    log.add(report(request, t17="M8", t150="6", t39="6", t14=10, t151=90, t6="187", t60="20260105-10:03:00"))
    log.add(report(request, t17="M9", t150="4", t39="4", t14=10, t151=0, t6="187", t60="20260105-10:03:01"))
    result = read_log(log.data())
    assert "C-1" not in managers_of(result)
    assert [e.order_status for e in result.events_of("R-1")][-2:] == ["pending_cancel", "canceled"]


def test_a_pending_replace_without_orig_clordid_is_of_the_order_being_replaced() -> None:
    """FIX 4.4 requires 41 only on 150=4/5/6: a 150=E without it names the replace request (11) only.
    The replacement's row comes with its Replaced report, linked, with the chain's manager."""
    log = Log()
    log.add(report(MOMENTUM, t17="P0", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"))
    pending = report({**MOMENTUM, 11: "R-1", 38: 200}, t17="P1", t150="E", t39="E", t14=0, t151=100, t6=0,
                     t60="20260105-10:00:50")  # fmt: skip
    log.add(pending)
    replaced_at = log.add(report({**MOMENTUM, 11: "R-1", 41: "momentum/1", 38: 200}, t17="P2", t150="5", t39="0",
                                 t14=0, t151=200, t6=0, t60="20260105-10:01:00"))  # fmt: skip
    log.add(pending, header=[(43, "Y"), (122, "20260105-10:00:50")])  # its resend, read after the replace
    result = read_log(log.data())
    replacement = result.order("R-1")
    assert (replacement.orig_client_order_id, replacement.order_manager_identifier, replacement.record_number) == (
        "momentum/1", "momentum", replaced_at,
    )  # fmt: skip
    assert replacement.quantity == Decimal(200)
    assert [(e.event_type, e.order_status) for e in result.events_of("momentum/1")] == [
        ("new", "new"), ("pending_replace", "pending_replace"), ("replaced", "replaced"),
    ]  # fmt: skip
    assert [(e.event_type, e.order_status) for e in result.events_of("R-1")] == [("replaced", "new")]
    assert result.stats["duplicate_resend"] == 1


# --- every ExecType ----------------------------------------------------------------------------------------

EXEC_TYPES = [
    ("0", "0", "new", "new"),
    ("3", "3", "done_for_day", "done_for_day"),
    ("4", "4", "canceled", "canceled"),
    ("5", "0", "replaced", "new"),
    ("6", "6", "pending_cancel", "pending_cancel"),
    ("7", "7", "status", "stopped"),
    ("8", "8", "rejected", "rejected"),
    ("9", "9", "suspended", "suspended"),
    ("A", "A", "pending_new", "pending_new"),
    ("B", "B", "status", "calculated"),
    ("C", "C", "expired", "expired"),
    ("D", "0", "restated", "new"),
    ("E", "E", "pending_replace", "pending_replace"),
    ("F", "1", "partially_filled", "partially_filled"),
    ("G", "1", "trade_correct", "partially_filled"),
    ("H", "0", "trade_cancel", "new"),
    ("I", "D", "status", "accepted_for_bidding"),
]


@pytest.mark.parametrize(("exec_type", "ord_status", "event_type", "order_status"), EXEC_TYPES)
def test_every_exec_type_maps_to_an_event(exec_type: str, ord_status: str, event_type: str, order_status: str) -> None:
    log = Log()
    log.add(report(ORDER_A, t17="P1", t150="F", t39="1", t32=10, t31="187", t14=10, t151=90, t6="187", t60="20260105-10:00:00"))
    line = log.add(report(ORDER_A, t17="P2", t150=exec_type, t39=ord_status, t19="P1", t32=10, t31="187.1", t14=10,
                          t151=90, t6="187", t60="20260105-10:00:01", t378=3))  # fmt: skip
    result = read_log(log.data())
    assert result.rejects == []
    (event,) = [e for e in result.events if e.record_number == line]
    assert (event.event_type, event.order_status) == (event_type, order_status)
    assert event.event_type in EVENT_TYPES and event.order_status in ORDER_STATUSES
    trades = [t for t in result.trades if t.record_number == line]
    expected_kind = {"F": "fill", "G": "correction", "H": "bust"}.get(exec_type)
    assert [t.trade_kind for t in trades] == ([expected_kind] if expected_kind else [])
    if exec_type == "D":
        assert event.reason == "ExecRestatementReason 3 (Repricing of order)"


# --- times ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transact_time", "expected"),
    [
        ("20260105-14:30:01", "2026-01-05 14:30:01"),
        ("20260105-14:30:01.123", "2026-01-05 14:30:01.123"),
        ("20260105-14:30:01.123456", "2026-01-05 14:30:01.123456"),
        ("20260105-14:30:01.123456789", "2026-01-05 14:30:01.123456"),  # nanoseconds: truncated
        ("20260105-14:30:01.5", "2026-01-05 14:30:01.5"),
        ("20261231-23:59:60.250", "2027-01-01 00:00:00.250"),  # leap second
    ],
)
def test_transact_time_precisions(transact_time: str, expected: str) -> None:
    log = Log()
    log.add(report(ORDER_A, t17="T1", t150="F", t39="1", t32=1, t31="187", t14=1, t151=99, t6="187", t60=transact_time))
    result = read_log(log.data())
    assert [e.event_time for e in result.events] == [utc(expected)]
    assert [t.trade_time for t in result.trades] == [utc(expected)]
    assert result.events[0].event_time.tzinfo is UTC


def test_sending_time_when_there_is_no_transact_time() -> None:
    log = Log()
    log.add(report(ORDER_A, t17="T1", t150="0", t39="0", t14=0, t151=100, t6=0), sending="20260105-09:00:00.042")
    result = read_log(log.data())
    assert result.events[0].event_time == utc("2026-01-05 09:00:00.042")
    assert result.orders[0].order_time == utc("2026-01-05 09:00:00.042")


# --- real-log quirks -----------------------------------------------------------------------------------------


def test_simulator_reusing_one_exec_id_for_every_report() -> None:
    """A sloppy simulator sends ExecID 0 on every report: fills are told apart by CumQty progress."""
    log = Log()
    log.add(report(ORDER_A, t17="0", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"))
    for cum, qty in ((10, 10), (30, 20), (100, 70)):
        log.add(report(ORDER_A, t17="0", t150="F", t39="1", t32=qty, t31="187", t14=cum, t151=100 - cum, t6="187",
                       t60=f"20260105-10:00:{cum // 10:02d}"))  # fmt: skip
    log.add(report(ORDER_A, t17="0", t150="I", t39="2", t14=100, t151=0, t6="187", t60="20260105-10:01:00"))
    result = read_log(log.data())
    assert [t.quantity for t in result.trades] == [Decimal(10), Decimal(20), Decimal(70)]
    assert len({t.trade_identifier for t in result.trades}) == 3
    assert result.trades[0].trade_identifier == make_identifier(SOURCE, "trade", "OA1", "0")  # the first keeps ExecID
    assert len({e.event_identifier for e in result.events}) == 5
    assert result.stats["reused_exec_id"] == 2
    assert [e.order_status for e in result.events] == ["new", "partially_filled", "partially_filled", "filled", "filled"]
    # reading it again (another file) gives the same identifiers
    assert [r[2] for r in read_log(log.data()).records] == [r[2] for r in result.records]


def test_fill_without_last_qty_uses_cum_qty_progress() -> None:
    log = Log()
    log.add(report(ORDER_A, t17="N1", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"))
    log.add(report(ORDER_A, t17="N2", t150="F", t39="1", t31="187", t14=25, t151=75, t6="187", t60="20260105-10:00:01"))
    log.add(report(ORDER_A, t17="N3", t150="F", t39="1", t32=0, t31="187", t14=100, t151=0, t6="187", t60="20260105-10:00:02"))
    result = read_log(log.data())
    assert [t.quantity for t in result.trades] == [Decimal(25), Decimal(75)]


def test_resends_deduplicated_on_session_and_exec_id_not_on_seqnum() -> None:
    log = Log()
    new = report(ORDER_A, t17="D1", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00")
    fill = report(ORDER_A, t17="D2", t150="F", t39="1", t32=5, t31="187", t14=5, t151=95, t6="187", t60="20260105-10:00:01")
    log.add(new)
    log.add(fill)
    log.add(fill, header=[(43, "Y"), (122, "20260105-10:00:01")])  # PossDup resend, new MsgSeqNum
    log.add(fill, header=[(97, "Y")])  # PossResend
    log.add(fill)  # the same report again without any flag (a duplicated log line)
    log.add(fill, sender="BROKER-DR")  # the same report from another session (drop copy): kept
    orphan = report(ORDER_A, t17="D3", t150="F", t39="1", t32=5, t31="187", t14=10, t151=90, t6="187", t60="20260105-10:00:02")
    log.add(orphan, header=[(43, "Y")])  # its original is not in this file: kept
    result = read_log(log.data())
    assert result.stats["duplicate_resend"] == 2
    assert result.stats["duplicate_report"] == 1
    assert result.stats["possdup_unmatched"] == 1
    assert [t.record_number for t in result.trades] == [2, 6, 7]
    # the other session's copy is the same fact: same identifiers (the warehouse stores it once)
    assert result.trades[0].trade_identifier == result.trades[1].trade_identifier
    assert sum(t.quantity for t in effective_trades(result.trades).values()) == Decimal(10)


def _set_field(tag: bytes, value: bytes) -> Callable[[bytes], bytes]:
    def corrupt(message: bytes) -> bytes:
        start = message.index(SOH + tag + b"=") + 1
        end = message.index(SOH, start)
        return message[:start] + tag + b"=" + value + message[end:]

    return corrupt


@pytest.mark.parametrize("pipe", [False, True])
def test_wrong_body_length_and_checksum_are_tolerated_and_counted(pipe: bool) -> None:
    log = Log()
    log.add(report(ORDER_A, t17="K1", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"), pipe=pipe)
    log.add(report(ORDER_A, t17="K2", t150="F", t39="1", t32=5, t31="187", t14=5, t151=95, t6="187", t60="20260105-10:00:01"),
            corrupt=_set_field(b"10", b"000"), pipe=pipe)  # fmt: skip
    log.add(report(ORDER_A, t17="K3", t150="F", t39="1", t32=5, t31="187", t14=10, t151=90, t6="187", t60="20260105-10:00:02"),
            corrupt=_set_field(b"9", b"12"), pipe=pipe)  # fmt: skip
    result = read_log(log.data())
    assert result.rejects == []
    assert len(result.trades) == 2
    # a wrong BodyLength also makes the CheckSum wrong (the digits are part of the sum)
    assert (result.stats["bad_checksum"], result.stats["bad_body_length"]) == (2, 1)


def test_checksum_of_a_long_message_with_non_ascii_text() -> None:
    log = Log()
    log.add(report(ORDER_A, t17="L1", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00",
                   t58="ordre accepté " + "x" * 600))  # fmt: skip
    result = read_log(log.data())
    assert result.stats["bad_checksum"] == result.stats["bad_body_length"] == 0
    assert result.events[0].reason is not None and result.events[0].reason.startswith("ordre accepté")


@pytest.mark.parametrize("tag", ["\u00b2", "\u0661\u0662"])  # superscript two, Arabic-Indic 12: str.isdigit() says yes
def test_a_tag_of_non_ascii_digits_is_malformed_on_every_path(tag: str) -> None:
    """FIX tags are ASCII digits. The one-pass split and the field-by-field path (taken when a value
    holds '=') must agree: the line is rejected, naming the field."""
    fields = report(ORDER_A, t17="U1", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00")
    log = Log()
    log.add(fields)
    log.add([*fields.items(), (58, "a=b")])
    odd = f"\x01{tag}=x\x0110=".encode()  # the odd field just before the CheckSum
    result = read_log(b"\n".join(line.replace(b"\x0110=", odd) for line in log.lines) + b"\n")
    assert [(r.record_number, r.field) for r in result.rejects] == [(1, None), (2, None)]
    assert all("malformed field" in r.reason for r in result.rejects)
    assert result.orders == [] and result.events == []


def test_text_values_containing_equals_and_pipes_and_repeating_groups() -> None:
    log = Log()
    parties = [(453, 2), (448, "BRKR1"), (447, "D"), (452, 1), (448, "TRDR7"), (447, "D"), (452, 12)]
    body = [*report(ORDER_A, t17="G1", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00",
                    t58="limit=187.5 | note=a|b").items(), *parties]  # fmt: skip
    log.add(body, pipe=True)
    log.add(body)
    result = read_log(log.data())
    assert result.rejects == []
    pipe_event, soh_event = result.events[0], read_log(b"\n".join(log.lines[1:]) + b"\n").events[0]
    assert pipe_event.reason == soh_event.reason == "limit=187.5 | note=a|b"
    assert soh_event.event_metadata is not None and soh_event.event_metadata["448"] == ["BRKR1", "TRDR7"]
    assert result.stats["repeated_tags"] >= 1


@pytest.mark.parametrize(
    ("comm_type", "commission", "currency", "expected", "asset"),
    [
        (None, "1.50", None, Decimal("1.50"), "USD"),
        ("3", "1.50", "EUR", Decimal("1.50"), "EUR"),
        ("1", "0.01", None, Decimal("0.10"), "USD"),  # per unit x 10
        ("2", "0.001", "BNB", Decimal("1.800"), "bnb-crypto"),  # 0.1% of 10 x 180, in a mapped asset
        ("4", "0.5", None, None, None),  # CIV waived percentages: not an amount
    ],
)
def test_commission_types(comm_type, commission, currency, expected, asset) -> None:
    log = Log()
    log.add(report(ORDER_A, t17="C1", t150="F", t39="1", t32=10, t31="180", t14=10, t151=90, t6="180",
                   t60="20260105-10:00:00", t12=commission, t13=comm_type, t479=currency))  # fmt: skip
    (trade,) = read_log(log.data()).trades
    assert (trade.commission, trade.commission_asset_identifier) == (expected, asset)


def test_option_instrument_and_unmapped_symbol() -> None:
    log = Log()
    option = {**ORDER_A, 200: "202603", 201: "1", 202: "200", 167: "OPT"}
    log.add(report(option, t17="O1", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"))
    result = read_log(log.data())
    assert result.orders[0].asset_identifier == f"{SOURCE}:AAPL 202603 C 200"


# --- bad input -----------------------------------------------------------------------------------------------

GOOD_FILL = report(ORDER_A, t17="B1", t150="F", t39="1", t32=10, t31="187.5", t14=10, t151=90, t6="187.5",
                   t60="20260105-10:00:00.000")  # fmt: skip


def _without(*tags: int) -> dict[int, object]:
    return {k: v for k, v in GOOD_FILL.items() if k not in tags}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_without(37), "tag 37 (OrderID)"),
        (_without(17), "tag 17 (ExecID)"),
        (_without(150), "tag 150 (ExecType)"),
        (_without(54), "tag 54 (Side)"),
        (_without(55), "tag 55 (Symbol)"),
        (_without(60), None),  # falls back to SendingTime 52: not a reject
        ({**GOOD_FILL, 31: "abc"}, "tag 31 (LastPx)"),
        ({**GOOD_FILL, 32: "1e999999999"}, "tag 32 (LastQty)"),
        ({**GOOD_FILL, 14: "NaN"}, "tag 14 (CumQty)"),
        ({**GOOD_FILL, 38: "ten"}, "tag 38 (OrderQty)"),
        ({**GOOD_FILL, 60: "2026-01-05T10:00:00"}, "tag 60 (TransactTime)"),
        ({**GOOD_FILL, 60: "20260230-10:00:00"}, "tag 60 (TransactTime)"),
        ({**GOOD_FILL, 60: "20260105-10:00:00.12x"}, "tag 60 (TransactTime)"),
        ({**GOOD_FILL, 126: "tomorrow"}, "tag 126 (ExpireTime)"),
        ({**GOOD_FILL, 150: "Z"}, "tag 150 (ExecType)"),
        ({**GOOD_FILL, 39: "Q"}, "tag 39 (OrdStatus)"),
        ({**GOOD_FILL, 54: "8"}, "tag 54 (Side)"),
        ({**GOOD_FILL, 20: "7"}, "tag 20 (ExecTransType)"),
        (_without(31), "tag 31 (LastPx)"),
        (_without(32), "tag 32 (LastQty)"),  # first report of the order: no CumQty progress to use
        ({**GOOD_FILL, 150: "H"}, "tag 19 (ExecRefID)"),
        ({**GOOD_FILL, 15: "X" * 40}, "tag 15 (Currency)"),
        ({**GOOD_FILL, 11: "C" * 300}, "tag 11 (ClOrdID)"),
        ({**_without(55), 48: "X" * 300, 22: "8"}, "tag 48 (SecurityID)"),
        ({**GOOD_FILL, 200: "202603", 202: "9" * 300}, "tag 202 (StrikePrice)"),
        ({**GOOD_FILL, 55: "XYZ", 48: "X" * 300}, "tag 48 (SecurityID)"),  # unmapped 55 + 48: both in the id
    ],
)
def test_malformed_reports_are_rejected_naming_the_tag(body: dict[int, object], field: str | None) -> None:
    log = Log()
    log.add(report(ORDER_B, t17="V1", t150="0", t39="0", t14=0, t151=50, t6=0, t60="20260105-09:00:00"))
    bad = log.add(body)
    log.add(report(ORDER_B, t17="V2", t150="4", t39="4", t14=0, t151=0, t6=0, t60="20260105-09:00:01"))
    result = read_log(log.data())
    assert [e.record_number for e in result.events if e.order_identifier == result.order("ALGO2/B-1").order_identifier] == [1, 3]
    if field is None:
        assert result.rejects == []
        return
    (reject,) = result.rejects
    assert (reject.record_number, reject.field) == (bad, field)
    assert reject.raw_record == log.lines[bad - 1].decode()
    assert reject.reason
    assert not [r for r in result.records if r.record_number == bad and not isinstance(r, RejectRecord)]
    assert result.stats["rejects"] == 1


def test_lines_that_are_not_fix_messages() -> None:
    log = Log()
    log.text(b"2026-01-05 10:00:00 INFO session started")
    log.add(GOOD_FILL)
    log.text(b"   ")
    log.text(b"8=FIX.4.4\x019=5\x0134=1\x0110=000\x01")  # no MsgType
    log.text(b"8=FIX.4.4\x01garbage\x0135=8\x01")  # a field without '='
    log.add(GOOD_FILL, corrupt=lambda m: m[: len(m) // 2])  # truncated mid-message
    result = read_log(log.data())
    assert [(r.record_number, r.field) for r in result.rejects] == [
        (1, "tag 8 (BeginString)"), (4, "tag 35 (MsgType)"), (5, "tag 8 (BeginString)"), (6, "tag 17 (ExecID)"),
    ]  # fmt: skip  (the truncated report lost everything after the order's fields; line 5: the field 'garbage' follows)
    assert "malformed field 'garbage'" in result.rejects[2].reason
    assert len(result.trades) == 1 and result.trades[0].record_number == 2
    assert result.stats["blank_lines"] == 1


def test_two_messages_written_on_one_line_are_both_read() -> None:
    first = fix_message(report(ORDER_A, t17="W1", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"))
    second = fix_message(report(ORDER_A, t17="W2", t150="F", t39="1", t32=5, t31="187", t14=5, t151=95, t6="187",
                                t60="20260105-10:00:01"))  # fmt: skip
    result = read_log(b"2026-01-05 10:00:01 IN " + first + second + b"\n" + second.replace(SOH, b"|") + b"\n")
    assert result.rejects == []
    assert [e.event_type for e in result.events] == ["new", "partially_filled"]
    assert [t.record_number for t in result.trades] == [1]
    assert result.stats["several_messages_per_line"] == 1 and result.stats["duplicate_report"] == 1


def test_a_non_utf8_byte_in_a_text_field_is_read_not_fatal() -> None:
    log = Log()
    log.add(report(ORDER_A, t17="U1", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00",
                   t58="re\xe7u".encode("latin-1")))  # fmt: skip
    result = read_log(log.data())
    assert result.rejects == [] and result.events[0].reason == "reçu"
    assert result.stats["non_utf8_lines"] == 1


@pytest.mark.parametrize(
    "data",
    [
        # mtime=0: the gzip header's timestamp would make the test id differ between xdist workers
        gzip.compress(b"8=FIX.4.4\x019=5\x0135=8\x01", mtime=0),
        bytes(range(256)) * 4,  # binary, no FIX at all
        "8\x00=\x00F\x00".encode() * 10,  # NULs, no FIX message
    ],
    ids=["gzip", "binary", "nul-separated"],
)
def test_unreadable_files_raise_one_extract_unreadable(data: bytes) -> None:
    context = make_context("memory://broken.fix")
    with pytest.raises(ExtractUnreadable, match="memory://broken.fix"):
        list(fix44.read(data, context))


def test_empty_and_text_only_files() -> None:
    assert read_log(b"").records == []
    assert read_log(b"\n\n").records == []
    result = read_log(b"date,symbol,qty\n2026-01-05,AAPL,100\n")
    assert [(r.record_number, r.field) for r in result.rejects] == [(1, "tag 8 (BeginString)"), (2, "tag 8 (BeginString)")]


# --- invariants, property tests --------------------------------------------------------------------------------


def check_records(records: list[Any], n_lines: int) -> None:
    """What publish_partition and the warehouse require of every record."""
    for record in records:
        assert isinstance(record, OrderRecord | OrderEventRecord | TradeRecord | RejectRecord)
        if isinstance(record, RejectRecord):
            assert record.reason and (record.record_number is None or 1 <= record.record_number <= n_lines)
            continue
        assert 1 <= record.record_number <= n_lines
        for name, value in record._asdict().items():
            if isinstance(value, dt.datetime):
                assert value.utcoffset() == dt.timedelta(0), name
            if name.endswith(("identifier", "_id")) and value is not None:
                assert isinstance(value, str) and 0 < len(value) <= 255, name
            if isinstance(value, float):
                raise AssertionError(f"{name} is a float")
            if isinstance(value, Decimal):
                assert value.is_finite()
        metadata = record[-1]
        assert metadata is None or isinstance(json.loads(json_dumps(metadata)), dict)
        if isinstance(record, OrderRecord):
            assert record.order_side in (1, -1)
            assert record.currency is None or len(record.currency) <= 16
            assert record.order_type is None or len(record.order_type) <= 32
            assert record.time_in_force is None or len(record.time_in_force) <= 32
        elif isinstance(record, OrderEventRecord):
            assert record.event_type in EVENT_TYPES
            assert record.order_status is None or record.order_status in ORDER_STATUSES
        else:
            assert record.trade_side in (1, -1) and record.quantity > 0
            assert record.trade_kind in TRADE_KINDS
            assert (record.trade_kind == "fill") == (record.ref_trade_identifier is None)
            assert record.liquidity is None or record.liquidity in LIQUIDITY
            assert record.venue is None or len(record.venue) <= 64
            assert record.currency is None or len(record.currency) <= 16


def read_anything(data: bytes) -> Result | None:
    context = make_context()
    try:
        records = list(fix44.read(data, context))
    except ExtractUnreadable:
        return None
    assert context.stats["unexpected_errors"] == 0, [r for r in records if isinstance(r, RejectRecord)]
    check_records(records, max(data.count(b"\n"), data.count(b"\r")) + 1)  # CR-only files split on CR
    return Result(records, context)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash(data: bytes) -> None:
    read_anything(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([b"8=FIX.4.4", b"\x01", b"|", b"=", b"35=8", b"10=", b"9=", b"\n", b"150=F",
                                 b"60=20260105-10:00:00", b"37=", b"17=1", b"54=1", b"55=X", b"32=", b"31=1",
                                 b"14=", b"19=", b"41=", b"11=", b"\xff", b"\x00", b" "]), max_size=60))  # fmt: skip
def test_random_fix_shaped_bytes_never_crash(chunks: list[bytes]) -> None:
    read_anything(b"".join(chunks))


JUNK = st.sampled_from(["", "N/A", "-", "-1", "0", "1e9999", "NaN", "Infinity", "1_000", " 12 ", "\x00", "é",
                        "99999999999999999999999.99999", "x" * 300, "20260105-25:61:61", "Y", "=", "|", "10=000"])  # fmt: skip


@st.composite
def mutated_logs(draw: st.DrawFn) -> bytes:
    log, _ = golden_log()
    lines = [bytearray(line) for line in log.lines]
    for _ in range(draw(st.integers(1, 8))):
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        action = draw(st.sampled_from(["truncate", "flip", "delete_field", "duplicate_field", "junk_value",
                                       "duplicate_line", "drop_line"]))  # fmt: skip
        separator = b"\x01" if b"\x01" in line else b"|"
        fields = bytes(line).split(separator)
        if action == "truncate" and line:
            del line[draw(st.integers(0, len(line) - 1)) :]
        elif action == "flip" and line:
            position = draw(st.integers(0, len(line) - 1))
            line[position] ^= draw(st.integers(1, 255))
        elif action in ("delete_field", "duplicate_field", "junk_value") and len(fields) > 1:
            i = draw(st.integers(0, len(fields) - 1))
            if action == "delete_field":
                del fields[i]
            elif action == "duplicate_field":
                fields.insert(i, fields[i])
            else:
                tag = fields[i].partition(b"=")[0]
                fields[i] = tag + b"=" + draw(JUNK).encode()
            lines[index] = bytearray(separator.join(fields))
        elif action == "duplicate_line":
            lines.insert(index, bytearray(line))
        elif action == "drop_line" and len(lines) > 1:
            del lines[index]
    return b"\n".join(bytes(line) for line in lines) + b"\n"


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_logs())
def test_mutated_logs_never_crash_and_keep_the_contract(data: bytes) -> None:
    result = read_anything(data)
    assert result is not None  # still a FIX log: never unreadable as a whole
    first = [r[:3] for r in result.records]
    assert [r[:3] for r in read_log(data).records] == first  # deterministic


TRICKY_FILES = st.sampled_from([
    b"\xef\xbb\xbf" + b"8=FIX.4.4\x0135=0\x01\r\n" * 3,  # BOM, CRLF
    b"8=FIX.4.4|35=0|\r" * 4,  # classic Mac line ends: no \n anywhere
    b"8=FIX.4.4|35=0|\r" * 4 + b"\n",  # one \n decides the separator at the very end
    "8=FIX.4.4|35=0|\n".encode("utf-16"),
    gzip.compress(b"8=FIX.4.4\x019=5\x0135=8\x01", mtime=0),
    b"a,b\n\xff\xfe\x00x\n" * 3,  # binary without 8=FIX: refused at the end
    b"x\x00y\n" * 5,  # NULs without 8=FIX
    b"abcdefgh\nijkl\n\xff\n",  # the first non-UTF-8 byte named by its offset in the file
    b"\xe2\x82\xac\n8=FIX.4.4|35=8|\xe9\n",  # a multi-byte character and a latin-1 byte
])  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated_logs(), TRICKY_FILES, st.binary(max_size=300)), st.lists(st.integers(0, 10**6), max_size=12))
def test_streamed_blocks_cut_anywhere_read_as_the_whole_file(data: bytes, positions: list[int]) -> None:
    """Ingestion streams a file in blocks; where they are cut (inside a line, a CRLF, a UTF-8
    character, a byte order mark) must never change a record, a counter or a refusal."""
    whole = read_outcome(lambda context: fix44.read(data, context), make_context())
    assert read_outcome(lambda context: fix44.read_stream(blocks_cut_at(data, positions), context), make_context()) == whole
    assert read_outcome(lambda context: fix44.read_stream([bytes([b]) for b in data], context), make_context()) == whole


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def state_heavy_lines() -> list[bytes]:
    """Reports that need an order's earlier ones: fills without LastQty (CumQty progress) and a
    bust without LastQty / LastPx (the busted fill's), besides the golden log's resend and replace."""
    log = Log()
    log.add(report(ORDER_A, t17="N1", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"))
    log.add(report(ORDER_A, t17="N2", t150="F", t39="1", t31="187", t14=25, t151=75, t6="187", t60="20260105-10:00:01"))
    log.add(report(ORDER_E, t17="F1", t150="F", t39="1", t32=30, t31="150", t14=30, t151=70, t6="150", t60="20260105-10:00:00"))
    log.add(report(ORDER_A, t17="N3", t150="F", t39="1", t31="187", t14=100, t151=0, t6="187", t60="20260105-10:00:02"))
    log.add(report(ORDER_E, t17="B1", t150="H", t19="F1", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:05:00"))
    log.add(report(ORDER_A, t17="N2", t150="F", t39="1", t31="187", t14=25, t151=75, t6="187", t60="20260105-10:00:01"),
            sender="DROPCOPY")  # a copy of a fill without LastQty: the fill's quantity  # fmt: skip
    log.add(report(ORDER_E, t17="C1", t150="G", t19="F1", t39="1", t32=30, t31="151", t14=30, t151=70, t6="151",
                   t60="20260105-10:06:00"))  # fmt: skip
    log.add(report(ORDER_E, t17="C2", t150="G", t19="C1", t39="1", t32=30, t31="152", t14=30, t151=70, t6="152",
                   t60="20260105-10:07:00"))  # a correction of the correction: refers to F1  # fmt: skip
    reused = {**ORDER_B, 37: "OZ1"}
    for exec_type, price, cum, at in (("F", "400", 10, "10:00:00"), ("H", "400", 0, "10:01:00"), ("F", "401", 10, "10:02:00")):
        log.add(report(reused, t17="0", t150=exec_type, t19="0" if exec_type == "H" else None, t39="1", t32=10,
                       t31=price, t14=cum, t151=50 - cum, t6=price, t60=f"20260105-{at}"))  # fmt: skip
    chain = replace_chain_log(("momentum/1", "R-1", "R-2")).lines  # managers inherited along replaces
    return log.lines + chain + golden_log()[0].lines


@given(
    st.one_of(
        mutated_logs().map(lambda data: (data, False)),
        st.permutations(state_heavy_lines()).map(lambda lines: (b"\n".join(lines), True)),
    ),
    st.sampled_from([1, 2, 3]),
)
def test_order_state_spilled_to_disk_reads_as_if_kept_in_memory(log: tuple[bytes, bool], live_orders: int) -> None:
    """Big files keep only the latest orders' state in memory (LIVE_ORDERS); with it at 1-3, most
    reports meet an order whose state was spilled and loaded back (shuffled lines interleave the
    orders): nothing may change."""
    data, whole_log = log
    in_memory = read_outcome(lambda context: fix44.read(data, context), make_context())
    with mock.patch.object(fix44, "LIVE_ORDERS", live_orders):
        spilled = read_outcome(lambda context: fix44.read(data, context), make_context())
    if in_memory[0] != "unreadable":
        counters = spilled[1]
        spills = counters.pop("orders_spilled", 0)
        counters.pop("orders_reloaded", 0)
        assert spills > 0 or not whole_log  # the whole log has more orders than LIVE_ORDERS: some spill
    assert spilled == in_memory


@st.composite
def order_lives(draw: st.DrawFn) -> tuple[Log, list[dict[str, Any]]]:
    """Random orders with random partial fills, written in random log styles."""
    log = Log()
    orders: list[dict[str, Any]] = []
    clock = dt.datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    for n in range(draw(st.integers(1, 4))):
        quantity = draw(st.integers(1, 10_000))
        fills = draw(st.lists(st.integers(1, 1_000), max_size=5))
        side = draw(st.sampled_from([1, 2]))
        order = {37: f"ORD-{n}", 11: f"M{n}/c{n}", 1: "ACC-1", 55: draw(st.sampled_from(["AAPL", "MSFT", "ZZZ"])),
                 54: side, 38: quantity, 40: 2, 44: "100.25", 59: 0, 15: "USD"}  # fmt: skip
        style = {"pipe": draw(st.booleans()), "prefix": draw(st.sampled_from([None, "2026-01-05 09:30:00.000 IN  "]))}
        precision = draw(st.sampled_from([0, 3, 6]))

        def stamp() -> str:
            nonlocal clock
            clock += dt.timedelta(microseconds=draw(st.integers(1, 5_000_000)))
            text = clock.strftime("%Y%m%d-%H:%M:%S")
            return text + (f".{clock.microsecond:06d}"[: precision + 1] if precision else "")

        log.add(report(order, t17=f"E{n}-0", t150="0", t39="0", t14=0, t151=quantity, t6=0, t60=stamp()), **style)
        cum = 0
        expected: list[tuple[Decimal, Decimal]] = []
        for i, fill in enumerate(fills):
            fill = min(fill, quantity - cum)
            if fill <= 0:
                break
            cum += fill
            price = Decimal(draw(st.integers(1, 10**7))) / 1000
            log.add(report(order, t17=f"E{n}-{i + 1}", t150="F", t39="2" if cum == quantity else "1", t32=fill,
                           t31=str(price), t14=cum, t151=quantity - cum, t6=str(price), t60=stamp()), **style)  # fmt: skip
            expected.append((Decimal(fill), price))
        orders.append({"client_order_id": order[11], "side": 1 if side == 1 else -1, "fills": expected, "cum": cum})
    return log, orders


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order_lives())
def test_generated_lives_match_simplefix_parse(lives: tuple[Log, list[dict[str, Any]]]) -> None:
    log, orders = lives
    result = read_log(log.data())
    assert result.rejects == []
    assert result.stats["bad_checksum"] == 0
    for order in orders:
        trades = result.trades_of(order["client_order_id"])
        assert [(t.quantity, t.price) for t in trades] == order["fills"]
        assert all(t.trade_side == order["side"] for t in trades)
        events = result.events_of(order["client_order_id"])
        assert events[-1].cum_quantity == order["cum"]
    # simplefix parses the same messages: every event agrees with it
    by_line = {e.record_number: e for e in result.events}
    trade_by_line = {t.record_number: t for t in result.trades}
    for number, message in enumerate(log.messages, 1):
        parser = simplefix.FixParser()
        parser.append_buffer(message)
        parsed = parser.get_message()
        event = by_line[number]
        assert event.cum_quantity == Decimal(parsed.get(14).decode())
        transact = parsed.get(60).decode()
        assert event.event_time.strftime("%Y%m%d-%H:%M:%S.%f").startswith(transact.ljust(17 + 1, ".").rstrip("."))
        assert event.event_metadata is not None and event.event_metadata["17"] == parsed.get(17).decode()
        if parsed.get(150) == b"F":
            trade = trade_by_line[number]
            assert trade.quantity == Decimal(parsed.get(32).decode())
            assert trade.price == Decimal(parsed.get(31).decode())
            assert trade.trade_remote_id == parsed.get(17).decode()


# --- into the warehouse ----------------------------------------------------------------------------------------


def test_publish_twice_from_two_files_gives_the_same_rows(engine) -> None:
    """The same log landed again as another file (next day) adds no rows and keeps every identifier."""
    log, _ = golden_log()
    data = log.data()
    sha = hashlib.sha256(data).hexdigest()
    first_read = read_log(data, make_context("landing/fixgw/2026-01-05/drop.fix"))

    def extract(uri: str) -> ExtractFacts:
        return ExtractFacts(uri, sha, len(data), fix44.NAME, fix44.VERSION, fix44.read(data, make_context(uri)))

    first = publish_partition(SOURCE, dt.date(2026, 1, 5), [extract("landing/fixgw/2026-01-05/drop.fix")], engine=engine)
    assert first.records_read["rejects"] == 0
    orders = Orders.read(engine=engine)
    trades = Trades.read(engine=engine)
    events = OrderEvents.read(engine=engine)
    assert set(orders.order_identifier) == {o.order_identifier for o in first_read.orders}
    assert set(trades.trade_identifier) == {t.trade_identifier for t in first_read.trades}
    assert len(events) == len(first_read.events)

    second = publish_partition(SOURCE, dt.date(2026, 1, 6), [extract("landing/fixgw/2026-01-06/drop-again.fix")], engine=engine)
    assert second.rows_stored == {"OrdersTS": 0, "OrderEventsTS": 0, "TradesTS": 0, "rejects": 0}
    again = Orders.read(engine=engine)
    assert len(again) == len(orders) == 7 and again.order_identifier.is_unique
    trades_again = Trades.read(engine=engine)
    assert len(trades_again) == len(trades) and trades_again.trade_identifier.is_unique
    assert len(OrderEvents.read(engine=engine)) == len(events)
    # values survive the round trip exactly
    a = again.set_index("client_order_id").loc["ALGO1/A-1"]
    assert (a.quantity, a.limit_price, a.order_type, a.account_identifier) == (Decimal(100), Decimal("187.50"), "limit", ACC1)
    busts = trades_again[trades_again.trade_kind == "bust"]
    assert list(busts.ref_trade_identifier) == [make_identifier(SOURCE, "trade", "OE1", "EE-F1")]
    fill = trades_again.set_index("trade_remote_id").loc["EA-3"]
    assert fill.trade_time == utc("2026-01-05 14:30:01.123456") and fill.commission == Decimal("0.40")


# --- one-pass split vs field by field ('|' logs) ---------------------------------------------------------


def test_pipe_text_holding_equals_and_pipe_is_one_value() -> None:
    """An '=' and a '|' inside one Text 58 must not cancel out into a wrong one-pass split."""
    log = Log()
    fill = log.add(report(ORDER_A, t17="P1", t150="F", t39="1", t32=10, t31="187", t14=10, t151=90, t6="187",
                          t60="20260105-10:00:00", t58="fee=12|waived"), pipe=True)  # fmt: skip
    market = {**ORDER_B, 40: 1, 44: None}
    new = log.add(report(market, t17="P2", t150="0", t39="0", t14=0, t151=50, t6=0, t60="20260105-10:00:01",
                         t58="trigger=99|12.5"), pipe=True)  # fmt: skip
    result = read_log(log.data())
    assert result.rejects == []
    (trade,) = result.trades
    assert (trade.record_number, trade.quantity, trade.commission) == (fill, Decimal(10), None)  # no 12 sent
    assert [e.reason for e in result.events] == ["fee=12|waived", "trigger=99|12.5"]
    order = result.order("ALGO2/B-1")
    assert (order.record_number, order.order_type, order.stop_price) == (new, "market", None)  # no 99 sent


@pytest.mark.parametrize(
    ("pipe", "after"),
    [(True, (b"11", b"31", b"58")), (True, (b"60",)), (False, (b"11", b"31", b"58")), (False, (b"60",))],
)
def test_empty_fields_are_nothing_with_either_delimiter(pipe: bool, after: tuple[bytes, ...]) -> None:
    """An empty field ('||', SOH SOH) is nothing; a single one (before Text 58) and the '=' in the
    Text "7=5" must not cancel out into a shifted one-pass split."""

    def corrupt(message: bytes) -> bytes:
        for tag in after:
            start = message.index(SOH + tag + b"=") + 1
            end = message.index(SOH, start)
            message = message[:end] + SOH + message[end:]  # an empty field after the tag's
        return message

    log = Log()
    log.add(report(ORDER_A, t17="Q1", t150="F", t39="1", t32=10, t31="187", t14=10, t151=90, t6="187",
                   t60="20260105-10:00:00", t58="7=5"), corrupt=corrupt, pipe=pipe)  # fmt: skip
    result = read_log(log.data())
    assert result.rejects == []
    (order,), (event,), (trade,) = result.orders, result.events, result.trades
    assert order.client_order_id == "ALGO1/A-1"
    assert (trade.quantity, trade.price) == (Decimal(10), Decimal(187))
    assert event.reason == "7=5"
    assert event.event_metadata is not None and "7" not in event.event_metadata  # no tag 7 was sent


@st.composite
def pipe_texts(draw: st.DrawFn) -> tuple[str, str]:
    """Text 58 / ClOrdID 11 values holding '=', '|' and empty pieces, for '|' ExecutionReports."""
    text = st.text(alphabet="a1=| ", max_size=12)
    return draw(text), "C" + draw(text)


def _pipe_line(text: str, clordid: str, *, repeated: bool) -> bytes:
    fields = [*report({**ORDER_A, 11: clordid}, t17="R1", t150="F", t39="1", t32=10, t31="187", t14=10, t151=90,
                      t6="187", t60="20260105-10:00:00", t58=text).items()]  # fmt: skip
    if repeated:  # a repeated tag (a repeating group) sends the line field by field
        fields += [(9999, "x"), (9999, "y")]
    return fix_message(fields).replace(SOH, b"|")


@settings(max_examples=300, deadline=None)
@given(pipe_texts())
def test_one_pass_split_of_pipe_lines_agrees_with_field_by_field(values: tuple[str, str]) -> None:
    """Whatever a '|' line holds, the one-pass split reads what the field-by-field path reads."""

    def facts(repeated: bool) -> list[tuple[Any, ...]]:
        result = read_log(_pipe_line(*values, repeated=repeated) + b"\n")
        return [(r.record_number, r.field) if isinstance(r, RejectRecord) else r[:-1] for r in result.records]

    assert facts(repeated=False) == facts(repeated=True)


# --- several messages on one line ---------------------------------------------------------------------------


@pytest.mark.parametrize("pipe", [False, True])
def test_second_message_glued_to_the_checksum_is_read(pipe: bool) -> None:
    first = fix_message(report(ORDER_A, t17="W1", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"))
    second = fix_message(report(ORDER_A, t17="W2", t150="F", t39="1", t32=5, t31="187", t14=5, t151=95, t6="187",
                                t60="20260105-10:00:01"))  # fmt: skip
    line = first[:-1] + second  # "...10=123" + "8=FIX.4.4...": the delimiter after the CheckSum is lost
    if pipe:
        line = line.replace(SOH, b"|")
    result = read_log(line + b"\n")
    assert result.rejects == []
    assert [(e.record_number, e.event_type) for e in result.events] == [(1, "new"), (1, "partially_filled")]
    assert [(t.trade_remote_id, t.quantity) for t in result.trades] == [("W2", Decimal(5))]
    assert result.stats["several_messages_per_line"] == 1
    assert result.stats["bad_checksum"] == 0  # each message's own CheckSum


def test_a_second_header_that_cannot_be_cut_rejects_the_line() -> None:
    """A repeated MsgType 35 means a second message even when its 8=FIX is lost: never one message."""
    first = fix_message(report(ORDER_A, t17="W1", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"))
    second = fix_message(report(ORDER_A, t17="W2", t150="F", t39="1", t32=5, t31="187", t14=5, t151=95, t6="187",
                                t60="20260105-10:00:01"))  # fmt: skip
    headless = second[second.index(SOH + b"35=") + 1 :]  # "35=8|49=...": the logger dropped "8=FIX.4.4|9=..."
    result = read_log(first + headless + b"\n")
    (reject,) = result.rejects
    assert (reject.record_number, reject.field) == (1, "tag 8 (BeginString)")
    assert result.events == [] and result.trades == []


# --- drop copies and resends ---------------------------------------------------------------------------------


def test_drop_copy_lagging_behind_does_not_move_the_cum_qty_progress() -> None:
    """Fills without LastQty: the quantity is the CumQty progress since the previous report first
    delivered; a drop copy (another session) of reports read already takes their quantities."""
    log = Log()
    new = report(ORDER_A, t17="N", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00")

    def fill(exec_id: str, cum: int, second: int) -> dict[int, object]:
        return report(ORDER_A, t17=exec_id, t150="F", t39="1", t31="187", t14=cum, t151=100 - cum, t6="187",
                      t60=f"20260105-10:00:0{second}")  # fmt: skip

    log.add(new)
    log.add(fill("F1", 10, 1))
    log.add(fill("F2", 30, 2))
    log.add(new, sender="DROPCOPY")
    log.add(fill("F1", 10, 1), sender="DROPCOPY")
    log.add(fill("F3", 60, 3))  # 60 - 30
    log.add(fill("F2", 30, 2), sender="DROPCOPY")
    log.add(fill("F3", 60, 3), sender="DROPCOPY")
    result = read_log(log.data())
    assert result.rejects == []
    assert [(t.trade_remote_id, t.quantity) for t in result.trades] == [
        ("F1", 10), ("F2", 20), ("F1", 10), ("F3", 30), ("F2", 20), ("F3", 30),
    ]  # fmt: skip
    unique = {t.trade_identifier: t.quantity for t in result.trades}
    assert len(unique) == 3 and sum(unique.values()) == Decimal(60)


def test_refill_after_a_bust_reusing_the_exec_id_is_a_new_trade() -> None:
    """A simulator sending ExecID 0 everywhere: fill, bust of it, then a new fill of the same size at
    the same CumQty: at another price (order OR1), at the same price but later (order OR2)."""
    log = Log()

    def fill(order_id: str, price: str, at: str) -> dict[int, object]:
        return report({**ORDER_A, 37: order_id}, t17="0", t150="F", t39="1", t32=10, t31=price, t14=10, t151=90,
                      t6=price, t60=at)  # fmt: skip

    for order_id, refill_price in (("OR1", "187.2"), ("OR2", "187")):
        order = {**ORDER_A, 37: order_id}
        log.add(report(order, t17="0", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"))
        log.add(fill(order_id, "187", "20260105-10:00:01"))
        log.add(report(order, t17="0", t150="H", t19="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:05:00"))
        log.add(fill(order_id, refill_price, "20260105-10:06:00"))  # the refill
    log.add(fill("OR1", "187.2", "20260105-10:06:00"), header=[(43, "Y")])  # a resend of OR1's refill
    log.add(fill("OR1", "187.2", "20260105-10:06:00"), sender="DROPCOPY")  # its drop copy
    log.add(fill("OR1", "187", "20260105-10:00:01"), sender="DROPCOPY")  # the first fill's drop copy
    result = read_log(log.data())
    assert result.rejects == []
    assert result.stats["duplicate_resend"] == 1 and result.stats["duplicate_report"] == 0

    def trade(order_id: str, *parts: str) -> str:
        return make_identifier(SOURCE, "trade", order_id, "0", *parts)

    assert [(t.record_number, t.trade_kind, t.quantity, t.price, t.trade_identifier) for t in result.trades] == [
        (2, "fill", 10, Decimal(187), trade("OR1")),  # unchanged
        (3, "bust", 10, Decimal(187), trade("OR1", "H", "", "0", "")),  # unchanged (the reused_exec_id rule)
        (4, "fill", 10, Decimal("187.2"), trade("OR1", "F", "", "10", "10", "20260105-10:06:00", "187.2")),
        (6, "fill", 10, Decimal(187), trade("OR2")),
        (7, "bust", 10, Decimal(187), trade("OR2", "H", "", "0", "")),
        (8, "fill", 10, Decimal(187), trade("OR2", "F", "", "10", "10", "20260105-10:06:00", "187")),
        (10, "fill", 10, Decimal("187.2"), trade("OR1", "F", "", "10", "10", "20260105-10:06:00", "187.2")),
        (11, "fill", 10, Decimal(187), trade("OR1")),
    ]
    events = {e.record_number: e.event_identifier for e in result.events}
    assert events[2] == events[11] == make_identifier(SOURCE, "event", "OR1", "ALGO1/A-1", "0", "F", "", "1", "10")
    assert events[4] == events[10] == make_identifier(
        SOURCE, "event", "OR1", "ALGO1/A-1", "0", "F", "", "1", "10", "20260105-10:06:00", "10", "187.2"
    )
    assert sum(t.quantity for t in effective_trades(result.trades).values()) == Decimal(20)  # the two refills


# --- times ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", [43, 97])
def test_resend_without_transact_time_takes_orig_sending_time(flag: int) -> None:
    log = Log()
    body = report(ORDER_A, t17="T1", t150="F", t39="1", t32=10, t31="187", t14=10, t151=90, t6="187")
    log.add(body, sending="20260106-08:00:00.000", header=[(flag, "Y"), (122, "20260105-14:30:01.124")])
    log.add({**body, 17: "T2", 14: 20, 151: 80}, sending="20260105-15:00:00.000", header=[(122, "20260105-14:00:00")])
    result = read_log(log.data())
    assert result.stats["possdup_unmatched"] == 1
    first, second = result.trades
    assert first.trade_time == result.events[0].event_time == result.orders[0].order_time == utc("2026-01-05 14:30:01.124")
    assert second.trade_time == utc("2026-01-05 15:00:00")  # not a resend: its SendingTime


# --- instruments ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "asset"),
    [
        ({55: "AAPL"}, "aapl-us-equity"),
        ({55: "XYZ"}, f"{SOURCE}:XYZ"),  # a plain equity: as before
        ({55: "[N/A]", 48: "912828YK0", 22: "1"}, f"{SOURCE}:912828YK0"),  # no symbol: the bond's CUSIP
        ({55: "[N/A]", 48: "912810RZ3", 22: "1"}, f"{SOURCE}:912810RZ3"),
        ({55: "[N/A]", 48: "ESH6", 22: "8"}, "es-2026-03"),
        ({55: "ES", 48: "TT-11111", 22: "96"}, f"{SOURCE}:ES 96:TT-11111"),
        ({55: "ES", 48: "TT-22222"}, f"{SOURCE}:ES TT-22222"),
        ({55: "ES", 48: "ESH6", 22: "8"}, "es-2026-03"),
        ({55: "ES", 167: "FUT", 541: "20260320", 48: "TT-11111", 22: "96"}, f"{SOURCE}:ES FUT 20260320"),
        ({55: "ES", 167: "FUT", 541: "20260619", 48: "TT-22222", 22: "96"}, f"{SOURCE}:ES FUT 20260619"),
        ({55: "AAPL", 167: "FUT", 541: "20260320"}, f"{SOURCE}:AAPL FUT 20260320"),  # not the stock
        ({55: "AAPL", 167: "FUT"}, f"{SOURCE}:AAPL FUT"),
        ({55: "AAPL", 167: "OPT", 541: "20260320", 201: "1", 202: "200"}, f"{SOURCE}:AAPL 20260320 C 200"),
        ({55: "AAPL", 167: "OPT", 541: "20260619", 201: "1", 202: "200"}, f"{SOURCE}:AAPL 20260619 C 200"),
        ({55: "AAPL", 167: "OPT", 200: "202603", 201: "0", 202: "200"}, f"{SOURCE}:AAPL 202603 P 200"),  # as before
        ({55: "ES", 200: "202603", 541: "20260320"}, f"{SOURCE}:ES 202603 20260320"),
        ({55: "ES", 200: "202603", 48: "ESH6"}, "es-2026-03"),  # the golden future: as before
        ({55: "AAPL", 167: "CS"}, "aapl-us-equity"),  # common stock
        # "NA" is a ticker (National Bank of Canada on the TSX), placeholders are no symbol
        ({55: "NA"}, f"{SOURCE}:NA"),
        ({55: "NA", 48: "633067103", 22: "1"}, f"{SOURCE}:NA 1:633067103"),
        ({55: "[N/A]", 48: "NA", 22: "8"}, f"{SOURCE}:NA"),  # the exchange symbol in SecurityID 48
        ({55: "N/A", 48: "912828YK0", 22: "1"}, f"{SOURCE}:912828YK0"),  # a placeholder: no symbol
        ({55: "-", 48: "912828YK0", 22: "1"}, f"{SOURCE}:912828YK0"),
        ({55: "NA", 167: "OPT", 541: "20260320", 201: "1", 202: "100"}, f"{SOURCE}:NA 20260320 C 100"),
    ],
)
def test_instruments_are_told_apart(instrument: dict[int, object], asset: str) -> None:
    order = {k: v for k, v in ORDER_A.items() if k != 55} | instrument
    log = Log()
    log.add(report(order, t17="I1", t150="F", t39="1", t32=1, t31="1", t14=1, t151=99, t6="1", t60="20260105-10:00:00"))
    result = read_log(log.data())
    assert result.rejects == []
    assert [r.asset_identifier for r in result.orders + result.events + result.trades] == [asset] * 3


# --- corrections -----------------------------------------------------------------------------------------------


def test_correction_of_a_correction_refers_to_the_fill() -> None:
    """FIX 4.4: when an execution is corrected more than once, ExecRefID names the last correction."""
    order = {**ORDER_A, 37: "OK1"}
    log = Log()
    log.add(report(order, t17="F1", t150="F", t39="2", t32=100, t31="187", t14=100, t151=0, t6="187", t60="20260105-10:00:00"))
    log.add(report(order, t17="C1", t150="G", t19="F1", t39="2", t32=100, t31="187.5", t14=100, t151=0,
                   t6="187.5", t60="20260105-11:00:00"))  # fmt: skip
    second = log.add(report(order, t17="C2", t150="G", t19="C1", t39="2", t32=100, t31="187.4", t14=100, t151=0,
                            t6="187.4", t60="20260105-12:00:00"))  # fmt: skip
    log.add(report(order, t17="B1", t150="H", t19="C2", t39="4", t14=0, t151=0, t6=0, t60="20260105-13:00:00"))
    result = read_log(log.data())
    assert result.rejects == []
    fill, c1, c2, bust = result.trades
    assert fill.trade_identifier == make_identifier(SOURCE, "trade", "OK1", "F1")
    assert c1.ref_trade_identifier == c2.ref_trade_identifier == bust.ref_trade_identifier == fill.trade_identifier
    assert (bust.quantity, bust.price) == (Decimal(100), Decimal("187.4"))  # what the bust undoes: C2's
    (effective,) = effective_trades([fill, c1, c2]).values()
    assert (effective.quantity, effective.price) == (Decimal(100), Decimal("187.4"))
    assert effective_trades(result.trades) == {}
    # C2 in a file without C1: the reference is C1's trade identifier (the warehouse follows the chain)
    later = read_log(b"\n".join(log.lines[second - 1 :]) + b"\n", make_context("memory://later"))
    assert later.trades[0].ref_trade_identifier == make_identifier(SOURCE, "trade", "OK1", "C1")


# --- speed ---------------------------------------------------------------------------------------------------


def test_speed_smoke() -> None:
    """Guards against accidental quadratic behaviour; the real figure is measured on 200k messages."""
    lines = []
    for n in range(2_000):
        order = {**ORDER_A, 37: f"S{n}", 11: f"ALGO1/S-{n}"}
        lines.append(fix_message(report(order, t17=f"S{n}-0", t150="0", t39="0", t14=0, t151=100, t6=0,
                                        t60="20260105-10:00:00.000")))  # fmt: skip
        for i in range(1, 5):
            lines.append(fix_message(report(order, t17=f"S{n}-{i}", t150="F", t39="1", t32=25, t31="187.5",
                                            t14=25 * i, t151=100 - 25 * i, t6="187.5", t60=f"20260105-10:00:0{i}.{n % 1000:03d}")))  # fmt: skip
    data = b"\n".join(lines) + b"\n"
    context = make_context()
    started = time.perf_counter()
    records = sum(1 for _ in fix44.read(data, context))
    elapsed = time.perf_counter() - started
    assert context.stats["messages"] == 10_000 and records == 2_000 * 10
    assert 10_000 / elapsed > 5_000, f"{10_000 / elapsed:,.0f} messages/s"


def test_pipe_continued_text_with_many_pieces_is_kept_whole() -> None:
    # values containing '|' in '|'-delimited logs are re-joined (once: re-joining per piece was
    # quadratic, a DoS on long lines found by fuzzing); a repeated tag after them still becomes a list
    pieces = "|".join(f"part{n}" for n in range(2000))
    line = f"8=FIX.4.4|35=8|37=O1|11=C1|17=E1|150=0|39=0|55=AAPL|54=1|38=10|151=10|14=0|6=0|58={pieces}|448=A|448=B|60=20260105-10:00:00"
    result = read_log(line.encode())
    [event] = result.events
    assert event.reason == pieces
    assert event.event_metadata["58"] == pieces and event.event_metadata["448"] == ["A", "B"]


# --- busts and corrections of refills (ExecIDs reused within an order) -------------------------------------


def _sloppy_order(order_id: str) -> dict[int, object]:
    return {**ORDER_A, 37: order_id}


def _sloppy_fill(order_id: str, price: str, at: str, exec_id: str = "0") -> dict[int, object]:
    return report(_sloppy_order(order_id), t17=exec_id, t150="F", t39="1", t32=10, t31=price, t14=10, t151=90,
                  t6=price, t60=at)  # fmt: skip


def _sloppy_bust(order_id: str, at: str, exec_id: str = "0", ref: str = "0", qty: int | None = None) -> dict[int, object]:
    return report(_sloppy_order(order_id), t17=exec_id, t150="H", t19=ref, t32=qty, t39="0", t14=0, t151=100, t6=0,
                  t60=at)  # fmt: skip


@pytest.mark.parametrize("own_ids", [False, True], ids=["exec_id_0_everywhere", "busts_with_their_own_exec_ids"])
def test_busting_a_refill_busts_the_refill_not_the_first_fill(own_ids: bool) -> None:
    """Fill E, bust of E, refill reusing E (another price and time), then a second bust naming E: it
    undoes the refill (the live execution E), not the first fill, which is busted already."""
    log = Log()
    log.add(report(_sloppy_order("OB1"), t17="0", t150="0", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:00:00"))
    first = log.add(_sloppy_fill("OB1", "187", "20260105-10:00:01"))
    bust1 = log.add(_sloppy_bust("OB1", "20260105-10:05:00", exec_id="X1" if own_ids else "0"))
    refill = log.add(_sloppy_fill("OB1", "187.2", "20260105-10:06:00"))
    bust2 = log.add(_sloppy_bust("OB1", "20260105-10:07:00", exec_id="X2" if own_ids else "0"))
    result = read_log(log.data())
    assert result.rejects == []
    trades = {t.record_number: t for t in result.trades}
    assert trades[first].trade_identifier == make_identifier(SOURCE, "trade", "OB1", "0")
    assert trades[bust1].ref_trade_identifier == trades[first].trade_identifier
    assert trades[refill].trade_identifier != trades[first].trade_identifier
    assert trades[bust2].ref_trade_identifier == trades[refill].trade_identifier
    assert (trades[bust2].quantity, trades[bust2].price) == (Decimal(10), Decimal("187.2"))  # the refill's
    assert len({t.trade_identifier for t in result.trades}) == 4
    assert effective_trades(result.trades) == {}  # both fills undone
    # a third bust naming E when every execution E is busted: the latest (a repeated bust changes nothing)
    log.add(_sloppy_bust("OB1", "20260105-10:08:00", exec_id="X3" if own_ids else "0"))
    again = read_log(log.data())
    assert again.trades[-1].ref_trade_identifier == trades[refill].trade_identifier


def test_a_copy_of_a_bust_refers_to_what_the_bust_referred_to() -> None:
    """A drop copy of the first bust, read after the refill, still busts the first fill (the refill is
    live then): a copy of a bust or correction takes the reference its first delivery took."""
    log = Log()
    lines = [
        _sloppy_fill("OB2", "187", "20260105-10:00:01"),
        _sloppy_bust("OB2", "20260105-10:05:00", exec_id="X1"),
        _sloppy_fill("OB2", "187.2", "20260105-10:06:00"),
    ]
    for body in lines:
        log.add(body)
    for body in lines:
        log.add(body, sender="DROPCOPY")
    result = read_log(log.data())
    assert result.rejects == []
    fill, bust, refill, fill_copy, bust_copy, refill_copy = result.trades
    assert fill_copy.trade_identifier == fill.trade_identifier and refill_copy.trade_identifier == refill.trade_identifier
    assert bust_copy.trade_identifier == bust.trade_identifier
    assert bust.ref_trade_identifier == bust_copy.ref_trade_identifier == fill.trade_identifier
    assert list(effective_trades(result.trades)) == [refill.trade_identifier]


@pytest.mark.parametrize("own_ids", [False, True], ids=["exec_id_0_everywhere", "own_exec_ids"])
def test_corrections_of_a_refill_and_their_chain_refer_to_the_refill(own_ids: bool) -> None:
    """Fill E, bust of E, refill E; a correction naming E corrects the refill; a correction of that
    correction (ExecRefID = the correction's ExecID) and a bust of the last correction too."""
    log = Log()
    first = log.add(_sloppy_fill("OB3", "187", "20260105-10:00:01"))
    log.add(_sloppy_bust("OB3", "20260105-10:05:00", exec_id="X1" if own_ids else "0"))
    refill = log.add(_sloppy_fill("OB3", "187.2", "20260105-10:06:00"))
    c1 = "C1" if own_ids else "0"
    correct1 = log.add(report(_sloppy_order("OB3"), t17=c1, t150="G", t19="0", t39="1", t32=10, t31="187.3", t14=10,
                              t151=90, t6="187.3", t60="20260105-10:07:00"))  # fmt: skip
    result = read_log(log.data())
    assert result.rejects == []
    trades = {t.record_number: t for t in result.trades}
    assert trades[correct1].ref_trade_identifier == trades[refill].trade_identifier
    (effective,) = effective_trades(result.trades).values()
    assert (effective.trade_identifier, effective.price) == (trades[refill].trade_identifier, Decimal("187.3"))
    assert trades[first].trade_identifier not in effective_trades(result.trades)
    if not own_ids:
        return
    correct2 = log.add(report(_sloppy_order("OB3"), t17="C2", t150="G", t19="C1", t39="1", t32=10, t31="187.4",
                              t14=10, t151=90, t6="187.4", t60="20260105-10:08:00"))  # fmt: skip
    bust = log.add(_sloppy_bust("OB3", "20260105-10:09:00", exec_id="X2", ref="C2"))
    result = read_log(log.data())
    assert result.rejects == []
    trades = {t.record_number: t for t in result.trades}
    assert trades[correct2].ref_trade_identifier == trades[bust].ref_trade_identifier == trades[refill].trade_identifier
    assert (trades[bust].quantity, trades[bust].price) == (Decimal(10), Decimal("187.4"))  # what it undoes: C2's
    assert effective_trades(result.trades) == {}


def test_a_bust_of_a_fill_read_in_an_earlier_file_names_that_fill() -> None:
    """The reader sees one file: a bust naming an ExecID no execution of the file has refers to
    ("trade", 37, ExecRefID), the first fill with that ExecID, wherever it was read."""
    log = Log()
    log.add(_sloppy_fill("OB4", "187", "20260105-10:00:01", exec_id="E"))
    cut = log.add(_sloppy_bust("OB4", "20260105-10:05:00", exec_id="X1", ref="E", qty=10))
    earlier = read_log(b"\n".join(log.lines[: cut - 1]) + b"\n", make_context("memory://part1"))
    later = read_log(b"\n".join(log.lines[cut - 1 :]) + b"\n", make_context("memory://part2"))
    whole = read_log(log.data())
    (fill,) = earlier.trades
    assert later.trades[0].ref_trade_identifier == whole.trades[1].ref_trade_identifier == fill.trade_identifier


def test_a_bust_reusing_the_exec_id_it_busts_has_the_same_identifier_in_any_file() -> None:
    """ExecID 0 everywhere: a bust whose fill was read in an earlier file must not take the fill's
    identifier ("trade", 37, 0) (the warehouse would keep one of the two rows)."""
    log = Log()
    log.add(_sloppy_fill("OB5", "187", "20260105-10:00:01"))
    cut = log.add(_sloppy_bust("OB5", "20260105-10:05:00", qty=10))
    whole = read_log(log.data())
    later = read_log(b"\n".join(log.lines[cut - 1 :]) + b"\n", make_context("memory://part2"))
    fill, bust = whole.trades
    (alone,) = later.trades
    assert alone.trade_identifier == bust.trade_identifier != fill.trade_identifier
    assert alone.ref_trade_identifier == bust.ref_trade_identifier == fill.trade_identifier


@pytest.mark.parametrize("own_ids", [False, True], ids=["exec_id_0_everywhere", "busts_with_their_own_exec_ids"])
def test_a_refill_of_a_fill_read_in_an_earlier_file_is_rejected_not_merged_with_it(own_ids: bool) -> None:
    """Fill E in an earlier file; this file busts it, then a fill reuses ExecID E: a refill or a late
    copy of the busted fill, which this file cannot tell apart. Read as ("trade", 37, E) it would be
    the busted fill (a live refill lost); read as a new trade, a copy would be a trade that never
    was: the line is rejected naming ExecID 17. A resend of the fill flagged PossDup is that fill,
    and once the file has it, the refill is told apart from it as in a whole day."""
    log = Log()
    log.add(_sloppy_fill("OB6", "187", "20260105-10:00:01"))
    bust = log.add(_sloppy_bust("OB6", "20260105-10:05:00", exec_id="X1" if own_ids else "0", qty=10))
    refill = log.add(_sloppy_fill("OB6", "187.2", "20260105-10:06:00"))
    later = read_log(b"\n".join(log.lines[bust - 1 :]) + b"\n", make_context("memory://part2"))
    (reject,) = later.rejects
    assert (reject.record_number, reject.field) == (refill - bust + 1, "tag 17 (ExecID)")
    first_fill = make_identifier(SOURCE, "trade", "OB6", "0")
    assert [(t.trade_kind, t.ref_trade_identifier) for t in later.trades] == [("bust", first_fill)]
    whole = read_log(log.data())  # the whole day: the refill is read
    assert whole.rejects == []
    assert [t.record_number for t in effective_trades(whole.trades).values()] == [refill]
    # with a resend of the first fill (PossDup) before the refill, the file knows the busted fill
    resent = [log.lines[bust - 1], fix_message(_sloppy_fill("OB6", "187", "20260105-10:00:01"), header=[(43, "Y")]),
              log.lines[refill - 1]]  # fmt: skip
    with_resend = read_log(b"\n".join(resent) + b"\n", make_context("memory://part2"))
    assert with_resend.rejects == []
    bust_row, resend_row, refill_row = with_resend.trades
    assert resend_row.trade_identifier == bust_row.ref_trade_identifier == first_fill
    assert refill_row.trade_identifier == whole.trades[-1].trade_identifier != first_fill


# --- damaged SOH lines -------------------------------------------------------------------------------------


def _damage_after(tag: bytes, segment: bytes) -> Callable[[bytes], bytes]:
    """Insert a damaged field (``segment``: empty, or without '=') after the field of ``tag``."""

    def corrupt(message: bytes) -> bytes:
        start = message.index(SOH + tag + b"=") + 1
        end = message.index(SOH, start)
        return message[:end] + SOH + segment + message[end:]

    return corrupt


def test_damaged_soh_line_with_an_empty_field_after_a_value_holding_equals_is_read_right() -> None:
    """Text 58 "note=7", then Price 44=38, OrderQty 38=1000 and an empty field (SOH SOH): the '=' in
    the value and the empty field cancel out in the one-pass split, which read OrderQty 38 = "38"
    (Price's value) and no Price. The line must read as its fields say."""
    log = Log()
    body = [*report({k: v for k, v in ORDER_A.items() if k not in (38, 44)}, t17="D1", t150="0", t39="0", t14=0,
                    t151=1000, t6=0, t60="20260105-10:00:00").items(), (58, "note=7"), (44, "38"), (38, "1000")]  # fmt: skip
    log.add(body, corrupt=_damage_after(b"38", b""))
    result = read_log(log.data())
    assert result.rejects == []
    (order,), (event,) = result.orders, result.events
    assert (order.quantity, order.limit_price) == (Decimal(1000), Decimal(38))
    assert event.reason == "note=7"
    parsed = simplefix.FixParser()
    parsed.append_buffer(log.messages[0])
    oracle = parsed.get_message()
    assert oracle is not None and oracle.get(38) == b"1000" and oracle.get(44) == b"38"


@pytest.mark.parametrize("segment", [b"1000", b"junk"])
@pytest.mark.parametrize("where", [b"38", b"39"])  # after the value holding '=', or before it
def test_damaged_soh_line_with_a_field_without_equals_is_rejected_naming_the_field(segment: bytes, where: bytes) -> None:
    """A SOH field without '=' (damage) with a value holding '=' elsewhere: never read shifted; the
    line is rejected naming the field the damage follows."""
    log = Log()
    body = [*report({k: v for k, v in ORDER_A.items() if k not in (38, 44)}, t17="D1", t150="0", t39="0", t14=0,
                    t151=1000, t6=0, t60="20260105-10:00:00").items(), (58, "note=7"), (44, "38"), (38, "1000")]  # fmt: skip
    bad = log.add(body, corrupt=_damage_after(where, segment))
    result = read_log(log.data())
    (reject,) = result.rejects
    name = {b"38": "tag 38 (OrderQty)", b"39": "tag 39 (OrdStatus)"}[where]
    assert (reject.record_number, reject.field) == (bad, name)
    assert segment.decode() in reject.reason
    assert result.orders == [] and result.events == []


@st.composite
def damaged_soh_lines(draw: st.DrawFn) -> bytes:
    """A SOH ExecutionReport whose last values may hold '=', with damaged fields (empty, or without
    '=') inserted among them or anywhere after the header."""
    text = st.one_of(st.sampled_from(["a=7", "a=77", "7=5", "=5", "a=5=7"]), st.text(alphabet="7=a5", min_size=1, max_size=6))
    values = {58: draw(text), 38: draw(st.sampled_from(["32", "38", "44", "1000", "7=1"])),
              44: draw(st.sampled_from(["38", "187", "31", "1=2"]))}  # fmt: skip
    body = [*report({k: v for k, v in ORDER_A.items() if k not in (38, 44)}, t17="D1", t150="0", t39="0", t14=0,
                    t151=1000, t6=0, t60="20260105-10:00:00").items(), *draw(st.permutations(list(values.items())))]  # fmt: skip
    fields = fix_message(body).split(SOH)[:-1]  # ORDER_A has no tag 5, 7, 55...
    for _ in range(draw(st.integers(1, 3))):
        near_values = st.integers(len(fields) - 4, len(fields) - 1)  # among 58, 38, 44 (10 comes last)
        at = draw(st.one_of(near_values, st.integers(3, len(fields) - 1)))  # after 8, 9, 35
        fields.insert(at, draw(st.sampled_from([b"", b"", b"7", b"38", b"junk"])))
    return SOH.join(fields) + SOH


@settings(max_examples=300, deadline=None)
@given(damaged_soh_lines())
def test_one_pass_split_of_damaged_soh_lines_agrees_with_field_by_field(line: bytes) -> None:
    """Whatever damage a SOH line holds, the one-pass split reads what the field-by-field path reads
    (a repeated tag sends the same line field by field)."""

    def facts(data: bytes) -> list[tuple[Any, ...]]:
        result = read_log(data + b"\n")
        return [(r.record_number, r.field, r.reason) if isinstance(r, RejectRecord) else r[:-1] for r in result.records]

    repeated = line.replace(SOH + b"10=", SOH + b"9999=x" + SOH + b"9999=y" + SOH + b"10=")
    assert facts(line) == facts(repeated)


# --- "NA" is a ticker ---------------------------------------------------------------------------------------


def test_symbol_na_maps_through_the_catalogue_and_absent_markers_stay_absent() -> None:
    config = SourceConfig(format=fix44.NAME, accounts={"ACC-1": ACC1}, assets={**ASSETS, "NA": "na-ca-equity"})
    log = Log()
    log.add(report({**ORDER_A, 55: "NA", 15: "CAD"}, t17="NA1", t150="0", t39="0", t14=0, t151=100, t6=0,
                   t60="20260105-10:00:00"))  # fmt: skip
    for n, placeholder in enumerate(["", "-", "null", "None", "N/A", "[N/A]"], 2):
        log.add(report({**ORDER_A, 37: f"P{n}", 55: placeholder}, t17=f"P{n}", t150="0", t39="0", t14=0, t151=100,
                       t6=0, t60="20260105-10:00:00"))  # fmt: skip
    result = read_log(log.data(), ReaderContext(source=SOURCE, config=config, uri="memory://na"))
    assert [o.asset_identifier for o in result.orders] == ["na-ca-equity"]
    assert [(r.record_number, r.field) for r in result.rejects] == [(n, "tag 55 (Symbol)") for n in range(2, 8)]


@pytest.mark.parametrize(("tag", "value"), [(1, "NA"), (11, "NA"), (17, "NA"), (37, "NA"), (41, "NA")])
def test_na_in_identifier_fields_is_a_value(tag: int, value: str) -> None:
    """Account 1, ClOrdID 11, ExecID 17, OrderID 37, OrigClOrdID 41 "NA" are identifiers, not "no value"."""
    log = Log()
    log.add(report({**ORDER_A, tag: value}, t17="I1" if tag != 17 else value, t150="F", t39="1", t32=1, t31="1",
                   t14=1, t151=99, t6="1", t60="20260105-10:00:00"))  # fmt: skip
    result = read_log(log.data())
    assert result.rejects == []
    (order,), (trade,) = result.orders, result.trades
    if tag == 1:
        assert order.account_identifier == trade.account_identifier == f"{SOURCE}:NA"
    elif tag == 11:
        assert order.client_order_id == "NA"
    elif tag == 17:
        assert trade.trade_remote_id == "NA"
    elif tag == 37:
        assert order.order_remote_id == "NA"
    else:
        assert order.orig_client_order_id == "NA"


def test_exec_ref_id_na_names_the_fill_with_exec_id_na() -> None:
    log = Log()
    log.add(report(ORDER_A, t17="NA", t150="F", t39="1", t32=1, t31="1", t14=1, t151=99, t6="1", t60="20260105-10:00:00"))
    log.add(report(ORDER_A, t17="B-NA", t150="H", t19="NA", t39="0", t14=0, t151=100, t6=0, t60="20260105-10:01:00"))
    result = read_log(log.data())
    assert result.rejects == []
    fill, bust = result.trades
    assert bust.ref_trade_identifier == fill.trade_identifier == make_identifier(SOURCE, "trade", "OA1", "NA")
    assert (bust.quantity, bust.price) == (Decimal(1), Decimal(1))  # the busted fill's
