"""Reporting periods and the trend charts' text alternative (no store needed)."""

from datetime import date

import pytest

from ehcp_monitor.board_pack.charts import trend_svg
from ehcp_monitor.board_pack.period import latest_full_month, parse_period
from ehcp_monitor.errors import ConfigError


@pytest.mark.parametrize("text, start, end, code", [
    ("2025-06", date(2025, 6, 1), date(2025, 6, 30), "2025-06"),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "2024-02"),
    ("2025-Q1", date(2025, 1, 1), date(2025, 3, 31), "2025-Q1"),
    ("2025-q4", date(2025, 10, 1), date(2025, 12, 31), "2025-Q4"),
    ("2024", date(2024, 1, 1), date(2024, 12, 31), "2024"),
])
def test_parse(text, start, end, code):
    p = parse_period(text)
    assert (p.start, p.end, p.code) == (start, end, code)


@pytest.mark.parametrize("bad", ["2025-13", "2025-00", "2025-Q5", "June", "25-06", "", "2025-6-1"])
def test_bad_period_is_a_usage_error(bad):
    with pytest.raises(ConfigError) as err:
        parse_period(bad)
    assert err.value.exit_code == 2 and "\n" not in str(err.value)


def test_previous_periods_cross_year_ends():
    assert parse_period("2025-01").previous().code == "2024-12"
    assert parse_period("2025-Q1").previous().code == "2024-Q4"
    assert parse_period("2025").previous().code == "2024"
    assert parse_period("2024-03").previous().end == date(2024, 2, 29)


def test_trend_months():
    months = parse_period("2025-Q2").trend_months()
    assert len(months) == 12 and months[0] == date(2024, 7, 1) and months[-1] == date(2025, 6, 1)
    assert len(parse_period("2025").trend_months()) == 24


def test_latest_full_month_before_as_of():
    assert latest_full_month(date(2025, 7, 1)).code == "2025-06"
    assert latest_full_month(date(2025, 1, 31)).code == "2024-12"


def test_chart_has_a_text_alternative_and_gaps_for_missing_months():
    points = [(date(2025, 4, 1), 50.0), (date(2025, 5, 1), None), (date(2025, 6, 1), 75.5)]
    svg = str(trend_svg("c1", "Plans <on time> & more", points, "%", target=60))
    assert 'role="img"' in svg and 'aria-labelledby="c1-t c1-d"' in svg
    assert "Plans &lt;on time&gt; &amp; more" in svg and "<on time>" not in svg
    assert "Apr 2025 50.0%, Jun 2025 75.5%" in svg and "Not shown (no cases, or suppressed): May 2025" in svg
    assert "Target 60%" in svg and 'stroke-dasharray' in svg
    assert svg.count("<polyline") == 2  # the line breaks at the missing month
    assert svg.count("<circle") == 2
