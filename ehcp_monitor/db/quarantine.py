"""Every read and write of the ingest's findings: the `quarantine` table (models.QuarantinedRow).

The only SQL on that table, and the one declaration of a finding's columns. One row per finding
of an ingest, keyed by `ingest_id`, in the order the ingest found them (`id`). `action` says what
the finding cost: quarantined | withheld | cleared | warning. Frames move in bulk (db.bulk).
"""

import polars as pl
from sqlalchemy import Connection

from ehcp_monitor.db.bulk import read_frame, write_frame
from ehcp_monitor.db.models import QuarantinedRow

QUARANTINE_TABLE = QuarantinedRow.__tablename__
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "table_name": pl.Utf8, "source_file": pl.Utf8, "source_line": pl.Int64, "record_id": pl.Utf8,
    "code": pl.Utf8, "column_name": pl.Utf8, "message": pl.Utf8,
    "action": pl.Utf8, "measure": pl.Utf8, "bad_value": pl.Utf8,
}
QUARANTINE_COLUMNS: tuple[str, ...] = tuple(QUARANTINE_SCHEMA)
CODES_SCHEMA: dict[str, pl.DataType] = {"ingest_id": pl.Int64, "code": pl.Utf8}


def _columns(schema: dict) -> str:
    return ", ".join(f'"{c}"' for c in schema)


def write_findings(conn: Connection, ingest_id: int, findings: pl.DataFrame) -> int:
    """Store an ingest's findings (QUARANTINE_COLUMNS; other columns are ignored) in the caller's
    transaction, in their order. Returns how many."""
    if findings.height == 0:
        return 0
    rows = findings.select(QUARANTINE_COLUMNS).with_columns(pl.lit(int(ingest_id)).alias("ingest_id"))
    return write_frame(conn, QUARANTINE_TABLE, rows)


def read_findings(conn: Connection, ingest_id: int) -> pl.DataFrame:
    """Every finding of one ingest (QUARANTINE_SCHEMA) in the order it was stored, as stored."""
    return read_frame(
        conn,
        f'SELECT {_columns(QUARANTINE_SCHEMA)} FROM "{QUARANTINE_TABLE}" WHERE "ingest_id" = {int(ingest_id)} '
        'ORDER BY "id"',
        QUARANTINE_SCHEMA,
    )


def read_codes(conn: Connection) -> pl.DataFrame:
    """The code of every finding of every ingest (CODES_SCHEMA), in the order stored."""
    return read_frame(conn, f'SELECT {_columns(CODES_SCHEMA)} FROM "{QUARANTINE_TABLE}" ORDER BY "id"',
                      CODES_SCHEMA)
