"""Finding what changed in the landing zone since the last look, cheaply.

A tick must cost time proportional to what changed, not to the whole history, so the cursor is a
high-water mark over the partition folders' modification times: adding, removing or renaming a
file in ``<source>/<date>/`` bumps that folder's mtime, so only folders past the mark are listed.
Folders of the last ``lookback_days`` business dates are also compared file by file (names,
sizes, mtimes, kept in the cursor) to catch files rewritten in place, and filesystems without
folder times (object stores) rely on that window alone. The cursor also keeps the names of the
folders it has seen: a folder that appears with an mtime behind the mark (moved in from a staging
area by ``mv``/``rsync -a``, or the history of a source just added to the catalogue) is new too.

A partition is delivered only once it has settled: its folder and every file in it unchanged
for ``settle_seconds``. The mark never passes a partition that is still being written or that
the per-tick cap left for later, so nothing is skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from exec_pipeline.lib.landing import ExtractFile, LandingZone

CURSOR_VERSION = 2


@dataclass
class ScanCursor:
    #: (folder mtime in ns, "source/date") of the last folder delivered in mark order
    mark: tuple[int, str] | None = None
    #: "source/date" -> signature of its files, for the folders inside the lookback window
    recent: dict[str, str] = field(default_factory=dict)
    #: "source/date" of every folder seen (listed, or behind the mark); None: a version-1 cursor,
    #: whose first scan takes the folders present as seen (as version 1 did)
    known: set[str] | None = field(default_factory=set)

    def to_json(self) -> str:
        known = None if self.known is None else _date_ranges(self.known)
        return json.dumps({"v": CURSOR_VERSION, "mark": self.mark, "recent": self.recent, "known": known}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> ScanCursor:
        if not text:
            return cls()
        data = json.loads(text)
        if data.get("v") not in (1, CURSOR_VERSION):
            return cls()  # an unknown cursor shape: rescan; run keys keep re-requests harmless
        mark = data.get("mark")
        known = data.get("known")
        return cls(
            mark=(int(mark[0]), str(mark[1])) if mark else None,
            recent=dict(data.get("recent") or {}),
            known=None if known is None else _folders(known),
        )


def _date_ranges(folders: set[str]) -> dict[str, list[list[str]]]:
    """``{"source/date", ...}`` as runs of consecutive dates per source (a daily landing zone is a
    few runs however many years it holds: the cursor is stored with every sensor tick)."""
    dates: dict[str, list[dt.date]] = {}
    for folder in folders:
        source, _, day = folder.partition("/")
        dates.setdefault(source, []).append(dt.date.fromisoformat(day))
    ranges: dict[str, list[list[str]]] = {}
    for source, days in dates.items():
        runs: list[list[dt.date]] = []
        for day in sorted(days):
            if runs and day - runs[-1][1] == dt.timedelta(days=1):
                runs[-1][1] = day
            else:
                runs.append([day, day])
        ranges[source] = [[first.isoformat(), last.isoformat()] for first, last in runs]
    return ranges


def _folders(ranges: dict[str, list[list[str]]]) -> set[str]:
    folders = set()
    for source, runs in ranges.items():
        for first, last in runs:
            day, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
            while day <= end:
                folders.add(f"{source}/{day.isoformat()}")
                day += dt.timedelta(days=1)
    return folders


@dataclass
class PartitionDelivery:
    """A settled partition folder whose files changed, with their content hashes."""

    source: str
    business_date: dt.date
    files: list[ExtractFile]
    sha256_by_uri: dict[str, str]

    @property
    def content_digest(self) -> str:
        digest = hashlib.sha256()
        for uri in sorted(self.sha256_by_uri):
            digest.update(f"{uri}\0{self.sha256_by_uri[uri]}\n".encode())
        return digest.hexdigest()[:32]


@dataclass
class ScanResult:
    ready: list[PartitionDelivery]
    waiting: list[tuple[str, dt.date]]  # still being written
    deferred: int  # left for a later tick by the cap
    folders_listed: int
    cursor: ScanCursor


def _signature(files: list[ExtractFile]) -> str:
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.name}\0{f.size}\0{f.mtime}\n".encode())
    return digest.hexdigest()[:24]


def scan_landing(
    zone: LandingZone,
    sources: list[str],
    cursor: ScanCursor,
    *,
    now: dt.datetime,
    settle_seconds: float = 30.0,
    max_partitions: int = 25,
    lookback_days: int = 3,
) -> ScanResult:
    settled_before = now.timestamp() - settle_seconds
    first_recent_day = now.date() - dt.timedelta(days=lookback_days)
    candidates: list[tuple[int, str, str, dt.date, bool]] = []
    # folders seen before, or behind the mark of a version-1 cursor (which kept no names)
    known: set[str] = set()
    unseen: set[str] = set()
    for source in sources:
        for business_date, folder_mtime in zone.partition_dirs(source):
            key = f"{source}/{business_date.isoformat()}"
            mtime_ns = int(folder_mtime * 1e9) if folder_mtime is not None else 0
            recent = business_date >= first_recent_day
            past_mark = cursor.mark is None or (mtime_ns, key) > cursor.mark
            if cursor.known is None or key in cursor.known:
                known.add(key)
            elif not past_mark:
                unseen.add(key)  # appeared with an old mtime: new all the same
            if past_mark or recent or key in unseen:
                folder_settled = folder_mtime is None or folder_mtime <= settled_before
                candidates.append((mtime_ns, key, source, business_date, folder_settled))
    candidates.sort()

    ready: list[PartitionDelivery] = []
    waiting: list[tuple[str, dt.date]] = []
    recent: dict[str, str] = {}
    mark = cursor.mark
    mark_may_advance = True
    deferred = 0
    listed = 0
    for mtime_ns, key, source, business_date, folder_settled in candidates:
        if len(ready) >= max_partitions:
            deferred += 1
            mark_may_advance = False
            if business_date >= first_recent_day and key in cursor.recent:
                recent[key] = cursor.recent[key]  # not looked at: keep what we knew
            continue
        files = zone.extracts(source, business_date)
        listed += 1
        signature = _signature(files)
        files_settled = all(f.mtime is None or f.mtime <= settled_before for f in files)
        past_mark = cursor.mark is None or (mtime_ns, key) > cursor.mark
        # a folder behind the mark is here for its file signatures only: its own mtime is old news
        if not files_settled or (past_mark and not folder_settled):
            waiting.append((source, business_date))
            mark_may_advance = mark_may_advance and not past_mark
            continue
        known.add(key)
        if business_date >= first_recent_day:
            recent[key] = signature
        changed = past_mark or key in unseen or cursor.recent.get(key) != signature
        if changed and files:
            ready.append(
                PartitionDelivery(
                    source=source,
                    business_date=business_date,
                    files=files,
                    sha256_by_uri={f.uri: zone.sha256(f) for f in files},
                )
            )
        if past_mark and mark_may_advance:
            mark = (mtime_ns, key)
    return ScanResult(
        ready=ready, waiting=waiting, deferred=deferred, folders_listed=listed,
        cursor=ScanCursor(mark=mark, recent=recent, known=known),
    )  # fmt: skip
