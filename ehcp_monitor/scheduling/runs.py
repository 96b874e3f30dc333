"""Run records (table job_runs): written when a run starts and when it ends.

A run whose process died (killed, power cut) stays `running`. The next run of the same job holds
the job's lock, so no other live process can own such a record: it marks them `abandoned`.
"""

import os
import socket
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import Engine, and_, func, insert, select, update

from ehcp_monitor.db.models import JobRun, StoreSetting

RUNNING = "running"
SUCCESS = "success"
FAILED = "failed"
INTERRUPTED = "interrupted"
ABANDONED = "abandoned"

ERROR_MAX_CHARS = 500


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    job: str
    as_of: date
    started_at: datetime
    finished_at: datetime | None
    status: str
    counts: dict
    error: str | None
    pid: int | None
    hostname: str | None


def as_utc(moment: datetime | None) -> datetime | None:
    """Timestamps come back naive from SQLite; they were written in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _record(row) -> RunRecord:
    return RunRecord(
        run_id=row.run_id, job=row.job, as_of=row.as_of, started_at=as_utc(row.started_at),
        finished_at=as_utc(row.finished_at), status=row.status, counts=row.counts or {},
        error=row.error, pid=row.pid, hostname=row.hostname,
    )


def mark_abandoned(engine: Engine, job: str, *, now: datetime) -> int:
    """Mark every `running` record of `job` abandoned. Call only while holding the job's lock."""
    with engine.begin() as conn:
        result = conn.execute(
            update(JobRun)
            .where(and_(JobRun.job == job, JobRun.status == RUNNING))
            .values(status=ABANDONED, finished_at=now,
                    error="the process running it stopped without finishing (killed or crashed)")
        )
    return result.rowcount


def start_run(engine: Engine, *, job: str, run_id: str, as_of: date, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(JobRun).values(
                run_id=run_id, job=job, as_of=as_of, started_at=now, status=RUNNING, counts={},
                pid=os.getpid(), hostname=socket.gethostname()[:255],
            )
        )


def finish_run(engine: Engine, run_id: str, *, status: str, counts: dict, error: str | None,
               now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(JobRun)
            .where(JobRun.run_id == run_id)
            .values(status=status, counts=counts, finished_at=now,
                    error=error[:ERROR_MAX_CHARS] if error else None)
        )


def get_run(engine: Engine, run_id: str) -> RunRecord | None:
    with engine.connect() as conn:
        row = conn.execute(select(JobRun).where(JobRun.run_id == run_id)).first()
    return _record(row) if row else None


def runs_of(engine: Engine, job: str) -> list[RunRecord]:
    """Every run of `job`, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(JobRun).where(JobRun.job == job).order_by(JobRun.started_at.desc())
        ).all()
    return [_record(r) for r in rows]


def last_runs(engine: Engine) -> dict[str, RunRecord]:
    """The latest run of each job that has run."""
    latest = (
        select(JobRun.job, func.max(JobRun.started_at).label("started_at")).group_by(JobRun.job).subquery()
    )
    with engine.connect() as conn:
        rows = conn.execute(
            select(JobRun).join(
                latest, and_(JobRun.job == latest.c.job, JobRun.started_at == latest.c.started_at)
            )
        ).all()
    return {r.job: _record(r) for r in rows}


def last_successes(engine: Engine) -> dict[str, datetime]:
    """When each job last finished successfully."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(JobRun.job, func.max(JobRun.finished_at))
            .where(JobRun.status == SUCCESS)
            .group_by(JobRun.job)
        ).all()
    return {job: as_utc(finished) for job, finished in rows}


SERVICE_BEGAN_KEY = "service.began"


def record_service_start(engine: Engine, *, now: datetime) -> None:
    """Remember when `serve` first started on this store (health waits for first scheduled runs)."""
    with engine.begin() as conn:
        if conn.execute(select(StoreSetting.key).where(StoreSetting.key == SERVICE_BEGAN_KEY)).first() is None:
            conn.execute(insert(StoreSetting).values(key=SERVICE_BEGAN_KEY, value=now.isoformat(), set_at=now))


def monitor_began(engine: Engine) -> datetime | None:
    """When this store began running jobs: the first `serve` start or the first run, whichever came first."""
    with engine.connect() as conn:
        first_run = conn.execute(select(func.min(JobRun.started_at))).scalar_one()
        started = conn.execute(select(StoreSetting.set_at).where(StoreSetting.key == SERVICE_BEGAN_KEY)).scalar()
    moments = [as_utc(m) for m in (first_run, started) if m is not None]
    return min(moments) if moments else None
