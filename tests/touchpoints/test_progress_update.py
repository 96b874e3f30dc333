"""Progress updates (docs/touchpoints.md, Progress updates): an open 20-week request whose family has
had no message for `update_every_days` gets one, once per period, from the results and the outbox."""

import json
from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest
from sqlalchemy import select, update

from ehcp_monitor import config
from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.db.snapshot import Snapshot
from ehcp_monitor.domain.results import RESULT_SCHEMA
from ehcp_monitor.touchpoints import plan_touchpoints
from ehcp_monitor.touchpoints.events import TOUCH_SCHEMA, find_events
from ehcp_monitor.touchpoints.templates import render, template_variables
from tests.touchpoints.conftest import NOW, held_ids, result, store_case, tp_settings

D = date.fromisoformat
DECIDED = D("2025-02-14")


def family() -> tuple[dict, list]:
    """One request decided on 2025-02-14 (Y), gathering advice; the final plan due 2025-06-09."""
    frames = {
        "people": [{"person_id": "P1", "date_of_birth": D("2015-06-01"), "forename": "Sam", "surname": "Taylor"}],
        "requests": [{"request_id": "R1", "person_id": "P1", "received_date": D("2025-01-20"),
                      "request_outcome": "Y", "request_outcome_date": DECIDED, "case_officer": "Jo Officer"}],
        "advice": [{"request_id": "R1", "advice_type": "health", "requested_date": D("2025-02-17")}],
        "contacts": [{"contact_id": "C1", "person_id": "P1", "role": "parent_carer", "name": "Carol Taylor",
                      "email": "carol@example.org"}],
    }
    results = [
        result("DECIDE_6W", request_id="R1", due=D("2025-03-03"), completed=DECIDED, status="met"),
        {**result("FINAL_20W", request_id="R1", due=D("2025-06-09"), status="pending"), "stage": "gathering_advice"},
        result("ADVICE_6W", request_id="R1", item="health", due=D("2025-03-31"), status="pending"),
    ]
    return frames, results


def _updates(as_of, touches=(), frames_results=None):
    frames, results = frames_results or family()
    snap = Snapshot.from_frames({n: pl.DataFrame(rows) for n, rows in frames.items()})
    res = pl.DataFrame([{c: r.get(c) for c in RESULT_SCHEMA} for r in results], schema=RESULT_SCHEMA, orient="row")
    touched = pl.DataFrame(list(touches), schema=TOUCH_SCHEMA, orient="row")
    events = find_events(snap, res, config.defaults(), as_of=as_of, touches=touched)
    return events.filter(pl.col("stage") == "progress_update")


def test_fourteen_days_without_a_message_bring_one_update_thirteen_none():
    last = D("2025-03-01")
    assert _updates(last + timedelta(days=13), [("R1", last)]).is_empty()
    updates = _updates(last + timedelta(days=14), [("R1", last)])
    assert updates.select("case_ref", "event_date", "person_id").rows() == [("R1", D("2025-03-15"), "P1")]


def test_the_update_says_where_the_case_is_and_the_next_statutory_date():
    (row,) = _updates(D("2025-03-15"), [("R1", D("2025-03-01"))]).iter_rows(named=True)
    facts = json.loads(row["context"])
    assert facts["stage_20w"] == "gathering_advice" and facts["final_late"] is False
    # The earliest open statutory clock not yet passed: the advice (2025-03-31), before the plan.
    assert (facts["next_measure"], facts["next_date"]) == ("ADVICE_6W", "2025-03-31")
    assert facts["child_name"] == "Sam"
    settings = config.defaults()
    variables = template_variables(stage="progress_update", case_ref="R1", event_date=row["event_date"],
                                   variant=None, context=row["context"], settings=settings)
    out = render("progress_update", variables, settings)
    for part in (out.text, out.html):
        assert "we are gathering advice from the professionals" in part
        assert "Monday 31 March 2025" in part and "about Sam" in part
    assert "Sam" not in out.subject


def test_a_rerun_in_the_same_period_finds_the_same_update_and_none_once_it_is_planned():
    last = D("2025-03-01")
    first = _updates(D("2025-03-15"), [("R1", last)])
    # Planned on the 15th: that is now the last touch, on that day or any later one in the period.
    assert _updates(D("2025-03-15"), [("R1", D("2025-03-15"))]).is_empty()
    assert _updates(D("2025-03-28"), [("R1", D("2025-03-15"))]).is_empty()
    # Not planned (say the job did not run until the 17th): the same event, the same key.
    assert _updates(D("2025-03-17"), [("R1", last)])["event_date"].to_list() == first["event_date"].to_list()


