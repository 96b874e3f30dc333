from datetime import date

import pytest
from sqlalchemy import select

from ehcp_monitor.checks import run_check
from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.db.results import read_results
from ehcp_monitor.touchpoints import plan_touchpoints
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where

# R1 (received 2024-09-02) would be 20 weeks late since 2025-01-21; its apology repeats on 2025-03-18.
AS_OF = date(2025, 3, 18)


def _without(tables, **assessment):
    """R1's assessment row left out (no keywords), or changed."""
    tables["assessments"] = [a for a in tables["assessments"] if a["request_id"] != "R1"] if not assessment else [
        {**a, **assessment} if a["request_id"] == "R1" else a for a in tables["assessments"]]
    return tables


def _told(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Touchpoint.case_ref, Touchpoint.stage, Touchpoint.status)
                                               .where(Touchpoint.case_ref == "R1"))]


@pytest.mark.parametrize("assessment", [{}, {"assessment_outcome": "A", "assessment_outcome_date": ""},
                                        {"assessment_outcome_date": ""}])
def test_a_plan_recorded_against_a_request_whose_assessment_says_no_final_plan(engine, lenient, tmp_path,
                                                                                assessment):
    """An extract that left R1's assessment out: PL1 (issued 2025-02-10) must not make R1 a very
    late plan, nor its family be apologised to for it (a walk-through found the apology)."""
    ingest_csv(engine, lenient, tmp_path / "x", _without(base_tables(), **assessment), AS_OF)
    (row,) = quarantine_of(engine, "V013")
    assert where(row) == ("V013", "plans", "plans.csv", 2, "PL1", "request_id")
    assert (row["action"], row["measure"]) == ("withheld", "DRAFT_LOCAL,FINAL_20W,NOT_ISSUE_16W")

    settings = lenient.replace(**{"touchpoints.go_live": "2024-01-01"})
    run_check(engine, settings, as_of=AS_OF)
    with engine.connect() as conn:
        results = read_results(conn)
    assert results.filter((results["request_id"] == "R1") & (results["measure"] == "FINAL_20W")).height == 0
    plan_touchpoints(engine, settings, as_of=AS_OF)
    assert [t for t in _told(engine) if t[1] in ("delay_notice", "progress_update")] == []


def test_a_plan_whose_assessment_records_the_final_plan_is_not_flagged(engine, lenient, tmp_path):
    ingest_csv(engine, lenient, tmp_path / "x", base_tables(), AS_OF)
    assert quarantine_of(engine, "V013") == []
    # Nor one whose assessment decided not to issue (no 20-week clock runs to be late).
    ingest_csv(engine, lenient, tmp_path / "y", _without(base_tables(), assessment_outcome="N"), AS_OF)
    assert quarantine_of(engine, "V013") == []


def test_a_plan_transferred_in_before_a_new_assessment_keeps_its_20_week_clock(engine, lenient, tmp_path):
    """A plan that began before the request on record here came from another LA (W003): the request
    is a new assessment under way (A), whose 20-week clock runs (a review found it withheld)."""
    tables = _without(base_tables(), assessment_outcome="A", assessment_outcome_date="")
    tables["plans"] = [{**p, "start_date": "2024-06-01"} if p["plan_id"] == "PL1" else p for p in tables["plans"]]
    ingest_csv(engine, lenient, tmp_path / "x", tables, AS_OF)
    assert [r["code"] for r in quarantine_of(engine, "W003")] == ["W003"] and quarantine_of(engine, "V013") == []
    run_check(engine, lenient, as_of=AS_OF)
    with engine.connect() as conn:
        results = read_results(conn)
    assert results.filter((results["request_id"] == "R1") & (results["measure"] == "FINAL_20W")).height == 1


def test_a_plan_begun_before_its_request_whose_assessment_row_is_left_out_is_still_flagged(engine, lenient, tmp_path):
    """Only an assessment under way (A) marks a new assessment after a transfer: with the row left
    out, the plan still says the final plan was issued (a review found the apology planned)."""
    tables = _without(base_tables())
    tables["plans"] = [{**p, "start_date": "2024-06-01"} if p["plan_id"] == "PL1" else p for p in tables["plans"]]
    ingest_csv(engine, lenient, tmp_path / "x", tables, AS_OF)
    assert [where(r)[:2] for r in quarantine_of(engine, "V013")] == [("V013", "plans")]
    settings = lenient.replace(**{"touchpoints.go_live": "2024-01-01"})
    run_check(engine, settings, as_of=AS_OF)
    plan_touchpoints(engine, settings, as_of=AS_OF)
    assert [t for t in _told(engine) if t[1] in ("delay_notice", "progress_update")] == []
