"""What every broker extract reader shares: its context, identifiers, errors and field parsers.

A reader is a module with ``NAME``, ``VERSION`` and ``read(data: bytes, context) -> Iterator[record]``
yielding :class:`~exec_pipeline.data_nodes.execution.OrderRecord`, ``OrderEventRecord``,
``TradeRecord`` and ``RejectRecord``. It is pure: bytes and the source's configuration in, records
out; no Dagster, no database, no I/O beyond a private temporary file where a reader may spill
per-order state of a huge file (:mod:`exec_pipeline.lib.spill`). A line-oriented format can also
offer ``read_stream(blocks, context)``: the same records from the bytes in blocks of any size.

- A record that cannot be normalised becomes a ``RejectRecord`` (record number, field, reason, raw
  text) and reading goes on. Raise :class:`RecordError` inside the per-record code and turn it into
  a reject with :meth:`ReaderContext.reject`.
- A file that cannot be read at all (not XML, not JSON, wrong encoding, truncated) raises one
  :class:`ExtractUnreadable` naming the file.
- A wall-clock time of a source's zone becomes UTC through :func:`wall_clock_to_utc`, the one
  rule for daylight saving changes (a time the clocks skipped, or one of the repeated hour without
  a zone abbreviation to tell which, is a :class:`RecordError`) and zone abbreviations.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from exec_pipeline.data_nodes.execution import RejectRecord
from exec_pipeline.models.execution import OrdersTS, TradesTS
from exec_pipeline.readers.catalogue import SourceConfig

UTC = dt.UTC

#: Namespace of the deterministic identifiers (uuid5); never change it, or every identifier changes.
IDENTIFIER_NAMESPACE = uuid.UUID("6f1c2a3e-8b54-5d0e-9a77-3c1e2f4b5a60")

#: The warehouse's text widths (from the models): a longer value would fail the whole partition's
#: publish, so readers reject the record instead.
ID_WIDTH = OrdersTS.__table__.c.order_remote_id.type.length
CODE_WIDTH = OrdersTS.__table__.c.order_type.type.length
CURRENCY_WIDTH = OrdersTS.__table__.c.currency.type.length
VENUE_WIDTH = TradesTS.__table__.c.venue.type.length

#: Values brokers use for "no value": for numbers, times, codes and free text.
MISSING = frozenset({"", "N/A", "n/a", "NA", "null", "NULL", "None", "-"})

#: "No value" in identifier fields (symbol, instrument id, account, order/trade/exec ids): only the
#: markers that are never a real identifier: empty (cells are stripped first, so whitespace-only
#: too), a lone ``-``, and the programming-language spellings of nothing (``null``, ``NULL``,
#: ``None``). The human abbreviations ``NA``, ``N/A``, ``n/a`` are real identifiers there (``NA``
#: is National Bank of Canada on the TSX) and are kept. A subset of :data:`MISSING`.
MISSING_ID = frozenset({"", "-", "null", "NULL", "None"})


class ExtractUnreadable(ValueError):
    """The whole extract cannot be read; the message names the file and why."""

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(f"{uri}: cannot read extract: {reason}")
        self.uri = uri
        self.reason = reason


class RecordError(ValueError):
    """One record cannot be normalised; becomes a reject naming ``field``."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


#: uuid5 variant nibble: the top two bits of hex digit 16 become 10.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def identifier_maker(source: str, kind: str, *, text_parts: bool = False) -> Callable[..., str]:
    """``make_identifier(source, kind, *parts)`` as a function of the parts alone.

    The readers' hot path: the constant head is hashed once and the UUID text is sliced from the
    SHA-1 digest, several times faster than building ``uuid.UUID`` objects, same result
    (uuid5 of the namespace and ``source, kind, parts`` joined by ``\x1f``; ``None`` counts as "").
    ``text_parts=True`` gives a maker for callers whose parts are always ``str`` (~40% faster: no
    per-part conversion); it computes the same identifiers.
    """
    head = hashlib.sha1(IDENTIFIER_NAMESPACE.bytes + f"{source}\x1f{kind}".encode())
    copy = head.copy
    variant = _VARIANT

    def identifier_of_text(*parts: str) -> str:
        state = copy()
        if parts:
            state.update(("\x1f" + "\x1f".join(parts)).encode())
        h = state.hexdigest()
        return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{variant[h[16]]}{h[17:20]}-{h[20:32]}"

    def identifier(*parts: object) -> str:
        return identifier_of_text(*("" if p is None else str(p) for p in parts))

    return identifier_of_text if text_parts else identifier


def make_identifier(source: str, kind: str, *parts: object) -> str:
    """Deterministic identifier of a fact from its source and the broker's own ids.

    The same (source, kind, parts) gives the same identifier in any file, on any day, anywhere.
    """
    return identifier_maker(source, kind)(*parts)


