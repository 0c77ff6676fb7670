"""FIX 4.4 ExecutionReport (35=8) logs: one message per line -> orders, order events, trades.

The format
----------
A FIX engine's message log: one message per line, fields ``tag=value`` separated by SOH (``\\x01``)
or ``|``, with or without a log prefix before ``8=FIX`` (``2026-01-05 14:30:01.123 INFO ...
8=FIX.4.4|9=...``; kept in the raw record as ``log_prefix``). Only ExecutionReports (35=8) carry
facts; every other message (heartbeats, logons, 35=D orders, 35=9 cancel rejects...) is skipped and
counted, blank lines are skipped. The 4.4 dialect (ExecType 150=F/G/H/I...) and the older 4.2 one
(150=1/2 partial fill / fill; ExecTransType 20: 0 new, 1 cancel = bust, 2 correct, 3 status;
OrdStatus 39=5 replaced) are both read. FIX times are UTC (``YYYYMMDD-HH:MM:SS[.sss[sss]]``;
finer fractions are truncated to microseconds, a leap second :60 rolls over), so the source's
``timezone`` is not used. Times are parsed by slicing, whole seconds cached.

In '|'-delimited logs a '|' may also sit inside a value (Text 58 ``a|b``): a piece without ``=`` or
without a numeric tag continues the previous value. An empty field (``||``, SOH SOH) is nothing,
with either delimiter, also in a line whose values hold ``=``. In a SOH line a piece without ``=``
(a SOH inside a value, or damage) rejects the line naming the field it follows (``tag 58
(Text)``): no value is ever read into another field. Several messages on one line (a logger that
lost line breaks) are read one by one, also when the delimiter before the next ``8=FIX`` is missing
(``...|10=1238=FIX.4.4|35=8|...``); a line with a second header (8 or 35 again) that cannot be cut
into messages is rejected, never read as one message.

Which order a report is about
-----------------------------
An order is (OrderID 37, client order id). The client order id is ClOrdID 11, except on Canceled,
PendingCancel and PendingReplace reports (150=4/6/E) carrying an OrigClOrdID 41 different from 11:
there 11 is the id of the cancel or replace *request* and the order is the one 41 names. A Replaced
report (150=5) with 41 != 11 is about two orders: the replaced one (41) gets an event ``replaced``
with status ``replaced``, and the replacement (11) its own order row, linked through
``orig_client_order_id`` = 41, and an event ``replaced`` with its own status (39; ``new`` or
``partially_filled`` when 39 is absent or 4.2's 5). The replacement's later reports (new 11, 41 =
previous) belong to order 11. A 150=5 without a different 41 amends the order in place. The rule
reads only the message, so a report maps to the same order in every file, but for three kinds of
report whose message does not name their order, or names the wrong one; for them the file's orders of
the OrderID 37 decide, when they tell it:

- A report without 11 (a venue's unsolicited report, a bust, a drop copy carrying 37 only) belongs
  to the OrderID's current order, when the file knows exactly one: its one order with a ClOrdID
  that no replace of the file replaced (the replacement, after a 150=5; a replacement's row made by
  a report with 41 replaces 41 too, unless that report is a rejection). Else (37 unknown in the
  file, or several such orders) it is the order (37, ""), without client order id or manager.
- A Canceled report (150=4) with 41 whose 11 is the order that replaced 41's (a replacement
  canceled by the venue, reported as "new 11, 41 = previous") is about 11: 11 replaced 41 in the
  file, or, 41 having no report in the file (its replace was in an earlier one), 11 is a live
  order of the file that no request report made. Any other 11
  is a cancel request's id, also when it reuses the id of another order of the file (an order
  already replaced, a rejected replace request): the report is about 41.
- A Pending Replace (150=E) without 41 (FIX 4.4 requires 41 only on 150=4/5/6) whose 11 is no order
  of the OrderID in the file is about the OrderID's current order, when there is one (as above):
  11 is the replace request's id, and the replacement's row comes with its Replaced report (41,
  manager). Else it is about 11, as the message says.

A copy of such a report (a resend, a drop copy) is keyed as its first delivery in the file was,
whatever was read in between. Another file may key it otherwise ((37, "") where it does not hold
the order, 41 for a replacement's cancel read without the replacement's earlier reports); the
reader sees one file, and a daily drop copy holds the order's whole day. ``37=NONE`` (FIX's
placeholder on rejected orders) stays part of the key but is not stored as ``order_remote_id``; it
is shared by unrelated orders, so it never names an order of the file. A Pending New sent with
37=NONE and followed by reports with the real 37 makes two orders (the first row is emitted before
the real 37 is known).

Rows
----
- OrdersTS: one row per order, from its first report in the file: 37 order_remote_id, 11
  client_order_id, 41 orig_client_order_id, 40 order_type (1 market, 2 limit, 3 stop, 4
  stop_limit, ... ``_ORD_TYPE``; unknown codes kept as sent), 59 time_in_force (0 day, 1 gtc, 2
  opg, 3 ioc, 4 fok, 5 gtx, 6 gtd, 7 at_the_close), 54 side (1/3/D buy, 2/4/5/6/E sell; others are
  rejected), 38 quantity, 44 limit_price, 99 stop_price, 15 currency, 126 ExpireTime, 1 account
  (``context.account``), instrument (below), order_time = the report's time,
  ``order_manager_identifier`` = ``context.manager(client order id)``; when that gives none, a
  replacement (an order whose row comes from a report with OrigClOrdID 41: its Replaced report or a
  later one) inherits the manager of the order 41 names, as OMSs give replacements ids without the
  strategy's prefix: that order's own (``context.manager(41)``), else the one it inherited itself as a
  replacement earlier in the file, so the chain ``momentum/1`` -> ``R-1`` -> ``R-2`` keeps
  ``momentum``. A manager named by the replacement's own 11 wins. The chain is remembered per OrderID
  37: begun in an earlier file, or across a replace that changes 37, it reaches back one step (41's
  own manager). A replaced order first seen
  through its replacement's 150=5 gets a row without quantity and prices (they are the
  replacement's); a fuller row from an earlier file wins in the warehouse (earliest time).
- Instrument (``asset_identifier``; the catalogue's ``assets`` map broker instruments): Symbol 55
  ``[N/A]`` is FIX's "no symbol", like an absent 55 or a placeholder (``""``, ``-``, ``N/A``,
  ``n/a``, ``null``, ``NULL``, ``None``). ``NA`` is a symbol (National Bank of Canada on the TSX),
  as it is a value in SecurityID 48 and every identifier (37, 11, 41, 17, 19, Account 1); in
  numbers, codes and texts it stays a placeholder. A future or option (SecurityType 167 = FUT or
  OPT, or any of MaturityMonthYear 200, MaturityDate 541, PutOrCall 201, StrikePrice 202) is keyed
  ``"<55> <200> <541> <C|P> <202>"`` (the parts present; 48 stands for 55 when there is none), with
  167 after 55 when there is neither 200 nor 202 (``"ES FUT 20260320"``): the key or else SecurityID
  48 is looked up in the catalogue, never the underlying's 55. Other instruments: 55, else 48, is
  looked up (``context.asset(55, 48)``); unmapped, the identifier is ``<source>:<55>`` (an equity
  sent with 55 only), ``<source>:<48>`` (48 alone), or ``<source>:<55> <22>:<48>`` when both 55 and
  SecurityID 48 are sent (a root symbol like ``ES`` names several instruments; IDSource 22 left out
  when absent).
- OrderEventsTS: one row per report (two for a Replaced report). event_time = TransactTime 60, else,
  on a resend (PossDupFlag 43 or PossResend 97 = Y), OrigSendingTime 122 (its SendingTime 52 is the
  time it was sent again), else SendingTime 52. event_type from ExecType (``_EXEC_EVENT``: 0 new, 3
  done_for_day, 4 canceled, 5 replaced, 6 pending_cancel, 8 rejected, 9 suspended, A pending_new, C
  expired, D restated, E pending_replace, G trade_correct, H trade_cancel, I status; 7 Stopped and B
  Calculated are ``status`` events whose status says stopped / calculated); a fill is ``filled``
  when the order is done (39=2, 4.2's 150=2, or LeavesQty 151 = 0) else ``partially_filled``.
  order_status from OrdStatus 39, except on fills whose 39 still says 0/1/A: the last fill's 39
  often lags (the final 39=2 comes on a later 150=I), so the status follows the fill progress
  (counted in ``stale_fill_status``). cum_quantity 14, leaves_quantity 151, avg_price 6, reason =
  OrdRejReason 103 and ExecRestatementReason 378 spelled out, then Text 58.
- TradesTS: one row per fill (150=F, or 150=1/2 with 20=0 or no 20): quantity = LastQty 32 (when it
  is missing or 0, the CumQty 14 progress since the order's previous report in the file; only a
  report's first delivery moves that progress, and another delivery of a trade read already, like a
  drop copy, takes that trade's quantity), price = LastPx 31, trade_time = the report's time,
  trade_remote_id = ExecID 17, currency 15, venue = LastMkt 30, liquidity from LastLiquidityInd 851
  (1 added -> maker, 2 removed -> taker, else NULL). Commission 12 is stored as an amount: CommType
  13 = 3 (absolute) or absent as sent, 1 (per unit) x LastQty, 2 (percent, 5% written .05) x LastQty
  x LastPx; other CommTypes leave it NULL (``commission_not_absolute``; the raw fields stay in
  venue_metadata). commission_asset_identifier = CommCurrency 479 (else Currency 15) mapped through
  the catalogue's ``assets`` when listed there, else the currency code itself (ISO 4217 codes are
  already global, so not counted as unmapped). Busts (150=H, 4.2 20=1) are ``trade_kind="bust"``,
  corrections (150=G, 4.2 20=2) ``"correction"`` with LastQty / LastPx = the corrected values; both
  carry ``ref_trade_identifier`` from ExecRefID 19: the trade identifier of the fill they refer to.
  19 names the latest execution of the order in the file with that ExecID that no bust of the file
  has undone yet (when every one is busted, the latest): a fill, or a correction, which stands for
  the fill it corrects. A trade corrected more than once is named by its last correction's ExecID
  (FIX 4.4): the reference is that correction's own, i.e. the corrected fill. With ExecIDs reused in
  an order (fill E, bust of E, refill E), a later bust or correction naming E refers to the refill,
  not to the busted first fill. A copy of a bust or correction (a resend, a drop copy) refers to
  what its first delivery referred to, whatever was read in between. When the file has no
  execution with that ExecID, the reference is ("trade", 37, 19): the first fill with that ExecID,
  wherever it was read, which is right when that fill came in an earlier file, and a correction
  read in another file keeps it (the warehouse follows the chain). The reader sees one file: with
  reused ExecIDs, a refill made in an earlier file (fill, bust and refill there, the second bust in
  this one) is not seen, so that second bust names the busted first fill and the refill stays;
  such logs are read right when a file holds the order's whole day, as a daily drop copy does. A
  bust without LastQty (or LastPx) takes the busted fill's (its last correction's), when that fill
  is in the file.
- Everything a line yields shares one raw record (``venue_metadata`` / ``event_metadata``): the
  message's fields by tag (``{"35": "8", "37": ...}``; repeated tags, i.e. repeating groups, as lists
  of values) plus ``log_prefix``.

Identifiers (``context.identifier``; parts are the broker's text as sent, "" when absent)
------------------------------------------------------------------------------------------
- order: ("order", OrderID 37, client order id as above).
- event: ("event", 37, client order id, ExecID 17, ExecType 150, ExecTransType 20, OrdStatus 39,
  CumQty 14). ExecID alone is not enough: sloppy simulators reuse one ExecID for every report of an
  order, and the report's type, status and progress tell those apart while staying a function of
  the message and its order; a resend (same ExecID, same content) gets the same identifier. A trade
  report whose identifier was delivered already, by the same session or (once the ExecID is known to
  be reused in the order) by any, but with another LastPx 31, LastQty 32 or time (as values) is a new
  execution, e.g. a refill after a bust: its identifier gets its time (the 60, 122 or 52 text), 32
  and 31 appended.
- trade: ("trade", 37, ExecID 17) for fills, busts and corrections alike, so a bust's
  ``ref_trade_identifier`` = ("trade", 37, ExecRefID 19) is the busted fill's identifier without
  seeing that fill. When a simulator reuses an ExecID for several trades of one order, the first in
  the file keeps ("trade", 37, 17) and later ones are keyed on their CumQty progress: ("trade", 37,
  17, 150, 20, 14, 32) (counted in ``reused_exec_id``), and such a new execution repeating an
  earlier trade's (see event) ("trade", 37, 17, 150, 20, 14, 32, time, 31); a bust or correction
  naming such an ExecID refers to the latest one still live (see TradesTS). A bust or correction
  whose ExecID is its ExecRefID is never the trade it names: it is keyed ("trade", 37, 17, 150, 20,
  14, 32) even when first in the file (its fill read in an earlier file), as when the fill is in the
  file. (With reused ExecIDs, "the first in the file" means the same fill only when the file holds
  the order's whole day, as a daily drop copy does. When a bust of the file named ("trade", 37, E)
  without the file holding that fill, a later fill with ExecID E that is no flagged resend is
  rejected naming 17: a refill cannot be told from a late copy of the busted fill there, and read
  as ("trade", 37, E) a live refill would be taken for the busted fill.)

Duplicates and integrity
------------------------
Resends (PossDupFlag 43=Y / PossResend 97=Y) and repeated lines are stored once: a report is dropped
when the same session (SenderCompID 49, TargetCompID 56) already delivered a report with the same
event identifier (same ExecID and content) in this file; MsgSeqNum 34 is ignored (a resend has a new
one), and a refill reusing an ExecID is no duplicate (see the event identifier). Counted in
``duplicate_resend`` (flagged) or ``duplicate_report`` (not flagged). A flagged report whose
original is not in the file is kept (``possdup_unmatched``): it meets its original in the warehouse
through the identifiers. Another session's copy of a report (a drop copy) is kept too and has the
same identifiers. A wrong BodyLength 9 or CheckSum 10 (recomputed over the bytes as the sender did,
with SOH delimiters) is tolerated and counted (``bad_body_length``, ``bad_checksum``,
``missing_checksum``).

Bad input
---------
A line that cannot be normalised becomes one reject naming the tag (``field="tag 31 (LastPx)"``),
and nothing else comes from that line: no ``8=FIX`` at all, no MsgType 35, a field that is not
``tag=value`` (in a SOH line a piece without ``=`` names the field before it), a report without
37/17/150/54/55 (or 48), an unknown ExecType/OrdStatus/Side/ExecTransType, a bad number (exponents
beyond 1e±40 included) or time, a fill without quantity or LastPx, a bust/correction without
ExecRefID 19, a fill reusing the ExecID of a fill busted in this file but read in an earlier one
(above), a value too long for its warehouse column (an
instrument identifier too long names its longest part's tag: 55, 48, 202...). FIX is
ASCII: UTF-8 is accepted and an odd non-UTF-8 line is read as latin-1 (``non_utf8_lines``). Only a
file that is no text log at all raises ``ExtractUnreadable``: compressed, or binary with no 8=FIX.

Stats (``context.stats``): messages, rejects, blank_lines, skipped_messages, skipped_35_<type>,
duplicate_resend, duplicate_report, possdup_unmatched, bad_body_length, bad_checksum,
missing_checksum, reused_exec_id, stale_fill_status, synthesized_orders, commission_not_absolute,
unknown_order_type, unknown_time_in_force, log_prefixed_lines, pipe_delimited_lines, fix42_reports,
time_truncated_to_microseconds, leap_second, repeated_tags, several_messages_per_line,
non_utf8_lines, orders_spilled, orders_reloaded, unexpected_errors
(0 unless this module has a bug: such a line is rejected rather than failing the file).

Speed: the file is decoded ~256 KB at a time, each line is split once (one ``replace`` + ``split``
into a dict, taken only when the separators, read with one ``bytes.translate``, alternate ``=`` and
the delimiter), numbers, whole seconds, second fractions and mapped accounts/assets are cached, and
identifiers come from base's maker for all-text parts.

Memory: :func:`read_stream` takes the file in blocks (ingestion streams it), and what the reader
remembers per order (its row emitted, its CumQty, the reports delivered, its trades' ExecIDs, its
replaces and the managers its replacements inherited) is kept for the ``LIVE_ORDERS`` orders seen
last; older ones spill to a temporary SQLite file and come back if their order reports again
(``orders_spilled``, ``orders_reloaded``). The records are the same as with everything in memory;
the memory stays flat however large the day.
"""

