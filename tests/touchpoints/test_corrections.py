"""When the records change under a message (touchpoints/corrections.py; docs/touchpoints.md, When
the records change): a waiting message whose event is gone is superseded, never sent; a new message
correcting what a family was already sent is held for a person."""

import copy
from datetime import timedelta
from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import func, select, update

from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.touchpoints import dispatch_touchpoints, plan_touchpoints
from ehcp_monitor.touchpoints.dispatch import RecordsChanged
from ehcp_monitor.touchpoints.hold import release
from tests.touchpoints.conftest import AS_OF, NOW, D, caseload, held_ids, result, store_case, tp_settings

DECIDED = D("2025-03-12")
NEXT = AS_OF + timedelta(days=3)  # the Monday: messages go on working days
NEXT_NOW = NOW + timedelta(days=3)


def decided_family(outcome: str = "Y", decided=DECIDED) -> tuple[dict, list]:
    """One request received on 10 March and decided (`outcome`) on `decided`, one parent carer."""
    frames = {
        "people": [{"person_id": "P1", "date_of_birth": D("2015-06-01"), "forename": "Alice", "surname": "Smith"}],
        "requests": [{"request_id": "R1", "person_id": "P1", "received_date": D("2025-03-10"),
                      "request_outcome": outcome, "request_outcome_date": decided}],
        "contacts": [{"contact_id": "C1", "person_id": "P1", "role": "parent_carer", "name": "Carol Smith",
                      "email": "carol@example.org"}],
    }
    return frames, [result("DECIDE_6W", request_id="R1", due=D("2025-04-21"), completed=decided, status="met")]


def corrected(frames: dict, **changes) -> dict:
    fixed = copy.deepcopy(frames)
    fixed["requests"][0].update(changes)
    return fixed


def outbox(engine, stage: str | None = None) -> list[tuple]:
    query = select(Touchpoint.stage, Touchpoint.event_date, Touchpoint.status, Touchpoint.reason).order_by(
        Touchpoint.stage, Touchpoint.event_date)
    if stage:
        query = query.where(Touchpoint.stage == stage)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query).all()]


def send(engine, tmp_path, as_of=AS_OF, now=NOW) -> dict:
    settings = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path / "outbox")})
    return dispatch_touchpoints(engine, settings, as_of=as_of, now=now)


def test_a_date_corrected_before_sending_supersedes_the_waiting_message(engine, tmp_path):
    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert [r[2] for r in outbox(engine, "decision_to_assess")] == ["pending"]

    store_case(engine, corrected(frames, request_outcome_date=D("2025-03-13")), results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["superseded"], counts["corrections_held"], counts["pending"]) == (1, 0, 1)
    assert outbox(engine, "decision_to_assess") == [
        ("decision_to_assess", DECIDED, "superseded",
         f"its event is no longer in the records (corrected or removed) when planned again on {NEXT}"),
        ("decision_to_assess", D("2025-03-13"), "pending", None),
    ]
    sent = send(engine, tmp_path, NEXT, NEXT_NOW)
    assert sent["by_stage"] == {"decision_to_assess": 1, "request_received": 1}


def _received_text(tmp_path) -> str:
    """The plain-text part of the one "request received" email sent."""
    (mail,) = [m for m in (message_from_bytes(p.read_bytes(), policy=default) for p in (tmp_path / "outbox").iterdir())
               if "received the request" in m.get_body(("plain",)).get_content()]
    return " ".join(mail.get_body(("plain",)).get_content().split())


@pytest.mark.parametrize("decision_keyed", ["with the request", "while its message waited"])
def test_a_request_received_going_beside_its_decision_does_not_say_we_will_decide(engine, tmp_path,
                                                                                   decision_keyed):
    """Keyed late with its decision (or decided while its message waited, sending stopped): both go
    the same night, and "we will decide by 21 April" must not arrive beside "we have decided"."""
    frames, results = decided_family()
    if decision_keyed == "while its message waited":
        undecided = corrected(frames, request_outcome="A", request_outcome_date=None)
        store_case(engine, undecided, [{**results[0], "completed": None, "status": "pending"}])
        assert plan_touchpoints(engine, tp_settings(), as_of=AS_OF)["pending"] == 1
    store_case(engine, frames, results, ingest_id=2)
    assert plan_touchpoints(engine, tp_settings(), as_of=AS_OF)["pending"] == 1 + (decision_keyed == "with the request")
    assert send(engine, tmp_path)["by_stage"] == {"decision_to_assess": 1, "request_received": 1}
    text = _received_text(tmp_path)
    assert ("The law gives us 6 weeks to decide whether to carry out an assessment: until Monday 21 April 2025. "
            "If you have not had our decision, your case officer can tell you where things are.") in text
    assert "We will decide" not in text


def test_a_request_received_still_undecided_says_when_we_will_decide(engine, tmp_path):
    frames, results = decided_family()
    store_case(engine, corrected(frames, request_outcome="A", request_outcome_date=None),
               [{**results[0], "completed": None, "status": "pending"}])
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["by_stage"] == {"request_received": 1}
    assert "We will decide whether to carry out an assessment by Monday 21 April 2025." in _received_text(tmp_path)


def drafted_family(outcome: str = "Y") -> tuple[dict, list]:
    """A request decided in December, its draft dated 3 March keyed late, its assessment ended
    (`outcome`: Y the final plan issued, N not to issue, A still open) on 12 March."""
    ended = D("2025-03-12")
    frames, _ = decided_family(decided=D("2024-12-02"))
    frames["requests"][0]["received_date"] = D("2024-11-01")
    frames["drafts"] = [{"request_id": "R1", "draft_plan_date": D("2025-03-03")}]
    frames["assessments"] = [{"request_id": "R1", "assessment_outcome": outcome,
                              "assessment_outcome_date": ended if outcome != "A" else None}]
    done = outcome != "A"
    return frames, [
        result("DECIDE_6W", request_id="R1", due=D("2024-12-13"), completed=D("2024-12-02"), status="met"),
        result("FINAL_20W", request_id="R1", due=D("2025-03-21"), completed=ended if outcome == "Y" else None,
               status="met" if outcome == "Y" else "closed" if done else "pending"),
    ]


def _draft_parts(tmp_path) -> tuple[str, str]:
    """The plain-text and HTML parts of the one draft plan email sent."""
    (mail,) = [m for m in (message_from_bytes(p.read_bytes(), policy=default) for p in (tmp_path / "outbox").iterdir())
               if "We sent you the draft" in m.get_body(("plain",)).get_content()]
    return tuple(" ".join(mail.get_body((part,)).get_content().split()) for part in ("plain", "html"))


@pytest.mark.parametrize("outcome, told", [("Y", "We have issued the final EHC plan"),
                                           ("N", "We have decided not to issue an EHC plan")])
