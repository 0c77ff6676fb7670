"""Reader of Interactive Brokers Flex Query XML (Activity statements, Trades section).

The format
----------
A Flex Query answer is one XML document::

    <FlexQueryResponse queryName=".." type="AF">
      <FlexStatements count="2">
        <FlexStatement accountId="U1234567" fromDate=".." toDate=".." ..>
          <Trades>
            <Order levelOfDetail="ORDER" ibOrderID=".." quantity="-300" .. />
            <Trade levelOfDetail="EXECUTION" tradeID=".." ibOrderID=".." quantity="-100" .. />
            <Lot levelOfDetail="CLOSED_LOT" .. />
            ..
          </Trades>
        </FlexStatement>
        <FlexStatement accountId="U7654321" ..> .. </FlexStatement>
      </FlexStatements>
    </FlexQueryResponse>

Every value is an attribute. Only the ``<Trades>`` sections are read (one per statement, one
statement per account, or per account and day). A row's ``levelOfDetail`` decides what it is,
whatever its element name (some queries emit ``<Trade levelOfDetail="ORDER">``): ``EXECUTION``
rows are fills, ``ORDER`` rows are orders (IB's per-order summary of the executions, not more
fills: counting both would double every trade), any other level (``CLOSED_LOT``,
``SYMBOL_SUMMARY``, ``ASSET_SUMMARY``, ...) is skipped and counted in
``stats["skipped_<level>"]``. Without ``levelOfDetail``, or with a missing value there
(``levelOfDetail=""``, ``"N/A"``, ... below), a ``<Trade>`` is an execution and an ``<Order>`` an
order; other elements are skipped (``stats["skipped_unknown_row"]``).

A Trade Confirmation query (``type="TCF"``) has ``<TradeConfirms>`` sections of
``<TradeConfirm>`` rows instead. They are not read, but each row is rejected (field
``TradeConfirms``, the reason saying to use an Activity Flex query with the Trades section;
``stats["trade_confirms_rejected"]``): a source set up with the wrong query type shows every fill
as a reject instead of reading empty. A statement with both sections (IB sends one or the other)
has its Trades rows read and its TradeConfirm rows rejected.

The document is parsed with ``defusedxml`` with DTDs forbidden: a document type declaration,
entity declaration (billion laughs, quadratic blow-up) or external entity makes the whole file
unreadable, as do non-XML, truncated or mis-encoded bytes and a root other than
``<FlexQueryResponse>`` (IB's error answer is a ``<FlexStatementResponse>``) or without
``<FlexStatements>``: each raises one :class:`ExtractUnreadable` naming the file.

The document is read one statement at a time (``iterparse``): a statement's rows are read when
its ``</FlexStatement>`` is parsed, then the statement is dropped, so memory holds a block of the
file and one statement (one account), not the document (:func:`read_stream`; ingestion streams
the file), besides the identifiers yielded, a few words per fill yielded for the busts/corrections
of later statements that name it by ``origTradeID`` (below) and the few rejects held to the end of
the file (busts/corrections whose original the file lacks, below). A file that goes wrong after
whole statements raises after their records were read: ingestion then publishes nothing from the
partition.

Record numbers are the 1-based positions of the rows of all ``<Trades>`` sections of the file,
in document order (skipped rows count too, so a number always points at the same element). The
reject of a ``<TradeConfirms>`` row has none (``None``): counting those rows would change the
numbers of the Trades rows after them, and the reject's ``raw_record`` shows the row.

Values
------
- ``""``, ``"N/A"``, ``"--"`` and the other :data:`~exec_pipeline.readers.base.MISSING` markers
  are missing values (``None``); for ``origTradeID``/``origTransactionID``/``origOrderID`` a
  ``"0"`` also means "none" (IB writes ``origOrderID="0"``). In the instrument attributes
  (``symbol``, ``conid``, ``isin``) only ``""``, ``-``, ``--``, ``null``, ``NULL`` and ``None``
  (:data:`~exec_pipeline.readers.base.MISSING_ID` and IB's ``--``) are: ``NA`` (National Bank of
  Canada on the TSX), ``N/A`` and ``n/a`` are read as written, counted in
  ``stats["identifiers_like_missing"]``.
- Numbers are exact decimals parsed from the text (thousands separators ``1,234.5`` accepted, as
  IB sometimes writes them); magnitudes beyond 1e±30 are refused (absurd, and a huge exponent
  would fail the warehouse's NUMERIC column at publish time).
- Times (``dateTime``, ``orderTime``) are wall-clock times of the statement's zone, the source's
  ``timezone`` (``America/New_York`` for most IB accounts), converted to UTC by
  :func:`~exec_pipeline.readers.base.wall_clock_to_utc`. Accepted forms: ``20220215;102026``,
  ``2022-02-15;10:20:26``, ``2022-02-1510:20:26`` (no separator), ``20220215 102026``,
  ``2022-02-15, 10:20:26``, ``...T10:20:26`` and a date alone (the day's first instant in the
  statement's zone, also where the clocks skip or repeat midnight; counted in
  ``stats["date_only_times"]``); each time may end with a zone abbreviation (the
  query's time format ``HHmmss TZ`` / ``HH:mm:ss TZ``: ``20261101;013000 EST``,
  ``2026-11-01, 01:30:00 EDT``). An explicit offset after the time (``-05:00``, ``+0100``,
  ``Z``; old statements) is honoured as the instant. Other date formats a query can be set to
  (``MM/dd/yyyy``, ``dd-MMM-yy``, ...) are ambiguous and rejected: set the Flex query's date
  format to ``yyyyMMdd`` or ``yyyy-MM-dd``. Without ``dateTime`` the trade time is ``tradeDate``
  + ``tradeTime`` (old statements, ``stats["time_from_trade_date"]``). The rules below reject a
  time, except an execution's ``orderTime``: it only dates the order derived from the execution,
  which then takes the execution's time (see "Orders without an ORDER row").
- Daylight saving time, never guessed: a zone abbreviation must be the source zone's name at that
  local time (``tzname()``; ``EST``/``EDT`` for ``America/New_York``, ``CET``/``CEST`` for
  ``Europe/Zurich``, ``GMT``/``BST`` for ``Europe/London``; ``UTC`` only where the zone is at
  offset 0 then), else the row is rejected naming the field and the name(s) expected (check the
  source's ``timezone``). In the hour repeated when the clocks go back (01:00-01:59 on the first
  Sunday of November in New York) the abbreviation tells which of the two times it is; without
  one such a time is ambiguous (two instants an hour apart) and rejected, the reason giving both
  and saying to set the query's time format to ``HHmmss TZ``. A time the clocks skipped in spring
  (02:00-02:59 in New York) does not exist and is rejected. A source without ``timezone`` (its
  times are UTC) reads only UTC's names (``UTC``, ``GMT``, ``Z``, ``UT``) and rejects any other
  abbreviation asking for its ``timezone``: an abbreviation is never looked up in a table, since
  the same name means different offsets in different places and years (``EST`` in New York and in
  older Australian statements). Flex statements carry no account zone, so the source's
  ``timezone`` is the only zone the reader knows.
- Sides: ``buySell`` (``BUY``/``SELL``, or ``BUY (Ca.)``/``SELL (Ca.)`` on a cancellation: the
  side of the cancelled fill) gives the side; without it the sign of ``quantity`` does (sells are
  negative; a cancellation row carries the reversing sign, so its side is the opposite of its
  sign). A fill whose ``buySell`` contradicts the sign of its ``quantity`` is rejected.
  ``quantity`` stored is the absolute value.

How rows are derived
--------------------
EXECUTION row -> one **TradesTS** row:
``trade_time`` = ``dateTime``; ``trade_remote_id`` = ``tradeID`` (else ``ibExecID``, else
``transactionID``); ``price`` = ``tradePrice``; ``currency`` = ``currency``; ``venue`` =
``exchange``; ``commission`` = ``-ibCommission`` (IB writes paid commissions as negative cash;
stored, a paid commission is positive and a refund/rebate negative) with
``commission_asset_identifier`` = ``ibCommissionCurrency`` (the code as is, e.g. ``USD``; else
``currency``); ``settlement_cost`` = ``netCash`` (IB's signed cash movement: negative when cash
is paid, for buys) with ``settlement_asset_identifier`` = ``currency``; ``liquidity`` ``None``
(Flex does not say); ``venue_metadata`` = the row's raw attribute dict (option/future
attributes ``multiplier``, ``strike``, ``expiry``, ``putCall``, ``underlyingSymbol``, ``conid``,
``isin``, ``cusip``, ``listingExchange`` included, and the raw ``ibCommission``).

- ``trade_kind`` "bust": a cancellation (``transactionType`` ``TradeCancel``/``FracShareCancel``,
  ``buySell`` ending in ``(Ca.)`` or ``Ca`` among the ``;``-separated ``notes`` codes).
- ``trade_kind`` "correction": ``transactionType`` ``TradeCorrect``, or any other row carrying an
  ``origTradeID``. Its quantity and price are the row's (the corrected values).
- otherwise "fill" (``ExchTrade``, ``BookTrade``, ``FracShare``, ...).

Busts and corrections carry ``ref_trade_identifier``, the identifier of the fill (or correction)
they refer to, resolved in this order: the trade identifier rule applied to ``origTransactionID``
(IB's id of the booking cancelled or corrected: it names the fill in any statement or file, with
nothing else read); the latest earlier fill or correction of this statement (earlier by
``transactionID`` when both are numeric, else by position) with ``tradeID`` = ``origTradeID`` (a
correction goes by its own ``tradeID`` when it differs from its ``origTradeID``: a bust or
correction of a correction refers to that correction, and the warehouse's ``effective_trades``
follows the chain back to the fill); when the row itself has no ``transactionID`` (a statement
without transactionIDs, whose fills go by ``tradeID``) the rule applied to ``origTradeID``; else
the latest earlier fill or correction with that ``tradeID`` yielded from an earlier statement of
the file (a query with "one statement per day", or overlapping statements: the fill is on day 1,
its cancellation on day 2; earlier by ``transactionID`` as above, else it is, since positions
increase through the file; the reader keeps for this each fill's identifier and
``transactionID`` by ``tradeID``). A bust naming neither is matched once the statement's rows
naming their original are resolved: the latest earlier fill of the statement with the same order,
instrument, quantity and price that no bust or correction of the statement, or yielded from an
earlier statement of the file, refers to (``stats["ref_by_match"]``). When none applies the row
is rejected: ``origTransactionID is missing and the fill of origTradeID ... is not in this file``
(a fill of another file, e.g. yesterday's, can be named only by ``origTransactionID``: keep it in
the Flex query) or ``origTradeID ... cannot tell which fill``. Those rejects come at the end of
the file, and not at all when the same row (the same trade identifier) is read from another
statement of the file that has its original (overlapping statements; counted in
``stats["duplicate_rows"]``). Their OrderEventsTS row has event_type ``trade_cancel`` /
``trade_correct``.

Re-booking: IB corrects a fill by cancelling it and booking the corrected fill again under the
*same* ``tradeID`` (with a new ``transactionID``; the cancellation's ``origTransactionID`` names
the original booking). Executions are identified by their ``transactionID``, so the re-booked
fill is a fill of its own, whether its cancellation is in the same statement, an earlier one or
another file, and the effective trades are the re-booked ones, not the cancelled original. A fill
repeating the ``tradeID`` of another fill of its statement is counted in
``stats["rebooked_fills"]``. (Limitation: in a statement without transactionIDs a re-booking has
the identifier of its original and is yielded once.)

ORDER row -> one **OrdersTS** row: ``order_time`` = ``orderTime`` (else ``dateTime``);
``order_remote_id`` = ``ibOrderID``; ``client_order_id`` = ``orderReference``;
``order_manager_identifier`` = ``context.manager(orderReference)``; ``order_side`` from
``buySell``/sign; ``quantity`` ``None``: the row's ``quantity`` is IB's sum of the order's
executions in the statement, not the order's size (a GTC order filled over two days has an ORDER
row per day with that day's executions; a day order partly filled then cancelled has the filled
part), and Flex has no field for the size or the unfilled remainder; ``order_type`` =
``orderType`` as is (``LMT;MIDPX`` when several); ``limit_price`` ``None`` (the row's
``tradePrice`` is the average fill price). The row's raw attributes, with that executed
``quantity`` and ``tradePrice``, are the ``venue_metadata``.

Orders without an ORDER row (queries without "Orders", the usual case): one **OrdersTS** row is
derived per order from its first execution in time (first fill, else first cancellation), with
``order_time`` = its ``orderTime``, ``quantity`` ``None`` (unknown) and that execution's raw record
as ``venue_metadata`` (``stats["derived_orders"]``). Without ``orderTime``, or with one that cannot
be read (ambiguous in the repeated autumn hour, in the spring gap, malformed, an abbreviation not
the zone's), ``order_time`` is the execution's time; the execution is kept, not rejected, and an
unusable ``orderTime`` is counted in ``stats["unusable_order_times"]`` (its raw text stays in
``venue_metadata``). An order whose ORDER row is rejected is derived from its executions.

Each execution also gives one **OrderEventsTS** row for its order (none when the row has no order
id; ``stats["fills_without_order"]``). A statement never shows an order's size, whether more of it
was to come or whether its rest was cancelled, nor the executions of other statements, with or
without an ORDER row: a fill's event_type/order_status is always ``partially_filled`` (it was at
least partly filled) and ``cum_quantity``, ``leaves_quantity`` and ``avg_price`` are ``None`` (a
sum of the statement's executions would look like the order's). A bust/correction event has
``order_status`` ``None``. The ``order_status`` view gives each order's filled quantity and
average price from the effective trades of every statement.

Identifiers (``context.identifier(kind, *parts)``; every part list starts with the row's
``accountId`` — else the statement's — because IB reuses one order id across the accounts an
order is allocated to):

- trade (fill, bust or correction alike): ``(accountId, "transactionID", transactionID)``;
  without ``transactionID`` ``(accountId, tradeID)`` (not for a bust/correction whose ``tradeID``
  equals its ``origTradeID``), else ``(accountId, "ibExecID", ibExecID)``. The identifier is a
  function of the row alone: the same row gets the same one whatever else the file holds.
- event: the trade's parts with kind ``"event"`` (one event per execution).
- order: ``(accountId, ibOrderID)``; else ``(accountId, "brokerageOrderID", ..)``, else
  ``(accountId, "orderReference", ..)``. ORDER rows and executions share the rule, so fills join
  their orders, and the same trade or order in two overlapping statements (two files, two days)
  gets the same identifier. Within one file a fact seen twice (overlapping statements in one
  file, duplicated rows) is yielded once (``stats["duplicate_rows"]``); a bust/correction already
  yielded from one statement is not resolved again in another (which may lack its original).

Mappings: ``account_identifier`` = ``context.account(accountId)``; ``asset_identifier`` =
``context.asset(symbol, conid, isin)`` — for options and futures ``symbol`` is IB's full local
symbol (``AAPL  220318C00150000``, ``ESH2``), so a catalogue maps by symbol or by conid.

Rejects (reading goes on with the next row; ``raw_record`` = the row's XML text): a missing
``tradeID`` with no fallback, ``symbol``, ``quantity``, ``tradePrice`` or ``dateTime``; a bad
number or time (a time the clocks skipped, one of the repeated autumn hour without zone
abbreviation, an abbreviation that is not the zone's; not an execution's ``orderTime``, above);
an unknown ``buySell``; a zero quantity; a value longer than its warehouse column; a
bust/correction whose fill cannot be told (above); an ORDER row without order id, symbol, side or
time, or with an unusable ``orderTime``.

Counters in ``context.stats``: ``statements``, ``rows``, ``fills``, ``busts``, ``corrections``,
``order_rows``, ``derived_orders``, ``events``, ``rebooked_fills``, ``duplicate_rows``,
``ref_by_match``, ``fills_without_order``, ``date_only_times``, ``time_from_trade_date``,
``unusable_order_times``, ``identifiers_like_missing``, ``skipped_<level>`` /
``skipped_unknown_row``, ``trade_confirms_rejected``, ``rejects``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element, tostring
from zoneinfo import ZoneInfo

from defusedxml import ElementTree as SafeElementTree

from exec_pipeline.data_nodes.execution import OrderEventRecord, OrderRecord, RejectRecord, TradeRecord
from exec_pipeline.readers.base import (
    CODE_WIDTH,
    CURRENCY_WIDTH,
    ID_WIDTH,
    MISSING,
    MISSING_ID,
    VENUE_WIDTH,
    ExtractUnreadable,
    ReaderContext,
    RecordError,
    wall_clock_to_utc,
)

NAME = "ibkr_flex"
#: 2.0.0: executions identified by transactionID (re-booked fills kept); ORDER rows give no order size or filled status
#: 2.1.0: times with a zone abbreviation ("HHmmss TZ") read and checked against the zone; local times in
#: the repeated autumn hour (without abbreviation) or in the spring gap rejected; symbol/conid/isin NA kept
#: 2.2.0: levelOfDetail="" (a missing value) read as absent; busts/corrections of a correction found by its tradeID;
#: a bust/correction repeated in overlapping statements of a file yielded once, never rejected; content matching
#: after the explicit references; an execution's unusable orderTime dates its derived order by the execution;
#: a bust/correction naming only origTradeID finds its fill in an earlier statement of the file (one statement a
#: day); <TradeConfirms> rows (Trade Confirmation query) rejected, no longer silently skipped
VERSION = "2.2.0"

Record = OrderRecord | OrderEventRecord | TradeRecord | RejectRecord

UTC = dt.UTC

#: IB also writes "--" for "no value" (old statements).
_MISSING = MISSING | {"--"}
#: For references to an original trade/order, "0" means none (``origOrderID="0"``).
_NO_REFERENCE = _MISSING | {"0"}
#: "No value" in the instrument fields (symbol, conid, isin): only the markers that are never an
#: instrument, and IB's "--"; ``NA`` is National Bank of Canada on the TSX.
_MISSING_INSTRUMENT = MISSING_ID | {"--"}
#: What ends a reject of a time in the repeated autumn hour.
_FOLD_REMEDY = (
    "set the Flex query's time format to HHmmss TZ or HH:mm:ss TZ so each time carries its zone abbreviation"
)
#: A zone abbreviation after the time: ``20221106;013000 EST``.
_ABBREVIATION = re.compile(r" +([A-Za-z]{2,6})")

_CANCEL_TYPES = frozenset({"TradeCancel", "FracShareCancel"})
_CORRECT_TYPES = frozenset({"TradeCorrect"})
_DEFAULT_LEVEL = {"Trade": "EXECUTION", "Order": "ORDER"}
_KIND_COUNTER = {"fill": "fills", "bust": "busts", "correction": "corrections"}
#: the kinds of execution rows yielded (not "duplicate" copies, nor "unresolved" ones held to the end)
_YIELDED_KINDS = frozenset(_KIND_COUNTER)

#: A Trade Confirmation query's rows are not read (their attributes are not the Trades section's);
#: each is rejected with this reason, so a source configured with that query type does not read empty.
_TRADE_CONFIRM_REASON = (
    "Trade Confirmation rows (<TradeConfirms>) are not read: use an Activity Flex query with the Trades section"
)

_DECIMAL_LIMIT = 30  # |adjusted exponent|: 1e30 is far beyond any price, quantity or amount
_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")


# --- field parsing ---------------------------------------------------------------------------------


def _get(attrs: dict[str, str], name: str) -> str | None:
    """The attribute's text, ``None`` when absent or a "no value" marker."""
    value = attrs.get(name)
    if value is None or value in _MISSING:
        return None
    if value[0] <= " " or value[-1] <= " ":  # rare: strip() only when needed ("" is in _MISSING)
        value = value.strip()
        if value in _MISSING:
            return None
    return value


