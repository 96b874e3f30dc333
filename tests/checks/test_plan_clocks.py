"""Worked examples of the plan-level clocks (docs/rules.md, Review cycles; Phase transfers), dates spelled out.

Each runs against both the polars engine and the per-case oracle.
"""

from datetime import date

import pytest

from ehcp_monitor import config
from ehcp_monitor.checks import clock_engine as engine
from ehcp_monitor.checks import oracle
from tests.checks.helpers import one, person, rows, snapshot

D = date
SETTINGS = config.defaults()
LEAP_DAY = D(2024, 2, 29)


@pytest.fixture(params=[engine.evaluate, oracle.evaluate], ids=["engine", "oracle"])
def evaluate(request):
    return request.param


def plan(start=LEAP_DAY, cease=None, history="full", pid="PL1", rid=None) -> dict:
    return {"plan_id": pid, "person_id": "P1", "request_id": rid, "start_date": start, "cease_date": cease,
            "review_history": history}


def review(meeting=None, decision=None, outcome="maintain", notice=None, final=None, pid="PL1") -> dict:
    return {"plan_id": pid, "meeting_date": meeting, "decision_date": decision, "outcome": outcome,
            "amendment_notice_date": notice, "amended_final_date": final}


def cycles(frame):
    return [
        (r["measure"], r["anchor_date"], r["due_date"], r["completed_date"], r["status"], r["days_late"])
        for r in frame.filter(frame["measure"].is_in(["REVIEW_12M", "REVIEW_EY"])).sort("anchor_date").to_dicts()
    ]


# --- review cycles ---------------------------------------------------------------------------


def test_plan_started_2024_02_29_first_review_due_2025_02_28(evaluate):
    snap = snapshot(people=[person()], plans=[plan()], reviews=[review(D(2025, 2, 10), D(2025, 2, 28))])
    assert cycles(evaluate(snap, SETTINGS, D(2025, 3, 14))) == [
        ("REVIEW_12M", D(2024, 2, 29), D(2025, 2, 28), D(2025, 2, 28), "met", None),
        ("REVIEW_12M", D(2025, 2, 28), D(2026, 2, 28), None, "pending", None),
    ]


def test_four_reviews_give_four_completed_cycles_and_the_open_one(evaluate):
    decisions = [D(2021, 1, 10), D(2022, 1, 20), D(2023, 1, 31), D(2024, 3, 1)]
    snap = snapshot(people=[person()], plans=[plan(start=D(2020, 1, 15))],
                    reviews=[review(decision=d) for d in decisions])
    assert cycles(evaluate(snap, SETTINGS, D(2025, 3, 14))) == [
        ("REVIEW_12M", D(2020, 1, 15), D(2021, 1, 15), D(2021, 1, 10), "met", None),
        ("REVIEW_12M", D(2021, 1, 10), D(2022, 1, 10), D(2022, 1, 20), "late", 10),
        ("REVIEW_12M", D(2022, 1, 20), D(2023, 1, 20), D(2023, 1, 31), "late", 11),
        ("REVIEW_12M", D(2023, 1, 31), D(2024, 1, 31), D(2024, 3, 1), "late", 30),
        ("REVIEW_12M", D(2024, 3, 1), D(2025, 3, 1), None, "overdue", 13),
    ]


def test_completions_on_or_before_the_anchor_complete_nothing(evaluate):
    snap = snapshot(people=[person()], plans=[plan(start=D(2024, 5, 1))],
                    reviews=[review(decision=D(2024, 4, 1)), review(decision=D(2024, 5, 1))])
    assert cycles(evaluate(snap, SETTINGS, D(2025, 3, 14))) == [
        ("REVIEW_12M", D(2024, 5, 1), D(2025, 5, 1), None, "pending", None),
    ]


def test_a_review_completed_after_the_as_of_date_is_not_yet_known(evaluate):
    snap = snapshot(people=[person()], plans=[plan(start=D(2024, 1, 10))],
                    reviews=[review(D(2025, 1, 5), D(2025, 3, 15))])
    assert cycles(evaluate(snap, SETTINGS, D(2025, 3, 14))) == [
        ("REVIEW_12M", D(2024, 1, 10), D(2025, 1, 10), None, "overdue", 63),
    ]


