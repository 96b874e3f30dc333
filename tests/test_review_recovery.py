"""Annual review recovery, computed on small hand-made frames with hand-worked figures."""

from datetime import date, timedelta

import polars as pl
import pytest

from ehcp_monitor.review_recovery import (
    LISTED_DAYS,
    NO_NAME,
    allocate,
    backlog_trend,
    clearing_date,
    clears_text,
    recovery_table,
    week_runs,
)

AS_OF = date(2026, 3, 2)  # a Monday
D = timedelta(days=1)
REVIEW_SCHEMA = {"plan_id": pl.Utf8, "team": pl.Utf8, "status": pl.Utf8, "days_late": pl.Int64,
                 "due_date": pl.Date, "completed_date": pl.Date}
HISTORY_SCHEMA = {"run_id": pl.Int64, "check_date": pl.Date, "plan_id": pl.Utf8, "team": pl.Utf8}


def overdue(plan: str, team: str, days: int) -> tuple:
    return (plan, team, "overdue", days, AS_OF - days * D, None)


def reviews(*rows) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=REVIEW_SCHEMA, orient="row")


def history(counts: dict[int, dict[str, int]], dates: dict[int, date] | None = None) -> pl.DataFrame:
    """counts: weeks ago -> team -> overdue rows of that week's check (run id = 100 - weeks ago)."""
    rows = []
    for weeks_ago, teams in counts.items():
        check = (dates or {}).get(weeks_ago, AS_OF - timedelta(weeks=weeks_ago))
        for team, n in teams.items():
            rows += [(100 - weeks_ago, check, f"{team}-{i}", team) for i in range(n)]
    return pl.DataFrame(rows, schema=HISTORY_SCHEMA, orient="row")


def test_overdue_bands_edges():
    # 91 days is under 3 months, 92 is 3-6; 182 | 183; 365 | 366.
    frame = reviews(*(overdue(f"p{d}", "North", d) for d in (1, 91, 92, 182, 183, 365, 366, 900)))
    row = recovery_table(frame, history({}), AS_OF).row(0, named=True)
    assert (row["overdue_under_3m"], row["overdue_3_6m"], row["overdue_6_12m"], row["overdue_over_12m"]) == (2, 2, 2, 2)
    assert row["overdue"] == 8


def test_due_windows_and_completions_count_their_days():
    frame = reviews(
        ("a", "N", "due_soon", None, AS_OF, None),  # due today: in every window
        ("b", "N", "pending", None, AS_OF + 27 * D, None),  # last day of 4 weeks
        ("c", "N", "pending", None, AS_OF + 28 * D, None),  # first day of the 8-week window
        ("d", "N", "pending", None, AS_OF + 83 * D, None),  # last day of 12 weeks
        ("e", "N", "pending", None, AS_OF + 84 * D, None),  # beyond
        ("f", "N", "met", None, AS_OF, AS_OF - 1 * D),  # completed yesterday: last week
        ("g", "N", "met", None, AS_OF, AS_OF - 7 * D),  # 7 days before: last week
        ("h", "N", "late", 10, AS_OF, AS_OF - 8 * D),  # 8 days before: the last 4 weeks only
        ("i", "N", "met", None, AS_OF, AS_OF - 28 * D),  # 28 days before: the last 4 weeks
        ("j", "N", "met", None, AS_OF, AS_OF - 29 * D),  # too long ago
        ("k", "N", "met", None, AS_OF, AS_OF),  # completed on the date itself: not "before"
        ("l", "N", "closed", None, AS_OF + 3 * D, None),  # plan ceased: not due
    )
    row = recovery_table(frame, history({}), AS_OF).row(0, named=True)
    assert (row["due_4w"], row["due_8w"], row["due_12w"]) == (2, 3, 4)
    assert (row["completed_last_week"], row["completed_4w"]) == (2, 4)


def test_clearing_date_hand_worked():
    # 50 overdue 4 weeks ago, 30 now: falls 5 a week, so 30 clear in 6 weeks.
    assert clearing_date(30, 50, AS_OF) == (5.0, AS_OF + timedelta(days=42), "clears")
    # 10 now, 13 then: 0.75 a week; 10 / 0.75 weeks = 93.33 days, rounded up to 94.
    assert clearing_date(10, 13, AS_OF)[1] == AS_OF + timedelta(days=94)
    assert clearing_date(30, 30, AS_OF) == (0.0, None, "not clearing")
    assert clearing_date(30, 20, AS_OF) == (-2.5, None, "not clearing")
    assert clearing_date(30, None, AS_OF) == (None, None, "not known")
    assert clearing_date(0, 20, AS_OF) == (None, None, "no backlog")
    assert clears_text("clears", date(2026, 4, 13)) == "by 13/04/2026"
    assert clears_text("not clearing", None) == "not clearing"