@pytest.mark.parametrize("ended_keyed", ["with the draft", "while its message waited"])
def test_a_draft_going_beside_the_final_plan_does_not_invite_comments(engine, tmp_path, outcome, told,
                                                                      ended_keyed):
    """A draft keyed late goes the same night as the final plan (or the decision not to issue one):
    "you have until 17 March to comment; the final plan must be issued by 21 March" must not arrive
    beside "we issued the final plan on 12 March"."""
    frames, results = drafted_family(outcome)
    if ended_keyed == "while its message waited":
        store_case(engine, *drafted_family("A"))
        assert plan_touchpoints(engine, tp_settings(), as_of=AS_OF)["by_stage"] == {"draft_plan_issued": 1}
    store_case(engine, frames, results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    ended = "final_plan_issued" if outcome == "Y" else "decision_not_to_issue"
    assert send(engine, tmp_path)["by_stage"] == {"draft_plan_issued": 1, ended: 1}
    for part in _draft_parts(tmp_path):
        assert "We sent you the draft education, health and care (EHC) plan on Monday 3 March 2025." in part
        assert told in part and "contact your case officer" in part
        for ahead in ("17 March", "21 March", "tell us your comments", "You have until", "must be issued"):
            assert ahead not in part


def test_a_draft_whose_assessment_is_still_open_invites_comments(engine, tmp_path):
    store_case(engine, *drafted_family("A"))
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["by_stage"] == {"draft_plan_issued": 1}
    text, _html = _draft_parts(tmp_path)
    assert "You have until Monday 17 March 2025" in text and "We have issued" not in text



def _told_not_to_issue_then_issued(engine, tmp_path, *, draft_waiting: bool) -> dict:
    """The family sent the decision not to issue a plan (12 March); the next night's records say
    the final plan was issued that day, and hold a draft dated 10 March (keyed late, or planned
    the night before and waiting to retry). The next night's planning counts."""
    frames, results = drafted_family("N")
    frames["drafts"][0]["draft_plan_date"] = D("2025-03-10")
    if not draft_waiting:
        frames["drafts"] = []
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["by_stage"] == (
        {"decision_not_to_issue": 1, "draft_plan_issued": 1} if draft_waiting else {"decision_not_to_issue": 1})
    if draft_waiting:  # its send failed, and it waits to retry
        with engine.begin() as conn:
            conn.execute(update(Touchpoint).where(Touchpoint.stage == "draft_plan_issued")
                         .values(status="retry", sent_at=None))
    issued, issued_results = drafted_family("Y")
    issued["drafts"][0]["draft_plan_date"] = D("2025-03-10")
    store_case(engine, issued, issued_results, ingest_id=2)
    return plan_touchpoints(engine, tp_settings(), as_of=NEXT)


@pytest.mark.parametrize("draft_waiting", [False, True])
def test_a_draft_is_held_while_its_cases_outcome_message_is_held(engine, tmp_path, draft_waiting):
    """The final plan's message is held as a correction (the family was told no plan would be
    issued): the draft's message, which would say "we have issued the final EHC plan", waits for
    the same person, new or planned before."""
    counts = _told_not_to_issue_then_issued(engine, tmp_path, draft_waiting=draft_waiting)
    assert (counts["held"], counts["corrections_held"], counts["pending"]) == (2, 2, 0)
    assert counts["held_reason"] == ("held 2 at odds with messages already sent; check each, then "
                                     "`touchpoints release --id N` or `discard --id N`")
    assert outbox(engine, "draft_plan_issued") == [(
        "draft_plan_issued", D("2025-03-10"), "held",
        "held: its case's message of the plan's outcome (the final plan issued, or not) is held for a person "
        "to check, and a draft's message tells the family that outcome; check the record, then "
        "`ehcp-monitor touchpoints release --id N` or `discard --id N`")]
    assert [status for _, _, status, _ in outbox(engine, "final_plan_issued")] == ["held"]
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["sent"] == 0
    # A person checked: the plan was issued. Both go.
    assert release(engine, tp_settings(), stage=None, as_of=NEXT, now=NEXT_NOW, ids=held_ids(engine))["released"] == 2
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["by_stage"] == {"draft_plan_issued": 1, "final_plan_issued": 1}


def _draft(outcome: str, *, drafted: bool = True, second_carer: bool = False) -> tuple[dict, list]:
    """drafted_family(`outcome`) with its draft dated 10 March (or none), and a second parent carer."""
    frames, results = drafted_family(outcome)
    frames["drafts"] = [{"request_id": "R1", "draft_plan_date": D("2025-03-10")}] if drafted else []
    if second_carer:
        frames["contacts"].append({"contact_id": "C2", "person_id": "P1", "role": "parent_carer",
                                   "name": "Dan Smith", "email": "dan@example.org"})
    return frames, results


def _statuses(engine, stage: str) -> list[str]:
    return [status for _, _, status, _ in outbox(engine, stage)]


def test_a_draft_to_a_carer_not_told_the_outcome_is_held_beside_it(engine, tmp_path):
    """The second carer was never sent the decision not to issue: nothing else would stop their
    draft's message, which says the final plan was issued."""
    store_case(engine, *_draft("N", drafted=False))
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    send(engine, tmp_path)
    store_case(engine, *_draft("Y", second_carer=True), ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert _statuses(engine, "final_plan_issued") == ["held", "held"]
    assert _statuses(engine, "draft_plan_issued") == ["held", "held"]
    assert "draft_plan_issued" not in send(engine, tmp_path, NEXT, NEXT_NOW)["by_stage"]


def test_a_draft_is_held_beside_an_outcome_message_that_came_back_held(engine, tmp_path):
    """The final plan's message, held as a correction, is set aside while its record is away for a
    night; it comes back held (corrections.revive) the night a draft keyed late arrives."""
    store_case(engine, *_draft("N", drafted=False))
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    send(engine, tmp_path)
    store_case(engine, *_draft("Y", drafted=False, second_carer=True), ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    away, results = _draft("Y", drafted=False, second_carer=True)
    away["assessments"] = []
    store_case(engine, away, results, ingest_id=3)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT + timedelta(days=1))
    assert _statuses(engine, "final_plan_issued") == ["superseded", "superseded"]
    store_case(engine, *_draft("Y", second_carer=True), ingest_id=4)
    night = NEXT + timedelta(days=2)
    plan_touchpoints(engine, tp_settings(), as_of=night)
    assert _statuses(engine, "final_plan_issued") == ["held", "held"]
    assert _statuses(engine, "draft_plan_issued") == ["held", "held"]
    assert "draft_plan_issued" not in send(engine, tmp_path, night, NEXT_NOW + timedelta(days=2))["by_stage"]


def test_a_draft_is_held_beside_an_outcome_message_held_again_when_its_carers_are_back(engine, tmp_path):
    """The final plan's message held in a surge; the next night its carers are not the ones to
    tell (a young person over school age named), so it is skipped; the night after they are, and
    it comes back held again (unreached.held_again) beside a draft keyed late."""
    store_case(engine, *_draft("Y", drafted=False, second_carer=True))
    plan_touchpoints(engine, tp_settings(**{"touchpoints.hold_above": 1}), as_of=AS_OF)
    aside, results = _draft("Y", drafted=False, second_carer=True)
    aside["people"][0]["date_of_birth"] = D("2005-01-01")
    aside["contacts"].append({"contact_id": "YP", "person_id": "P1", "role": "young_person", "name": "Alice Smith"})
    store_case(engine, aside, results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    store_case(engine, *_draft("Y", second_carer=True), ingest_id=3)
    night = NEXT + timedelta(days=1)
    plan_touchpoints(engine, tp_settings(), as_of=night)
    assert [s for s in _statuses(engine, "final_plan_issued") if s != "skipped"] == ["held", "held"]
    assert _statuses(engine, "draft_plan_issued") == ["held", "held"]
    assert "draft_plan_issued" not in send(engine, tmp_path, night, NEXT_NOW + timedelta(days=1))["by_stage"]


def test_a_waiting_draft_is_held_beside_an_outcome_message_held_in_a_surge(engine, tmp_path):
    """A draft planned while the assessment was open waits to retry; the next night the final
    plan's messages are held in a surge: the draft would now say the plan was issued."""
    store_case(engine, *_draft("A", second_carer=True))
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    with engine.begin() as conn:
        conn.execute(update(Touchpoint).where(Touchpoint.stage == "draft_plan_issued")
                     .values(status="retry", sent_at=None))
    store_case(engine, *_draft("Y", second_carer=True), ingest_id=2)
    plan_touchpoints(engine, tp_settings(**{"touchpoints.hold_above": 1}), as_of=NEXT)
    assert _statuses(engine, "final_plan_issued") == ["held", "held"]
    assert _statuses(engine, "draft_plan_issued") == ["held", "held"]
    assert "draft_plan_issued" not in send(engine, tmp_path, NEXT, NEXT_NOW)["by_stage"]


def test_a_draft_a_person_released_is_not_held_again(engine, tmp_path):
    """Released by its ID while the final plan's message stays held, the draft goes: a person
    decided. Released both, nothing is held again and each goes once."""
    _told_not_to_issue_then_issued(engine, tmp_path, draft_waiting=False)
    with engine.connect() as conn:
        draft = conn.execute(select(Touchpoint.id).where(Touchpoint.stage == "draft_plan_issued")).scalar_one()
    assert release(engine, tp_settings(), stage=None, as_of=NEXT, now=NEXT_NOW, ids=[draft])["released"] == 1
    later = NEXT + timedelta(days=1)
    assert plan_touchpoints(engine, tp_settings(), as_of=later)["held"] == 0
    assert _statuses(engine, "draft_plan_issued") == ["pending"]
    assert release(engine, tp_settings(), stage=None, as_of=later, now=NEXT_NOW, ids=held_ids(engine))["released"] == 1
    assert plan_touchpoints(engine, tp_settings(), as_of=later + timedelta(days=1))["held"] == 0
    sent = send(engine, tmp_path, later, NEXT_NOW + timedelta(days=1))
    assert sent["by_stage"] == {"draft_plan_issued": 1, "final_plan_issued": 1}
    assert send(engine, tmp_path, later, NEXT_NOW + timedelta(days=2))["sent"] == 0

def test_a_correction_of_what_the_family_was_already_sent_is_held_for_a_person(engine, tmp_path):
    frames, results = decided_family(outcome="N")
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["by_stage"] == {"decision_not_to_assess": 1, "request_received": 1}

    # Keyed N by mistake; the decision was to assess.
    store_case(engine, corrected(frames, request_outcome="Y"), results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["held"], counts["corrections_held"], counts["pending"], counts["superseded"]) == (1, 1, 0, 0)
    assert counts["held_reason"] == ("held 1 at odds with messages already sent; check each, then "
                                     "`touchpoints release --id N` or `discard --id N`")
    assert outbox(engine, "decision_to_assess") == [(
        "decision_to_assess", DECIDED, "held",
        "held as a correction: the family was already sent decision not to assess dated 2025-03-12; "
        "check the record, then `ehcp-monitor touchpoints release --id N` or `discard --id N`")]
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["sent"] == 0
    # A person checked: the corrected message goes.
    assert release(engine, tp_settings(), stage=None, as_of=NEXT, now=NEXT_NOW, ids=held_ids(engine))["released"] == 1
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["by_stage"] == {"decision_to_assess": 1}


@pytest.mark.parametrize("go_live", [None, "2025-03-01"])
def test_a_correction_dated_too_long_ago_to_send_is_held_not_recorded_quietly(engine, tmp_path, go_live):
    """Told "we will assess"; the records now say the decision was not to assess, dated a month
    back (too old to send, or before go-live): the family still holds the wrong outcome."""
    settings = tp_settings(**({"touchpoints.go_live": go_live} if go_live else {}))
    frames, results = decided_family(outcome="Y")
    store_case(engine, frames, results)
    plan_touchpoints(engine, settings, as_of=AS_OF)
    assert send(engine, tmp_path)["by_stage"]["decision_to_assess"] == 1

    store_case(engine, corrected(frames, request_outcome="N", request_outcome_date=D("2025-02-20")), results,
               ingest_id=2)
    counts = plan_touchpoints(engine, settings, as_of=NEXT)
    assert (counts["held"], counts["corrections_held"]) == (1, 1)
    ((stage, date, status, reason),) = outbox(engine, "decision_not_to_assess")
    assert (date, status) == (D("2025-02-20"), "held")
    assert reason.startswith("held as a correction: the family was already sent decision to assess dated 2025-03-12")
    assert reason.endswith("so a release suppresses it: tell the family by hand, then "
                           "`ehcp-monitor touchpoints discard --id N` it)")
    # An old event with nothing told to contradict is recorded as before, quietly.
    assert {r[2] for r in outbox(engine, "request_received")} == {"sent"}


def test_the_same_event_found_again_is_neither_superseded_nor_held(engine, tmp_path):
    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    send(engine, tmp_path)
    store_case(engine, frames, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["superseded"], counts["corrections_held"], counts["held"], counts["planned"]) == (0, 0, 0, 0)
    assert {r[2] for r in outbox(engine)} == {"sent"}


def test_a_held_surge_whose_dates_were_wrong_cannot_be_released_after_the_fix(engine):
    frames, results = decided_family()
    store_case(engine, frames, results)
    held = plan_touchpoints(engine, tp_settings(**{"touchpoints.hold_above": 1}), as_of=AS_OF)
    assert held["held"] == 2
    store_case(engine, corrected(frames, request_outcome_date=D("2025-03-13")), results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    # The decision on its corrected date waits for the person the surge waits for (no one has
    # looked yet): held as the held one's successor, and released with the request received.
    assert [(r[1], r[2]) for r in outbox(engine, "decision_to_assess")] == [
        (DECIDED, "superseded"), (D("2025-03-13"), "held")]
    assert release(engine, tp_settings(), stage=None, as_of=NEXT, now=NEXT_NOW, ids=held_ids(engine))["by_stage"] == {
        "decision_to_assess": 1, "request_received": 1}


def test_a_withdrawn_or_vanished_request_is_not_told_but_progress_updates_keep_waiting(engine):
    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    # The request's decision is gone from the records (say the request was entered against the
    # wrong child and removed): both its waiting messages are superseded.
    emptied = corrected(frames, request_outcome="A", request_outcome_date=None, received_date=D("2025-03-11"))
    store_case(engine, emptied, results, ingest_id=2)
    assert plan_touchpoints(engine, tp_settings(), as_of=NEXT)["superseded"] == 2
    assert {r[0]: r[2] for r in outbox(engine) if r[1] != D("2025-03-11")} == {
        "decision_to_assess": "superseded", "request_received": "superseded"}


def test_a_waiting_progress_update_is_not_superseded_the_next_night(engine):
    frames, _ = decided_family(outcome="A", decided=None)
    frames["requests"][0]["received_date"] = D("2025-02-01")
    open_20w = [result("DECIDE_6W", request_id="R1", due=D("2025-03-15"), status="due_soon"),
                result("FINAL_20W", request_id="R1", due=D("2025-06-21"), status="pending")]
    store_case(engine, frames, open_20w)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert [r[2] for r in outbox(engine, "progress_update")] == ["pending"]
    store_case(engine, frames, open_20w, ingest_id=2)
    assert plan_touchpoints(engine, tp_settings(), as_of=NEXT)["superseded"] == 0
    assert [r[2] for r in outbox(engine, "progress_update")] == ["pending"]


def test_dispatch_sends_nothing_while_the_records_changed_since_planning(engine, tmp_path):
    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    # An ingest since, not yet planned from: its records may have corrected a waiting message.
    store_case(engine, corrected(frames, request_outcome_date=D("2025-03-13")), results, ingest_id=2)
    with pytest.raises(RecordsChanged, match=r"changed \(ingest #2\) since touchpoints were last planned "
                                             r"\(from ingest #1\): run `ehcp-monitor touchpoints plan` first"):
        send(engine, tmp_path)
    # A dry run says what the real one would do: refuse, not list the messages planned from before.
    with pytest.raises(RecordsChanged):
        dispatch_touchpoints(engine, tp_settings(), as_of=AS_OF, now=NOW, dry_run=True)
    assert not (tmp_path / "outbox").exists() or not any((tmp_path / "outbox").iterdir())
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["by_stage"] == {"decision_to_assess": 1, "request_received": 1}
    assert ("decision_to_assess", DECIDED, "superseded") in [r[:3] for r in outbox(engine)]


def test_a_message_set_aside_for_a_night_waits_again_when_its_event_is_back(engine, tmp_path):
    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    # Saturday: the request is quarantined for a night (its decision is not in the snapshot).
    store_case(engine, corrected(frames, request_outcome="A", request_outcome_date=None), results, ingest_id=2)
    assert plan_touchpoints(engine, tp_settings(), as_of=AS_OF + timedelta(days=1))["superseded"] == 1
    # Monday: it is back as it was, and the message waits again.
    store_case(engine, frames, results, ingest_id=3)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["revived"], counts["superseded"], counts["planned"]) == (1, 0, 0)
    assert [(r[1], r[2], r[3]) for r in outbox(engine, "decision_to_assess")] == [(DECIDED, "pending", None)]
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["by_stage"] == {"decision_to_assess": 1, "request_received": 1}


def test_a_message_back_after_the_family_was_told_otherwise_is_held_and_an_old_one_stays_set_aside(engine, tmp_path):
    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    fixed = corrected(frames, request_outcome_date=D("2025-03-13"))
    store_case(engine, fixed, results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    send(engine, tmp_path, NEXT, NEXT_NOW)  # the family is told of the decision of 13 March
    # Someone puts the first date back: that message would contradict what the family was sent.
    store_case(engine, frames, results, ingest_id=3)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT + timedelta(days=1))
    assert (counts["revived"], counts["corrections_held"], counts["held"]) == (0, 1, 1)
    assert [(r[1], r[2]) for r in outbox(engine, "decision_to_assess")] == [
        (DECIDED, "held"), (D("2025-03-13"), "sent")]
    # Revived only while not too old to tell (max_event_age_days, 14).
    store_case(engine, fixed, results, ingest_id=4)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT + timedelta(days=2))
    store_case(engine, frames, results, ingest_id=5)
    late = plan_touchpoints(engine, tp_settings(), as_of=DECIDED + timedelta(days=15))
    assert (late["revived"], late["corrections_held"]) == (0, 0)
    assert [(r[1], r[2]) for r in outbox(engine, "decision_to_assess")] == [
        (DECIDED, "superseded"), (D("2025-03-13"), "sent")]


def test_a_paced_dispatch_stops_claiming_when_an_ingest_lands_during_it(engine, tmp_path):
    from tests.touchpoints.test_hold import families

    store_case(engine, *families(0, 12, AS_OF))
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    outbox_dir = tmp_path / "outbox"
    landed = []

    def clock():  # an ingest commits once the first message of a batch of ten has gone
        if not landed and outbox_dir.exists() and any(outbox_dir.iterdir()):
            store_case(engine, *families(0, 12, AS_OF), ingest_id=2)
            landed.append(True)
        return NOW

    settings = tp_settings(**{"touchpoints.outbox_dir": str(outbox_dir)})
    with pytest.raises(RecordsChanged):
        dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW, clock=clock)
    # The rest of the batch was read before the ingest: given back, not sent.
    assert len(list(outbox_dir.iterdir())) == 1
    assert [r[2] for r in outbox(engine)].count("pending") == 11


def test_a_message_held_in_a_surge_comes_back_held_with_its_facts_as_they_are_now(engine):
    frames, results = decided_family()
    store_case(engine, frames, results)
    assert plan_touchpoints(engine, tp_settings(**{"touchpoints.hold_above": 1}), as_of=AS_OF)["held"] == 2
    store_case(engine, corrected(frames, request_outcome="A", request_outcome_date=None), results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF + timedelta(days=1))
    # Back, with the received date corrected meanwhile.
    store_case(engine, corrected(frames, received_date=D("2025-03-09")), results, ingest_id=3)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    # The request received on its corrected date follows the held one: held with it.
    assert (counts["revived"], counts["held"], counts["corrections_held"], counts["successors_held"]) == (0, 2, 0, 1)
    assert counts["held_reason"] == ("held 1 held again (set aside, then back), 1 after a held message of their "
                                     "stage; check the data, then `ehcp-monitor touchpoints release` or `discard`")
    with engine.connect() as conn:
        row = conn.execute(select(Touchpoint.status, Touchpoint.reason, Touchpoint.context)
                           .where(Touchpoint.stage == "decision_to_assess")).one()
    assert (row.status, row.reason.startswith("held again: it was held")) == ("held", True)
    assert row.context["received_date"] == "2025-03-09"


def test_why_a_run_held_fits_in_the_nightly_jobs_record():
    from ehcp_monitor.jobs.counts import MAX_TEXT
    from ehcp_monitor.touchpoints.hold import HoldLimit
    from ehcp_monitor.touchpoints.planner import held_reason

    limit = HoldLimit(999_999, "3 x the median of the last 14 runs (333333.5)")
    longest = held_reason(limit, 9_999_999, 9_999_999, 9_999_999)
    assert longest.startswith("held 9999999 new emails (over 999999), 9999999 at odds with messages already sent")
    assert len(longest) <= MAX_TEXT
    dated = held_reason(limit, 99, 7, 0, dated_ahead=5)
    assert dated == ("held 2 at odds with messages already sent, 5 of cases with a step dated after today (W005); "
                     "check each, then `touchpoints release --id N` or `discard --id N`")
    # A table left out: its cases' messages held, and the night's other new ones held with them.
    gone = held_reason(HoldLimit(50, "50"), 16, 229, 0, gone=229, surged=True)
    assert gone == ("held 16 new emails (over 50 with those of dates gone), 229 of cases whose done dates the "
                    "extract no longer has (a partial extract?); check each, then `touchpoints release --id N` or "
                    "`discard --id N`")
    # Every kind at once: in brief, still whole.
    every = held_reason(limit, 9_999_999, 9_999_999, 9_999_999, two_outcomes=9_999_999, dated_ahead=4_999_999)
    assert every == ("held 9999999 new emails, 5000000 at odds with messages sent, 4999999 dated ahead (W005), "
                     "9999999 two outcomes, 9999999 held again; check each, then `touchpoints release --id N` "
                     "or `discard --id N`")
    assert len(every) <= MAX_TEXT
    assert held_reason(limit, 9_999_999, 0, 0) == limit.message(9_999_999)


def test_a_contact_re_keyed_by_the_case_system_is_not_sent_the_same_message_again(engine, tmp_path):
    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    send(engine, tmp_path)
    rekeyed = copy.deepcopy(frames)
    rekeyed["contacts"][0]["contact_id"] = "C1-X"  # the same parent, a new ID
    store_case(engine, rekeyed, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["held"], counts["corrections_held"], counts["pending"]) == (2, 2, 0)
    with engine.connect() as conn:
        reasons = conn.execute(select(Touchpoint.reason).where(Touchpoint.contact_id == "C1-X")).scalars().all()
    assert reasons == ["held: the family was already sent this message under contact C1, no longer in the records "
                       "(re-keyed or replaced?); if it is the same person `ehcp-monitor touchpoints discard --id N`, "
                       "else `release --id N`"] * 2
    # A second parent added beside the first, while the re-keyed contact's messages wait for a
    # person: held with them (nothing held goes without a release), told once released.
    both = copy.deepcopy(frames)
    both["contacts"].append({"contact_id": "C2", "person_id": "P1", "role": "parent_carer", "email": "dan@example.org"})
    store_case(engine, both, results, ingest_id=3)
    added = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (added["pending"], added["corrections_held"]) == (0, 2)
    assert release(engine, tp_settings(), stage=None, as_of=NEXT, now=NEXT_NOW, ids=held_ids(engine))["by_stage"] == {
        "decision_to_assess": 2, "request_received": 2}


def test_a_contact_added_while_one_who_was_sent_the_event_has_gone_is_held_as_they_may_be_the_same(engine, tmp_path):
    frames, results = decided_family()
    frames["contacts"].append({"contact_id": "C2", "person_id": "P1", "role": "parent_carer",
                               "email": "dan@example.org"})
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["sent"] == 4
    changed = copy.deepcopy(frames)
    changed["contacts"][0] = {"contact_id": "C3", "person_id": "P1", "role": "parent_carer", "email": "eve@example.org"}
    store_case(engine, changed, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["held"], counts["pending"]) == (2, 0)


def _linked_elsewhere(frames: dict, results: list, decided=AS_OF) -> tuple[dict, list]:
    """`frames` with C1 linked to another child, P2, decided on `decided` (a keying error, or a merge)."""
    other = copy.deepcopy(frames)
    other["people"].append({"person_id": "P2", "date_of_birth": D("2016-01-01"), "forename": "Bo", "surname": "Lee"})
    other["requests"].append({"request_id": "R2", "person_id": "P2", "received_date": D("2025-03-10"),
                              "request_outcome": "Y", "request_outcome_date": decided})
    other["contacts"][0]["person_id"] = "P2"
    return other, results + [result("DECIDE_6W", request_id="R2", person_id="P2", due=D("2025-04-21"),
                                    completed=decided, status="met")]


def _told_then_linked_elsewhere(engine, tmp_path) -> tuple[dict, list, dict]:
    """C1 told of P1's decision; the next night's records link C1 to P2. Frames, results, counts."""
    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    send(engine, tmp_path)
    store_case(engine, *_linked_elsewhere(frames, results), ingest_id=2)
    return frames, results, plan_touchpoints(engine, tp_settings(), as_of=NEXT)


def test_a_contact_linked_to_another_child_is_held_before_being_told_of_that_child(engine, tmp_path):
    _, _, counts = _told_then_linked_elsewhere(engine, tmp_path)
    assert (counts["held"], counts["corrections_held"], counts["pending"]) == (2, 2, 0)
    held = {r[0]: r[3] for r in outbox(engine) if r[2] == "held"}
    assert held == dict.fromkeys(("decision_to_assess", "request_received"),
                                 "held: contact C1 was written to about another child (person P1) before; check "
                                 "which child the contact belongs to, then `ehcp-monitor touchpoints release "
                                 "--id N` or `discard --id N`")
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["sent"] == 0


def test_a_contact_moved_to_another_child_while_the_first_has_no_event_left_is_still_another_child(engine,
                                                                                                   tmp_path):
    """The first child is still in the records (their request withdrawn): not a re-keyed child,
    so not "the family was already sent this" (which would lead a person to discard real news)."""
    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    send(engine, tmp_path)
    other, other_results = _linked_elsewhere(frames, results)
    other["requests"][0].update(request_outcome="W")
    store_case(engine, other, other_results[1:], ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    reasons = {r[3] for r in outbox(engine) if r[2] == "held"}
    assert reasons == {"held: contact C1 was written to about another child (person P1) before; check which child "
                       "the contact belongs to, then `ehcp-monitor touchpoints release --id N` or `discard --id N`"}


def test_a_link_a_person_discarded_or_released_is_not_held_again(engine, tmp_path):
    from ehcp_monitor.touchpoints.hold import discard

    # A keying error for one night, discarded; the link put right: C1's next message is not held.
    frames, results, _ = _told_then_linked_elsewhere(engine, tmp_path)
    assert discard(engine, stage=None, now=NEXT_NOW)["kept_for_review"] == 2  # only by their IDs
    assert discard(engine, stage=None, now=NEXT_NOW, ids=held_ids(engine))["discarded"] == 2
    back = {**frames, "drafts": [{"request_id": "R1", "draft_plan_date": NEXT}]}  # a new event for C1 about P1
    store_case(engine, back, results, ingest_id=3)
    again = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (again["held"], again["pending"]) == (0, 1)
    # A merge: the link is right; released once, what follows about that child is not held.
    merged, merged_results = _linked_elsewhere(frames, results, decided=NEXT)
    store_case(engine, merged, merged_results, ingest_id=4)
    assert plan_touchpoints(engine, tp_settings(), as_of=NEXT)["held"] == 1  # the decision about P2
    assert release(engine, tp_settings(), stage=None, as_of=NEXT, now=NEXT_NOW, ids=held_ids(engine))["released"] == 1
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["by_stage"] == {"decision_to_assess": 1}
    merged["requests"].append({"request_id": "R4", "person_id": "P2", "received_date": NEXT, "request_outcome": "A"})
    store_case(engine, merged, merged_results, ingest_id=5)
    later = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (later["held"], later["pending"]) == (0, 1)


def _moved_to(frames: dict, person: str) -> dict:
    """`frames` with a second child, P2, and their parent carer C2; the request is `person`'s."""
    moved = corrected(frames, person_id=person)
    moved["people"].append({"person_id": "P2", "date_of_birth": D("2016-02-01"), "forename": "Bea",
                            "surname": "Jones"})
    moved["contacts"].append({"contact_id": "C2", "person_id": "P2", "role": "parent_carer", "name": "Dan Jones",
                              "email": "dan@example.org"})
    return moved


def test_a_request_moved_to_another_child_is_told_to_that_childs_family_only(engine, tmp_path):
    frames, results = decided_family()
    store_case(engine, _moved_to(frames, "P1"), results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    # The request was keyed against the wrong child: put right before anything was sent.
    store_case(engine, _moved_to(frames, "P2"), [{**r, "person_id": "P2"} for r in results], ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["superseded"], counts["pending"], counts["held"]) == (2, 2, 0)
    sent = send(engine, tmp_path, NEXT, NEXT_NOW)
    assert sent["sent"] == 2
    recipients = {message_from_bytes(p.read_bytes(), policy=default)["To"] for p in (tmp_path / "outbox").iterdir()}
    assert recipients == {"dan@example.org"}
    # Moved back (the first keying was right after all): the first family's messages wait again.
    store_case(engine, _moved_to(frames, "P1"), results, ingest_id=3)
    assert plan_touchpoints(engine, tp_settings(), as_of=NEXT)["revived"] == 2
    with engine.connect() as conn:
        by_contact = conn.execute(select(Touchpoint.contact_id, Touchpoint.status)).all()
    assert sorted(set(by_contact)) == [("C1", "pending"), ("C2", "sent")]


def test_a_waiting_message_goes_with_its_facts_as_they_are_when_planned_again(engine):
    frames, _ = decided_family()
    late = [result("DECIDE_6W", request_id="R1", due=D("2025-01-10"), status="overdue", days_late=63),
            result("ADVICE_6W", request_id="R1", item="health", due=D("2025-01-13"), status="overdue", days_late=60)]
    store_case(engine, frames, late)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)  # one notice, dated by the advice: 2025-03-11

    def notice() -> tuple:
        with engine.connect() as conn:
            return conn.execute(select(Touchpoint.event_date, Touchpoint.status, Touchpoint.context)
                                .where(Touchpoint.stage == "delay_notice")).one()

    assert [s["measure"] for s in notice()[2]["late_steps"]] == ["DECIDE_6W", "ADVICE_6W"]
    # Before it goes, the decision is recorded: the notice (same date, from the advice) waits on,
    # and no longer apologises for the decision.
    done = [result("DECIDE_6W", request_id="R1", due=D("2025-01-10"), completed=D("2025-03-14"), status="late"),
            late[1]]
    store_case(engine, frames, done, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert counts["superseded"] == 0
    event_date, status, context = notice()
    assert (event_date, status) == (D("2025-03-11"), "pending")
    assert [s["measure"] for s in context["late_steps"]] == ["ADVICE_6W"]


def test_a_request_re_keyed_under_a_new_id_is_held_not_told_again(engine, tmp_path):
    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["by_stage"] == {"decision_to_assess": 1, "request_received": 1}
    # The case system re-keys the request: the same child, dates and outcome under R9.
    rekeyed = corrected(frames, request_id="R9")
    store_case(engine, rekeyed, [{**results[0], "request_id": "R9"}], ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["pending"], counts["corrections_held"]) == (0, 2)
    held = [r for r in outbox(engine) if r[2] == "held"]
    assert [r[3] for r in held] == [
        f"held as a correction: the family was already sent {words} dated {day} under case R1 (the same request "
        "re-keyed, or entered twice?); check the record, then `ehcp-monitor touchpoints release --id N` or "
        "`discard --id N`"
        for words, day in (("decision to assess", "2025-03-12"), ("request received", "2025-03-10"))]


def test_a_child_re_keyed_with_the_same_contact_is_held_as_the_same_news_not_as_another_child(engine, tmp_path):
    """An SEN2 XML child whose UPN was corrected gets new person and request IDs; the contacts side
    table keeps the case system's contact ID. "Written to about another child" would lead a person
    to release the family's news again under a second case reference."""
    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["sent"] == 2
    rekeyed = copy.deepcopy(frames)
    rekeyed["people"][0]["person_id"] = "P-NEW"
    rekeyed["requests"][0].update(request_id="R-NEW", person_id="P-NEW")
    rekeyed["contacts"][0]["person_id"] = "P-NEW"
    store_case(engine, rekeyed, [{**results[0], "request_id": "R-NEW", "person_id": "P-NEW"}], ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["pending"], counts["corrections_held"]) == (0, 2)
    assert sorted(r[3] for r in outbox(engine) if r[2] == "held") == [
        f"held as a correction: the family was already sent {words} dated {day} under case R1 of person P1 (the "
        "child re-keyed in the records: a corrected UPN, name or birth date?); if it is the same child "
        "`ehcp-monitor touchpoints discard --id N`, else `release --id N`"
        for words, day in (("decision to assess", "2025-03-12"), ("request received", "2025-03-10"))]
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["sent"] == 0


def test_a_childs_new_request_months_after_the_last_is_told(engine, tmp_path):
    frames, results = decided_family("N")
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    send(engine, tmp_path)
    # Refused in March, asked again in June: a new request, told as usual.
    june = D("2025-06-02")
    again = {"request_id": "R2", "person_id": "P1", "received_date": june, "request_outcome": "A"}
    store_case(engine, frames | {"requests": [*frames["requests"], again]},
               [*results, result("DECIDE_6W", request_id="R2", due=D("2025-07-14"), status="pending")], ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=june)
    assert (counts["pending"], counts["corrections_held"]) == (1, 0)


def _sent_files(tmp_path) -> dict[str, str]:
    return {p.name: p.read_text() for p in (tmp_path / "outbox").iterdir()}


def _corrected_to_yes(engine, tmp_path) -> set[str]:
    """The family sent the decision not to assess (14 March); the next night's records say it was
    to assess: that message is held as a correction. The names of the files sent so far."""
    frames, results = decided_family(outcome="N")
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    send(engine, tmp_path)
    store_case(engine, corrected(frames, request_outcome="Y"), results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    return set(_sent_files(tmp_path))


def test_a_correction_released_as_one_says_it_corrects_the_message_sent_before(engine, tmp_path):
    before = _corrected_to_yes(engine, tmp_path)
    ((held_id,),) = _ids(engine, "held")
    counts = release(engine, tp_settings(), stage=None, as_of=NEXT, now=NEXT_NOW, ids=[held_id], as_correction=True)
    assert (counts["released"], counts["as_corrections"]) == (1, 1)
    # Planned again before it goes: the person's word stays with it.
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["by_stage"] == {"decision_to_assess": 1}
    (new,) = [text for name, text in _sent_files(tmp_path).items() if name not in before]
    mail = message_from_bytes(new.encode(), policy=default)
    assert mail["Subject"].startswith("Correction: We will carry out an EHC needs assessment")
    for part in ("plain", "html"):
        body = " ".join(mail.get_body((part,)).get_content().split())
        assert "This message corrects the one we sent you on Friday 14 March 2025" in body
        assert "We are sorry for the mistake." in body


def test_a_release_not_named_as_a_correction_says_nothing_of_one(engine, tmp_path):
    before = _corrected_to_yes(engine, tmp_path)
    assert "as_corrections" not in release(engine, tp_settings(), stage=None, as_of=NEXT, now=NEXT_NOW,
                                           ids=held_ids(engine))
    send(engine, tmp_path, NEXT, NEXT_NOW)
    (new,) = [text for name, text in _sent_files(tmp_path).items() if name not in before]
    assert "corrects" not in new and "Correction" not in new
    with pytest.raises(ValueError, match="needs the ids"):
        release(engine, tp_settings(), stage=None, as_of=NEXT, now=NEXT_NOW, as_correction=True)


def _ids(engine, status: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Touchpoint.id).where(Touchpoint.status == status))]


def test_the_command_releases_as_a_correction_only_rows_named_by_id(engine, db_url, tmp_path):
    from tests.touchpoints.test_cli import run

    _corrected_to_yes(engine, tmp_path)
    ((held_id,),) = _ids(engine, "held")
    config = tmp_path / "config.toml"
    config.write_text("[touchpoints]\ngo_live = 2000-01-01\n")
    refused = run(["touchpoints", "release", "--as-correction", "--as-of", "2025-03-17"], tmp_path, db_url, config)
    assert refused.returncode == 2 and "--as-correction needs --id" in refused.stderr
    assert _ids(engine, "held") == [(held_id,)]
    released = run(["touchpoints", "release", "--id", str(held_id), "--as-correction", "--as-of", "2025-03-17"],
                   tmp_path, db_url, config)
    assert released.returncode == 0, released.stderr
    assert "released: 1\n" in released.stdout and "as_corrections: 1\n" in released.stdout


def test_release_as_a_correction_marks_only_what_it_releases_and_the_mark_survives_a_night_set_aside(
        engine, tmp_path):
    frames, results = decided_family(outcome="N")
    _corrected_to_yes(engine, tmp_path)
    ((held_id,),) = _ids(engine, "held")
    # Released plainly first: named again as a correction, it is not held, and is left as it is.
    release(engine, tp_settings(), stage=None, as_of=NEXT, now=NEXT_NOW, ids=[held_id])
    again = release(engine, tp_settings(), stage=None, as_of=NEXT, now=NEXT_NOW, ids=[held_id], as_correction=True)
    assert (again["released"], again["as_corrections"], again["not_held"]) == (0, 0, {held_id: "pending"})
    assert "corrects" not in _context(engine, held_id)
    # Held again (its outcome unreadable for a night, then back), released as a correction.
    with engine.begin() as conn:
        conn.execute(update(Touchpoint).where(Touchpoint.id == held_id).values(status="held"))
    release(engine, tp_settings(), stage=None, as_of=NEXT, now=NEXT_NOW, ids=[held_id], as_correction=True)
    undecided = corrected(frames, request_outcome="A", request_outcome_date=None)
    store_case(engine, undecided, [result("DECIDE_6W", request_id="R1", due=D("2025-04-21"), status="pending")],
               ingest_id=3)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)  # set aside
    store_case(engine, corrected(frames, request_outcome="Y"), results, ingest_id=4)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)  # back
    assert _context(engine, held_id)["corrects"] == {"stage": "decision_not_to_assess", "sent_on": "2025-03-14"}


