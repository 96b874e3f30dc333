"""Steps a check finds no longer done (db.results.find_undone), on SQLite and PostgreSQL: a done date
the results in force had, gone from tonight's records, is recorded with the check run."""

from datetime import date, datetime, timezone

import polars as pl
import pytest
from sqlalchemy import select

from ehcp_monitor.checks import run_check
from ehcp_monitor.db import results as results_store
from ehcp_monitor.db.models import UndoneStep
from ehcp_monitor.db.snapshot import replace_snapshot
from tests.checks.helpers import person, request, snapshot

D = date
LOADED = datetime(2025, 3, 1, tzinfo=timezone.utc)
AS_OF = D(2025, 3, 14)
REVIEWED = {"plan_id": "PL1", "meeting_date": D(2024, 12, 16), "decision_date": D(2024, 12, 30)}
DECIDED = D(2024, 11, 1)


def _load(engine, *, reviews=(REVIEWED,), decided=DECIDED, more_requests=()):
    snap = snapshot(
        people=[person("P1"), person("P2", D(2012, 6, 1))],
        requests=[request("R1", D(2024, 10, 1), decided=decided, outcome="Y" if decided else "A"),
                  *more_requests],
        plans=[{"plan_id": "PL1", "person_id": "P2", "request_id": None, "start_date": D(2024, 1, 10)}],
        reviews=list(reviews),
    )
    snap.ingest_id = 7
    with engine.begin() as conn:
        replace_snapshot(conn, snap, loaded_at=LOADED)


def _undone(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(UndoneStep.as_of, UndoneStep.measure, UndoneStep.request_id, UndoneStep.plan_id,
                   UndoneStep.anchor_date, UndoneStep.due_date, UndoneStep.done_date)
            .order_by(UndoneStep.measure)).all()]


def test_a_review_left_out_of_the_extract_is_found_no_longer_done(engine, settings):
    _load(engine)
    assert run_check(engine, settings, as_of=AS_OF).undone == 0
    _load(engine, reviews=())  # the review left out of tonight's extract
    summary = run_check(engine, settings, as_of=D(2025, 3, 15))
    assert summary.undone == 1 and summary.counts()["undone"] == 1
    # The plan's first review, due a year from its start, was done on 30 December: overdue now.
    assert _undone(engine) == [(D(2025, 3, 15), "REVIEW_12M", None, "PL1", D(2024, 1, 10), D(2025, 1, 10),
                                D(2024, 12, 30))]
    # The next night compares with a check that had it overdue already: nothing new.
    assert run_check(engine, settings, as_of=D(2025, 3, 16)).undone == 0
    assert len(_undone(engine)) == 1


def test_a_decision_cleared_is_found_and_a_request_arriving_late_is_not(engine, settings):
    _load(engine)
    run_check(engine, settings, as_of=AS_OF)
    # R1's decision cleared; R9 entered today, received in November: late, but never done.
    _load(engine, decided=None, more_requests=[request("R9", D(2024, 11, 4), outcome="A", decided=None)])
    summary = run_check(engine, settings, as_of=D(2025, 3, 15))
    assert summary.by_status["overdue"] > 1
    assert [(m, r, done) for _, m, r, _, _, _, done in _undone(engine)] == [("DECIDE_6W", "R1", D(2024, 11, 1))]


def test_a_past_night_run_again_finds_nothing_no_longer_done(engine, settings):
    """Recovery: a check as of an earlier day than the results in force finds steps done after it
    not done yet, which is not a date gone from the records."""
    _load(engine)
    run_check(engine, settings, as_of=AS_OF)
    assert run_check(engine, settings, as_of=D(2024, 11, 30)).undone == 0
    assert _undone(engine) == []


def test_the_first_check_and_an_unchanged_night_find_nothing(engine, settings):
    _load(engine)
    assert run_check(engine, settings, as_of=AS_OF).undone == 0
    assert run_check(engine, settings, as_of=D(2025, 3, 15)).undone == 0
    assert _undone(engine) == []


@pytest.mark.parametrize("by_id_max", [results_store.UNDONE_BY_ID_MAX, 0])
def test_the_stored_results_read_by_case_or_whole_give_the_same(engine, settings, monkeypatch, by_id_max):
    monkeypatch.setattr(results_store, "UNDONE_BY_ID_MAX", by_id_max)
    _load(engine)
    run_check(engine, settings, as_of=AS_OF)
    _load(engine, reviews=(), decided=None)
    run_check(engine, settings, as_of=D(2025, 3, 15))
    assert [(m, done) for _, m, _, _, _, _, done in _undone(engine)] == [
        ("DECIDE_6W", D(2024, 11, 1)), ("REVIEW_12M", D(2024, 12, 30))]
    with engine.connect() as conn:
        since = results_store.read_undone_since(conn, D(2025, 3, 15))
        assert since.height == 2 and since.schema == pl.Schema(results_store.UNDONE_SCHEMA)
        assert results_store.read_undone_since(conn, D(2025, 3, 16)).is_empty()
