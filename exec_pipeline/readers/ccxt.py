"""Reader of ccxt-unified orders and trades (any exchange) saved as JSON.

The format
----------
`ccxt <https://docs.ccxt.com>`_ turns every exchange's API into one "unified" structure. A
source of this format sends what ``fetch_orders`` / ``fetch_my_trades`` return, serialised as
JSON, in one of two shapes:

- an object ``{"orders": [...], "trades": [...]}``, either key optional (but at least one of
  them present). Other top-level keys are ignored except ``"account"`` (the broker account of
  every record that has none of its own) and ``"exchange"`` (the venue, e.g. ``"binance"``);
- a bare list of orders, of trades, or of both mixed. Each element is classified by its keys:
  an **order** has one of ``status``, ``filled``, ``remaining``, ``lastTradeTimestamp`` (keys
  every unified order has and no unified trade has); otherwise a **trade** has one of ``order``,
  ``takerOrMaker``; anything else is rejected ("cannot tell an order from a trade").

Numbers are parsed as exact decimals from the JSON text (``parse_float=Decimal``): ccxt writes
floats, and ``json.dumps`` writes their shortest round-trip text, so ``0.1`` stays
``Decimal("0.1")``. Numbers given as strings (ccxt leaves some fee costs as strings) and
integers are accepted too. ``NaN``/``Infinity`` are kept as text in the raw record and rejected
where a number is needed. A zero written with an exponent beyond ±60 (``0e-99999999``) is read as
``0``: the same value, without a plain text of millions of digits. Arithmetic on numbers (the sign
of ``cost``, the sum of ``fees``) is exact, whatever their number of digits.

Text is stripped; ``side``, ``status`` and ``takerOrMaker`` are also lowercased (``"Closed "`` is
``closed``, in identifiers too). ``null`` and the "no value" markers
(:data:`~exec_pipeline.readers.base.MISSING`: ``""``, ``"N/A"``, ``"null"``, ``"-"`` ...) mean no
value, except in ``id``, ``order``, ``symbol``, ``clientOrderId`` and ``account``, where only
:data:`~exec_pipeline.readers.base.MISSING_ID` (``""``, ``"-"``, ``"null"``, ``"None"``) does: an
id or symbol ``"NA"`` is read as written.

Record numbers are the 1-based positions of the records in the file, in document order (all
elements of the first top-level list, then those of the second; a list given twice, e.g. two
``"trades"`` keys, is read both times, and a later ``"trades": null`` does not undo an earlier
list, where ``json.loads`` would keep only the last value).

Streaming
---------
The document is read one record at a time (:mod:`exec_pipeline.lib.jsonstream`, each record by
the standard ``json`` decoder), so memory holds a block of the file and the identifiers already
emitted, not the document: ingestion streams the file (:func:`read_stream`). The file-level
``account`` and ``exchange`` apply to every record, so they must be known before the first
record: when a list comes before them (``{"orders": [...], "account": ...}``, or no such keys at
all), the reader first reads on to the end of the document for them, then reads the records in a
second pass, from a temporary copy of the file on local disk when streamed
(``stats["read_twice_for_file_keys"]``). Writing the keys first saves that pass.

How rows are derived
--------------------
Order (one unified order = one snapshot of an order's state):

- **OrdersTS**: the first snapshot of each order in the file. ``order_time`` = ``timestamp``
  (epoch ms; else ``datetime``, ISO-8601, see Times below), ``order_remote_id`` = ``id``,
  ``client_order_id`` = ``clientOrderId``, ``order_manager_identifier`` = ``context.manager(clientOrderId)``,
  ``order_type`` = ``type``, ``time_in_force`` = ``timeInForce``, ``quantity`` = ``amount``
  (``None`` when ccxt gives none: a market order given by cost, as HTX spot market orders, OKX
  ``quote_ccy`` and Coinbase ``quote_size`` market buys are, has no amount until it is closed; the
  order's row is its first snapshot, so an order first seen open keeps ``None`` though a later
  snapshot, in this file or another, has the amount: its events carry it),
  ``limit_price`` = ``price`` (``None`` for market orders, whose ``price`` ccxt fills with the
  average), ``stop_price`` = ``triggerPrice`` (else ``stopPrice``; when both are null and the type
  is not plain ``limit`` / ``market``, ``stopLossPrice``, else ``takeProfitPrice``: ccxt puts an OKX
  ``conditional`` algo order's own trigger there, while on a limit or market order those are the
  prices of attached take-profit / stop-loss orders, not read), ``currency`` = the quote currency of
  the symbol (``BTC/USDT`` and ``BTC/USDT:USDT`` -> ``USDT``).
- **OrderEventsTS**: one event per distinct snapshot, describing the order's current state:

  =============================================  ==================  ================
  ccxt ``status``                                ``event_type``      ``order_status``
  =============================================  ==================  ================
  open, filled = 0 or missing                    new                 new
  open, filled > 0                               partially_filled    partially_filled
  closed, a trigger order whose trigger fired    status              None
  closed, filled >= amount (or either unknown)   filled              filled
  closed, filled < amount                        canceled            canceled
  canceled (whatever filled and amount)          canceled            canceled
  canceling                                      pending_cancel      pending_cancel
  expired (whatever filled and amount)           expired             expired
  rejected                                       rejected            rejected
  anything else / missing                        status              None
  =============================================  ==================  ================

  ``cum_quantity`` = ``filled``, ``leaves_quantity`` = ``remaining`` (``None`` when ccxt gives
  none), ``avg_price`` = ``average``, ``event_time`` = the latest of ``timestamp``,
  ``lastTradeTimestamp`` and ``lastUpdateTimestamp`` (when the order reached that state). A
  canceled, expired or rejected order (closed with filled < amount too) has ``leaves_quantity`` 0:
  nothing of it is left working, as FIX's LeavesQty says of such orders, while ccxt's
  ``remaining`` is what was not filled (it stays in ``event_metadata`` and the event identifier).
  Without ``amount`` nothing compares ``filled`` with it: closed is filled, canceled and expired
  are what they say, whatever was filled (``cum_quantity`` tells).

  "closed with filled < amount" is how ccxt reports an order canceled after a partial fill on
  some exchanges (Bybit ``PartiallyFilledCanceled``, KuCoin "partial canceled"); the event's
  ``reason`` says so. ``canceling`` is a cancel the exchange has not done yet (Binance
  ``PENDING_CANCEL``, HTX contract state 11).

  A trigger (stop, plan, algo) order whose trigger fired is "closed" for ccxt on Bitget (plan
  status ``triggered``) and OKX (algo order ``state`` ``effective``), its own filled 0 (it would
  read as canceled) or, OKX giving none, made up by ccxt as the amount (it would read as filled):
  it placed another order, with its own id, which carries the fills. It is told by the raw status
  ccxt read in ``info`` (Bitget: the first non-empty of ``status``, ``state``, ``orderStatus``,
  ``planStatus``; both words name only a fired trigger), when the venue (the record's
  ``exchange``, else the file's) is ``bitget`` or ``okx`` (``myokx``, ``okxus``): without it the
  order reads as above. Its event has ``cum_quantity`` ``None``, ``leaves_quantity`` 0 and a
  ``reason`` naming the state (``stats["trigger_fired"]``).

  An order's embedded ``trades`` list is not read as fills: exchanges fill it inconsistently
  (Kraken lists bare trade ids, so ccxt makes trades without amount or price); fills come from
  the trades (``fetch_my_trades``). It stays in the raw record.

Trade (one unified trade = one fill) -> **TradesTS** (``trade_kind`` "fill"; ccxt has no busts):
``trade_time`` = ``timestamp`` (else ``datetime``), ``trade_remote_id`` = ``id``,
``order_identifier`` from ``order`` (same rule as orders, so trades join their orders),
``trade_side`` from ``side``, ``quantity`` = ``amount`` (must be > 0), ``price``, ``currency`` =
quote currency of the symbol, ``settlement_cost`` = ``cost`` as a signed cash movement, fees
apart (negative for buys, positive for sells: the convention of the other readers) with
``settlement_asset_identifier`` = the currency ccxt gives ``cost`` in: the quote currency, except
for an inverse contract, whose settle currency (after ``:``) is its base (``BTC/USD:BTC``: ``cost``
is in BTC, so BTC). A contract settled in a third currency (neither quote nor base), and an option
(``BTC/USD:BTC-240628-60000-C``, whose premium ccxt's ``cost`` is not), have no ``settlement_cost``. ``liquidity`` = ``takerOrMaker``, ``venue`` = the ``exchange`` key (record,
else file).

Times: ``timestamp`` is epoch milliseconds (UTC). A ``datetime`` with a UTC offset is that instant;
one without is a wall-clock time of the source's ``timezone``, made UTC by
:func:`~exec_pipeline.readers.base.wall_clock_to_utc` like every reader's (a time the clocks skipped,
or one of the hour repeated when they went back, is rejected); a source without ``timezone`` reads
it as UTC.

Fees: ``commission`` is the cost of the main fee with its sign kept (positive = paid, negative
= rebate, as ccxt reports them) and ``commission_asset_identifier`` = the fee currency (e.g. BNB
on Binance). Currencies become asset identifiers through the catalogue's ``assets`` when listed
there, else stay the currency code (codes are global already; not counted as unmapped).
The main fee is ``fee`` when its cost is not zero; else, from ``fees``, the first currency whose
costs add up to non-zero (``[0 BNB, 0.5 USDT]``: 0.5 USDT; several costs in one currency are
summed); else a zero fee (``fee``'s, else the first currency of ``fees``). Fees in other currencies
are not in ``commission``: a record leaving out one whose cost is not zero is counted in
``stats["multi_currency_fees"]`` (records, also when ``fee`` gave the commission; ccxt repeats
``fee`` in ``fees``, so a ``fees`` entry in ``fee``'s currency is not added to it). All fees stay in
the raw record.

All rows: ``account_identifier`` = ``context.account(account)`` of the record's ``account`` key,
else of the file's, else the source's ``default_account``; ``asset_identifier`` =
``context.asset(symbol)``; ``venue_metadata`` / ``event_metadata`` = the whole unified record
(including ``info``, the exchange's own raw record), numbers as exact decimals.

Identifiers
-----------
Exchanges number orders and trades per market (Binance ``orderId`` and trade ``id`` are
sequences per symbol), so the unified symbol is part of every identifier:

- order: ``context.identifier("order", symbol, id)``; a trade's order:
  ``context.identifier("order", symbol, order)``;
- trade: ``context.identifier("trade", symbol, id, side)`` (``side`` as ``buy`` / ``sell``). An
  exchange's trade id names a match, and both sides of one match are the user's in a self-trade, or
  when two sub-accounts of the file trade with each other (Binance ``myTrades`` returns both): the
  side tells the two fills apart, in any file and in any order (1.2.0 keyed on the id alone and
  kept one side; a first form of 1.3.0 numbered the second side within a file, which stored one
  side twice when overlapping files held the two in another order);
- event: ``context.identifier("event", symbol, id, status, filled, lastTradeTimestamp, amount,
  remaining)`` with the numbers written canonically (``4.0`` and ``4`` are the same; a missing one
  as ``None``, and ``remaining`` as ccxt gives it, not the stored ``leaves_quantity``): the same
  snapshot read again (another file, another day) is the same event; a snapshot with more filled,
  another status, or another amount or remaining (an order amended in place, as Bybit and OKX
  amend: same id, new size) is a new one. An amendment of the price alone is not.

Within one file an order's first snapshot gives its OrdersTS row; a snapshot or a trade seen
twice is kept once (``stats["duplicate_order_snapshot"]``, ``stats["duplicate_trade"]``; a trade
with the id, side, order and account of an earlier one is a duplicate, the first one kept).

Bad input
---------
Not UTF-8, not JSON, a top level that is neither a list nor an object with ``orders`` /
``trades`` lists, or a file-level ``account`` / ``exchange`` given twice (``json.loads`` would
apply the last one to records written under the first) -> :class:`ExtractUnreadable`, naming the
line, column and character (or byte) where the text goes wrong. A streamed file may fail so after
some of its records were read: ingestion then publishes nothing from the partition. A record
that is not an object, that misses ``id``, ``symbol``, ``side``, a time or (a trade) ``amount``, or
that has a bad number, side or time -> a reject naming the key, with the record's JSON text as raw
record: numbers are JSON numbers with the digits written (``0.50`` stays ``0.50``; only an exponent
may be spelled otherwise, ``1e-08`` as ``1E-8``), ``NaN`` / ``Infinity`` the bare tokens, a lone
surrogate its ``\\u`` escape.

A lone UTF-16 surrogate (an escape ``\\ud800``-``\\udfff`` without its pair, e.g. a memo cut in
the middle of an emoji) cannot be stored as text. In a field the reader reads (``id``, ``order``,
``clientOrderId``, ``symbol``, ``side``, ``type``, ``timeInForce``, ``status``, ``takerOrMaker``,
numbers, times, ``account``, ``exchange``, the fees' ``cost`` and ``currency``) it rejects the
record, naming the field; anywhere else (``info``, other keys) the record is read and the stored raw
record holds U+FFFD (the replacement character) for each lone surrogate
(``stats["lone_surrogates_replaced"]``, records); the landing zone keeps the file's exact bytes.

``context.stats`` keys: ``orders``, ``trades`` (records read), ``duplicate_order_snapshot``,
``duplicate_trade``, ``closed_partially_filled``, ``trigger_fired``,
``unknown_status``, ``multi_currency_fees``, ``order_embedded_trades_ignored``,
``lone_surrogates_replaced``, ``read_twice_for_file_keys``, ``rejects`` (by the context).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation, localcontext
from functools import lru_cache
from typing import IO, Any

from exec_pipeline.data_nodes.execution import (
    OrderEventRecord,
    OrderRecord,
    RejectRecord,
    TradeRecord,
)
from exec_pipeline.lib.jsonstream import JsonDocument, JsonStreamError, NotUtf8, utf8_chunks
from exec_pipeline.readers.base import (
    CODE_WIDTH,
    CURRENCY_WIDTH,
    ID_WIDTH,
    MISSING,
    MISSING_ID,
    UTC,
    VENUE_WIDTH,
    ExtractUnreadable,
    ReaderContext,
    RecordError,
    wall_clock_to_utc,
)

NAME = "ccxt"
#: 1.1.0: streamed; a list given twice is read both times, a file-level key given twice is refused
#: 1.2.0: event identifiers include amount and remaining (an amended order's snapshot is kept);
#: ids, symbols and accounts spelled NA / N/A / n/a are identifiers, not "no value"
#: 1.3.0: an inverse contract's cost is in its settle currency, an option's left unknown; trades keyed on
#: (symbol, id, side): both sides of a match sharing a trade id are kept (every trade identifier changes); exact negation and fee sums; a zero
#: with an absurd exponent reads as 0; a lone surrogate outside the fact fields becomes U+FFFD instead
#: of rejecting the record; stop price falls back to stopLossPrice / takeProfitPrice on trigger
#: orders; rejects' raw records are the record's text as written; status and takerOrMaker are
#: stripped and lowercased; an offset-less datetime is a wall-clock time of the source's timezone;
#: orders without amount are read (quantity None; they were rejected); canceling is pending_cancel; a
#: canceled / expired / rejected order's leaves_quantity is 0; the main fee is the first non-zero one,
#: and a non-zero fee left out in another currency is counted even when fee gave the commission; a
#: Bitget / OKX trigger order whose trigger fired is a status event (it read as canceled or filled)
VERSION = "1.3.0"

Record = OrderRecord | OrderEventRecord | TradeRecord | RejectRecord

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_SIDES = {"buy": 1, "sell": -1}
_LIQUIDITY = {"maker": "maker", "taker": "taker"}
#: order types whose stopLossPrice / takeProfitPrice are attached TP/SL orders' prices, not their own trigger
_PLAIN_ORDER_TYPES = frozenset({"limit", "market"})
_ORDER_KEYS = ("status", "filled", "remaining", "lastTradeTimestamp")
_TRADE_KEYS = ("order", "takerOrMaker")
# ccxt unified status -> (event_type, order_status); "open" and "closed" are refined by `filled`
_STATUS = {
    "canceled": ("canceled", "canceled"),
    "canceling": ("pending_cancel", "pending_cancel"),  # Binance PENDING_CANCEL, HTX contract state 11
    "expired": ("expired", "expired"),
    "rejected": ("rejected", "rejected"),
}
#: order statuses under which nothing of the order is left working (leaves_quantity 0)
_DONE_STATUSES = frozenset({"canceled", "expired", "rejected"})
#: ccxt exchange ids (the ``exchange`` key, lowercased) whose parse_order reads a trigger order whose
#: trigger fired as "closed", and the raw state that says so (see _Reader._trigger_fired)
_OKX_VENUES = frozenset({"okx", "myokx", "okxus"})
_BITGET_VENUES = frozenset({"bitget"})
#: the keys ccxt's bitget.parse_order takes the raw status from, the first non-empty one
_BITGET_STATUS_KEYS = ("status", "state", "orderStatus", "planStatus")
# Quantities and prices beyond 1e±60 are junk, and would not fit the warehouse's numerics.
_MAX_EXPONENT = 60
_ZERO = Decimal(0)
#: Arithmetic on the file's numbers: the default context rounds to 28 digits. Negation and addition
#: of finite decimals need no more digits than their operands hold, so this never rounds.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


def read(data: bytes, context: ReaderContext) -> Iterator[Record]:
    """Records of a ccxt JSON extract (see the module docstring)."""
    return read_stream((data,), context)


def read_stream(blocks: Iterable[bytes], context: ReaderContext) -> Iterator[Record]:
    """:func:`read` of the file whose bytes are ``blocks`` joined: memory holds a block and a record,
    not the document. An object whose file-level keys come after a list is read twice (see
    :class:`_Pass`), the second time from a temporary copy of the blocks."""
    copy = _Replay(blocks)
    try:
        first = _Pass(context, copy)
        yield from first.records(copy.first())
        if first.look_ahead:
            context.stats["read_twice_for_file_keys"] += 1
            yield from _Pass(context, copy, header=first.header).records(copy.again())
    finally:
        copy.close()


#: Top-level keys of the object form that apply to every record, and the lists of records.
_FILE_KEYS = ("account", "exchange")
_SECTIONS = ("orders", "trades")


class _Pass:
    """One reading of the document. Records need the file-level ``account`` and ``exchange``, which
    the object form may give after its lists. So the first pass emits records as soon as a list comes
    after both keys (or the document is a bare list). A list coming first sets :attr:`look_ahead`:
    the pass reads on to the end without emitting anything, for the keys, and a second pass, given
    :attr:`header`, emits the records. Either way a record is decoded once for the records."""

    def __init__(self, context: ReaderContext, copy: _Replay, header: dict[str, Any] | None = None) -> None:
        self.context = context
        self.uri = context.uri
        self.copy = copy
        #: the file-level keys seen so far (all of them, when given)
        self.header: dict[str, Any] = {} if header is None else header
        self.header_known = header is not None
        self.look_ahead = False
        self.reader: _Reader | None = None
        self.number = 0

    def records(self, blocks: Iterable[bytes]) -> Iterator[Record]:
        document = JsonDocument(utf8_chunks(blocks), _RECORD_DECODER)
        try:
            first = document.peek()  # the document's first character
            if first == "[":  # a bare list has no file-level keys
                yield from self._list(document, None)
            elif first == "{":
                yield from self._object(document)
            else:
                value = document.value()
                raise ExtractUnreadable(
                    self.uri, f"the top level is a JSON {_json_type(value)}, expected an object or a list"
                )
            document.end()
        except JsonStreamError as exc:
            raise ExtractUnreadable(self.uri, f"not valid JSON: {exc}") from None
        except NotUtf8 as exc:
            raise ExtractUnreadable(self.uri, f"not UTF-8 text: {exc}") from None

    def _object(self, document: JsonDocument) -> Iterator[Record]:
        sections = 0
        for key in document.members():
            if key in _FILE_KEYS:
                if self.header_known:
                    document.skip()
                    continue
                if key in self.header:
                    # json.loads would keep the last one, applying it to records that came before
                    raise ExtractUnreadable(self.uri, f'the top-level "{key}" is given twice')
                self.header[key] = value = document.value()
                if document.surrogate_escapes_seen:
                    try:
                        _check_encodable({key: value})
                    except RecordError:
                        raise ExtractUnreadable(
                            self.uri, f'the top-level "{key}" holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)'
                        ) from None
            elif key in _SECTIONS:
                sections += 1
                if document.peek() != "[":
                    value = document.value()
                    if value is not None:
                        raise ExtractUnreadable(self.uri, f'"{key}" is a JSON {_json_type(value)}, expected a list')
                elif self.reader is None and not self.header_known and len(self.header) < len(_FILE_KEYS):
                    self.look_ahead = True  # the keys may come later: find them first
                    document.skip(_SKIP_DECODER)
                else:
                    yield from self._list(document, key)
            else:
                document.skip(_SKIP_DECODER)
        if not sections:
            raise ExtractUnreadable(self.uri, 'the top-level JSON object has neither "orders" nor "trades"')

    def _list(self, document: JsonDocument, kind: str | None) -> Iterator[Record]:
        """The records of one top-level list (``kind`` None: each element says what it is)."""
        if self.look_ahead:
            document.skip(_SKIP_DECODER)
            return
        reader = self.reader
        if reader is None:
            if not self.header_known:
                self.copy.stop()  # records come in this pass: no second one
            reader = self.reader = _Reader(
                self.context, self.header.get("account"), self.header.get("exchange"), document.last_value_text
            )
        for item in document.elements():
            self.number += 1
            reader.check_surrogates = document.surrogate_escapes_seen
            yield from reader.record(self.number, kind, item)


class _Replay:
    """The file's blocks, copied to a temporary file while a second pass may need them again (a
    tuple or list of blocks is simply iterated again)."""

    #: bytes read back at a time
    BLOCK = 1 << 18

    def __init__(self, blocks: Iterable[bytes]) -> None:
        self._blocks = blocks
        self._kept = blocks if isinstance(blocks, (tuple, list)) else None
        self._copying = self._kept is None
        self._copy: IO[bytes] | None = None

    def first(self) -> Iterator[bytes]:
        for block in self._blocks:
            if self._copying:
                if self._copy is None:
                    self._copy = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
                self._copy.write(block)
            yield block

    def stop(self) -> None:
        """No second pass will come: stop copying."""
        self._copying = False
        self.close()
        self._kept = None

    def again(self) -> Iterator[bytes]:
        if self._kept is not None:
            yield from self._kept
            return
        if self._copy is None:
            raise RuntimeError("the blocks were not kept for a second pass")
        self._copy.seek(0)
        while block := self._copy.read(self.BLOCK):
            yield block

    def close(self) -> None:
        if self._copy is not None:
            self._copy.close()
            self._copy = None


def _parse_float(text: str) -> Decimal | str:
    """A JSON fraction as an exact decimal; an absurd exponent (``1e999999999``) stays text, so a
    raw record never holds a number the warehouse would have to write out in full, and a zero with
    one (``0e-999999999``) is 0. An exponent beyond what ``Decimal`` itself can represent stays text too."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if ("e" in text or "E" in text) and not -_MAX_EXPONENT <= number.adjusted() <= _MAX_EXPONENT:
        return text if number else _ZERO
    return number