def test_without_any_message_the_case_events_start_the_clock():
    # The decision (2025-02-14) is the latest event: updates on the 28th, then every 14 days.
    assert _updates(D("2025-02-27")).is_empty()
    assert _updates(D("2025-02-28"))["event_date"].to_list() == [D("2025-02-28")]
    assert _updates(D("2025-03-20"))["event_date"].to_list() == [D("2025-03-14")]


def test_only_open_20_week_requests_get_updates():
    frames, results = family()
    results[1] = {**results[1], "completed_date": D("2025-03-01"), "status": "met"}
    assert _updates(D("2025-03-20"), frames_results=(frames, results)).is_empty()


def test_a_late_final_plan_is_said_to_be_late():
    frames, results = family()
    results[1] = {**results[1], "due_date": D("2025-03-10"), "status": "overdue", "days_late": 10}
    results[2] = {**results[2], "due_date": D("2025-03-01"), "status": "overdue", "days_late": 19}
    # The delay notice of 2025-03-11 (the plan's first overdue day) is the last touch.
    assert _updates(D("2025-03-24"), [], (frames, results)).is_empty()
    (row,) = _updates(D("2025-03-25"), [], (frames, results)).iter_rows(named=True)
    facts = json.loads(row["context"])
    assert facts["final_late"] is True and (facts["next_measure"], facts["next_date"]) == ("FINAL_20W", "2025-03-10")
    settings = config.defaults()
    out = render("progress_update", template_variables(stage="progress_update", case_ref="R1",
                                                        event_date=row["event_date"], variant=None,
                                                        context=row["context"], settings=settings), settings)
    assert "Monday 10 March 2025, and it is late" in out.text


# --- on a real store (SQLite and PostgreSQL) ----------------------------------------------------


def decided_and_planned(engine) -> tuple[dict, list, object]:
    """The family's case stored and planned on the day of the decision to assess (not yet sent)."""
    frames, results = family()
    store_case(engine, frames, results)
    settings = tp_settings()
    plan_touchpoints(engine, settings, as_of=DECIDED)
    return frames, results, settings


def _told(engine) -> None:
    """Every waiting message sent, as the nightly dispatch would (an update is not planned while
    a message of the case still waits to go)."""
    with engine.begin() as conn:
        conn.execute(update(Touchpoint).where(Touchpoint.status == "pending").values(status="sent"))


def _progress_rows(engine):
    with engine.connect() as conn:
        return conn.execute(select(Touchpoint.event_date, Touchpoint.status, Touchpoint.planned_as_of,
                                   Touchpoint.reason)
                            .where(Touchpoint.stage == "progress_update").order_by(Touchpoint.id)).all()


def test_planning_sends_one_update_per_period_and_never_twice_on_a_day(engine):
    store_case(engine, *family())
    settings = tp_settings()
    plan_touchpoints(engine, settings, as_of=DECIDED)  # the decision to assess is told that day
    _told(engine)
    assert plan_touchpoints(engine, settings, as_of=D("2025-02-27"))["by_stage"] == {}  # 13 days
    assert _progress_rows(engine) == []
    counts = plan_touchpoints(engine, settings, as_of=D("2025-02-28"))  # 14 days
    assert counts["by_stage"] == {"progress_update": 1}
    again = plan_touchpoints(engine, settings, as_of=D("2025-02-28"))  # a re-run the same day
    assert again["planned"] == 0 and again["by_stage"] == {}
    assert [(r.event_date, r.status) for r in _progress_rows(engine)] == [(D("2025-02-28"), "pending")]
    _told(engine)
    assert plan_touchpoints(engine, settings, as_of=D("2025-03-13"))["by_stage"] == {}
    assert plan_touchpoints(engine, settings, as_of=D("2025-03-14"))["by_stage"] == {"progress_update": 1}
    assert [(r.event_date, r.status) for r in _progress_rows(engine)] == [
        (D("2025-02-28"), "sent"), (D("2025-03-14"), "pending")]



