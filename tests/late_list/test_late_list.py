"""The weekly list's content: exact rows from a hand-built store, on SQLite and PostgreSQL."""

import stat
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from ehcp_monitor.db.bulk import write_frame
from ehcp_monitor.db.models import CheckRun, ReportRun
from ehcp_monitor.domain.calendar import elapsed_weeks
from ehcp_monitor.errors import JobFailed
from ehcp_monitor.late_list import build_late_list
from ehcp_monitor.late_list.content import CSV_COLUMNS
from tests.report_data.late_list_dataset import (
    AS_OF,
    HISTORY_COLUMNS,
    HYPERLINK_OFFICER,
    LOADED,
    RESULT_SCHEMA,
    SCRIPT_REASON,
    load_dataset,
)

D = date


def read_csv(path) -> pl.DataFrame:
    df = pl.read_csv(path, infer_schema=False)
    return df.rename({label: name for name, label in CSV_COLUMNS})


@pytest.fixture
def built(engine, settings, tmp_path):
    load_dataset(engine)
    return build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path / "out")


def test_headline_counts_and_movement(built):
    assert built.counts == {
        "statutory_overdue": 6,  # the local DRAFT_LOCAL overdue row is not statutory
        "very_late": 4,
        "very_late_20w": 2,
        "very_late_20w_exceptions": 1,
        "over_52_weeks": 1,  # R2: 469 days open
        "at_risk_20w": 0,  # every open 20-week case here is already overdue (test_late_list_forecast has some)
        "new": 4,  # R1 health advice, R1 draft, R3 20-week, R4 decision
        "resolved": 1,  # R9's decision, overdue last week
        "still_late": 3,  # R1 and R2 20-week, PL5's review
        "rows_very_late_20w": 2,
        "rows_other_overdue": 5,
        "data_quality_findings": 12,  # ingest 2's findings (ingest 1's are not counted)
        "findings_quarantined": 4,
    }


def test_csv_rows_exact(built):
    rows = read_csv(built.csv_path).select(
        "section", "measure", "case_ref", "plan_ref", "initials", "case_officer", "team", "item", "received_date",
        "weeks_open", "due_date", "days_over", "very_late", "stage", "outstanding_advice", "exception",
        "exception_reason", "kind", "movement",
    ).rows()
    assert rows == [
        ("very_late_20w", "FINAL_20W", "R2", None, "TB", "'" + HYPERLINK_OFFICER, "South", None, "2023-12-01",
         "67.0", "2024-04-19", "329", "true", "finalising", None, "true", SCRIPT_REASON, "statutory", "still late"),
        ("very_late_20w", "FINAL_20W", "R1", None, "JS", "Amy Officer", "North", None, "2024-06-03", "40.6",
         "2024-10-21", "144", "true", "gathering_advice", "health: 214 days late; social care: due 24/03/2025",
         "false", None, "statutory", "still late"),
        ("other_overdue", "DECIDE_6W", "R4", None, "BJ", None, None, None, "2025-01-06", "9.6", "2025-02-17", "25",
         "false", None, None, "false", None, "statutory", "new"),
        ("other_overdue", "ADVICE_6W", "R1", None, "JS", "Amy Officer", "North", "health", "2024-06-03", "40.6",
         "2024-08-12", "214", "true", None, None, "false", None, "statutory", "new"),
        ("other_overdue", "DRAFT_LOCAL", "R1", None, "JS", "Amy Officer", "North", None, "2024-06-03", "40.6",
         "2024-09-09", "186", "false", None, None, "false", None, "local", "new"),
        ("other_overdue", "FINAL_20W", "R3", None, "AK", "Amy Officer", "North", None, "2024-10-01", "23.4",
         "2025-02-18", "24", "false", "drafting", None, "false", None, "statutory", "new"),
        ("other_overdue", "REVIEW_12M", "R5", "PL5", None, "Ben Officer", "South", None, "2019-05-01", None,
         "2025-01-10", "63", "true", None, None, "false", None, "statutory", "still late"),
    ]


def test_officer_and_team_summaries_exact(engine, settings, tmp_path):
    from ehcp_monitor.late_list.content import compose
    from ehcp_monitor.late_list.inputs import load_inputs

    load_dataset(engine)
    content = compose(load_inputs(engine, as_of=AS_OF))
    # (officer, open cases, overdue clocks, very late, due in the next 14 days)
    assert content.officers.rows() == [
        ("Amy Officer", 3, 4, 2, 1),  # R1, R3, R7; R1's social care advice due 24/03
        ("(not recorded)", 1, 1, 0, 0),
        (HYPERLINK_OFFICER, 1, 1, 1, 0),
        ("Ben Officer", 2, 1, 1, 1),  # PL5's review (via R5) and R6 due 20/03
    ]
    assert content.teams.rows() == [("North", 3, 4, 2, 1), ("South", 3, 2, 2, 1), ("(not recorded)", 1, 1, 0, 0)]
    assert content.data_quality.ingest.id == 2
    assert content.data_quality.findings["record_id"].to_list()[:2] == ["@SUM(1+1)", "R1"]
    assert [code for code, _, _ in content.other_by_measure] == [
        "DECIDE_6W", "ADVICE_6W", "DRAFT_LOCAL", "FINAL_20W", "REVIEW_12M"]


