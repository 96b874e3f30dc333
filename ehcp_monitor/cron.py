"""Cron expressions for the schedule: checked when the settings load, turned into triggers by `serve`.

APScheduler numbers weekdays from Monday = 0, classic cron from Sunday = 0: the same digit means
different days. The schedule therefore accepts day names only in the day-of-week field.
"""

import re

from apscheduler.triggers.cron import CronTrigger

_DAY_FIELD = re.compile(r"^(\*|[a-z]{3}(-[a-z]{3})?)(,[a-z]{3}(-[a-z]{3})?)*$")


def cron_problem(expression: str) -> str | None:
    fields = expression.split()
    if len(fields) != 5:
        return "must have 5 fields: minute hour day month day-of-week"
    if not _DAY_FIELD.match(fields[4].lower()):
        return "must use day names (mon-sun) or * for the day of week, never numbers"
    try:
        trigger_from(expression, "Europe/London")
    except ValueError as exc:
        return f"is not a valid cron expression ({exc})"
    return None


def trigger_from(expression: str, timezone: str) -> CronTrigger:
    minute, hour, day, month, day_of_week = expression.split()
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week.lower(),
        timezone=timezone,
    )