def test_a_planned_update_is_sent_with_the_child_named_in_the_body_only(engine, tmp_path):
    from email import message_from_bytes, policy

    from ehcp_monitor.touchpoints import dispatch_touchpoints

    store_case(engine, *family())
    settings = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path), "touchpoints.child_reference": "initials"})
    plan_touchpoints(engine, settings, as_of=D("2025-03-14"))  # last touch: the decision, 28 days ago
    counts = dispatch_touchpoints(engine, settings, as_of=D("2025-03-14"), now=NOW)
    assert counts["sent"] == 1 and [r.status for r in _progress_rows(engine)] == ["sent"]
    (eml,) = tmp_path.glob("tp-*.eml")
    msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
    text = msg.get_body(("plain",)).get_content()
    assert "This message is about S. T." in text and "Right now, we are gathering advice" in text
    # The next date is the open advice's (the planner reads the open advice clocks for it).
    assert "The next date the law sets is Monday 31 March 2025" in text
    assert "Sam" not in text and "S. T." not in msg["Subject"] and "Harbourside SENDIASS" in text


def test_a_message_about_anything_else_restarts_the_wait(engine):
    frames, results = family()
    # A draft plan on 2025-03-05 is told that day: the next update is 14 days after it, not after the decision.
    frames["drafts"] = [{"request_id": "R1", "draft_plan_date": D("2025-03-05")}]
    store_case(engine, frames, results)
    settings = tp_settings()
    plan_touchpoints(engine, settings, as_of=DECIDED)
    _told(engine)
    plan_touchpoints(engine, settings, as_of=D("2025-02-28"))  # update 1
    _told(engine)
    assert plan_touchpoints(engine, settings, as_of=D("2025-03-05"))["by_stage"] == {"draft_plan_issued": 1}
    _told(engine)
    assert plan_touchpoints(engine, settings, as_of=D("2025-03-14"))["by_stage"] == {}
    assert plan_touchpoints(engine, settings, as_of=D("2025-03-19"))["by_stage"] == {"progress_update": 1}


def test_an_update_never_goes_with_a_stage_message_of_the_same_run(engine):
    """The decision of 14 days ago reaches the records only now: the family is told of it, and not
    also sent an update (both fell due on the same night); the wait restarts from that message."""
    store_case(engine, *family())
    settings = tp_settings()
    first = plan_touchpoints(engine, settings, as_of=D("2025-02-28"))
    assert first["by_stage"] == {"decision_to_assess": 1} and _progress_rows(engine) == []
    _told(engine)
    assert plan_touchpoints(engine, settings, as_of=D("2025-03-01"))["by_stage"] == {}
    assert plan_touchpoints(engine, settings, as_of=D("2025-03-13"))["by_stage"] == {}
    assert plan_touchpoints(engine, settings, as_of=D("2025-03-14"))["by_stage"] == {"progress_update": 1}
    assert [r.event_date for r in _progress_rows(engine)] == [D("2025-03-14")]


def test_a_contact_the_stage_message_cannot_reach_keeps_the_update():
    from ehcp_monitor.touchpoints.planner import without_coinciding_updates

    fresh = pl.DataFrame({
        "stage": ["decision_to_assess", "decision_to_assess", "progress_update", "progress_update"],
        "case_ref": ["R1"] * 4,
        "contact_id": ["A", "B", "A", "B"],
        "status": ["pending", "skipped", "pending", "pending"],
    })
    kept = without_coinciding_updates(fresh).sort("stage", "contact_id")
    assert kept.select("stage", "contact_id").rows() == [
        ("decision_to_assess", "A"), ("decision_to_assess", "B"), ("progress_update", "B")]


def test_a_waiting_update_about_a_request_moved_to_another_child_is_not_sent(engine):
    store_case(engine, *family())
    settings = tp_settings()
    plan_touchpoints(engine, settings, as_of=DECIDED)
    _told(engine)
    plan_touchpoints(engine, settings, as_of=D("2025-02-28"))  # the update waits for C1
    assert [r.status for r in _progress_rows(engine)] == ["pending"]
    # The request was another child's: put right before the update went.
    frames, results = family()
    frames["people"].append({"person_id": "P2", "date_of_birth": D("2016-01-01"), "forename": "Ann",
                             "surname": "Lee"})
    frames["requests"][0]["person_id"] = "P2"
    frames["contacts"].append({"contact_id": "C2", "person_id": "P2", "role": "parent_carer", "name": "Lee",
                               "email": "lee@example.org"})
    store_case(engine, frames, [{**r, "person_id": "P2"} for r in results], ingest_id=2)
    counts = plan_touchpoints(engine, settings, as_of=D("2025-02-28"))
    assert counts["superseded"] == 1  # the update waiting for C1 (the decision was sent)
    with engine.connect() as conn:
        rows = conn.execute(select(Touchpoint.contact_id, Touchpoint.status)
                            .where(Touchpoint.stage == "progress_update").order_by(Touchpoint.id)).all()
    assert rows[0] == ("C1", "superseded") and ("C1", "pending") not in rows