def _get_ref(attrs: dict[str, str], name: str) -> str | None:
    value = _get(attrs, name)
    return None if value is None or value in _NO_REFERENCE else value


def _bounded(value: str | None, field: str, width: int) -> str | None:
    if value is not None and len(value) > width:
        raise RecordError(field, f"is longer than {width} characters ({len(value)})")
    return value


def _decimal(attrs: dict[str, str], field: str, *, required: bool = False) -> Decimal | None:
    text = _get(attrs, field)
    if text is None:
        if required:
            raise RecordError(field, "is required but missing")
        return None
    if len(text) > 64 or "_" in text:  # Decimal() accepts "1_000"; IB never writes it
        raise RecordError(field, f"{text[:70]!r} is not a number")
    try:
        number = Decimal(text)
    except InvalidOperation:
        if "," not in text or _GROUPED_NUMBER.fullmatch(text) is None:
            raise RecordError(field, f"{text!r} is not a number") from None
        number = Decimal(text.replace(",", ""))
    if not number.is_finite():
        raise RecordError(field, f"{text!r} is not a finite number")
    if number and not -_DECIMAL_LIMIT <= number.adjusted() <= _DECIMAL_LIMIT:
        raise RecordError(field, f"{text!r} is out of range")
    return number


def _digits(text: str) -> bool:
    return text.isdigit() and text.isascii()


