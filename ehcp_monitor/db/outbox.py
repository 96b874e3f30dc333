"""The touchpoints outbox in bulk: read as columns for measures that only count it
(ehcp_monitor.promise), and loaded whole on the go-live night (load_if_empty).

Times are read as UTC whatever the database session's time zone: PostgreSQL converts them, and
SQLite stores them in UTC already (CURRENT_TIMESTAMP and SQLAlchemy's UTC values).
"""

from datetime import datetime, timezone
from typing import Any

import polars as pl
from sqlalchemy import Connection, UniqueConstraint, select
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from ehcp_monitor.db.bulk import read_frame, write_frame
from ehcp_monitor.db.models import OUTBOX_KEY, Touchpoint

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


def first_of_each_key(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` without a row whose outbox key (OUTBOX_KEY) an earlier row has: what
    `unique(subset=OUTBOX_KEY, keep="first", maintain_order=True)` gives, at a fraction of its cost
    over millions of rows (the go-live night's), where few keys or none repeat: the keys' hashes are
    compared first, and only rows sharing a hash are compared by value."""
    if frame.height < 2:
        return frame
    hashes = frame.select(pl.struct(list(OUTBOX_KEY)).hash()).to_series()
    if hashes.n_unique() == frame.height:
        return frame
    shared = hashes.is_duplicated().arg_true()  # in order: the first of a key comes first here too
    later = shared.filter(frame[shared].select(~pl.struct(list(OUTBOX_KEY)).is_first_distinct()).to_series())
    if later.is_empty():  # hashes met, keys did not
        return frame
    return frame.filter(~pl.repeat(False, frame.height, eager=True).scatter(later, True))


def _is_empty(conn: Connection) -> bool:
    return conn.execute(select(Touchpoint.id).limit(1)).first() is None


def load_if_empty(conn: Connection, rows: pl.DataFrame, *, planned_at: datetime) -> int | None:
    """Write `rows` (a planning run's new rows) straight into an empty outbox and return how many;
    None, writing nothing, when the outbox has rows.

    The go-live night records millions of `baseline` rows (bench/README.md): into an empty table
    its indexes are built once after the load instead of row by row, and no row needs the
    unique key's conflict check. The rows are made unique on the key first, the first of each
    kept, as ON CONFLICT DO NOTHING keeps it. It all happens in the caller's transaction, with
    other writers kept out (PostgreSQL: the table locked, when no other session has it open, else
    None and the rows go the usual way; SQLite: the store's write lock, held from the first
    change), so the outbox is still empty when the rows go in, and the unique key is back before
    anyone else reads the table: a failure anywhere rolls the whole run back.
    """
    if not _is_empty(conn):
        return None
    table = Touchpoint.__table__
    postgres = conn.dialect.name == "postgresql"
    if postgres and not _locked_at_once(conn):
        return None  # another session has the outbox open (a second planner): the conflict check it is
    # SQLite keeps a table's UNIQUE constraint inside the table's definition: only its other
    # indexes come off.
    unique = [c for c in table.constraints if isinstance(c, UniqueConstraint)] if postgres else []
    for index in table.indexes:
        conn.execute(DropIndex(index))
    for constraint in unique:
        conn.execute(DropConstraint(constraint))
    loaded = None
    if _is_empty(conn):  # still, now that no other writer can get in
        frame = first_of_each_key(rows)
        write_frame(conn, "touchpoints", frame.with_columns(planned_at=_stored_time(conn, planned_at)))
        loaded = frame.height
    for constraint in unique:
        conn.execute(AddConstraint(constraint))
    for index in table.indexes:
        conn.execute(CreateIndex(index))
    return loaded


def _locked_at_once(conn: Connection) -> bool:
    """The outbox locked for this transaction alone, if no other session has it open now. Waiting
    could deadlock: two planners both read the outbox before either asks for the lock."""
    from sqlalchemy.exc import OperationalError

    try:
        with conn.begin_nested():  # a refused lock aborts only this savepoint
            conn.exec_driver_sql("LOCK TABLE touchpoints IN ACCESS EXCLUSIVE MODE NOWAIT")
    except OperationalError:
        return False
    return True


def _stored_time(conn: Connection, moment: datetime) -> pl.Expr:
    """`moment` as the store keeps a time in UTC: PostgreSQL a timestamp (binary COPY takes a time
    without a zone as UTC), SQLite the text SQLAlchemy writes for one."""
    utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    if conn.dialect.name == "postgresql":
        return pl.lit(utc, pl.Datetime("us"))
    return pl.lit(utc.strftime("%Y-%m-%d %H:%M:%S.%f"))