#: Decodes records: exact decimals from the JSON text; NaN/Infinity stay text (rejected where a
#: number is needed).
_RECORD_DECODER = json.JSONDecoder(parse_float=_parse_float, parse_constant=str)
#: Reads past records when looking ahead (the same syntax; cheaper numbers, nothing kept).
_SKIP_DECODER = json.JSONDecoder()


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


class _Reader:
    """Per-file state: what was already emitted, and the file-level defaults."""

    def __init__(
        self, context: ReaderContext, file_account: Any, file_venue: Any, raw_text: Callable[[], str | None]
    ) -> None:
        self.context = context
        self.identifier = context.identifier
        self.stats = context.stats
        #: the JSON text of the record being read, as the file writes it (a reject's raw record)
        self.raw_text = raw_text
        self.zone = context.timezone
        self.zone_configured = context.config.timezone_configured
        #: lone UTF-16 surrogates ("\\ud800") decode into str that cannot be encoded for the warehouse:
        #: records are checked for them (see _without_lone_surrogates) once the text read so far could hold one
        self.check_surrogates = False
        self.file_account = file_account
        self.file_venue = file_venue
        self.seen_orders: set[str] = set()
        self.seen_events: set[str] = set()
        self.seen_trades: set[str] = set()

    def record(self, number: int, kind: str | None, item: Any) -> Iterator[Record]:
        context = self.context
        if not isinstance(item, dict):
            reason = f"record is a JSON {_json_type(item)}, expected an object"
            yield context.reject(number, reason, None, self.raw_text())
            return
        if kind is None:
            if any(key in item for key in _ORDER_KEYS):
                kind = "orders"
            elif any(key in item for key in _TRADE_KEYS):
                kind = "trades"
            else:
                yield context.reject(
                    number,
                    "cannot tell an order from a trade: the record has none of status, filled, remaining, "
                    "lastTradeTimestamp (order) nor order, takerOrMaker (trade)",
                    None,
                    self.raw_text(),
                )
                return
        try:
            if self.check_surrogates:
                item = self._without_lone_surrogates(item)
            if kind == "orders":
                self.stats["orders"] += 1
                records = self._order(number, item)
            else:
                self.stats["trades"] += 1
                records = self._trade(number, item)
        except RecordError as error:
            # str(error) is "key: reason": the reason names the key on its own too
            yield context.reject(number, str(error), error.field, self.raw_text())
            return
        yield from records

    def _without_lone_surrogates(self, item: dict[str, Any]) -> dict[str, Any]:
        """The record, or a copy whose lone UTF-16 surrogates (which cannot be stored as text) are
        U+FFFD; a fact field holding one rejects the record instead (a fact is never altered)."""
        try:
            json.dumps(item, default=str, ensure_ascii=False).encode("utf-8")
            return item  # the usual case, even in a file with surrogate escapes: paired ones
        except UnicodeEncodeError:
            pass
        except RecursionError:  # decoded at the reader's stack depth, written out from a deeper one
            raise RecordError(None, "the record is nested too deeply to be stored") from None
        for key in _FACT_KEYS:
            if _holds_lone_surrogate(item.get(key)):
                raise RecordError(key, _LONE_SURROGATE)
        for key in ("fee", "fees"):
            fees = item.get(key)
            for position, fee in enumerate(fees if isinstance(fees, list) else [fees]):
                if isinstance(fee, dict):
                    for part in ("cost", "currency"):
                        if _holds_lone_surrogate(fee.get(part)):
                            field = f"fee.{part}" if key == "fee" else f"fees[{position}].{part}"
                            raise RecordError(field, _LONE_SURROGATE)
        try:
            cleaned = _replace_lone_surrogates(item)
        except RecursionError:
            raise RecordError(None, "the record is nested too deeply to be stored") from None
        self.stats["lone_surrogates_replaced"] += 1
        return cleaned

    # --- orders ----------------------------------------------------------------------------------

    def _order(self, number: int, rec: dict[str, Any]) -> list[Record]:
        """The records of one order (a list: a bad value rejects the whole record)."""
        context = self.context
        order_id = _text(rec, "id", ID_WIDTH, required=True, missing=MISSING_ID)
        symbol = _text(rec, "symbol", ID_WIDTH, required=True, missing=MISSING_ID)
        side = _side(rec)
        # ccxt leaves amount null on market orders given by cost (HTX spot, OKX / Coinbase quote-size
        # buys) until they are closed: such an order is still read, its size unknown
        amount = _number(rec, "amount")
        if amount is not None and amount < 0:
            raise RecordError("amount", f"{_canonical(amount)} is a negative quantity")
        order_time = _time(rec, self.zone, self.zone_configured)
        filled = _number(rec, "filled")
        remaining = _number(rec, "remaining")
        average = _number(rec, "average")
        price = _number(rec, "price")
        order_type = _text(rec, "type", CODE_WIDTH)
        trigger = _number(rec, "triggerPrice")
        if trigger is None:
            trigger = _number(rec, "stopPrice")
            if trigger is None and (order_type is None or order_type.lower() not in _PLAIN_ORDER_TYPES):
                # ccxt gives an OKX conditional (stop-loss / take-profit) algo order's own trigger only
                # there; on a limit or market order they are the prices of attached TP/SL orders
                trigger = _number(rec, "stopLossPrice")
                if trigger is None:
                    trigger = _number(rec, "takeProfitPrice")
        last_trade = _millis(rec, "lastTradeTimestamp")
        last_update = _millis(rec, "lastUpdateTimestamp")
        time_in_force = _text(rec, "timeInForce", CODE_WIDTH)
        client_order_id = _text(rec, "clientOrderId", ID_WIDTH, missing=MISSING_ID)
        account = self._account(rec)
        asset = _asset(context, symbol)
        raw_status = rec.get("status")
        status = raw_status.strip().lower() if isinstance(raw_status, str) else None

        reason: str | None = None
        cum_quantity, leaves_quantity = filled, remaining
        if status == "open":
            if filled is not None and filled > 0:
                event_type = order_status = "partially_filled"
            else:
                event_type = order_status = "new"
        elif status == "closed":
            trigger_fired = self._trigger_fired(rec)
            if trigger_fired is not None:
                # a stop / trigger order whose trigger fired: it placed another order (its own id),
                # which carries the fills; ccxt's filled here is 0 or made up (amount)
                event_type, order_status = "status", None
                cum_quantity, leaves_quantity = None, _ZERO
                reason = f"{trigger_fired}: the trigger fired and placed another order, which carries the fills"
                self.stats["trigger_fired"] += 1
            elif filled is not None and amount is not None and filled < amount:
                # ccxt's "closed" for an order canceled after a partial fill (Bybit, KuCoin)
                event_type = order_status = "canceled"
                leaves_quantity = _ZERO  # nothing left working (ccxt's remaining is amount - filled)
                reason = f"closed with filled {_canonical(filled)} < amount {_canonical(amount)}: remainder canceled"
                self.stats["closed_partially_filled"] += 1
            else:
                event_type = order_status = "filled"
        elif status in _STATUS:
            event_type, order_status = _STATUS[status]
            if order_status in _DONE_STATUSES:
                leaves_quantity = _ZERO  # nothing left working, whatever ccxt's remaining says
        else:
            event_type, order_status = "status", None
            self.stats["unknown_status"] += 1
        if isinstance(rec.get("trades"), list) and rec["trades"]:
            self.stats["order_embedded_trades_ignored"] += 1

        out: list[Record] = []
        order_identifier = self.identifier("order", symbol, order_id)
        if order_identifier not in self.seen_orders:
            self.seen_orders.add(order_identifier)
            order = OrderRecord(
                record_number=number,
                order_time=order_time,
                order_identifier=order_identifier,
                asset_identifier=asset,
                order_side=side,
                account_identifier=account,
                order_manager_identifier=context.manager(client_order_id),
                order_remote_id=order_id,
                client_order_id=client_order_id,
                order_type=order_type,
                time_in_force=time_in_force,
                quantity=amount,
                limit_price=None if order_type == "market" else price,
                stop_price=trigger,
                currency=_quote(symbol),
                venue_metadata=rec,
            )
            out.append(order)
        event_identifier = self.identifier(
            "event",
            symbol,
            order_id,
            status,
            None if filled is None else _canonical(filled),
            None if last_trade is None else _canonical(last_trade),
            # an order amended in place keeps its id, status and filled: its new size is a new state
            None if amount is None else _canonical(amount),
            None if remaining is None else _canonical(remaining),  # ccxt's, not leaves_quantity
        )
        if event_identifier in self.seen_events:
            self.stats["duplicate_order_snapshot"] += 1
            return out
        self.seen_events.add(event_identifier)
        event_time = order_time
        for key, millis in (("lastTradeTimestamp", last_trade), ("lastUpdateTimestamp", last_update)):
            if millis is not None:
                moment = _from_millis(millis, key)
                if moment > event_time:
                    event_time = moment
        event = OrderEventRecord(
            record_number=number,
            event_time=event_time,
            event_identifier=event_identifier,
            order_identifier=order_identifier,
            asset_identifier=asset,
            event_type=event_type,
            account_identifier=account,
            order_status=order_status,
            cum_quantity=cum_quantity,
            leaves_quantity=leaves_quantity,
            avg_price=average,
            reason=reason,
            event_metadata=rec,
        )
        out.append(event)
        return out

    def _trigger_fired(self, rec: dict[str, Any]) -> str | None:
        """What says a "closed" order is a trigger order whose trigger fired, on the exchanges where
        ccxt reports that as "closed" with the order's own fills 0 or unknown (so neither filled nor
        canceled): OKX algo order ``state`` "effective", Bitget plan order status "triggered" (both
        only ever name a fired trigger). ``None`` for any other order, or when the venue is not given."""
        venue = rec.get("exchange")
        if not isinstance(venue, str) or venue.strip() in MISSING:
            venue = self.file_venue
        if not isinstance(venue, str):
            return None
        venue = venue.strip().lower()
        info = rec.get("info")
        if not isinstance(info, dict):
            return None
        if venue in _OKX_VENUES:
            # okx.parse_order: status from info["state"] as is; "effective" is an algo order state
            if info.get("state") == "effective":
                return "OKX state 'effective'"
        elif venue in _BITGET_VENUES:
            # bitget.parse_order: status from the first non-empty of these keys
            for key in _BITGET_STATUS_KEYS:
                raw = info.get(key)
                if raw is not None and raw != "":
                    if raw == "triggered":
                        return f"Bitget {key} 'triggered'"
                    break
        return None

    # --- trades ----------------------------------------------------------------------------------

    def _trade(self, number: int, rec: dict[str, Any]) -> list[Record]:
        context = self.context
        trade_id = _text(rec, "id", ID_WIDTH, required=True, missing=MISSING_ID)
        symbol = _text(rec, "symbol", ID_WIDTH, required=True, missing=MISSING_ID)
        side = _side(rec)
        amount = _number(rec, "amount", required=True)
        assert amount is not None  # required
        if amount <= 0:
            raise RecordError("amount", f"{_canonical(amount)} is not a positive quantity")
        trade_time = _time(rec, self.zone, self.zone_configured)
        price = _number(rec, "price")
        cost = _number(rec, "cost")
        order_id = _text(rec, "order", ID_WIDTH, missing=MISSING_ID)
        commission, fee_currency = self._fee(rec)
        liquidity = rec.get("takerOrMaker")
        venue = (_text(rec, "exchange", VENUE_WIDTH) if "exchange" in rec else None) or self._file_venue()
        broker_account = self._broker_account(rec)
        account = context.account(broker_account, missing=MISSING_ID)
        asset = _asset(context, symbol)
        quote, cost_currency, cost_in_known_currency = _currencies(symbol)
        if not cost_in_known_currency:
            cost = None  # a contract settled in a third currency: ccxt does not say what cost is in

        trade_identifier = self.identifier("trade", symbol, trade_id, "buy" if side == 1 else "sell")
        if trade_identifier in self.seen_trades:
            self.stats["duplicate_trade"] += 1
            return []
        self.seen_trades.add(trade_identifier)
        trade = TradeRecord(
            record_number=number,
            trade_time=trade_time,
            trade_identifier=trade_identifier,
            asset_identifier=asset,
            trade_side=side,
            quantity=amount,
            order_identifier=None if order_id is None else self.identifier("order", symbol, order_id),
            account_identifier=account,
            trade_remote_id=trade_id,
            price=price,
            currency=quote,
            commission=commission,
            commission_asset_identifier=None if fee_currency is None else _currency_asset(context, fee_currency),
            # the cash movement in cost's currency, fees apart: negative when paid (buys); copy_negate
            # is exact (unary minus rounds to the context's 28 digits)
            settlement_cost=None if cost is None else cost.copy_negate() if side == 1 else cost,
            settlement_asset_identifier=(
                None if cost is None or cost_currency is None else _currency_asset(context, cost_currency)
            ),
            liquidity=_LIQUIDITY.get(liquidity.strip().lower()) if isinstance(liquidity, str) else None,
            venue=venue,
            venue_metadata=rec,
        )
        return [trade]

    def _fee(self, rec: dict[str, Any]) -> tuple[Decimal | None, str | None]:
        """The main fee (cost, currency): ``fee`` if its cost is not zero, else the first currency of
        ``fees`` whose costs add up to non-zero, else a zero fee. A record leaving out a non-zero fee
        in another currency is counted in ``multi_currency_fees``."""
        fee = rec.get("fee")
        if fee is not None and not isinstance(fee, dict):
            raise RecordError("fee", f"is a JSON {_json_type(fee)}, expected an object")
        zero_fee: tuple[Decimal, str | None] | None = None
        if fee:
            cost = _number(fee, "cost", field="fee.cost")
            if cost is not None:
                currency = _text(fee, "currency", ID_WIDTH, field="fee.currency")
                if cost:
                    self._count_other_currency_fees(rec.get("fees"), currency)
                    return cost, currency
                zero_fee = cost, currency  # ([0 BNB, 0.5 USDT]: the fee paid is the USDT one)
        fees = rec.get("fees")
        if fees is None:
            return zero_fee or (None, None)
        # a zero ``fee`` is a commission already: a bad ``fees`` (not read at all when ``fee`` had a
        # cost, before) is passed over rather than rejecting the fill
        strict = zero_fee is None
        if not isinstance(fees, list):
            if zero_fee is not None:
                return zero_fee
            raise RecordError("fees", f"is a JSON {_json_type(fees)}, expected a list")
        # currency -> sum of its costs, in the order the currencies first come
        sums: dict[str | None, Decimal] = {}
        for position, item in enumerate(fees):
            if not isinstance(item, dict):
                if not strict:
                    continue
                raise RecordError(f"fees[{position}]", f"is a JSON {_json_type(item)}, expected an object")
            try:
                cost = _number(item, "cost", field=f"fees[{position}].cost")
                if cost is None:
                    continue
                currency = _text(item, "currency", ID_WIDTH, field=f"fees[{position}].currency")
            except RecordError:
                if strict:
                    raise
                continue
            before = sums.get(currency)
            if before is None:
                sums[currency] = cost
            else:
                with localcontext(_EXACT):  # the default context would round the sum to 28 digits
                    sums[currency] = before + cost
        if not sums:
            return zero_fee or (None, None)
        main: tuple[Decimal, str | None] | None = None
        for currency, total in sums.items():
            if total:
                if main is None:
                    main = total, currency
                else:
                    self.stats["multi_currency_fees"] += 1
                    break
        if main is not None:
            return main
        if zero_fee is not None:
            return zero_fee
        currency, total = next(iter(sums.items()))
        return total, currency

    def _count_other_currency_fees(self, fees: Any, currency: str | None) -> None:
        """Count the record in ``multi_currency_fees`` when ``fees`` holds a non-zero fee in another
        currency than ``currency`` (the main fee's). ccxt repeats ``fee`` in ``fees``. Read leniently:
        ``fee`` gave the commission, so an unreadable entry here does not reject the fill."""
        if not isinstance(fees, list):
            return
        for item in fees:
            if not isinstance(item, dict) or item.get("currency") == currency:  # fast: the repeat of fee
                continue
            try:
                cost = _number(item, "cost")
                other = _text(item, "currency", ID_WIDTH)
            except RecordError:
                continue
            if cost and other != currency:
                self.stats["multi_currency_fees"] += 1
                return

    # --- shared ------------------------------------------------------------------------------------

    def _account(self, rec: dict[str, Any]) -> str | None:
        """The record's ``account``, else the file's, else the source's default account."""
        return self.context.account(self._broker_account(rec), missing=MISSING_ID)

    def _broker_account(self, rec: dict[str, Any]) -> str | None:
        """The record's ``account``, else the file's, as written (stripped); ``None`` when neither."""
        broker_account = _text(rec, "account", ID_WIDTH, missing=MISSING_ID) if "account" in rec else None
        if broker_account is None and self.file_account is not None:
            broker_account = _text({"account": self.file_account}, "account", ID_WIDTH, missing=MISSING_ID)
        return broker_account

    def _file_venue(self) -> str | None:
        if self.file_venue is None:
            return None
        return _text({"exchange": self.file_venue}, "exchange", VENUE_WIDTH)


