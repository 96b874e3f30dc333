"""A report made by hand (`report late-list`, `report board-pack`) counts as a run of its job.

It takes the job's lock (exit 4 while a scheduled run of that job is going) and writes a
`job_runs` record like any run, so `health` and `jobs` see it.
"""

import uuid
from contextlib import contextmanager
from datetime import date

from sqlalchemy import Engine

from ehcp_monitor import clock
from ehcp_monitor.db.locks import job_lock
from ehcp_monitor.scheduling import runs
from ehcp_monitor.scheduling.runner import error_summary


@contextmanager
def recorded_as(engine: Engine, job: str, *, as_of: date, command: str):
    """Run the block as a run of `job`; yields the counts dict recorded with it."""
    with job_lock(engine, job):
        runs.mark_abandoned(engine, job, now=clock.now_utc())
        run_id = str(uuid.uuid4())
        runs.start_run(engine, job=job, run_id=run_id, as_of=as_of, now=clock.now_utc())
        counts = {"by_hand": command}
        try:
            yield counts
        except BaseException as exc:
            status = runs.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else runs.FAILED
            runs.finish_run(engine, run_id, status=status, counts=counts, error=error_summary(exc),
                            now=clock.now_utc())
            raise
        runs.finish_run(engine, run_id, status=runs.SUCCESS, counts=counts, error=None, now=clock.now_utc())
