"""Every board-pack KPI computed by hand on a hand-built dataset (period June 2025), SQLite and PostgreSQL.

The dataset (`store_dataset`) is reused by the render tests. Dates are written as anchor + days so
each expected value can be read off the case list below.
"""

from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest

from ehcp_monitor.board_pack.kpis import compute_pack, read_inputs
from ehcp_monitor.board_pack.period import parse_period
from ehcp_monitor.db.bulk import write_frame
from ehcp_monitor.db.snapshot import Snapshot, replace_snapshot

AS_OF = date(2025, 7, 10)
D = date.fromisoformat


def plus(day: str, days: int) -> date:
    return D(day) + timedelta(days=days)


# (measure, request_id, plan_id, anchor, due, completed, status, exception)
def _clock_rows() -> list[tuple]:
    rows = [
        # FINAL_20W, plans issued in June 2025 (days from request to issue in the comment)
        ("FINAL_20W", "R1", None, D("2025-01-20"), plus("2025-01-20", 140), plus("2025-01-20", 136), "met", False),
        ("FINAL_20W", "R2", None, D("2025-01-06"), plus("2025-01-06", 140), plus("2025-01-06", 155), "late", True),
        ("FINAL_20W", "R3", None, D("2024-05-01"), plus("2024-05-01", 140), plus("2024-05-01", 407), "late", False),
        ("FINAL_20W", "R4", None, D("2025-01-27"), plus("2025-01-27", 140), plus("2025-01-27", 140), "met", True),
        # mediation (R5) and tribunal (R6): left out of both 20-week rates
        ("FINAL_20W", "R5", None, D("2025-01-27"), plus("2025-01-27", 140), plus("2025-01-27", 144), "late", False),
        ("FINAL_20W", "R6", None, D("2025-02-03"), plus("2025-02-03", 140), plus("2025-02-03", 119), "met", False),
        ("FINAL_20W", "R10", None, D("2025-02-10"), plus("2025-02-10", 140), plus("2025-02-10", 135), "met", False),
        # issued in May (previous period)
        ("FINAL_20W", "R7", None, D("2025-01-13"), plus("2025-01-13", 140), plus("2025-01-13", 127), "met", False),
        # still open; withdrawn
        ("FINAL_20W", "R8", None, D("2025-01-02"), plus("2025-01-02", 140), None, "overdue", False),
        ("FINAL_20W", "R9", None, D("2025-01-02"), plus("2025-01-02", 140), None, "closed", False),
        # DECIDE_6W
        ("DECIDE_6W", "D1", None, D("2025-05-01"), plus("2025-05-01", 42), plus("2025-05-01", 35), "met", False),
        ("DECIDE_6W", "D2", None, D("2025-04-01"), plus("2025-04-01", 42), plus("2025-04-01", 63), "late", False),
        ("DECIDE_6W", "D3", None, D("2025-06-10"), plus("2025-06-10", 42), None, "pending", False),
        # NOT_ISSUE_16W
        ("NOT_ISSUE_16W", "N1", None, D("2025-03-01"), plus("2025-03-01", 112), plus("2025-03-01", 100), "met", False),
        # REVIEW_DECISION_4W: decisions in June
        ("REVIEW_DECISION_4W", None, "P1", D("2025-05-20"), plus("2025-05-20", 28), D("2025-06-10"), "met", False),
        ("REVIEW_DECISION_4W", None, "P2", D("2025-05-01"), plus("2025-05-01", 28), D("2025-06-12"), "late", False),
        ("REVIEW_DECISION_4W", None, "P3", D("2025-06-20"), plus("2025-06-20", 28), D("2025-06-30"), "met", False),
        # REVIEW_12M cycles
        ("REVIEW_12M", None, "P1", D("2024-06-10"), D("2025-06-10"), D("2025-06-01"), "met", False),
        ("REVIEW_12M", None, "P2", D("2024-06-15"), D("2025-06-15"), None, "overdue", False),
        ("REVIEW_12M", None, "P3", D("2024-01-10"), D("2025-01-10"), None, "overdue", False),
        ("REVIEW_12M", None, "P4", D("2023-03-01"), D("2024-03-01"), None, "overdue", False),
        ("REVIEW_12M", None, "P5", D("2024-03-01"), D("2025-03-01"), None, "missed", False),
        ("REVIEW_12M", None, "P6", D("2024-06-20"), D("2025-06-20"), None, "closed", False),
        # REVIEW_EY: due in June, done late
        ("REVIEW_EY", None, "P7", D("2024-12-20"), D("2025-06-20"), D("2025-06-25"), "late", False),
        # AMEND_FINAL_8W
        ("AMEND_FINAL_8W", None, "P1", D("2025-04-20"), plus("2025-04-20", 56), D("2025-06-10"), "met", False),
        # PHASE_TRANSFER: due in June
        ("PHASE_TRANSFER", None, "P8", D("2025-06-30"), D("2025-06-30"), D("2025-06-20"), "met", False),
        ("PHASE_TRANSFER", None, "P9", D("2025-06-15"), D("2025-06-15"), None, "overdue", False),
    ]
    return rows