def test_a_waiting_update_gives_way_to_news_planned_the_next_night(engine, tmp_path):
    from ehcp_monitor.touchpoints import dispatch_touchpoints
    from ehcp_monitor.touchpoints.corrections import OVERTAKEN_REASON

    frames, results = family()
    store_case(engine, frames, results)
    settings = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path)})
    plan_touchpoints(engine, settings, as_of=DECIDED)
    dispatch_touchpoints(engine, settings, as_of=DECIDED, now=NOW.replace(month=2, day=14))
    # Friday 28 February: 14 days of silence, an update planned ("we are gathering advice"), not yet sent.
    assert plan_touchpoints(engine, settings, as_of=D("2025-02-28"))["by_stage"] == {"progress_update": 1}
    # Saturday: the draft plan is recorded. Its message goes on Monday, and the update must not go beside it.
    frames["drafts"] = [{"request_id": "R1", "draft_plan_date": D("2025-03-01")}]
    store_case(engine, frames, results, ingest_id=2)
    counts = plan_touchpoints(engine, settings, as_of=D("2025-03-01"))
    assert counts["by_stage"] == {"draft_plan_issued": 1} and counts["superseded"] == 1
    assert [(r.status, r.reason) for r in _progress_rows(engine)] == [
        ("superseded", OVERTAKEN_REASON.format(as_of="2025-03-01"))]
    sent = dispatch_touchpoints(engine, settings, as_of=D("2025-03-03"), now=NOW.replace(day=3))
    assert sent["by_stage"] == {"draft_plan_issued": 1}


def test_no_update_is_planned_while_a_message_of_the_case_waits_for_the_contact(engine):
    frames, results = family()
    store_case(engine, frames, results)
    settings = tp_settings()
    plan_touchpoints(engine, settings, as_of=DECIDED)  # the decision to assess waits: nothing is sent
    # 14 days on, the decision is still waiting: it goes first, not beside an update.
    assert plan_touchpoints(engine, settings, as_of=D("2025-02-28"))["by_stage"] == {}
    _told(engine)
    assert plan_touchpoints(engine, settings, as_of=D("2025-03-01"))["by_stage"] == {"progress_update": 1}


def test_a_message_held_for_a_person_stops_the_updates_until_it_is_released(engine):
    from ehcp_monitor.touchpoints.hold import release

    frames, results, settings = decided_and_planned(engine)
    with engine.begin() as conn:  # the decision held (a correction) for a person to check
        conn.execute(update(Touchpoint).where(Touchpoint.stage == "decision_to_assess")
                     .values(status="held", reason="held as a correction: ..."))
    # An update would say "we are gathering advice" before the family is told of the decision.
    assert plan_touchpoints(engine, settings, as_of=D("2025-02-28"))["by_stage"] == {}
    release(engine, settings, stage=None, as_of=D("2025-02-28"), now=NOW, ids=held_ids(engine))
    with engine.begin() as conn:  # sent that morning: the family has just heard from us
        conn.execute(update(Touchpoint).where(Touchpoint.status == "pending")
                     .values(status="sent", sent_at=datetime(2025, 2, 28, 10, 0, tzinfo=timezone.utc)))
    assert plan_touchpoints(engine, settings, as_of=D("2025-03-01"))["by_stage"] == {}
    assert plan_touchpoints(engine, settings, as_of=D("2025-03-13"))["by_stage"] == {}
    assert plan_touchpoints(engine, settings, as_of=D("2025-03-14"))["by_stage"] == {"progress_update": 1}


def test_a_waiting_update_is_not_sent_once_its_request_is_no_longer_open(engine):
    from ehcp_monitor.touchpoints.corrections import CLOSED_REASON

    frames, results, settings = decided_and_planned(engine)
    _told(engine)
    plan_touchpoints(engine, settings, as_of=D("2025-02-28"))  # Friday: the update waits for Monday
    # Saturday: the assessment withdrawn (its open 20-week clock closed), or the request gone.
    closed = [r if r["measure"] != "FINAL_20W" else {**r, "status": "closed"} for r in results]
    for ingest_id, (snapshot, clocks) in enumerate(((frames, closed), (frames | {"requests": []}, [])), 2):
        store_case(engine, snapshot, clocks, ingest_id=ingest_id)
        plan_touchpoints(engine, settings, as_of=D("2025-03-01"))
    assert [(r.status, r.reason) for r in _progress_rows(engine)] == [
        ("superseded", CLOSED_REASON.format(as_of="2025-03-01"))]