from __future__ import annotations

import datetime as dt
import marshal
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import chain, pairwise
from typing import NamedTuple, NoReturn
from decimal import Decimal, InvalidOperation

from exec_pipeline.data_nodes.execution import OrderEventRecord, OrderRecord, RejectRecord, TradeRecord
from exec_pipeline.lib.spill import SpillingDict
from exec_pipeline.readers.base import (
    CODE_WIDTH,
    CURRENCY_WIDTH,
    ID_WIDTH,
    MISSING,
    VENUE_WIDTH,
    ExtractUnreadable,
    ReaderContext,
    RecordError,
)

NAME = "fix44"
#: 1.0.1: a tag of non-ASCII digits ("²=x") rejects its line on every path (the one-pass split took it)
#: 1.1.0: exact "|" split; glued messages; CumQty progress; refills; 122; instrument keys; correction chains
#: 1.2.0: 19 names the latest live execution (busting a refill busts the refill); exact SOH split; "NA" is a value
#: 1.3.0: a replacement whose own 11 names no manager inherits the one of the order it replaces (41), along the chain; reports without 11, a replacement's own 150=4, a 150=E without 41: the file's order of the 37
VERSION = "1.3.0"

Record = OrderRecord | OrderEventRecord | TradeRecord | RejectRecord

UTC = dt.UTC
SOH = "\x01"

#: Names of the tags this reader reads, for reject fields like "tag 31 (LastPx)".
TAG_NAMES: dict[str, str] = {
    "1": "Account", "6": "AvgPx", "8": "BeginString", "9": "BodyLength", "10": "CheckSum",
    "11": "ClOrdID", "12": "Commission", "13": "CommType", "14": "CumQty", "15": "Currency",
    "17": "ExecID", "19": "ExecRefID", "20": "ExecTransType", "22": "IDSource", "30": "LastMkt",
    "31": "LastPx", "32": "LastQty", "34": "MsgSeqNum", "35": "MsgType", "37": "OrderID",
    "38": "OrderQty", "39": "OrdStatus", "40": "OrdType", "41": "OrigClOrdID", "43": "PossDupFlag",
    "44": "Price", "48": "SecurityID", "49": "SenderCompID", "52": "SendingTime", "54": "Side",
    "55": "Symbol", "56": "TargetCompID", "58": "Text", "59": "TimeInForce", "60": "TransactTime",
    "97": "PossResend", "99": "StopPx", "103": "OrdRejReason", "122": "OrigSendingTime",
    "126": "ExpireTime", "150": "ExecType", "151": "LeavesQty", "167": "SecurityType",
    "200": "MaturityMonthYear", "201": "PutOrCall", "202": "StrikePrice", "378": "ExecRestatementReason",
    "479": "CommCurrency", "541": "MaturityDate", "851": "LastLiquidityInd",
}  # fmt: skip


def tag_field(tag: str) -> str:
    """The reject ``field`` naming a tag: ``tag 31 (LastPx)``."""
    name = TAG_NAMES.get(tag)
    return f"tag {tag} ({name})" if name else f"tag {tag}"


#: ExecType 150 -> event_type (fills and trade corrections/cancels are decided in the code).
_EXEC_EVENT: dict[str, str] = {
    "0": "new",
    "1": "partially_filled",  # 4.2 Partial fill
    "2": "filled",  # 4.2 Fill
    "3": "done_for_day",
    "4": "canceled",
    "5": "replaced",
    "6": "pending_cancel",
    "7": "status",  # Stopped: the order_status says "stopped"
    "8": "rejected",
    "9": "suspended",
    "A": "pending_new",
    "B": "status",  # Calculated: the order_status says "calculated"
    "C": "expired",
    "D": "restated",
    "E": "pending_replace",
    "F": "partially_filled",  # Trade: "filled" when the order is done
    "G": "trade_correct",
    "H": "trade_cancel",
    "I": "status",
}

#: OrdStatus 39 -> order_status.
_ORD_STATUS: dict[str, str] = {
    "0": "new",
    "1": "partially_filled",
    "2": "filled",
    "3": "done_for_day",
    "4": "canceled",
    "5": "replaced",  # 4.2
    "6": "pending_cancel",
    "7": "stopped",
    "8": "rejected",
    "9": "suspended",
    "A": "pending_new",
    "B": "calculated",
    "C": "expired",
    "D": "accepted_for_bidding",
    "E": "pending_replace",
}

