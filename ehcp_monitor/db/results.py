"""Every read and write of the stored results: `check_results`, `overdue_history` and `check_runs`.

The only SQL on those tables. Frames move in bulk (db.bulk); single values through SQLAlchemy
Core on the models, as in the rest of db/. Every frame has the contract's columns and types
(domain.results.RESULT_SCHEMA); `check_results` holds the latest check run's rows only, each
with that run's `run_id`; `overdue_history` keeps the overdue rows of every run.
"""

from collections.abc import Iterable
from datetime import date, datetime

import polars as pl
from sqlalchemy import Connection, delete, func, insert, select, update

from ehcp_monitor.db import recent_writes
from ehcp_monitor.db.bulk import read_table, sql_strings, write_frames
from ehcp_monitor.db.models import CheckRun, OverdueHistory, SnapshotInfo, check_results
from ehcp_monitor.domain.results import RESULT_SCHEMA

RESULTS_TABLE = check_results.name
HISTORY_TABLE = OverdueHistory.__tablename__
STORED_SCHEMA: dict[str, pl.DataType] = {"run_id": pl.Int64, **RESULT_SCHEMA}
HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.Int64, "as_of": pl.Date,
    **{c: RESULT_SCHEMA[c] for c in ("measure", "request_id", "plan_id", "person_id", "item", "anchor_date",
                                     "due_date", "days_late", "very_late")},
}
HISTORY_COLUMNS: tuple[str, ...] = tuple(HISTORY_SCHEMA)


# --- writing --------------------------------------------------------------------------------------


def replace_results(conn: Connection, run_id: int, frame: pl.DataFrame, overdue: pl.DataFrame,
                    as_of: date) -> None:
    """Swap in run `run_id`'s results (the contract's frame) and add its overdue rows to the
    history, in one bulk write inside the caller's transaction."""
    # TRUNCATE on PostgreSQL: deleting millions of rows one by one is slow and bloats the table.
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f'TRUNCATE "{RESULTS_TABLE}"')
    else:
        conn.execute(delete(check_results))
    history = overdue.with_columns(run_id=pl.lit(run_id), as_of=pl.lit(as_of, dtype=pl.Date))
    write_frames(conn, {
        RESULTS_TABLE: frame.select(pl.lit(run_id).alias("run_id"), pl.all()),
        HISTORY_TABLE: history.select(HISTORY_COLUMNS),
    })


# --- reading results ------------------------------------------------------------------------------


def read_results(conn: Connection, *, measures: Iterable[str] | None = None, open_measures: Iterable[str] = (),
                 overdue_kind: str | None = None, statuses: Iterable[str] = (),
                 columns: Iterable[str] | None = None, measures_since: date | None = None) -> pl.DataFrame:
    """The stored results (RESULT_SCHEMA, or only its `columns`), in stored order, read as columns.

    With no argument, every row. Otherwise a row is read when any one holds: its measure is one of
    `measures` (and, given `measures_since`, it is not completed or was completed on or after
    that day); its measure is one of `open_measures` and it is not completed; it is overdue
    and of kind `overdue_kind`; its status is one of `statuses`.
    """
    schema = RESULT_SCHEMA if columns is None else {c: RESULT_SCHEMA[c] for c in columns}
    return _read_stored(conn, schema, measures, open_measures, overdue_kind, statuses, measures_since)


def read_results_with_run(conn: Connection) -> pl.DataFrame:
    """Every stored result with its check run (`run_id`, then RESULT_SCHEMA)."""
    return _read_stored(conn, STORED_SCHEMA, None, (), None, (), None)


def stored_run_id(conn: Connection) -> int | None:
    """The check run whose results are stored (None: none stored)."""
    # Every stored row is that run's, so any one row says: no scan of millions of rows (max would).
    return conn.execute(select(check_results.c.run_id).limit(1)).scalar()


def _read_stored(conn: Connection, schema: dict, measures, open_measures, overdue_kind, statuses,
                 measures_since: date | None) -> pl.DataFrame:
    run_id = stored_run_id(conn)
    kept = recent_writes.results_for(conn.engine, run_id)
    if kept is not None:
        rows = kept.with_columns(run_id=pl.lit(run_id, pl.Int64))
        return _kept_rows(rows, measures, open_measures, overdue_kind, statuses, measures_since).select(
            [pl.col(c).cast(t) for c, t in schema.items()])
    conditions = []
    if measures is not None:
        measures = list(measures)
        recent = "" if measures_since is None else (
            f" AND (completed_date IS NULL OR completed_date >= '{measures_since.isoformat()}')")
        conditions.append(f"(measure IN ({sql_strings(measures)}){recent})" if measures else "1 = 0")
    open_measures = list(open_measures)
    if open_measures:
        conditions.append(f"(measure IN ({sql_strings(open_measures)}) AND completed_date IS NULL)")
    if overdue_kind is not None:
        conditions.append(f"(status = 'overdue' AND kind = {sql_strings([overdue_kind])})")
    statuses = list(statuses)
    if statuses:
        conditions.append(f"status IN ({sql_strings(statuses)})")
    return read_table(conn, RESULTS_TABLE, schema, " OR ".join(conditions))


