from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ehcp_monitor.domain import calendar as cal


def test_weeks_are_calendar_days_inclusive_due_date():
    # docs/rules.md, Counting time: received Mon 2025-01-06, 20 weeks -> due Mon 2025-05-26.
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
maybe_dates = st.one_of(st.none(), dates)
# Day-number arithmetic must also hold before 1970 (negative day numbers) and across centuries.
# (Kept a little inside Python's range so that adding up to 36 months stays a valid date.)
wide_dates = st.dates(min_value=date(4, 1, 1), max_value=date(9996, 1, 1))
# A narrow window (a leap February, month ends, a year end) that long columns fill densely.
narrow = st.one_of(st.none(), st.dates(min_value=date(2023, 11, 25), max_value=date(2024, 3, 31)))


def check_polars_forms(rows):
    """The vectorised forms give the scalar forms' dates, row by row, nulls staying null.

    The columns are built so that some are short over a wide range (the polars forms compute
    directly) and some long over a narrow one (they compute once per day, then look up)."""
    df = pl.DataFrame(
        {"a": [r[0] for r in rows], "b": [r[1] for r in rows]}, schema={"a": pl.Date, "b": pl.Date}
    )
    offsets = sorted({r[2] for r in rows})
    out = df.select(
        cal.weeks_expr(pl.col("a"), 20).alias("w"),
        cal.age_expr(pl.col("a"), pl.col("b")).alias("age"),
        cal.same_year_expr(pl.col("a"), 2, 15).alias("feb15"),
        cal.same_year_expr(pl.col("a"), 3, 31).alias("mar31"),
        *[cal.months_expr(pl.col("a"), m).alias(f"m{m}") for m in offsets],
    )
    for i, (a, b, m) in enumerate(rows):
        row = out.row(i, named=True)
        assert row["w"] == (None if a is None else cal.add_weeks(a, 20))
        assert row[f"m{m}"] == (None if a is None else cal.add_months(a, m))
        assert row["age"] == (None if a is None or b is None else cal.age_in_years(a, b))
        assert row["feb15"] == (None if a is None else cal.same_year(a, 2, 15))
        assert row["mar31"] == (None if a is None else cal.same_year(a, 3, 31))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(maybe_dates, maybe_dates, st.integers(-24, 36)), min_size=1, max_size=40))
def test_polars_forms_agree_with_scalar_forms(rows):
    check_polars_forms(rows)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(narrow, narrow, st.integers(-24, 36)), min_size=150, max_size=400))
def test_polars_forms_agree_on_long_columns_of_few_days(rows):
    check_polars_forms(rows)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(wide_dates, wide_dates, st.integers(-24, 36)), min_size=1, max_size=40))
def test_polars_forms_agree_across_the_whole_date_range(rows):
    check_polars_forms(rows)


@pytest.mark.parametrize("born, on, age", [
    (date(2020, 2, 29), date(2025, 2, 28), 4),
    (date(2020, 2, 29), date(2025, 3, 1), 5),
    (date(2020, 3, 1), date(2025, 3, 1), 5),
    (date(1960, 12, 31), date(1961, 1, 1), 0),
])
def test_age_expr_birthdays(born, on, age):
    df = pl.DataFrame({"b": [born] * 3, "o": [on, on, None]})
    assert df.select(cal.age_expr(pl.col("b"), pl.col("o")))[:, 0].to_list() == [age, age, None]


@pytest.mark.parametrize("born, leaves", [
    (date(2009, 8, 31), date(2025, 6, 27)),  # 16 on the last day of the school year
    (date(2009, 9, 1), date(2026, 6, 26)),  # 16 on the first day of the next one
    (date(2009, 7, 15), date(2025, 6, 27)),  # 16 in the summer holidays: leaves in June, aged 15
    (date(2012, 1, 1), date(2028, 6, 30)),  # June 30 itself a Friday
])
def test_school_leaving_date_is_the_last_friday_in_june_of_the_school_year_of_the_sixteenth_birthday(born, leaves):
    assert cal.school_leaving_date(born) == leaves and leaves.weekday() == 4
    assert pl.select(cal.school_leaving_date_expr(pl.lit(born))).item() == leaves


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dates(min_value=date(1950, 1, 1), max_value=date(2030, 12, 31)), min_size=1, max_size=50))
def test_school_leaving_date_expr_agrees_with_the_scalar_form(born):
    got = pl.DataFrame({"born": born}).select(cal.school_leaving_date_expr(pl.col("born"))).to_series().to_list()
    assert got == [cal.school_leaving_date(b) for b in born]
