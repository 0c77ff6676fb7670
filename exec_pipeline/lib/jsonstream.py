"""A JSON document read from text chunks one top-level element at a time, in bounded memory.

``json.loads`` builds the whole document: a broker's JSON extract of a million fills becomes
gigabytes of dicts. :class:`JsonDocument` walks the top level itself (the brackets, commas and
colons between elements) and hands each element to the standard library's decoder
(``JSONDecoder.raw_decode``), so an element is decoded exactly as ``json.loads`` would decode it
(``parse_float``, ``NaN``, repeated keys inside it) while memory holds one chunk and one element.

ijson was measured as the alternative and left out: its C backend refuses the ``NaN`` / ``Infinity``
tokens that Python's ``json.dumps`` writes for float NaN and infinity and that ``json.loads``
accepts, so a file read whole today would become unreadable.

Errors are :class:`JsonStreamError`, a ``ValueError`` whose text reads like ``json``'s own:
``Expecting ',' delimiter: line 3 column 5 (char 40)``, positions counted from the document's start.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

#: JSON's whitespace (RFC 8259), as the standard decoder skips it.
_WHITESPACE = re.compile(r"[ \t\n\r]*")
#: Decoder errors that a chunk boundary can cause: at most this many characters before the end of
#: the text read so far ("-Infinity" is the longest token a cut can leave incomplete)...
_TRUNCATION_REACH = 16
#: ...or an unterminated string, wherever it starts.
_UNTERMINATED = "Unterminated string"
#: Characters that may continue a number, up to the end of the text read so far.
_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*\Z")


class JsonStreamError(ValueError):
    """The text is not JSON (or not of the expected shape); the message gives line, column and char."""


def utf8_chunks(blocks: Iterable[bytes]) -> Iterator[str]:
    """The text of UTF-8 ``blocks`` (a byte-order mark dropped), decoded as they come; raises
    :class:`NotUtf8` naming the first bad byte's position in the whole text."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    first = True
    for block in blocks:
        try:
            text = decoder.decode(block)
        except UnicodeDecodeError as exc:  # exc.object: the bytes held from the last block, then this one
            raise NotUtf8.at(exc, offset + len(block) - len(exc.object)) from None
        offset += len(block)
        if first and text:
            first = False
            if text[0] == "\ufeff":
                text = text[1:]
        if text:
            yield text
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:  # the text ends inside a multi-byte character
        raise NotUtf8.at(exc, offset - len(exc.object)) from None
    if tail:
        yield tail


class NotUtf8(ValueError):
    """Bytes that are not UTF-8; the message gives the first bad byte and its position."""

    @classmethod
    def at(cls, exc: UnicodeDecodeError, offset: int) -> NotUtf8:
        """The error of ``exc``, whose ``object`` starts at byte ``offset`` of the text."""
        byte = exc.object[exc.start]
        return cls(f"byte 0x{byte:02x} at position {offset + exc.start}: {exc.reason}")