#: The status an ExecType implies when a report has no OrdStatus 39.
_EXEC_STATUS: dict[str, str] = {
    "0": "new",
    "3": "done_for_day",
    "4": "canceled",
    "6": "pending_cancel",
    "7": "stopped",
    "8": "rejected",
    "9": "suspended",
    "A": "pending_new",
    "B": "calculated",
    "C": "expired",
    "E": "pending_replace",
}

#: OrdStatus values a fill may still carry although it changed the order (the lagging-39 quirk).
_LAGGING_FILL_STATUS = frozenset({None, "0", "1", "A"})
#: OrdStatus values under which LeavesQty 151 = 0 does not mean "filled".
_NOT_FILLED_WHEN_DONE = frozenset({"3", "4", "8", "C"})

#: Side 54 -> +1 buy / -1 sell (buy minus, sell plus, sell short (exempt), subscribe, redeem).
_SIDE: dict[str, int] = {"1": 1, "2": -1, "3": 1, "4": -1, "5": -1, "6": -1, "D": 1, "E": -1}

_ORD_TYPE: dict[str, str] = {
    "1": "market", "2": "limit", "3": "stop", "4": "stop_limit", "5": "market_on_close",
    "6": "with_or_without", "7": "limit_or_better", "8": "limit_with_or_without", "9": "on_basis",
    "A": "on_close", "B": "limit_on_close", "C": "forex_market", "D": "previously_quoted",
    "E": "previously_indicated", "F": "forex_limit", "G": "forex_swap",
    "H": "forex_previously_quoted", "I": "funari", "J": "market_if_touched",
    "K": "market_with_leftover_as_limit", "L": "previous_fund_valuation_point",
    "M": "next_fund_valuation_point", "P": "pegged",
}  # fmt: skip

_TIME_IN_FORCE: dict[str, str] = {
    "0": "day", "1": "gtc", "2": "opg", "3": "ioc", "4": "fok", "5": "gtx", "6": "gtd",
    "7": "at_the_close",
}  # fmt: skip

_LIQUIDITY: dict[str, str] = {"1": "maker", "2": "taker"}

_ORD_REJ_REASON: dict[str, str] = {
    "0": "Broker / exchange option", "1": "Unknown symbol", "2": "Exchange closed",
    "3": "Order exceeds limit", "4": "Too late to enter", "5": "Unknown order",
    "6": "Duplicate order", "7": "Duplicate of a verbally communicated order", "8": "Stale order",
    "9": "Trade along required", "10": "Invalid investor ID", "11": "Unsupported order characteristic",
    "12": "Surveillance option", "13": "Incorrect quantity", "14": "Incorrect allocated quantity",
    "15": "Unknown account(s)", "16": "Price exceeds current price band",
    "18": "Invalid price increment", "99": "Other",
}  # fmt: skip

_RESTATEMENT_REASON: dict[str, str] = {
    "0": "GT corporate action", "1": "GT renewal / restatement", "2": "Verbal change",
    "3": "Repricing of order", "4": "Broker option", "5": "Partial decline of OrderQty",
    "6": "Cancel on trading halt", "7": "Cancel on system failure", "8": "Market (exchange) option",
    "9": "Canceled, not best", "10": "Warehouse recap", "99": "Other",
}  # fmt: skip

#: An absent or placeholder value (one set lookup instead of ``is None or in MISSING``).
_ABSENT = MISSING | {None}
#: A placeholder in an identifier (OrderID 37, ClOrdID 11, OrigClOrdID 41, ExecID 17, ExecRefID 19,
#: Account 1, Symbol 55, SecurityID 48): base's MISSING but "NA", a real identifier there (National
#: Bank of Canada's ticker on the TSX). "N/A" and "n/a" stay placeholders (FIX writes "no symbol"
#: "[N/A]"), so this is wider than base's MISSING_ID: a placeholder read as an instrument or an
#: account would put trades under a wrong one, a placeholder id rejects its line.
_MISSING_ID = MISSING - {"NA"}
_ABSENT_ID = _MISSING_ID | {None}
#: A Symbol 55 that names no instrument: absent, a placeholder, or FIX's "[N/A]".
_NO_SYMBOL = _ABSENT_ID | {"[N/A]"}

_EXEC_TRANS_TYPES = frozenset({"0", "1", "2", "3"})
_FLAG_YES = frozenset({"Y", "y"})
_REPLACE_REQUEST_TYPES = frozenset({"4", "6", "E"})  # 11 is the request's id, 41 the order's
_CANCELED_OR_PENDING_REPLACE = frozenset({"4", "E"})  # the file's orders may tell their order better

#: Decimal magnitudes outside 1e-40 .. 1e40 are refused (FIX has no exponents; a value like
#: 1E999999999 would otherwise expand into a billion-digit column value).
_MAX_ADJUSTED = 40

_COMPRESSED_MAGIC = (b"\x1f\x8b", b"PK\x03\x04", b"\x28\xb5\x2f\xfd", b"BZh", b"\xfd7zXZ")


# --- identifiers -----------------------------------------------------------------------------------------

# --- field parsers -----------------------------------------------------------------------------------------


def _decimal(value: str, tag: str) -> Decimal | None:
    """An exact decimal from a FIX float field (``None`` for placeholders)."""
    if value in MISSING:
        return None
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        raise RecordError(tag_field(tag), f"{value!r} is not a number") from None
    if not number.is_finite() or not -_MAX_ADJUSTED < number.adjusted() < _MAX_ADJUSTED:
        raise RecordError(tag_field(tag), f"{value!r} is not a finite number of sensible size")
    return number


class _BadNumber(Exception):
    """A cached-number lookup met text that is not a number (the caller names the tag)."""


class _Numbers(dict[str, Decimal | None]):
    """Text -> Decimal cache: logs repeat the same prices and quantities, and a dict hit is ~8x
    cheaper than parsing. Placeholders give None; a bad number raises :class:`_BadNumber`."""

    def __missing__(self, text: str) -> Decimal | None:
        # _decimal inlined (without naming a tag): average prices are mostly unique, so misses are common
        if text in MISSING:
            number = None
        else:
            try:
                number = Decimal(text)
            except (InvalidOperation, ValueError):
                raise _BadNumber(text) from None
            if not number.is_finite() or not -_MAX_ADJUSTED < number.adjusted() < _MAX_ADJUSTED:
                raise _BadNumber(text)
        if len(self) < 500_000:
            self[text] = number
        return number


def _second(text: str, tag: str) -> dt.datetime:
    """``YYYYMMDD-HH:MM:SS`` (UTC) -> aware datetime; FIX's leap second :60 rolls to the next minute."""
    if (
        len(text) != 17
        or text[8] != "-"
        or text[11] != ":"
        or text[14] != ":"
        or not (text[:8] + text[9:11] + text[12:14] + text[15:17]).isdigit()
        or not text.isascii()
    ):
        raise RecordError(tag_field(tag), f"{text!r} is not a FIX UTC timestamp (YYYYMMDD-HH:MM:SS[.sss])")
    second = int(text[15:17])
    try:
        moment = dt.datetime(
            int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]), int(text[12:14]),
            min(second, 59), tzinfo=UTC,
        )  # fmt: skip
        if second == 60:
            moment += dt.timedelta(seconds=1)
    except (ValueError, OverflowError):
        raise RecordError(tag_field(tag), f"{text!r} is not a valid date and time") from None
    if second > 60:
        raise RecordError(tag_field(tag), f"{text!r} is not a valid date and time")
    return moment


class _TimeParser:
    """FIX UTCTimestamp parser by slicing, caching whole seconds (a log repeats each second many
    times) and fractions (a millisecond log has 1,000). The hot path in :meth:`_Reader.message`
    inlines the two cache hits."""

    def __init__(self, stats: dict[str, int]) -> None:
        self.seconds: dict[str, dt.datetime] = {}
        # ".sss" / ".ssssss" (up to 6 digits: finer ones are counted each time) -> its timedelta
        self.fractions: dict[str, dt.timedelta] = {}
        self.stats = stats

    def __call__(self, value: str, tag: str) -> dt.datetime:
        base = self.seconds.get(value[:17])
        if base is None:
            base = _second(value[:17], tag)
            if value[15:17] == "60":
                self.stats["leap_second"] += 1
            if len(self.seconds) > 200_000:  # a day has 86,400 seconds; bound the memory anyway
                self.seconds.clear()
            self.seconds[value[:17]] = base
        if len(value) == 17:
            return base
        fraction = self.fractions.get(value[17:])
        if fraction is None:
            digits = value[18:]
            if value[17] != "." or not digits or not digits.isdigit() or not digits.isascii():
                raise RecordError(tag_field(tag), f"{value!r} is not a FIX UTC timestamp (YYYYMMDD-HH:MM:SS[.sss])")
            fraction = dt.timedelta(microseconds=int(digits[:6].ljust(6, "0")))
            if len(digits) > 6:
                self.stats["time_truncated_to_microseconds"] += 1  # nanoseconds and beyond
            elif len(self.fractions) < 100_000:
                self.fractions[value[17:]] = fraction
        return base + fraction


# --- decoding ----------------------------------------------------------------------------------------------


def _lines(blocks: Iterable[bytes], context: ReaderContext) -> Iterator[str]:
    """The file's lines as text, one at a time, from its bytes in blocks of any size (a broker day is
    hundreds of MB: never the whole file in memory, as bytes or as text). FIX is ASCII; UTF-8 is
    accepted, an odd non-UTF-8 line is read as latin-1 (every byte keeps its value). Only binary
    content without any FIX message is refused; that is known at the end of the file, so the refusal
    comes after the lines (an ingestion discards what it read). The empty piece after a final line
    break is not a line."""
    uri = context.uri
    blocks = iter(blocks)
    head = b""
    for block in blocks:  # enough bytes to recognise a compression magic number or a byte order mark
        head += block
        if len(head) >= 8:
            break
    if head.startswith(_COMPRESSED_MAGIC):
        raise ExtractUnreadable(uri, "the file is compressed (gzip/zip/zstd/bzip2/xz); land it decompressed")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = b"".join((head, *blocks))  # UTF-16 cannot be cut at b"\n": read whole (rare)
        try:
            lines = data.decode("utf-16").split("\n")
        except UnicodeDecodeError as exc:
            raise ExtractUnreadable(uri, f"UTF-16 byte order mark but invalid UTF-16: {exc}") from None
        yield from lines[:-1] if lines and not lines[-1] else lines
        return
    start = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    scan = _Scan()
    yield from chain.from_iterable(_streamed_pieces(head[start:], blocks, scan, context.stats))
    if not scan.seen_fix:
        if scan.undecodable is not None:
            reason, at = scan.undecodable
            raise ExtractUnreadable(uri, f"binary content, not a FIX log (no 8=FIX message; not text: {reason} at byte {at})")
        if scan.nul:
            raise ExtractUnreadable(uri, "binary content (NUL bytes), not a FIX log (no 8=FIX message)")


