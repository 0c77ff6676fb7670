"""The loader's generated row encoder agrees with its checked per-column loop on any record."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exec_pipeline.data_nodes.execution import OrderEventRecord, OrderRecord, RejectRecord, TradeRecord
from exec_pipeline.lib import bulkload

REF = bulkload.ExtractRef("file:///l/a.log", 7, "test", "1.0.0")
RECORDS = {"OrdersTS": OrderRecord, "OrderEventsTS": OrderEventRecord, "TradesTS": TradeRecord, "rejects": RejectRecord}

texts = st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["new", "filled", "fill", "bust", "maker", "a\x00b"]))
decimals = st.one_of(
    st.none(), st.decimals(allow_nan=False, allow_infinity=False, places=4), st.integers(-5, 5), st.floats(0, 2),
    st.just(True), st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")]),
)
moments = st.one_of(
    st.none(),
    st.datetimes(timezones=st.sampled_from([dt.UTC, zoneinfo.ZoneInfo("America/New_York"),
                                            dt.timezone(dt.timedelta(0))])),
    st.datetimes(),  # naive
)
values = st.one_of(texts, decimals, moments, st.sampled_from([1, -1, 2, 0]),
                   st.dictionaries(st.text(max_size=3), st.text(max_size=5), max_size=2))


# what readers normally yield: the generated encoder takes these as they are
at = dt.datetime(2026, 1, 5, 14, 30, 1, 250_000, tzinfo=dt.UTC)
TYPICAL = {
    "OrdersTS": OrderRecord(1, at, "o-1", "aapl", 1, "acc", "momentum", "R1", "C1", None, "limit", "day",
                            Decimal("100"), Decimal("187.25"), None, "USD", None, {"35": "8", "150": "0"}),
    "OrderEventsTS": OrderEventRecord(2, at, "e-1", "o-1", "aapl", "partially_filled", "acc", "partially_filled",
                                      Decimal("40"), Decimal("60"), Decimal("187.2"), None, {"35": "8"}),
    "TradesTS": TradeRecord(2, at, "t-1", "aapl", -1, Decimal("40"), "o-1", "acc", "X1", Decimal("187.2"), "USD",
                            Decimal("0.35"), "USD", None, None, "maker", "XNAS", "fill", None, {"35": "8"}),
}


def encoders(dialect: str) -> dict[str, bulkload._RowEncoder]:
    specs = bulkload._specs()
    return {name: bulkload._RowEncoder(spec, dialect) for name, spec in specs.items()}


def outcome(encode, record):
    try:
        return "row", encode(record, REF)
    except bulkload.FactValidationError as exc:
        return "error", str(exc)


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(RECORDS)), data=st.data())
def test_generated_encoder_matches_the_checked_loop(dialect, name, data):
    record_type = RECORDS[name]
    if name in TYPICAL:  # a valid record with one or two fields replaced: reaches every column's fast path
        record = TYPICAL[name]
        for _ in range(data.draw(st.integers(1, 2))):
            field = data.draw(st.sampled_from(record_type._fields))
            record = record._replace(**{field: data.draw(values, label=field)})
    else:
        record = record_type(*(data.draw(values, label=field) for field in record_type._fields))
    encoder = encoders(dialect)[name]
    assert outcome(encoder.encode, record) == outcome(encoder.encode_checked, record)


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_typical_records_take_the_generated_path(dialect):
    # a reader's normal output must not fall back to the slow loop (that would be a silent slowdown)
    for name, record in TYPICAL.items():
        encoder = encoders(dialect)[name]
        assert encoder._fast(record, REF.extract_id) == encoder.encode_checked(record, REF)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.decimals(allow_nan=False, allow_infinity=False),
              st.sampled_from(["lone \ud800 surrogate", "nul \x00", "\u2028\u2029", "\x7f\x1f\t", "é€😀", 2**70]),
              st.datetimes(timezones=st.sampled_from([dt.UTC, None])), st.binary(max_size=4)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(value=json_values)
def test_raw_record_json_is_the_standard_modules_text(value):
    # the stored text of venue_metadata on SQLite must not depend on which encoder wrote it
    import json

    from exec_pipeline.lib.sqltypes import _json_default, json_dumps

    expected = json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))
    assert json_dumps(value) == expected


def _nul_visible(value):
    """``value`` with every NUL in its strings (keys too) written as the text \\x00."""
    if isinstance(value, str):
        return value.replace("\x00", "\\x00")
    if isinstance(value, list):
        return [_nul_visible(item) for item in value]
    if isinstance(value, dict):
        return {_nul_visible(key): _nul_visible(item) for key, item in value.items()}
    return value


@settings(max_examples=500, deadline=None)
@given(value=json_values | st.lists(st.text(alphabet="\\u0\x00x", max_size=12), max_size=3))
def test_postgresql_raw_record_json_differs_only_by_visible_nuls(value):
    # found in review: the text \u0000 after an escaped backslash (C:\\u0000) was rewritten too,
    # leaving invalid JSON that failed the whole partition's COPY
    import json

    from exec_pipeline.lib.sqltypes import json_dumps

    assert json.loads(bulkload._postgres_json(value)) == _nul_visible(json.loads(json_dumps(value)))


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_a_raw_record_nested_too_deeply_fails_naming_the_record_not_with_a_recursion_error(dialect):
    # found in review: a broker record nested ~1,000 deep reads, then cannot be written out
    nested: list = []
    for _ in range(20_000):
        nested = [nested]
    record = TYPICAL["TradesTS"]._replace(venue_metadata={"info": nested})
    expected = r"a\.log, record 2: TradesTS\.venue_metadata is nested too deeply"
    with pytest.raises(bulkload.FactValidationError, match=expected):
        encoders(dialect)["TradesTS"].encode(record, REF)