@dataclass
class ReaderContext:
    """The source's configuration and the counters of one read of one extract."""

    source: str
    config: SourceConfig
    uri: str
    #: counters for materialization metadata (e.g. ``bad_checksum``, ``duplicate_resend``)
    stats: Counter[str] = field(default_factory=Counter)
    unmapped_accounts: Counter[str] = field(default_factory=Counter)
    unmapped_assets: Counter[str] = field(default_factory=Counter)

    @property
    def timezone(self) -> ZoneInfo:
        return self.config.zoneinfo

    _identifier_makers: dict[str, Callable[..., str]] = field(default_factory=dict, repr=False)

    def identifier_for(self, kind: str, *, text_parts: bool = False) -> Callable[..., str]:
        """``identifier(kind, *parts)`` with ``kind`` fixed: for loops over millions of records
        (``text_parts``: every part is a ``str``, see :func:`identifier_maker`)."""
        key = f"{kind}/text" if text_parts else kind
        maker = self._identifier_makers.get(key)
        if maker is None:
            maker = self._identifier_makers[key] = identifier_maker(self.source, kind, text_parts=text_parts)
        return maker

    def identifier(self, kind: str, *parts: object) -> str:
        return self.identifier_for(kind)(*parts)

    def account(self, broker_account: str | None, *, missing: frozenset[str] = MISSING) -> str | None:
        """The account identifier for a broker account (mapped, else ``<source>:<broker value>``);
        the default account for ``None`` and the values of ``missing`` (a reader that reads accounts
        as identifiers passes :data:`MISSING_ID`)."""
        if broker_account is None or broker_account in missing:
            return self.config.default_account
        mapped = self.config.accounts.get(broker_account)
        if mapped is not None:
            return mapped
        self.unmapped_accounts[broker_account] += 1
        return f"{self.source}:{broker_account}"

    def asset(self, broker_instrument: str, *aliases: str | None) -> str:
        """The asset identifier for an instrument: the first of ``broker_instrument`` and ``aliases``
        that the catalogue maps, else ``<source>:<broker_instrument>`` (counted as unmapped)."""
        for key in (broker_instrument, *aliases):
            if key is not None and key in self.config.assets:
                return self.config.assets[key]
        self.unmapped_assets[broker_instrument] += 1
        return f"{self.source}:{broker_instrument}"

    def manager(self, client_order_id: str | None) -> str | None:
        """``order_manager_identifier`` resolved from a client order id by the source's rule."""
        return self.config.resolve_manager(client_order_id)

    def reject(
        self, record_number: int | None, reason: str, field: str | None = None, raw: str | bytes | None = None
    ) -> RejectRecord:
        self.stats["rejects"] += 1
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="backslashreplace")
        return RejectRecord(record_number=record_number, reason=reason, field=field, raw_record=raw)

    def reject_error(self, record_number: int | None, error: RecordError, raw: str | bytes | None) -> RejectRecord:
        return self.reject(record_number, error.reason, error.field, raw)


# --- field parsers (raise RecordError naming the field) -------------------------------------------


def is_missing(value: str | None) -> bool:
    return value is None or value.strip() in MISSING


def parse_decimal(value: str | None, field: str, *, required: bool = False) -> Decimal | None:
    """An exact decimal from text; ``None`` for missing values unless ``required``."""
    if value is None or value.strip() in MISSING:
        if required:
            raise RecordError(field, "is required but missing")
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise RecordError(field, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise RecordError(field, f"{value!r} is not a finite number")
    return number


def parse_epoch_millis(value: int | str | Decimal, field: str) -> dt.datetime:
    try:
        millis = Decimal(str(value))
        return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=int(millis))
    except (InvalidOperation, ValueError, OverflowError):
        raise RecordError(field, f"{value!r} is not an epoch time in milliseconds") from None


