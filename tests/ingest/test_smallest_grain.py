"""Bad input set aside at the smallest grain (docs/input-formats.md, Bad input), through the real ingest
and check: historical records warn, a bad value withholds only the clocks that need it, and a
withheld clock never reaches the results."""

import polars as pl
import pytest

from ehcp_monitor.checks.run import run_check
from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.errors import IngestRefused
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where


def _historical(tables, *, received: str, plan_start: str = "2019-09-01"):
    """P2's transferred-in plan PL9 under request R9, outcome H, with a review history."""
    tables["requests"].append({**tables["requests"][1], "request_id": "R9", "person_id": "P3",
                               "received_date": received, "request_outcome": "H", "request_outcome_date": ""})
    tables["assessments"].append({**tables["assessments"][0], "request_id": "R9", "assessment_outcome": "H",
                                  "assessment_outcome_date": ""})
    tables["plans"].append({"plan_id": "PL9", "person_id": "P3", "request_id": "R9", "start_date": plan_start,
                            "cease_date": "", "cease_reason": ""})
    tables["reviews"] += [
        {"plan_id": "PL9", "meeting_date": "2020-09-01", "decision_date": "2020-09-20", "outcome": "maintain",
         "amendment_notice_date": "", "amended_final_date": ""},
        {"plan_id": "PL9", "meeting_date": "2021-09-06", "decision_date": "2021-09-24", "outcome": "M",
         "amendment_notice_date": "", "amended_final_date": ""},
    ]
    return tables


@pytest.mark.parametrize("received, code, column", [
    ("", "W001", "received_date"),  # no date on record
    ("1900-01-01", "W002", "received_date"),  # a placeholder (then W001: empty on a historical record)
    ("2021-01-04", "W003", "start_date"),  # transferred in: received here after the plan started
    ("31/12/2019", "W001", "received_date"),  # unreadable
])
def test_a_historical_record_with_odd_dates_costs_no_plan(engine, settings, as_of, tmp_path, received, code, column):
    result = ingest_csv(engine, settings, tmp_path / "x", _historical(base_tables(), received=received), as_of)

    findings = quarantine_of(engine)
    assert code in {r["code"] for r in findings}
    assert {r["action"] for r in findings} == {"warning"}
    assert all(r["table_name"] in ("requests", "plans") for r in findings)
    assert any(r["column_name"] == column for r in findings)
    assert result.summary["rows_quarantined"] == 0 and result.summary["cases_fully_monitored"] == 7
    snap = read_snapshot(engine)
    assert "R9" in snap["requests"]["request_id"] and "PL9" in snap["plans"]["plan_id"]
    assert snap["reviews"].filter(pl.col("plan_id") == "PL9").height == 2

    results = run_check(engine, settings, as_of=as_of).frame
    mine = results.filter(pl.col("plan_id") == "PL9")
    # The annual review clocks of a historical plan are the ones that matter: all three cycles.
    assert mine.filter(pl.col("measure") == "REVIEW_12M")["anchor_date"].cast(str).to_list() == [
        "2019-09-01", "2020-09-20", "2021-09-24"]
    assert results.filter(pl.col("request_id") == "R9")["measure"].is_in(["DECIDE_6W", "FINAL_20W"]).sum() == 0


def test_a_historical_plan_starting_after_the_as_of_date_loads_with_its_reviews_its_clocks_withheld(
        engine, settings, as_of, tmp_path):
    """2016 typed 2026: not a reason to quarantine the plan and its reviews (and, in an export of a
    few plans, refuse the ingest); nor a clock to run from a date that has not come."""
    tables = _historical(base_tables(), received="2019-06-03", plan_start=f"{as_of.year + 1}-09-20")
    result = ingest_csv(engine, settings, tmp_path / "x", tables, as_of)

    warned = [r for r in quarantine_of(engine) if r["record_id"] == "PL9" and r["table_name"] == "plans"]
    assert [(r["code"], r["column_name"], r["action"]) for r in warned] == [("W003", "start_date", "withheld")]
    assert result.summary["rows_quarantined"] == 0
    snap = read_snapshot(engine)
    assert "PL9" in snap["plans"]["plan_id"] and snap["reviews"].filter(pl.col("plan_id") == "PL9").height == 2
    assert run_check(engine, settings, as_of=as_of).frame.filter(pl.col("plan_id") == "PL9").is_empty()