def _kept_rows(frame: pl.DataFrame, measures, open_measures, overdue_kind, statuses,
               measures_since: date | None) -> pl.DataFrame:
    """The rows _read_stored's SQL condition selects, selected in polars."""
    conditions = []
    if measures is not None:
        recent = pl.lit(True) if measures_since is None else (
            pl.col("completed_date").is_null() | (pl.col("completed_date") >= measures_since))
        conditions.append(pl.col("measure").is_in(list(measures)) & recent.fill_null(False))
    open_measures = list(open_measures)
    if open_measures:
        conditions.append(pl.col("measure").is_in(open_measures) & pl.col("completed_date").is_null())
    if overdue_kind is not None:
        conditions.append((pl.col("status") == "overdue") & (pl.col("kind") == overdue_kind))
    statuses = list(statuses)
    if statuses:
        conditions.append(pl.col("status").is_in(statuses))
    return frame.filter(pl.any_horizontal(conditions)) if conditions else frame


def keep_written(engine, run_id: int, frame: pl.DataFrame) -> None:
    """After the check's commit: later readers in this process take `frame` (run `run_id`'s
    results) while the store still holds that run (db/recent_writes.py)."""
    recent_writes.keep_results(engine, run_id, frame.select([pl.col(c).cast(t) for c, t in RESULT_SCHEMA.items()]))


def status_counts(conn: Connection) -> tuple[dict[str, int], int]:
    """How many stored results have each status, and how many are very late."""
    by_status = dict(conn.execute(
        select(check_results.c.status, func.count()).group_by(check_results.c.status)).all())
    very_late = conn.execute(
        select(func.count()).select_from(check_results).where(check_results.c.very_late.is_(True))).scalar_one()
    return by_status, very_late


def read_overdue_history(conn: Connection, run_id: int, columns: Iterable[str] | None = None) -> pl.DataFrame:
    """The overdue rows check run `run_id` kept (its HISTORY_SCHEMA columns, default all)."""
    names = list(columns) if columns is not None else list(HISTORY_SCHEMA)
    schema = {c: HISTORY_SCHEMA[c] for c in names}
    return read_table(conn, HISTORY_TABLE, schema, f"run_id = {int(run_id)}")


def read_overdue_since(conn: Connection, measures: Iterable[str], since: date,
                       columns: Iterable[str] = ("run_id", "as_of", "plan_id")) -> pl.DataFrame:
    """The overdue rows of `measures` kept by every check run dated `since` or later."""
    schema = {c: HISTORY_SCHEMA[c] for c in columns}
    measures = list(measures)
    which = f"measure IN ({sql_strings(measures)})" if measures else "1 = 0"
    where = f"{which} AND as_of >= '{since.isoformat()}'"
    return read_table(conn, HISTORY_TABLE, schema, where)


# --- check runs ---------------------------------------------------------------------------------


def start_check(conn: Connection, *, as_of: date, ingest_id: int | None, started_at: datetime) -> int:
    """Record a check run as begun (no counts yet); returns its id."""
    return conn.execute(
        insert(CheckRun).values(as_of=as_of, ingest_id=ingest_id, started_at=started_at, counts={})
        .returning(CheckRun.id)
    ).scalar_one()


def finish_check(conn: Connection, run_id: int, *, finished_at: datetime, counts: dict) -> None:
    conn.execute(update(CheckRun).where(CheckRun.id == run_id).values(finished_at=finished_at, counts=counts))


def latest_check(conn: Connection):
    """The latest check run as a row (id, as_of, ingest_id); None before the first check."""
    return conn.execute(
        select(CheckRun.id, CheckRun.as_of, CheckRun.ingest_id).order_by(CheckRun.id.desc()).limit(1)
    ).first()


def check_as_of(conn: Connection, run_id: int) -> date | None:
    """The day check run `run_id` evaluated as of (None: no such run)."""
    return conn.execute(select(CheckRun.as_of).where(CheckRun.id == int(run_id))).scalar()


def snapshot_ingest_id(conn: Connection) -> int | None:
    """The ingest of the snapshot in force (None: nothing ingested yet, or no snapshot row)."""
    return conn.execute(select(SnapshotInfo.ingest_id)).scalar()
