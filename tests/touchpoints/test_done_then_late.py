"""Messages at odds with what the family was told (touchpoints/corrections.py; docs/touchpoints.md,
When the records change): an apology for a step they were told was done (DONE_TOLD_BY), one resting
on a date since corrected, and a review coming up after the decision to cease the plan."""

import copy
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.touchpoints import plan_touchpoints
from ehcp_monitor.touchpoints.hold import release
from tests.touchpoints.conftest import AS_OF, NOW, D, result, store_case, tp_settings
from tests.touchpoints.test_corrections import corrected, decided_family, outbox, send
from tests.touchpoints.test_outcomes import AMEND, reviewed
from tests.touchpoints.test_progress_update import family

MAY = D("2025-05-01")  # DECIDE_6W of the 10 March request fell due on 21 April
MAY_NOW = datetime(2025, 5, 1, 9, 0, tzinfo=timezone.utc)


def decision_late(status="overdue") -> list[dict]:
    return [result("DECIDE_6W", request_id="R1", due=D("2025-04-21"), status=status, days_late=10)]


def test_a_decision_removed_after_the_family_was_told_of_it_gives_no_apology_for_its_lateness(engine, tmp_path):
    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["by_stage"] == {"decision_to_assess": 1, "request_received": 1}
    # The outcome and its date are cleared in the case system (keyed on the wrong request?).
    store_case(engine, corrected(frames, request_outcome="A", request_outcome_date=None), decision_late(),
               ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=MAY)
    assert (counts["pending"], counts["corrections_held"]) == (0, 1)
    assert outbox(engine, "delay_notice") == [(
        "delay_notice", D("2025-04-22"), "held",
        "held as a correction: the family was already sent decision to assess dated 2025-03-12, and this message "
        "says DECIDE_6W is late (a date removed or an outcome changed?); check the record, then "
        "`ehcp-monitor touchpoints release --id N` or `discard --id N`")]
    assert send(engine, tmp_path, MAY, MAY_NOW)["sent"] == 0


def test_a_late_decision_the_family_was_never_told_of_is_apologised_for(engine, tmp_path):
    frames, _ = decided_family()
    undecided = corrected(frames, request_outcome="A", request_outcome_date=None)
    store_case(engine, undecided, decision_late())
    counts = plan_touchpoints(engine, tp_settings(), as_of=MAY)
    assert (counts["pending"], counts["corrections_held"]) == (1, 0)  # the request itself is too old to tell
    assert [r[2] for r in outbox(engine, "delay_notice")] == ["pending"]


AMENDED = {**AMEND, "amendment_notice_date": D("2025-03-20"), "amended_final_date": D("2025-04-10")}
AMEND_LATE = result("AMEND_FINAL_8W", plan_id="PL1", due=D("2025-05-15"), status="overdue", days_late=1)


