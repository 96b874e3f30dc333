"""Planning into the outbox on a real store: once only, stale events suppressed, consent honoured."""

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.touchpoints import plan_touchpoints
from tests.touchpoints.conftest import AS_OF, caseload, store_case, tp_settings

D = date.fromisoformat


def _outbox(engine):
    with engine.connect() as conn:
        rows = conn.execute(select(Touchpoint.stage, Touchpoint.case_ref, Touchpoint.event_date,
                                   Touchpoint.contact_id, Touchpoint.status, Touchpoint.reason)).all()
    return {(r.stage, r.case_ref, r.event_date, r.contact_id): (r.status, r.reason) for r in rows}


def test_plan_records_each_recipient_with_its_verdict(stored_caseload):
    counts = plan_touchpoints(stored_caseload, tp_settings(), as_of=AS_OF)
    box = _outbox(stored_caseload)
    assert box[("request_received", "R1", D("2025-03-10"), "C1")] == ("pending", None)
    assert box[("request_received", "R1", D("2025-03-10"), "C2")] == ("pending", None)  # the second parent carer
    assert box[("request_received", "R1", D("2025-03-10"), "C3")] == ("skipped", "opted out")
    assert box[("draft_plan_issued", "R3", D("2025-03-05"), "C4")] == ("skipped", "no valid email address")
    assert box[("decision_to_assess", "R2", D("2024-11-01"), "C1")][0] == "suppressed"
    assert ("request_received", "R0", D("2020-01-06"), "C1") not in box  # a historical record (H)
    assert box[("delay_notice", "R2", D("2025-03-02"), "C1")] == ("pending", None)
    assert counts["planned"] == len(box)
    assert counts["pending"] == sum(1 for s, _ in box.values() if s == "pending") == 8
    assert counts["by_stage"] == {"delay_notice": 2, "request_received": 2, "review_decision": 2,
                                  "review_upcoming": 2}


def test_replanning_never_duplicates_and_keeps_the_first_verdict(stored_caseload):
    first = plan_touchpoints(stored_caseload, tp_settings(), as_of=AS_OF)
    before = _outbox(stored_caseload)
    # A week on, the same events are older than max_event_age_days: they must not turn suppressed.
    again = plan_touchpoints(stored_caseload, tp_settings(), as_of=D("2025-03-16"))
    assert again["planned"] == 0
    assert again["already_planned"] == first["planned"]
    assert _outbox(stored_caseload) == before


def test_a_person_without_contacts_is_recorded_not_lost(engine):
    frames, results = caseload()
    frames["contacts"] = [c for c in frames["contacts"] if c["person_id"] != "P2"]
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert _outbox(engine)[("draft_plan_issued", "R3", D("2025-03-05"), "none")] == (
        "skipped", "no contact recorded")


def test_max_event_age_is_a_setting(stored_caseload):
    settings = tp_settings().replace(**{"touchpoints.max_event_age_days": 0})
    plan_touchpoints(stored_caseload, settings, as_of=AS_OF)
    box = _outbox(stored_caseload)
    assert box[("request_received", "R1", D("2025-03-10"), "C1")][0] == "suppressed"


def test_the_database_enforces_the_once_key(engine):
    row = dict(stage="request_received", case_ref="R1", event_date=AS_OF, contact_id="C1", status="pending",
               attempts=0, planned_at=datetime(2025, 3, 14, tzinfo=timezone.utc), planned_as_of=AS_OF, context={})
    with engine.begin() as conn:
        conn.execute(insert(Touchpoint).values(**row))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(Touchpoint).values(**row))


def test_nightly_planning_sends_a_delay_notice_on_the_first_overdue_day_and_every_repeat(engine):
    """Sixty nights of planning while one clock stays overdue: one notice per repeat, never two. Never
    sent here, each notice waits until the next repeat's notice supersedes it (the records' notice for
    the case is then the new one): the family would get the latest, not a pile."""
    from datetime import timedelta

    from tests.touchpoints.conftest import one_family, result

    frames, _ = one_family()
    due = D("2025-01-10")
    settings = tp_settings().replace(**{"touchpoints.delay_repeat_days": 28})
    day = due
    for _ in range(60):
        day += timedelta(days=1)
        store_case(engine, frames, [result("DECIDE_6W", request_id="R1", due=due, status="overdue",
                                           days_late=(day - due).days)])
        plan_touchpoints(engine, settings, as_of=day)
    with engine.connect() as conn:
        notices = conn.execute(select(Touchpoint.event_date, Touchpoint.status)
                               .where(Touchpoint.stage == "delay_notice").order_by(Touchpoint.event_date)).all()
    assert [(n.event_date, n.status) for n in notices] == [
        (D("2025-01-11"), "superseded"), (D("2025-02-08"), "superseded"), (D("2025-03-08"), "pending")]


def test_each_row_is_planned_at_the_time_the_caller_gives_else_the_start_of_the_as_of_day(engine):
    """`planned_at` is the day the promise counts from (promise.py): the caller's clock, never the
    database's; a library caller that gives none gets the start of the as-of day in England."""
    from ehcp_monitor.db.models import TouchpointPlanRun
    from ehcp_monitor.db.outbox import read_outbox
    from tests.touchpoints.conftest import one_family

    store_case(engine, *one_family())
    late_evening = datetime(2025, 3, 14, 23, 30, tzinfo=timezone.utc)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF, now=late_evening)
    with engine.begin() as conn:
        assert set(read_outbox(conn)["planned_at"]) == {late_evening}
        conn.execute(delete(Touchpoint))
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-07-01"))  # BST: the day starts at 23:00 UTC
    with engine.connect() as conn:
        assert set(read_outbox(conn)["planned_at"]) == {datetime(2025, 6, 30, 23, 0, tzinfo=timezone.utc)}
        runs = conn.execute(select(TouchpointPlanRun.planned_at).order_by(TouchpointPlanRun.id)).scalars().all()
    assert [r.replace(tzinfo=timezone.utc) if r.tzinfo is None else r for r in runs] == [
        late_evening, datetime(2025, 6, 30, 23, 0, tzinfo=timezone.utc)]