def test_first_list_has_no_movement_and_the_next_compares_with_it(engine, settings, tmp_path):
    load_dataset(engine, with_previous_list=False)
    first = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path)
    assert "new" not in first.counts
    assert read_csv(first.csv_path)["movement"].null_count() == 7
    # Re-running the same week's list (same check run) still has nothing earlier to compare with.
    again = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path)
    assert "new" not in again.counts
    with engine.connect() as conn:
        runs = conn.execute(select(ReportRun.kind, ReportRun.as_of, ReportRun.check_run_id, ReportRun.paths,
                                   ReportRun.created_at).order_by(ReportRun.id)).all()
    assert [(r.kind, r.as_of, r.check_run_id) for r in runs] == [("late_list", AS_OF, 2)] * 2
    assert runs[0].paths == [str(p) for p in first.paths]
    assert runs[0].created_at is not None


def test_rerunning_a_week_keeps_comparing_with_the_previous_list(built, engine, settings, tmp_path):
    again = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path / "again")
    assert (again.counts["new"], again.counts["resolved"], again.counts["still_late"]) == (4, 1, 3)


def test_movement_compares_with_the_latest_earlier_list_by_date_not_the_last_built(engine, settings, tmp_path):
    # A list dated 28/03 was built (on check run 3) before this week's: movement still compares
    # with the list of 07/03, the latest one dated before 14/03.
    load_dataset(engine)
    later = D(2025, 3, 28)
    with engine.begin() as conn:
        conn.execute(insert(CheckRun).values(id=3, as_of=later, ingest_id=2, started_at=LOADED,
                                             finished_at=LOADED, counts={}))
        write_frame(conn, "overdue_history", pl.DataFrame(
            [("DECIDE_6W", "R8", None, "P4", None, D(2025, 1, 2), D(2025, 2, 13), 43, True)],
            schema={c: RESULT_SCHEMA[c] for c in HISTORY_COLUMNS}, orient="row",
        ).with_columns(run_id=pl.lit(3, pl.Int64), as_of=pl.lit(later)))
        conn.execute(insert(ReportRun).values(kind="late_list", as_of=later, check_run_id=3, created_at=LOADED,
                                              paths=[], counts={}))
    built = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path)
    assert (built.counts["new"], built.counts["resolved"], built.counts["still_late"]) == (4, 1, 3)
    assert "against the list of 07/03/2025" in built.html_path.read_text(encoding="utf-8")
    # The list of 28/03 itself compares with the latest list dated before it: this week's (run 2).
    week_after = build_late_list(engine, settings, as_of=later, out_dir=tmp_path)
    assert (week_after.counts["new"], week_after.counts["resolved"], week_after.counts["still_late"]) == (0, 0, 7)


def test_files_are_owner_only_and_carry_no_full_names_or_birth_dates(built):
    for path in built.paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        raw = path.read_bytes()
        for personal in (b"Jane", b"Smith", b"Brown", b"A123456789012", b"2015-01-02", b"02/01/2015"):
            assert personal not in raw, (path.name, personal)


def test_rewriting_tightens_an_existing_files_mode(engine, settings, tmp_path):
    load_dataset(engine)
    first = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path)
    first.html_path.chmod(0o644)
    second = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path)
    assert stat.S_IMODE(second.html_path.stat().st_mode) == 0o600


def test_html_is_autoescaped(built):
    html = built.html_path.read_text(encoding="utf-8")
    assert "Warning:" not in html  # results and list of the same date
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_no_stored_results_is_a_plain_failure(engine, settings, tmp_path):
    with pytest.raises(JobFailed, match="no stored check results"):
        build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_weeks_open_are_measured_on_the_results_date(engine, settings, tmp_path):
    # A list dated a week after the check uses the check's date: days over and weeks open agree.
    load_dataset(engine)
    later = build_late_list(engine, settings, as_of=AS_OF + timedelta(days=7), out_dir=tmp_path)
    rows = read_csv(later.csv_path).filter(pl.col("case_ref") == "R2")
    assert rows.select("weeks_open", "days_over").row(0) == ("67.0", "329")
    assert later.html_path.name == "late-list-2025-03-21.html"
    assert "the latest clock results are of 14/03/2025, not of the\nlist date 21/03/2025" in (
        later.html_path.read_text(encoding="utf-8"))


@hsettings(max_examples=100, deadline=None)
@given(days=st.integers(min_value=0, max_value=5000))
def test_weeks_open_matches_the_calendar_rule(days):
    from ehcp_monitor.late_list.content import _list_rows
    from ehcp_monitor.late_list.inputs import RESULT_SCHEMA, LateListInputs

    received = D(2010, 1, 1)
    results_as_of = received + timedelta(days=days)
    result = {c: None for c in RESULT_SCHEMA if c != "run_id"}
    result.update(measure="DECIDE_6W", request_id="R", person_id="P", status="overdue", due_date=received,
                  exception=False, very_late=False, kind="statutory", days_late=days)
    inputs = LateListInputs(
        as_of=results_as_of, check_run_id=1, results_as_of=results_as_of,
        results=pl.DataFrame([result], schema={c: t for c, t in RESULT_SCHEMA.items() if c != "run_id"}),
        requests=pl.DataFrame({"request_id": ["R"], "person_id": ["P"], "received_date": [received],
                               "case_officer": [None], "team": [None]},
                              schema_overrides={"case_officer": pl.Utf8, "team": pl.Utf8}),
        people=pl.DataFrame({"person_id": ["P"], "forename": ["A"], "surname": ["B"]}),
        assessments=pl.DataFrame(schema={"request_id": pl.Utf8, "exception_reason": pl.Utf8}),
        advice=pl.DataFrame(schema={"request_id": pl.Utf8, "requested_date": pl.Date, "received_date": pl.Date}),
        drafts=pl.DataFrame(schema={"request_id": pl.Utf8, "draft_plan_date": pl.Date}),
        current_overdue=pl.DataFrame(), previous_overdue=None, previous_as_of=None, data_quality=None,
    )
    assert _list_rows(inputs)["weeks_open"].item() == elapsed_weeks(received, results_as_of)
