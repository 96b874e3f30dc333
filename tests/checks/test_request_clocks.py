"""Worked examples of the request-level clocks (docs/rules.md, Counting time to Late and very late), dates spelled out.

Each runs against both the polars engine and the per-case oracle.
"""

from datetime import date

import pytest

from ehcp_monitor import config
from ehcp_monitor.checks import clock_engine as engine
from ehcp_monitor.checks import oracle
from tests.checks.helpers import one, person, request, rows, snapshot

D = date
SETTINGS = config.defaults()


@pytest.fixture(params=[engine.evaluate, oracle.evaluate], ids=["engine", "oracle"])
def evaluate(request):
    return request.param


def assessed(outcome="A", outcome_date=None, week20=None, rid="R1") -> dict:
    return {"request_id": rid, "assessment_outcome": outcome, "assessment_outcome_date": outcome_date,
            "week20": week20}


# --- DECIDE_6W ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "decided, status, days_late",
    [(D(2025, 2, 17), "met", None), (D(2025, 2, 18), "late", 1), (D(2025, 1, 20), "met", None)],
)
def test_decide_6w_day_42_is_on_time(evaluate, decided, status, days_late):
    snap = snapshot(people=[person()], requests=[request(decided=decided, outcome="N")])
    row = one(evaluate(snap, SETTINGS, D(2025, 3, 14)), "DECIDE_6W")
    assert (row["anchor_date"], row["due_date"]) == (D(2025, 1, 6), D(2025, 2, 17))
    assert (row["completed_date"], row["status"], row["days_late"]) == (decided, status, days_late)


@pytest.mark.parametrize(
    "as_of, status, days_late",
    [
        (D(2025, 2, 2), "pending", None),  # due in 15 days
        (D(2025, 2, 3), "due_soon", None),  # due in exactly due_soon_days (14)
        (D(2025, 2, 17), "due_soon", None),  # the due date itself
        (D(2025, 2, 18), "overdue", 1),
    ],
)
def test_decide_6w_open_statuses(evaluate, as_of, status, days_late):
    snap = snapshot(people=[person()], requests=[request(outcome="A", decided=None)])
    row = one(evaluate(snap, SETTINGS, as_of), "DECIDE_6W")
    assert (row["status"], row["days_late"], row["completed_date"]) == (status, days_late, None)


def test_a_decision_after_the_as_of_date_is_not_yet_known(evaluate):
    snap = snapshot(people=[person()], requests=[request(decided=D(2025, 2, 18), outcome="N")])
    row = one(evaluate(snap, SETTINGS, D(2025, 2, 17)), "DECIDE_6W")
    assert (row["completed_date"], row["status"]) == (None, "due_soon")


@pytest.mark.parametrize("outcome", ["W", "H"])
def test_withdrawn_or_historical_requests_have_no_clocks(evaluate, outcome):
    snap = snapshot(
        people=[person()], requests=[request(outcome=outcome)], assessments=[assessed("A")],
        advice=[{"request_id": "R1", "advice_type": "health", "requested_date": D(2025, 2, 11)}],
        drafts=[],
    )
    assert evaluate(snap, SETTINGS, D(2025, 3, 14)).height == 0


def test_request_outcome_a_has_only_the_decision_clock(evaluate):
    snap = snapshot(people=[person()], requests=[request(outcome="A", decided=None)],
                    assessments=[assessed("A")], drafts=[])
    frame = evaluate(snap, SETTINGS, D(2025, 3, 14))
    assert frame["measure"].to_list() == ["DECIDE_6W"]
    assert frame["status"].to_list() == ["overdue"]


# --- FINAL_20W, NOT_ISSUE_16W, exceptions ---------------------------------------------------


@pytest.mark.parametrize(
    "issued, status, days_late",
    [(D(2025, 5, 26), "met", None), (D(2025, 5, 27), "late", 1), (D(2026, 1, 5), "late", 224)],
)
def test_final_20w_received_2025_01_06_is_due_2025_05_26(evaluate, issued, status, days_late):
    snap = snapshot(people=[person()], requests=[request()], assessments=[assessed("Y", issued)])
    row = one(evaluate(snap, SETTINGS, D(2026, 2, 1)), "FINAL_20W")
    assert (row["anchor_date"], row["due_date"]) == (D(2025, 1, 6), D(2025, 5, 26))
    assert (row["completed_date"], row["status"], row["days_late"], row["stage"]) == (
        issued, status, days_late, None)


