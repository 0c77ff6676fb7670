"""The landing-zone scan behind the sensor: cursor progress, settle window, cap, re-deliveries."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path


from exec_pipeline.lib.landing import LandingZone
from exec_pipeline.lib.landing_scan import ScanCursor, scan_landing

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
OLD = NOW.timestamp() - 3600


def deliver(root: Path, source: str, day: str, name: str, content: bytes, *, mtime: float = OLD) -> Path:
    folder = root / source / day
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    os.utime(path, (mtime, mtime))
    os.utime(folder, (mtime, mtime))
    return path


def scan(root: Path, cursor: ScanCursor, **options):
    options = {"now": NOW, "settle_seconds": 30, "max_partitions": 25, "lookback_days": 0, **options}
    return scan_landing(LandingZone(str(root)), ["fixgw", "ibkr"], cursor, **options)


def keys(result) -> list[str]:
    return [f"{d.source}/{d.business_date}" for d in result.ready]


def test_first_tick_delivers_every_settled_partition_then_nothing(tmp_path):
    deliver(tmp_path, "fixgw", "2026-11-17", "a.log", b"one")
    deliver(tmp_path, "ibkr", "2026-11-17", "s.xml", b"two")
    first = scan(tmp_path, ScanCursor())
    assert keys(first) == ["fixgw/2026-11-17", "ibkr/2026-11-17"]
    assert list(first.ready[0].sha256_by_uri.values()) == [hashlib.sha256(b"one").hexdigest()]
    again = scan(tmp_path, ScanCursor.from_json(first.cursor.to_json()))
    assert again.ready == [] and again.folders_listed == 0


def test_only_changed_folders_are_listed(tmp_path):
    for day in range(1, 21):
        deliver(tmp_path, "fixgw", f"2026-10-{day:02d}", "a.log", b"x", mtime=OLD - 10_000 + day)
    cursor = scan(tmp_path, ScanCursor()).cursor
    deliver(tmp_path, "fixgw", "2026-10-05", "late.log", b"late fill", mtime=OLD + 5)
    result = scan(tmp_path, cursor)
    assert keys(result) == ["fixgw/2026-10-05"]
    assert result.folders_listed == 1
    assert {Path(u).name for u in result.ready[0].sha256_by_uri} == {"a.log", "late.log"}


def test_files_still_being_written_wait_and_hold_the_mark(tmp_path):
    deliver(tmp_path, "fixgw", "2026-11-17", "a.log", b"done", mtime=OLD)
    writing = deliver(tmp_path, "fixgw", "2026-11-18", "b.log", b"half", mtime=NOW.timestamp() - 5)
    deliver(tmp_path, "fixgw", "2026-11-18", "ignored.part", b"temp", mtime=OLD)
    first = scan(tmp_path, ScanCursor())
    assert keys(first) == ["fixgw/2026-11-17"]
    assert first.waiting == [("fixgw", dt.date(2026, 11, 18))]
    # once it settles, the next tick delivers it without the .part file
    os.utime(writing, (OLD + 10, OLD + 10))
    os.utime(writing.parent, (OLD + 10, OLD + 10))
    second = scan(tmp_path, first.cursor)
    assert keys(second) == ["fixgw/2026-11-18"]
    assert [Path(u).name for u in second.ready[0].sha256_by_uri] == ["b.log"]


def test_the_cap_defers_partitions_without_losing_them(tmp_path):
    for day in range(1, 8):
        deliver(tmp_path, "fixgw", f"2026-11-{day:02d}", "a.log", f"{day}".encode(), mtime=OLD + day)
    seen: list[str] = []
    cursor = ScanCursor()
    for _ in range(4):
        result = scan(tmp_path, cursor, max_partitions=3)
        seen += keys(result)
        cursor = result.cursor
    assert seen == [f"fixgw/2026-11-{day:02d}" for day in range(1, 8)]


def test_a_file_rewritten_in_place_is_caught_inside_the_lookback_window(tmp_path):
    path = deliver(tmp_path, "fixgw", "2026-11-19", "a.log", b"v1")
    cursor = scan(tmp_path, ScanCursor(), lookback_days=3).cursor
    folder_mtime = path.parent.stat().st_mtime
    path.write_bytes(b"v2 longer")
    os.utime(path, (OLD + 60, OLD + 60))
    os.utime(path.parent, (folder_mtime, folder_mtime))  # in-place rewrite: the folder does not change
    result = scan(tmp_path, cursor, lookback_days=3)
    assert keys(result) == ["fixgw/2026-11-19"]
    assert scan(tmp_path, result.cursor, lookback_days=3).ready == []


def test_names_that_are_not_partitions_or_extracts_are_ignored(tmp_path):
    deliver(tmp_path, "fixgw", "2026-11-17", ".hidden", b"x")
    deliver(tmp_path, "fixgw", "not-a-date", "a.log", b"x")
    deliver(tmp_path, "Bad-Source", "2026-11-17", "a.log", b"x")
    (tmp_path / "fixgw" / "2026-11-17" / "sub").mkdir()
    result = scan(tmp_path, ScanCursor())
    assert result.ready == []


def test_a_folder_moved_in_with_an_old_mtime_is_delivered_once(tmp_path):
    # found in review: a missed day prepared in a staging area, then `mv`-ed into place, keeps the
    # mtime it had there, behind the mark of a delivery in between: it was never delivered
    staging = tmp_path / "staging"
    landing = tmp_path / "landing"
    deliver(staging, "fixgw", "2026-11-03", "a.log", b"missed day", mtime=OLD - 7200)
    deliver(landing, "fixgw", "2026-11-19", "a.log", b"yesterday", mtime=OLD)
    first = scan(landing, ScanCursor())
    assert keys(first) == ["fixgw/2026-11-19"]

    (staging / "fixgw" / "2026-11-03").rename(landing / "fixgw" / "2026-11-03")
    moved = scan(landing, ScanCursor.from_json(first.cursor.to_json()))
    assert keys(moved) == ["fixgw/2026-11-03"]
    again = scan(landing, ScanCursor.from_json(moved.cursor.to_json()))
    assert again.ready == [] and again.folders_listed == 0


def test_the_history_of_a_source_added_later_is_delivered(tmp_path):
    deliver(tmp_path, "fixgw", "2026-11-19", "a.log", b"fix", mtime=OLD)
    deliver(tmp_path, "ibkr", "2026-11-02", "s.xml", b"older history", mtime=OLD - 9000)
    only_fix = scan_landing(LandingZone(str(tmp_path)), ["fixgw"], ScanCursor(), now=NOW, lookback_days=0)
    with_ibkr = scan(tmp_path, ScanCursor.from_json(only_fix.cursor.to_json()))
    assert keys(with_ibkr) == ["ibkr/2026-11-02"]


def test_a_version_1_cursor_takes_the_folders_present_as_seen(tmp_path):
    deliver(tmp_path, "fixgw", "2026-11-18", "a.log", b"old", mtime=OLD - 100)
    deliver(tmp_path, "fixgw", "2026-11-19", "a.log", b"new", mtime=OLD)
    mark = [int(OLD * 1e9), "fixgw/2026-11-19"]
    upgraded = scan(tmp_path, ScanCursor.from_json(f'{{"v": 1, "mark": {mark}, "recent": {{}}}}'.replace("'", '"')))
    assert upgraded.ready == [] and upgraded.cursor.known == {"fixgw/2026-11-18", "fixgw/2026-11-19"}


def test_the_cursor_keeps_years_of_folders_in_a_few_date_ranges():
    # found in review: one name per folder made a 2 MB cursor at 10 years x 20 sources, stored with
    # every tick
    start = dt.date(2016, 1, 1)
    known = {f"src{s}/{start + dt.timedelta(days=d)}" for s in range(20) for d in range(3653) if d != 100}
    cursor = ScanCursor(mark=(1, "src0/2026-01-01"), known=known)
    text = cursor.to_json()
    assert len(text) < 5_000
    assert ScanCursor.from_json(text).known == known
