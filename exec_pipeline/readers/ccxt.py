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
where a number is needed.

Record numbers are the 1-based positions of the records in the file, in document order (all
elements of the first top-level list, then those of the second).

How rows are derived
--------------------
Order (one unified order = one snapshot of an order's state):

- **OrdersTS**: the first snapshot of each order in the file. ``order_time`` = ``timestamp``
  (epoch ms; else ``datetime``, ISO-8601), ``order_remote_id`` = ``id``, ``client_order_id`` =
  ``clientOrderId``, ``order_manager_identifier`` = ``context.manager(clientOrderId)``,
  ``order_type`` = ``type``, ``time_in_force`` = ``timeInForce``, ``quantity`` = ``amount``,
  ``limit_price`` = ``price`` (``None`` for market orders, whose ``price`` ccxt fills with the
  average), ``stop_price`` = ``triggerPrice`` (else ``stopPrice``), ``currency`` = the quote
  currency of the symbol (``BTC/USDT`` and ``BTC/USDT:USDT`` -> ``USDT``).
- **OrderEventsTS**: one event per distinct snapshot, describing the order's current state:

  ====================================  ==================  ================
  ccxt ``status``                       ``event_type``      ``order_status``
  ====================================  ==================  ================
  open, filled = 0 or missing           new                 new
  open, filled > 0                      partially_filled    partially_filled
  closed, filled = amount (or unknown)  filled              filled
  closed, filled < amount               canceled            canceled
  canceled                              canceled            canceled
  expired                               expired             expired
  rejected                              rejected            rejected
  anything else / missing               status              None
  ====================================  ==================  ================

  "closed with filled < amount" is how ccxt reports an order canceled after a partial fill on
  some exchanges (Bybit ``PartiallyFilledCanceled``, KuCoin "partial canceled"); the event's
  ``reason`` says so. ``cum_quantity`` = ``filled``, ``leaves_quantity`` = ``remaining``,
  ``avg_price`` = ``average``, ``event_time`` = the latest of ``timestamp``,
  ``lastTradeTimestamp`` and ``lastUpdateTimestamp`` (when the order reached that state).
  An order's embedded ``trades`` list is not read as fills: exchanges fill it inconsistently
  (Kraken lists bare trade ids, so ccxt makes trades without amount or price); fills come from
  the trades (``fetch_my_trades``). It stays in the raw record.

Trade (one unified trade = one fill) -> **TradesTS** (``trade_kind`` "fill"; ccxt has no busts):
``trade_time`` = ``timestamp`` (else ``datetime``), ``trade_remote_id`` = ``id``,
``order_identifier`` from ``order`` (same rule as orders, so trades join their orders),
``trade_side`` from ``side``, ``quantity`` = ``amount`` (must be > 0), ``price``, ``currency`` =
quote currency of the symbol, ``settlement_cost`` = ``cost`` as a signed cash movement in the
quote currency, fees apart (negative for buys, positive for sells: the convention of the other
readers) with ``settlement_asset_identifier`` = the quote currency, ``liquidity`` =
``takerOrMaker``, ``venue`` = the ``exchange`` key (record, else file).

Fees: ``commission`` is the cost of the main fee with its sign kept (positive = paid, negative
= rebate, as ccxt reports them) and ``commission_asset_identifier`` = the fee currency (e.g. BNB
on Binance). Currencies become asset identifiers through the catalogue's ``assets`` when listed
there, else stay the currency code (codes are global already; not counted as unmapped).
The main fee is ``fee`` when it has a cost; else, from
``fees``, the sum of their costs when they all share one currency, else the first one (counted
in ``stats["multi_currency_fees"]``). All fees stay in the raw record.

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
- trade: ``context.identifier("trade", symbol, id)``;
- event: ``context.identifier("event", symbol, id, status, filled, lastTradeTimestamp)`` with
  ``filled`` and ``lastTradeTimestamp`` written canonically (``4.0`` and ``4`` are the same): the
  same snapshot read again (another file, another day) is the same event, a snapshot with more
  filled or another status is a new one.

Within one file an order's first snapshot gives its OrdersTS row; a snapshot or a trade seen
twice is kept once (``stats["duplicate_order_snapshot"]``, ``stats["duplicate_trade"]``).

Bad input
---------
Not UTF-8, not JSON, or a top level that is neither a list nor an object with ``orders`` /
``trades`` lists -> :class:`ExtractUnreadable`. A record that is not an object, that misses
``id``, ``symbol``, ``side``, ``amount`` or a time, or that has a bad number, side or time ->
a reject naming the key, with the record's JSON text as raw record.

``context.stats`` keys: ``orders``, ``trades`` (records read), ``duplicate_order_snapshot``,
``duplicate_trade``, ``closed_partially_filled``, ``unknown_status``, ``multi_currency_fees``,
``order_embedded_trades_ignored``, ``rejects`` (by the context).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from exec_pipeline.data_nodes.execution import (
    OrderEventRecord,
    OrderRecord,
    RejectRecord,
    TradeRecord,
)
from exec_pipeline.readers.base import (
    CODE_WIDTH,
    CURRENCY_WIDTH,
    ID_WIDTH,
    MISSING,
    UTC,
    VENUE_WIDTH,
    ExtractUnreadable,
    ReaderContext,
    RecordError,
    parse_iso_datetime,
)

NAME = "ccxt"
VERSION = "1.0.0"

Record = OrderRecord | OrderEventRecord | TradeRecord | RejectRecord

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_SIDES = {"buy": 1, "sell": -1}
_LIQUIDITY = {"maker": "maker", "taker": "taker"}
_ORDER_KEYS = ("status", "filled", "remaining", "lastTradeTimestamp")
_TRADE_KEYS = ("order", "takerOrMaker")
# ccxt unified status -> (event_type, order_status); "open" and "closed" are refined by `filled`
_STATUS = {
    "canceled": ("canceled", "canceled"),
    "expired": ("expired", "expired"),
    "rejected": ("rejected", "rejected"),
}
# Quantities and prices beyond 1e±60 are junk, and would not fit the warehouse's numerics.
_MAX_EXPONENT = 60


def read(data: bytes, context: ReaderContext) -> Iterator[Record]:
    """Records of a ccxt JSON extract (see the module docstring)."""
    document = _load(data, context.uri)
    if isinstance(document, list):
        sections: list[tuple[str | None, list[Any]]] = [(None, document)]
        file_account: Any = None
        file_venue: Any = None
    else:
        sections = []
        for key, value in document.items():
            if key not in ("orders", "trades") or value is None:
                continue
            if not isinstance(value, list):
                raise ExtractUnreadable(context.uri, f'"{key}" is a JSON {_json_type(value)}, expected a list')
            sections.append((key, value))
        file_account = document.get("account")
        file_venue = document.get("exchange")
    # lone UTF-16 surrogates ("\\ud800") parse into str that cannot be encoded for the warehouse:
    # check records for them only when the text could hold one (the scan is one fast pass)
    check_surrogates = b"\\u" in data and (b"\\ud" in data.lower())
    if check_surrogates:
        for key, value in (("account", file_account), ("exchange", file_venue)):
            try:
                _check_encodable({key: value})
            except RecordError:
                raise ExtractUnreadable(
                    context.uri, f'the top-level "{key}" holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)'
                ) from None
    reader = _Reader(context, file_account, file_venue, check_surrogates)
    number = 0
    for kind, items in sections:
        for item in items:
            number += 1
            yield from reader.record(number, kind, item)


def _load(data: bytes, uri: str) -> dict[str, Any] | list[Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExtractUnreadable(uri, f"not UTF-8 text: {exc}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        # exact decimals from the JSON text; NaN/Infinity stay text (rejected where a number is needed)
        document = json.loads(text, parse_float=_parse_float, parse_constant=str)
    except (ValueError, RecursionError) as exc:
        raise ExtractUnreadable(uri, f"not valid JSON: {exc}") from None
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        if "orders" not in document and "trades" not in document:
            raise ExtractUnreadable(uri, 'the top-level JSON object has neither "orders" nor "trades"')
        return document
    raise ExtractUnreadable(uri, f"the top level is a JSON {_json_type(document)}, expected an object or a list")


def _parse_float(text: str) -> Decimal | str:
    """A JSON fraction as an exact decimal; an absurd exponent (``1e999999999``) stays text, so a
    raw record never holds a number the warehouse would have to write out in full. An exponent
    beyond what ``Decimal`` itself can represent stays text too."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if ("e" in text or "E" in text) and number and not -_MAX_EXPONENT <= number.adjusted() <= _MAX_EXPONENT:
        return text
    return number


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

    def __init__(self, context: ReaderContext, file_account: Any, file_venue: Any, check_surrogates: bool) -> None:
        self.context = context
        self.identifier = context.identifier
        self.stats = context.stats
        self.check_surrogates = check_surrogates
        self.file_account = file_account
        self.file_venue = file_venue
        self.seen_orders: set[str] = set()
        self.seen_events: set[str] = set()
        self.seen_trades: set[str] = set()

    def record(self, number: int, kind: str | None, item: Any) -> Iterator[Record]:
        context = self.context
        if not isinstance(item, dict):
            yield context.reject(number, f"record is a JSON {_json_type(item)}, expected an object", None, _dump(item))
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
                    _dump(item),
                )
                return
        try:
            if self.check_surrogates:
                _check_encodable(item)
            if kind == "orders":
                self.stats["orders"] += 1
                records = self._order(number, item)
            else:
                self.stats["trades"] += 1
                records = self._trade(number, item)
        except RecordError as error:
            # str(error) is "key: reason": the reason names the key on its own too
            yield context.reject(number, str(error), error.field, _dump(item))
            return
        yield from records

    # --- orders ----------------------------------------------------------------------------------

    def _order(self, number: int, rec: dict[str, Any]) -> list[Record]:
        """The records of one order (a list: a bad value rejects the whole record)."""
        context = self.context
        order_id = _text(rec, "id", ID_WIDTH, required=True)
        symbol = _text(rec, "symbol", ID_WIDTH, required=True)
        side = _side(rec)
        amount = _number(rec, "amount", required=True)
        assert amount is not None  # required
        if amount < 0:
            raise RecordError("amount", f"{_canonical(amount)} is a negative quantity")
        order_time = _time(rec)
        filled = _number(rec, "filled")
        remaining = _number(rec, "remaining")
        average = _number(rec, "average")
        price = _number(rec, "price")
        trigger = _number(rec, "triggerPrice")
        if trigger is None:
            trigger = _number(rec, "stopPrice")
        last_trade = _millis(rec, "lastTradeTimestamp")
        last_update = _millis(rec, "lastUpdateTimestamp")
        order_type = _text(rec, "type", CODE_WIDTH)
        time_in_force = _text(rec, "timeInForce", CODE_WIDTH)
        client_order_id = _text(rec, "clientOrderId", ID_WIDTH)
        account = self._account(rec)
        asset = _asset(context, symbol)
        raw_status = rec.get("status")
        status = raw_status if isinstance(raw_status, str) else None

        reason: str | None = None
        if status == "open":
            if filled is not None and filled > 0:
                event_type = order_status = "partially_filled"
            else:
                event_type = order_status = "new"
        elif status == "closed":
            if filled is not None and amount is not None and filled < amount:
                # ccxt's "closed" for an order canceled after a partial fill (Bybit, KuCoin)
                event_type = order_status = "canceled"
                reason = f"closed with filled {_canonical(filled)} < amount {_canonical(amount)}: remainder canceled"
                self.stats["closed_partially_filled"] += 1
            else:
                event_type = order_status = "filled"
        elif status in _STATUS:
            event_type, order_status = _STATUS[status]
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
            cum_quantity=filled,
            leaves_quantity=remaining,
            avg_price=average,
            reason=reason,
            event_metadata=rec,
        )
        out.append(event)
        return out

    # --- trades ----------------------------------------------------------------------------------

    def _trade(self, number: int, rec: dict[str, Any]) -> list[Record]:
        context = self.context
        trade_id = _text(rec, "id", ID_WIDTH, required=True)
        symbol = _text(rec, "symbol", ID_WIDTH, required=True)
        side = _side(rec)
        amount = _number(rec, "amount", required=True)
        assert amount is not None  # required
        if amount <= 0:
            raise RecordError("amount", f"{_canonical(amount)} is not a positive quantity")
        trade_time = _time(rec)
        price = _number(rec, "price")
        cost = _number(rec, "cost")
        order_id = _text(rec, "order", ID_WIDTH)
        commission, fee_currency = self._fee(rec)
        liquidity = rec.get("takerOrMaker")
        venue = (_text(rec, "exchange", VENUE_WIDTH) if "exchange" in rec else None) or self._file_venue()
        account = self._account(rec)
        asset = _asset(context, symbol)
        quote = _quote(symbol)

        trade_identifier = self.identifier("trade", symbol, trade_id)
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
            # the cash movement in the quote currency, fees apart: negative when paid (buys)
            settlement_cost=None if cost is None else -cost if side == 1 else cost,
            settlement_asset_identifier=None if cost is None or quote is None else _currency_asset(context, quote),
            liquidity=_LIQUIDITY.get(liquidity) if isinstance(liquidity, str) else None,
            venue=venue,
            venue_metadata=rec,
        )
        return [trade]

    def _fee(self, rec: dict[str, Any]) -> tuple[Decimal | None, str | None]:
        """The main fee (cost, currency): ``fee`` if it has a cost, else from ``fees``."""
        fee = rec.get("fee")
        if fee is not None and not isinstance(fee, dict):
            raise RecordError("fee", f"is a JSON {_json_type(fee)}, expected an object")
        if fee:
            cost = _number(fee, "cost", field="fee.cost")
            if cost is not None:
                return cost, _text(fee, "currency", ID_WIDTH, field="fee.currency")
        fees = rec.get("fees")
        if fees is None:
            return None, None
        if not isinstance(fees, list):
            raise RecordError("fees", f"is a JSON {_json_type(fees)}, expected a list")
        parsed: list[tuple[Decimal, str | None]] = []
        for position, item in enumerate(fees):
            if not isinstance(item, dict):
                raise RecordError(f"fees[{position}]", f"is a JSON {_json_type(item)}, expected an object")
            cost = _number(item, "cost", field=f"fees[{position}].cost")
            if cost is not None:
                parsed.append((cost, _text(item, "currency", ID_WIDTH, field=f"fees[{position}].currency")))
        if not parsed:
            return None, None
        currencies = {currency for _, currency in parsed}
        if len(currencies) == 1:
            return sum((cost for cost, _ in parsed), Decimal(0)), parsed[0][1]
        self.stats["multi_currency_fees"] += 1
        return parsed[0]

    # --- shared ------------------------------------------------------------------------------------

    def _account(self, rec: dict[str, Any]) -> str | None:
        """The record's ``account``, else the file's, else the source's default account."""
        broker_account = _text(rec, "account", ID_WIDTH) if "account" in rec else None
        if broker_account is None and self.file_account is not None:
            broker_account = _text({"account": self.file_account}, "account", ID_WIDTH)
        return self.context.account(broker_account)

    def _file_venue(self) -> str | None:
        if self.file_venue is None:
            return None
        return _text({"exchange": self.file_venue}, "exchange", VENUE_WIDTH)


# --- field parsers (raise RecordError naming the key) -----------------------------------------------


def _text(
    rec: dict[str, Any], key: str, max_length: int, *, required: bool = False, field: str | None = None
) -> str | None:
    value = rec.get(key)
    name = field or key
    if isinstance(value, str):
        value = value.strip()
        if value in MISSING:
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
    if number and not -_MAX_EXPONENT <= number.adjusted() <= _MAX_EXPONENT:
        raise RecordError(field or key, f"{value!r} is out of range")
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


def _time(rec: dict[str, Any]) -> dt.datetime:
    """``timestamp`` (epoch ms), else ``datetime`` (ISO-8601)."""
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
    try:
        return parse_iso_datetime(text, "datetime")
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
    slash = symbol.find("/")
    if slash < 0:
        return None
    quote = symbol[slash + 1 :].split(":", 1)[0].strip()
    return quote if quote and len(quote) <= CURRENCY_WIDTH else None


def _canonical(number: int | Decimal) -> str:
    """Text of a number that does not depend on how it was written (``4``, ``4.0``, ``4E0``)."""
    if isinstance(number, int):
        return str(number)
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _dump(item: Any) -> str:
    """The JSON text of a record, for rejects."""
    try:
        text = json.dumps(item, default=str, ensure_ascii=False)
    except (ValueError, RecursionError):  # pragma: no cover - parsed JSON always dumps
        return repr(item)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate: keep it as a \u escape
        text = json.dumps(item, default=str)
    return text


def _check_encodable(item: dict[str, Any]) -> None:
    """Refuse a record holding an unpaired UTF-16 surrogate (it cannot be stored as UTF-8 text)."""
    try:
        json.dumps(item, default=str, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError(None, "the record holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)") from None