class _Clock:
    """Wall-clock Flex times of the statement's zone -> UTC, memoised (a day has few distinct times).

    ``zone_configured``: whether the source names its ``timezone`` (else ``zone`` is the UTC
    default, and a reject of a zone abbreviation other than UTC's asks for the zone)."""

    def __init__(self, zone: ZoneInfo, *, zone_configured: bool = True) -> None:
        self.zone = zone
        self.zone_configured = zone_configured
        self.cache: dict[str, tuple[dt.datetime, bool]] = {}

    def parse(self, text: str, field: str) -> tuple[dt.datetime, bool]:
        """(UTC time, whether the text was a date alone)."""
        hit = self.cache.get(text)
        if hit is None:
            hit = self._parse(text, field)
            if len(self.cache) < 1_000_000:
                self.cache[text] = hit
        return hit

    def _parse(self, text: str, field: str) -> tuple[dt.datetime, bool]:
        s = text.strip()
        if len(s) >= 10 and s[4] == "-" and s[7] == "-":  # 2022-02-15...
            year, month, day, rest = s[0:4], s[5:7], s[8:10], s[10:]
        else:  # 20220215...
            year, month, day, rest = s[0:4], s[4:6], s[6:8], s[8:]
        if not _digits(year + month + day) or len(year + month + day) != 8:
            raise RecordError(field, f"{text!r} is not a Flex date/time (yyyyMMdd or yyyy-MM-dd, then the time)")
        if rest[:2] == ", ":
            rest = rest[2:]
        elif rest[:1] in (";", ",", " ", "T"):
            rest = rest[1:]
        offset: dt.tzinfo | None = None
        abbreviation: str | None = None
        date_only = not rest
        if date_only:
            hour = minute = second = "00"
        else:
            if len(rest) >= 8 and rest[2] == ":" and rest[5] == ":":  # 10:20:26
                hour, minute, second, tail = rest[0:2], rest[3:5], rest[6:8], rest[8:]
            else:  # 102026
                hour, minute, second, tail = rest[0:2], rest[2:4], rest[4:6], rest[6:]
            if not _digits(hour + minute + second) or len(hour + minute + second) != 6:
                raise RecordError(field, f"{text!r} is not a Flex date/time (time HHmmss or HH:mm:ss)")
            if tail:
                named = _ABBREVIATION.fullmatch(tail)
                if named is not None:
                    abbreviation = named.group(1)
                else:
                    offset = _offset(tail, text, field)
        try:
            local = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
            if offset is not None:  # an explicit UTC offset is the instant itself
                return local.replace(tzinfo=offset).astimezone(UTC), date_only
        except (ValueError, OverflowError) as exc:
            raise RecordError(field, f"{text!r} is not a valid time: {exc}") from None
        utc = wall_clock_to_utc(
            local, self.zone, field, text,
            abbreviation=abbreviation, zone_configured=self.zone_configured, date_only=date_only,
            remedy=_FOLD_REMEDY,
        )  # fmt: skip
        return utc, date_only


