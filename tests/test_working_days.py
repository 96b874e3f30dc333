"""Working days in England and Wales and the sending window (ehcp_monitor/working_days.py)."""

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import assume, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from ehcp_monitor import config
from ehcp_monitor.working_days import (
    add_working_days,
    bank_holidays,
    covered_years,
    in_sending_window,
    is_working_day,
    next_window_opens,
    next_working_day,
    with_added_working_days,
    with_working_days_between,
    working_day_table,
    working_days_between,
)


def test_the_bank_holiday_data_covers_next_year():
    # The one test that reads today's date, on purpose: the library's data must keep covering the
    # year after the current one, and a pinned year would never notice it running out. When this
    # fails, upgrade `holidays` (pyproject.toml) so "next working day" stays right.
    next_year = date.today().year + 1
    first, last = covered_years()
    assert first <= next_year <= last
    found = bank_holidays(next_year)
    # England and Wales have eight bank holidays a year (more in a year with a one-off).
    assert len(found) >= 8
    assert any(d.month == 12 and d.day >= 25 for d in found)


@pytest.mark.parametrize("day", [
    date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 6),  # New Year, Good Friday, Easter Monday
    date(2026, 5, 4), date(2026, 5, 25), date(2026, 8, 31),  # early May, spring, summer
    date(2026, 12, 25), date(2026, 12, 28),  # Christmas; Boxing Day is a Saturday: Monday instead
    date(2027, 3, 29), date(2027, 5, 3),  # Easter Monday, early May bank holiday
    date(2027, 12, 27), date(2027, 12, 28),  # Christmas on a Saturday, Boxing Day on a Sunday
])
def test_known_bank_holidays_are_not_working_days(day):
    assert day in bank_holidays(day.year)
    assert not is_working_day(day)


def test_weekends_are_not_working_days_and_ordinary_weekdays_are():
    assert not is_working_day(date(2026, 12, 5))  # Saturday
    assert not is_working_day(date(2026, 12, 6))  # Sunday
    assert is_working_day(date(2026, 12, 7))
    assert is_working_day(date(2026, 12, 24))  # Christmas Eve is not a bank holiday


def test_next_working_day_across_long_weekends():
    assert next_working_day(date(2026, 4, 2)) == date(2026, 4, 7)  # Easter: Good Friday to Monday
    assert next_working_day(date(2027, 12, 24)) == date(2027, 12, 29)  # Sat, Sun, two substitute days
    assert next_working_day(date(2026, 5, 1)) == date(2026, 5, 5)  # early May bank holiday weekend
    assert next_working_day(date(2026, 12, 7)) == date(2026, 12, 8)
    assert next_working_day(date(2026, 12, 5)) == date(2026, 12, 7)  # from a Saturday


@pytest.mark.parametrize("start, n, expected", [
    (date(2026, 12, 23), 1, date(2026, 12, 24)),
    (date(2026, 12, 23), 2, date(2026, 12, 29)),
    (date(2026, 12, 23), 3, date(2026, 12, 30)),
    (date(2026, 12, 29), -2, date(2026, 12, 23)),
    (date(2026, 12, 26), 0, date(2026, 12, 26)),
])
def test_add_working_days(start, n, expected):
    assert add_working_days(start, n) == expected


def test_working_days_between_counts_the_half_open_interval():
    assert working_days_between(date(2026, 12, 23), date(2026, 12, 29)) == 2
    assert working_days_between(date(2026, 12, 29), date(2026, 12, 23)) == -2
    assert working_days_between(date(2026, 12, 24), date(2026, 12, 24)) == 0
    assert working_days_between(date(2026, 12, 25), date(2026, 12, 28)) == 0


@hyp_settings(max_examples=60, deadline=None)
@given(st.dates(date(2025, 1, 1), date(2029, 12, 31)), st.integers(-40, 40))
def test_adding_then_counting_gives_back_n(start, n):
    # Backwards from a day off, the first step lands on a working day that (start - 1, start] lacks.
    assume(n >= 0 or is_working_day(start))
    assert working_days_between(start, add_working_days(start, n)) == n


def test_the_day_table_numbers_working_days():
    table = working_day_table(date(2026, 12, 24), date(2026, 12, 29))
    assert table.get_column("working").to_list() == [True, False, False, False, False, True]
    assert table.get_column("number").to_list() == [1, 1, 1, 1, 1, 2]


def test_vectorised_forms_agree_with_the_scalar_ones():
    days = [date(2026, 1, 1) + timedelta(days=k) for k in range(0, 800, 3)]
    seen = pl.Series("seen", days, dtype=pl.Date)
    sent = pl.Series("sent", [d + timedelta(days=(k * 7) % 11) for k, d in enumerate(days)], dtype=pl.Date)
    frame = pl.DataFrame([seen, sent]).with_columns(
        pl.when(pl.int_range(pl.len()) % 17 == 0).then(None).otherwise(pl.col("sent")).alias("sent"))
    out = with_working_days_between(frame, "seen", "sent", alias="gap")
    out = with_added_working_days(out, "seen", 1, alias="due")
    assert out.columns == ["seen", "sent", "gap", "due"]
    for row in out.iter_rows(named=True):
        expected_gap = None if row["sent"] is None else working_days_between(row["seen"], row["sent"])
        assert row["gap"] == expected_gap
        assert row["due"] == add_working_days(row["seen"], 1)
    assert with_added_working_days(frame, "seen", 5, alias="d").get_column("d").to_list() == [
        add_working_days(d, 5) for d in days]