def results_frame() -> pl.DataFrame:
    rows = _clock_rows()
    return pl.DataFrame(
        {
            "run_id": [1] * len(rows),
            "measure": [r[0] for r in rows],
            "request_id": [r[1] for r in rows],
            "plan_id": [r[2] for r in rows],
            "person_id": [f"C{i}" for i in range(len(rows))],
            "anchor_date": [r[3] for r in rows],
            "due_date": [r[4] for r in rows],
            "completed_date": [r[5] for r in rows],
            "status": [r[6] for r in rows],
            "exception": [r[7] for r in rows],
            "very_late": [False] * len(rows),
            "kind": ["statutory"] * len(rows),
            "basis": ["reg"] * len(rows),
        },
        schema_overrides={"request_id": pl.Utf8, "plan_id": pl.Utf8, "completed_date": pl.Date},
    )


def snapshot() -> Snapshot:
    received = {r[1]: r[3] for r in _clock_rows() if r[1]}
    received.update({"Q1": D("2025-06-02"), "Q2": D("2025-06-30"), "Q3": D("2025-05-15")})
    ids = sorted(received)
    requests = pl.DataFrame({
        "request_id": ids, "person_id": [f"C-{i}" for i in ids], "received_date": [received[i] for i in ids],
        "request_outcome": ["Y"] * len(ids),
    })
    assessments = pl.DataFrame({
        "request_id": ["R1", "R2", "R5", "R6"], "assessment_outcome": ["Y"] * 4,
        "assessment_mediation": [False, None, True, False], "assessment_tribunal": [None, False, False, True],
    })
    plans = pl.DataFrame({
        "plan_id": [f"P{i}" for i in range(1, 10)], "person_id": [f"C-P{i}" for i in range(1, 10)],
        "start_date": [D("2020-01-01")] * 9,
        "cease_date": [None, None, None, None, D("2025-04-01"), D("2025-06-01"), None, None, None],
    }, schema_overrides={"cease_date": pl.Date})
    qa = pl.DataFrame({
        "plan_id": ["P1", "P2", "P3", "P4", "P5"],
        "audit_date": [D("2025-06-03"), D("2025-06-10"), D("2025-06-11"), D("2025-06-30"), D("2025-05-20")],
        "plan_kind": ["draft", "draft", "draft", "amended", "draft"],
        "rating": ["good", "outstanding", "requires_improvement", "inadequate", "good"],
    })
    return Snapshot.from_frames(
        {"requests": requests, "assessments": assessments, "plans": plans, "qa_audits": qa}, ingest_id=2
    )


def touchpoints_frame() -> pl.DataFrame:
    spec = [("request_received", "sent", "2025-06-05")] * 3 + [
        ("request_received", "suppressed", "2025-06-05"),
        ("delay_notice", "failed", "2025-06-20"),
        ("delay_notice", "sent", "2025-06-21"),
        ("delay_notice", "sent", "2025-05-21"),
        ("final_plan_issued", "sent", "2025-05-02"),
    ]
    n = len(spec)
    return pl.DataFrame({
        "stage": [s[0] for s in spec], "case_ref": [f"K{i}" for i in range(n)],
        "event_date": [D(s[2]) for s in spec], "contact_id": [f"X{i}" for i in range(n)],
        "status": [s[1] for s in spec], "attempts": [1] * n,
        "planned_at": [datetime(2025, 6, 1, tzinfo=timezone.utc)] * n,
        "planned_as_of": [D(s[2]) for s in spec], "context": ["{}"] * n,
    })


