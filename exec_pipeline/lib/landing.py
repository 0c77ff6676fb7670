"""The landing zone: broker extracts under ``<root>/<source>/<YYYY-MM-DD>/<file>`` on any fsspec
filesystem (a local folder by default).

Names found in the landing zone are untrusted: only folders whose names are valid source names and
ISO dates are partitions, only plain file names (no path separators, no leading dot, no ``..``) are
extracts, and symbolic links are refused (they could point outside the root), so nothing outside
the root is ever read. Refused entries are listed in ``LandingZone.refused`` for the caller to report. Hidden files and names ending in ``.tmp``,
``.part`` or ``.partial`` are files still being written and are ignored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fsspec

SOURCE_NAME = re.compile(r"^[a-z0-9_]+$")
DATE_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")
IN_PROGRESS_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")

#: Folder for order-manager intent files; the hyphen makes it an invalid source name, so it never clashes with one.
INTENTS_FOLDER = "order-managers"

#: Refuse extracts larger than this (a runaway or hostile file must fail cleanly, not exhaust memory).
DEFAULT_MAX_EXTRACT_BYTES = 4 * 1024**3

#: Block size of streamed extract reads: large enough that per-block overhead vanishes, small next
#: to a broker day (hundreds of MB).
READ_CHUNK_BYTES = 4 * 1024 * 1024


class LandingZoneError(RuntimeError):
    """The landing zone cannot be read (unreachable, permission, ...)."""


class ExtractTooLarge(ValueError):
    """The extract is over the landing zone's size limit; the message names the file."""

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(f"{uri}: {reason}")
        self.uri = uri


@dataclass(frozen=True)
class ExtractFile:
    """One extract file as listed: enough to decide whether it changed without reading it."""

    source: str
    business_date: dt.date
    name: str
    uri: str
    size: int
    mtime: float | None  # seconds since the epoch; None where the filesystem has no times

    @property
    def partition(self) -> tuple[str, dt.date]:
        return self.source, self.business_date


def is_extract_name(name: str) -> bool:
    return (
        bool(name)
        and "/" not in name
        and "\\" not in name
        and not name.startswith(".")
        and name not in ("..", ".")
        and not name.endswith(IN_PROGRESS_SUFFIXES)
    )


def parse_business_date(name: str) -> dt.date | None:
    if not DATE_NAME.match(name):
        return None
    try:
        return dt.date.fromisoformat(name)
    except ValueError:
        return None


def _mtime(info: dict[str, Any]) -> float | None:
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, dt.datetime):
            return value.timestamp()
        try:
            return float(value)
        except (TypeError, ValueError):
            try:
                return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


