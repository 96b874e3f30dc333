"""Capacity: plans needed a month, on small caseloads worked by hand (docs/late-list.md, Capacity)."""

from datetime import date

import polars as pl
import pytest

from ehcp_monitor.capacity import caseload, plans_needed, simulate, target_month

AS_OF = date(2026, 1, 5)  # a Monday; weeks start 5 Jan, 12 Jan, ..., 2 Mar (week 8) ... 30 Mar (week 12)
MARCH = date(2026, 3, 1)
# 8 cases already 25 weeks open (late) and 4 at 10 weeks, no intake. The young four are ready
# (18 weeks) in week 8 (2 March) and still within 20 weeks in weeks 8 and 9.
CASES = [25] * 8 + [10] * 4


def test_simulation_hand_worked():
    # 5 a month = 5 / (52/12) = 1.1538 a week: the 8 late cases are gone in 7 weeks; in March the
    # young four go 1.1538 (week 8, 18 weeks), 1.1538 (week 9, 19 weeks), then late.
    on_time, issued = simulate(CASES, 0, 5, as_of=AS_OF, month=MARCH)
    assert issued == pytest.approx(4)
    assert on_time == pytest.approx(2 * 5 * 12 / 52)


@pytest.mark.parametrize("target, needed", [(50, 5), (60, 6), (100, 9)])
def test_plans_needed_hand_worked(target, needed):
    # 4 a month: 7.38 late cases in weeks 0-7, the rest (0.62) in week 8 with 0.31 young; March
    # 26.7%. 5 a month: 57.7%. 6 a month (1.3846 a week): 2.77 of 4 within 20 weeks, 69.2%.
    # 9 a month (2.077 a week): the four go in weeks 8 and 9, all within 20 weeks.
    result = plans_needed(CASES, 0, as_of=AS_OF, month=MARCH, target_percent=target, issued_per_month=4)
    assert result.plans_per_month == needed
    assert result.share_at_current_rate == 26.7
    assert (result.open_cases, result.open_late) == (12, 8)
    assert f"you need to issue {needed} plans a month" in result.sentence()


def test_not_reachable_when_only_late_cases_remain():
    result = plans_needed([30] * 10 + [40] * 2, 0, as_of=AS_OF, month=date(2026, 2, 1), target_percent=50,
                          issued_per_month=20)
    # Issuing every case at once leaves nothing for February; issuing fewer leaves only late ones.
    assert result.plans_per_month is None
    assert "cannot be reached" in result.sentence()


def test_not_reachable_when_every_plan_issued_in_the_month_is_late():
    # Ten cases at 19 weeks: ready now, within 20 weeks only this week; in February all are late
    # whatever the capacity that leaves some for February, and none are left otherwise.
    result = plans_needed([19] * 10 + [30] * 40, 0, as_of=AS_OF, month=date(2026, 2, 1), target_percent=10)
    assert result.plans_per_month is None


def test_intake_alone_is_issued_within_20_weeks_once_ready():
    # 13 new cases a month (3 a week), nothing open: the first are ready in week 18 (11 May). At 13 a
    # month every case goes the week it is ready: June's five weeks (1, 8, 15, 22, 29 June) issue 15,
    # all at 18 weeks.
    on_time, issued = simulate([], 13, 13, as_of=AS_OF, month=date(2026, 6, 1))
    assert issued == pytest.approx(15) and on_time == pytest.approx(15)
    needed = plans_needed([], 13, as_of=AS_OF, month=date(2026, 6, 1), target_percent=100)
    assert needed.plans_per_month is not None and needed.plans_per_month <= 13
    # Nothing is ready in April: no figure.
    assert plans_needed([], 13, as_of=AS_OF, month=date(2026, 4, 1), target_percent=90).plans_per_month is None


def test_target_month():
    assert target_month("2026-09", AS_OF) == date(2026, 9, 1)
    assert target_month("", date(2026, 8, 31)) == date(2027, 2, 1)
    assert target_month("", date(2026, 6, 1)) == date(2026, 12, 1)
    with pytest.raises(ValueError):
        plans_needed([], 1, as_of=AS_OF, month=date(2026, 1, 1), target_percent=50)


def test_caseload_from_stored_results():
    as_of = date(2026, 6, 1)
    rows = [
        ("FINAL_20W", date(2026, 5, 25), "pending", None),  # 1 week open
        ("FINAL_20W", date(2025, 12, 1), "overdue", None),  # 26 weeks open
        ("FINAL_20W", date(2026, 3, 1), "met", date(2026, 5, 31)),  # issued in the last 3 months
        ("FINAL_20W", date(2026, 2, 1), "late", date(2026, 3, 2)),  # issued 91 days before: counts
        ("FINAL_20W", date(2026, 1, 1), "late", date(2026, 3, 1)),  # 92 days before: does not
        ("FINAL_20W", date(2026, 4, 19), "closed", None),  # received 43 days before: intake
        ("FINAL_20W", date(2026, 4, 20), "pending", None),  # 42 days before: too young for intake
        ("DECIDE_6W", date(2026, 4, 1), "met", date(2026, 4, 2)),
    ]
    frame = pl.DataFrame(rows, schema={"measure": pl.Utf8, "anchor_date": pl.Date, "status": pl.Utf8,
                                       "completed_date": pl.Date}, orient="row")
    ages, intake, issued = caseload(frame, as_of)
    assert sorted(ages) == [1, 6, 26]
    # Intake window: received from 19 Jan (133 days before) to 19 Apr (43 days before): 3 clocks.
    assert intake == pytest.approx(3 / 3)
    assert issued == pytest.approx(2 / 3)