def parse_iso_datetime(value: str, field: str, *, default_zone: dt.tzinfo = UTC) -> dt.datetime:
    """An ISO-8601 time; a time without zone is read in ``default_zone``. Returned in UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise RecordError(field, f"{value!r} is not an ISO-8601 time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_zone)
    return parsed.astimezone(UTC)


# --- wall-clock times -> UTC (one rule for every reader) ------------------------------------------

#: Names of UTC itself: they agree with any zone whose offset is 0 at that time, and they are the
#: only abbreviations read without a configured zone (any other names different offsets in
#: different places or years: EST is -05:00 in New York and +10:00 in older Australian
#: statements, MSK was +04:00 from 2011 to 2014).
_UTC_NAMES = frozenset({"UTC", "GMT", "Z", "UT"})


def wall_clock_to_utc(
    local: dt.datetime,
    zone: dt.tzinfo,
    field: str | None,
    text: str,
    *,
    abbreviation: str | None = None,
    zone_configured: bool = True,
    date_only: bool = False,
    remedy: str = "deliver the times with their UTC offset, or in UTC",
) -> dt.datetime:
    """A naive wall-clock time of ``zone`` (a source's ``timezone``) in UTC, never guessed.

    - A time the clocks skipped (the spring gap) does not exist: :class:`RecordError`.
    - A time of the hour repeated when the clocks go back (the autumn fold) is two instants:
      ``abbreviation`` (the zone abbreviation written with the time) tells which, compared with
      ``tzname()`` of both readings (fold 0 and 1); without one, or when both readings have that
      name (Moscow in 2014: MSK both), it is a :class:`RecordError` ending with ``remedy`` (how
      the user makes the broker's times unambiguous).
    - Any other time with an ``abbreviation`` is accepted only when the abbreviation is the zone's
      name at that time (any case; ``UTC``/``GMT``/``Z``/``UT`` where the zone's offset is 0 then).
    - ``zone_configured=False`` (the source has no ``timezone``; ``zone`` is the UTC default): only
      the names of UTC are read; any other abbreviation is a :class:`RecordError` asking for the
      source's ``timezone``, never a guess from a table of names.
    - ``date_only``: a date without a time is its day's first instant, also where the clocks skip
      or repeat midnight (Santiago, Havana, Beirut): nothing was observed at midnight.

    Errors name ``field`` and quote ``text`` (the value as written).
    """
    if local.tzinfo is not None:  # a caller's mistake, not the data's: an aware time is an instant already
        raise ValueError(f"wall_clock_to_utc takes a naive time, not {local!r}")
    if abbreviation is not None and not zone_configured and abbreviation.upper() not in _UTC_NAMES:
        raise RecordError(
            field,
            f"{text!r}: {abbreviation} is read only against the source's timezone (a zone abbreviation "
            "names different offsets in different places and years); set the source's timezone in the catalogue",
        )
    try:
        # the zone's offsets for both readings of the wall-clock time (PEP 495 fold 0 and 1): equal
        # except in a gap (fold 0 has the offset before the change, smaller when clocks go forward)
        # or a fold (fold 0 is the first of the two times, before the clocks went back)
        later = local.replace(fold=1)
        first_offset, second_offset = zone.utcoffset(local), zone.utcoffset(later)
        assert first_offset is not None and second_offset is not None
        if first_offset == second_offset or date_only:
            if abbreviation is not None and not _names(abbreviation, zone, local, first_offset):
                raise _disagrees(field, text, abbreviation, zone, local, (local,))
            return (local - first_offset).replace(tzinfo=UTC)
        if first_offset < second_offset:  # clocks went forward over this time: it never was
            raise RecordError(
                field,
                f"{text!r} does not exist in {_zone_name(zone)}: the clocks went forward "
                f"{_duration(second_offset - first_offset)} over it ({zone.tzname(local)} to {zone.tzname(later)}), "
                "so no broker reported it; check the source's timezone",
            )
        named = [
            offset for reading, offset in ((local, first_offset), (later, second_offset))
            if abbreviation is not None and _names(abbreviation, zone, reading, offset)
        ]  # fmt: skip
        if len(named) == 1:
            return (local - named[0]).replace(tzinfo=UTC)
        if abbreviation is not None and not named:
            raise _disagrees(field, text, abbreviation, zone, local, (local, later))
        raise RecordError(
            field,
            f"{text!r} is ambiguous in {_zone_name(zone)}: the clocks went back and this time came twice, "
            f"{zone.tzname(local)} ({local - first_offset:%Y-%m-%d %H:%M:%S} UTC) and {zone.tzname(later)} "
            f"({local - second_offset:%Y-%m-%d %H:%M:%S} UTC); {remedy}",
        )
    except OverflowError:
        raise RecordError(field, f"{text!r} is out of range") from None


def _names(abbreviation: str, zone: dt.tzinfo, local: dt.datetime, offset: dt.timedelta) -> bool:
    """Whether ``abbreviation`` names ``zone`` at the wall-clock time ``local`` (its fold chosen)."""
    name = abbreviation.upper()
    return name == (zone.tzname(local) or "").upper() or (name in _UTC_NAMES and not offset)


def _disagrees(
    field: str | None,
    text: str,
    abbreviation: str,
    zone: dt.tzinfo,
    local: dt.datetime,
    readings: tuple[dt.datetime, ...],
) -> RecordError:
    names = " or ".join(dict.fromkeys(str(zone.tzname(r)) for r in readings))
    return RecordError(
        field,
        f"{text!r}: {abbreviation} is not what {_zone_name(zone)} calls {local:%Y-%m-%d %H:%M:%S} ({names}); "
        "check the source's timezone",
    )


def _zone_name(zone: dt.tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


def _duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    return "an hour" if minutes == 60 else f"{minutes} minutes"
