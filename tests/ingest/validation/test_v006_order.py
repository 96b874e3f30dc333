from ehcp_monitor.db.snapshot import read_snapshot
from tests.ingest.extract import base_tables, ingest_csv, quarantine_of, where


def test_impossible_orders_are_quarantined(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    tables["requests"].append({**tables["requests"][0], "request_id": "R5", "received_date": "2014-01-01",
                               "request_outcome": "W", "request_outcome_date": ""})  # before P1 was born
    tables["drafts"][0]["draft_plan_date"] = "2024-08-30"  # before request R1 (2024-09-02)
    tables["advice"][0]["received_date"] = "2024-10-01"  # before it was requested
    tables["reviews"][0]["decision_date"] = "2024-05-31"  # before its meeting
    tables["reviews"][0]["amended_final_date"] = "2024-05-01"  # before its amendment notice
    tables["plans"][0]["cease_date"] = "2025-01-01"  # before it started
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    rows = quarantine_of(engine, "V006")
    assert [where(r) for r in rows] == [
        ("V006", "requests", "requests.csv", 5, "R5", "received_date"),
        ("V006", "drafts", "drafts.csv", 2, "R1", "draft_plan_date"),
        ("V006", "advice", "advice.csv", 2, "R1", "received_date"),
        ("V006", "plans", "plans.csv", 2, "PL1", "cease_date"),
        ("V006", "reviews", "reviews.csv", 2, "PL3", "amended_final_date"),
        ("V006", "reviews", "reviews.csv", 2, "PL3", "decision_date"),
    ]
    assert rows[0]["message"] == "request received before the child was born"
    # What each costs, at the smallest grain: a request (its clocks all start on the doubted date)
    # and a draft (its one clock) are set aside; otherwise only the clock that needs the date.
    assert [(r["action"], r["measure"]) for r in rows] == [
        ("quarantined", None), ("quarantined", "DRAFT_LOCAL"), ("withheld", "ADVICE_6W"),
        # a cease date in doubt: every clock of the plan reads whether it has ceased
        ("withheld", "REVIEW_12M,REVIEW_EY,REVIEW_DECISION_4W,AMEND_FINAL_8W,PHASE_TRANSFER"),
        ("withheld", "AMEND_FINAL_8W"), ("withheld", "REVIEW_DECISION_4W")]
    snap = read_snapshot(engine)
    assert snap["drafts"].height == 0
    assert snap["reviews"].height == 1 and snap["advice"].height == 2 and "PL1" in snap["plans"]["plan_id"]


def test_a_decision_and_a_final_plan_before_the_request(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    tables["assessments"][1]["assessment_outcome_date"] = "2023-02-01"
    tables["plans"][1]["start_date"] = "2023-01-01"
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    rows = quarantine_of(engine, "V006")
    assert [where(r) for r in rows] == [
        ("V006", "assessments", "assessments.csv", 3, "R3", "assessment_outcome_date"),
    ]
    # A plan that started before the request on record here was transferred in: a warning.
    (moved,) = quarantine_of(engine, "W003")
    assert where(moved) == ("W003", "plans", "plans.csv", 3, "PL3", "start_date")
    assert moved["action"] == "warning" and moved["message"].endswith("transferred in from another LA: kept as "
                                                                      "information)")


def test_a_review_before_its_plan_started(engine, lenient, as_of, tmp_path):
    tables = base_tables()
    # PL3 started 2023-07-20: a review meeting and decision a month earlier cannot belong to it.
    tables["reviews"][0]["meeting_date"] = "2023-06-01"
    tables["reviews"][0]["decision_date"] = "2023-06-10"
    ingest_csv(engine, lenient, tmp_path / "x", tables, as_of)

    rows = quarantine_of(engine, "V006")
    assert sorted(where(r) for r in rows) == [
        ("V006", "reviews", "reviews.csv", 2, "PL3", "decision_date"),
        ("V006", "reviews", "reviews.csv", 2, "PL3", "meeting_date"),
    ]
    assert {r["message"] for r in rows} == {"review meeting is before the plan started",
                                            "review decision is before the plan started"}
    # The review loads; the plan's review cycles are in doubt and withheld, nothing else.
    assert {(r["action"], r["measure"]) for r in rows} == {("withheld", "REVIEW_12M,REVIEW_EY")}
    assert read_snapshot(engine)["reviews"].height == 1