def test_review_completed_by_meeting_setting(evaluate):
    settings = SETTINGS.replace(**{"rules.review_completed_by": "meeting"})
    snap = snapshot(people=[person()], plans=[plan(start=D(2024, 1, 10))],
                    reviews=[review(D(2025, 1, 5), D(2025, 2, 20))])
    assert cycles(evaluate(snap, settings, D(2025, 3, 14)))[0][3:5] == (D(2025, 1, 5), "met")
    assert cycles(evaluate(snap, SETTINGS, D(2025, 3, 14)))[0][3:5] == (D(2025, 2, 20), "late")


@pytest.mark.parametrize(
    "born, measure, due",
    [
        (D(2020, 3, 1), "REVIEW_12M", D(2026, 3, 1)),  # fifth birthday ON the anchor date counts as 5
        (D(2020, 3, 2), "REVIEW_EY", D(2025, 9, 1)),  # fifth birthday the day after: still 4
    ],
)
def test_early_years_interval_by_age_on_the_anchor_date(evaluate, born, measure, due):
    snap = snapshot(people=[person(born=born)], plans=[plan(start=D(2025, 3, 1))])
    row = one(evaluate(snap, SETTINGS, D(2025, 3, 14)), measure)
    assert (row["anchor_date"], row["due_date"]) == (D(2025, 3, 1), due)
    assert row["kind"] == ("guidance" if measure == "REVIEW_EY" else "statutory")


def test_early_years_cycle_2025_08_31_plus_6_months_is_2026_02_28(evaluate):
    snap = snapshot(people=[person(born=D(2022, 1, 1))], plans=[plan(start=D(2025, 3, 3))],
                    reviews=[review(D(2025, 8, 20), D(2025, 8, 31))])
    assert cycles(evaluate(snap, SETTINGS, D(2026, 3, 14))) == [
        ("REVIEW_EY", D(2025, 3, 3), D(2025, 9, 3), D(2025, 8, 31), "met", None),
        ("REVIEW_EY", D(2025, 8, 31), D(2026, 2, 28), None, "overdue", 14),
    ]


def test_a_child_turning_five_moves_to_the_12_month_interval(evaluate):
    snap = snapshot(people=[person(born=D(2020, 6, 1))], plans=[plan(start=D(2025, 1, 10))],
                    reviews=[review(decision=D(2025, 6, 1))])
    assert cycles(evaluate(snap, SETTINGS, D(2025, 7, 1))) == [
        ("REVIEW_EY", D(2025, 1, 10), D(2025, 7, 10), D(2025, 6, 1), "met", None),
        ("REVIEW_12M", D(2025, 6, 1), D(2026, 6, 1), None, "pending", None),
    ]


def test_early_years_settings(evaluate):
    settings = SETTINGS.replace(**{"rules.early_years_review_months": 3, "rules.early_years_age": 6})
    snap = snapshot(people=[person(born=D(2019, 6, 1))], plans=[plan(start=D(2025, 1, 31))])
    row = one(evaluate(snap, settings, D(2025, 3, 14)), "REVIEW_EY")
    assert row["due_date"] == D(2025, 4, 30)


def test_review_ey_overdue_is_never_very_late(evaluate):
    snap = snapshot(people=[person(born=D(2022, 1, 1))], plans=[plan(start=D(2024, 1, 10))])
    row = one(evaluate(snap, SETTINGS, D(2025, 3, 14)), "REVIEW_EY")
    assert (row["status"], row["days_late"], row["very_late"]) == ("overdue", 247, False)


def test_very_late_review(evaluate):
    snap = snapshot(people=[person()], plans=[plan(start=D(2024, 1, 10))])
    assert one(evaluate(snap, SETTINGS, D(2025, 2, 20)), "REVIEW_12M")["very_late"] is False  # 41 days
    assert one(evaluate(snap, SETTINGS, D(2025, 2, 21)), "REVIEW_12M")["very_late"] is True  # 42 days