# --- field parsers (raise RecordError naming the key) -----------------------------------------------


def _text(
    rec: dict[str, Any],
    key: str,
    max_length: int,
    *,
    required: bool = False,
    field: str | None = None,
    missing: frozenset[str] = MISSING,
) -> str | None:
    """The key's text (stripped; a JSON integer as its digits); ``None`` for null and ``missing``
    (:data:`~exec_pipeline.readers.base.MISSING_ID` for ids, symbols and accounts: ``"NA"`` is one)."""
    value = rec.get(key)
    name = field or key
    if isinstance(value, str):
        value = value.strip()
        if value in missing:
            value = None
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # numeric ids written as JSON numbers
    elif value is not None:
        raise RecordError(name, f"is a JSON {_json_type(value)}, expected text")
    if value is None:
        if required:
            raise RecordError(name, "is required but missing")
        return None
    if len(value) > max_length:
        raise RecordError(name, f"is {len(value)} characters long, more than {max_length}")
    return value


def _number(rec: dict[str, Any], key: str, *, required: bool = False, field: str | None = None) -> Decimal | None:
    value = rec.get(key)
    if type(value) is Decimal:
        number = value
    elif value is None:
        number = None
    elif isinstance(value, bool):
        raise RecordError(field or key, f"{value!r} is not a number")
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if text in MISSING:
            number = None
        else:
            try:
                number = Decimal(text)
            except InvalidOperation:
                raise RecordError(field or key, f"{value!r} is not a number") from None
    else:
        raise RecordError(field or key, f"is a JSON {_json_type(value)}, expected a number")
    if number is None:
        if required:
            raise RecordError(field or key, "is required but missing")
        return None
    if not number.is_finite():
        raise RecordError(field or key, f"{value!r} is not a finite number")
    if not -_MAX_EXPONENT <= number.adjusted() <= _MAX_EXPONENT:
        if number:
            raise RecordError(field or key, f"{value!r} is out of range")
        return _ZERO  # "0e-999999999": the same value, without a plain text of a billion digits
    return number