def test_an_update_after_the_draft_was_served_tells_of_the_draft_not_of_advice():
    # The rule book ranks the advice stages first: a draft served with advice unrecorded stays in
    # `gathering_advice` for the weekly list, but the family has had the draft.
    frames, results = family()
    frames["drafts"] = [{"request_id": "R1", "draft_plan_date": D("2025-03-10")}]
    last = D("2025-03-01")

    def stage_told(as_of) -> str:
        (row,) = _updates(as_of, [("R1", last)], (frames, results)).iter_rows(named=True)
        return json.loads(row["context"])["stage_20w"]

    assert stage_told(D("2025-03-24")) == "draft_comments"  # the 15 days for comments end that day
    assert stage_told(D("2025-04-07")) == "finalising"
    frames.pop("drafts")
    assert stage_told(D("2025-03-24")) == "gathering_advice"


def _drafting(tables: set[str]) -> tuple[dict, list]:
    """The family's case at DRAFTING in the check results (its advice in), the source holding
    `tables` of advice and drafts."""
    frames, results = family()
    frames["advice"][0]["received_date"] = D("2025-03-05")
    frames = {n: rows for n, rows in frames.items() if n != "advice" or "advice" in tables}
    if "drafts" in tables:
        frames["drafts"] = []
    results[1] = {**results[1], "stage": "drafting"}
    results[2] = {**results[2], "completed_date": D("2025-03-05"), "status": "met"}
    return frames, results


def _rendered(context: str, to_young_person: bool = False) -> list[str]:
    from ehcp_monitor.touchpoints.templates import render_text

    settings = config.defaults()
    variables = template_variables(stage="progress_update", case_ref="R1", event_date=D("2025-03-28"),
                                   variant=None, context=context, settings=settings, to_young_person=to_young_person)
    out = render("progress_update", variables, settings)
    return [out.text, out.html, render_text("progress_update", variables, settings)]


@pytest.mark.parametrize("tables", [{"advice"}, {"drafts"}, set()], ids=["no drafts", "no advice", "neither"])
@pytest.mark.parametrize("to_young_person", [False, True])
def test_a_stage_known_only_for_want_of_a_table_is_not_told_as_writing_the_draft(tables, to_young_person):
    """Without the drafts table (every SEN2-only LA) the rule book puts an open case at DRAFTING from
    the day after the decision, the draft sent or not; without the advice table, advice is never
    known to be out. The weekly list keeps the stage; the family is told only what is known."""
    (row,) = _updates(D("2025-03-28"), frames_results=_drafting(tables)).iter_rows(named=True)
    assert json.loads(row["context"])["stage_20w"] == "assessing"
    text, html, sms = _rendered(row["context"], to_young_person)
    for part in (text, html):
        assert ("Right now, we are carrying out the EHC needs assessment and working towards the final EHC plan."
                in " ".join(part.split()))
    for part in (text, html, sms):
        assert "writing the draft" not in part and "draft" not in part.lower()


def test_with_both_tables_drafting_is_known_and_told():
    (row,) = _updates(D("2025-03-28"), frames_results=_drafting({"advice", "drafts"})).iter_rows(named=True)
    assert json.loads(row["context"])["stage_20w"] == "drafting"
    assert "Right now, we are writing the draft EHC plan." in _rendered(row["context"])[0]


def test_a_sen2_only_store_sends_no_update_saying_we_are_writing_the_draft(engine, tmp_path):
    """Through the store: the tables the source had are kept with the snapshot, so the planner
    knows the stage was inferred; the email sent says neither."""
    from email import message_from_bytes, policy

    from ehcp_monitor.touchpoints import dispatch_touchpoints

    store_case(engine, *_drafting({"advice"}))
    settings = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path)})
    plan_touchpoints(engine, settings, as_of=D("2025-03-28"))
    assert dispatch_touchpoints(engine, settings, as_of=D("2025-03-28"), now=NOW)["sent"] == 1
    (eml,) = tmp_path.glob("tp-*.eml")
    msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
    for part in ("plain", "html"):
        body = " ".join(msg.get_body((part,)).get_content().split())
        assert "we are carrying out the EHC needs assessment and working towards the final EHC plan" in body
        assert "writing the draft" not in body