class JsonDocument:
    """The top level of one JSON document, read from ``chunks`` of its text.

    Use :meth:`peek` to learn what the document is, then :meth:`elements` (a list) or
    :meth:`members` (an object), :meth:`value` for any other value, and :meth:`end` to check nothing
    follows. ``decoder`` decodes each element. :attr:`surrogate_escapes_seen` tells whether the text
    read so far held an escape ``\\ud...`` of the UTF-16 surrogate range: a decoded string may then
    hold a lone surrogate, which cannot be encoded as UTF-8 (callers may check elements from then on).
    :meth:`last_value_text` gives the text of the value read last, as written (e.g. for a reject).
    """

    def __init__(self, chunks: Iterable[str], decoder: json.JSONDecoder | None = None) -> None:
        self._chunks = iter(chunks)
        self._decode = (decoder or json.JSONDecoder()).raw_decode
        self._text = ""
        self._pos = 0  # the next unread character of _text
        self._eof = False
        self._offset = 0  # characters dropped before _text[0]
        self._lines = 0  # newlines dropped
        self._last_newline = -1  # absolute position of the last newline dropped
        self.surrogate_escapes_seen = False
        #: where the value read last starts and ends in _text (None once that text was dropped)
        self._value_span: tuple[int, int] | None = None

    # --- reading --------------------------------------------------------------------------------

    def _fill(self, at_least: int = 1) -> bool:
        """Drop the part already read (the next unread character moves to position 0), then append
        chunks until ``at_least`` more characters are unread. False when the text had ended."""
        consumed = self._text[: self._pos]
        if consumed:
            self._value_span = None  # its text may be dropped now
            newlines = consumed.count("\n")
            if newlines:
                self._lines += newlines
                self._last_newline = self._offset + consumed.rfind("\n")
            self._offset += self._pos
            self._text = self._text[self._pos :]
            self._pos = 0
        if self._eof:
            return False
        parts = [self._text]
        unread = len(self._text)
        target = unread + at_least
        while unread < target:
            chunk = next(self._chunks, None)
            if chunk is None:
                self._eof = True
                break
            parts.append(chunk)
            unread += len(chunk)
        if len(parts) == 1:
            return False
        self._text = "".join(parts)
        if not self.surrogate_escapes_seen:  # the unread part too: an escape cut by a chunk boundary
            self.surrogate_escapes_seen = "\\ud" in self._text or "\\uD" in self._text
        return True

    def _skip_whitespace(self) -> str:
        """The next character that is not whitespace, "" at the end of the text."""
        while True:
            self._pos = _WHITESPACE.match(self._text, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._text):
                return self._text[self._pos]
            if not self._fill():
                return ""

    def error(self, message: str, pos: int | None = None) -> JsonStreamError:
        """An error at ``pos`` of the current text (default: the next unread character)."""
        pos = self._pos if pos is None else pos
        absolute = self._offset + pos
        newlines = self._text.count("\n", 0, pos)
        if newlines:
            line = self._lines + newlines + 1
            column = pos - self._text.rfind("\n", 0, pos)
        else:
            line = self._lines + 1
            column = absolute - self._last_newline
        return JsonStreamError(f"{message}: line {line} column {column} (char {absolute})")

    def value(self, decoder: json.JSONDecoder | None = None) -> Any:
        """Decode the value starting at the next non-whitespace character (with ``decoder``, else the
        document's)."""
        decode = self._decode if decoder is None else decoder.raw_decode
        if not self._skip_whitespace():
            raise self.error("Expecting value")
        while True:
            try:
                value, end = decode(self._text, self._pos)
            except json.JSONDecodeError as exc:
                pos = exc.pos
                if pos >= len(self._text) - _TRUNCATION_REACH or exc.msg.startswith(_UNTERMINATED):
                    start = self._pos
                    if self._fill(max(len(self._text) - start, 1 << 16)):
                        continue  # cut by a chunk boundary: decode again with more text
                    pos -= start  # _fill moved the value's start to 0
                raise self.error(exc.msg, pos) from None
            except RecursionError:
                raise self.error("Nested too deeply") from None
            except ValueError as exc:  # a number the decoder refused, e.g. an integer over 4300 digits
                raise self.error(str(exc)) from None
            # a number cut by a chunk boundary decodes as a shorter one ("0." + "5" as 0): a value not
            # closed by a bracket or quote is complete unless only number characters follow it to the
            # end of the text read so far
            if self._text[end - 1] in '}]"' or not _NUMBER_TAIL.match(self._text, end):
                self._value_span = (self._pos, end)
                self._pos = end
                return value
            start = self._pos
            if not self._fill(max(len(self._text) - start, 1 << 16)):  # doubling: a long number stays linear
                self._pos = end - start  # _fill moved the value's start to 0
                self._value_span = (0, self._pos)
                return value

    def last_value_text(self) -> str | None:
        """The text of the value decoded last (an element of :meth:`elements` while the caller holds
        it), exactly as the document writes it; ``None`` once reading went on past it."""
        span = self._value_span
        return None if span is None else self._text[span[0] : span[1]]

    def _open(self, opening: str, closing: str) -> bool:
        """Read the ``opening`` bracket; True when the container is empty (its closing one read too)."""
        if self._skip_whitespace() != opening:
            raise self.error(f"Expecting '{opening}'")
        self._pos += 1
        if self._skip_whitespace() == closing:
            self._pos += 1
            return True
        return False

    def _next_item(self, closing: str) -> bool:
        """Read the separator after an item: True at the container's ``closing`` bracket, False at a comma."""
        separator = self._skip_whitespace()
        if separator == closing or separator == ",":
            self._pos += 1
            return separator == closing
        raise self.error("Expecting ',' delimiter")

    def elements(self, decoder: json.JSONDecoder | None = None) -> Iterator[Any]:
        """The elements of the list starting at the next character, decoded one at a time."""
        if self._open("[", "]"):
            return
        while True:
            yield self.value(decoder)
            if self._next_item("]"):
                return

    def members(self) -> Iterator[str]:
        """The keys of the object starting at the next character, in document order. After each key,
        the caller reads its value (:meth:`value`, :meth:`elements` to the end, or :meth:`skip`)."""
        if self._open("{", "}"):
            return
        while True:
            if self._skip_whitespace() != '"':
                raise self.error("Expecting property name enclosed in double quotes")
            key = self.value()
            if self._skip_whitespace() != ":":
                raise self.error("Expecting ':' delimiter")
            self._pos += 1
            yield key
            if self._next_item("}"):
                return

    def peek(self) -> str:
        """The next non-whitespace character ("" at the end), without reading it."""
        return self._skip_whitespace()

    def skip(self, decoder: json.JSONDecoder | None = None) -> None:
        """Read past the next value: a list element by element (memory holds one), else whole."""
        if self._skip_whitespace() == "[":
            for _ in self.elements(decoder):
                pass
        else:
            self.value(decoder)

    def end(self) -> None:
        """Check that only whitespace follows."""
        if self._skip_whitespace():
            raise self.error("Extra data")