def _context(engine, row_id: int) -> dict:
    with engine.connect() as conn:
        return conn.execute(select(Touchpoint.context).where(Touchpoint.id == row_id)).scalar_one()


def test_a_past_night_planned_again_does_not_set_aside_what_later_nights_planned(engine):
    frames, results = decided_family(decided=D("2025-03-16"))
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)  # the decision of the 16th waits to go
    # The night of the 14th run again (Recovery): the decision had not happened yet that night.
    counts = plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert counts["superseded"] == 0
    assert [r[2] for r in outbox(engine, "decision_to_assess")] == ["pending"]


@pytest.mark.parametrize("typed", [None, D("2099-04-14")])
def test_an_apology_for_a_step_the_records_date_in_the_future_is_held(engine, typed):
    """A plan issued on 14 April 2025 typed as 2099: the clock reads it as not done (W005), and the
    family would be told their plan is late."""
    frames, results = caseload()
    frames["assessments"][0].update(assessment_outcome="Y" if typed else "A", assessment_outcome_date=typed)
    store_case(engine, frames, results)
    counts = plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    with engine.connect() as conn:
        notices = conn.execute(select(Touchpoint.status, Touchpoint.reason).where(
            Touchpoint.stage == "delay_notice", Touchpoint.case_ref == "R2",
            Touchpoint.status != "skipped")).all()  # the contacts who are not to be told
    assert notices
    if typed is None:
        assert {status for status, _ in notices} == {"pending"}
    else:
        assert {(status, reason.split(",")[0]) for status, reason in notices} == {
            ("held", "held: the records date a step of this case after today (W005: a mistyped year?)")}
        # The run's line says why: not "at odds with messages already sent" (nothing was sent).
        assert counts["held_reason"] == (
            f"held {len(notices)} of cases with a step dated after today (W005); check each, then "
            "`touchpoints release --id N` or `discard --id N`")


