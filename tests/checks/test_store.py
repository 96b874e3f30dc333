"""run_check on a real store (SQLite and PostgreSQL): latest results replace, overdue history stays."""

from datetime import date, datetime, timezone

import polars as pl
from polars.testing import assert_frame_equal
from sqlalchemy import func, inspect, select

from ehcp_monitor.checks import RESULT_COLUMNS, evaluate, run_check
from ehcp_monitor.db.bulk import read_frame
from ehcp_monitor.db.models import CheckRun
from ehcp_monitor.db.snapshot import replace_snapshot
from ehcp_monitor.domain.results import RESULT_SCHEMA, by_measure, finish
from tests.checks.helpers import person, request, snapshot

D = date
LOADED = datetime(2025, 3, 1, tzinfo=timezone.utc)


def _load(engine, snap):
    snap.ingest_id = 7
    with engine.begin() as conn:
        replace_snapshot(conn, snap, loaded_at=LOADED)


def _caseload():
    return snapshot(
        people=[person("P1"), person("P2", D(2021, 6, 1))],
        requests=[request("R1", D(2024, 10, 1), decided=D(2024, 11, 1)),
                  request("R2", D(2024, 12, 20), outcome="A", decided=None, person="P2")],
        assessments=[{"request_id": "R1", "assessment_outcome": "A", "week20": True}],
        drafts=[],
        plans=[{"plan_id": "PL1", "person_id": "P2", "request_id": None, "start_date": D(2024, 1, 10)}],
        reviews=[{"plan_id": "PL1", "meeting_date": D(2024, 6, 1), "decision_date": D(2024, 6, 20)}],
    )


def _stored(engine) -> pl.DataFrame:
    cols = ", ".join(f'"{c}"' for c in RESULT_COLUMNS)
    with engine.connect() as conn:
        return finish(by_measure(read_frame(conn, f"SELECT {cols} FROM check_results", RESULT_SCHEMA)))


def _history(engine) -> pl.DataFrame:
    schema = {"run_id": pl.Int64, "as_of": pl.Date, "measure": pl.Utf8, "request_id": pl.Utf8,
              "days_late": pl.Int64, "very_late": pl.Boolean}
    cols = ", ".join(f'"{c}"' for c in schema)
    with engine.connect() as conn:
        return read_frame(conn, f"SELECT {cols} FROM overdue_history ORDER BY run_id, measure, request_id", schema)


def test_run_check_stores_exactly_the_evaluated_rows(engine, settings):
    snap = _caseload()
    _load(engine, snap)
    summary = run_check(engine, settings, as_of=D(2025, 3, 14))
    expected = evaluate(snap, settings, D(2025, 3, 14))
    assert_frame_equal(_stored(engine), expected)
    assert_frame_equal(summary.frame, expected)
    assert summary.results == expected.height == sum(summary.by_status.values()) == sum(summary.by_measure.values())
    assert summary.by_status == {"met": 3, "overdue": 4}
    assert summary.by_measure == {"DECIDE_6W": 2, "DRAFT_LOCAL": 1, "FINAL_20W": 1, "REVIEW_DECISION_4W": 1,
                                  "REVIEW_EY": 2}
    # DECIDE_6W of R2 is 42 days over; FINAL_20W (24), DRAFT_LOCAL (local) and REVIEW_EY (guidance) are not
    assert summary.very_late == 1
    with engine.connect() as conn:
        run = conn.execute(
            select(CheckRun.id, CheckRun.as_of, CheckRun.ingest_id, CheckRun.finished_at, CheckRun.counts)
        ).one()
    assert (run.id, run.as_of, run.ingest_id) == (summary.run_id, D(2025, 3, 14), 7)
    assert run.finished_at is not None and run.counts["by_status"] == summary.by_status


def test_latest_run_replaces_results_and_overdue_history_accumulates(engine, settings):
    _load(engine, _caseload())
    first = run_check(engine, settings, as_of=D(2025, 3, 14))
    second = run_check(engine, settings, as_of=D(2025, 3, 21))
    assert second.run_id != first.run_id
    stored = _stored(engine)
    assert_frame_equal(stored, evaluate(_caseload(), settings, D(2025, 3, 21)))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CheckRun)).scalar_one() == 2
        run_ids = {r[0] for r in conn.exec_driver_sql("SELECT DISTINCT run_id FROM check_results")}
    assert run_ids == {second.run_id}

    # replaced whole each night and read in bulk: no index to rebuild (models.check_results)
    assert inspect(engine).get_indexes("check_results") == []

    history = _history(engine)
    assert history["run_id"].unique().sort().to_list() == sorted([first.run_id, second.run_id])
    per_run = history.group_by("run_id").len().sort("run_id")["len"].to_list()
    assert per_run == [first.by_status["overdue"], second.by_status["overdue"]]
    decide = history.filter((pl.col("measure") == "DECIDE_6W") & (pl.col("request_id") == "R2"))
    assert decide.select("as_of", "days_late").rows() == [(D(2025, 3, 14), 42), (D(2025, 3, 21), 49)]


def test_empty_snapshot_stores_nothing_and_does_not_fail(engine, settings):
    summary = run_check(engine, settings, as_of=D(2025, 3, 14))
    assert (summary.results, summary.by_status, summary.very_late) == (0, {}, 0)
    assert _stored(engine).height == 0
