"""Running a check: read the snapshot, evaluate, and keep the results in one transaction."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl
from sqlalchemy import Engine, delete, insert, update

from ehcp_monitor.clock import now_utc
from ehcp_monitor.checks.clock_engine import COLUMNS_USED, evaluate
from ehcp_monitor.db.withheld import read_withheld, withhold
from ehcp_monitor.config import Settings
from ehcp_monitor.db.bulk import write_frames
from ehcp_monitor.db.models import CheckRun, check_results
from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.logs import get_logger
from ehcp_monitor.db.locks import holding_store_lock

log = get_logger()

OVERDUE_HISTORY_COLUMNS = (
    "run_id", "as_of", "measure", "request_id", "plan_id", "person_id", "item", "anchor_date",
    "due_date", "days_late", "very_late",
)


@dataclass
class CheckSummary:
    run_id: int
    as_of: date
    ingest_id: int | None  # the snapshot's ingest (None: nothing ingested yet)
    results: int
    by_status: dict[str, int]
    by_measure: dict[str, int]
    very_late: int
    overdue: int
    withheld: int  # clock instances not evaluated: the ingest found unusable data for them
    # The evaluated rows (what `check --out` writes); not part of the stored summary.
    frame: pl.DataFrame = field(repr=False, compare=False, default_factory=pl.DataFrame)

    def counts(self) -> dict:
        return {
            "results": self.results,
            "by_status": self.by_status,
            "by_measure": self.by_measure,
            "very_late": self.very_late,
            "overdue": self.overdue,
            "withheld": self.withheld,
        }


def _replace_results(conn, run_id: int, frame: pl.DataFrame, overdue: pl.DataFrame, as_of: date) -> None:
    """Swap in the new results and add this run's overdue rows to the history, in one bulk write."""
    # TRUNCATE on PostgreSQL: deleting millions of rows one by one is slow and bloats the table.
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f'TRUNCATE "{check_results.name}"')
    else:
        conn.execute(delete(check_results))
    history = overdue.with_columns(run_id=pl.lit(run_id), as_of=pl.lit(as_of, dtype=pl.Date))
    write_frames(conn, {
        check_results.name: frame.select(pl.lit(run_id).alias("run_id"), pl.all()),
        "overdue_history": history.select(OVERDUE_HISTORY_COLUMNS),
    })


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    grouped = frame.group_by(column).len().sort(column)
    return dict(zip(grouped[column].to_list(), grouped["len"].to_list()))


@holding_store_lock("check")  # the snapshot read is the one the results are stored for
def run_check(
    engine: Engine, settings: Settings, *, as_of: date, now: Callable[[], datetime] = now_utc
) -> CheckSummary:
    """Evaluate the current snapshot; the latest results replace the previous, overdue rows are kept."""
    started = now()
    snapshot = read_snapshot(engine, COLUMNS_USED)
    with engine.connect() as conn:
        withheld = read_withheld(conn, snapshot.ingest_id)
    evaluated = evaluate(snapshot, settings, as_of)
    frame = withhold(evaluated, withheld)
    overdue = frame.filter(pl.col("status") == "overdue")
    summary_counts = {
        "results": frame.height,
        "by_status": _counts(frame, "status"),
        "by_measure": _counts(frame, "measure"),
        "very_late": int(frame["very_late"].sum()),
        "overdue": overdue.height,
        "withheld": evaluated.height - frame.height,
    }
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(CheckRun)
            .values(as_of=as_of, ingest_id=snapshot.ingest_id, started_at=started, counts={})
            .returning(CheckRun.id)
        ).scalar_one()
        _replace_results(conn, run_id, frame, overdue, as_of)
        conn.execute(
            update(CheckRun).where(CheckRun.id == run_id).values(finished_at=now(), counts=summary_counts)
        )
    log.info("check_finished", check_run_id=run_id, as_of=as_of.isoformat(), results=frame.height,
             by_status=summary_counts["by_status"], very_late=summary_counts["very_late"])
    return CheckSummary(run_id=run_id, as_of=as_of, ingest_id=snapshot.ingest_id, frame=frame, **summary_counts)
