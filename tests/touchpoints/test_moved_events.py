"""A review decision or amended plan whose date is corrected after the family was told of it
(touchpoints/corrections.py, RECURRING; docs/touchpoints.md, When the records change)."""

import email
from datetime import datetime, timedelta, timezone
from email import policy

from sqlalchemy import select

from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.touchpoints import plan_touchpoints
from ehcp_monitor.touchpoints.hold import release
from tests.touchpoints.conftest import AS_OF, D, held_ids, result, store_case, tp_settings
from tests.touchpoints.test_corrections import DECIDED, NEXT, NEXT_NOW, send
from tests.touchpoints.test_outcomes import AMEND, review_rows, reviewed, told

MOVED = ("held as a correction: the family was already sent decision after the review dated 2025-03-12, which "
         "the records no longer have (a date corrected?); check the record, then "
         "`ehcp-monitor touchpoints release --id N` or `discard --id N`")
AUTUMN = D("2025-09-10")  # a Wednesday, half a year on
AUTUMN_NOW = datetime(2025, 9, 10, 9, 0, tzinfo=timezone.utc)


def dated(review: dict, **changes) -> dict:
    return {**review, **changes}


def told_of_a_decision(engine, tmp_path) -> tuple[dict, list]:
    """The family is sent the review decision of 12 March (meeting 3 March, amend)."""
    frames, results = reviewed(AMEND)
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    send(engine, tmp_path)
    return frames, results


def latest_only(frames: dict) -> list[dict]:
    """The plans, with their reviews only the latest (an SEN2 extract)."""
    return [{**plan, "review_history": "latest_only"} for plan in frames["plans"]]


def amended_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(Touchpoint.event_date, Touchpoint.status, Touchpoint.reason)
            .where(Touchpoint.stage == "amended_plan_issued").order_by(Touchpoint.id)).all()]


def test_a_review_decision_dated_again_after_sending_is_held_for_a_person(engine, tmp_path):
    frames, results = reviewed(AMEND)
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["by_stage"]["review_decision"] == 1
    # The decision was keyed a day early: the family must not hear of it twice.
    store_case(engine, frames | {"reviews": [dated(AMEND, decision_date=DECIDED + timedelta(days=1))]}, results,
               ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["held"], counts["corrections_held"], counts["pending"]) == (1, 1, 0)
    assert review_rows(engine) == [("amend", "sent", None), ("amend", "held", MOVED)]
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["sent"] == 0
    # A person who finds the first message was wrong in a way that matters sends the second.
    assert release(engine, tp_settings(), stage=None, as_of=NEXT, now=NEXT_NOW, ids=held_ids(engine))["released"] == 1
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["by_stage"] == {"review_decision": 1}


def test_a_review_decision_dated_again_with_another_outcome_after_sending_is_held(engine, tmp_path):
    frames, results = told_of_a_decision(engine, tmp_path)
    store_case(engine, frames | {"reviews": [dated(AMEND, decision_date=D("2025-03-13"), outcome="cease")]},
               results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["corrections_held"], counts["pending"]) == (1, 0)
    assert review_rows(engine) == [("amend", "sent", None), ("cease", "held", MOVED)]


def test_a_review_decision_dated_again_before_sending_tells_only_the_corrected_date(engine, tmp_path):
    frames, results = reviewed(AMEND)
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)  # waits for Monday
    store_case(engine, frames | {"reviews": [dated(AMEND, decision_date=D("2025-03-13"))]}, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["superseded"], counts["pending"], counts["held"]) == (1, 1, 0)
    send(engine, tmp_path, NEXT, NEXT_NOW)
    (review,) = told(tmp_path)
    text = email.message_from_string(review, policy=policy.default).get_body(("plain",)).get_content()
    assert "13 March 2025" in text and "12 March 2025" not in text


