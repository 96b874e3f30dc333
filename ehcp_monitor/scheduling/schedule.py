"""The declarative schedule: one entry per job, read from config.toml [schedule]."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from ehcp_monitor.config import JOB_NAMES, Settings
from ehcp_monitor.cron import trigger_from
from ehcp_monitor.errors import ConfigError


@dataclass(frozen=True)
class JobSchedule:
    job: str
    cron: str
    timezone: str
    misfire_grace_hours: float
    max_age_hours: float
    enabled: bool

    @property
    def trigger(self) -> CronTrigger:
        return trigger_from(self.cron, self.timezone)

    @property
    def misfire_grace_seconds(self) -> int:
        return int(self.misfire_grace_hours * 3600)

    def next_run(self, now: datetime) -> datetime | None:
        """The first fire time strictly after `now` (aware), in the schedule's time zone."""
        if not self.enabled:
            return None
        return self.trigger.get_next_fire_time(None, now)


def schedule_timezone(settings: Settings) -> ZoneInfo:
    name = settings.schedule.timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"config: schedule.timezone {name!r} is not a known time zone") from None


def job_schedules(settings: Settings) -> list[JobSchedule]:
    timezone = schedule_timezone(settings).key
    return [
        JobSchedule(
            job=job,
            cron=settings[f"schedule.{job}.cron"],
            timezone=timezone,
            misfire_grace_hours=settings[f"schedule.{job}.misfire_grace_hours"],
            max_age_hours=settings[f"schedule.{job}.max_age_hours"],
            enabled=settings[f"schedule.{job}.enabled"],
        )
        for job in JOB_NAMES
    ]
