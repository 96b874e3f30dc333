"""One ingest = one snapshot: read, parse, validate, set bad input aside at the smallest grain, then
replace the snapshot in one transaction, or refuse whole and keep the previous one
(docs/input-formats.md, Bad input).

Every finding is stored in `quarantine` with what it cost (a row quarantined, a clock withheld, a
value cleared, or a warning); withheld clocks also go to `withheld_clocks`, which `check` reads
with the snapshot so those clocks are never evaluated on data known to be unusable.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NoReturn

import polars as pl
from sqlalchemy import Engine, func, insert, select

from ehcp_monitor.db.bulk import write_frames
from ehcp_monitor.db.gone_dates import write_gone
from ehcp_monitor.db.locks import holding_store_lock
from ehcp_monitor.db.models import IngestRun, SnapshotInfo
from ehcp_monitor.db.quarantine import QUARANTINE_COLUMNS, write_findings
from ehcp_monitor.db.snapshot import Snapshot, keep_written, replace_snapshot
from ehcp_monitor.domain.canonical import REQUIRED_TABLES, TABLE_ORDER, table_spec
from ehcp_monitor.domain.findings import MASKED
from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest.date_formats import misread_dates
from ehcp_monitor.ingest.detect import read_source
from ehcp_monitor.ingest.disposition import APPLIES, clear_values, quarantined_rows, withheld_clocks
from ehcp_monitor.ingest.gone_dates import gone_dates, gone_summary
from ehcp_monitor.ingest.guards import (
    not_recognised,
    record_opt_outs,
    requested_overrides,
    snapshot_guard,
    unrecognised_files,
)
from ehcp_monitor.ingest.parse import parse_table
from ehcp_monitor.ingest.placeholders import blank_placeholders
from ehcp_monitor.ingest.source import LINE, ROW, SourceData
from ehcp_monitor.ingest.summary import cases_lost_over, summarise, table_counts
from ehcp_monitor.ingest.validation import Context, validate
from ehcp_monitor.ingest.validation.base import shown
from ehcp_monitor.logs import get_logger

log = get_logger(__name__)



@dataclass
class IngestResult:
    ingest_id: int
    status: str  # loaded | refused
    # {table: {read, loaded, quarantined, by_code, withheld_by_code, cleared_by_code, warnings_by_code}}
    counts: dict[str, dict] = field(default_factory=dict)
    message: str = ""
    source_kind: str = ""
    # the whole ingest (ingest.summary.summarise)
    summary: dict = field(default_factory=dict)


def _bad_values(found: pl.DataFrame, source: SourceData) -> pl.DataFrame:
    """Each finding's value as read, fit to show; masked where the column holds personal data."""
    parts = [found.filter(pl.col("column_name").is_null()).with_columns(pl.lit(None, pl.Utf8).alias("bad_value"))]
    for (name, column), mine in found.filter(pl.col("column_name").is_not_null()).group_by(
            ["table_name", "column_name"]):
        frame = source.tables[name].frame.join(mine.select(ROW).unique(), on=ROW, how="semi")
        if column not in frame.columns:
            parts.append(mine.with_columns(pl.lit(None, pl.Utf8).alias("bad_value")))
            continue
        personal = table_spec(name).column(column).personal
        value = pl.col(column).cast(pl.Utf8)
        shown_value = pl.when(value.is_null()).then(None).otherwise(
            pl.lit(MASKED) if personal else shown(value, limit=100))
        parts.append(mine.join(frame.select(ROW, shown_value.alias("bad_value")), on=ROW, how="left"))
    return pl.concat(parts, how="vertical_relaxed")