def test_an_early_review_decided_while_the_last_is_still_in_the_records_is_told(engine, tmp_path):
    frames, results = told_of_a_decision(engine, tmp_path)
    # An early review (circumstances changed) decided seven weeks on: two decisions, both real.
    early = dated(AMEND, meeting_date=D("2025-04-25"), decision_date=D("2025-04-30"), outcome="maintain")
    store_case(engine, frames | {"reviews": [AMEND, early]}, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2025-04-30"))
    assert (counts["pending"], counts["held"]) == (1, 0)


def test_the_next_review_decision_is_told_when_the_records_keep_only_the_latest(engine, tmp_path):
    frames, results = told_of_a_decision(engine, tmp_path)
    # An extract that carries only each plan's latest review: the March decision has left it.
    autumn = dated(AMEND, meeting_date=D("2025-09-01"), decision_date=D("2025-09-09"), outcome="maintain")
    store_case(engine, frames | {"reviews": [autumn], "plans": latest_only(frames)}, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=AUTUMN)
    assert (counts["pending"], counts["held"]) == (1, 0)
    assert send(engine, tmp_path, AUTUMN, AUTUMN_NOW)["by_stage"] == {"review_decision": 1}


def test_a_review_held_soon_after_the_last_is_told_when_the_records_keep_only_the_latest(engine, tmp_path):
    frames, results = told_of_a_decision(engine, tmp_path)
    # A child under 5 reviewed every 3 months, in an extract of each plan's latest review (SEN2):
    # the next decision, 60 days on, replaces the last. Its meeting came after it: a new review.
    spring = dated(AMEND, meeting_date=D("2025-05-06"), decision_date=D("2025-05-11"), outcome="maintain")
    store_case(engine, frames | {"reviews": [spring], "plans": latest_only(frames)}, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2025-05-12"))
    assert (counts["pending"], counts["held"]) == (1, 0)


def test_a_review_whose_meeting_and_decision_are_both_re_dated_days_on_is_held_where_reviews_are_latest_only(
        engine, tmp_path):
    frames, results = told_of_a_decision(engine, tmp_path)  # meeting 3 March, decision 12 March
    # Both keyed wrong: the meeting was on 13 March, the decision on 14 March. A next review's
    # meeting does not come the day after the last decision: the same review, held.
    moved = dated(AMEND, meeting_date=D("2025-03-13"), decision_date=D("2025-03-14"))
    store_case(engine, frames | {"reviews": [moved], "plans": latest_only(frames)}, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["pending"], counts["corrections_held"]) == (0, 1)


def test_a_whole_review_keyed_a_month_out_is_held_where_the_records_keep_every_review(engine, tmp_path):
    frames, results = told_of_a_decision(engine, tmp_path)
    # Meeting and decision both a month out. With every review in the records, a next review
    # would leave the last one there: this one is the same review, re-dated.
    moved = dated(AMEND, meeting_date=D("2025-04-03"), decision_date=D("2025-04-12"))
    store_case(engine, frames | {"reviews": [moved]}, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2025-04-14"))
    assert (counts["pending"], counts["corrections_held"]) == (0, 1)


def test_an_amended_plan_dated_again_after_sending_is_held_for_a_person(engine, tmp_path):
    issued = dated(AMEND, amended_final_date=D("2025-03-13"))
    frames, results = reviewed(issued)
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["by_stage"]["amended_plan_issued"] == 1
    store_case(engine, frames | {"reviews": [dated(issued, amended_final_date=D("2025-03-14"))]}, results,
               ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert counts["corrections_held"] == 1
    assert amended_rows(engine) == [
        (D("2025-03-13"), "sent", None),
        (D("2025-03-14"), "held", "held as a correction: the family was already sent amended plan issued dated "
                                  "2025-03-13, which the records no longer have (a date corrected?); check the "
                                  "record, then `ehcp-monitor touchpoints release --id N` or `discard --id N`"),
    ]


def _review_due(due, status="pending", completed=None) -> dict:
    return result("REVIEW_12M", request_id="R1", plan_id="PL1", anchor=due - timedelta(days=365), due=due,
                  completed=completed, status=status)


def upcoming_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(Touchpoint.event_date, Touchpoint.status)
            .where(Touchpoint.stage == "review_upcoming").order_by(Touchpoint.id)).all()]


def told_a_review_is_coming(engine, tmp_path) -> tuple[dict, list]:
    """The family is sent, on 14 March, that the review due 9 May is coming (56 days before)."""
    frames, results = reviewed()
    store_case(engine, frames, [*results, _review_due(D("2025-05-09"))])
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["by_stage"]["review_upcoming"] == 1
    return frames, results


def test_a_review_due_date_corrected_after_the_family_was_told_it_is_coming_is_held(engine, tmp_path):
    frames, results = told_a_review_is_coming(engine, tmp_path)
    # The last review's date was corrected: the review is due 24 May, and the family would hear of it twice.
    store_case(engine, frames, [*results, _review_due(D("2025-05-24"))], ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2025-03-29"))
    assert counts["corrections_held"] == 1
    assert upcoming_rows(engine) == [(D("2025-03-14"), "sent"), (D("2025-03-29"), "held")]


def test_the_next_cycles_review_upcoming_is_told(engine, tmp_path):
    frames, results = told_a_review_is_coming(engine, tmp_path)
    # Reviewed on 2 May; the next review due in a year (the check results say so), told 56 days before.
    done = _review_due(D("2025-05-09"), status="met", completed=D("2025-05-02"))
    store_case(engine, frames, [*results, done, _review_due(D("2026-05-02"))], ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2026-03-09"))
    assert (counts["pending"], counts["held"]) == (1, 0)


def test_a_review_due_date_moved_two_months_by_a_correction_is_held(engine, tmp_path):
    frames, results = told_a_review_is_coming(engine, tmp_path)
    # The last review's date was two months out: the same cycle, due 8 July.
    store_case(engine, frames, [*results, _review_due(D("2025-07-08"))], ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2025-05-13"))
    assert counts["corrections_held"] == 1


def test_an_under_fives_next_review_upcoming_weeks_after_the_last_is_told(engine, tmp_path):
    frames, results = told_a_review_is_coming(engine, tmp_path)
    # Reviewed on 1 April, the next review due 3 months on (told 56 days before: 6 May, 53 days
    # after the last message). Its cycle began after that message: a new review, told.
    done = _review_due(D("2025-05-09"), status="met", completed=D("2025-04-01"))
    following = {**_review_due(D("2025-07-01")), "measure": "REVIEW_EY", "anchor_date": D("2025-04-01")}
    store_case(engine, frames, [*results, done, following], ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2025-05-06"))
    assert (counts["pending"], counts["held"]) == (1, 0)