def _offset(tail: str, text: str, field: str) -> dt.tzinfo:
    """An explicit UTC offset after the time (old statements): ``Z``, ``-05:00``, ``+0100``."""
    if tail in ("Z", "z"):
        return UTC
    digits = tail[1:].replace(":", "", 1)
    if tail[0] not in "+-" or len(digits) != 4 or not _digits(digits):
        raise RecordError(field, f"{text!r} has unexpected text after the time")
    minutes = int(digits[:2]) * 60 + int(digits[2:])
    if minutes >= 24 * 60:
        raise RecordError(field, f"{text!r} has an invalid UTC offset")
    return dt.timezone(dt.timedelta(minutes=-minutes if tail[0] == "-" else minutes))


def _raw(element: Element) -> str:
    # a childless copy: the row's own XML text, never its tail or (hostile) deep children
    return tostring(Element(element.tag, element.attrib), encoding="unicode")


# --- parsed rows -----------------------------------------------------------------------------------


class _Exec:
    """An EXECUTION row, parsed; identity and order-level figures are filled in later passes."""

    __slots__ = (
        "number", "element", "attrs", "account", "account_identifier", "asset_identifier", "kind",
        "side", "quantity", "price", "time", "order_time", "trade_id", "transaction_id",
        "transaction_number", "exec_id", "orig_trade_id", "orig_transaction_id",
        "order_key", "remote_id", "currency", "commission", "commission_asset", "net_cash", "venue",
        "unusable_order_time", "trade_parts", "trade_identifier", "ref_identifier", "derive_order", "reject",
    )  # fmt: skip

    def __init__(self, number: int, element: Element, attrs: dict[str, str]) -> None:
        self.number = number
        self.element = element
        self.attrs = attrs
        self.trade_parts: tuple[str | None, ...] = ()
        self.trade_identifier = ""
        self.ref_identifier: str | None = None
        self.derive_order = False
        self.unusable_order_time = False
        self.reject: RejectRecord | None = None


class _OrderRow:
    """An ORDER row, already a record (an order with one derives no OrdersTS row from its executions)."""

    __slots__ = ("record",)

    def __init__(self, record: OrderRecord) -> None:
        self.record = record


def _named_by(row: _Exec) -> tuple[str | None, str] | None:
    """The (account, tradeID) by which a later bust/correction's ``origTradeID`` names this row: a fill's,
    or a correction's own tradeID when it differs from its ``origTradeID``; None for any other row."""
    if row.trade_id is None or row.kind == "bust" or row.trade_id == row.orig_trade_id:
        return None
    return (row.account, row.trade_id)