def test_final_20w_with_no_assessment_row_yet_runs(evaluate):
    snap = snapshot(people=[person()], requests=[request()])
    row = one(evaluate(snap, SETTINGS, D(2025, 5, 27)), "FINAL_20W")
    assert (row["status"], row["days_late"], row["very_late"], row["exception"]) == ("overdue", 1, False, False)


def test_issue_date_after_as_of_is_not_yet_known(evaluate):
    snap = snapshot(people=[person()], requests=[request()], assessments=[assessed("Y", D(2025, 5, 27))])
    row = one(evaluate(snap, SETTINGS, D(2025, 5, 26)), "FINAL_20W")
    assert (row["completed_date"], row["status"]) == (None, "due_soon")


@pytest.mark.parametrize(
    "as_of, very_late", [(D(2025, 7, 6), False), (D(2025, 7, 7), True)]  # 41 and 42 days late
)
def test_very_late_at_42_days_past_the_20_week_date(evaluate, as_of, very_late):
    snap = snapshot(people=[person()], requests=[request()], assessments=[assessed("A")])
    row = one(evaluate(snap, SETTINGS, as_of), "FINAL_20W")
    assert (row["status"], row["very_late"]) == ("overdue", very_late)
    assert row["days_late"] == (as_of - D(2025, 5, 26)).days


def test_very_late_days_can_be_set_per_measure(evaluate):
    settings = SETTINGS.replace(**{"rules.very_late_days_by_measure": {"FINAL_20W": 10}})
    snap = snapshot(people=[person()], requests=[request(outcome="A", decided=None, rid="R2"), request()],
                    assessments=[assessed("A")])
    frame = evaluate(snap, settings, D(2025, 6, 5))
    assert one(frame, "FINAL_20W")["days_late"] == 10
    assert one(frame, "FINAL_20W")["very_late"] is True
    decide = one(frame, "DECIDE_6W", request_id="R2")
    assert (decide["status"], decide["days_late"] >= 10, decide["very_late"]) == ("overdue", True, True)
    # the default (42) still applies to the other measures
    assert one(evaluate(snap, SETTINGS, D(2025, 3, 31)), "DECIDE_6W", request_id="R2")["very_late"] is True
    assert one(evaluate(snap, SETTINGS, D(2025, 3, 30)), "DECIDE_6W", request_id="R2")["very_late"] is False


def test_exception_flag_rides_on_the_final_20w_row_only(evaluate):
    snap = snapshot(people=[person()], requests=[request()], assessments=[assessed("A", week20=True)],
                    advice=[{"request_id": "R1", "advice_type": "health", "requested_date": D(2025, 2, 11)}])
    frame = evaluate(snap, SETTINGS, D(2025, 7, 14))
    final = one(frame, "FINAL_20W")
    # an exception moves neither the due date nor the status
    assert (final["exception"], final["due_date"], final["status"]) == (True, D(2025, 5, 26), "overdue")
    assert frame.filter(frame["measure"] != "FINAL_20W")["exception"].to_list() == [False, False]


@pytest.mark.parametrize(
    "decided, status, days_late", [(D(2025, 4, 28), "met", None), (D(2025, 4, 29), "late", 1), (None, "overdue", 2)]
)
def test_not_issue_16w_is_112_days(evaluate, decided, status, days_late):
    snap = snapshot(people=[person()], requests=[request()], assessments=[assessed("N", decided)], drafts=[])
    frame = evaluate(snap, SETTINGS, D(2025, 4, 30))
    row = one(frame, "NOT_ISSUE_16W")
    assert (row["due_date"], row["status"], row["days_late"]) == (D(2025, 4, 28), status, days_late)
    assert rows(frame, "FINAL_20W") == [] and rows(frame, "DRAFT_LOCAL") == []


def test_historical_assessment_has_no_assessment_clocks(evaluate):
    snap = snapshot(people=[person()], requests=[request()], assessments=[assessed("H")], drafts=[])
    assert evaluate(snap, SETTINGS, D(2025, 8, 1))["measure"].to_list() == ["DECIDE_6W"]


