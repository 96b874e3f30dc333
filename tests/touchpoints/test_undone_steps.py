"""An apology for a step the records had done, its date gone tonight (a partial extract), is held for
a person (touchpoints/corrections.py, _a_step_undone; docs/touchpoints.md, When the records change).

Real check runs on a real store: the check finds the step no longer done, the planner holds the
notice naming it."""

from datetime import date, datetime, timezone

import polars as pl
from sqlalchemy import select, update

from ehcp_monitor.checks import run_check
from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.db.snapshot import Snapshot, replace_snapshot
from ehcp_monitor.touchpoints import plan_touchpoints
from ehcp_monitor.touchpoints.hold import release
from tests.touchpoints.conftest import D, tp_settings

REVIEWED = {"plan_id": "PL1", "meeting_date": D("2024-12-16"), "decision_date": D("2024-12-30"),
            "outcome": "maintain"}
# An amendment begun at a review whose decision is not recorded: AMEND_FINAL_8W due 3 March 2025.
AMENDING = {"plan_id": "PL1", "outcome": "amend", "amendment_notice_date": D("2025-01-06")}


def _store(engine, *, reviews, ingest_id, history="full"):
    frames = {
        "people": [{"person_id": "P1", "date_of_birth": D("2015-06-01"), "forename": "Alice", "surname": "Smith"}],
        "requests": [{"request_id": "R0", "person_id": "P1", "received_date": D("2023-08-01"),
                      "request_outcome": "Y", "request_outcome_date": D("2023-09-01")}],
        "assessments": [{"request_id": "R0", "assessment_outcome": "Y", "assessment_outcome_date": D("2023-12-01")}],
        "plans": [{"plan_id": "PL1", "person_id": "P1", "request_id": "R0", "start_date": D("2024-01-10"),
                   "review_history": history}],
        "reviews": list(reviews),
        "contacts": [{"contact_id": "C1", "person_id": "P1", "role": "parent_carer", "name": "Carol Smith",
                      "email": "carol@example.org"}],
    }
    snap = Snapshot.from_frames({name: pl.DataFrame(rows) for name, rows in frames.items() if rows}
                                | ({} if reviews else {"reviews": pl.DataFrame(schema={"plan_id": pl.Utf8})}),
                                ingest_id=ingest_id, source_kind="canonical")
    with engine.begin() as conn:
        replace_snapshot(conn, snap, loaded_at=datetime(2025, 3, 1, tzinfo=timezone.utc))


def _night(engine, settings, day: date, **snapshot) -> dict:
    if snapshot:
        _store(engine, **snapshot)
    run_check(engine, settings, as_of=day)
    return plan_touchpoints(engine, settings, as_of=day)


def _notices(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(Touchpoint.id, Touchpoint.event_date, Touchpoint.status, Touchpoint.reason)
            .where(Touchpoint.stage == "delay_notice").order_by(Touchpoint.id)).all()]


def _late_steps(engine) -> list[tuple]:
    """(event date, status, the measures its late steps name) of each delay notice."""
    with engine.connect() as conn:
        rows = conn.execute(select(Touchpoint.event_date, Touchpoint.status, Touchpoint.context)
                            .where(Touchpoint.stage == "delay_notice").order_by(Touchpoint.id)).all()
    return [(d, s, sorted(step["measure"] for step in c["late_steps"])) for d, s, c in rows]


def test_a_review_left_out_of_the_extract_holds_the_apology_for_its_lateness(engine):
    settings = tp_settings()
    _night(engine, settings, D("2025-03-14"), reviews=[REVIEWED], ingest_id=1)
    assert _notices(engine) == []
    counts = _night(engine, settings, D("2025-03-15"), reviews=[], ingest_id=2)
    assert counts["corrections_held"] == 1 and counts["pending"] == 0
    ((_, event_date, status, reason),) = _notices(engine)
    # REVIEW_12M fell due on 10 January; its notice repeats every 28 days: 11 January, 8 February, 8 March.
    assert (event_date, status) == (D("2025-03-08"), "held")
    assert reason == (
        "held: the check of 2025-03-15 found REVIEW_12M no longer done: the check before it had it done on "
        "2024-12-30, and the records no longer have that date (left out of a partial extract, or removed?), and "
        "this message says it is late; check the record, then `ehcp-monitor touchpoints release --id N` or "
        "`discard --id N`")
    # The export run again: the review is back, and the held apology is set aside.
    _night(engine, settings, D("2025-03-16"), reviews=[REVIEWED], ingest_id=3)
    assert [s for _, _, s, _ in _notices(engine)] == ["superseded"]