def _side(rec: dict[str, Any]) -> int:
    value = rec.get("side")
    if value is None or (isinstance(value, str) and value.strip() in MISSING):
        raise RecordError("side", "is required but missing")
    side = _SIDES.get(value.strip().lower()) if isinstance(value, str) else None
    if side is None:
        raise RecordError("side", f"{value!r} is not buy or sell")
    return side


def _millis(rec: dict[str, Any], key: str) -> int | Decimal | None:
    """An epoch-milliseconds value, checked; ``None`` when missing."""
    value = rec.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise RecordError(key, f"{value!r} is not an epoch time in milliseconds")
    if isinstance(value, str):
        text = value.strip()
        if text in MISSING:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise RecordError(key, f"{value!r} is not an epoch time in milliseconds") from None
    if isinstance(value, Decimal):
        # bound the exponent before int(): 1E+999999999 would build a billion-digit integer
        if not value.is_finite() or (value and not -20 <= value.adjusted() <= 20):
            raise RecordError(key, f"{value!r} is not an epoch time in milliseconds")
        if value == value.to_integral_value():
            value = int(value)
    elif not isinstance(value, int):
        raise RecordError(key, f"is a JSON {_json_type(value)}, expected epoch milliseconds")
    _from_millis(value, key)  # range check
    return value