#: Bytes decoded at once (whole lines): one decode and one split per piece instead of per line.
_PIECE = 1 << 18


class _Scan:
    """What the pieces showed so far, for refusing a binary file without any FIX message."""

    def __init__(self) -> None:
        self.seen_fix = False
        self.nul = False
        #: (reason, byte offset after any BOM) of the first bytes that are not UTF-8
        self.undecodable: tuple[str, int] | None = None
        #: file offset (after any BOM) of the current buffer's first byte
        self.offset = 0


def _streamed_pieces(buffer: bytes, blocks: Iterator[bytes], scan: _Scan, stats: Counter[str]) -> Iterator[Iterable[str]]:
    """The lines of the file, piece by piece, from its first bytes and the blocks after them: each
    block is cut after its last line break and the rest is carried to the next. Lines end at
    ``\n``; a file without any ``\n`` but with ``\r`` (classic Mac) is held until its end to know."""
    separator: bytes | None = b"\n" if b"\n" in buffer else None
    held: list[bytes] = [buffer]  # blocks held while no line break decides the separator
    for block in blocks:
        if separator is None:
            held.append(block)
            if b"\n" not in block:
                continue
            separator = b"\n"
            buffer = b"".join(held)
        else:
            buffer += block
        cut = buffer.rfind(separator) + 1
        if cut:
            yield from _decoded_pieces(buffer, cut, separator, scan, stats)
            scan.offset += cut
            buffer = buffer[cut:]
    if separator is None:
        buffer = b"".join(held)
        separator = b"\r" if b"\r" in buffer else b"\n"
    if buffer:
        yield from _decoded_pieces(buffer, len(buffer), separator, scan, stats)


def _decoded_pieces(data: bytes, size: int, separator: bytes, scan: _Scan, stats: Counter[str]) -> Iterator[Iterable[str]]:
    """The lines of ``data[:size]`` in ~256 KB pieces ending at a line break. A line break is ASCII,
    never part of a multi-byte UTF-8 character, so a piece that is valid UTF-8 decodes exactly as its
    lines would one by one; a piece that is not is decoded line by line (the odd line as latin-1)."""
    start = 0
    text_separator = separator.decode()
    while start < size:
        stop = start + _PIECE
        if stop >= size:
            stop = size
        else:
            stop = data.rfind(separator, start, stop) + 1  # just after the piece's last line break
            if not stop:  # a line longer than a piece
                stop = data.find(separator, start + _PIECE, size) + 1 or size
        piece = data[start:stop]
        if not scan.seen_fix:  # pieces end at line breaks: "8=FIX" is never cut in two
            scan.seen_fix = b"8=FIX" in piece
            scan.nul = scan.nul or b"\x00" in piece
        try:
            lines = piece.decode("utf-8").split(text_separator)
        except UnicodeDecodeError as exc:
            if scan.undecodable is None:
                scan.undecodable = (exc.reason, scan.offset + start + exc.start)
            yield _each_line(data, start, stop, separator, stats)
        else:
            if piece.endswith(separator):
                lines.pop()  # the empty piece after the last line break is not a line
            yield lines
        start = stop


def _each_line(data: bytes, start: int, stop: int, separator: bytes, stats: Counter[str]) -> Iterator[str]:
    """The lines of ``data[start:stop]`` decoded one by one (lazily: ``non_utf8_lines`` is counted
    when its line is read)."""
    find = data.find
    while start < stop:
        end = find(separator, start, stop)
        if end < 0:
            end = stop
        raw = data[start:end]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            stats["non_utf8_lines"] += 1
            yield raw.decode("latin-1")
        start = end + 1


class _SeveralMessages(Exception):
    """A second BeginString 8 inside a line: the logger wrote several messages on one line."""


def _fields(body: str, delimiter: str, stats: dict[str, int]) -> tuple[dict[str, str], dict[str, object]]:
    """The message's fields, the slow way, for what the one-pass split cannot take: values containing
    '=' (Text 58 "a=b"), repeated tags (repeating groups), empty fields (skipped) and, in
    '|'-delimited logs, values containing '|' (a segment without '=' or without a numeric tag
    continues the previous value). A second header (8 or 35 again, or "8=FIX" glued to the CheckSum)
    raises :class:`_SeveralMessages`.

    Returns the fields to read (the first value of a repeated tag) and the raw record (repeated
    tags as lists of values, in order)."""
    first: dict[str, str] = {}
    raw: dict[str, object] = {}
    # '|'-continued values are collected and joined once: re-joining on every piece is quadratic
    pieces: dict[str, list[str]] = {}
    previous: str | None = None
    for segment in body.split(delimiter):
        if not segment:  # an empty field ("||", SOH SOH): nothing, with either delimiter
            continue
        tag, equals, value = segment.partition("=")
        if not (equals and tag.isdigit() and tag.isascii()):
            if delimiter == "|" and previous is not None and not isinstance(raw[previous], list):
                pieces.setdefault(previous, [first[previous]]).append(segment)
                continue
            if not equals and previous is not None:  # a SOH inside the previous value, or damage
                raise RecordError(
                    tag_field(previous),
                    f"is followed by a malformed field {segment[:40]!r} (no '='): a SOH inside the value, "
                    "or a damaged line",
                )
            raise RecordError(None, f"malformed field {segment[:40]!r} (expected tag=value with a numeric tag)")
        existing = raw.get(tag)
        if existing is not None and (tag == "8" or tag == "35"):
            raise _SeveralMessages  # a second header: another message on the same line
        if tag == "10" and "8=FIX" in value:
            raise _SeveralMessages  # "10=1238=FIX.4.4": the next message glued to the CheckSum
        if existing is None:
            first[tag] = raw[tag] = value
        elif isinstance(existing, list):
            existing.append(value)
        else:
            if tag in pieces:
                existing = first[tag] = "|".join(pieces.pop(tag))
            raw[tag] = [existing, value]
            stats["repeated_tags"] += 1
        previous = tag
    for tag, parts in pieces.items():
        first[tag] = raw[tag] = "|".join(parts)
    return first, raw


# --- reading -----------------------------------------------------------------------------------------------

#: CheckSum 10 texts by value ("000".."255").
_CHECKSUM_TEXT = tuple(f"{i:03d}" for i in range(256))


class _Separators(dict[int, bytes]):
    """Number of fields -> the separators of a well-formed message, in order: ``=`` then
    ``<delimiter>=`` for every further field (what the one-pass split assumes)."""

    def __init__(self, delimiter: bytes) -> None:
        super().__init__()
        self.delimiter = delimiter

    def __missing__(self, fields: int) -> bytes:
        separators = b"=" + (self.delimiter + b"=") * (fields - 1) if fields > 0 else b""
        if fields < 1000:
            self[fields] = separators
        return separators


#: delimiter -> the separators of well-formed messages by number of fields
_SEPARATORS = {SOH: _Separators(b"\x01"), "|": _Separators(b"|")}
#: delimiter -> bytes.translate's delete argument: the printable ASCII characters but '=' and the
#: delimiter (a shorter argument is a cheaper call). What it keeps are the separators, and in the odd
#: line other bytes (a control character, UTF-8), which then never equal the separators of a
#: well-formed message: such a line is split field by field.
_NOT_SEPARATORS = {
    SOH: bytes(b for b in range(32, 127) if b != 61),
    "|": bytes(b for b in range(32, 127) if b not in (61, 124)),
}


def read(data: bytes, context: ReaderContext) -> Iterator[Record]:
    """Orders, order events, trades and rejects of a FIX ExecutionReport log (see the module doc)."""
    return read_stream((data,), context)


def read_stream(blocks: Iterable[bytes], context: ReaderContext) -> Iterator[Record]:
    """:func:`read` of the file whose bytes are ``blocks`` joined, cut anywhere (memory holds one
    block and the reader's per-order state, not the file)."""
    lines = _lines(blocks, context)
    reader = _Reader(context)
    try:
        yield from _read_lines(lines, reader, context)
    finally:
        reader.close()


def _read_lines(lines: Iterable[str], reader: _Reader, context: ReaderContext) -> Iterator[Record]:
    stats = context.stats
    message = reader.message
    for number, line in enumerate(lines, 1):
        line = line.rstrip()
        if not line:
            stats["blank_lines"] += 1
            continue
        try:
            try:
                records = message(number, line)
            except _SeveralMessages:
                records = reader.several(number, line)
        except RecordError as error:
            yield context.reject_error(number, error, line)
            continue
        except (ValueError, ArithmeticError, LookupError, TypeError, AttributeError) as exc:
            # a bug in this module must not fail the whole file: the line is kept as a reject
            stats["unexpected_errors"] += 1
            yield context.reject(number, f"cannot read the message: {type(exc).__name__}: {exc}", None, line)
            continue
        if records:
            yield from records


#: Orders (OrderID 37) whose state stays in memory; older ones spill to disk (see lib.spill). A day's
#: log is time-ordered and an order reports for minutes, so few of the spilled come back.
LIVE_ORDERS = 20_000