def store_dataset(engine) -> None:
    loaded = datetime(2025, 7, 10, 2, tzinfo=timezone.utc)
    runs = pl.DataFrame({
        "id": [1, 2, 3], "started_at": [loaded] * 3, "source": ["x"] * 3, "source_kind": ["canonical"] * 3,
        "as_of": [D("2025-05-02"), D("2025-06-28"), D("2025-07-05")], "status": ["loaded"] * 3,
        "checksums": ["{}"] * 3, "counts": ["{}"] * 3, "summary": ["{}"] * 3, "overrides": ["{}"] * 3,
    })
    quarantine = pl.DataFrame({
        "ingest_id": [1] * 7 + [2, 2, 2] + [3] * 5,
        "table_name": ["requests"] * 15, "source_file": ["requests.csv"] * 15,
        "code": ["V001"] * 7 + ["V001", "V001", "V005"] + ["V009"] * 5, "message": ["bad"] * 15,
        "action": ["quarantined"] * 15,
    })
    # the check ran on the snapshot in force (ingest 2): the pack refuses results of a replaced one
    check_run = pl.DataFrame({"id": [1], "as_of": [AS_OF], "started_at": [loaded], "counts": ["{}"],
                              "ingest_id": [2]})
    with engine.begin() as conn:
        replace_snapshot(conn, snapshot(), loaded_at=loaded)
        write_frame(conn, "check_results", results_frame())
        write_frame(conn, "check_runs", check_run)
        write_frame(conn, "touchpoints", touchpoints_frame())
        write_frame(conn, "ingest_runs", runs)
        write_frame(conn, "quarantine", quarantine)


@pytest.fixture
def pack(engine, settings):
    store_dataset(engine)
    settings = settings.replace(**{"board_pack.targets": {"final_20w": 60, "final_20w_ex": 75, "decide_6w": 65}})
    return compute_pack(read_inputs(engine), settings, parse_period("2025-06"), AS_OF)


def nums(kpi, which="current"):
    f = getattr(kpi, which)
    return (f.numerator, f.denominator, f.value)


def test_twenty_week_rates_leave_out_mediation_and_tribunal_and_split_exceptions(pack):
    # issued in June without mediation/tribunal: R1 136d, R2 155d (exc), R3 407d, R4 140d (exc), R10 135d
    assert nums(pack.kpis["final_20w"]) == (3, 5, 60.0)
    # exceptions (R2, R4) dropped from both: R1, R3, R10
    assert nums(pack.kpis["final_20w_ex"]) == (2, 3, 66.7)
    assert nums(pack.kpis["final_20w"], "previous") == (1, 1, 100.0)  # R7 in May
    bands = pack.tables["issue_bands"].rows
    assert bands[0] == ["Including exceptions", 5, 3, 60.0, 1, 20.0, 1, 20.0]
    assert bands[1] == ["Excluding exceptions", 3, 2, 66.7, 0, 0.0, 1, 33.3]


def test_rag_against_configured_targets(pack):
    assert (pack.kpis["final_20w"].target, pack.kpis["final_20w"].rag) == (60, "green")
    assert pack.kpis["final_20w_ex"].rag == "amber"  # 66.7 is within 10 points under 75
    assert pack.kpis["decide_6w"].rag == "red"  # 50.0 is more than 10 points under 65
    assert pack.kpis["not_issue_16w"].rag == "no target"