def test_latest_only_history_has_only_the_cycle_on_the_latest_review(evaluate):
    snap = snapshot(people=[person()], plans=[plan(start=D(2020, 1, 15), history="latest_only")],
                    reviews=[review(D(2024, 2, 20), D(2024, 3, 1), outcome="amend", notice=D(2024, 3, 1))])
    frame = evaluate(snap, SETTINGS, D(2025, 3, 14))
    assert cycles(frame) == [("REVIEW_12M", D(2024, 3, 1), D(2025, 3, 1), None, "overdue", 13)]
    # and never an amendment clock it cannot see the end of
    assert rows(frame, "AMEND_FINAL_8W") == []
    assert one(frame, "REVIEW_DECISION_4W")["status"] == "met"


def test_latest_only_plan_without_a_review_has_the_cycle_on_its_start(evaluate):
    snap = snapshot(people=[person()], plans=[plan(start=D(2024, 5, 1), history="latest_only")])
    assert cycles(evaluate(snap, SETTINGS, D(2025, 3, 14))) == [
        ("REVIEW_12M", D(2024, 5, 1), D(2025, 5, 1), None, "pending", None),
    ]


def test_latest_only_plan_evaluated_before_its_recorded_review_invents_no_cycle(evaluate):
    # SEN2 holds only the review decided 2025-06-10. On 2025-06-01 that review had not happened and
    # the reviews before it are unseen: no cycle (never 2019-05-01 + 12 months, six years "overdue").
    snap = snapshot(people=[person()], plans=[plan(start=D(2019, 5, 1), history="latest_only")],
                    reviews=[review(D(2025, 5, 20), D(2025, 6, 10))])
    frame = evaluate(snap, SETTINGS, D(2025, 6, 1))
    assert cycles(frame) == []
    assert one(frame, "REVIEW_DECISION_4W")["due_date"] == D(2025, 6, 17)
    assert cycles(evaluate(snap, SETTINGS, D(2025, 7, 1))) == [
        ("REVIEW_12M", D(2025, 6, 10), D(2026, 6, 10), None, "pending", None),
    ]


def test_plan_ceased_before_its_review_was_due_closes_the_cycle(evaluate):
    snap = snapshot(people=[person()], plans=[plan(start=D(2024, 1, 10), cease=D(2025, 1, 10))])
    assert cycles(evaluate(snap, SETTINGS, D(2025, 3, 14))) == [
        ("REVIEW_12M", D(2024, 1, 10), D(2025, 1, 10), None, "closed", None),
    ]


def test_plan_ceased_after_its_review_was_due_misses_the_cycle(evaluate):
    snap = snapshot(people=[person()], plans=[plan(start=D(2024, 1, 10), cease=D(2025, 2, 1))],
                    reviews=[review(decision=D(2025, 2, 20))])
    # the review decided after the cease date starts no new cycle; the open one was missed
    assert cycles(evaluate(snap, SETTINGS, D(2025, 3, 14))) == [
        ("REVIEW_12M", D(2024, 1, 10), D(2025, 1, 10), D(2025, 2, 20), "late", 41),
    ]
    snap = snapshot(people=[person()], plans=[plan(start=D(2024, 1, 10), cease=D(2025, 2, 1))])
    assert cycles(evaluate(snap, SETTINGS, D(2025, 3, 14))) == [
        ("REVIEW_12M", D(2024, 1, 10), D(2025, 1, 10), None, "missed", 22),
    ]


def test_a_cease_date_after_the_as_of_date_is_not_yet_known(evaluate):
    snap = snapshot(people=[person()], plans=[plan(start=D(2024, 1, 10), cease=D(2025, 3, 15))])
    assert cycles(evaluate(snap, SETTINGS, D(2025, 3, 14)))[0][4] == "overdue"


