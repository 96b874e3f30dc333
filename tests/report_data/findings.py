"""Ingest runs and their findings written straight into the store, as the ingest stores them."""

from datetime import UTC, date, datetime

import polars as pl
from sqlalchemy import insert

from ehcp_monitor.db.bulk import write_frame
from ehcp_monitor.db.models import IngestRun

STAMP = datetime(2025, 3, 14, 1, 30, tzinfo=UTC)
FINDING_SCHEMA = {
    "table_name": pl.Utf8, "source_file": pl.Utf8, "source_line": pl.Int64, "record_id": pl.Utf8,
    "code": pl.Utf8, "column_name": pl.Utf8, "message": pl.Utf8, "action": pl.Utf8, "measure": pl.Utf8,
    "bad_value": pl.Utf8,
}


def finding(table, line, record, code, column, action, value=None, *, measure=None, message=None,
            source_file=None) -> tuple:
    """One finding in FINDING_SCHEMA order."""
    return (table, source_file or f"{table}.csv", line, record, code, column,
            message or f"{code} on {table}.{column}", action, measure, value)


def add_ingest(conn, ingest_id: int, findings: list[tuple] | pl.DataFrame, *, status: str = "loaded",
               as_of: date = date(2025, 3, 14), source_kind: str = "csv", message: str | None = None,
               summary: dict | None = None, counts: dict | None = None) -> None:
    conn.execute(insert(IngestRun).values(
        id=ingest_id, started_at=STAMP, finished_at=STAMP, source="extract/", source_kind=source_kind, as_of=as_of,
        status=status, message=message, checksums={}, counts=counts or {}, summary=summary or {},
    ))
    frame = findings if isinstance(findings, pl.DataFrame) else pl.DataFrame(
        findings, schema=FINDING_SCHEMA, orient="row")
    write_frame(conn, "quarantine", frame.with_columns(ingest_id=pl.lit(ingest_id, pl.Int64)))