class _Order(NamedTuple):
    """What one OrderID's reports in this file said so far (the per-file state of one order).

    Dicts of text and numbers only: the garbage collector never tracks such dicts,
    whereas a set, a tuple value or an object per order is scanned again and again (measured over a
    200k-fill day: 0.66 s of collections with sets and tuples, 0.08 s before)."""

    #: client order id -> order_identifier, for the orders whose row was emitted
    identifiers: dict[str | None, str]
    #: client order id -> last CumQty 14 seen, as sent (fill quantity when LastQty is missing)
    cum: dict[str | None, str]
    #: event identifier of a report -> bit mask of the sessions that delivered it (resend dedupe)
    delivered: dict[str, int]
    #: the trades of the order read in this file, all text: ExecID -> the memo of the first trade row
    #: using it (signature, quantity, price, time as sent, "\x02"-separated; a bust or correction adds
    #: its kind and the trade identifier it refers to); ExecID "\x03" the parts telling a later trade
    #: reusing it apart -> that trade's memo; ExecID "\x03" -> "" once the ExecID is known to be
    #: reused; ExecID "\x04" -> the later fills and corrections reusing it, oldest first,
    #: "\x03"-separated, each "<trade it stands for>\x02<quantity>\x02<price>"; trade identifier
    #: "\x05" -> "" once a bust of the file undid that trade, and "\x05" -> "" once one did
    trades: dict[str, str]
    #: the order's chain of replaces in the file, and the orders the file gave reports by it:
    #: - client order id -> order_manager_identifier of a replacement whose row took it from the order
    #:   it replaces (41), which the next replace of the chain inherits;
    #: - client order id "\x01" -> the client order id of the order that replaced it (a Replaced
    #:   report, or the row of a replacement made by a report with 41; None: one without 11);
    #: - event identifier "\x01\x01" -> the client order id the file gave a report whose message alone
    #:   gives that event identifier (_Reader._order_in_file): a copy of it is keyed the same.
    #: FIX values never hold a SOH, so the kinds of key never meet. (One dict: two more dicts per order
    #: made the collector run more often, ~1 % of the reader.)
    chain: dict[str | None, str | None]

    @classmethod
    def new(cls) -> _Order:
        return cls({}, {}, {}, {}, {})

    def is_empty(self) -> bool:
        # cum and trades come with a delivered report, chain with an emitted row or a delivered report
        return not (self.identifiers or self.delivered)

    def pack(self) -> bytes:
        return marshal.dumps(tuple(self))  # all text and ints: marshal is exact, and fast

    @classmethod
    def unpack(cls, data: bytes) -> _Order:
        return cls(*marshal.loads(data))


def _trade_signature(exec_type: str, trans_type: str | None, cum_text: str | None, qty_text: str | None) -> str:
    """What tells two trades reusing one ExecID apart, as one text: the parts are validated codes and
    texts that parsed as numbers or placeholders, so none holds \x00, \x01 or \x02 (None is \x00)."""
    # a tuple, not a generator: this runs for every fill (a generator made it ~4 % of the reader)
    return "\x01".join((
        exec_type,
        "\x00" if trans_type is None else trans_type,
        "\x00" if cum_text is None else cum_text,
        "\x00" if qty_text is None else qty_text,
    ))


def _first_trade(memo: str) -> tuple[Decimal, Decimal | None]:
    """(quantity, price) of the trade row a memo was written for."""
    parts = memo.split("\x02")
    return Decimal(parts[1]), None if parts[2] == "None" else Decimal(parts[2])


#: what ends a trade identifier's key in _Order.trades once a bust of the file undid that trade
_BUSTED = "\x05"


def _current_order(state: _Order) -> str | None:
    """The client order id of the OrderID's one order with a ClOrdID that no replace of the file
    replaced (the current order of its one replace chain); None when there is none, or several."""
    chain = state.chain
    current = None
    for clordid in state.identifiers:
        if clordid is not None and clordid + "\x01" not in chain:
            if current is not None:
                return None  # two orders, or two replacements of one: not known which
            current = clordid
    return current