def test_placeholder_dates_are_empty_and_never_a_clock(engine, settings, as_of, tmp_path):
    tables = base_tables()
    tables["advice"][1]["received_date"] = "9999-12-31"  # "not received", written as a date
    tables["requests"].append({**tables["requests"][1], "request_id": "R8", "received_date": "1900-01-01"})
    ingest_csv(engine, settings.replace(**{"ingest.max_reject_share": 1.0}), tmp_path / "x", tables, as_of)

    findings = quarantine_of(engine)
    assert sorted((r["code"], r["table_name"], r["record_id"], r["action"]) for r in findings) == [
        ("V001", "requests", "R8", "quarantined"),  # a new request with no usable received date
        # A placeholder where a completion date goes is unknown, not "not done yet": its clock is
        # withheld, so no family is told that advice is late that may have come.
        ("V002", "advice", "R1", "withheld"),
        ("W002", "requests", "R8", "warning"),
    ]
    assert "1900-01-01 looks like a placeholder" in next(r["message"] for r in findings if r["record_id"] == "R8"
                                                           and r["code"] == "W002")
    advice = read_snapshot(engine)["advice"].sort("advice_type")
    assert advice["received_date"].to_list() == [advice["received_date"][0], None]
    results = run_check(engine, settings, as_of=as_of).frame
    assert results.filter(pl.col("due_date").dt.year() < 1950).is_empty()
    assert results.filter(pl.col("measure") == "ADVICE_6W")["item"].to_list() == ["education"]


def test_a_bad_value_withholds_only_the_clocks_that_need_it(engine, settings, as_of, tmp_path):
    tables = base_tables()
    tables["advice"][1]["received_date"] = "2024-13-01"  # unreadable: only that ADVICE_6W
    tables["requests"][0]["request_outcome_date"] = ""  # outcome Y with no date (V008): only DECIDE_6W
    tables["people"][2]["date_of_birth"] = "2010-02-30"  # P3's age unknown: PL3's review cycles
    tables["reviews"][0]["decision_date"] = "2024-05-31"  # before its meeting: that review's 4-week clock
    result = ingest_csv(engine, settings, tmp_path / "x", tables, as_of)
    assert result.status == "loaded" and result.summary["rows_quarantined"] == 0

    findings = {(r["code"], r["table_name"], r["column_name"]): (r["action"], r["measure"])
                for r in quarantine_of(engine)}
    assert findings == {
        ("V002", "people", "date_of_birth"): ("withheld", "REVIEW_12M,REVIEW_EY"),
        ("V008", "requests", "request_outcome_date"): ("withheld", "DECIDE_6W"),
        ("V002", "advice", "received_date"): ("withheld", "ADVICE_6W"),
        ("V006", "reviews", "decision_date"): ("withheld", "REVIEW_DECISION_4W"),
    }
    assert result.summary["withheld_by_code"] == {"V002": 3, "V006": 1, "V008": 1}
    # R1 (two withheld clocks) and PL3 (three) are not fully monitored; R2, R3 and PL1 are.
    assert (result.summary["cases"], result.summary["cases_fully_monitored"]) == (5, 3)

    check = run_check(engine, settings, as_of=as_of)
    results = check.frame
    r1 = results.filter(pl.col("request_id") == "R1")
    assert "DECIDE_6W" not in r1["measure"].to_list()
    assert r1.filter(pl.col("measure") == "ADVICE_6W")["item"].to_list() == ["education"]
    assert {"FINAL_20W", "DRAFT_LOCAL"} <= set(r1["measure"].to_list())
    pl3 = results.filter(pl.col("plan_id") == "PL3")
    assert not pl3["measure"].is_in(["REVIEW_12M", "REVIEW_EY", "REVIEW_DECISION_4W"]).any()
    assert {"AMEND_FINAL_8W", "PHASE_TRANSFER"} <= set(pl3["measure"].to_list())
    assert check.withheld == 5  # DECIDE_6W, one ADVICE_6W, REVIEW_DECISION_4W and PL3's two cycles


def test_a_row_that_cannot_be_identified_is_quarantined_and_its_dependants_follow(engine, settings, as_of, tmp_path):
    tables = base_tables()
    tables["plans"].append({**tables["plans"][0]})  # PL1 twice: which is right cannot be told
    lenient = settings.replace(**{"ingest.max_reject_share": 1.0})
    result = ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    rows = quarantine_of(engine)
    assert sorted((where(r)[0], r["table_name"], r["action"]) for r in rows) == [
        ("V004", "plans", "quarantined"), ("V004", "plans", "quarantined"), ("V005", "qa_audits", "quarantined")]
    assert result.counts["plans"]["quarantined"] == 2