def test_an_apology_already_waiting_when_a_step_is_recorded_in_the_future_is_held_and_stays_held(engine):
    """Planned, then waiting (to retry, say) when the final plan is recorded with its year mistyped;
    and a held one set aside for a night comes back held for the same reason, not merely "held
    again" (which a release without IDs would let go)."""
    frames, results = caseload()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)

    def notices():
        with engine.connect() as conn:
            return {(s, r.split(",")[0] if r else r) for s, r in conn.execute(
                select(Touchpoint.status, Touchpoint.reason).where(
                    Touchpoint.stage == "delay_notice", Touchpoint.case_ref == "R2", Touchpoint.status != "skipped"))}

    assert notices() == {("pending", None)}
    frames["assessments"][0].update(assessment_outcome="Y", assessment_outcome_date=D("2099-04-14"))
    store_case(engine, frames, results, ingest_id=2)
    held = {("held", "held: the records date a step of this case after today (W005: a mistyped year?)")}
    assert plan_touchpoints(engine, tp_settings(), as_of=AS_OF)["corrections_held"] >= 1
    assert notices() == held
    # A night without the clock's result (the notice's event gone), then back.
    store_case(engine, frames, [r for r in results if r["request_id"] != "R2"], ingest_id=3)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert {status for status, _ in notices()} == {"superseded"}
    store_case(engine, frames, results, ingest_id=4)
    counts = plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert notices() == held
    assert "of cases with a step dated after today (W005)" in counts["held_reason"]
    assert "at odds" not in counts["held_reason"]


