from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ehcp_monitor import calendar as cal


def test_weeks_are_calendar_days_inclusive_due_date():
    # domain.md 1: received Mon 2025-01-06, 20 weeks -> due Mon 2025-05-26.
    assert cal.add_weeks(date(2025, 1, 6), 20) == date(2025, 5, 26)
    assert cal.add_weeks(date(2025, 1, 6), 6) == date(2025, 2, 17)


@pytest.mark.parametrize(
    "anchor, months, due",
    [
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2023, 8, 31), 6, date(2024, 2, 29)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2025, 3, 15), 12, date(2026, 3, 15)),
        (date(2025, 12, 31), 2, date(2026, 2, 28)),
        (date(2026, 3, 31), -5, date(2025, 10, 31)),
        (date(2026, 7, 31), -5, date(2026, 2, 28)),
    ],
)
def test_months_clamp_to_month_end(anchor, months, due):
    assert cal.add_months(anchor, months) == due


def test_day_of_service_is_day_one():
    assert cal.last_day_of_window(date(2025, 3, 3), 15) == date(2025, 3, 17)


def test_elapsed_weeks_one_decimal():
    assert cal.elapsed_weeks(date(2025, 1, 6), date(2025, 5, 27)) == 20.1


def test_age_birthday_on_the_day_counts():
    assert cal.age_in_years(date(2020, 3, 1), date(2025, 3, 1)) == 5
    assert cal.age_in_years(date(2020, 3, 1), date(2025, 2, 28)) == 4
    assert cal.age_in_years(date(2020, 2, 29), date(2025, 2, 28)) == 4
    assert cal.age_in_years(date(2020, 2, 29), date(2025, 3, 1)) == 5


dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(dates, dates, st.integers(-24, 36)), min_size=1, max_size=40))
def test_polars_forms_agree_with_scalar_forms(rows):
    df = pl.DataFrame(
        {"a": [r[0] for r in rows], "b": [r[1] for r in rows], "m": [r[2] for r in rows]},
        schema={"a": pl.Date, "b": pl.Date, "m": pl.Int32},
    )
    out = df.select(
        cal.weeks_expr(pl.col("a"), 20).alias("w"),
        cal.months_expr(pl.col("a"), 12).alias("m12"),
        cal.months_expr(pl.col("a"), pl.col("m")).alias("mm"),
        cal.age_expr(pl.col("a"), pl.col("b")).alias("age"),
    )
    for (a, b, m), w, m12, mm, age in zip(rows, *out.to_dict(as_series=False).values()):
        assert w == cal.add_weeks(a, 20)
        assert m12 == cal.add_months(a, 12)
        assert mm == cal.add_months(a, m)
        assert age == cal.age_in_years(a, b)
