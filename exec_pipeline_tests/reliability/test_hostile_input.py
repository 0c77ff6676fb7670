"""Hostile landing zones: oversized, compressed, entity-expanding, escaping or SQL-looking input."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os

import pytest
from sqlalchemy import text

from exec_pipeline.lib import settings
from exec_pipeline.lib.landing import ExtractTooLarge, LandingZone
from exec_pipeline.readers.base import ExtractUnreadable
from exec_pipeline.readers.catalogue import CatalogueError, load_catalogue
from exec_pipeline.services.ingestion import ingest_partition
from exec_pipeline_tests.dagster.conftest import order_rows, write_extract
from exec_pipeline_tests.helpers import fact_snapshot

CATALOGUE = load_catalogue(settings.SAMPLE_DATA_DIR / "sources.yaml")
DAY = dt.date(2026, 11, 17)


def ingest(engine, root, source="acme", **options):
    return ingest_partition(source, DAY, catalogue=CATALOGUE, landing=LandingZone(str(root), **options), engine=engine)


def test_a_multi_gigabyte_extract_fails_cleanly_without_being_read_into_memory(engine, landing_root):
    write_extract(landing_root, DAY.isoformat(), "fills.csv", order_rows(DAY.isoformat(), "PB-1"))
    ingest(engine, landing_root)
    before = fact_snapshot(engine)
    huge = landing_root / "acme" / DAY.isoformat() / "huge.csv"
    with huge.open("wb") as handle:
        handle.truncate(2 * 1024**3)  # sparse: 2 GiB on paper, nothing on disk (hashed in blocks)
    with pytest.raises(ExtractTooLarge, match="huge.csv: 2147483648 bytes is over the limit of 1073741824"):
        ingest(engine, landing_root, max_extract_bytes=1024**3)
    assert fact_snapshot(engine) == before
    # found in review: the ledger had no trace of the refused file; it is noted failed, with why
    with engine.connect() as connection:
        status, size, error = connection.execute(
            text("SELECT status, size_bytes, error FROM extract_files WHERE uri LIKE :uri"), {"uri": "%/huge.csv"}
        ).one()
    assert (status, size) == ("failed", 2 * 1024**3)
    assert "over the limit of 1073741824 bytes" in error


@pytest.mark.parametrize("source", ["fixgw", "ibkr", "binance", "acme"])
def test_every_reader_s_oversized_extract_is_refused_and_noted_not_taken_for_unreadable(engine, landing_root, source):
    # found in review: the Flex XML reader took the size refusal for an unreadable file, and then,
    # its stream cut short, the run said the file had changed and the ledger had no trace of it
    sample = next((settings.SAMPLE_DATA_DIR / "landing" / source / DAY.isoformat()).iterdir())
    folder = landing_root / source / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / sample.name).write_bytes(sample.read_bytes())
    limit = sample.stat().st_size - 1
    with pytest.raises(ExtractTooLarge, match=f"{sample.name}: {sample.stat().st_size} bytes is over the limit"):
        ingest(engine, landing_root, source=source, max_extract_bytes=limit)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT status FROM extract_files")).scalar_one() == "failed"
        assert connection.execute(text("SELECT COUNT(*) FROM trades_ts")).scalar_one() == 0


def test_a_compressed_bomb_is_not_inflated(engine, landing_root):
    folder = landing_root / "fixgw" / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / "session.log.gz").write_bytes(gzip.compress(b"8=FIX.4.4|" * 10_000_000))  # 100 MB inflated
    with pytest.raises(ExtractUnreadable, match="session.log.gz"):
        ingest(engine, landing_root, source="fixgw")


def test_xml_entity_expansion_is_refused(engine, landing_root):
    folder = landing_root / "ibkr" / DAY.isoformat()
    folder.mkdir(parents=True)
    laughs = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10}">' for i in range(1, 10))
    (folder / "statement.xml").write_text(
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY l0 "lol">{laughs}]>'
        "<FlexQueryResponse><FlexStatements><FlexStatement>&l9;</FlexStatement></FlexStatements></FlexQueryResponse>"
    )
    with pytest.raises(ExtractUnreadable, match="statement.xml"):
        ingest(engine, landing_root, source="ibkr")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT status FROM extract_files").scalar_one() == "failed"
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM trades_ts").scalar_one() == 0


def test_nothing_outside_the_landing_root_is_read(engine, landing_root, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("not for the warehouse")
    folder = landing_root / "acme" / DAY.isoformat()
    folder.mkdir(parents=True)
    os.symlink(secret, folder / "escape.csv")
    os.symlink(tmp_path, landing_root / "acme" / "2026-11-18")
    zone = LandingZone(str(landing_root))
    assert zone.extracts("acme", DAY) == []
    assert [d for d, _ in zone.partition_dirs("acme")] == [DAY]
    assert any(uri.endswith("escape.csv") for uri in zone.refused)
    for hostile in ("..", "../acme", "acme/../..", "ACME", ""):
        with pytest.raises(ValueError):
            zone.extracts(hostile, DAY)


def test_source_names_cannot_be_paths(tmp_path):
    catalogue = tmp_path / "sources.yaml"
    catalogue.write_text("sources:\n  '../etc':\n    format: csv\n")
    with pytest.raises(CatalogueError, match="sources.yaml"):
        load_catalogue(catalogue)


def test_file_names_that_look_like_sql_are_just_names(engine, landing_root):
    name = "x'); DROP TABLE trades_ts; --.csv"
    write_extract(landing_root, DAY.isoformat(), name, order_rows(DAY.isoformat(), "PB-1"))
    result = ingest(engine, landing_root)
    assert result.summary.rows_stored["TradesTS"] == 2
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM trades_ts").scalar_one() == 2
        [uri] = connection.exec_driver_sql("SELECT uri FROM extract_files").scalars().all()
    assert uri.endswith(name)


class RewrittenWhileRead(LandingZone):
    """A landing zone whose broker rewrites the file just before we read it."""

    def read_chunks(self, extract, chunk=64):
        path = self.root + f"/{extract.source}/{extract.business_date.isoformat()}/{extract.name}"
        with open(path, "a") as handle:
            handle.write(order_rows(DAY.isoformat(), "PB-LATE"))
        return super().read_chunks(extract, chunk=chunk)


def test_an_extract_rewritten_while_being_ingested_publishes_nothing(engine, landing_root):
    from exec_pipeline.services.ingestion import ExtractChanged

    write_extract(landing_root, DAY.isoformat(), "fills.csv", order_rows(DAY.isoformat(), "PB-1"))
    with pytest.raises(ExtractChanged, match="fills.csv changed while being ingested"):
        ingest_partition("acme", DAY, catalogue=CATALOGUE, landing=RewrittenWhileRead(str(landing_root)), engine=engine)
    assert fact_snapshot(engine) == {"OrdersTS": [], "OrderEventsTS": [], "TradesTS": []}
    # the next run reads the new version whole
    result = ingest(engine, landing_root)
    assert result.summary.rows_stored["TradesTS"] == 4


SAMPLE_FIX_LOG = settings.SAMPLE_DATA_DIR / "landing" / "fixgw" / "2026-11-17" / "NXBROKER-execreports-20261117.fix"


class ChangedWhileStreamed(LandingZone):
    """A landing zone whose extract changes after ``blocks_before`` blocks of it were read (streamed reads)."""

    def __init__(self, url: str, change, blocks_before: int = 1) -> None:
        super().__init__(url)
        self.change = change
        self.blocks_before = blocks_before

    def read_chunks(self, extract, chunk=256):
        blocks = super().read_chunks(extract, chunk=chunk)
        for _ in range(self.blocks_before):
            yield next(blocks)
        self.change(self.root + f"/{extract.source}/{extract.business_date.isoformat()}/{extract.name}")
        yield from blocks


def test_a_fix_log_that_grows_while_streamed_publishes_nothing(engine, landing_root):
    from exec_pipeline.services.ingestion import ExtractChanged

    lines = SAMPLE_FIX_LOG.read_bytes().splitlines(keepends=True)
    log = landing_root / "fixgw" / DAY.isoformat() / "session.fix"
    log.parent.mkdir(parents=True)
    log.write_bytes(b"".join(lines[: len(lines) // 2]))
    ingest(engine, landing_root, source="fixgw")
    before = fact_snapshot(engine)
    assert before["TradesTS"]
    log.write_bytes(b"".join(lines))  # the rest of the day arrives

    def append(path: str) -> None:
        with open(path, "ab") as handle:
            handle.write(lines[-1])

    with pytest.raises(ExtractChanged, match="session.fix changed while being ingested"):
        ingest_partition("fixgw", DAY, catalogue=CATALOGUE, engine=engine,
                         landing=ChangedWhileStreamed(str(landing_root), append))  # fmt: skip
    assert fact_snapshot(engine) == before
    result = ingest(engine, landing_root, source="fixgw")  # the next run reads the grown log
    assert len(fact_snapshot(engine)["TradesTS"]) > len(before["TradesTS"]) and result.summary is not None


def test_a_fix_log_replaced_by_an_archive_while_streamed_is_changed_not_unreadable(engine, landing_root):
    from exec_pipeline.services.ingestion import ExtractChanged

    log = landing_root / "fixgw" / DAY.isoformat() / "session.fix"
    log.parent.mkdir(parents=True)
    log.write_bytes(SAMPLE_FIX_LOG.read_bytes())

    def compress(path: str) -> None:  # replaced between hashing and reading
        with open(path, "wb") as handle:
            handle.write(gzip.compress(SAMPLE_FIX_LOG.read_bytes(), mtime=0))

    zone = ChangedWhileStreamed(str(landing_root), compress, blocks_before=0)
    with pytest.raises(ExtractChanged, match="session.fix changed while being ingested"):
        ingest_partition("fixgw", DAY, catalogue=CATALOGUE, engine=engine, landing=zone)
    with engine.connect() as connection:  # not recorded as a failed (unreadable) file: it is a new version
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM extract_files").scalar_one() == 0
    assert fact_snapshot(engine) == {"OrdersTS": [], "OrderEventsTS": [], "TradesTS": []}


class GrownBeforeWholeRead(LandingZone):
    """The broker appends to a file just before we read it whole (a format without ``read_stream``)."""

    def read_bytes(self, extract):
        path = self.root + f"/{extract.source}/{extract.business_date.isoformat()}/{extract.name}"
        with open(path, "a") as handle:
            handle.write("\n")
        return super().read_bytes(extract)


def test_an_extract_read_whole_that_changed_since_hashing_publishes_nothing(engine, landing_root, monkeypatch):
    # every built-in format streams; a format added with read() alone is read whole
    import dataclasses

    from exec_pipeline import readers
    from exec_pipeline.services.ingestion import ExtractChanged

    monkeypatch.setitem(readers.READERS, "ibkr_flex", dataclasses.replace(readers.READERS["ibkr_flex"], read_stream=None))

    sample = settings.SAMPLE_DATA_DIR / "landing" / "ibkr" / "2026-11-17" / "U1234567_trades_20261117.xml"
    folder = landing_root / "ibkr" / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / sample.name).write_bytes(sample.read_bytes())
    with pytest.raises(ExtractChanged, match="U1234567_trades_20261117.xml changed while being ingested"):
        ingest_partition("ibkr", DAY, catalogue=CATALOGUE, engine=engine, landing=GrownBeforeWholeRead(str(landing_root)))
    assert fact_snapshot(engine) == {"OrdersTS": [], "OrderEventsTS": [], "TradesTS": []}


def test_a_ccxt_file_rewritten_while_streamed_publishes_nothing(engine, landing_root):
    # the sample's lists come before the file-level keys end: the reader reads the file once for the
    # keys, then its records from its own copy, so what it publishes is what was hashed
    from exec_pipeline.services.ingestion import ExtractChanged

    sample = settings.SAMPLE_DATA_DIR / "landing" / "binance" / "2026-11-17" / "binance-spot-20261117.json"
    folder = landing_root / "binance" / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / sample.name).write_bytes(sample.read_bytes())

    def rewrite(path: str) -> None:
        document = json.loads(sample.read_bytes())
        document["trades"] = document["trades"][:1]
        with open(path, "w") as handle:
            json.dump(document, handle)

    with pytest.raises(ExtractChanged, match="binance-spot-20261117.json changed while being ingested"):
        ingest_partition("binance", DAY, catalogue=CATALOGUE, engine=engine,
                         landing=ChangedWhileStreamed(str(landing_root), rewrite))  # fmt: skip
    assert fact_snapshot(engine) == {"OrdersTS": [], "OrderEventsTS": [], "TradesTS": []}
    result = ingest(engine, landing_root, source="binance")  # the next run reads the new version
    assert len(fact_snapshot(engine)["TradesTS"]) == 1 and result.extracts[0].context.stats["read_twice_for_file_keys"]