def test_withdrawn_assessment_keeps_completed_clocks_and_closes_open_ones(evaluate):
    snap = snapshot(
        people=[person()], requests=[request()], assessments=[assessed("W", D(2025, 4, 1))],
        advice=[
            {"request_id": "R1", "advice_type": "health", "requested_date": D(2025, 2, 11),
             "received_date": D(2025, 3, 31)},
            {"request_id": "R1", "advice_type": "education", "requested_date": D(2025, 2, 11)},
        ],
        drafts=[],
    )
    frame = evaluate(snap, SETTINGS, D(2025, 8, 1))
    assert one(frame, "ADVICE_6W", item="health")["status"] == "late"
    assert one(frame, "ADVICE_6W", item="education")["status"] == "closed"
    for measure in ("FINAL_20W", "DRAFT_LOCAL"):
        row = one(frame, measure)
        assert (row["status"], row["days_late"], row["very_late"], row["stage"]) == ("closed", None, False, None)


# --- ADVICE_6W ---------------------------------------------------------------------------


def test_advice_6w_one_row_per_advice_request_named_by_type(evaluate):
    snap = snapshot(
        people=[person()], requests=[request()],
        advice=[
            {"request_id": "R1", "advice_type": "health", "requested_date": D(2025, 2, 11),
             "received_date": D(2025, 3, 25)},
            {"request_id": "R1", "advice_type": "educational_psychology", "requested_date": D(2025, 2, 11),
             "received_date": D(2025, 3, 26)},
            {"request_id": "R1", "advice_type": "social_care", "requested_date": D(2025, 2, 11)},
        ],
    )
    frame = evaluate(snap, SETTINGS, D(2025, 4, 1))
    assert [(r["item"], r["due_date"], r["status"], r["days_late"]) for r in rows(frame, "ADVICE_6W")] == [
        ("educational_psychology", D(2025, 3, 25), "late", 1),
        ("health", D(2025, 3, 25), "met", None),
        ("social_care", D(2025, 3, 25), "overdue", 7),
    ]


# --- DRAFT_LOCAL -------------------------------------------------------------------------


def test_draft_local_only_when_the_source_has_drafts(evaluate):
    without = snapshot(people=[person()], requests=[request()])
    assert rows(evaluate(without, SETTINGS, D(2025, 6, 1)), "DRAFT_LOCAL") == []
    with_drafts = snapshot(people=[person()], requests=[request()],
                           drafts=[{"request_id": "R1", "draft_plan_date": D(2025, 4, 14)}])
    row = one(evaluate(with_drafts, SETTINGS, D(2025, 6, 1)), "DRAFT_LOCAL")
    assert (row["due_date"], row["status"], row["kind"], row["basis"]) == (D(2025, 4, 14), "met", "local", "none")


def test_draft_target_weeks_setting(evaluate):
    settings = SETTINGS.replace(**{"rules.draft_target_weeks": 12})
    snap = snapshot(people=[person()], requests=[request()], drafts=[])
    row = one(evaluate(snap, settings, D(2025, 6, 1)), "DRAFT_LOCAL")
    # overdue but local: never very late
    assert (row["due_date"], row["status"], row["days_late"], row["very_late"]) == (
        D(2025, 3, 31), "overdue", 62, False)


def test_plan_issued_without_a_recorded_draft_closes_the_draft_clock(evaluate):
    snap = snapshot(people=[person()], requests=[request()], assessments=[assessed("Y", D(2025, 5, 1))], drafts=[])
    frame = evaluate(snap, SETTINGS, D(2025, 6, 1))
    assert (one(frame, "DRAFT_LOCAL")["status"], one(frame, "FINAL_20W")["status"]) == ("closed", "met")


# --- where is a 20-week case stuck? (docs/rules.md, Where a 20-week case is stuck) ----------------


STAGE_DECIDED = D(2025, 2, 10)


def _stage(evaluate, as_of, *, decided=STAGE_DECIDED, advice=None, draft=None, present=None):
    tables = {"people": [person()], "requests": [request(decided=decided)], "assessments": [assessed("A")]}
    if advice is not None:
        tables["advice"] = advice
    if draft is not None:
        tables["drafts"] = [{"request_id": "R1", "draft_plan_date": draft}] if draft else []
    snap = snapshot(present=present, **tables)
    return one(evaluate(snap, SETTINGS, as_of), "FINAL_20W")["stage"]


