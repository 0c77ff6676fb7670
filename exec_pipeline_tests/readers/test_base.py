"""What every reader shares: the identifier rule (against the standard library's uuid5), the
"no value" markers, and how wall-clock times become UTC (DST folds and gaps, zone abbreviations)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exec_pipeline.readers.base import (
    IDENTIFIER_NAMESPACE,
    MISSING,
    MISSING_ID,
    ReaderContext,
    RecordError,
    is_missing,
    make_identifier,
    wall_clock_to_utc,
)
from exec_pipeline.readers.catalogue import SourceConfig


def reference(source: str, kind: str, *parts: Any) -> str:
    return str(uuid.uuid5(IDENTIFIER_NAMESPACE, "\x1f".join((source, kind, *("" if p is None else str(p) for p in parts)))))


@settings(max_examples=300, deadline=None)
@given(
    source=st.text(min_size=1, max_size=10),
    kind=st.sampled_from(["order", "trade", "event"]),
    parts=st.lists(st.one_of(st.none(), st.text(max_size=12), st.integers(), st.decimals(allow_nan=False)), max_size=6),
)
def test_identifiers_are_uuid5_of_source_kind_and_parts(source: str, kind: str, parts: list[Any]) -> None:
    expected = reference(source, kind, *parts)
    assert make_identifier(source, kind, *parts) == expected
    context = ReaderContext(source=source, config=SourceConfig(format="csv"), uri="memory://x")
    assert context.identifier(kind, *parts) == expected
    assert context.identifier_for(kind)(*parts) == expected
    text_parts = ["" if p is None else str(p) for p in parts]
    assert context.identifier_for(kind, text_parts=True)(*text_parts) == expected


def test_identifiers_depend_on_every_part_and_its_position():
    assert make_identifier("fixgw", "trade", "A", "") != make_identifier("fixgw", "trade", "", "A")
    assert make_identifier("fixgw", "trade", "A") != make_identifier("ibkr", "trade", "A")
    assert make_identifier("fixgw", "trade", Decimal("1.0")) != make_identifier("fixgw", "trade", Decimal("1"))
    assert uuid.UUID(make_identifier("fixgw", "order")).version == 5


def test_identifier_fields_have_a_narrower_missing_rule() -> None:
    # "NA" is National Bank of Canada's ticker on the TSX, and a plausible account or order id
    for text in ("NA", "N/A", "n/a", " NA "):
        assert is_missing(text) and text.strip() not in MISSING_ID
    for text in ("", "   ", "-", "null", "NULL", "None", " None "):
        assert is_missing(text) and text.strip() in MISSING_ID
    assert MISSING_ID < MISSING  # what is missing as an identifier is missing everywhere
    context = ReaderContext(
        source="tsx", config=SourceConfig(format="csv", default_account="main"), uri="memory://x"
    )
    assert context.account("NA", missing=MISSING_ID) == "tsx:NA"
    assert context.account("None", missing=MISSING_ID) == context.account(None) == "main"
    assert context.account("NA") == "main"  # the default rule is unchanged for the readers that use it


# --- wall-clock times: DST folds and gaps, zone abbreviations --------------------------------------

NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def refusal(local: dt.datetime, zone: dt.tzinfo, **kwargs: Any) -> RecordError:
    with pytest.raises(RecordError) as info:
        wall_clock_to_utc(local, zone, "dateTime", "the text", **kwargs)
    assert info.value.field == "dateTime" and "'the text'" in info.value.reason
    return info.value


def test_wall_clock_times_away_from_dst_changes_are_read_in_the_zone() -> None:
    assert wall_clock_to_utc(dt.datetime(2026, 1, 15, 9, 30), NEW_YORK, "f", "t") == utc(2026, 1, 15, 14, 30)
    summer = dt.datetime(2026, 7, 15, 9, 30, 0, 5)
    assert wall_clock_to_utc(summer, NEW_YORK, "f", "t") == utc(2026, 7, 15, 13, 30, 0, 5)
    # the hours around the changes are ordinary
    assert wall_clock_to_utc(dt.datetime(2026, 11, 1, 0, 59, 59), NEW_YORK, "f", "t") == utc(2026, 11, 1, 4, 59, 59)
    assert wall_clock_to_utc(dt.datetime(2026, 11, 1, 2, 0), NEW_YORK, "f", "t") == utc(2026, 11, 1, 7, 0)
    assert wall_clock_to_utc(dt.datetime(2026, 3, 8, 3, 0), NEW_YORK, "f", "t") == utc(2026, 3, 8, 7, 0)
    assert wall_clock_to_utc(dt.datetime(2026, 1, 15, 9, 30), dt.UTC, "f", "t") == utc(2026, 1, 15, 9, 30)
    fixed = dt.timezone(dt.timedelta(hours=-5))
    assert wall_clock_to_utc(dt.datetime(2026, 11, 1, 1, 30), fixed, "f", "t") == utc(2026, 11, 1, 6, 30)


@pytest.mark.parametrize(
    ("zone", "local"),
    [
        ("America/New_York", dt.datetime(2026, 11, 1, 1, 30)),
        ("Europe/Zurich", dt.datetime(2026, 10, 25, 2, 30)),
        ("Europe/London", dt.datetime(2026, 10, 25, 1, 0)),
        ("Australia/Lord_Howe", dt.datetime(2026, 4, 5, 1, 45)),  # a half-hour change
    ],
)
def test_a_time_in_the_repeated_autumn_hour_without_abbreviation_is_ambiguous(zone: str, local: dt.datetime) -> None:
    error = refusal(local, ZoneInfo(zone), remedy="send UTC")
    first = local.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
    second = local.replace(tzinfo=ZoneInfo(zone), fold=1).astimezone(dt.UTC)
    assert "ambiguous" in error.reason and zone in error.reason and error.reason.endswith("send UTC")
    assert f"{first:%H:%M}" in error.reason and f"{second:%H:%M}" in error.reason  # both readings shown


@pytest.mark.parametrize(
    ("zone", "local"),
    [
        ("America/New_York", dt.datetime(2026, 3, 8, 2, 30)),
        ("Europe/Zurich", dt.datetime(2026, 3, 29, 2, 0)),
        ("Europe/London", dt.datetime(2026, 3, 29, 1, 59, 59)),
    ],
)
def test_a_time_in_the_spring_gap_does_not_exist_and_is_rejected(zone: str, local: dt.datetime) -> None:
    error = refusal(local, ZoneInfo(zone))
    assert "does not exist" in error.reason and zone in error.reason
    # whatever abbreviation comes with it
    for abbreviation in (local.replace(tzinfo=ZoneInfo(zone), fold=f).tzname() for f in (0, 1)):
        assert "does not exist" in refusal(local, ZoneInfo(zone), abbreviation=abbreviation).reason


@pytest.mark.parametrize(
    ("zone", "local", "abbreviation", "expected"),
    [
        # the repeated hour: the abbreviation tells which of the two it is
        ("America/New_York", dt.datetime(2026, 11, 1, 1, 30), "EDT", utc(2026, 11, 1, 5, 30)),
        ("America/New_York", dt.datetime(2026, 11, 1, 1, 30), "EST", utc(2026, 11, 1, 6, 30)),
        ("Europe/Zurich", dt.datetime(2026, 10, 25, 2, 30), "CEST", utc(2026, 10, 25, 0, 30)),
        ("Europe/Zurich", dt.datetime(2026, 10, 25, 2, 30), "CET", utc(2026, 10, 25, 1, 30)),
        ("Europe/London", dt.datetime(2026, 10, 25, 1, 30), "BST", utc(2026, 10, 25, 0, 30)),
        ("Europe/London", dt.datetime(2026, 10, 25, 1, 30), "GMT", utc(2026, 10, 25, 1, 30)),
        ("Europe/Dublin", dt.datetime(2026, 10, 25, 1, 30), "IST", utc(2026, 10, 25, 0, 30)),  # negative DST in tzdata
        ("Europe/Dublin", dt.datetime(2026, 10, 25, 1, 30), "GMT", utc(2026, 10, 25, 1, 30)),
        # ordinary times: the abbreviation must be the zone's at that time
        ("America/New_York", dt.datetime(2026, 7, 15, 9, 30), "EDT", utc(2026, 7, 15, 13, 30)),
        ("America/New_York", dt.datetime(2026, 1, 15, 9, 30), "est", utc(2026, 1, 15, 14, 30)),  # any case
        ("Asia/Tokyo", dt.datetime(2026, 1, 15, 9, 30), "JST", utc(2026, 1, 15, 0, 30)),
        # UTC by any of its names where the zone is at offset 0
        ("Europe/London", dt.datetime(2026, 1, 15, 9, 30), "UTC", utc(2026, 1, 15, 9, 30)),
        ("UTC", dt.datetime(2026, 7, 15, 9, 30), "GMT", utc(2026, 7, 15, 9, 30)),
        ("UTC", dt.datetime(2026, 7, 15, 9, 30), "UTC", utc(2026, 7, 15, 9, 30)),
    ],
)
def test_an_abbreviation_that_agrees_with_the_zone_gives_the_time(
    zone: str, local: dt.datetime, abbreviation: str, expected: dt.datetime
) -> None:
    assert wall_clock_to_utc(local, ZoneInfo(zone), "f", "t", abbreviation=abbreviation) == expected


@pytest.mark.parametrize(
    ("zone", "local", "abbreviation", "expected_names"),
    [
        ("America/New_York", dt.datetime(2026, 7, 15, 9, 30), "EST", "EDT"),  # winter name in summer
        ("America/New_York", dt.datetime(2026, 1, 15, 9, 30), "EDT", "EST"),
        ("America/New_York", dt.datetime(2026, 11, 1, 1, 30), "CST", "EDT or EST"),
        ("America/New_York", dt.datetime(2026, 1, 15, 9, 30), "CET", "EST"),
        ("America/New_York", dt.datetime(2026, 1, 15, 9, 30), "XYZ", "EST"),
        ("Europe/London", dt.datetime(2026, 7, 15, 9, 30), "GMT", "BST"),  # GMT is not London's summer time
        ("Europe/London", dt.datetime(2026, 7, 15, 9, 30), "UTC", "BST"),
        ("UTC", dt.datetime(2026, 1, 15, 9, 30), "EST", "UTC"),  # a source configured in UTC
    ],
)
def test_an_abbreviation_that_disagrees_with_the_zone_is_rejected_saying_why(
    zone: str, local: dt.datetime, abbreviation: str, expected_names: str
) -> None:
    reason = refusal(local, ZoneInfo(zone), abbreviation=abbreviation).reason
    assert abbreviation in reason and zone in reason and f"({expected_names})" in reason, reason
    assert "timezone" in reason  # what to check


@pytest.mark.parametrize("abbreviation", ["UTC", "GMT", "Z", "ut"])
def test_without_a_configured_zone_the_names_of_utc_are_read(abbreviation: str) -> None:
    local = dt.datetime(2026, 11, 1, 1, 30)
    assert wall_clock_to_utc(local, dt.UTC, "f", "t", abbreviation=abbreviation, zone_configured=False) == utc(
        2026, 11, 1, 1, 30
    )
    # and without an abbreviation, an unconfigured source's times are UTC as before
    assert wall_clock_to_utc(local, dt.UTC, "f", "t", zone_configured=False) == utc(2026, 11, 1, 1, 30)


@pytest.mark.parametrize("abbreviation", ["EST", "EDT", "CET", "MSK", "IST", "CST", "BST", "SGT"])
def test_without_a_configured_zone_any_other_abbreviation_is_never_guessed(abbreviation: str) -> None:
    # found in review: a fixed table read MSK as +03:00, but Moscow was MSK at +04:00 from 2011 to
    # 2014, and Australian brokers write EST for +10:00; a name alone never gives the offset
    reason = refusal(
        dt.datetime(2013, 6, 1, 12, 0), dt.UTC, abbreviation=abbreviation, zone_configured=False
    ).reason
    assert abbreviation in reason and "set the source's timezone" in reason, reason


def test_an_abbreviation_that_both_times_of_the_repeated_hour_carry_is_ambiguous() -> None:
    # found in review: Moscow went back from 02:00 to 01:00 on 2014-10-26 and called both hours MSK
    moscow = ZoneInfo("Europe/Moscow")
    local = dt.datetime(2014, 10, 26, 1, 30)
    assert moscow.tzname(local) == moscow.tzname(local.replace(fold=1)) == "MSK"
    assert "ambiguous" in refusal(local, moscow, abbreviation="MSK").reason


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("America/Santiago", dt.date(2026, 9, 6)),  # clocks skip 00:00-00:59
        ("America/Havana", dt.date(2026, 11, 1)),  # clocks repeat 00:00-00:59
        ("America/New_York", dt.date(2026, 11, 1)),  # an ordinary midnight
    ],
)
def test_a_date_alone_is_its_days_first_instant_where_midnight_is_skipped_or_repeated(zone: str, day: dt.date) -> None:
    # found in review: a date alone (IBKR tradeDate, a CSV date) was rejected on such days, though
    # nothing was observed at midnight
    tz = ZoneInfo(zone)
    midnight = dt.datetime.combine(day, dt.time())
    first_instant = min(
        instant
        for instant in (
            dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz).replace(fold=fold).astimezone(dt.UTC)
            for hour in range(3) for minute in range(0, 60, 30) for fold in (0, 1)
        )
        if instant.astimezone(tz).date() == day
    )  # fmt: skip
    assert wall_clock_to_utc(midnight, tz, "tradeDate", "t", date_only=True) == first_instant


def test_a_time_out_of_range_is_rejected() -> None:
    assert "out of range" in refusal(dt.datetime(1, 1, 1, 0, 30), ZoneInfo("Asia/Tokyo")).reason


def test_an_aware_time_is_a_callers_mistake() -> None:
    with pytest.raises(ValueError, match="naive"):
        wall_clock_to_utc(utc(2026, 1, 15, 9, 30), NEW_YORK, "f", "t")


def test_an_entry_without_timezone_reads_times_as_one_saying_utc() -> None:
    # the two read the same facts (only a reject's advice differs), so the ledger's digest, which
    # makes unchanged files read again when it changes, is the same for both
    bare, utc_entry = SourceConfig(format="csv"), SourceConfig(format="csv", timezone="UTC")
    local = dt.datetime(2026, 1, 5, 9, 30)
    for entry in (bare, utc_entry):
        assert wall_clock_to_utc(local, entry.zoneinfo, "t", "x", abbreviation="Z",
                                 zone_configured=entry.timezone_configured) == utc(2026, 1, 5, 9, 30)
        with pytest.raises(RecordError):
            wall_clock_to_utc(local, entry.zoneinfo, "t", "x", abbreviation="EST",
                              zone_configured=entry.timezone_configured)
    assert not bare.timezone_configured and utc_entry.timezone_configured
    assert bare.digest == utc_entry.digest