def _latest(bookings: list[_Exec]) -> str:
    """The trade identifier of the booking made last of ``bookings`` (not empty)."""
    latest = bookings[0]
    for booking in bookings[1:]:
        if _before(latest, booking):
            latest = booking
    return latest.trade_identifier


def _latest_booked_before(booked: tuple[Any, ...], row: _Exec) -> str | None:
    """Of the bookings yielded earlier in the file (flat: transaction number, record number, trade
    identifier, ...), the trade identifier of the latest booked before ``row``, as :func:`_before`."""
    latest: tuple[Any, ...] | None = None
    for at in range(0, len(booked), 3):
        transaction_number, number, trade_identifier = booked[at : at + 3]
        if transaction_number is not None and row.transaction_number is not None:
            if transaction_number >= row.transaction_number:
                continue
        elif number >= row.number:
            continue
        if latest is None or (
            transaction_number > latest[0]
            if transaction_number is not None and latest[0] is not None
            else number > latest[1]
        ):
            latest = (transaction_number, number, trade_identifier)
    return None if latest is None else latest[2]


def _before(a: _Exec, b: _Exec) -> bool:
    """Whether row ``a`` was booked before row ``b``: IB's transactionIDs increase over time."""
    if a.transaction_number is not None and b.transaction_number is not None:
        return a.transaction_number < b.transaction_number
    return a.number < b.number


def _order_parts(attrs: dict[str, str], account: str | None) -> tuple[str | None, ...] | None:
    order_id = _get(attrs, "ibOrderID")
    if order_id is not None:
        return (account, order_id)
    brokerage_id = _get(attrs, "brokerageOrderID")
    if brokerage_id is not None:
        return (account, "brokerageOrderID", brokerage_id)
    reference = _get(attrs, "orderReference")
    if reference is not None:
        return (account, "orderReference", reference)
    return None


def _side(attrs: dict[str, str], signed: Decimal | None, *, cancel: bool) -> int:
    buy_sell = _get(attrs, "buySell")
    sign = 0 if signed is None or not signed else (1 if signed > 0 else -1)
    if buy_sell is not None:
        word = buy_sell.split(" ", 1)[0].upper()
        if word == "BUY":
            side = 1
        elif word == "SELL":
            side = -1
        else:
            raise RecordError("buySell", f"{buy_sell!r} is not BUY, SELL, BUY (Ca.) or SELL (Ca.)")
        if sign and not cancel and sign != side:
            raise RecordError("buySell", f"{buy_sell!r} contradicts the sign of quantity {signed}")
        return side
    if not sign:
        raise RecordError("buySell", "is missing and the quantity has no sign to tell the side")
    return -sign if cancel else sign


