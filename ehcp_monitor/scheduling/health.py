"""The state of each job: its schedule, next run, last run, last success, and whether it is late.

`now` (aware) comes from the caller (the CLI reads ehcp_monitor.clock).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from ehcp_monitor.config import Settings
from ehcp_monitor.scheduling import runs
from ehcp_monitor.scheduling.schedule import JobSchedule, job_schedules


@dataclass(frozen=True)
class JobState:
    schedule: JobSchedule
    next_run: datetime | None
    last_run: runs.RunRecord | None
    last_success: datetime | None
    problem: str | None  # why `health` complains about this job, or None

    @property
    def job(self) -> str:
        return self.schedule.job


def _problem(schedule: JobSchedule, last_success: datetime | None, now: datetime,
             began: datetime | None = None, last_run: runs.RunRecord | None = None) -> str | None:
    if not schedule.enabled:
        return None
    if last_success is None:
        # Run (by hand, or by cron on its own times) and failed every time: broken from the start,
        # whatever the schedule says of its first run.
        if last_run is not None and last_run.status == runs.FAILED:
            return "has never succeeded: its last run failed"
        # Not late before its first scheduled time since the monitor began (and that time's grace).
        first = schedule.next_run(began) if began else None
        if first is not None and now < first + timedelta(hours=schedule.misfire_grace_hours):
            return None
        return "has never succeeded"
    age = now - last_success
    if age > timedelta(hours=schedule.max_age_hours):
        hours = age.total_seconds() / 3600
        return f"last succeeded {hours:.1f} hours ago (max_age_hours {schedule.max_age_hours:g})"
    return None


def job_states(engine: Engine, settings: Settings, now: datetime) -> list[JobState]:
    last = runs.last_runs(engine)
    successes = runs.last_successes(engine)
    began = runs.monitor_began(engine)
    return [
        JobState(
            schedule=s,
            next_run=s.next_run(now),
            last_run=last.get(s.job),
            last_success=successes.get(s.job),
            problem=_problem(s, successes.get(s.job), now, began, last.get(s.job)),
        )
        for s in job_schedules(settings)
    ]


# --- touchpoint emails in doubt (a dispatcher crashed, or a send may or may not have arrived) ---


@dataclass(frozen=True)
class RowsInDoubt:
    unknown: int  # recorded `unknown`: a person must check whether it arrived
    interrupted: int  # still `sending` past the hand-over lease: its dispatcher died mid-send

    @property
    def count(self) -> int:
        return self.unknown + self.interrupted

    def line(self) -> str:
        # An interrupted row is `sending` until the next dispatch records it `unknown`.
        return (f"touchpoints: {self.count} emails in doubt ({self.unknown} unknown, {self.interrupted} "
                "interrupted while sending): check each, see `ehcp-monitor touchpoints list --status unknown`"
                + (" (and `--status sending`: the next dispatch records those unknown)" if self.interrupted else ""))


def rows_in_doubt(engine: Engine, now: datetime) -> RowsInDoubt:
    """The outbox rows that may or may not have reached the family (docs/touchpoints.md)."""
    from sqlalchemy import and_, func, or_, select

    from ehcp_monitor.db.models import Touchpoint

    interrupted = and_(Touchpoint.status == "sending", Touchpoint.next_attempt_at <= now)
    with engine.connect() as conn:
        counts = dict(conn.execute(
            select(Touchpoint.status, func.count())
            .where(or_(Touchpoint.status == "unknown", interrupted))
            .group_by(Touchpoint.status)
        ).all())
    return RowsInDoubt(unknown=counts.get("unknown", 0), interrupted=counts.get("sending", 0))