def _a_decision_corrected_after_the_draft_was_told(engine, tmp_path):
    """Told "we will assess" and then of the draft; the decision corrected to "not to assess" is
    held. (settings, the held rows' IDs)"""
    settings = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path / "outbox")})
    frames, results = decided_family(outcome="Y")
    frames["drafts"] = [{"request_id": "R1", "draft_plan_date": D("2025-03-13")}]
    store_case(engine, frames, results)
    plan_touchpoints(engine, settings, as_of=AS_OF)
    dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)
    store_case(engine, corrected(frames, request_outcome="N"), results, ingest_id=2)
    plan_touchpoints(engine, settings, as_of=NEXT)
    ids = held_ids(engine)
    assert ids
    return settings, ids


def test_a_correction_released_by_id_is_sent_whatever_news_came_after_it(engine, tmp_path):
    """Told "we will assess" and then of the draft; the decision corrected to "not to assess" is held.
    A person releases it by its ID: it goes, even though the draft (a later stage) was told after the
    message it corrects."""
    settings, ids = _a_decision_corrected_after_the_draft_was_told(engine, tmp_path)
    counts = release(engine, settings, stage=None, as_of=NEXT, now=NEXT_NOW, ids=ids, as_correction=True)
    assert counts["released"] == len(ids) and "overtaken" not in counts
    # Nor set aside by dispatch as overtaken by the draft: a person decided it goes.
    counts = dispatch_touchpoints(engine, settings, as_of=NEXT, now=NEXT_NOW)
    assert (counts["sent"], counts.get("overtaken")) == (len(ids), None)