def test_the_next_notice_is_held_while_the_finding_is_recent_and_sent_after(engine):
    settings = tp_settings()
    _night(engine, settings, D("2025-03-14"), reviews=[REVIEWED], ingest_id=1)
    _night(engine, settings, D("2025-03-15"), reviews=[], ingest_id=2)
    # A person checked the case and let the first notice go (the review was removed on purpose).
    (first, *_), = _notices(engine)
    release(engine, settings, stage=None, as_of=D("2025-03-15"), now=datetime(2025, 3, 15, 10, tzinfo=timezone.utc),
            ids=[first])
    # The repeat of 5 April: the finding of 15 March is recent, so it waits for a person too.
    assert _night(engine, settings, D("2025-04-05"))["corrections_held"] == 1
    # The repeat of 28 June: more than MOVED_WITHIN_DAYS (90) after the finding, it is told.
    counts = _night(engine, settings, D("2025-06-28"))
    assert (counts["corrections_held"], counts["pending"]) == (0, 1)
    assert [(d, s) for _, d, s, _ in _notices(engine)][-1] == (D("2025-06-28"), "pending")


def test_a_review_never_in_the_records_is_apologised_for(engine):
    settings = tp_settings()
    _night(engine, settings, D("2025-03-14"), reviews=[], ingest_id=1)
    _night(engine, settings, D("2025-03-15"))
    assert [(d, s) for _, d, s, _ in _notices(engine)] == [(D("2025-03-08"), "pending")]


def test_a_review_due_yesterday_left_out_tonight_holds_its_first_apology(engine):
    """Due the day of the last check (not late then), done weeks before, gone tonight: the notice
    of its first overdue day is tonight's (a review found it missed)."""
    settings = tp_settings()
    _night(engine, settings, D("2025-01-10"), reviews=[REVIEWED], ingest_id=1)
    counts = _night(engine, settings, D("2025-01-11"), reviews=[], ingest_id=2)
    assert (counts["pending"], counts["corrections_held"]) == (0, 1)
    assert _late_steps(engine) == [(D("2025-01-11"), "held", ["REVIEW_12M"])]


def test_steps_that_fell_due_between_two_checks_days_apart_are_found(engine):
    settings = tp_settings()
    _night(engine, settings, D("2025-01-06"), reviews=[REVIEWED], ingest_id=1)
    _night(engine, settings, D("2025-01-12"), reviews=[], ingest_id=2)
    assert [s for _, s, _ in _late_steps(engine)] == ["held"]


def test_a_plan_with_only_its_latest_review_holds_the_apology_when_that_review_is_left_out(engine):
    """SEN2's plans carry their latest review only: gone, the plan's cycle starts at the plan's
    start again, an instance the last check had no row for."""
    settings = tp_settings()
    _night(engine, settings, D("2025-03-14"), reviews=[REVIEWED], ingest_id=1, history="latest_only")
    _night(engine, settings, D("2025-03-15"), reviews=[], ingest_id=2, history="latest_only")
    assert _late_steps(engine) == [(D("2025-03-08"), "held", ["REVIEW_12M"])]


def test_a_notice_waiting_to_retry_that_takes_the_vanished_step_is_held(engine):
    """An apology for a late amendment waits to retry when tonight's extract leaves the review
    out: refreshed, it would tell the family the review is late too."""
    settings = tp_settings()
    _night(engine, settings, D("2025-03-04"), reviews=[REVIEWED, AMENDING], ingest_id=1)
    with engine.begin() as conn:  # its send failed for a moment
        conn.execute(update(Touchpoint).where(Touchpoint.stage == "delay_notice").values(status="retry"))
    counts = _night(engine, settings, D("2025-03-05"), reviews=[AMENDING], ingest_id=2)
    assert counts["corrections_held"] == 1
    assert _late_steps(engine) == [(D("2025-03-04"), "held", ["AMEND_FINAL_8W", "REVIEW_12M"])]
    ((_, _, _, reason),) = _notices(engine)
    assert reason.startswith("held: the check of 2025-03-05 found REVIEW_12M no longer done")


def test_a_notice_set_aside_and_back_with_the_vanished_steps_is_held(engine):
    settings = tp_settings()
    _night(engine, settings, D("2025-03-04"), reviews=[REVIEWED, AMENDING], ingest_id=1)
    amended = {**AMENDING, "amended_final_date": D("2025-03-01")}
    _night(engine, settings, D("2025-03-05"), reviews=[REVIEWED, amended], ingest_id=2)
    assert [s for _, s, _ in _late_steps(engine)] == ["superseded"]
    # Tonight's extract has neither the review nor the amended plan's date: the notice comes back.
    _night(engine, settings, D("2025-03-06"), reviews=[AMENDING], ingest_id=3)
    assert _late_steps(engine) == [(D("2025-03-04"), "held", ["AMEND_FINAL_8W", "REVIEW_12M"])]
