"""Reading back what an ingest found (for `ehcp-monitor quarantine` and the weekly list).

Every finding is one row of `quarantine` (models.QuarantinedRow); the ingest's own figures are
`ingest_runs.summary` and `.counts`. The ingest masks the value of a personal column before it
stores it; reading masks again, so no older or mistaken row can show one.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, select

from ehcp_monitor.db.models import IngestRun
from ehcp_monitor.db.quarantine import QUARANTINE_SCHEMA, read_findings
from ehcp_monitor.domain.canonical import CANONICAL_TABLES
from ehcp_monitor.domain.findings import MASKED

MASK = MASKED
PERSONAL_COLUMNS = pl.DataFrame(
    [(t.name, c.name) for t in CANONICAL_TABLES.values() for c in t.columns if c.personal],
    schema={"table_name": pl.Utf8, "column_name": pl.Utf8}, orient="row",
)


@dataclass
class IngestRecord:
    """One `ingest_runs` row, as the data quality report shows it."""

    id: int
    source_kind: str
    as_of: date
    status: str
    message: str | None
    summary: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)


def last_ingest_id(engine: Engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(IngestRun.id).order_by(IngestRun.id.desc()).limit(1)).scalar()


def ingest_record(conn: Connection, ingest_id: int | None = None) -> IngestRecord | None:
    """The ingest `ingest_id` (default: the last one, loaded or refused); None when there is none."""
    query = select(IngestRun.id, IngestRun.source_kind, IngestRun.as_of, IngestRun.status, IngestRun.message,
                   IngestRun.summary, IngestRun.counts)
    if ingest_id is None:
        query = query.order_by(IngestRun.id.desc()).limit(1)
    else:
        query = query.where(IngestRun.id == int(ingest_id))
    row = conn.execute(query).one_or_none()
    if row is None:
        return None
    return IngestRecord(row.id, row.source_kind, row.as_of, row.status, row.message, row.summary or {},
                        row.counts or {})


def mask_personal(findings: pl.DataFrame) -> pl.DataFrame:
    """`bad_value` of a personal column (canonical schema) shown as `***`, whatever was stored."""
    personal = PERSONAL_COLUMNS.with_columns(_personal=pl.lit(True))
    return (
        findings.join(personal, on=["table_name", "column_name"], how="left", maintain_order="left")
        .with_columns(
            bad_value=pl.when(pl.col("_personal") & pl.col("bad_value").is_not_null())
            .then(pl.lit(MASK)).otherwise(pl.col("bad_value"))
        )
        .drop("_personal")
    )


def findings(conn: Connection, ingest_id: int) -> pl.DataFrame:
    """Every finding of one ingest, in the order they were stored, personal values masked."""
    return mask_personal(read_findings(conn, ingest_id))


def quarantined_rows(engine: Engine, ingest_id: int | None = None) -> pl.DataFrame:
    """Every finding of one ingest (default: the last), in the order they were stored."""
    ingest_id = ingest_id if ingest_id is not None else last_ingest_id(engine)
    if ingest_id is None:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    with engine.connect() as conn:
        return findings(conn, ingest_id)
