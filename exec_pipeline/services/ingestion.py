"""Ingesting one (source, business date) partition: landing zone -> reader -> publish.

Usable without Dagster (the Dagster assets are a thin layer over :func:`ingest_partition`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from exec_pipeline.data_nodes.execution import (
    ExtractFacts,
    FactRecord,
    PublishSummary,
    partition_key,
    publish_partition,
)
from exec_pipeline.lib.landing import ExtractFile, ExtractTooLarge, LandingZone, sha256_hex
from exec_pipeline.lib.warehouse import describe_error
from exec_pipeline.readers import ReaderSpec, get_reader
from exec_pipeline.readers.base import ExtractUnreadable, ReaderContext
from exec_pipeline.readers.catalogue import Catalogue
from exec_pipeline.repositories import execution as repo


class PartitionVanished(RuntimeError):
    """Extracts that were ingested for a partition are no longer in the landing zone."""


class ExtractChanged(RuntimeError):
    """An extract changed between hashing and reading (still being written or replaced)."""


class LedgerCountsStale(RuntimeError):
    """A partition's run only had to refresh its ledger counts, and could not: its facts are as
    published; the request stays (a retried or repeated run refreshes them)."""


@dataclass
class ExtractRead:
    """One extract as read: its identity and what the reader noticed."""

    uri: str
    sha256: str
    size_bytes: int
    reader_name: str
    reader_version: str
    context: ReaderContext


@dataclass
class IngestResult:
    source: str
    business_date: dt.date
    partition_key: str
    extracts: list[ExtractRead] = field(default_factory=list)
    summary: PublishSummary | None = None
    #: True when the extracts (content hashes) and reader version are those already ingested
    skipped_unchanged: bool = False
    #: landing-zone entries refused while listing the partition (symbolic links)
    refused: list[str] = field(default_factory=list)
    #: the partition that asked this one to publish again, when one did (see publish_partition)
    republish_requested_by: str | None = None
    #: True when the publish was skipped but the partition's ledger counts were refreshed: a
    #: publish of another partition took rows from it and could not refresh them after its commit
    counts_refreshed: bool = False

    @property
    def recount_failed(self) -> dict[str, str]:
        """Other partitions whose ledger counts this publish could not refresh (see PublishSummary)."""
        return self.summary.recount_failed if self.summary is not None else {}

    @property
    def unmapped_accounts(self) -> Counter[str]:
        return sum((e.context.unmapped_accounts for e in self.extracts), Counter())

    @property
    def unmapped_assets(self) -> Counter[str]:
        return sum((e.context.unmapped_assets for e in self.extracts), Counter())

    @property
    def reader_stats(self) -> Counter[str]:
        return sum((e.context.stats for e in self.extracts), Counter())

    @property
    def readers(self) -> dict[str, str]:
        return {e.reader_name: e.reader_version for e in self.extracts}


def ingest_partition(
    source: str,
    business_date: dt.date,
    *,
    catalogue: Catalogue,
    landing: LandingZone,
    engine: Engine,
    run_id: str | None = None,
    force: bool = False,
) -> IngestResult:
    """Replace the partition's facts with what its extracts say now.

    Skips the publish (``skipped_unchanged``) when every extract's content hash, the reader version
    and the source's catalogue entry (``SourceConfig.digest``) match what the ledger holds as
    ingested for this partition, unless ``force`` or another partition asked this one to publish
    again (``republish_requests``). A skipped run still refreshes the partition's ledger counts when
    a request asks only for that (``facts`` 0: another partition's publish took rows from this one
    and its own refresh failed; ``counts_refreshed``).
    Raises :class:`~exec_pipeline.readers.base.ExtractUnreadable` naming the file when one extract
    cannot be read at all, and :class:`~exec_pipeline.lib.landing.ExtractTooLarge` when one is over
    the landing zone's size limit (nothing is published; the ledger notes the failure and the run
    in the file's ``error``, and keeps naming the run whose facts are stored; if the note itself
    fails, the error says so in a note and is raised all the same) and
    :class:`PartitionVanished` when a partition that was ingested has no extracts any more, and
    :class:`ExtractChanged` when a file changes between hashing and reading. Extracts are hashed
    in chunks and read one at a time, streamed when their reader can (see :func:`_records`), so
    memory holds at most one file, not the whole day.
    """
    config = catalogue.source(source)
    reader = get_reader(config.format)
    key = partition_key(source, business_date)
    result = IngestResult(source=source, business_date=business_date, partition_key=key)

    refused_before = len(landing.refused)
    files = landing.extracts(source, business_date)
    result.refused = landing.refused[refused_before:]
    # hash first (streaming), read later one extract at a time: memory holds one file, not the day
    result.extracts = [
        ExtractRead(
            uri=file.uri,
            sha256=landing.sha256(file),
            size_bytes=file.size,
            reader_name=reader.name,
            reader_version=reader.version,
            context=ReaderContext(source=source, config=config, uri=file.uri),
        )
        for file in files
    ]

    with engine.connect() as connection:
        ingested = repo.ingested_extracts(connection, key)
        requests = repo.republish_requests(connection, key)
    republish = [r for r in requests if r.facts != repo.COUNTS_ONLY]
    if republish:
        result.republish_requested_by = republish[0].requested_by
    current = {(r.uri, r.sha256, r.reader_version, config.digest) for r in result.extracts}
    if not files:
        if ingested:
            raise PartitionVanished(
                f"{key}: no extracts under {landing.url}/{source}/{business_date.isoformat()}/ but "
                f"{len(ingested)} were ingested before; refusing to erase the partition's facts "
                "(restore the files, or delete the partition explicitly)"
            )
        return _refresh_stale_counts(result, engine, requests)
    if not force and current == ingested and not republish:
        result.skipped_unchanged = True
        return _refresh_stale_counts(result, engine, requests)

    try:
        # inside the try: a reader may refuse a file as soon as it is called, not only while iterated
        extracts = [
            ExtractFacts(read.uri, read.sha256, read.size_bytes, read.reader_name, read.reader_version,
                         _records(landing, file, read, reader), config.digest)
            for read, file in zip(result.extracts, files, strict=True)
        ]
        result.summary = publish_partition(source, business_date, extracts, run_id=run_id, engine=engine)
    except (ExtractUnreadable, ExtractTooLarge) as exc:
        failed = next((r for r in result.extracts if r.uri == exc.uri), None)
        if failed is not None:
            try:
                with engine.begin() as connection:
                    repo.record_failed_extract(
                        connection,
                        source=source,
                        business_date=business_date,
                        partition_key=key,
                        uri=failed.uri,
                        sha256=failed.sha256,
                        size_bytes=failed.size_bytes,
                        reader_name=failed.reader_name,
                        reader_version=failed.reader_version,
                        run_id=run_id,
                        error=str(exc),
                        config_digest=config.digest,
                    )
            except SQLAlchemyError as note_failed:
                # the file's own error is what the operator must see; the ledger's is secondary
                exc.add_note(f"The ledger could not note this failure: {describe_error(note_failed)}")
        raise
    return result


def _refresh_stale_counts(result: IngestResult, engine: Engine, requests: list) -> IngestResult:
    """A run that publishes nothing still honours a request for its ledger counts alone."""
    if requests:
        try:
            with engine.begin() as connection:
                result.counts_refreshed = repo.refresh_stale_counts(connection, result.partition_key)
        except SQLAlchemyError as exc:
            # the refresh is this run's only work: fail it, saying what failed (Dagster retries the
            # sensor's runs for such requests; the sensor warns while the last one failed)
            raise LedgerCountsStale(
                f"{result.partition_key}: its extracts are unchanged, but its ledger counts, which another "
                f"partition's publish changed, could not be refreshed ({describe_error(exc)}); its facts "
                "are as published; re-run the partition"
            ) from exc
    return result


def _records(landing: LandingZone, file: ExtractFile, read: ExtractRead, reader: ReaderSpec) -> Iterator[FactRecord]:
    """The extract's records, its bytes read only when the publish gets to it: streamed in blocks
    when the reader can take them (memory holds a block, not the file), else whole. Either way the
    bytes read must hash to what was hashed before, or :class:`ExtractChanged` is raised, at the end
    of a streamed file: the publish it feeds is then rolled back. A file listed over the size limit
    is refused before any reader sees it (a reader must not take that for a file it cannot read);
    one that grows over it while read has changed."""
    landing.check_size(file)
    if reader.read_stream is None:
        try:
            data = landing.read_bytes(file)
        except ExtractTooLarge as exc:
            raise _changed(read) from exc
        if sha256_hex(data) != read.sha256:
            raise _changed(read)
        yield from reader.read(data, read.context)
        return
    digest = hashlib.sha256()

    def blocks() -> Iterator[bytes]:
        try:
            for block in landing.read_chunks(file):
                digest.update(block)
                yield block
        except ExtractTooLarge as exc:
            raise _changed(read) from exc

    def moved() -> bool:
        """Hash what the reader left unread: are the file's bytes not those hashed before?"""
        for _ in stream:
            pass
        return digest.hexdigest() != read.sha256

    stream = blocks()
    try:
        yield from reader.read_stream(stream, read.context)
    except ExtractUnreadable as exc:
        if moved():  # a file replaced while read is "changed", not "unreadable"
            raise _changed(read) from exc
        raise
    if moved():
        raise _changed(read)


def _changed(read: ExtractRead) -> ExtractChanged:
    return ExtractChanged(
        f"{read.uri} changed while being ingested (its content hash moved); nothing was published, "
        "the next run reads the new version"
    )
