"""Reporting periods: a month (`2025-06`), a quarter (`2025-Q2`) or a year (`2025`)."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from ehcp_monitor.errors import ConfigError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


def month_end(year: int, month: int) -> date:
    y, m = _add_months(year, month, 1)
    return date(y, m, 1) - timedelta(days=1)


@dataclass(frozen=True)
class Period:
    kind: str  # month | quarter | year
    start: date
    end: date  # inclusive

    @property
    def code(self) -> str:
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{MONTH_NAMES[self.start.month - 1]} {self.start.year}"
        if self.kind == "quarter":
            return (f"Q{(self.start.month - 1) // 3 + 1} {self.start.year} "
                    f"({MONTH_NAMES[self.start.month - 1][:3]}-{MONTH_NAMES[self.end.month - 1][:3]})")
        return f"Calendar year {self.start.year}"

    def previous(self) -> "Period":
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind]
        y, m = _add_months(self.start.year, self.start.month, -months)
        ey, em = _add_months(y, m, months - 1)
        return Period(self.kind, date(y, m, 1), month_end(ey, em))

    def trend_months(self) -> list[date]:
        """First days of the months of the trend: 12 ending with the period's last month, or 24 for a
        year (so a year shows itself and the one before)."""
        n = 24 if self.kind == "year" else 12
        return [date(*_add_months(self.end.year, self.end.month, -i), 1) for i in range(n - 1, -1, -1)]


def parse_period(text: str) -> Period:
    text = (text or "").strip()
    if m := _MONTH.match(text):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            return Period("month", date(year, month, 1), month_end(year, month))
    elif m := _QUARTER.match(text):
        year, q = int(m[1]), int(m[2])
        return Period("quarter", date(year, 3 * q - 2, 1), month_end(year, 3 * q))
    elif m := _YEAR.match(text):
        year = int(m[1])
        return Period("year", date(year, 1, 1), date(year, 12, 31))
    raise ConfigError(f"--period {text!r} is not a month (2025-06), quarter (2025-Q2) or year (2025)")


def latest_full_month(as_of: date) -> Period:
    """The last whole month before `as_of` (what the monthly board pack job reports)."""
    y, m = _add_months(as_of.year, as_of.month, -1)
    return Period("month", date(y, m, 1), month_end(y, m))