def test_vectorised_forms_on_an_empty_or_all_null_column():
    empty = pl.DataFrame(schema={"seen": pl.Date, "sent": pl.Date})
    assert with_working_days_between(empty, "seen", "sent", alias="gap").columns == ["seen", "sent", "gap"]
    nulls = pl.DataFrame({"seen": [None, None]}, schema={"seen": pl.Date})
    assert with_added_working_days(nulls, "seen", 1, alias="due").get_column("due").to_list() == [None, None]


# --- the sending window ------------------------------------------------------------------------

def _window(start="08:00", end="20:00", working_only=True):
    return config.defaults().replace(**{
        "touchpoints.send_window_start": start, "touchpoints.send_window_end": end,
        "touchpoints.send_on_working_days_only": working_only,
    })


@pytest.mark.parametrize("now, expected", [
    # Winter (GMT): local time is UTC.
    (datetime(2026, 12, 7, 7, 59, tzinfo=UTC), False),
    (datetime(2026, 12, 7, 8, 0, tzinfo=UTC), True),
    (datetime(2026, 12, 7, 19, 59, tzinfo=UTC), True),
    (datetime(2026, 12, 7, 20, 0, tzinfo=UTC), False),
    # Summer (BST): 07:00 UTC is 08:00 local; 19:00 UTC is 20:00 local.
    (datetime(2026, 6, 8, 6, 59, tzinfo=UTC), False),
    (datetime(2026, 6, 8, 7, 0, tzinfo=UTC), True),
    (datetime(2026, 6, 8, 18, 59, tzinfo=UTC), True),
    (datetime(2026, 6, 8, 19, 0, tzinfo=UTC), False),
    # Weekend and bank holiday.
    (datetime(2026, 12, 5, 12, 0, tzinfo=UTC), False),
    (datetime(2026, 12, 28, 12, 0, tzinfo=UTC), False),
])
def test_in_sending_window(now, expected):
    assert in_sending_window(now, _window()) is expected


def test_the_window_on_the_days_the_clocks_change():
    # 29 March 2026: clocks go forward at 01:00 UTC. Monday 30 March opens at 07:00 UTC (08:00 BST).
    assert next_window_opens(datetime(2026, 3, 27, 20, 0, tzinfo=UTC), _window()) == datetime(
        2026, 3, 30, 7, 0, tzinfo=UTC)
    # 25 October 2026: clocks go back. Friday 23 is BST (07:00 UTC), Monday 26 is GMT (08:00 UTC).
    assert next_window_opens(datetime(2026, 10, 23, 6, 30, tzinfo=UTC), _window()) == datetime(
        2026, 10, 23, 7, 0, tzinfo=UTC)
    assert next_window_opens(datetime(2026, 10, 23, 19, 0, tzinfo=UTC), _window()) == datetime(
        2026, 10, 26, 8, 0, tzinfo=UTC)
    # On the Sunday of the change itself, with weekends allowed: 08:00 GMT after the 01:00 UTC change.
    assert next_window_opens(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), _window(working_only=False)) == (
        datetime(2026, 10, 25, 8, 0, tzinfo=UTC))
    assert in_sending_window(datetime(2026, 3, 29, 7, 0, tzinfo=UTC), _window(working_only=False))


def test_next_window_opens_skips_christmas_and_is_now_when_open():
    assert next_window_opens(datetime(2027, 12, 24, 20, 30, tzinfo=UTC), _window()) == datetime(
        2027, 12, 29, 8, 0, tzinfo=UTC)
    now = datetime(2026, 12, 7, 9, 15, tzinfo=UTC)
    assert next_window_opens(now, _window()) == now


def test_a_window_to_midnight_and_every_day():
    settings = _window("00:00", "24:00", working_only=False)
    assert in_sending_window(datetime(2026, 12, 5, 23, 59, tzinfo=UTC), settings)
    assert in_sending_window(datetime(2026, 12, 25, 0, 0, tzinfo=UTC), settings)


def test_the_clock_must_carry_a_time_zone_and_the_window_must_be_forwards():
    with pytest.raises(ValueError, match="time zone"):
        in_sending_window(datetime(2026, 12, 7, 9, 0), _window())
    with pytest.raises(ValueError, match="send_window_end"):
        in_sending_window(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), _window("20:00", "08:00"))


@pytest.mark.parametrize("bad", ["8:00", "25:00", "12:60", "noon", "24:01"])
def test_window_settings_are_checked(bad):
    with pytest.raises(config.ConfigError, match="send_window_start"):
        config.defaults().replace(**{"touchpoints.send_window_start": bad})


@pytest.mark.parametrize("start, end", [("20:00", "08:00"), ("09:00", "09:00")])
def test_a_window_that_ends_before_it_starts_is_refused_when_the_config_loads(tmp_path, start, end):
    path = tmp_path / "config.toml"
    path.write_text(f'[touchpoints]\nsend_window_start = "{start}"\nsend_window_end = "{end}"\n')
    with pytest.raises(config.ConfigError, match=f"send_window_end \\({end}\\) must be after "
                                                 f"touchpoints.send_window_start \\({start}\\)"):
        config.load(path)
    path.write_text('[touchpoints]\nsend_window_start = "00:00"\nsend_window_end = "24:00"\n')
    assert config.load(path).touchpoints.send_window_end == "24:00"