class _Reader:
    """One read of one file: the per-file state (orders seen, deliveries, CumQty progress, trades)."""

    def __init__(self, context: ReaderContext) -> None:
        self.context = context
        self.stats = context.stats
        # every part this reader passes is a str: the faster maker
        self.order_id = context.identifier_for("order", text_parts=True)
        self.event_id = context.identifier_for("event", text_parts=True)
        self.trade_id = context.identifier_for("trade", text_parts=True)
        self.time = _TimeParser(context.stats)
        self.numbers = _Numbers()
        # mapped accounts / assets (unmapped ones go through the context each time: it counts them)
        self.accounts: dict[str | None, str | None] = {}
        self.assets: dict[tuple[str | None, str | None], str] = {}
        # (SenderCompID, TargetCompID) -> its bit in _Order.delivered
        self.sessions: dict[tuple[str | None, str | None], int] = {}
        # OrderID 37 -> what the file said so far about it; the orders not seen lately spill to disk
        self.book: SpillingDict[_Order] = SpillingDict(
            _Order.new, pack=_Order.pack, unpack=_Order.unpack, is_empty=_Order.is_empty, limit=LIVE_ORDERS
        )

    def close(self) -> None:
        if self.book.spilled:
            self.stats["orders_spilled"] += self.book.spilled
            self.stats["orders_reloaded"] += self.book.reloaded
        self.book.close()

    def message(self, number: int, line: str) -> list[Record] | None:  # noqa: C901, PLR0912, PLR0915
        """The records of one line (None when there are none); raises RecordError to reject it.
        The hot path: kept flat, with lookups and checks inlined."""
        stats = self.stats
        # --- locate and split the message -------------------------------------------------------------
        prefix = None
        if not line.startswith("8=FIX"):
            prefix, line = _strip_prefix(line)
            stats["log_prefixed_lines"] += 1
        delimiter = SOH if SOH in line else "|"
        body = line[:-1] if line[-1] == delimiter else line
        msg: dict[str, str]
        raw: dict[str, object]
        # one pass when every field has exactly one '=' and a numeric tag: split on both at once, then
        # pair the pieces. Taken only when the separators, read with one bytes.translate, alternate
        # '=' and the delimiter: a field without '=' (a '|' inside a value in '|' logs; in SOH lines
        # an empty field or a SOH inside a value, i.e. damage) and a value holding '=' would cancel
        # out in any count into a shifted pairing, reading a value into another field. (An odd number
        # of pieces leaves a tag without value: fewer pairs than tags.)
        items = body.replace("=", delimiter).split(delimiter)
        tags = items[::2]
        msg = dict(zip(tags, items[1::2]))
        joined = "".join(tags)
        if (
            len(msg) == len(tags)
            and joined.isdigit()
            and joined.isascii()  # "²".isdigit() too
            and "" not in msg  # "=x"
            and body.encode().translate(None, _NOT_SEPARATORS[delimiter]) == _SEPARATORS[delimiter][len(tags)]
        ):
            raw = msg  # type: ignore[assignment]
        else:
            msg, raw = _fields(body, delimiter, stats)
        get = msg.get

        msg_type = get("35")
        if msg_type != "8":
            if msg_type is None:
                raise RecordError(tag_field("35"), "no MsgType 35: not a complete FIX message")
            stats["skipped_messages"] += 1
            if len(msg_type) <= 2 and msg_type.isalnum() and msg_type.isascii():
                stats[f"skipped_35_{msg_type}"] += 1
            return None
        stats["messages"] += 1
        if delimiter == "|":
            stats["pipe_delimited_lines"] += 1

        # --- BodyLength 9 / CheckSum 10, recomputed as the sender did (bytes, SOH): tolerated, counted ---
        checksum = get("10")
        if checksum is not None:
            end = len(body) - len(checksum) - 3  # where "10=" starts when it is the last field
            if body[end - 1 : end + 3] != delimiter + "10=":
                end = body.rfind(delimiter + "10=") + 1
            region = body[:end].encode()
            size = len(region)
            if size <= 256 or (size <= 512 and body.isascii()):
                # adler32's low half is 1 + the byte sum modulo 65521: exact for these sizes
                total = (zlib.adler32(region) & 0xFFFF) - 1
            else:
                total = sum(region)
            if delimiter == "|":
                total -= 123 * body.count("|", 0, end)  # the sender summed SOH (1), not '|' (124)
            if _CHECKSUM_TEXT[total & 255] != checksum:
                stats["bad_checksum"] += 1
            length = get("9")
            if length is not None:
                at = len(get("8") or "") + 3  # "8=<value><delimiter>" then "9=<length><delimiter>"
                head = at + 3 + len(length) if body.startswith("9=", at) else size + 1
                if str(size - head) != length:
                    stats["bad_body_length"] += 1
        elif "9" in msg:
            self._check_length_only(body, delimiter, msg)
        if prefix:
            raw["log_prefix"] = prefix  # after the checks: not a FIX field

        # --- required fields ----------------------------------------------------------------------------
        order_id = get("37")
        if order_id in _ABSENT_ID:
            raise RecordError(tag_field("37"), "is required on an ExecutionReport but missing")
        exec_id = get("17")
        if exec_id in _ABSENT_ID:
            raise RecordError(tag_field("17"), "is required on an ExecutionReport but missing")
        exec_type = get("150")
        event_type = _EXEC_EVENT.get(exec_type)  # type: ignore[arg-type]
        if event_type is None:
            if exec_type is None or exec_type in MISSING:
                raise RecordError(tag_field("150"), "is required on an ExecutionReport but missing")
            raise RecordError(tag_field("150"), f"{exec_type!r} is not a FIX 4.4 (or 4.2) ExecType")
        side_code = get("54")
        side = _SIDE.get(side_code)  # type: ignore[arg-type]
        if side is None:
            if side_code is None or side_code in MISSING:
                raise RecordError(tag_field("54"), "is required on an ExecutionReport but missing")
            raise RecordError(tag_field("54"), f"{side_code!r} is neither a buy nor a sell side")
        symbol = get("55")
        security_id = get("48")
        if symbol in _NO_SYMBOL or security_id is not None:
            if symbol in _NO_SYMBOL:  # a placeholder, or FIX's Symbol for "no symbol": 48 names it
                symbol = None
            if security_id in _MISSING_ID:
                security_id = None
            if symbol is None and security_id is None:
                raise RecordError(
                    tag_field("55"), "is required on an ExecutionReport but missing (no SecurityID 48 either)"
                )
        status_code = get("39")
        if status_code is not None and status_code not in _ORD_STATUS:
            if status_code not in MISSING:
                raise RecordError(tag_field("39"), f"{status_code!r} is not a FIX OrdStatus")
            status_code = None
        trans_type = get("20")
        if trans_type is not None:
            stats["fix42_reports"] += 1
            if trans_type not in _EXEC_TRANS_TYPES:
                if trans_type not in MISSING:
                    raise RecordError(tag_field("20"), f"{trans_type!r} is not a FIX ExecTransType (0, 1, 2, 3)")
                trans_type = None
        elif exec_type == "1" or exec_type == "2":
            stats["fix42_reports"] += 1

        # time: TransactTime 60, else (on a resend) OrigSendingTime 122, else SendingTime 52; whole
        # seconds and fractions are cached
        stamp = get("60")
        if stamp in _ABSENT:
            stamp = get("122")
            if stamp not in _ABSENT and (get("43") in _FLAG_YES or get("97") in _FLAG_YES):
                when = self.time(stamp, "122")  # a resend's 52 is the time it was sent again
            else:
                stamp = get("52")
                if stamp in _ABSENT:
                    raise RecordError(tag_field("60"), "is required (and there is no SendingTime 52 either)")
                when = self.time(stamp, "52")
        else:
            time = self.time
            when = time.seconds.get(stamp[:17])  # type: ignore[assignment]
            if len(stamp) != 17:
                fraction = time.fractions.get(stamp[17:])
                when = time(stamp, "60") if when is None or fraction is None else when + fraction
            elif when is None:
                when = time(stamp, "60")

        numbers = self.numbers
        cum_text = get("14")
        try:
            cum = None if cum_text is None else numbers[cum_text]
            value = get("151")
            leaves = None if value is None else numbers[value]
            value = get("6")
            avg = None if value is None else numbers[value]
        except _BadNumber:
            _raise_bad_number(msg, ("14", "151", "6"))

        clordid = get("11")
        if clordid in _MISSING_ID:
            clordid = None
        orig = get("41")
        if orig is not None and (orig in _MISSING_ID or orig == clordid):
            orig = None

        # --- what kind of report ------------------------------------------------------------------------
        kind: str | None = None  # the trade kind, when the report is about a trade
        if trans_type is not None and trans_type != "0":
            if trans_type == "1":
                kind, event_type = "bust", "trade_cancel"
            elif trans_type == "2":
                kind, event_type = "correction", "trade_correct"
            else:
                event_type = "status"
        elif exec_type == "F" or exec_type == "1" or exec_type == "2":
            kind = "fill"
        elif exec_type == "H":
            kind = "bust"
        elif exec_type == "G":
            kind = "correction"

        # order_status: the canonical status after the event
        if kind == "fill":
            done = (
                exec_type == "2"
                or status_code == "2"
                or (leaves is not None and not leaves and status_code not in _NOT_FILLED_WHEN_DONE)
            )
            event_type = "filled" if done else "partially_filled"
            if status_code in _LAGGING_FILL_STATUS:
                status = event_type
                if done and status_code is not None:
                    stats["stale_fill_status"] += 1
            else:
                status = _ORD_STATUS[status_code]  # type: ignore[index]
        elif status_code is not None:
            status = _ORD_STATUS[status_code]
        else:
            status = _EXEC_STATUS.get(exec_type)  # type: ignore[arg-type]

        # --- which order ----------------------------------------------------------------------------------
        order_clordid = clordid
        link = orig
        replaced = False
        if orig is not None and kind is None:
            if exec_type in _REPLACE_REQUEST_TYPES:
                order_clordid = orig  # 11 is the id of the cancel/replace request
                link = None
            elif exec_type == "5" and trans_type != "3":
                replaced = True
        if exec_type == "5" and kind is None and status_code in (None, "5"):
            status = "partially_filled" if cum else "new"  # the replacement itself is live

        event_id = self.event_id(
            order_id, order_clordid or "", exec_id, exec_type, trans_type or "", status_code or "", cum_text or ""
        )
        state = self.book.live.get(order_id)
        if state is None:
            state = self.book.get(order_id)
        rekeyed = None  # the event identifier by the message alone, when the file keys the report otherwise
        if order_clordid is None or exec_type in _CANCELED_OR_PENDING_REPLACE:
            # the message may not name the order (no 11), or name the wrong one: the file's orders tell
            file_clordid = self._order_in_file(state, order_id, clordid, order_clordid, orig, exec_type, replaced, event_id)
            if file_clordid != order_clordid:
                rekeyed = event_id
                order_clordid = file_clordid
                event_id = self.event_id(
                    order_id, file_clordid, exec_id, exec_type, trans_type or "", status_code or "", cum_text or ""
                )

        # --- duplicates: the same session delivering the same report again -------------------------------
        delivered = state.delivered
        session = (get("49"), get("56"))
        bit = self.sessions.get(session)
        if bit is None:
            bit = self.sessions[session] = 1 << len(self.sessions)
        sessions_delivered = delivered.get(event_id, 0)
        other = None  # (time, 32, 31) of a new execution repeating an earlier trade's ExecID and progress
        if (
            sessions_delivered  # a resend, a repeated line, a drop copy... or such a new execution
            and kind is not None
            and (sessions_delivered & bit or exec_id + "\x03" in state.trades)
            and not self._same_execution(state, msg, exec_id, exec_type, trans_type, cum_text, when)
        ):
            other = (stamp, get("32") or "", get("31") or "")  # a resend repeats them: still caught
            event_id = self.event_id(order_id, order_clordid or "", exec_id, exec_type, trans_type or "",
                                     status_code or "", cum_text or "", *other)  # fmt: skip
            sessions_delivered = delivered.get(event_id, 0)
        if sessions_delivered & bit:
            if get("43") in _FLAG_YES or get("97") in _FLAG_YES:
                stats["duplicate_resend"] += 1
            else:
                stats["duplicate_report"] += 1
            return None
        if get("43") in _FLAG_YES or get("97") in _FLAG_YES:
            stats["possdup_unmatched"] += 1

        # --- mappings -----------------------------------------------------------------------------------------
        broker_account = get("1")
        account = self.accounts.get(broker_account, "")
        if account == "":
            account = self._account(broker_account)
        if ("200" in msg or "202" in msg or "541" in msg or "201" in msg or "167" in msg) and _is_derivative(msg):
            asset = self._derivative_asset(msg, symbol, security_id)
        else:
            asset = self.assets.get((symbol, security_id)) or self._asset(msg, symbol, security_id)
        if len(exec_id) > ID_WIDTH:
            raise RecordError(tag_field("17"), f"is longer than {ID_WIDTH} characters")

        # --- order and trade (both before anything is emitted: a bad fill rejects the whole line) ----------
        order = state.identifiers.get(order_clordid)
        order_row = None
        inherited = None  # the manager a replacement takes from the order it replaces
        if order is None:
            order = self.order_id(order_id, order_clordid or "")
            manager = self.context.manager(order_clordid)
            if manager is None and link is not None:
                # OMSs give replacements ids without the strategy's prefix ("R-88121" replacing
                # "momentum/1"): the order it replaces names the manager, also along a chain of replaces
                manager = inherited = state.chain.get(link) or self.context.manager(link)
            order_row = self._order(number, msg, raw, when, order, order_id, order_clordid, link, side, account,
                                    asset, manager, with_terms=True)  # fmt: skip
        trade = None
        if kind is not None:
            trade = self._trade(number, msg, raw, kind, order, order_id, order_clordid, state, exec_id, exec_type,
                                trans_type, cum_text, cum, when, stamp, other, side, account, asset)  # fmt: skip
        reason = None
        if "58" in msg or "103" in msg or "378" in msg:
            reason = _reason(msg)

        # --- emit -------------------------------------------------------------------------------------------
        delivered[event_id] = sessions_delivered | bit
        if rekeyed is not None:
            state.chain[rekeyed + "\x01\x01"] = order_clordid
        if cum is not None and not sessions_delivered:  # progress from a report's first delivery only
            state.cum[order_clordid] = cum_text  # type: ignore[assignment]  # parsed: a number
        new = tuple.__new__
        out: list[Record] = []
        if replaced:
            # the replaced order: its row when first seen here, and its "replaced" event
            old_order = state.identifiers.get(orig)
            if old_order is None:
                old_order = self.order_id(order_id, orig)
                state.identifiers[orig] = old_order
                stats["synthesized_orders"] += 1
                out.append(self._order(number, msg, raw, when, old_order, order_id, orig, None, side, account,
                                       asset, self.context.manager(orig), with_terms=False))  # fmt: skip
            old_event = self.event_id(
                order_id, orig, exec_id, exec_type, trans_type or "", status_code or "", cum_text or ""
            )
            out.append(new(OrderEventRecord, (
                number, when, old_event, old_order, asset, "replaced", account, "replaced", cum, leaves, avg,
                reason, raw,
            )))  # fmt: skip
            state.chain[orig + "\x01"] = order_clordid
        if order_row is not None:
            state.identifiers[order_clordid] = order
            if inherited is not None:
                state.chain[order_clordid] = inherited  # for the next replace of the chain
            if link is not None and exec_type != "8":  # a rejected replace replaced nothing
                state.chain[link + "\x01"] = order_clordid
            elif link is not None:
                state.chain[order_clordid + "\x02"] = ""  # a rejected replace request's id, no order of its own
            if exec_type in ("6", "8") and link is None and order_clordid is not None:
                state.chain[order_clordid + "\x02"] = ""  # a request's id (pending cancel, rejection) without 41
            out.append(order_row)
        out.append(new(OrderEventRecord, (
            number, when, event_id, order, asset, event_type, account, status, cum, leaves, avg, reason, raw,
        )))  # fmt: skip
        if trade is not None:
            out.append(trade)
        return out

    def several(self, number: int, line: str) -> list[Record]:
        """The records of a line holding several messages, each read on its own (same line number)."""
        self.stats["several_messages_per_line"] += 1
        delimiter = SOH if SOH in line else "|"
        cuts = [0, *_message_starts(line, delimiter), len(line)]
        out: list[Record] = []
        for start, stop in pairwise(cuts):
            text = line[start:stop]
            try:
                out.extend(self.message(number, text) or ())
            except _SeveralMessages:  # "8=FIX" again without a delimiter before it
                out.append(self.context.reject(number, "several FIX messages on one line", tag_field("8"), text))
            except RecordError as error:
                out.append(self.context.reject_error(number, error, text))
        return out

    # --- pieces -------------------------------------------------------------------------------------------

    def _order_in_file(
        self,
        state: _Order,
        order_id: str,
        clordid: str | None,
        order_clordid: str | None,
        orig: str | None,
        exec_type: str,
        replaced: bool,
        event_id: str,
    ) -> str | None:
        """The client order id of the order a report is about, when the file's orders of its OrderID
        tell it better than the message (``order_clordid``, the message's rule): a report without
        ClOrdID 11 is about the OrderID's one current order; a Canceled report whose 11 is the order
        that replaced 41's (in the file, or a live order of the file when 41's replace is not in it;
        not a cancel request) is about 11; a Pending Replace without 41 whose 11 is no
        order of the OrderID is about its one current order (11 is the request's id)."""
        if order_id == "NONE":  # FIX's placeholder, shared by unrelated orders: no order of the file
            return order_clordid
        if order_clordid is not None:
            if exec_type == "4":
                replacement = state.chain.get(order_clordid + "\x01")
                if clordid is None or clordid == order_clordid or not (
                    clordid == replacement
                    or (  # 41 replaced in an earlier file (no row of 41 here): 11 a live order of this file
                        replacement is None
                        and order_clordid not in state.identifiers
                        and clordid in state.identifiers
                        and clordid + "\x01" not in state.chain
                        and clordid + "\x02" not in state.chain
                    )
                ):
                    # 11 is a cancel request's id (or the order's own), also when it reuses the id of
                    # another order of the file (one already replaced, a rejected replace's): it cancels 41
                    return order_clordid
                # 11 is the replacement of 41: the replacement's own cancel ("new 11, 41 = previous"); a
                # copy of a report keyed on 41 before 11's row was read keeps that key
                return order_clordid if event_id in state.delivered else clordid
            if orig is not None:
                return order_clordid  # a 150=E with 41: of 41, the order being replaced
        # a report without 11, or a 150=E without 41
        if event_id in state.delivered:
            return order_clordid  # a copy of a report keyed by its message keeps that key
        first = state.chain.get(event_id + "\x01\x01")
        if first is not None:
            return first  # a copy of a report the file keyed: as then
        if order_clordid is None:
            return None if replaced else _current_order(state)
        if clordid in state.identifiers:
            return order_clordid  # the pending replace of 11 itself
        current = _current_order(state)
        return order_clordid if current is None else current

    def _check_length_only(self, body: str, delimiter: str, msg: dict[str, str]) -> None:
        """BodyLength 9 of a message without CheckSum 10 (the body runs to the end of the line)."""
        self.stats["missing_checksum"] += 1
        begin = body.find(delimiter + "9=")
        after = body.find(delimiter, begin + 1) if begin >= 0 else -1
        if after < 0 or str(len((body + delimiter)[after + 1 :].encode())) != msg["9"]:
            self.stats["bad_body_length"] += 1

    def _account(self, broker_account: str | None) -> str | None:
        account = self.context.account(broker_account, missing=_MISSING_ID)
        if account is not None and len(account) > ID_WIDTH:
            raise RecordError(tag_field("1"), f"is longer than {ID_WIDTH} characters")
        if broker_account is None or broker_account in _MISSING_ID or broker_account in self.context.config.accounts:
            self.accounts[broker_account] = account  # mapped: no counting to keep
        return account

    def _asset(self, msg: dict[str, str], symbol: str | None, security_id: str | None) -> str:
        """The asset of an instrument that is no derivative (rules in the module doc)."""
        assets = self.context.config.assets
        mapped = symbol in assets or security_id in assets
        if symbol is None:  # SecurityID 48 alone names the instrument
            asset = self.context.asset(security_id)  # type: ignore[arg-type]
            tags: tuple[str, ...] = ("48",)
        elif security_id is None or mapped:
            asset = self.context.asset(symbol, security_id)
            tags = ("55",)
        else:  # 55 alone may be ambiguous (a root, a ticker on several venues): 48 tells the instrument
            source = msg.get("22")
            if source is None or source in MISSING:
                asset = self.context.asset(f"{symbol} {security_id}")
            else:
                asset = self.context.asset(f"{symbol} {source}:{security_id}")
            tags = ("55", "48", "22")
        if len(asset) > ID_WIDTH:
            _raise_too_long(msg, tags)
        if mapped:
            self.assets[symbol, security_id] = asset  # mapped: no counting to keep
        return asset

    def _derivative_asset(self, msg: dict[str, str], symbol: str | None, security_id: str | None) -> str:
        """The asset of a future or option: never the underlying's (``55``) mapping."""
        asset = self.context.asset(_derivative(msg, symbol or security_id), security_id)  # type: ignore[arg-type]
        if len(asset) > ID_WIDTH:
            _raise_too_long(msg, ("55" if symbol else "48", *_DERIVATIVE_KEY_TAGS))
        return asset

    def _same_execution(
        self,
        state: _Order,
        msg: dict[str, str],
        exec_id: str,
        exec_type: str,
        trans_type: str | None,
        cum_text: str | None,
        when: dt.datetime,
    ) -> bool:
        """Whether a trade report whose event identifier was delivered already repeats the trade read
        then (a resend, a copy) rather than being a new execution reusing its ExecID and progress (a
        refill after a bust): the same LastQty 32 (in the signature), LastPx 31 and time, as values."""
        trades = state.trades
        signature = _trade_signature(exec_type, trans_type, cum_text, msg.get("32"))
        memo = trades.get(exec_id)
        if memo is None:
            memo = trades.get(f"{exec_id}\x03{signature}")  # a bust reusing the ExecID it refers to
            if memo is None:
                return True  # nothing to compare with: as before, a duplicate
        elif not memo.startswith(signature + "\x02"):
            memo = trades.get(f"{exec_id}\x03{signature}")
            if memo is None:
                return False  # the trade read then had another LastQty
        _, _, price, stamp, *_ = memo.split("\x02")
        text = msg.get("31")
        if text is not None:
            try:
                value = self.numbers[text]
            except _BadNumber:
                return False  # the line is rejected when read as a new trade
            if value is not None and (price == "None" or Decimal(price) != value):
                return False
        return self.time(stamp, "60") == when

    def _referred(
        self, trades: dict[str, str], order_id: str, ref_exec_id: str
    ) -> tuple[str, tuple[Decimal, Decimal | None] | None]:
        """The trade identifier a bust's or correction's ExecRefID 19 refers to, and that trade's
        (quantity, price) when it is in the file: of the executions of the order in this file with
        that ExecID (fills, and corrections, which stand for the fill they correct), the latest not
        busted yet (else the latest); ("trade", 37, 19) when the file has none."""
        candidates: list[str] = []  # latest first: "<trade identifier>\x02<quantity>\x02<price>"
        later = trades.get(ref_exec_id + "\x04")
        if later is not None:
            candidates = later.split("\x03")[::-1]
        memo = trades.get(ref_exec_id)  # the first trade with that ExecID
        if memo is not None:
            parts = memo.split("\x02")
            if len(parts) == 4:  # a fill
                candidates.append(f"{self.trade_id(order_id, ref_exec_id)}\x02{parts[1]}\x02{parts[2]}")
            elif parts[4] == "correction":  # it stands for the fill it corrects
                candidates.append(f"{parts[5]}\x02{parts[1]}\x02{parts[2]}")
        if not candidates:
            return self.trade_id(order_id, ref_exec_id), None
        entry = candidates[0]
        if _BUSTED in trades:
            entry = next((c for c in candidates if c.split("\x02", 1)[0] + _BUSTED not in trades), entry)
        target, quantity, price = entry.split("\x02")
        return target, (Decimal(quantity), None if price == "None" else Decimal(price))

    def _order(
        self,
        number: int,
        msg: dict[str, str],
        raw: dict[str, object],
        when: dt.datetime,
        order: str,
        order_id: str,
        clordid: str | None,
        link: str | None,
        side: int,
        account: str | None,
        asset: str,
        manager: str | None,
        *,
        with_terms: bool,
    ) -> OrderRecord:
        """The order's row from its first report (``with_terms=False``: a replaced order seen only
        through its replacement's report, whose quantity and prices are the replacement's), with its
        order_manager_identifier ``manager``."""
        get = msg.get
        stats = self.stats
        for tag, text in (("37", order_id), ("11", clordid), ("41", link)):
            if text is not None and len(text) > ID_WIDTH:
                raise RecordError(tag_field(tag), f"is longer than {ID_WIDTH} characters")
        order_type = get("40")
        if order_type is not None:
            if order_type in _ORD_TYPE:
                order_type = _ORD_TYPE[order_type]
            elif order_type in MISSING:
                order_type = None
            else:
                stats["unknown_order_type"] += 1  # kept as the broker's code
                if len(order_type) > CODE_WIDTH:
                    raise RecordError(tag_field("40"), f"is longer than {CODE_WIDTH} characters")
        tif = get("59")
        if tif is not None:
            if tif in _TIME_IN_FORCE:
                tif = _TIME_IN_FORCE[tif]
            elif tif in MISSING:
                tif = None
            else:
                stats["unknown_time_in_force"] += 1  # kept as the broker's code
                if len(tif) > CODE_WIDTH:
                    raise RecordError(tag_field("59"), f"is longer than {CODE_WIDTH} characters")
        currency = _currency(get("15"), "15")
        quantity = limit = stop = expires = None
        if with_terms:
            numbers = self.numbers
            try:
                value = get("38")
                quantity = None if value is None else numbers[value]
                value = get("44")
                limit = None if value is None else numbers[value]
                value = get("99")
                stop = None if value is None else numbers[value]
            except _BadNumber:
                _raise_bad_number(msg, ("38", "44", "99"))
            value = get("126")
            expires = None if value is None or value in MISSING else self.time(value, "126")
        return tuple.__new__(OrderRecord, (
            number, when, order, asset, side, account, manager,
            None if order_id == "NONE" else order_id, clordid, link, order_type, tif, quantity, limit, stop,
            currency, expires, raw,
        ))  # fmt: skip

    def _trade(
        self,
        number: int,
        msg: dict[str, str],
        raw: dict[str, object],
        kind: str,
        order: str,
        order_id: str,
        order_clordid: str | None,
        state: _Order,
        exec_id: str,
        exec_type: str,
        trans_type: str | None,
        cum_text: str | None,
        cum: Decimal | None,
        when: dt.datetime,
        stamp: str,
        other: tuple[str, str, str] | None,
        side: int,
        account: str | None,
        asset: str,
    ) -> TradeRecord:
        """The fill, bust or correction a report carries (rules in the module doc)."""
        get = msg.get
        numbers = self.numbers
        trades = state.trades
        qty_text = get("32")
        # which trade: its ExecID, unless a sloppy simulator reused it within the order. ``memo`` is
        # what the file said of this trade already (None when it is new), ``key`` where to remember it.
        signature = _trade_signature(exec_type, trans_type, cum_text, qty_text)
        memo = trades.get(exec_id)
        key: str | None = None
        reused: tuple[str, ...] = ()
        if other is not None:  # a new execution repeating an earlier trade's ExecID and progress
            reused = (exec_type, trans_type or "", cum_text or "", qty_text or "", other[0], other[2])
            key = "\x03".join((exec_id, *reused))
            memo = trades.get(key)
        elif memo is None:
            if kind == "fill" or get("19") != exec_id:
                key = exec_id
            else:  # a bust or correction reusing the ExecID it refers to is never that trade
                reused = (exec_type, trans_type or "", cum_text or "", qty_text or "")
                key = f"{exec_id}\x03{signature}"
                memo = trades.get(key)
        elif not memo.startswith(signature + "\x02"):  # not the same trade again (another session's copy)
            reused = (exec_type, trans_type or "", cum_text or "", qty_text or "")
            key = f"{exec_id}\x03{signature}"
            memo = trades.get(key)
        if memo is not None:
            key = None
        trade_id = self.trade_id(order_id, exec_id, *reused) if reused else self.trade_id(order_id, exec_id)
        if (
            key == exec_id
            and _BUSTED in trades  # a bust of the file undid a trade of the order
            and kind == "fill"
            and trade_id + _BUSTED in trades
            and get("43") not in _FLAG_YES
            and get("97") not in _FLAG_YES
        ):
            # the first fill with this ExecID in the file, but a bust of the file already undid the trade
            # ("trade", 37, 17) read in an earlier file: a refill reusing the ExecID, or a late copy of
            # the busted fill, which cannot be told apart without that file
            raise RecordError(
                tag_field("17"),
                f"reuses ExecID {exec_id!r} of a fill busted earlier in this file and read in an earlier one: "
                "a refill cannot be told from a late copy of the busted fill",
            )
        try:
            last_qty = None if qty_text is None else numbers[qty_text]
            value = get("31")
            price = None if value is None else numbers[value]
            value = get("12")
            commission = None if value is None else numbers[value]
        except _BadNumber:
            _raise_bad_number(msg, ("32", "31", "12"))

        ref = None
        if kind == "fill":
            quantity = last_qty
            if quantity is None or quantity <= 0:
                if quantity is not None and quantity < 0:
                    raise RecordError(tag_field("32"), f"{qty_text!r} is negative on a fill")
                if memo is not None:  # a copy of a trade read already: its quantity
                    quantity = _first_trade(memo)[0]
                else:
                    previous_text = state.cum.get(order_clordid)
                    previous = None if previous_text is None else numbers[previous_text]
                    if cum is None or previous is None or cum <= previous:
                        raise RecordError(
                            tag_field("32"), "is required on a fill (and the CumQty 14 progress does not give it)"
                        )
                    quantity = cum - previous  # CumQty progress since the order's previous report
            if price is None:
                raise RecordError(tag_field("31"), "is required on a fill but missing")
        else:
            ref_exec_id = get("19")
            if ref_exec_id is None or ref_exec_id in _MISSING_ID:
                what = "trade cancel (bust)" if kind == "bust" else "trade correction"
                raise RecordError(tag_field("19"), f"is required on a {what}: the ExecID of the fill it refers to")
            if memo is not None:  # a copy of this bust or correction (a resend, a drop copy): as read then
                ref = memo.rsplit("\x02", 1)[1]
                original: tuple[Decimal, Decimal | None] | None = _first_trade(memo)
            else:
                ref, original = self._referred(trades, order_id, ref_exec_id)
            quantity = abs(last_qty) if last_qty else None
            if kind == "bust":
                if quantity is None and original is not None:
                    quantity = original[0]
                if quantity is None:
                    raise RecordError(
                        tag_field("32"),
                        f"is missing on a bust and the busted fill (ExecID {ref_exec_id}) is not in the file",
                    )
            elif quantity is None or last_qty < 0:  # type: ignore[operator]
                raise RecordError(tag_field("32"), "a trade correction needs the corrected quantity (positive)")
            if price is None and original is not None:
                price = original[1]

        currency = get("15")
        if currency is not None and (len(currency) > CURRENCY_WIDTH or currency in MISSING):
            currency = _currency(currency, "15")
        commission_asset = None
        if commission is not None:
            comm_type = get("13")
            if comm_type is None or comm_type == "3" or comm_type in MISSING:
                pass  # absolute amount
            elif comm_type == "1":
                commission = commission * quantity  # per unit
            elif comm_type == "2" and price is not None:
                commission = commission * quantity * price  # percent, 5% written .05
            else:
                self.stats["commission_not_absolute"] += 1
                commission = None
            if commission is not None:
                code = get("479")
                code = currency if code is None else _currency(code, "479") or currency
                if code is not None:
                    commission_asset = self.context.config.assets.get(code, code)
        venue = get("30")
        if venue is not None:
            if venue in MISSING:
                venue = None
            elif len(venue) > VENUE_WIDTH:
                raise RecordError(tag_field("30"), f"is longer than {VENUE_WIDTH} characters")
        # remembered once the line is known good (a rejected line leaves no trace)
        if key is not None:
            # the memo: signature, quantity, price, time as sent (a fill); then kind and the trade it refers to
            if ref is None:
                trades[key] = f"{signature}\x02{quantity}\x02{price}\x02{stamp}"
            else:
                trades[key] = f"{signature}\x02{quantity}\x02{price}\x02{stamp}\x02{kind}\x02{ref}"
                if kind == "bust":
                    trades[ref + _BUSTED] = trades[_BUSTED] = ""  # the trade is undone
            if key != exec_id and kind != "bust":  # a later execution reusing the ExecID: 19 may name it
                stack = exec_id + "\x04"
                entry = f"{trade_id if ref is None else ref}\x02{quantity}\x02{price}"
                later = trades.get(stack)
                trades[stack] = entry if later is None else f"{later}\x03{entry}"
        if reused:
            self.stats["reused_exec_id"] += 1
            trades[exec_id + "\x03"] = ""  # the ExecID is known to be reused in this order

        return tuple.__new__(TradeRecord, (
            number, when, trade_id, asset, side, quantity, order, account, exec_id, price, currency, commission,
            commission_asset, None, None, _LIQUIDITY.get(get("851")), venue, kind, ref, raw,  # type: ignore[arg-type]
        ))  # fmt: skip