def test_a_decision_dated_after_the_as_of_date_is_not_yet_made(evaluate):
    # Request outcome Y decided 2025-02-10, evaluated on 2025-02-09: on that day the request was
    # still awaiting its decision, so it has only DECIDE_6W (docs/rules.md, Which requests get which
    # clocks; Status on the as-of date).
    snap = snapshot(people=[person()], requests=[request(decided=D(2025, 2, 10))], assessments=[assessed("A")],
                    advice=[{"request_id": "R1", "advice_type": "health", "requested_date": D(2025, 1, 20)}])
    frame = evaluate(snap, SETTINGS, D(2025, 2, 9))
    assert frame["measure"].to_list() == ["DECIDE_6W"]
    decide = one(frame, "DECIDE_6W")
    assert (decide["due_date"], decide["completed_date"], decide["status"]) == (D(2025, 2, 17), None, "due_soon")


def test_an_assessment_outcome_dated_after_the_as_of_date_is_not_yet_in_force(evaluate):
    # Withdrawn (or decided not to issue) on 2025-09-01; on 2025-07-01 the assessment was still
    # open, so FINAL_20W runs and is overdue rather than closed.
    for outcome in ("W", "N"):
        assessment = {**assessed(outcome), "assessment_outcome_date": D(2025, 9, 1)}
        snap = snapshot(people=[person()], requests=[request()], assessments=[assessment])
        frame = evaluate(snap, SETTINGS, D(2025, 7, 1))
        final = one(frame, "FINAL_20W")
        assert (final["status"], final["days_late"]) == ("overdue", 36), outcome
        assert rows(frame, "NOT_ISSUE_16W") == []


def test_a_request_awaiting_its_decision_has_no_advice_clocks(evaluate):
    # docs/rules.md, Which requests get which clocks: a request with outcome A has only DECIDE_6W.
    snap = snapshot(people=[person()], requests=[request(outcome="A", decided=None)],
                    advice=[{"request_id": "R1", "advice_type": "health", "requested_date": D(2025, 1, 10)}])
    assert evaluate(snap, SETTINGS, D(2025, 6, 1))["measure"].to_list() == ["DECIDE_6W"]


def test_stage_gathering_advice_until_every_advice_is_in(evaluate):
    advice = [
        {"request_id": "R1", "advice_type": "health", "requested_date": D(2025, 2, 11), "received_date": D(2025, 3, 1)},
        {"request_id": "R1", "advice_type": "education", "requested_date": D(2025, 2, 11),
         "received_date": D(2025, 3, 20)},
    ]
    assert _stage(evaluate, D(2025, 3, 19), advice=advice, draft=False) == "gathering_advice"
    assert _stage(evaluate, D(2025, 3, 20), advice=advice, draft=False) == "drafting"


def test_stage_awaiting_advice_requests(evaluate):
    assert _stage(evaluate, D(2025, 3, 1), advice=[], draft=False) == "awaiting_advice_requests"


def test_stage_without_an_advice_table_goes_to_drafting(evaluate):
    assert _stage(evaluate, D(2025, 3, 1), draft=False) == "drafting"


def test_stage_draft_served_2025_03_03_comment_window_ends_2025_03_17(evaluate):
    assert _stage(evaluate, D(2025, 3, 17), advice=[], draft=D(2025, 3, 3), present={"people", "requests", "drafts"}) \
        == "draft_comments"
    assert _stage(evaluate, D(2025, 3, 18), draft=D(2025, 3, 3)) == "finalising"


def test_stage_stops_at_drafting_when_the_source_has_no_drafts(evaluate):
    assert _stage(evaluate, D(2025, 6, 1)) == "drafting"


# --- start events after the as-of date ------------------------------------------------------


def test_a_request_received_after_the_as_of_date_has_no_clocks_yet(evaluate):
    snap = snapshot(people=[person()], requests=[request(received=D(2025, 3, 15), decided=None, outcome="A")])
    assert evaluate(snap, SETTINGS, D(2025, 3, 14)).height == 0
    assert evaluate(snap, SETTINGS, D(2025, 3, 15))["measure"].to_list() == ["DECIDE_6W"]


def test_advice_requested_after_the_as_of_date_is_not_requested_yet(evaluate):
    advice = [{"request_id": "R1", "advice_type": "health", "requested_date": D(2025, 3, 15)}]
    assert _stage(evaluate, D(2025, 3, 14), advice=advice, draft=False) == "awaiting_advice_requests"
    snap = snapshot(people=[person()], requests=[request()], advice=advice)
    assert rows(evaluate(snap, SETTINGS, D(2025, 3, 14)), "ADVICE_6W") == []
    assert one(evaluate(snap, SETTINGS, D(2025, 3, 15)), "ADVICE_6W")["due_date"] == D(2025, 4, 26)