def locate(found: pl.DataFrame, source: SourceData) -> pl.DataFrame:
    """Findings with their source file, line, record ID and value, in table and line order."""
    found = _bad_values(found, source)
    located = []
    for name, raw in source.tables.items():
        mine = found.filter(pl.col("table_name") == name)
        if mine.height:
            key = table_spec(name).key[0]
            where = raw.frame.join(mine.select(ROW).unique(), on=ROW, how="semi").select(
                ROW, pl.col(LINE).alias("source_line"),
                shown(pl.col(key), limit=100).alias("record_id"),
            )
            located.append(mine.join(where, on=ROW, how="left").with_columns(
                pl.lit(raw.source_file).alias("source_file"),
                pl.lit(TABLE_ORDER.index(name)).alias("order"),
            ))
    if not located:
        return pl.DataFrame(schema={ROW: pl.UInt32, **{c: pl.Utf8 for c in QUARANTINE_COLUMNS}}).with_columns(
            pl.col("source_line").cast(pl.Int64))
    return (
        pl.concat(located, how="diagonal_relaxed")
        .sort(["order", "source_line", "code", "column_name"], nulls_last=True)
        .select(ROW, *QUARANTINE_COLUMNS)
    )


def _record(conn, *, source: str, kind: str, as_of: date, status: str, message: str, checksums: dict,
            counts: dict, quarantine: pl.DataFrame | None, now, summary: dict | None = None,
            withheld: pl.DataFrame | None = None, overrides: dict | None = None,
            unrecognised: list | None = None, unknown_columns: list | None = None) -> int:
    stamp = now if now is not None else func.now()
    result = conn.execute(insert(IngestRun).values(
        started_at=stamp, finished_at=stamp, source=source, source_kind=kind[:20], as_of=as_of,
        status=status, message=message, checksums=checksums, counts=counts,
        summary={**(summary or {}), "unrecognised_files": unrecognised or [],
                 "unknown_columns": unknown_columns or []}, overrides=overrides or {},
    ))
    ingest_id = result.inserted_primary_key[0]
    if quarantine is not None:
        write_findings(conn, ingest_id, quarantine)
    frames = {}
    if withheld is not None and withheld.height:
        frames["withheld_clocks"] = withheld.filter(APPLIES).drop(APPLIES).with_columns(
            pl.lit(ingest_id).alias("ingest_id"))
    if frames:
        write_frames(conn, frames)
    return ingest_id


def _refuse(engine, message, **record) -> NoReturn:
    with engine.begin() as conn:
        ingest_id = _record(conn, status="refused", message=message, **record)
    log.warning("ingest refused", ingest_id=ingest_id, source_kind=record["kind"], reason=message)
    raise IngestRefused(message)


def _good_rows(parsed: dict[str, pl.DataFrame], findings: pl.DataFrame, review_history: str) -> dict:
    """The rows that load: every parsed table less its quarantined rows, cleared values blanked."""
    frames = {}
    for name, frame in clear_values(parsed, findings).items():
        bad = quarantined_rows(findings, name)
        good = frame.join(bad, on=ROW, how="anti") if bad.height else frame
        # Rows in key order make the store's index inserts sequential (much faster on SQLite: bench/README.md).
        frames[name] = good.drop(ROW).sort(table_spec(name).key[0], nulls_last=True)
    if "plans" in frames:
        frames["plans"] = frames["plans"].with_columns(pl.lit(review_history).alias("review_history"))
    return frames


