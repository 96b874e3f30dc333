"""Running a check: read the snapshot, evaluate, and keep the results in one transaction."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl
from sqlalchemy import Engine

from ehcp_monitor.checks.clock_engine import COLUMNS_USED, evaluate
from ehcp_monitor.clock import now_utc
from ehcp_monitor.config import Settings
from ehcp_monitor.db import results as results_store
from ehcp_monitor.db.locks import holding_store_lock
from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.db.withheld import read_withheld, withhold
from ehcp_monitor.logs import get_logger

log = get_logger()


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


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    grouped = frame.group_by(column).len().sort(column)
    return dict(zip(grouped[column].to_list(), grouped["len"].to_list(), strict=True))


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
        run_id = results_store.start_check(conn, as_of=as_of, ingest_id=snapshot.ingest_id, started_at=started)
        results_store.replace_results(conn, run_id, frame, overdue, as_of)
        results_store.finish_check(conn, run_id, finished_at=now(), counts=summary_counts)
    results_store.keep_written(engine, run_id, frame)
    log.info("check_finished", check_run_id=run_id, as_of=as_of.isoformat(), results=frame.height,
             by_status=summary_counts["by_status"], very_late=summary_counts["very_late"])
    return CheckSummary(run_id=run_id, as_of=as_of, ingest_id=snapshot.ingest_id, frame=frame, **summary_counts)
