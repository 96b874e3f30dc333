"""Calendar arithmetic for statutory clocks (domain.md section 1).

Every statutory period is calendar time: weekends and bank holidays do not stop it. Each rule
has a scalar form (used by the oracle evaluator and tests) and a polars expression form (used
by the vectorised engine); both are defined here so they cannot drift apart.
"""

import calendar as _calendar
from datetime import date, timedelta

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


def age_in_years(date_of_birth: date, on: date) -> int:
    """Completed years of age on a date (a birthday on the date counts)."""
    years = on.year - date_of_birth.year
    if (on.month, on.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def weeks_expr(anchor: pl.Expr, weeks: int) -> pl.Expr:
    return anchor + pl.duration(days=7 * weeks)


def months_expr(anchor: pl.Expr, months: int | pl.Expr) -> pl.Expr:
    """Vectorised add_months; polars' calendar offset clamps to month end exactly as the rule says."""
    if isinstance(months, int):
        return anchor.dt.offset_by(f"{months}mo")
    return anchor.dt.offset_by(months.cast(pl.Utf8) + "mo")


def age_expr(date_of_birth: pl.Expr, on: pl.Expr) -> pl.Expr:
    """Vectorised age_in_years."""
    # dt.month()/dt.day() are Int8: widen before arithmetic.
    before_birthday = (on.dt.month().cast(pl.Int32) * 100 + on.dt.day()) < (
        date_of_birth.dt.month().cast(pl.Int32) * 100 + date_of_birth.dt.day()
    )
    return on.dt.year() - date_of_birth.dt.year() - before_birthday.cast(pl.Int32)