def test_only_cases_lost_count_towards_the_reject_share(engine, settings, as_of, tmp_path):
    tables = base_tables()
    for row in tables["advice"]:
        row["received_date"] = "soon"  # every advice clock withheld: no case lost
    for row in tables["contacts"]:
        row["email"] = "not an address"  # every address cleared: no case lost
    assert ingest_csv(engine, settings, tmp_path / "a", tables, as_of).status == "loaded"

    tables["plans"][1]["plan_id"] = ""  # one of two plans cannot be identified: a case lost
    with pytest.raises(IngestRefused, match=r"^table plans: 1 of 2 rows quarantined \(50.0%\)"):
        ingest_csv(engine, settings, tmp_path / "b", tables, as_of)


def test_unreadable_consent_quarantines_the_contact(engine, settings, as_of, tmp_path):
    tables = base_tables()
    tables["contacts"][1]["opted_out"] = "maybe"  # never email against a refusal we could not read
    ingest_csv(engine, settings.replace(**{"ingest.max_reject_share": 1.0}), tmp_path / "x", tables, as_of)
    (row,) = quarantine_of(engine)
    assert (row["code"], row["action"], row["record_id"]) == ("V003", "quarantined", "C3")
    assert read_snapshot(engine)["contacts"]["contact_id"].to_list() == ["C1"]


def test_an_open_plan_with_no_officer_is_a_warning_when_the_source_records_officers(
        engine, settings, as_of, tmp_path):
    tables = base_tables()
    tables["plans"].append({"plan_id": "PL7", "person_id": "P2", "request_id": "", "start_date": "2022-01-10",
                            "cease_date": "", "cease_reason": ""})
    ingest_csv(engine, settings, tmp_path / "x", tables, as_of)
    (row,) = quarantine_of(engine)
    assert (row["code"], row["table_name"], row["record_id"], row["action"]) == ("W004", "plans", "PL7", "warning")

    for row in tables["requests"]:
        row["case_officer"] = ""  # a source with no officers at all is not told so on every plan
    ingest_csv(engine, settings, tmp_path / "y", tables, as_of)
    assert quarantine_of(engine) == []


def test_an_unknown_cease_date_withholds_every_clock_of_the_plan(engine, settings, as_of, tmp_path):
    tables = base_tables()
    tables["phase_transfers"][0]["final_date"] = ""  # PL3's school transfer is open, due 2025-02-15
    tables["plans"][1]["cease_date"] = "2024-12-32"  # did PL3 cease? unknown: nothing of it can be late
    result = ingest_csv(engine, settings, tmp_path / "x", tables, as_of)
    assert result.summary["withheld_by_code"] == {"V002": 5}
    results = run_check(engine, settings, as_of=as_of).frame
    assert results.filter(pl.col("plan_id") == "PL3").is_empty()
    assert not results.filter(pl.col("plan_id") == "PL1").is_empty()


def test_a_placeholder_completion_date_is_unknown_not_not_done(engine, settings, as_of, tmp_path):
    tables = base_tables()
    tables["reviews"][0]["decision_date"] = "1900-01-01"  # PL3's review was decided; the date is lost
    ingest_csv(engine, settings, tmp_path / "x", tables, as_of)
    (row,) = quarantine_of(engine)
    assert (row["code"], row["action"]) == ("V002", "withheld")
    assert row["message"] == "decision_date 1900-01-01 is a placeholder, not a date"
    results = run_check(engine, settings, as_of=as_of).frame
    pl3 = results.filter(pl.col("plan_id") == "PL3")
    assert not pl3["measure"].is_in(["REVIEW_12M", "REVIEW_EY", "REVIEW_DECISION_4W"]).any()
    assert pl3.filter(pl.col("status") == "overdue").is_empty()


