"""The record of each report written (table report_runs)."""

from datetime import date
from pathlib import Path

from sqlalchemy import Engine, func, insert

from ehcp_monitor.db.models import ReportRun


def record_report_run(engine: Engine, *, kind: str, as_of: date, paths: list[Path], counts: dict,
                      period: str | None = None, check_run_id: int | None = None) -> int:
    with engine.begin() as conn:
        return conn.execute(
            insert(ReportRun)
            .values(
                kind=kind,
                as_of=as_of,
                period=period,
                check_run_id=check_run_id,
                # The database's clock, so no code of ours reads the time (clock.py is the only one).
                created_at=func.current_timestamp(),
                paths=[str(p) for p in paths],
                counts=counts,
            )
            .returning(ReportRun.id)
        ).scalar_one()
