"""Officer and team targets, annual review recovery and capacity in the weekly list, end to end on
a generated caseload checked weekly for five weeks (both databases): the workbook's sheets opened with
openpyxl, the page and the email body."""

import re
from datetime import UTC, date, datetime, timedelta

import openpyxl
import polars as pl
import pytest
from markupsafe import escape

from ehcp_monitor.checks.run import run_check
from ehcp_monitor.db.bulk import read_frame
from ehcp_monitor.db.snapshot import Snapshot, replace_snapshot
from ehcp_monitor.late_list import build_late_list
from ehcp_monitor.synthetic.generate import generate

AS_OF = date(2025, 3, 14)
NOW = datetime(2025, 3, 17, 7, 0, tzinfo=UTC)
TEAMS = {"North Team": {"plans_per_week": 2, "reviews_per_week": 3}, "South Team": {"plans_per_week": 1}}
OFFICERS = {"Officer Aster": {"reviews_per_week": 0}}


def _rows(sheet) -> list[dict]:
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]


@pytest.fixture
def built(engine, settings, tmp_path):
    frames = generate(people=1500, seed=11, as_of=AS_OF)
    with engine.begin() as conn:
        replace_snapshot(conn, Snapshot.from_frames(frames, ingest_id=1), loaded_at=NOW)
    # A check a week for five weeks: the stored history the trend and the clearing date read.
    for weeks_ago in (4, 3, 2, 1, 0):
        run_check(engine, settings, as_of=AS_OF - timedelta(weeks=weeks_ago), now=lambda: NOW)
    tuned = settings.replace(**{"late_list.targets.teams": TEAMS, "late_list.targets.officers": OFFICERS,
                                "recovery.target_percent": 40.0, "recovery.target_month": "2025-09"})
    return build_late_list(engine, tuned, as_of=AS_OF, out_dir=tmp_path / "out")


def _results(engine) -> pl.DataFrame:
    schema = {"measure": pl.Utf8, "request_id": pl.Utf8, "plan_id": pl.Utf8, "status": pl.Utf8,
              "due_date": pl.Date, "completed_date": pl.Date, "days_late": pl.Int64}
    with engine.connect() as conn:
        return read_frame(conn, f"SELECT {', '.join(schema)} FROM check_results "
                                "WHERE run_id = (SELECT MAX(run_id) FROM check_results)", schema)


def test_targets_show_last_weeks_work_against_each_officers_target(built, engine):
    book = openpyxl.load_workbook(built.xlsx_path)
    officers = _rows(book["Targets by officer"])
    teams = _rows(book["Targets by team"])
    results = _results(engine)
    last_week = pl.col("completed_date").is_between(AS_OF - timedelta(days=7), AS_OF - timedelta(days=1))
    issued = results.filter((pl.col("measure") == "FINAL_20W") & last_week).height
    reviewed = results.filter(pl.col("measure").is_in(["REVIEW_12M", "REVIEW_EY"]) & last_week).height
    assert sum(r["Plans issued last week"] for r in officers) == issued > 0
    assert sum(r["Reviews completed last week"] for r in officers) == reviewed > 0
    assert sum(r["Plans issued last week"] for r in teams) == issued
    due = results.filter(pl.col("status").is_in(["due_soon", "pending"])
                         & pl.col("due_date").is_between(AS_OF, AS_OF + timedelta(days=6)))
    assert sum(r["Plans due this week"] for r in officers) == due.filter(pl.col("measure") == "FINAL_20W").height
    for row in officers:
        override = OFFICERS.get(row["Case officer"], {})
        expected = {**TEAMS.get(row["Team"], {}), **override} if row["Case officer"] != "(not recorded)" else {}
        assert row["Plans target a week"] == expected.get("plans_per_week")
        assert row["Reviews target a week"] == expected.get("reviews_per_week")
        target, done = row["Plans target a week"], row["Plans issued last week"]
        words = "no target" if target is None else "met" if done >= target else f"{target - done} short"
        assert row["Plans against target"] == words
    aster = next(r for r in officers if r["Case officer"] == "Officer Aster")
    assert aster["Reviews target a week"] == 0 and aster["Reviews against target"] == "met"
    north = next(r for r in teams if r["Team"] == "North Team")
    north_officers = [r for r in officers if r["Team"] == "North Team"]
    assert north["Plans target a week"] == 2 * len(north_officers)
    east = next(r for r in teams if r["Team"] == "East Team")
    assert east["Plans target a week"] is None and east["Plans against target"] == "no target"
    assert "TargetsByOfficer" in book["Targets by officer"].tables  # an Excel table, like every section


