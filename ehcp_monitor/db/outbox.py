"""Reading the touchpoints outbox as columns, for measures that only count it (ehcp_monitor.promise).

Times are read as UTC whatever the database session's time zone: PostgreSQL converts them, and
SQLite stores them in UTC already (CURRENT_TIMESTAMP and SQLAlchemy's UTC values).
"""

from typing import Any

import polars as pl
from sqlalchemy import Connection

from ehcp_monitor.db.bulk import read_frame

OUTBOX_SCHEMA: dict[str, Any] = {"stage": pl.Utf8, "case_ref": pl.Utf8, "event_date": pl.Date, "contact_id": pl.Utf8,
                 "channel": pl.Utf8, "status": pl.Utf8, "reason": pl.Utf8, "planned_at": pl.Datetime("us", "UTC"),
                 "sent_at": pl.Datetime("us", "UTC")}
_TIMES = ("planned_at", "sent_at")
ISO = "%Y-%m-%dT%H:%M:%S"


def utc_text(conn: Connection, column: str) -> str:
    """SQL for `column` (a time, or an aggregate of one) as ISO text in UTC, on either database."""
    if conn.dialect.name == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
    return f"strftime('{ISO}', {column})"


def read_outbox(conn: Connection) -> pl.DataFrame:
    """Every outbox row's event, channel, status and times (OUTBOX_SCHEMA); no contact details."""
    text_schema: dict[str, Any] = {c: (pl.Utf8 if c in _TIMES else t) for c, t in OUTBOX_SCHEMA.items()}
    cols = ", ".join(utc_text(conn, c) if c in _TIMES else c for c in OUTBOX_SCHEMA)
    frame = read_frame(conn, f"SELECT {cols} FROM touchpoints", text_schema)
    return frame.with_columns(
        pl.col(c).str.to_datetime(ISO, time_unit="us").dt.replace_time_zone("UTC") for c in _TIMES
    )