class _Reader:
    """One read of one file: context, clock, identifiers already yielded; reads statement by statement."""

    def __init__(self, context: ReaderContext) -> None:
        self.context = context
        self.stats = context.stats
        # a catalogue entry without ``timezone`` reads UTC; a reject of another abbreviation asks for the zone
        self.clock = _Clock(context.timezone, zone_configured=context.config.timezone_configured)
        self.emitted: set[str] = set()
        #: what the busts/corrections yielded so far refer to: no longer free for a content match
        self.referenced: set[str] = set()
        #: busts/corrections whose original their statement and the file so far cannot tell: rejected
        #: at the end of the file unless a copy of the same row is read from another statement
        self.unresolved: dict[str, tuple[int, RecordError, str]] = {}
        #: the fills (and corrections under their own tradeID) yielded so far, by (account, tradeID): a
        #: bust/correction naming its fill by origTradeID only finds it in an earlier statement of the
        #: file (one statement a day); a few words a fill
        #: (flat tuples: transaction number, record number, trade identifier, ...; one object a key and
        #: no container per fill, which the garbage collector would walk: 10% of the read time)
        self.booked: dict[tuple[str | None, str], tuple[Any, ...]] = {}
        self.order_keys: dict[tuple[str | None, ...], str] = {}

    def time(self, attrs: dict[str, str], field: str) -> dt.datetime | None:
        text = _get(attrs, field)
        if text is None:
            return None
        value, date_only = self.clock.parse(text, field)
        if date_only:
            self.stats["date_only_times"] += 1
        return value

    def trade_time(self, attrs: dict[str, str]) -> dt.datetime:
        value = self.time(attrs, "dateTime")
        if value is not None:
            return value
        trade_date = _get(attrs, "tradeDate")
        if trade_date is None:
            raise RecordError("dateTime", "is required but missing (and no tradeDate)")
        trade_time = _get(attrs, "tradeTime")
        text = f"{trade_date};{trade_time}" if trade_time is not None else trade_date
        value, date_only = self.clock.parse(text, "tradeDate")
        self.stats["time_from_trade_date"] += 1
        if date_only:
            self.stats["date_only_times"] += 1
        return value

    def instrument(self, attrs: dict[str, str], name: str) -> str | None:
        """An instrument attribute (symbol, conid, isin): only ``_MISSING_INSTRUMENT`` is "no value";
        ``NA``, ``N/A`` ... are read as written (counted in ``stats["identifiers_like_missing"]``)."""
        value = attrs.get(name)
        if value is None:
            return None
        if value and (value[0] <= " " or value[-1] <= " "):
            value = value.strip()
        if value in _MISSING_INSTRUMENT:
            return None
        if value in _MISSING:
            self.stats["identifiers_like_missing"] += 1
        return value

    def mapped(self, attrs: dict[str, str], account: str | None) -> tuple[str | None, str]:
        context = self.context
        instrument = self.instrument
        symbol = instrument(attrs, "symbol")
        if symbol is None:
            raise RecordError("symbol", "is required but missing")
        account_identifier = _bounded(context.account(account), "accountId", ID_WIDTH)
        asset_identifier = context.asset(symbol, instrument(attrs, "conid"), instrument(attrs, "isin"))
        _bounded(asset_identifier, "symbol", ID_WIDTH)
        return account_identifier, asset_identifier

    # --- rows ---

    def parse_exec(self, number: int, element: Element, account: str | None) -> _Exec:
        attrs = element.attrib
        row = _Exec(number, element, attrs)
        row.account = account = _get(attrs, "accountId") or account
        transaction_type = _get(attrs, "transactionType")
        buy_sell = attrs.get("buySell") or ""
        notes = attrs.get("notes") or ""
        if (
            transaction_type in _CANCEL_TYPES
            or buy_sell.rstrip().endswith("(Ca.)")
            or ("Ca" in notes and "Ca" in notes.split(";"))
        ):
            kind = "bust"
        elif transaction_type in _CORRECT_TYPES or _get_ref(attrs, "origTradeID") is not None:
            kind = "correction"
        else:
            kind = "fill"
        row.kind = kind
        row.trade_id = _bounded(_get(attrs, "tradeID"), "tradeID", ID_WIDTH)
        row.transaction_id = transaction_id = _get(attrs, "transactionID")
        row.transaction_number = (
            int(transaction_id) if transaction_id is not None and len(transaction_id) < 20 and _digits(transaction_id)
            else None
        )  # fmt: skip
        row.exec_id = _get(attrs, "ibExecID")
        row.remote_id = row.trade_id or row.exec_id or transaction_id
        if row.remote_id is None:
            raise RecordError("tradeID", "is required but missing (and no transactionID or ibExecID)")
        _bounded(row.remote_id, "tradeID" if row.trade_id else "ibExecID" if row.exec_id else "transactionID", ID_WIDTH)
        row.orig_trade_id = _get_ref(attrs, "origTradeID")
        row.orig_transaction_id = _get_ref(attrs, "origTransactionID")
        row.account_identifier, row.asset_identifier = self.mapped(attrs, account)
        signed = _decimal(attrs, "quantity", required=True)
        assert signed is not None
        if not signed:
            raise RecordError("quantity", "is zero")
        row.quantity = abs(signed)
        row.side = _side(attrs, signed, cancel=kind == "bust")
        row.price = _decimal(attrs, "tradePrice", required=True)
        row.time = self.trade_time(attrs)
        # orderTime only dates the order derived from this row: an unusable one (ambiguous, in the
        # spring gap, another zone's name, malformed) is taken as missing, never losing the fill
        try:
            row.order_time = self.time(attrs, "orderTime")
        except RecordError:
            row.order_time = None
            row.unusable_order_time = True
        parts = _order_parts(attrs, account)
        if parts is None:
            row.order_key = None
        else:
            row.order_key = self.order_keys.get(parts)
            if row.order_key is None:
                row.order_key = self.order_keys[parts] = self.context.identifier("order", *parts)
        row.currency = currency = _bounded(_get(attrs, "currency"), "currency", CURRENCY_WIDTH)
        ib_commission = _decimal(attrs, "ibCommission")
        if ib_commission is None:
            row.commission = row.commission_asset = None
        else:
            row.commission = -ib_commission  # IB: paid = negative cash; stored: paid = positive cost
            row.commission_asset = _bounded(
                _get(attrs, "ibCommissionCurrency") or currency, "ibCommissionCurrency", ID_WIDTH
            )
        row.net_cash = _decimal(attrs, "netCash")
        row.venue = _bounded(_get(attrs, "exchange"), "exchange", VENUE_WIDTH)
        # used only by the order derived from this row: checked here so that they reject the row
        _bounded(_get(attrs, "ibOrderID"), "ibOrderID", ID_WIDTH)
        _bounded(_get(attrs, "orderReference"), "orderReference", ID_WIDTH)
        _bounded(_get(attrs, "orderType"), "orderType", CODE_WIDTH)
        return row

    def parse_order(self, number: int, element: Element, account: str | None) -> _OrderRow:
        attrs = element.attrib
        account = _get(attrs, "accountId") or account
        parts = _order_parts(attrs, account)
        if parts is None:
            raise RecordError("ibOrderID", "is required but missing (and no brokerageOrderID or orderReference)")
        account_identifier, asset_identifier = self.mapped(attrs, account)
        # the row's quantity is the sum of the statement's executions, not the order's size: it
        # gives the side (its sign) and stays in venue_metadata, never OrdersTS.quantity
        signed = _decimal(attrs, "quantity")
        side = _side(attrs, signed, cancel=False)
        order_time = self.time(attrs, "orderTime") or self.time(attrs, "dateTime")
        if order_time is None:
            raise RecordError("orderTime", "is required but missing (and no dateTime)")
        identifier = self.context.identifier("order", *parts)
        reference = _bounded(_get(attrs, "orderReference"), "orderReference", ID_WIDTH)
        record = OrderRecord(
            record_number=number,
            order_time=order_time,
            order_identifier=identifier,
            asset_identifier=asset_identifier,
            order_side=side,
            account_identifier=account_identifier,
            order_manager_identifier=self.context.manager(reference),
            order_remote_id=_bounded(_get(attrs, "ibOrderID"), "ibOrderID", ID_WIDTH),
            client_order_id=reference,
            order_type=_bounded(_get(attrs, "orderType"), "orderType", CODE_WIDTH),
            quantity=None,
            currency=_bounded(_get(attrs, "currency"), "currency", CURRENCY_WIDTH),
            venue_metadata=attrs,
        )
        return _OrderRow(record)

    # --- identities ---

    def assign_identities(self, execs: list[_Exec]) -> list[_Exec]:
        """Trade identifiers (each a function of its own row), then references of busts/corrections:
        first those that name their original, then those that name none (matched by content to a
        fill no reference names). Returns the rows to yield."""
        identifier = self.context.identifier
        by_trade_id: dict[tuple[str | None, str], list[_Exec]] = {}
        fills: list[_Exec] = []
        seen: set[str] = set()
        for row in execs:
            if row.kind != "fill":
                continue
            row.trade_parts = self.own_parts(row)  # a fill always has one (parse_exec checked)
            row.trade_identifier = identifier("trade", *row.trade_parts)
            if row.trade_identifier in seen:
                self.stats["duplicate_rows"] += 1
                row.kind = "duplicate"
                continue
            seen.add(row.trade_identifier)
            if row.trade_id is not None:
                same_trade = by_trade_id.setdefault((row.account, row.trade_id), [])
                if same_trade:  # IB booked this tradeID again (after cancelling it): another fill
                    self.stats["rebooked_fills"] += 1
                same_trade.append(row)
            fills.append(row)
        adjustments: list[_Exec] = []
        for row in execs:
            if row.kind not in ("bust", "correction"):
                continue
            try:
                row.trade_parts = self.own_parts(row)
            except RecordError as error:
                row.reject = self.context.reject_error(row.number, error, _raw(row.element))
                continue
            row.trade_identifier = identifier("trade", *row.trade_parts)
            # a copy of one already read (this statement, or yielded from another of the file) is
            # not resolved again: where its original is missing it would be rejected though read
            if row.trade_identifier in seen or row.trade_identifier in self.emitted:
                self.stats["duplicate_rows"] += 1
                row.kind = "duplicate"
                continue
            seen.add(row.trade_identifier)
            adjustments.append(row)
            if row.kind == "correction" and row.trade_id is not None and row.trade_id != row.orig_trade_id:
                # a bust/correction of this correction names it by its tradeID (the warehouse's
                # effective_trades follows the chain back to the fill)
                by_trade_id.setdefault((row.account, row.trade_id), []).append(row)
        referenced: set[str] = set()
        # explicit references first: a fill one of them names is not free for a content match
        named = [row for row in adjustments if row.orig_transaction_id is not None or row.orig_trade_id is not None]
        nameless = [row for row in adjustments if row.orig_transaction_id is None and row.orig_trade_id is None]
        for row in named + nameless:
            try:
                row.ref_identifier = self.reference(row, by_trade_id, fills, referenced)
            except RecordError as error:
                self.hold_unresolved(row, error)
                continue
            referenced.add(row.ref_identifier)
        return [row for row in execs if row.reject is None and row.kind in _YIELDED_KINDS]

    def hold_unresolved(self, row: _Exec, error: RecordError) -> None:
        """Keep the reject of a bust/correction whose original the file so far cannot tell until the
        end of the file: another statement (overlapping) may hold the original and the same row."""
        row.kind = "unresolved"
        if row.trade_identifier in self.unresolved:  # the same row in another statement, unresolved too
            self.stats["duplicate_rows"] += 1
        else:
            self.unresolved[row.trade_identifier] = (row.number, error, _raw(row.element))

    def unresolved_rejects(self) -> Iterator[RejectRecord]:
        """The held rejects (end of the file), but those whose row was read from another statement."""
        for trade_identifier, (number, error, raw) in self.unresolved.items():
            if trade_identifier in self.emitted:
                self.stats["duplicate_rows"] += 1
            else:
                yield self.context.reject_error(number, error, raw)
        self.unresolved.clear()

    @staticmethod
    def own_parts(row: _Exec) -> tuple[str | None, ...]:
        """The identifier parts of an execution row, from the row alone: its ``transactionID`` (IB's
        id of this booking: a fill booked again under the same ``tradeID`` gets a new one), else its
        ``tradeID`` (not when a bust/correction repeats the ``origTradeID``), else its ``ibExecID``."""
        if row.transaction_id is not None:
            return (row.account, "transactionID", row.transaction_id)
        if row.trade_id is not None and row.trade_id != row.orig_trade_id:
            return (row.account, row.trade_id)
        if row.exec_id is not None:
            return (row.account, "ibExecID", row.exec_id)
        raise RecordError("transactionID", f"is missing: nothing identifies this {row.kind} apart from its original")

    def reference(
        self,
        row: _Exec,
        by_trade_id: dict[tuple[str | None, str], list[_Exec]],
        fills: list[_Exec],
        referenced: set[str],
    ) -> str:
        account = row.account
        identifier = self.context.identifier
        if row.orig_transaction_id is not None:  # names the booking itself, in any statement or file
            return identifier("trade", account, "transactionID", row.orig_transaction_id)
        if row.orig_trade_id is not None:
            # the fill (or correction) of that tradeID booked latest before this row
            named = (account, row.orig_trade_id)
            candidates = [f for f in by_trade_id.get(named, ()) if _before(f, row)]
            if candidates:
                return _latest(candidates)
            if row.transaction_id is None:  # a statement without transactionIDs: fills go by tradeID
                return identifier("trade", account, row.orig_trade_id)
            # an earlier statement of the file (its record numbers are lower, its transactionIDs too
            # unless booked after this row)
            yielded = _latest_booked_before(self.booked.get(named, ()), row)
            if yielded is not None:
                return yielded
            raise RecordError(
                "origTransactionID",
                f"is missing and the fill of origTradeID {row.orig_trade_id} is not in this file (before this "
                f"{row.kind}): cannot tell which booking this {row.kind} refers to (a fill of another file is "
                "named only by origTransactionID: add it to the Flex query)",
            )
        if row.kind == "bust":
            match: _Exec | None = None
            earlier = self.referenced  # referred to by busts/corrections of earlier statements of the file
            for fill in fills:
                if (
                    fill.order_key == row.order_key
                    and fill.asset_identifier == row.asset_identifier
                    and fill.quantity == row.quantity
                    and fill.price == row.price
                    and fill.trade_identifier not in referenced
                    and fill.trade_identifier not in earlier
                    and _before(fill, row)
                    and (match is None or _before(match, fill))
                ):
                    match = fill
            if match is not None:
                self.stats["ref_by_match"] += 1
                return match.trade_identifier
        raise RecordError(
            "origTradeID",
            f"is missing (and no origTransactionID): cannot tell which fill this {row.kind} refers to",
        )

    # --- orders of the executions ---

    def derive_orders(self, execs: list[_Exec], order_rows: dict[str, _OrderRow]) -> None:
        """Which execution derives the OrdersTS row of an order that has no ORDER row: its first in
        time (ties in file order), a fill when it has one."""
        first: dict[str, tuple[tuple[bool, dt.datetime, int], _Exec]] = {}
        for row in execs:
            order_key = row.order_key
            if order_key is None:
                self.stats["fills_without_order"] += 1
                continue
            if order_key in order_rows:
                continue
            rank = (row.kind != "fill", row.time, row.number)
            current = first.get(order_key)
            if current is None or rank < current[0]:
                first[order_key] = (rank, row)
        for _, row in first.values():
            row.derive_order = True

    # --- records ---

    def records(self, row: _Exec) -> Iterator[Record]:
        attrs = row.attrs
        emitted = self.emitted
        if row.trade_identifier in emitted:  # the same fact in another statement of this file
            self.stats["duplicate_rows"] += 1
            return
        emitted.add(row.trade_identifier)
        if row.ref_identifier is not None:
            self.referenced.add(row.ref_identifier)
        named_by = _named_by(row)
        if named_by is not None:
            booking = (row.transaction_number, row.number, row.trade_identifier)
            earlier = self.booked.get(named_by)
            self.booked[named_by] = booking if earlier is None else earlier + booking
        if row.unusable_order_time:
            self.stats["unusable_order_times"] += 1
        context = self.context
        if row.derive_order and row.order_key is not None and row.order_key not in emitted:
            emitted.add(row.order_key)
            self.stats["derived_orders"] += 1
            reference = _get(attrs, "orderReference")
            yield OrderRecord(
                record_number=row.number,
                order_time=row.order_time or row.time,
                order_identifier=row.order_key,
                asset_identifier=row.asset_identifier,
                order_side=row.side,
                account_identifier=row.account_identifier,
                order_manager_identifier=context.manager(reference),
                order_remote_id=_get(attrs, "ibOrderID"),
                client_order_id=reference,
                order_type=_get(attrs, "orderType"),
                currency=row.currency,
                venue_metadata=attrs,
            )
        kind = row.kind
        self.stats[_KIND_COUNTER[kind]] += 1
        yield TradeRecord(
            record_number=row.number,
            trade_time=row.time,
            trade_identifier=row.trade_identifier,
            asset_identifier=row.asset_identifier,
            trade_side=row.side,
            quantity=row.quantity,
            order_identifier=row.order_key,
            account_identifier=row.account_identifier,
            trade_remote_id=row.remote_id,
            price=row.price,
            currency=row.currency,
            commission=row.commission,
            commission_asset_identifier=row.commission_asset,
            settlement_cost=row.net_cash,
            settlement_asset_identifier=None if row.net_cash is None else row.currency,
            liquidity=None,
            venue=row.venue,
            trade_kind=kind,
            ref_trade_identifier=row.ref_identifier,
            venue_metadata=attrs,
        )
        if row.order_key is None:
            return
        event_identifier = context.identifier("event", *row.trade_parts)
        emitted.add(event_identifier)
        self.stats["events"] += 1
        if kind == "fill":
            # Flex shows neither the order's size nor whether more was to come (see the module doc)
            event_type = status = "partially_filled"
            reason = None
        else:
            status = None
            event_type = "trade_cancel" if kind == "bust" else "trade_correct"
            original = row.orig_trade_id or row.orig_transaction_id
            reason = f"{_get(attrs, 'transactionType') or kind} of trade {original}" if original else None
        yield OrderEventRecord(
            record_number=row.number,
            event_time=row.time,
            event_identifier=event_identifier,
            order_identifier=row.order_key,
            asset_identifier=row.asset_identifier,
            event_type=event_type,
            account_identifier=row.account_identifier,
            order_status=status,
            cum_quantity=None,
            leaves_quantity=None,
            avg_price=None,
            reason=reason,
            event_metadata=attrs,
        )

    def read_statement(self, statement: Element, rows: list[tuple[int | None, Element]]) -> Iterator[Record]:
        context = self.context
        stats = self.stats
        stats["statements"] += 1
        account = _get(statement.attrib, "accountId")
        items: list[_Exec | _OrderRow | RejectRecord] = []
        execs: list[_Exec] = []
        order_rows: dict[str, _OrderRow] = {}
        for number, element in rows:
            if number is None:  # a <TradeConfirms> row: made visible, never read as a fill
                stats["trade_confirms_rejected"] += 1
                items.append(context.reject(None, _TRADE_CONFIRM_REASON, "TradeConfirms", _raw(element)))
                continue
            stats["rows"] += 1
            attrs = element.attrib
            level = _get(attrs, "levelOfDetail")  # "" and the other missing markers: as if absent
            level = _DEFAULT_LEVEL.get(element.tag) if level is None else level.upper()
            try:
                if level == "EXECUTION":
                    row = self.parse_exec(number, element, account)
                    execs.append(row)
                    items.append(row)
                elif level == "ORDER":
                    order = self.parse_order(number, element, account)
                    stats["order_rows"] += 1
                    order_rows.setdefault(order.record.order_identifier, order)
                    items.append(order)
                elif level:
                    stats[f"skipped_{level.lower()[:40]}"] += 1
                else:
                    stats["skipped_unknown_row"] += 1
            except RecordError as error:
                items.append(context.reject_error(number, error, _raw(element)))
        kept = self.assign_identities(execs)
        self.derive_orders(kept, order_rows)
        for item in items:
            if isinstance(item, _Exec):
                if item.reject is not None:
                    yield item.reject
                elif item.kind in _YIELDED_KINDS:
                    yield from self.records(item)
            elif isinstance(item, _OrderRow):
                identifier = item.record.order_identifier
                if identifier in self.emitted:
                    stats["duplicate_rows"] += 1
                    continue
                self.emitted.add(identifier)
                yield item.record
            else:
                yield item


