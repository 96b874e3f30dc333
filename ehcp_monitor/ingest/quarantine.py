"""Reading back what an ingest quarantined (for `ehcp-monitor quarantine` and the weekly list)."""

import polars as pl
from sqlalchemy import Engine, select

from ehcp_monitor.db.bulk import read_frame
from ehcp_monitor.db.models import IngestRun

QUARANTINE_SCHEMA = {
    "table_name": pl.Utf8, "source_file": pl.Utf8, "source_line": pl.Int64, "record_id": pl.Utf8,
    "code": pl.Utf8, "column_name": pl.Utf8, "message": pl.Utf8,
    # quarantined | withheld | cleared | warning (models.QuarantinedRow)
    "action": pl.Utf8, "measure": pl.Utf8, "bad_value": pl.Utf8,
}


def last_ingest_id(engine: Engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(IngestRun.id).order_by(IngestRun.id.desc()).limit(1)).scalar()


def quarantined_rows(engine: Engine, ingest_id: int | None = None) -> pl.DataFrame:
    """The quarantined rows of one ingest (default: the last), in the order they were stored."""
    ingest_id = ingest_id if ingest_id is not None else last_ingest_id(engine)
    if ingest_id is None:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    cols = ", ".join(f'"{c}"' for c in QUARANTINE_SCHEMA)
    with engine.connect() as conn:
        return read_frame(
            conn, f'SELECT {cols} FROM "quarantine" WHERE "ingest_id" = {int(ingest_id)} ORDER BY "id"',
            QUARANTINE_SCHEMA,
        )