@contextmanager
def _large_sqlite_cache(conn):
    """SQLite's default 2 MB page cache thrashes on indexes of millions of rows; give the snapshot
    replace 256 MB, then hand the pooled connection back as it was."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql("PRAGMA cache_size=-262144")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")


@holding_store_lock("ingest")  # never while a check or a job reading results runs
def run_ingest(engine: Engine, settings, source: str, *, as_of: date,
               now: datetime | None = None, accept_missing: tuple[str, ...] = (),
               accept_shrink: bool = False) -> IngestResult:
    """Load `source` as the new snapshot, or refuse it whole (IngestRefused) keeping the old one.

    `now` stamps the ingest record; without it the database's own clock does. `accept_missing` and
    `accept_shrink` override the snapshot guards for this ingest (guards.py).
    """
    base = dict(source=source, as_of=as_of, now=now)
    base["overrides"] = requested_overrides(accept_missing, accept_shrink)
    try:
        data = read_source(source, settings)
    except IngestRefused as exc:
        unreadable = str(exc)
    else:
        unreadable = None
    if unreadable:
        _refuse(engine, unreadable, kind="unknown", checksums={}, counts={}, quarantine=None, **base)
    base.update(kind=data.kind, checksums=data.checksums)
    base["unrecognised"] = unrecognised_files(data)
    base["unknown_columns"] = [{"file": raw.source_file, "column": column}
                               for raw in data.tables.values() for column in raw.unknown_columns]
    missing = [t for t in REQUIRED_TABLES if t not in data.tables]
    if missing:
        hint = f"; {not_recognised(missing[0], data.unrecognised)}" if data.unrecognised else ""
        _refuse(engine, f"required table {missing[0]} is missing from the source{hint}", counts={},
                quarantine=None, **base)

    parsed = {name: parse_table(raw, settings) for name, raw in data.tables.items()}
    misread = misread_dates(data.tables, parsed, settings)
    if misread:
        _refuse(engine, misread, counts={}, quarantine=None, **base)
    placeholders = blank_placeholders(data.tables, parsed)
    ctx = Context(raw=data.tables, parsed=parsed, as_of=as_of, settings=settings)
    findings = validate(ctx, earlier=placeholders)
    withheld = withheld_clocks(findings, ctx)
    quarantine = locate(findings, data)
    counts = table_counts(data, findings)
    problem = cases_lost_over(counts, settings.ingest.max_reject_share)
    if problem:
        _refuse(engine, problem, counts=counts, quarantine=quarantine, **base)

    frames = _good_rows(parsed, findings, data.review_history)
    guard = snapshot_guard(engine, settings, frames, data, accept_missing=accept_missing, accept_shrink=accept_shrink)
    if guard:
        _refuse(engine, guard, counts=counts, quarantine=quarantine, **base)
    summary = summarise(counts, frames, withheld)
    snapshot = Snapshot.from_frames(frames, tables_present=set(frames), source_kind=data.kind[:20])
    message = (f"{summary['rows_loaded']} of {summary['rows_read']} rows loaded, "
               f"{summary['rows_quarantined']} quarantined; {summary['cases_fully_monitored']} of "
               f"{summary['cases']} cases fully monitored")
    with engine.begin() as conn:
        # Before the snapshot in force is replaced: the done dates the new one has fewer of.
        gone = gone_dates(conn, conn.execute(select(SnapshotInfo.tables_present)).scalar(), frames)
        summary["gone_dates"] = gone_summary(gone)
        ingest_id = _record(conn, status="loaded", message=message, counts=counts, quarantine=quarantine,
                            summary=summary, withheld=withheld, **base)
        snapshot.ingest_id = ingest_id
        with _large_sqlite_cache(conn):
            marker = replace_snapshot(conn, snapshot, loaded_at=now if now is not None else func.now())
        record_opt_outs(conn, frames)
        if gone.height:
            write_gone(conn, ingest_id, as_of, gone)
    if gone.height:
        log.warning("done dates gone: the new extract has fewer of a case's done dates than the snapshot before "
                    "it; the apologies, updates and review reminders of those cases are held for a person",
                    ingest_id=ingest_id, counts=summary["gone_dates"])
    keep_written(engine, snapshot, marker)
    log.info("ingest loaded", ingest_id=ingest_id, source_kind=data.kind, rows_read=summary["rows_read"],
             rows_loaded=summary["rows_loaded"], rows_quarantined=summary["rows_quarantined"],
             quarantined_by_code=summary["quarantined_by_code"], withheld_by_code=summary["withheld_by_code"],
             cleared_by_code=summary["cleared_by_code"], warnings_by_code=summary["warnings_by_code"],
             cases=summary["cases"], cases_fully_monitored=summary["cases_fully_monitored"],
             overrides=base["overrides"])
    return IngestResult(ingest_id, "loaded", counts, message, data.kind, summary)