def _from_millis(millis: int | Decimal, key: str) -> dt.datetime:
    try:
        if isinstance(millis, int):
            return _EPOCH + dt.timedelta(milliseconds=millis)
        return _EPOCH + dt.timedelta(microseconds=int(millis * 1000))
    except (OverflowError, ValueError, InvalidOperation):
        raise RecordError(key, f"{millis} is not an epoch time in milliseconds") from None


def _time(rec: dict[str, Any], zone: dt.tzinfo, zone_configured: bool) -> dt.datetime:
    """``timestamp`` (epoch ms), else ``datetime`` (ISO-8601; without a UTC offset, a wall-clock time
    of ``zone``, the source's timezone)."""
    millis = rec.get("timestamp")
    if type(millis) is int:  # the usual case, fast
        try:
            return _EPOCH + dt.timedelta(milliseconds=millis)
        except OverflowError:
            raise RecordError("timestamp", f"{millis} is not an epoch time in milliseconds") from None
    checked = _millis(rec, "timestamp")
    if checked is not None:
        return _from_millis(checked, "timestamp")
    text = rec.get("datetime")
    if text is None or (isinstance(text, str) and text.strip() in MISSING):
        raise RecordError("timestamp", "is required but missing (and so is datetime)")
    if not isinstance(text, str):
        raise RecordError("datetime", f"is a JSON {_json_type(text)}, expected an ISO-8601 time")
    iso = text.strip()
    if iso.endswith(("Z", "z")):
        iso = iso[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        raise RecordError("datetime", f"{text!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        return wall_clock_to_utc(
            moment, zone, "datetime", text, zone_configured=zone_configured,
            date_only=len(iso) <= 10,  # "2024-01-05", "20240105": no time of day written
            remedy="deliver timestamp (epoch milliseconds), or datetime with its UTC offset",
        )  # fmt: skip
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise RecordError("datetime", f"{text!r} is out of range") from None


def _asset(context: ReaderContext, symbol: str) -> str:
    asset = context.asset(symbol)
    if len(asset) > ID_WIDTH:
        raise RecordError("symbol", f"{symbol!r} makes an asset identifier longer than {ID_WIDTH} characters")
    return asset


def _currency_asset(context: ReaderContext, code: str) -> str:
    """A currency's asset identifier: the catalogue's ``assets`` entry when it lists the code, else
    the code itself (currency codes are global already; not counted as unmapped)."""
    return context.config.assets.get(code, code)


def _quote(symbol: str) -> str | None:
    """The quote currency of a unified symbol: ``BTC/USDT`` and ``BTC/USDT:USDT`` -> ``USDT``."""
    return _currencies(symbol)[0]


@lru_cache(maxsize=4096)  # a file holds few symbols, each on many records
def _currencies(symbol: str) -> tuple[str | None, str | None, bool]:
    """(quote currency, the currency ccxt gives a trade's ``cost`` in, whether ccxt's ``cost`` is in a
    currency the symbol names) of a unified symbol ``BASE/QUOTE[:SETTLE[-expiry-strike-type]]``.
    ``cost`` is in the quote currency (spot, linear contracts ``BTC/USDT:USDT``), in the settle
    currency for inverse contracts (``BTC/USD:BTC``: amount x contract size / price, in BTC); a
    contract settled in a third currency leaves it unknown, and so does an option
    (``BTC/USD:BTC-240628-60000-C``: ccxt divides by a price already in BTC)."""
    slash = symbol.find("/")
    if slash < 0:
        return None, None, True
    quote, colon, settle = symbol[slash + 1 :].partition(":")
    quote = quote.strip()
    quote_currency = quote if quote and len(quote) <= CURRENCY_WIDTH else None
    settle, _, terms = settle.partition("-") if colon else ("", "", "")
    settle = settle.strip()
    if terms.count("-") >= 2:  # an option (expiry-strike-C/P): ccxt's cost is no cash amount it can tell
        return quote_currency, None, False
    if not settle or settle == quote:
        return quote_currency, quote_currency, True
    if settle == symbol[:slash].strip():  # inverse
        return quote_currency, settle, True
    return quote_currency, None, False


def _canonical(number: int | Decimal) -> str:
    """Text of a number that does not depend on how it was written (``4``, ``4.0``, ``4E0``)."""
    if isinstance(number, int):
        return str(number)
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


#: Top-level keys the reader reads facts or identifiers from (besides the fees' cost and currency):
#: a lone surrogate there rejects the record, anywhere else it is replaced in the stored raw record.
_FACT_KEYS = (
    "id", "order", "clientOrderId", "symbol", "side", "type", "timeInForce", "status", "takerOrMaker",
    "amount", "filled", "remaining", "average", "price", "cost", "triggerPrice", "stopPrice",
    "stopLossPrice", "takeProfitPrice", "timestamp", "datetime", "lastTradeTimestamp",
    "lastUpdateTimestamp", "account", "exchange",
)  # fmt: skip
_LONE_SURROGATE = "holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)"
#: A decoded str holds surrogate code points only unpaired: the decoder joins an escaped pair.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _holds_lone_surrogate(value: Any) -> bool:
    return isinstance(value, str) and _SURROGATE.search(value) is not None


def _replace_lone_surrogates(value: Any) -> Any:
    """``value`` with each lone surrogate, in keys and text at any depth, replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_SURROGATE.sub("\ufffd", k): _replace_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_lone_surrogates(v) for v in value]
    return value


def _check_encodable(item: dict[str, Any]) -> None:
    """Refuse a file-level key holding an unpaired UTF-16 surrogate (it cannot be stored as UTF-8
    text, and every record takes it as a fact)."""
    try:
        json.dumps(item, default=str, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError(None, "the record holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)") from None
    except RecursionError:  # decoded at the reader's stack depth, written out from a deeper one
        raise RecordError(None, "the record is nested too deeply to be stored") from None
