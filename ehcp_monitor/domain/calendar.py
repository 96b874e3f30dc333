"""Calendar arithmetic for statutory clocks (docs/rules.md, Counting time).

Every statutory period is calendar time: weekends and bank holidays do not stop it. Each rule
the clocks use has a scalar form (used by the oracle evaluator and tests) and a polars expression
form (used by the vectorised engine); both are defined here, and property tests hold them equal.
"""

import calendar as _calendar
from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import polars as pl


def add_weeks(anchor: date, weeks: int) -> date:
    """'Within N weeks of D': due = D + 7N days; completing on the due date is on time."""
    return anchor + timedelta(days=7 * weeks)


def add_months(anchor: date, months: int) -> date:
    """'Within N months of D': same day-of-month N months on, clamped to that month's last day."""
    month_index = anchor.month - 1 + months
    year = anchor.year + month_index // 12
    month = month_index % 12 + 1
    day = min(anchor.day, _calendar.monthrange(year, month)[1])
    return date(year, month, day)


def last_day_of_window(served: date, days: int) -> date:
    """'N days' counting the day of service as day 1 (a 15-day window from 3 March ends 17 March)."""
    return served + timedelta(days=days - 1)


def elapsed_weeks(start: date, end: date) -> float:
    """Elapsed weeks for reports: (end - start) in days / 7, one decimal place."""
    return round((end - start).days / 7, 1)


def same_year(anchor: date, month: int, day: int) -> date:
    """A fixed-date deadline in the anchor's calendar year (reg 18: 15 February, 31 March)."""
    return date(anchor.year, month, day)


def age_in_years(date_of_birth: date, on: date) -> int:
    """Completed years of age on a date (a birthday on the date counts)."""
    years = on.year - date_of_birth.year
    if (on.month, on.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def school_leaving_date(date_of_birth: date) -> date:
    """The last day of compulsory school age in England: the last Friday in June of the school
    year (1 September to 31 August) in which the child turns 16 (Education Act 1996 s8; the
    Education (School Leaving Date) Order 1997). After it the young person is over compulsory
    school age."""
    june_30 = date(date_of_birth.year + 16 + (date_of_birth.month >= 9), 6, 30)
    return june_30 - timedelta(days=(june_30.weekday() - 4) % 7)


def school_leaving_date_expr(date_of_birth: pl.Expr) -> pl.Expr:
    """Vectorised school_leaving_date."""
    june_30 = pl.date(date_of_birth.dt.year() + 16 + (date_of_birth.dt.month() >= 9).cast(pl.Int32), 6, 30)
    # polars numbers Monday 1 to Sunday 7: Friday is 5.
    return june_30 - pl.duration(days=(june_30.dt.weekday() - 5) % 7)


# The polars forms work on a date's day number (days since 1970-01-01, the Date's physical
# Int32): integer arithmetic is several times faster than polars' durations and calendar offsets
# over a caseload, and gives the same dates (property tests in tests/test_calendar.py). The civil
# calendar steps run in numpy inside `map_batches`: as one polars expression each reused step
# would be repeated in the expression tree, and on short columns polars' per-call overhead is
# most of the cost. They run once per day of a column's range where that is shorter than the
# column (a caseload's dates span a few decades; its rows are far more), then a gather.


def day_number(day: pl.Expr) -> pl.Expr:
    """A date column as its day number (Int32)."""
    return day.cast(pl.Int32)


def from_day_number(days: pl.Expr) -> pl.Expr:
    return days.cast(pl.Int32).cast(pl.Date)


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of day numbers (proleptic Gregorian; H. Hinnant's civil_from_days)."""
    z = days.astype(np.int64) + 719468  # from 0000-03-01, so positive for every Python date
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153  # months from March
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


def _day_numbers(year: np.ndarray, month: np.ndarray, day: np.ndarray | int) -> np.ndarray:
    """Day numbers of civil dates (H. Hinnant's days_from_civil)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


_MONTH_LENGTHS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return _MONTH_LENGTHS[month - 1] + (leap & (month == 2))


def _add_months_days(days: np.ndarray, months: int) -> np.ndarray:
    year, month, day = _civil(days)
    index = year * 12 + month - 1 + months
    to_year, to_month = index // 12, index % 12 + 1
    return _day_numbers(to_year, to_month, np.minimum(day, _days_in_month(to_year, to_month)))


def _yyyymmdd(days: np.ndarray) -> np.ndarray:
    year, month, day = _civil(days)
    return year * 10000 + month * 100 + day


def _per_day(column: pl.Series, rule: Callable[[np.ndarray], np.ndarray], dtype: pl.DataType) -> pl.Series:
    """`rule` (day numbers to integers) over a date column; nulls stay null."""
    days = column.cast(pl.Int32)
    low, high = days.min(), days.max()
    if low is None:
        return pl.Series(column.name, [None] * days.len(), dtype=dtype)
    if high - low + 1 < days.len():
        table = pl.Series(rule(np.arange(low, high + 1, dtype=np.int64))).cast(dtype)
        return table.gather(days - low).alias(column.name)
    values = pl.Series(column.name, rule(days.fill_null(low).to_numpy().astype(np.int64))).cast(dtype)
    return values if days.null_count() == 0 else pl.select(pl.when(days.is_not_null()).then(values)).to_series()


def _date_rule(rule: Callable[[np.ndarray], np.ndarray]) -> Callable[[pl.Series], pl.Series]:
    return lambda column: _per_day(column, rule, pl.Int32).cast(pl.Date)


def weeks_expr(anchor: pl.Expr, weeks: int) -> pl.Expr:
    """Vectorised add_weeks."""
    return from_day_number(day_number(anchor) + 7 * weeks)


def months_expr(anchor: pl.Expr, months: int) -> pl.Expr:
    """Vectorised add_months: same day-of-month, clamped to the target month's last day."""
    rule = _date_rule(lambda days: _add_months_days(days, months))
    return anchor.map_batches(rule, return_dtype=pl.Date, is_elementwise=True)


def same_year_expr(anchor: pl.Expr, month: int, day: int) -> pl.Expr:
    """The given day and month in the anchor's calendar year (a fixed-date deadline)."""
    rule = _date_rule(lambda days: _day_numbers(_civil(days)[0], np.full(days.shape, month), day))
    return anchor.map_batches(rule, return_dtype=pl.Date, is_elementwise=True)


def age_expr(date_of_birth: pl.Expr, on: pl.Expr) -> pl.Expr:
    """Vectorised age_in_years."""
    def age(columns: list[pl.Series]) -> pl.Series:
        born, on = (_per_day(c, _yyyymmdd, pl.Int32) for c in columns)
        # (YYYYMMDD on) - (YYYYMMDD born), floor-divided by 10,000: completed years, exactly.
        return (on - born) // 10000

    return pl.map_batches([date_of_birth, on], age, return_dtype=pl.Int32, is_elementwise=True)
