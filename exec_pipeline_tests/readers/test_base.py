"""The identifier rule every reader shares, against the standard library's uuid5."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from exec_pipeline.readers.base import (
    IDENTIFIER_NAMESPACE,
    MISSING,
    MISSING_ID,
    ReaderContext,
    is_missing,
    make_identifier,
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
