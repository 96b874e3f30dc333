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


def _problem(schedule: JobSchedule, last_success: datetime | None, now: datetime) -> str | None:
    if not schedule.enabled:
        return None
    if last_success is None:
        return "has never succeeded"
    age = now - last_success
    if age > timedelta(hours=schedule.max_age_hours):
        hours = age.total_seconds() / 3600
        return f"last succeeded {hours:.1f} hours ago (max_age_hours {schedule.max_age_hours:g})"
    return None


def job_states(engine: Engine, settings: Settings, now: datetime) -> list[JobState]:
    last = runs.last_runs(engine)
    successes = runs.last_successes(engine)
    return [
        JobState(
            schedule=s,
            next_run=s.next_run(now),
            last_run=last.get(s.job),
            last_success=successes.get(s.job),
            problem=_problem(s, successes.get(s.job), now),
        )
        for s in job_schedules(settings)
    ]
