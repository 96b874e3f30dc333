"""One ingest = one snapshot: read, parse, validate, quarantine, then replace the snapshot in one
transaction, or refuse whole and keep the previous one (input-format.md sections 4 and intro)."""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NoReturn

import polars as pl
from sqlalchemy import Engine, func, insert

from ehcp_monitor.db.bulk import write_frame
from ehcp_monitor.db.models import IngestRun
from ehcp_monitor.db.snapshot import Snapshot, replace_snapshot
from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest.detect import read_source
from ehcp_monitor.ingest.parse import parse_table
from ehcp_monitor.ingest.source import LINE, ROW, SourceData
from ehcp_monitor.ingest.validation import Context, validate
from ehcp_monitor.ingest.validation.base import shown
from ehcp_monitor.logs import get_logger
from ehcp_monitor.schema.canonical import REQUIRED_TABLES, TABLE_ORDER, table_spec

log = get_logger(__name__)

QUARANTINE_COLUMNS = ["table_name", "source_file", "source_line", "record_id", "code", "column_name", "message"]


@dataclass
class IngestResult:
    ingest_id: int
    status: str  # loaded | refused
    # {table: {read, loaded, quarantined, by_code: {code: rows}}}
    counts: dict[str, dict] = field(default_factory=dict)
    message: str = ""
    source_kind: str = ""


def locate(found: pl.DataFrame, source: SourceData) -> pl.DataFrame:
    """Issues with their source file, line and record ID, in table and line order."""
    located = []
    for name, raw in source.tables.items():
        key = table_spec(name).key[0]
        where = raw.frame.select(
            ROW, pl.col(LINE).alias("source_line"),
            shown(pl.col(key), limit=100).alias("record_id"),
        )
        mine = found.filter(pl.col("table_name") == name)
        if mine.height:
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


def count(source: SourceData, quarantine: pl.DataFrame) -> dict[str, dict]:
    counts = {}
    for name, raw in source.tables.items():
        mine = quarantine.filter(pl.col("table_name") == name)
        bad = mine[ROW].n_unique()
        by_code = mine.group_by("code").agg(pl.col(ROW).n_unique().alias("n")).sort("code")
        counts[name] = {
            "read": raw.frame.height,
            "loaded": raw.frame.height - bad,
            "quarantined": bad,
            "by_code": dict(zip(by_code["code"].to_list(), by_code["n"].to_list())),
        }
    return counts


def _over_share(counts: dict[str, dict], share: float) -> str | None:
    for name in TABLE_ORDER:
        c = counts.get(name)
        if c and c["read"] and c["quarantined"] / c["read"] > share:
            return (f"table {name}: {c['quarantined']} of {c['read']} rows quarantined "
                    f"({c['quarantined'] / c['read']:.1%}), more than ingest.max_reject_share "
                    f"{share:.0%}; see `ehcp-monitor quarantine`")
    return None


def _record(conn, *, source: str, kind: str, as_of: date, status: str, message: str, checksums: dict,
            counts: dict, quarantine: pl.DataFrame | None, now) -> int:
    stamp = now if now is not None else func.now()
    result = conn.execute(insert(IngestRun).values(
        started_at=stamp, finished_at=stamp, source=source, source_kind=kind[:20], as_of=as_of,
        status=status, message=message, checksums=checksums, counts=counts,
    ))
    ingest_id = result.inserted_primary_key[0]
    if quarantine is not None and quarantine.height:
        write_frame(conn, "quarantine", quarantine.select(QUARANTINE_COLUMNS).with_columns(
            pl.lit(ingest_id).alias("ingest_id")))
    return ingest_id


def _refuse(engine, message, **record) -> NoReturn:
    with engine.begin() as conn:
        ingest_id = _record(conn, status="refused", message=message, **record)
    log.warning("ingest refused", ingest_id=ingest_id, source_kind=record["kind"], reason=message)
    raise IngestRefused(message)


def _good_rows(parsed: dict[str, pl.DataFrame], quarantine: pl.DataFrame, review_history: str) -> dict:
    """The rows that load: every parsed table less its quarantined rows."""
    frames = {}
    for name, frame in parsed.items():
        bad = quarantine.filter(pl.col("table_name") == name).select(ROW).unique()
        good = frame.join(bad, on=ROW, how="anti") if bad.height else frame
        # Rows in key order make the store's index inserts sequential (about 3x faster on SQLite).
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


def run_ingest(engine: Engine, settings, source: str, *, as_of: date,
               now: datetime | None = None) -> IngestResult:
    """Load `source` as the new snapshot, or refuse it whole (IngestRefused) keeping the old one.

    `now` stamps the ingest record; without it the database's own clock does.
    """
    base = dict(source=source, as_of=as_of, now=now)
    try:
        data = read_source(source, settings)
    except IngestRefused as exc:
        unreadable = str(exc)
    else:
        unreadable = None
    if unreadable:
        _refuse(engine, unreadable, kind="unknown", checksums={}, counts={}, quarantine=None, **base)
    base.update(kind=data.kind, checksums=data.checksums)
    missing = [t for t in REQUIRED_TABLES if t not in data.tables]
    if missing:
        _refuse(engine, f"required table {missing[0]} is missing from the source", counts={},
                quarantine=None, **base)

    parsed = {name: parse_table(raw, settings) for name, raw in data.tables.items()}
    ctx = Context(raw=data.tables, parsed=parsed, as_of=as_of, settings=settings)
    quarantine = locate(validate(ctx), data)
    counts = count(data, quarantine)
    problem = _over_share(counts, settings.ingest.max_reject_share)
    if problem:
        _refuse(engine, problem, counts=counts, quarantine=quarantine, **base)

    frames = _good_rows(parsed, quarantine, data.review_history)
    snapshot = Snapshot.from_frames(frames, tables_present=set(frames), source_kind=data.kind[:20])
    total = {k: sum(c[k] for c in counts.values()) for k in ("read", "loaded", "quarantined")}
    message = f"{total['loaded']} of {total['read']} rows loaded, {total['quarantined']} quarantined"
    with engine.begin() as conn:
        ingest_id = _record(conn, status="loaded", message=message, counts=counts, quarantine=quarantine, **base)
        snapshot.ingest_id = ingest_id
        with _large_sqlite_cache(conn):
            replace_snapshot(conn, snapshot, loaded_at=now if now is not None else func.now())
    by_code: dict[str, int] = {}
    for c in counts.values():
        for code, n in c["by_code"].items():
            by_code[code] = by_code.get(code, 0) + n
    log.info("ingest loaded", ingest_id=ingest_id, source_kind=data.kind, rows_read=total["read"],
             rows_loaded=total["loaded"], rows_quarantined=total["quarantined"],
             quarantined_by_code=dict(sorted(by_code.items())))
    return IngestResult(ingest_id, "loaded", counts, message, data.kind)