def _strip_prefix(line: str) -> tuple[str, str]:
    """Split a log line into its prefix and the FIX message starting at ``8=FIX``."""
    start = line.find("8=FIX")
    while start > 0 and line[start - 1].isdigit():  # "58=FIX..." inside a value is not the start
        start = line.find("8=FIX", start + 1)
    if start < 0:
        raise RecordError(tag_field("8"), "not a FIX message (no 8=FIX BeginString)")
    return line[:start].strip(), line[start:]


def _message_starts(line: str, delimiter: str) -> list[int]:
    """Where the second and further messages of a line start: at each ``8=FIX`` after the first
    message's that follows a delimiter, or that a header follows (``8=FIX.4.4|9=`` or ``|35=``)
    whatever comes before it (``10=1238=FIX.4.4|...``: the delimiter after the CheckSum is missing)."""
    first = line.find("8=FIX")
    while first > 0 and line[first - 1].isdigit():  # as _strip_prefix: "58=FIX..." is a value
        first = line.find("8=FIX", first + 1)
    starts = []
    at = line.find("8=FIX", first + 1) if first >= 0 else -1
    while at > 0:
        after = line.find(delimiter, at)
        if line[at - 1] == delimiter or (after > 0 and line.startswith(("9=", "35="), after + 1)):
            starts.append(at)
        at = line.find("8=FIX", at + 1)
    return starts


