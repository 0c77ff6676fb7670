"""``lib.jsonstream``: a JSON document read element by element, cut anywhere, decodes as ``json.loads``."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exec_pipeline.lib.jsonstream import JsonDocument, JsonStreamError, NotUtf8, utf8_chunks

_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)


def cut(data: bytes, sizes: list[int]) -> list[bytes]:
    """``data`` in blocks of the given sizes (cycled; a size 0 gives an empty block)."""
    if not any(sizes):
        sizes = [*sizes, 1]
    blocks, at, i = [], 0, 0
    while at < len(data):
        size = sizes[i % len(sizes)]
        blocks.append(data[at : at + size])
        at += size
        i += 1
    return blocks


def elements(blocks: list[bytes], decoder: json.JSONDecoder | None = None) -> list[Any]:
    document = JsonDocument(utf8_chunks(blocks), decoder)
    values = list(document.elements())
    document.end()
    return values


def outcome(run: Any) -> Any:
    try:
        return ("ok", run())
    except (JsonStreamError, json.JSONDecodeError, NotUtf8, UnicodeDecodeError, RecursionError):
        return ("error",)


@settings(max_examples=300, deadline=None)
@given(st.lists(_VALUES, max_size=6), st.lists(st.integers(0, 9), min_size=1, max_size=5),
       st.sampled_from(["", " ", "\n  ", "\t"]))  # fmt: skip
def test_elements_cut_anywhere_decode_as_json_loads(values: list[Any], sizes: list[int], space: str) -> None:
    text = json.dumps(values, indent=2 if space == "\n  " else None, ensure_ascii=False)
    data = (space + text + space).encode("utf-8", "surrogatepass")
    assume_utf8 = outcome(lambda: data.decode("utf-8"))
    if assume_utf8[0] == "error":  # a lone surrogate from st.text(): not UTF-8, both refuse it
        with pytest.raises(NotUtf8):
            elements(cut(data, sizes))
        return
    expected = json.loads(data.decode("utf-8"), parse_float=Decimal)
    assert elements(cut(data, sizes), json.JSONDecoder(parse_float=Decimal)) == expected


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=40) | st.text(alphabet='[]{},:"0123456789.eE-+ truefalsnNI\\u\n', max_size=40).map(str.encode),
       st.lists(st.integers(0, 5), min_size=1, max_size=4))  # fmt: skip
def test_text_is_valid_exactly_when_json_loads_accepts_it(data: bytes, sizes: list[int]) -> None:
    whole = outcome(lambda: json.loads(data.decode("utf-8-sig")))
    if whole[0] == "ok" and not isinstance(whole[1], list):
        return  # not a list: elements() refuses what json.loads takes (tested below)
    assert outcome(lambda: elements(cut(data, sizes))) == whole


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[1, 2,\n  3 4]', "Expecting ',' delimiter: line 2 column 5 (char 11)"),
        ('[{"a": 1}, {"a" 2}]', "Expecting ':' delimiter: line 1 column 17 (char 16)"),
        ('[\n\n"abc', "Unterminated string starting at: line 3 column 1 (char 3)"),
        ("[1] x", "Extra data: line 1 column 5 (char 4)"),
        ("", "Expecting '[': line 1 column 1 (char 0)"),
    ],
)
@pytest.mark.parametrize("size", [1, 3, 1000])
def test_errors_name_the_position_in_the_whole_text(text: str, message: str, size: int) -> None:
    with pytest.raises(JsonStreamError) as info:
        elements(cut(text.encode(), [size]))
    assert str(info.value) == message


def test_a_bad_byte_is_named_with_its_position_in_the_whole_text() -> None:
    data = b'["caf\xc3\xa9", "' + b"x" * 100 + b'\xff"]'
    with pytest.raises(NotUtf8, match="byte 0xff at position 111"):
        elements(cut(data, [7]))
    with pytest.raises(NotUtf8, match="byte 0xc3 at position 3"):  # the text ends inside a character
        list(utf8_chunks([b"abc", b"\xc3"]))


def test_memory_holds_a_chunk_and_an_element_not_the_document() -> None:
    consumed = []

    def blocks() -> Any:
        for i in range(10_000):
            block = (b"[" if i == 0 else b",") + json.dumps({"n": i, "pad": "x" * 90}).encode()
            consumed.append(len(block))
            yield block
        yield b"]"

    document = JsonDocument(utf8_chunks(blocks()))
    for i, element in enumerate(document.elements()):
        assert element["n"] == i
        if i == 5000:  # half way: far less than the document was read, and held
            assert len(consumed) < 5100
            assert len(document._text) < 1 << 17  # noqa: SLF001 - what the document holds
    assert len(consumed) == 10_000


def test_members_walk_an_object_and_skip_reads_past_a_value() -> None:
    text = '{"a": [1, 2], "b": {"c": [3]}, "d": "x"}'
    document = JsonDocument(utf8_chunks(cut(text.encode(), [2])))
    seen = {}
    for key in document.members():
        if key == "a":
            seen[key] = list(document.elements())
        elif key == "b":
            document.skip()
        else:
            seen[key] = document.value()
    document.end()
    assert seen == {"a": [1, 2], "d": "x"}


def test_surrogate_escapes_are_noticed_across_a_chunk_boundary() -> None:
    document = JsonDocument(utf8_chunks([b'["ab', b"\\u", b'd800"]']))
    assert document.elements().__next__() == "ab\ud800"
    assert document.surrogate_escapes_seen
    plain = JsonDocument(utf8_chunks([b'["ab\\u00e9"]']))
    assert list(plain.elements()) == ["ab\u00e9"] and not plain.surrogate_escapes_seen


def test_a_number_followed_by_junk_fails_at_once_not_after_buffering_the_rest() -> None:
    # found in review: "1." then spaces was taken for a number cut by a chunk boundary, block
    # after block, holding the rest of the file (6.4 MB here); now it reads ahead 64 KB at most
    handed: list[int] = []

    def blocks() -> Any:
        yield b"[1."
        for i in range(100_000):
            handed.append(i)
            yield b" " * 64
        yield b"]"

    with pytest.raises(JsonStreamError, match="Expecting ',' delimiter: line 1 column 3"):
        elements(blocks())
    assert len(handed) * 64 <= (1 << 16) + 64


def test_a_long_number_across_many_chunks_decodes_whole() -> None:
    digits = "7" * 50_000
    assert elements(cut(f"[{digits}.5, 1]".encode(), [100]), json.JSONDecoder(parse_float=Decimal)) == [
        Decimal(f"{digits}.5"), 1
    ]