# --- document --------------------------------------------------------------------------------------


def read(data: bytes, context: ReaderContext) -> Iterator[Record]:
    """Records of a Flex Query XML document (see the module docstring)."""
    return read_stream((data,), context)


def read_stream(blocks: Iterable[bytes], context: ReaderContext) -> Iterator[Record]:
    """:func:`read` of the document whose bytes are ``blocks`` joined, one statement at a time:
    memory holds a block and the statement being read, not the document."""
    reader = _Reader(context)
    for statement, rows in _statements(blocks, context.uri):
        yield from reader.read_statement(statement, rows)
    yield from reader.unresolved_rejects()


def _statements(blocks: Iterable[bytes], uri: str) -> Iterator[tuple[Element, list[tuple[int | None, Element]]]]:
    """Each ``<FlexStatement>`` of the document with its ``<Trades>`` rows, numbered in document
    order, and its ``<TradeConfirms>`` rows (number ``None``), as soon as the statement is parsed;
    once the caller is done with it, it is dropped."""
    events = SafeElementTree.iterparse(
        _BlockFile(blocks), events=("start", "end"), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    open_elements: list[Element] = []  # the root, then the elements enclosing the current one
    containers = 0
    number = 0
    while True:
        try:
            event, element = next(events)
        except StopIteration:
            break
        except Exception as exc:  # noqa: BLE001 - expat, defusedxml and codec errors alike mean "unreadable"
            raise _unreadable(uri, exc) from None
        if event == "start":
            if not open_elements and element.tag != "FlexQueryResponse":
                hint = " (IB's error answer, not a statement)" if element.tag == "FlexStatementResponse" else ""
                raise ExtractUnreadable(uri, f"root element is <{element.tag[:80]}>{hint}, expected <FlexQueryResponse>")
            open_elements.append(element)
            continue
        open_elements.pop()
        if len(open_elements) == 1 and element.tag == "FlexStatements":
            containers += 1
        elif len(open_elements) == 2 and element.tag == "FlexStatement" and open_elements[1].tag == "FlexStatements":
            rows: list[tuple[int | None, Element]] = []
            for section in element:
                if section.tag == "Trades":
                    for row in section:
                        number += 1
                        rows.append((number, row))
                elif section.tag == "TradeConfirms":  # rejected, unnumbered: the Trades rows keep their numbers
                    rows.extend((None, row) for row in section)
            yield element, rows
            open_elements[1].remove(element)  # read: the tree keeps one statement at a time
    if not containers:
        raise ExtractUnreadable(uri, "<FlexQueryResponse> has no <FlexStatements>")


def _unreadable(uri: str, exc: Exception) -> ExtractUnreadable:
    name = type(exc).__name__
    if name in ("DTDForbidden", "EntitiesForbidden", "ExternalReferenceForbidden"):
        reason = f"refused a DTD/entity declaration ({name}); Flex statements have none (entity expansion?)"
    else:
        reason = f"not well-formed XML: {exc}"
    return ExtractUnreadable(uri, reason)


class _BlockFile(io.RawIOBase):
    """The bytes of ``blocks`` as a binary file, read without joining them (for ``iterparse``)."""

    def __init__(self, blocks: Iterable[bytes]) -> None:
        self._blocks = iter(blocks)
        self._block = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._block:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._block = memoryview(block)
        size = min(len(buffer), len(self._block))
        buffer[:size] = self._block[:size]
        self._block = self._block[size:]
        return size