def test_recovery_by_team_with_the_history():
    frame = reviews(*(overdue(f"n{i}", "North", 10) for i in range(6)),
                    *(overdue(f"s{i}", "South", 200) for i in range(3)))
    # 4 weeks ago North had 10 overdue and South 2; this week's check has 6 and 3.
    stored = history({0: {"North": 6, "South": 3}, 4: {"North": 10, "South": 2}})
    table = recovery_table(frame, stored, AS_OF, by="team")
    assert table["team"].to_list() == ["North", "South", "All"]
    north, south, total = table.iter_rows(named=True)
    assert (north["backlog_4w_ago"], north["net_per_week"], north["clears"]) == (10, 1.0, "by 13/04/2026")
    assert north["clears_on"] == AS_OF + timedelta(days=42)
    assert (south["backlog_4w_ago"], south["net_per_week"], south["clears"]) == (2, -0.2, "not clearing")
    # All: 12 then, 9 now: 0.75 a week; 9 / 0.75 = 12 weeks.
    assert (total["overdue"], total["backlog_4w_ago"], total["clears_on"]) == (9, 12, AS_OF + timedelta(weeks=12))
    assert (total["overdue_under_3m"], total["overdue_6_12m"]) == (6, 3)



def test_a_team_is_listed_while_it_holds_a_cycle_running_done_within_the_year_or_overdue_a_month_ago():
    frame = reviews(
        ("a", "Running", "pending", None, AS_OF + 90 * D, None),
        ("g", "Overdue", "overdue", 400, AS_OF - 400 * D, None),
        ("b", "Done on the first day", "met", None, AS_OF, AS_OF - LISTED_DAYS * D),
        ("c", "Done the day before", "met", None, AS_OF, AS_OF - (LISTED_DAYS + 1) * D),
        ("d", "Ceased", "closed", None, AS_OF + 3 * D, None),  # a plan ceased before its review was due
        ("e", "Missed", "missed", None, AS_OF - 400 * D, None),  # ceased after it, never reviewed
        ("f", "Backlog a month ago", "closed", None, AS_OF - 20 * D, None),  # overdue, then ceased
    )
    stored = history({0: {}, 4: {"Backlog a month ago": 1}})
    table = recovery_table(frame, stored, AS_OF, by="team")
    assert sorted(table["team"].to_list()[:-1]) == ["Backlog a month ago", "Done on the first day", "Overdue",
                                                    "Running"]
    *rows, total = table.iter_rows(named=True)
    for column in ("overdue", "backlog_4w_ago", "due_4w", "due_12w", "completed_4w"):
        assert total[column] == sum(row[column] or 0 for row in rows), column
    assert total["backlog_4w_ago"] == 1

def test_without_a_check_four_weeks_ago_the_clearing_date_is_not_known():
    frame = reviews(overdue("a", "North", 10))
    table = recovery_table(frame, history({0: {"North": 1}, 3: {"North": 4}}), AS_OF)
    assert table["clears"].to_list() == ["not known: no check 4 weeks ago"]


def test_trend_takes_the_latest_check_of_each_week_and_leaves_weeks_without_one_blank():
    # Two checks in the week ending 1 week ago (days 7 and 10 before): the later-dated one (day 7) counts.
    stored = history({0: {"North": 2}, 1: {"North": 5}, 2: {"North": 9}, 5: {"South": 1}},
                     dates={2: AS_OF - 10 * D})
    trend = backlog_trend(stored, AS_OF, weeks=6)
    assert trend["week_ending"].to_list() == [AS_OF - timedelta(weeks=k) for k in range(6)]
    # The check dated 10 days before falls in the week ending 7 days before, with the one dated 7 days before.
    assert trend["backlog"].to_list() == [2, 5, None, None, None, 1]
    runs = week_runs(stored, AS_OF, 6)
    assert runs.filter(pl.col("week_ending") == AS_OF - timedelta(weeks=1))["run_id"].to_list() == [99]
    by_team = backlog_trend(stored, AS_OF, by="team", weeks=6)
    south = by_team.filter(pl.col("team") == "South")["backlog"].to_list()
    assert south == [0, 0, None, None, None, 1]  # a checked week with no overdue row of the team: 0


def test_reviews_are_allocated_to_the_plans_officer_else_the_requests():
    plans = pl.DataFrame({"plan_id": ["p1", "p2", "p3", "p4"], "request_id": ["r1", "r1", None, "r9"],
                          "case_officer": ["Own", None, None, " "], "team": [None, "Plan team", None, None]})
    requests = pl.DataFrame({"request_id": ["r1", "r9"], "case_officer": ["Req officer", "Other"],
                             "team": ["Req team", None]})
    owners = allocate(plans, requests).sort("plan_id")
    assert owners.rows() == [("p1", "Own", "Req team"), ("p2", "Req officer", "Plan team"),
                             ("p3", None, None), ("p4", "Other", None)]
    assert NO_NAME == "(not recorded)"


@pytest.mark.parametrize("days, band", [(91, "overdue_under_3m"), (92, "overdue_3_6m"), (365, "overdue_6_12m"),
                                        (366, "overdue_over_12m")])
def test_each_band_edge(days, band):
    row = recovery_table(reviews(overdue("a", "N", days)), history({}), AS_OF).row(0, named=True)
    assert row[band] == 1