def test_an_assessment_outcome_h_does_not_make_its_request_historical(engine, settings, as_of, tmp_path):
    tables = base_tables()
    # R1's decision to assess is a current clock (docs/rules.md, Which requests get which clocks: H on
    # the assessment removes only the assessment's clocks), so an unreadable decision date withholds
    # it, never just warns.
    tables["assessments"][0]["assessment_outcome"] = "H"
    tables["requests"][0]["request_outcome_date"] = "2024-12-45"
    ingest_csv(engine, settings, tmp_path / "x", tables, as_of)
    (row,) = quarantine_of(engine)
    assert (row["code"], row["action"], row["measure"]) == ("V002", "withheld", "DECIDE_6W")
    results = run_check(engine, settings, as_of=as_of).frame
    assert results.filter((pl.col("request_id") == "R1") & (pl.col("measure") == "DECIDE_6W")).is_empty()


def test_a_historical_plan_with_no_start_date_keeps_its_row_and_reviews(engine, settings, as_of, tmp_path):
    tables = _historical(base_tables(), received="2019-06-03", plan_start="1900-01-01")
    result = ingest_csv(engine, settings, tmp_path / "x", tables, as_of)
    assert result.summary["rows_quarantined"] == 0
    codes = {(r["code"], r["table_name"], r["action"]) for r in quarantine_of(engine)}
    assert codes == {("W002", "plans", "warning"), ("W001", "plans", "withheld")}
    snap = read_snapshot(engine)
    assert "PL9" in snap["plans"]["plan_id"] and snap["reviews"].filter(pl.col("plan_id") == "PL9").height == 2
    assert run_check(engine, settings, as_of=as_of).frame.filter(pl.col("plan_id") == "PL9").is_empty()


def test_a_row_that_does_not_fit_its_header_says_nothing_of_its_shifted_values(engine, settings, as_of, tmp_path):
    from tests.ingest.extract import write_csv

    folder = write_csv(tmp_path / "x", base_tables())
    with open(folder / "contacts.csv", "a", encoding="utf-8") as fh:
        fh.write("C9,P2,parent_carer,Smith, Jo,jo.smith@example.org,0\n")  # an unquoted comma in the name
    from ehcp_monitor.ingest import run_ingest

    run_ingest(engine, settings.replace(**{"ingest.max_reject_share": 1.0}), str(folder), as_of=as_of)
    rows = quarantine_of(engine)
    assert [(r["code"], r["record_id"], r["action"]) for r in rows] == [("V011", "C9", "quarantined")]
    assert not any("jo.smith" in str(v) for r in rows for v in r.values())


def test_a_family_is_not_told_of_a_step_dated_by_a_value_in_doubt(engine, settings, as_of, tmp_path):
    from sqlalchemy import select

    from ehcp_monitor.db.models import Touchpoint
    from ehcp_monitor.touchpoints.planner import plan_touchpoints

    tables = base_tables()
    tables["requests"] += [
        # decided "before" it was received (V006): DECIDE_6W withheld, and no email about that decision
        {**tables["requests"][0], "request_id": "R7",
         "received_date": "2025-03-10", "request_outcome_date": "2025-03-05"},
        {**tables["requests"][0], "request_id": "R6",
         "received_date": "2025-03-03", "request_outcome_date": "2025-03-10"},
    ]
    settings = settings.replace(**{"touchpoints.go_live": "2025-01-01"})
    ingest_csv(engine, settings, tmp_path / "x", tables, as_of)
    run_check(engine, settings, as_of=as_of)
    plan_touchpoints(engine, settings, as_of=as_of)
    with engine.connect() as conn:
        told = set(conn.execute(select(Touchpoint.stage, Touchpoint.request_id)).all())
    assert ("decision_to_assess", "R6") in told
    assert ("decision_to_assess", "R7") not in told


def test_a_review_of_no_plan_withholds_nothing_and_its_message_says_how_to_map_codes(
        engine, settings, as_of, tmp_path):
    tables = base_tables()
    tables["reviews"].append({**tables["reviews"][0], "plan_id": "PL404"})  # V005: no such plan
    tables["reviews"].append({**tables["reviews"][0], "meeting_date": "2024-11-05", "decision_date": "2024-11-20",
                              "outcome": "MAINT-NC"})
    result = ingest_csv(engine, settings.replace(**{"ingest.max_reject_share": 1.0}), tmp_path / "x", tables, as_of)
    assert result.summary["withheld_by_code"] == {"V003": 1}  # only the unmapped outcome's AMEND_FINAL_8W
    (v003,) = quarantine_of(engine, "V003")
    assert v003["message"].endswith("; map it with ingest.review_outcome_codes")
