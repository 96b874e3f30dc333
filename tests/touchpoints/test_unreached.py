"""Told once the contact can be reached (touchpoints/unreached.py; docs/touchpoints.md, When a
contact could not be reached): a message skipped because its contact could not be reached is
planned again while its event is recent, and goes once the records are fixed; an opt-out is final."""

from datetime import timedelta
from email import message_from_bytes
from email.policy import default

from sqlalchemy import select

from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.touchpoints import plan_touchpoints
from tests.touchpoints.conftest import AS_OF, D, result, store_case, tp_settings
from tests.touchpoints.test_corrections import NEXT, NEXT_NOW, corrected, decided_family, outbox, send


def with_contact(frames: dict, **changes) -> dict:
    fixed = corrected(frames)
    fixed["contacts"][0].update(changes)
    return fixed


def statuses(engine) -> dict[str, tuple]:
    return {r[0]: (r[2], r[3]) for r in outbox(engine)}


def test_an_address_fixed_the_next_night_is_told(engine, tmp_path):
    frames, results = decided_family()
    store_case(engine, with_contact(frames, email="carol@example"), results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert statuses(engine)["decision_to_assess"] == ("skipped", "no valid email address")

    store_case(engine, frames, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["reached_again"], counts["planned"], counts["pending"]) == (2, 0, 2)
    assert statuses(engine) == {"decision_to_assess": ("pending", None), "request_received": ("pending", None)}
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["by_stage"] == {"decision_to_assess": 1, "request_received": 1}
    # Told once: the next night finds nothing to reopen.
    store_case(engine, frames, results, ingest_id=3)
    again = plan_touchpoints(engine, tp_settings(), as_of=NEXT + timedelta(days=1))
    assert (again["reached_again"], again["planned"]) == (0, 0)
    assert {r[2] for r in outbox(engine)} == {"sent"}


def test_an_address_broken_on_the_night_of_sending_is_told_once_fixed(engine, tmp_path):
    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    # Mistyped before the messages went: dispatch skips them.
    store_case(engine, with_contact(frames, email="carol@@example.org"), results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["skipped"] == 2
    # Still wrong the next night: they stay skipped, nothing new is planned.
    store_case(engine, with_contact(frames, email="carol@@example.org"), results, ingest_id=3)
    still = plan_touchpoints(engine, tp_settings(), as_of=AS_OF + timedelta(days=1))
    assert (still["reached_again"], still["planned"]) == (0, 0)
    # Fixed: told.
    store_case(engine, frames, results, ingest_id=4)
    assert plan_touchpoints(engine, tp_settings(), as_of=NEXT)["reached_again"] == 2
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["by_stage"] == {"decision_to_assess": 1, "request_received": 1}


def test_a_contact_missing_when_the_message_was_to_go_is_told_when_back(engine, tmp_path):
    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    # The contact row is missing from one night's extract (the events are still there).
    store_case(engine, {**frames, "contacts": []}, results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["skipped"] == 2
    assert {(r[2], r[3]) for r in outbox(engine, "decision_to_assess")} == {
        ("skipped", "contact no longer in the records"), ("skipped", "no contact recorded")}
    store_case(engine, frames, results, ingest_id=3)
    assert plan_touchpoints(engine, tp_settings(), as_of=NEXT)["reached_again"] == 2
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["sent"] == 2


def test_an_opt_out_is_final_and_an_old_event_is_not_told(engine, tmp_path):
    frames, results = decided_family()
    store_case(engine, with_contact(frames, opted_out=True), results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    store_case(engine, frames, results, ingest_id=2)  # opted back in
    assert plan_touchpoints(engine, tp_settings(), as_of=NEXT)["reached_again"] == 0
    assert statuses(engine)["decision_to_assess"] == ("skipped", "opted out")

    # An address fixed once the event is older than max_event_age_days (14) stays skipped.
    store_case(engine, with_contact(frames, email="not an address", contact_id="C2"), results, ingest_id=3)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    store_case(engine, with_contact(frames, contact_id="C2"), results, ingest_id=4)
    late = plan_touchpoints(engine, tp_settings(), as_of=D("2025-03-12") + timedelta(days=15))
    assert (late["reached_again"], late["pending"]) == (0, 0)


def test_a_progress_update_skipped_for_a_missing_contact_is_told_when_the_contact_is_back(engine, tmp_path):
    frames, _ = decided_family(outcome="A", decided=None)
    frames["requests"][0]["received_date"] = D("2025-02-14")  # heard nothing since: an update on 14 March
    open_20w = [result("DECIDE_6W", request_id="R1", due=D("2025-03-28"), status="due_soon"),
                result("FINAL_20W", request_id="R1", due=D("2025-07-04"), status="pending")]
    # The night the update falls due, the contact is missing from the extract: it goes to nobody.
    store_case(engine, {**frames, "contacts": []}, open_20w)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert [(r[2], r[3]) for r in outbox(engine, "progress_update")] == [("skipped", "no contact recorded")]
    # Back the next night: the same update, to the contact, not a month's silence.
    store_case(engine, frames, open_20w, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert counts["by_stage"] == {"progress_update": 1}
    updates = outbox(engine, "progress_update")
    assert sorted((r[1], r[2]) for r in updates) == [(AS_OF, "pending"), (AS_OF, "skipped")]
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["by_stage"] == {"progress_update": 1}


def test_a_message_skipped_then_its_outcome_corrected_tells_the_outcome_as_corrected(engine, tmp_path):
    frames, results = decided_family()
    frames["plans"] = [{"plan_id": "PL1", "person_id": "P1", "request_id": "R1", "start_date": D("2024-06-01")}]
    frames["reviews"] = [{"plan_id": "PL1", "meeting_date": D("2025-03-03"), "decision_date": D("2025-03-12"),
                          "outcome": "amend"}]
    store_case(engine, with_contact(frames, email="carol@example"), results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    # The next night the outcome is corrected (same date) and the address fixed.
    fixed = corrected(frames)
    fixed["reviews"][0]["outcome"] = "cease"
    store_case(engine, fixed, results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    # The corrected outcome is another event (the variant is in the key): the family, told
    # nothing yet, is told it; the row of the outcome keyed by mistake stays skipped.
    with engine.connect() as conn:
        rows = conn.execute(select(Touchpoint.variant, Touchpoint.status, Touchpoint.context).where(
            Touchpoint.stage == "review_decision").order_by(Touchpoint.variant)).all()
    assert [(r.variant, r.status, r.context.get("outcome")) for r in rows] == [
        ("amend", "skipped", "amend"), ("cease", "pending", "cease")]
    send(engine, tmp_path, NEXT, NEXT_NOW)
    texts = [message_from_bytes(p.read_bytes(), policy=default).get_body(("plain",)).get_content()
             for p in (tmp_path / "outbox").iterdir()]
    (review,) = [t for t in texts if "review" in t.lower()]
    assert "to stop maintaining the education, health and care (EHC) plan" in review and "amend" not in review