def test_plan_rows_carry_plan_request_and_person(evaluate):
    snap = snapshot(people=[person()], plans=[plan(rid="R9")])
    row = one(evaluate(snap, SETTINGS, D(2025, 3, 14)), "REVIEW_12M")
    assert (row["request_id"], row["plan_id"], row["person_id"], row["item"]) == ("R9", "PL1", "P1", None)


# --- review decisions and amendments -----------------------------------------------------------


@pytest.mark.parametrize(
    "decision, status, days_late", [(D(2025, 2, 3), "met", None), (D(2025, 2, 4), "late", 1), (None, "overdue", 39)]
)
def test_review_decision_4w_meeting_2025_01_06_due_2025_02_03(evaluate, decision, status, days_late):
    snap = snapshot(people=[person()], plans=[plan()], reviews=[review(D(2025, 1, 6), decision)])
    row = one(evaluate(snap, SETTINGS, D(2025, 3, 14)), "REVIEW_DECISION_4W")
    assert (row["anchor_date"], row["due_date"], row["status"], row["days_late"]) == (
        D(2025, 1, 6), D(2025, 2, 3), status, days_late)


def test_review_without_a_meeting_has_no_decision_clock(evaluate):
    snap = snapshot(people=[person()], plans=[plan()], reviews=[review(decision=D(2025, 2, 3))])
    assert rows(evaluate(snap, SETTINGS, D(2025, 3, 14)), "REVIEW_DECISION_4W") == []


@pytest.mark.parametrize(
    "final, status, days_late", [(D(2025, 3, 3), "met", None), (D(2025, 3, 4), "late", 1), (None, "overdue", 11)]
)
def test_amend_final_8w_notice_2025_01_06_due_2025_03_03(evaluate, final, status, days_late):
    snap = snapshot(people=[person()], plans=[plan()],
                    reviews=[review(D(2024, 12, 2), D(2024, 12, 20), "amend", D(2025, 1, 6), final),
                             review(D(2024, 6, 2), D(2024, 6, 20), "maintain", D(2024, 6, 25))])
    row = one(evaluate(snap, SETTINGS, D(2025, 3, 14)), "AMEND_FINAL_8W")
    assert (row["anchor_date"], row["due_date"], row["status"], row["days_late"]) == (
        D(2025, 1, 6), D(2025, 3, 3), status, days_late)


def test_amend_without_a_notice_has_no_amendment_clock(evaluate):
    snap = snapshot(people=[person()], plans=[plan()], reviews=[review(D(2024, 12, 2), D(2024, 12, 20), "amend")])
    assert rows(evaluate(snap, SETTINGS, D(2025, 3, 14)), "AMEND_FINAL_8W") == []


# --- phase transfers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, transfer, given, due",
    [
        ("school", D(2025, 9, 1), None, D(2025, 2, 15)),
        ("post16", D(2025, 9, 1), None, D(2025, 3, 31)),
        ("post16_other", D(2025, 7, 31), None, D(2025, 2, 28)),  # 5 months back, clamped to month end
        ("post16_other", D(2026, 1, 10), None, D(2025, 8, 10)),
        ("school", D(2025, 9, 1), D(2025, 2, 1), D(2025, 2, 1)),  # the input's due date wins
    ],
)
def test_phase_transfer_due_dates(evaluate, kind, transfer, given, due):
    snap = snapshot(people=[person()], plans=[plan()],
                    phase_transfers=[{"plan_id": "PL1", "transfer_kind": kind, "transfer_date": transfer,
                                      "due_date": given}])
    row = one(evaluate(snap, SETTINGS, D(2025, 1, 1)), "PHASE_TRANSFER")
    assert (row["item"], row["anchor_date"], row["due_date"]) == (kind, due, due)


@pytest.mark.parametrize(
    "final, cease, status, days_late",
    [
        (D(2025, 2, 15), None, "met", None),
        (D(2025, 2, 16), None, "late", 1),
        (None, None, "overdue", 27),
        (None, D(2025, 2, 15), "closed", None),
        (None, D(2025, 2, 20), "missed", 5),
    ],
)
def test_phase_transfer_status(evaluate, final, cease, status, days_late):
    snap = snapshot(people=[person()], plans=[plan(cease=cease)],
                    phase_transfers=[{"plan_id": "PL1", "transfer_kind": "school", "transfer_date": D(2025, 9, 1),
                                      "final_date": final}])
    row = one(evaluate(snap, SETTINGS, D(2025, 3, 14)), "PHASE_TRANSFER")
    assert (row["status"], row["days_late"]) == (status, days_late)