def test_a_correction_released_by_id_that_failed_is_still_sent_when_retried(engine, tmp_path):
    from ehcp_monitor.touchpoints.failed import retry_failed

    settings, ids = _a_decision_corrected_after_the_draft_was_told(engine, tmp_path)
    release(engine, settings, stage=None, as_of=NEXT, now=NEXT_NOW, ids=ids, as_correction=True)
    with engine.begin() as conn:  # the relay refused it for good, as dispatch records a failure
        conn.execute(update(Touchpoint).where(Touchpoint.id.in_(ids)).values(status="failed", attempts=5))
    assert retry_failed(engine, settings, stage=None, today=NEXT, now=NEXT_NOW, ids=ids)["retried"] == len(ids)
    counts = dispatch_touchpoints(engine, settings, as_of=NEXT, now=NEXT_NOW)
    assert (counts["sent"], counts.get("overtaken")) == (len(ids), None)


def test_a_correction_held_as_too_old_to_send_stays_held_through_dispatch(engine, tmp_path):
    settings = tp_settings(**{"touchpoints.go_live": "2025-03-01", "touchpoints.outbox_dir": str(tmp_path / "out")})
    frames, results = decided_family(outcome="Y")
    store_case(engine, frames, results)
    plan_touchpoints(engine, settings, as_of=AS_OF)
    dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)
    store_case(engine, corrected(frames, request_outcome="N", request_outcome_date=D("2025-02-20")), results,
               ingest_id=2)
    plan_touchpoints(engine, settings, as_of=NEXT)
    dispatch_touchpoints(engine, settings, as_of=NEXT, now=NEXT_NOW)
    assert [r[2] for r in outbox(engine, "decision_not_to_assess")] == ["held"]  # for the person to act on
    # Held by an earlier version, whose reason ended in other words: still held.
    with engine.begin() as conn:
        conn.execute(update(Touchpoint).where(Touchpoint.stage == "decision_not_to_assess").values(
            reason=func.replace(Touchpoint.reason, "then `ehcp-monitor touchpoints discard --id N` it)",
                                "then discard it)")))
    dispatch_touchpoints(engine, settings, as_of=NEXT, now=NEXT_NOW)
    ((_, _, status, reason),) = outbox(engine, "decision_not_to_assess")
    assert status == "held" and reason.endswith("tell the family by hand, then discard it)")
