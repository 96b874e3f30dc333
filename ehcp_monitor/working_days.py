"""Working days (England and Wales) and the touchpoint sending window (docs/touchpoints.md).

A working day is Monday to Friday and not a bank holiday in England and Wales (the Banking and
Financial Dealings Act 1971 holidays, with the substitute days when one falls on a weekend).
The holidays come from the kept `holidays` library (England subdivision: Wales has the same
bank holidays); tests/test_working_days.py fails when its data stops covering next year.

Counting convention, used by every function here and by the service level in docs/touchpoints.md:
`add_working_days(d, n)` is the n-th working day after d (d itself is not counted), so
`next_working_day(d) == add_working_days(d, 1)`, and `working_days_between(a, b)` is the number
of working days in (a, b], so `working_days_between(d, add_working_days(d, n)) == n`.
"something within one working day of d" means on or before `add_working_days(d, 1)`.

Nothing here reads the clock: dates and `now_utc` are passed in.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import holidays
import polars as pl

if TYPE_CHECKING:
    from ehcp_monitor.config import Settings

LONDON = ZoneInfo("Europe/London")


def _calendar() -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv="ENG")


def covered_years() -> tuple[int, int]:
    """The first and last year the bank-holiday data covers."""
    cal = _calendar()
    return cal.start_year, cal.end_year


@lru_cache(maxsize=256)
def bank_holidays(year: int) -> frozenset[date]:
    """England and Wales bank holidays of a year, substitute days included."""
    first, last = covered_years()
    if not first <= year <= last:
        raise ValueError(f"no bank-holiday data for {year} (covered: {first}-{last})")
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(d: date) -> bool:
    return d.weekday() < 5 and d not in bank_holidays(d.year)


def next_working_day(d: date) -> date:
    """The first working day after d (never d itself)."""
    return add_working_days(d, 1)


def add_working_days(d: date, n: int) -> date:
    """The n-th working day after d (n > 0) or before it (n < 0); d itself when n == 0."""
    step = timedelta(days=1 if n >= 0 else -1)
    left = abs(n)
    while left:
        d += step
        if is_working_day(d):
            left -= 1
    return d


def working_days_between(a: date, b: date) -> int:
    """Working days in (a, b]; negative (minus those in (b, a]) when b is before a."""
    if b < a:
        return -working_days_between(b, a)
    return sum(1 for k in range(1, (b - a).days + 1) if is_working_day(a + timedelta(days=k)))


# --- vectorised forms (polars) ----------------------------------------------------------------
# One small table per call, a row per calendar day of the range: `number` counts the working days
# up to and including that day, so (a, b] holds number(b) - number(a) working days and the n-th
# working day after a is the working day numbered number(a) + n. Joins do the rest: no per-row Python.

def working_day_table(start: date, end: date) -> pl.DataFrame:
    """Columns `date`, `working` (bool) and `number` (working days from `start` to `date`, inclusive)."""
    days = pl.date_range(start, end, "1d", eager=True).alias("date")
    holidays_in_range = sorted(h for y in range(start.year, end.year + 1) for h in bank_holidays(y))
    return (
        pl.DataFrame({"date": days})
        .with_columns(working=(pl.col("date").dt.weekday() <= 5)
                      & ~pl.col("date").is_in(pl.Series(holidays_in_range, dtype=pl.Date).implode()))
        .with_columns(number=pl.col("working").cast(pl.Int64).cum_sum())
    )


def _span(frame: pl.DataFrame, columns: list[str]) -> tuple[date, date] | None:
    values = pl.concat([frame.get_column(c).drop_nulls() for c in columns])
    if values.is_empty():
        return None
    return values.min(), values.max()  # type: ignore[return-value]


def with_working_days_between(frame: pl.DataFrame, a: str, b: str, *, alias: str) -> pl.DataFrame:
    """`frame` with column `alias`: working_days_between(a, b) per row (null where either is null)."""
    span = _span(frame, [a, b])
    if span is None:
        return frame.with_columns(pl.lit(None, dtype=pl.Int64).alias(alias))
    table = working_day_table(*span).select("date", "number")
    # A row index keeps the frame's order through the joins.
    return (
        frame.with_row_index("__row")
        .join(table.rename({"date": a, "number": "__na"}), on=a, how="left")
        .join(table.rename({"date": b, "number": "__nb"}), on=b, how="left")
        .sort("__row")
        .with_columns((pl.col("__nb") - pl.col("__na")).alias(alias))
        .drop("__row", "__na", "__nb")
    )


def with_added_working_days(frame: pl.DataFrame, column: str, n: int, *, alias: str) -> pl.DataFrame:
    """`frame` with column `alias`: add_working_days(column, n) per row, for n >= 0."""
    if n < 0:
        raise ValueError("n must be 0 or more")
    if n == 0:
        return frame.with_columns(pl.col(column).alias(alias))
    span = _span(frame, [column])
    if span is None:
        return frame.with_columns(pl.lit(None, dtype=pl.Date).alias(alias))
    # n working days never take more than 2n + 14 calendar days (at most 4 days off in a row).
    table = working_day_table(span[0], span[1] + timedelta(days=2 * n + 14))
    working = table.filter("working").select(pl.col("number").alias("__target"), pl.col("date").alias(alias))
    return (
        frame.with_row_index("__row")
        .join(table.select(pl.col("date").alias(column), pl.col("number").alias("__n")), on=column, how="left")
        .with_columns(__target=pl.col("__n") + n)
        .join(working, on="__target", how="left")
        .sort("__row")
        .drop("__row", "__n", "__target")
    )


# --- the sending window -----------------------------------------------------------------------

def parse_hh_mm(value: str) -> time:
    """'08:00' -> time(8, 0); '24:00' (an end of window at midnight) -> time.max."""
    if value == "24:00":
        return time.max
    hours, _, minutes = value.partition(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError(f"not a time of day in HH:MM: {value!r}")
    return time(int(hours), int(minutes))


def _window(settings: "Settings") -> tuple[time, time, bool]:
    tp = settings.touchpoints
    start, end = parse_hh_mm(tp.send_window_start), parse_hh_mm(tp.send_window_end)
    if end <= start:
        raise ValueError("touchpoints.send_window_end must be after touchpoints.send_window_start")
    return start, end, tp.send_on_working_days_only


def _local(now_utc: datetime) -> datetime:
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must carry a time zone")
    return now_utc.astimezone(LONDON)


def _open_day(day: date, working_only: bool) -> bool:
    return is_working_day(day) if working_only else True


def in_sending_window(now_utc: datetime, settings: "Settings") -> bool:
    """Whether a message may go now: inside [start, end) local time (Europe/London, so BST in
    summer), on a working day when `touchpoints.send_on_working_days_only`."""
    start, end, working_only = _window(settings)
    local = _local(now_utc)
    return _open_day(local.date(), working_only) and start <= local.time() < end


def next_window_opens(now_utc: datetime, settings: "Settings") -> datetime:
    """When sending may next happen, in UTC: `now_utc` itself when the window is open now."""
    if in_sending_window(now_utc, settings):
        return now_utc
    start, _end, working_only = _window(settings)
    local = _local(now_utc)
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    while not _open_day(day, working_only):
        day += timedelta(days=1)
    return datetime.combine(day, start, tzinfo=LONDON).astimezone(UTC)


__all__ = [
    "LONDON",
    "add_working_days",
    "bank_holidays",
    "covered_years",
    "in_sending_window",
    "is_working_day",
    "next_window_opens",
    "next_working_day",
    "parse_hh_mm",
    "with_added_working_days",
    "with_working_days_between",
    "working_day_table",
    "working_days_between",
]