def test_a_plan_starting_after_the_as_of_date_has_no_clocks_yet(evaluate):
    snap = snapshot(people=[person()], plans=[plan(start=D(2025, 3, 15))],
                    phase_transfers=[{"plan_id": "PL1", "transfer_kind": "school", "transfer_date": D(2026, 9, 1)}])
    assert evaluate(snap, SETTINGS, D(2025, 3, 14)).height == 0
    assert evaluate(snap, SETTINGS, D(2025, 3, 15))["measure"].to_list() == ["PHASE_TRANSFER", "REVIEW_12M"]


def test_a_meeting_or_notice_after_the_as_of_date_starts_no_clock_yet(evaluate):
    snap = snapshot(people=[person()], plans=[plan()],
                    reviews=[review(D(2025, 3, 15), outcome="amend", notice=D(2025, 3, 16))])
    frame = evaluate(snap, SETTINGS, D(2025, 3, 14))
    assert rows(frame, "REVIEW_DECISION_4W") == [] and rows(frame, "AMEND_FINAL_8W") == []
    frame = evaluate(snap, SETTINGS, D(2025, 3, 16))
    assert len(rows(frame, "REVIEW_DECISION_4W")) == 1 and len(rows(frame, "AMEND_FINAL_8W")) == 1


def test_a_review_decided_on_the_cease_date_anchors_a_closed_cycle(evaluate):
    snap = snapshot(people=[person()], plans=[plan(start=D(2024, 1, 10), cease=D(2024, 12, 1))],
                    reviews=[review(decision=D(2024, 12, 1))])
    assert cycles(evaluate(snap, SETTINGS, D(2025, 3, 14))) == [
        ("REVIEW_12M", D(2024, 1, 10), D(2025, 1, 10), D(2024, 12, 1), "met", None),
        ("REVIEW_12M", D(2024, 12, 1), D(2025, 12, 1), None, "closed", None),
    ]


def test_odd_data_never_crashes_and_gives_the_same_answer_both_ways():
    snap = snapshot(
        people=[person(born=None)],
        requests=[{"request_id": "R1", "person_id": "P1", "received_date": None, "request_outcome": "Y"},
                  {"request_id": "R2", "person_id": "nobody", "received_date": D(2025, 1, 6), "request_outcome": "X"}],
        assessments=[{"request_id": "missing", "assessment_outcome": "Y"}],
        advice=[{"request_id": "missing", "advice_type": "health", "requested_date": D(2025, 1, 6)}],
        plans=[plan(), plan(pid="PL2", start=None)],
        reviews=[review(D(2024, 6, 1), D(2024, 6, 1)), review(D(2024, 6, 1), D(2024, 6, 1)),
                 review(D(2024, 7, 1), pid="ghost")],
        phase_transfers=[{"plan_id": "PL1", "transfer_kind": "elsewhere", "transfer_date": D(2025, 9, 1)}],
    )
    fast = engine.evaluate(snap, SETTINGS, D(2025, 3, 14))
    assert fast.equals(oracle.evaluate(snap, SETTINGS, D(2025, 3, 14)))
    # a person without a date of birth gets the 12-month interval; duplicate reviews count once
    assert cycles(fast) == [
        ("REVIEW_12M", D(2024, 2, 29), D(2025, 2, 28), D(2024, 6, 1), "met", None),
        ("REVIEW_12M", D(2024, 6, 1), D(2025, 6, 1), None, "pending", None),
    ]
    assert fast["measure"].to_list() == ["REVIEW_12M", "REVIEW_12M", "REVIEW_DECISION_4W", "REVIEW_DECISION_4W"]