def test_an_amended_plan_removed_after_the_family_was_told_it_was_issued_gives_no_apology(engine, tmp_path):
    frames, results = reviewed(AMENDED)
    store_case(engine, frames, results)
    issued = D("2025-04-10")
    plan_touchpoints(engine, tp_settings(), as_of=issued)
    assert send(engine, tmp_path, issued, datetime(2025, 4, 10, 9, 0, tzinfo=timezone.utc))["by_stage"][
        "amended_plan_issued"] == 1
    frames["reviews"] = [{**AMENDED, "amended_final_date": None}]
    store_case(engine, frames, [*results, AMEND_LATE], ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2025-05-16"))
    assert (counts["pending"], counts["corrections_held"]) == (0, 1)
    ((_, _, status, reason),) = outbox(engine, "delay_notice")
    assert status == "held" and "amended plan issued dated 2025-04-10" in reason and "AMEND_FINAL_8W" in reason


def test_an_amended_plan_of_an_earlier_review_does_not_hold_this_reviews_delay_notice(engine, tmp_path):
    frames, results = reviewed(AMENDED)
    store_case(engine, frames, results)
    issued = D("2025-04-10")
    plan_touchpoints(engine, tp_settings(), as_of=issued)
    send(engine, tmp_path, issued, datetime(2025, 4, 10, 9, 0, tzinfo=timezone.utc))
    # An early review a month later proposes amendments again; its amended plan is late.
    early = {"plan_id": "PL1", "meeting_date": D("2025-04-14"), "decision_date": D("2025-04-16"),
             "outcome": "amend", "amendment_notice_date": D("2025-04-18")}
    frames["reviews"] = [AMENDED, early]
    late = result("AMEND_FINAL_8W", plan_id="PL1", due=D("2025-06-13"), status="overdue", days_late=1)
    store_case(engine, frames, [*results, late], ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2025-06-14") + timedelta(days=2))
    assert counts["corrections_held"] == 0
    assert [r[2] for r in outbox(engine, "delay_notice")] == ["pending"]


def test_a_progress_update_after_the_family_was_told_the_final_plan_was_issued_is_held(engine, tmp_path):
    frames, results = family()
    issued = {"request_id": "R1", "assessment_outcome": "Y", "assessment_outcome_date": D("2025-03-12")}
    store_case(engine, frames | {"assessments": [issued]},
               [results[0], result("FINAL_20W", request_id="R1", due=D("2025-06-09"), completed=D("2025-03-12"),
                                   status="met")])
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["by_stage"] == {"final_plan_issued": 1}
    # The assessment's outcome is cleared: the request looks open again, the family silent since.
    store_case(engine, frames, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=AS_OF + timedelta(days=14))
    assert (counts["pending"], counts["corrections_held"]) == (0, 1)
    ((_, _, status, reason),) = outbox(engine, "progress_update")
    assert status == "held" and reason.startswith(
        "held as a correction: the family was already sent final plan issued dated 2025-03-12, and this message "
        "says the assessment goes on")
    # Released as a correction, it names the message it corrects: the final plan's, not an update.
    with engine.connect() as conn:
        row_id = conn.execute(select(Touchpoint.id).where(Touchpoint.stage == "progress_update")).scalar_one()
    release(engine, tp_settings(), stage=None, as_of=AS_OF + timedelta(days=14), now=NOW, ids=[row_id],
            as_correction=True)
    with engine.connect() as conn:
        facts = conn.execute(select(Touchpoint.context).where(Touchpoint.id == row_id)).scalar_one()
    assert facts["corrects"] == {"stage": "final_plan_issued", "sent_on": "2025-03-14"}


def test_a_request_re_dated_by_months_after_the_family_was_told_of_it_holds_the_apology_it_brings(engine, tmp_path):
    frames, _ = decided_family()
    received = corrected(frames, request_outcome="A", request_outcome_date=None)
    store_case(engine, received, [result("DECIDE_6W", request_id="R1", due=D("2025-04-21"), status="pending")])
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["by_stage"] == {"request_received": 1}  # "we will decide by 21 April"
    # The request came in January: the decision "was due by 17 February", the family told otherwise.
    january = corrected(received, received_date=D("2025-01-06"))
    late = [result("DECIDE_6W", request_id="R1", due=D("2025-02-17"), status="overdue", days_late=35)]
    store_case(engine, january, late, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2025-03-24"))
    assert (counts["pending"], counts["corrections_held"]) == (0, 1)
    ((_, _, status, reason),) = [r for r in outbox(engine, "delay_notice") if r[2] != "suppressed"]
    assert status == "held" and reason.startswith(
        "held as a correction: the family was already sent request received dated 2025-03-10, which the records "
        "no longer have (a date corrected or removed?)")
    # Three months on, the correction is taken as settled: the repeat goes.
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2025-06-13"))
    assert (counts["pending"], counts["corrections_held"]) == (1, 0)


CEASE = {**AMEND, "outcome": "cease"}
UPCOMING = D("2026-01-15")  # 56 days before the next review's due date


def _review_coming_after(*reviews: dict) -> tuple[dict, list]:
    frames, results = reviewed(*reviews)
    anchor = max(r["decision_date"] for r in reviews)
    due = anchor.replace(year=anchor.year + 1)
    return frames, [*results, result("REVIEW_12M", plan_id="PL1", anchor=anchor, due=due, status="pending")]


def test_a_review_coming_up_after_the_decision_to_cease_the_plan_is_held(engine):
    frames, results = _review_coming_after(CEASE)
    store_case(engine, frames, results)
    counts = plan_touchpoints(engine, tp_settings(), as_of=UPCOMING)
    assert (counts["pending"], counts["corrections_held"]) == (0, 1)
    ((_, day, status, reason),) = outbox(engine, "review_upcoming")
    assert (day, status) == (UPCOMING, "held")
    assert reason == ("held: the plan's last review decided on 2025-03-12 to cease it, and no cease date is "
                      "recorded; if the plan goes on (an appeal) `ehcp-monitor touchpoints release --id N`, else "
                      "record the cease date and `discard --id N`")


def test_a_review_coming_up_after_the_plan_was_maintained_on_appeal_is_told(engine):
    maintained = {**AMEND, "meeting_date": D("2025-05-02"), "decision_date": D("2025-05-12"), "outcome": "maintain"}
    frames, results = _review_coming_after(CEASE, maintained)
    store_case(engine, frames, results)
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2026-03-17"))
    assert (counts["pending"], counts["corrections_held"]) == (1, 0)
    assert [r[2] for r in outbox(engine, "review_upcoming")] == ["pending"]


def test_a_delay_notice_that_comes_back_after_the_decision_was_told_is_held(engine, tmp_path):
    frames, _ = decided_family()
    undecided = corrected(frames, request_outcome="A", request_outcome_date=None)
    store_case(engine, undecided, decision_late())
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-04-22"))  # the notice waits
    # The decision is keyed the next day: the notice is set aside, the decision told.
    decided = corrected(frames, request_outcome_date=D("2025-04-23"))
    store_case(engine, decided, [result("DECIDE_6W", request_id="R1", due=D("2025-04-21"),
                                        completed=D("2025-04-23"), status="late", days_late=2)], ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-04-23"))
    assert send(engine, tmp_path, D("2025-04-23"), datetime(2025, 4, 23, 9, 0, tzinfo=timezone.utc))[
        "by_stage"] == {"decision_to_assess": 1}
    # Cleared again the day after: the notice's event is back, but the family was told it was done.
    store_case(engine, undecided, decision_late(), ingest_id=3)
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2025-04-24"))
    assert (counts["revived"], counts["corrections_held"]) == (0, 1)
    ((_, _, status, reason),) = outbox(engine, "delay_notice")
    assert status == "held" and "decision to assess dated 2025-04-23" in reason


def _assessing(frames: dict, draft: date | None) -> dict:
    """`frames` of a request received on 20 January and decided (Y) on 14 February, in assessment."""
    assessing = copy.deepcopy(frames)
    assessing["requests"][0].update(received_date=D("2025-01-20"), request_outcome_date=D("2025-02-14"))
    assessing["assessments"] = [{"request_id": "R1", "assessment_outcome": "A"}]
    assessing["drafts"] = [{"request_id": "R1", "draft_plan_date": draft}] if draft else []
    return assessing


def _final(status: str, days_late=None) -> list[dict]:
    return [result("DECIDE_6W", request_id="R1", due=D("2025-03-03"), completed=D("2025-02-14"), status="met"),
            {**result("FINAL_20W", request_id="R1", due=D("2025-06-09"), status=status, days_late=days_late),
             "stage": "draft_comments"}]


def test_a_draft_re_dated_by_a_day_does_not_hold_a_true_apology_for_the_final_plan(engine, tmp_path):
    frames, _ = decided_family()
    store_case(engine, _assessing(frames, D("2025-05-20")), _final("pending"))
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-05-20"))
    assert send(engine, tmp_path, D("2025-05-20"), datetime(2025, 5, 20, 9, tzinfo=timezone.utc))["by_stage"] == {
        "draft_plan_issued": 1}
    # The draft's date put right (19 May): the final plan's due date (from the request) is unmoved.
    store_case(engine, _assessing(frames, D("2025-05-19")), _final("overdue", 1), ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-06-10"))
    assert [r[2] for r in outbox(engine, "delay_notice")] == ["pending"]


def test_a_late_review_decision_is_apologised_for_when_the_last_reviews_decision_came_late_too(engine, tmp_path):
    # Review 1 met on 10 January, its decision sent (late) on 15 April; review 2 met on 12 April.
    first = {"plan_id": "PL1", "meeting_date": D("2025-01-10"), "decision_date": D("2025-04-15"),
             "outcome": "maintain"}
    frames, results = reviewed(first, {"plan_id": "PL1", "meeting_date": D("2025-04-12")})
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-04-15"))
    send(engine, tmp_path, D("2025-04-15"), datetime(2025, 4, 15, 9, tzinfo=timezone.utc))
    late = result("REVIEW_DECISION_4W", plan_id="PL1", anchor=D("2025-04-12"), due=D("2025-05-10"),
                  status="overdue", days_late=1)
    store_case(engine, frames, [*results, late], ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-05-12"))
    assert [r[2] for r in outbox(engine, "delay_notice")] == ["pending"]


def test_after_a_plan_outcome_changed_on_appeal_the_apologies_go_once_the_correction_is_settled(engine, tmp_path):
    frames, _ = decided_family()
    refused = _assessing(frames, None)
    refused["assessments"] = [{"request_id": "R1", "assessment_outcome": "N",
                               "assessment_outcome_date": D("2025-04-01")}]
    store_case(engine, refused, _final("closed"))
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-04-01"))
    send(engine, tmp_path, D("2025-04-01"), datetime(2025, 4, 1, 9, tzinfo=timezone.utc))
    # On appeal the assessment is open again and the final plan overdue: held while it may be a
    # keying error, told once 90 days have passed since the decision the family was sent.
    store_case(engine, _assessing(frames, None), _final("overdue", 3), ingest_id=2)
    assert plan_touchpoints(engine, tp_settings(), as_of=D("2025-06-12"))["corrections_held"] == 1
    store_case(engine, _assessing(frames, None), _final("overdue", 57), ingest_id=3)
    later = plan_touchpoints(engine, tp_settings(), as_of=D("2025-08-05"))
    assert later["corrections_held"] == 0 and later["by_stage"].get("delay_notice") == 1


def test_a_review_long_after_the_decision_to_cease_the_plan_is_told(engine):
    frames, results = _review_coming_after(CEASE)  # cease decided 12 March 2025, next review due 12 March 2026
    late = result("REVIEW_12M", plan_id="PL1", anchor=D("2025-03-12"), due=D("2026-03-12"), status="overdue",
                  days_late=57)
    store_case(engine, frames, [*results[:-1], late])
    # 8 May 2026, 422 days on: the plan has gone on (an appeal upheld); its late review is apologised for.
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2026-05-08"))
    assert (counts["pending"], counts["corrections_held"]) == (1, 0)


DECIDED_14_FEB = D("2025-02-14")


def test_a_received_date_corrected_by_a_day_holds_nothing(engine, tmp_path):
    frames, results = family()  # received 20 January, decided 14 February
    undecided = copy.deepcopy(frames)
    undecided["requests"][0].update(request_outcome="A", request_outcome_date=None)
    store_case(engine, undecided, results[1:2])
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-01-21"))
    assert send(engine, tmp_path, D("2025-01-21"), datetime(2025, 1, 21, 10, tzinfo=timezone.utc))["by_stage"] == {
        "request_received": 1}
    store_case(engine, frames, results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=DECIDED_14_FEB)
    send(engine, tmp_path, DECIDED_14_FEB, datetime(2025, 2, 14, 10, tzinfo=timezone.utc))
    fixed = copy.deepcopy(frames)
    fixed["requests"][0]["received_date"] = D("2025-01-21")  # a one-day slip put right
    store_case(engine, fixed, results, ingest_id=3)
    counts = plan_touchpoints(engine, tp_settings(), as_of=D("2025-02-28"))
    assert counts["corrections_held"] == 0 and counts["by_stage"].get("progress_update") == 1