def test_decision_and_review_rates(pack):
    assert nums(pack.kpis["decide_6w"]) == (1, 2, 50.0)  # D1 35d on time, D2 63d late, D3 undecided
    assert nums(pack.kpis["not_issue_16w"]) == (1, 1, 100.0)
    assert nums(pack.kpis["review_decision_4w"]) == (2, 3, 66.7)
    # cycles due in June: P1 done on time, P2 not done; P6 closed is never due
    assert nums(pack.kpis["review_12m"]) == (1, 2, 50.0)
    assert nums(pack.kpis["review_ey"]) == (0, 1, 0.0)
    assert nums(pack.kpis["amend_8w"]) == (1, 1, 100.0)
    assert nums(pack.kpis["phase_transfer"]) == (1, 2, 50.0)
    assert nums(pack.kpis["decide_6w"], "previous") == (0, 0, None)


def test_reviews_overdue_on_the_last_day_with_age_profile(pack):
    # 30 June: P2 (15 days), P3 (171 days), P4 (486 days); P5 ceased in April, so no longer active
    assert pack.kpis["reviews_overdue"].current.value == 3
    assert pack.kpis["reviews_overdue"].previous.value == 2  # 31 May: P3, P4
    profile = dict((r[0], r[1]) for r in pack.tables["overdue_age"].rows)
    assert profile == {"Up to 4 weeks": 1, "Over 4 weeks to 3 months": 0, "Over 3 to 6 months": 1,
                       "Over 6 to 12 months": 0, "Over 12 months": 1, "All": 3}
    trend = dict((m, f.value) for m, f in pack.kpis["reviews_overdue"].trend)
    # 31 March: P3, P4 and P5 (ceased 1 April, review missed since 1 March)
    assert trend[D("2025-03-01")] == 3
    assert trend[D("2024-07-01")] == 1  # 31 July 2024: only P4


def test_demand_requests_and_open_caseload(pack):
    assert pack.kpis["requests"].current.value == 3  # D3, Q1, Q2
    assert pack.kpis["requests"].previous.value == 2  # D1, Q3
    # 30 June: R8 (179 days open) and D3 (20 days); R9 withdrawn is left out
    assert pack.kpis["open_caseload"].current.value == 2
    # 31 May: R1-R6, R8, R10 (not yet issued), D1, D2 (not yet decided), N1 (not yet concluded)
    assert pack.kpis["open_caseload"].previous.value == 11
    ages = dict((r[0], r[1]) for r in pack.tables["open_age"].rows)
    assert ages["Up to 6 weeks"] == 1 and ages["Over 20 and up to 52 weeks"] == 1 and ages["All"] == 2


def test_quality_touchpoints_and_quarantine(pack):
    assert nums(pack.kpis["qa_good"]) == (2, 4, 50.0)
    june = [r for r in pack.tables["qa"].rows if r[0] == "Jun 2025"][0]
    assert june == ["Jun 2025", 3, 2, 66.7, 1, 0, 0.0]
    tp = {r[0]: r[1:] for r in pack.tables["touchpoints"].rows}
    assert tp == {"Delay notice": [1, 0, 1], "Request received": [3, 1, 0], "All stages": [4, 1, 1]}
    # the last load up to 30 June is ingest 2 (28 June)
    assert pack.tables["quarantine"].rows == [["V001", "Required value missing", 2],
                                              ["V005", "Reference not found or quarantined", 1], ["All codes", "", 3]]


def test_trend_has_twelve_months_ending_with_the_period(pack):
    trend = pack.kpis["final_20w"].trend
    assert [m for m, _ in trend][0] == D("2024-07-01") and trend[-1][0] == D("2025-06-01")
    assert len(trend) == 12
    assert trend[-1][1].value == 60.0 and trend[-2][1].value == 100.0
    assert trend[0][1].denominator == 0 and trend[0][1].value is None


def test_a_year_has_a_24_month_trend_and_nothing_after_as_of(engine, settings):
    store_dataset(engine)
    data = compute_pack(read_inputs(engine), settings, parse_period("2025"), AS_OF)
    months = [m for m, _ in data.kpis["final_20w"].trend]
    assert months[0] == D("2024-01-01") and months[-1] == D("2025-07-01")  # August onwards not yet known
    assert nums(data.kpis["final_20w"]) == (4, 6, 66.7)  # June's five and R7 in May
