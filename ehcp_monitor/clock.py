"""The only place that reads the wall clock.

Rules never call this: the CLI and the scheduler call it once and pass the as-of date down
(docs/rules.md, Counting time).
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def today_in_london() -> date:
    return datetime.now(LONDON).date()


def now_utc() -> datetime:
    return datetime.now(ZoneInfo("UTC"))