def test_review_recovery_bands_trend_and_clearing_date(built, engine):
    book = openpyxl.load_workbook(built.xlsx_path)
    teams = _rows(book["Review recovery by team"])
    officers = _rows(book["Review recovery by officer"])
    results = _results(engine).filter(pl.col("measure").is_in(["REVIEW_12M", "REVIEW_EY"]))
    overdue = results.filter(pl.col("status") == "overdue")
    total = teams[-1]
    assert total["Team"] == "All" and officers[-1]["Case officer"] == "All"
    assert total["Overdue in all"] == overdue.height > 0
    bands = ("Overdue under 3 months", "Overdue 3 to 6 months", "Overdue 6 to 12 months", "Overdue over 12 months")
    assert sum(total[b] for b in bands) == overdue.height
    assert total["Overdue under 3 months"] == overdue.filter(pl.col("days_late") <= 91).height
    assert total["Overdue over 12 months"] == overdue.filter(pl.col("days_late") >= 366).height
    assert sum(r["Overdue in all"] for r in teams[:-1]) == overdue.height
    assert sum(r["Overdue in all"] for r in officers[:-1]) == overdue.height
    assert total["Due in the next 4 weeks"] <= total["Due in the next 8 weeks"] <= total["Due in the next 12 weeks"]
    # Most plans have an officer of their own or their request's: the backlog can be allocated.
    unallocated = next((r["Overdue in all"] for r in officers if r["Case officer"] == "(not recorded)"), 0)
    assert unallocated < overdue.height / 5
    trend = _rows(book["Review backlog trend"])
    assert trend[0]["Week ending"].date() == AS_OF and trend[0]["All teams"] == overdue.height
    assert [r["Week ending"].date() for r in trend[:5]] == [AS_OF - timedelta(weeks=k) for k in range(5)]
    assert trend[5]["All teams"] is None  # no check that week
    # The same weeks by case officer (newest first): the officers' backlogs add up to the whole.
    by_officer = _rows(book["Review backlog by officer"])
    newest = [k for k in by_officer[0] if k != "Case officer"][0]
    assert sum(r[newest] or 0 for r in by_officer) == overdue.height
    # Everyone holding an overdue review is in the targets, shortfall and all, even with nothing done.
    holding = {r["Case officer"] for r in officers[:-1] if r["Overdue in all"]}
    assert holding <= {r["Case officer"] for r in _rows(book["Targets by officer"])}
    with engine.connect() as conn:
        then = read_frame(conn, "SELECT plan_id FROM overdue_history WHERE measure IN ('REVIEW_12M', 'REVIEW_EY') "
                                f"AND as_of = '{(AS_OF - timedelta(weeks=4)).isoformat()}'", {"plan_id": pl.Utf8})
    assert trend[4]["All teams"] == total["Overdue 4 weeks ago"] == then.height
    fall = (then.height - overdue.height) / 4
    assert total["Net fall a week (last 4 weeks)"] == pytest.approx(round(fall, 1))
    if fall <= 0:
        assert total["Backlog clears"] == "not clearing"
    else:
        days = -(-overdue.height * 7 // fall)
        assert total["Backlog clears"] == f"by {AS_OF + timedelta(days=int(days)):%d/%m/%Y}"


def test_capacity_and_the_sections_are_in_the_page_the_email_and_the_text(built):
    book = openpyxl.load_workbook(built.xlsx_path)
    sentence = book["Capacity"]["A2"].value
    assert "40% of new plans" in sentence and "September 2025" in sentence
    assert re.search(r"you need to issue [\d,]+ plans a month from now\.", sentence) or "cannot be reached" in sentence
    page = built.html_path.read_text(encoding="utf-8")
    for text in ('id="targets"', 'id="review-recovery"', 'id="capacity"', "Annual review recovery",
                 "Reviews completed last week", "Overdue 6 to 12 months", "Week ending", str(escape(sentence))):
        assert text in page, text
        assert text in built.email_html, text
    assert "Annual reviews overdue:" in built.text and sentence in built.text