class LandingZone:
    """Read access to a landing root given as a local path or an fsspec URL."""

    def __init__(self, url: str, *, max_extract_bytes: int = DEFAULT_MAX_EXTRACT_BYTES) -> None:
        self.url = url
        self.fs, root = fsspec.core.url_to_fs(url)
        self.root = root.rstrip("/") or "/"
        self.max_extract_bytes = max_extract_bytes
        #: URIs of entries refused while listing (symbolic links)
        self.refused: list[str] = []

    def _join(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def uri(self, path: str) -> str:
        """The stable URI recorded in the ledger for a path of this filesystem."""
        return self.fs.unstrip_protocol(path)

    def _list(self, path: str) -> list[dict[str, Any]]:
        try:
            entries = self.fs.ls(path, detail=True)
        except FileNotFoundError:
            return []
        except Exception as exc:  # noqa: BLE001 - any backend failure is "unreachable" to callers
            raise LandingZoneError(f"cannot list {self.uri(path)}: {exc.__class__.__name__}: {exc}") from exc
        kept = []
        for info in entries:
            if info.get("islink"):
                self.refused.append(self.uri(info["name"]))
            else:
                kept.append(info)
        return kept

    def sources(self) -> list[str]:
        """Source folders present under the root."""
        found = []
        for info in self._list(self.root):
            name = posixpath.basename(info["name"].rstrip("/"))
            if info.get("type") == "directory" and SOURCE_NAME.match(name):
                found.append(name)
        return sorted(found)

    def partition_dirs(self, source: str) -> list[tuple[dt.date, float | None]]:
        """(business date, folder mtime) of each date folder of ``source``."""
        if not SOURCE_NAME.match(source):
            raise ValueError(f"{source!r} is not a source name")
        dirs = []
        for info in self._list(self._join(source)):
            if info.get("type") != "directory":
                continue
            day = parse_business_date(posixpath.basename(info["name"].rstrip("/")))
            if day is not None:
                dirs.append((day, _mtime(info)))
        return sorted(dirs)

    def extracts(self, source: str, business_date: dt.date) -> list[ExtractFile]:
        """The extract files of one partition, sorted by name."""
        if not SOURCE_NAME.match(source):
            raise ValueError(f"{source!r} is not a source name")
        folder = self._join(source, business_date.isoformat())
        files = []
        for info in self._list(folder):
            name = posixpath.basename(info["name"])
            if info.get("type") != "file" or not is_extract_name(name):
                continue
            files.append(
                ExtractFile(
                    source=source,
                    business_date=business_date,
                    name=name,
                    uri=self.uri(self._join(source, business_date.isoformat(), name)),
                    size=int(info.get("size") or 0),
                    mtime=_mtime(info),
                )
            )
        return sorted(files, key=lambda f: f.name)

    def _path(self, extract: ExtractFile) -> str:
        return self._join(extract.source, extract.business_date.isoformat(), extract.name)

    def sha256(self, extract: ExtractFile, chunk: int = 8 * 1024 * 1024) -> str:
        """The extract's content hash, read in chunks (never the whole file in memory)."""
        digest = hashlib.sha256()
        with self.fs.open(self._path(extract), "rb") as handle:
            while block := handle.read(chunk):
                digest.update(block)
        return digest.hexdigest()

    def check_size(self, extract: ExtractFile) -> None:
        """Refuse an extract listed over the size limit (:class:`ExtractTooLarge`)."""
        if extract.size > self.max_extract_bytes:
            raise ExtractTooLarge(
                extract.uri, f"{extract.size} bytes is over the limit of {self.max_extract_bytes} bytes"
            )

    def read_chunks(self, extract: ExtractFile, chunk: int = READ_CHUNK_BYTES) -> Iterator[bytes]:
        """The extract's content (never modified) in blocks of ``chunk`` bytes, for readers that stream;
        refuses files over the size limit. The caller hashes the blocks to know the file did not change."""
        self.check_size(extract)
        total = 0
        with self.fs.open(self._path(extract), "rb") as handle:
            while block := handle.read(chunk):
                total += len(block)
                if total > self.max_extract_bytes:
                    raise ExtractTooLarge(
                        extract.uri, f"grew over the limit of {self.max_extract_bytes} bytes while read"
                    )
                yield block

    def read_bytes(self, extract: ExtractFile) -> bytes:
        """The extract's content (never modified); refuses files over the size limit."""
        self.check_size(extract)
        with self.fs.open(self._path(extract), "rb") as handle:
            data = handle.read(self.max_extract_bytes + 1)
        if len(data) > self.max_extract_bytes:
            raise ExtractTooLarge(extract.uri, f"grew over the limit of {self.max_extract_bytes} bytes while read")
        return data

    def intent_files(self) -> Iterator[tuple[str, bytes]]:
        """(URI, content) of each order-manager intent file under ``<root>/order-managers/``."""
        try:
            found = self.fs.find(self._join(INTENTS_FOLDER), detail=True)
        except FileNotFoundError:
            return
        for path, info in sorted(found.items()):
            name = posixpath.basename(path)
            if info.get("type") == "file" and is_extract_name(name):
                with self.fs.open(path, "rb") as handle:
                    yield self.uri(path), handle.read(self.max_extract_bytes)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
