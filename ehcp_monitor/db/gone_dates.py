"""Every read and write of `gone_dates`: the done dates an ingest found gone from the records
(ingest/gone_dates.py), read by the planner (touchpoints/corrections.py)."""

from datetime import date

import polars as pl
from sqlalchemy import Connection

from ehcp_monitor.db.bulk import read_table, write_frames
from ehcp_monitor.db.models import GoneDate

GONE_TABLE = GoneDate.__tablename__
FOUND_SCHEMA: dict[str, pl.DataType] = {
    "table_name": pl.Utf8, "column_name": pl.Utf8, "request_id": pl.Utf8, "plan_id": pl.Utf8,
    "before": pl.Int64, "after": pl.Int64, "latest_gone": pl.Date,
}
STORED_SCHEMA: dict[str, pl.DataType] = {"ingest_id": pl.Int64, "as_of": pl.Date, **FOUND_SCHEMA}


def write_gone(conn: Connection, ingest_id: int, as_of: date, found: pl.DataFrame) -> None:
    """Record what ingest `ingest_id` found gone (FOUND_SCHEMA), in the ingest's transaction."""
    write_frames(conn, {GONE_TABLE: found.select(pl.lit(ingest_id).alias("ingest_id"),
                                                 pl.lit(as_of, dtype=pl.Date).alias("as_of"), *FOUND_SCHEMA)})


def read_gone_since(conn: Connection, since: date) -> pl.DataFrame:
    """What every ingest dated `since` or later found gone (STORED_SCHEMA)."""
    return read_table(conn, GONE_TABLE, STORED_SCHEMA, f"as_of >= '{since.isoformat()}'")