def _raise_too_long(msg: dict[str, str], tags: tuple[str, ...]) -> NoReturn:
    """Reject an instrument identifier longer than its column, naming its longest part's tag."""
    tag = max((t for t in tags if msg.get(t)), key=lambda t: len(msg[t]), default=tags[0])
    if len(msg.get(tag) or "") > ID_WIDTH:
        raise RecordError(tag_field(tag), f"is longer than {ID_WIDTH} characters")
    raise RecordError(tag_field(tag), f"makes the instrument identifier longer than {ID_WIDTH} characters")


def _raise_bad_number(msg: dict[str, str], tags: tuple[str, ...]) -> NoReturn:
    """Name the tag whose value is not a number (a cache lookup only says that one of them failed)."""
    for tag in tags:
        value = msg.get(tag)
        if value is not None:
            _decimal(value, tag)
    raise RecordError(None, "a value is not a number")  # not reached: one of the tags fails


def _currency(code: str | None, tag: str) -> str | None:
    if code is None or code in MISSING:
        return None
    if len(code) > CURRENCY_WIDTH:
        raise RecordError(tag_field(tag), f"{code[:40]!r} is not a currency code (longer than {CURRENCY_WIDTH})")
    return code


#: The tags of a derivative's key after its symbol (201 written C / P).
_DERIVATIVE_KEY_TAGS = ("167", "200", "541", "201", "202")
_DERIVATIVE_TYPES = frozenset({"FUT", "OPT"})


def _is_derivative(msg: dict[str, str]) -> bool:
    """A future or option: SecurityType 167 FUT/OPT, or a maturity, put/call or strike."""
    if msg.get("167") in _DERIVATIVE_TYPES:
        return True
    for tag in ("200", "541", "202"):
        value = msg.get(tag)
        if value and value not in MISSING:
            return True
    return msg.get("201") in ("0", "1")


def _derivative(msg: dict[str, str], underlying: str) -> str:
    """A future's or option's instrument: ``<55>[ <200>][ <541>][ C|P][ <202>]``, the parts present,
    with SecurityType 167 after 55 when there is neither 200 nor 202 (keys made before 541 and 167
    were read stay the same): ``AAPL 202603 C 200``, ``ES 202603 20260320``, ``ES FUT 20260320``."""
    parts = [underlying]
    maturity = msg.get("200")
    if maturity in _ABSENT:
        maturity = None
    strike = msg.get("202")
    if strike in _ABSENT:
        strike = None
    if maturity is None and strike is None:
        security_type = msg.get("167")
        if security_type not in _ABSENT:
            parts.append(security_type)  # type: ignore[arg-type]
    elif maturity is not None:
        parts.append(maturity)
    date = msg.get("541")
    if date not in _ABSENT:
        parts.append(date)  # type: ignore[arg-type]
    put_call = msg.get("201")
    if put_call in ("0", "1"):
        parts.append("P" if put_call == "0" else "C")
    if strike is not None:
        parts.append(strike)
    return " ".join(parts)


def _reason(msg: dict[str, str]) -> str | None:
    """Text 58, with OrdRejReason 103 / ExecRestatementReason 378 spelled out before it."""
    parts: list[str] = []
    code = msg.get("103")
    if code is not None and code not in MISSING:
        parts.append(f"OrdRejReason {code} ({_ORD_REJ_REASON.get(code, 'unknown')})")
    code = msg.get("378")
    if code is not None and code not in MISSING:
        parts.append(f"ExecRestatementReason {code} ({_RESTATEMENT_REASON.get(code, 'unknown')})")
    text = msg.get("58")
    if text is not None and text.strip() not in MISSING:
        parts.append(text.strip())
    return ": ".join(parts) if parts else None
