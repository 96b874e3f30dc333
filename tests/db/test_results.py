"""db.results: the stored results, their history and check runs, on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime

import polars as pl
from polars.testing import assert_frame_equal
from sqlalchemy import insert

from ehcp_monitor.db import results
from ehcp_monitor.db.models import SnapshotInfo
from ehcp_monitor.domain.results import RESULT_COLUMNS, RESULT_SCHEMA

AS_OF = date(2025, 3, 14)
STARTED = datetime(2025, 3, 14, 6, 0, tzinfo=UTC)
D = date
ANCHOR = D(2025, 1, 6)


def _row(measure, request_id, status, *, kind="statutory", completed=None, plan_id=None, very_late=False,
         days_late=None, item=None, anchor=ANCHOR):
    return {
        "measure": measure, "request_id": request_id, "plan_id": plan_id, "person_id": f"P{request_id}",
        "item": item, "anchor_date": anchor, "due_date": D(2025, 2, 17), "completed_date": completed,
        "status": status, "days_late": days_late, "exception": False, "very_late": very_late,
        "stage": None, "kind": kind, "basis": "SEND Regulations 2014 r.4",
    }


FRAME = pl.DataFrame([
    _row("DECIDE_6W", "R1", "met", completed=D(2025, 2, 10)),
    _row("FINAL_20W", "R2", "open"),
    _row("REVIEW_12M", None, "open", plan_id="PL1", kind="statutory"),
    _row("REVIEW_12M", None, "met", plan_id="PL2", completed=D(2025, 1, 20)),
    _row("ADVICE_6W", "R3", "overdue", days_late=25, very_late=True, item="EP", anchor=D(2025, 1, 3)),
    _row("DRAFT_LOCAL", "R4", "overdue", kind="local", days_late=3),
    _row("ADVICE_6W", "R5", "met", item="it's", completed=D(2025, 2, 1)),
], schema=RESULT_SCHEMA)


def _store(engine, frame=FRAME, as_of=AS_OF, ingest_id=7) -> int:
    with engine.begin() as conn:
        run_id = results.start_check(conn, as_of=as_of, ingest_id=ingest_id, started_at=STARTED)
        results.replace_results(conn, run_id, frame, frame.filter(pl.col("status") == "overdue"), as_of)
        results.finish_check(conn, run_id, finished_at=STARTED, counts={"results": frame.height})
    return run_id


def test_results_read_back_as_stored_in_the_contract_schema(engine):
    _store(engine)
    with engine.connect() as conn:
        back = results.read_results(conn)
    assert back.schema == pl.Schema(RESULT_SCHEMA)
    assert tuple(back.columns) == RESULT_COLUMNS
    assert_frame_equal(back, FRAME)


def test_a_new_check_replaces_the_results_and_keeps_the_overdue_history(engine):
    first = _store(engine)
    second = _store(engine, FRAME.head(2), as_of=D(2025, 3, 21))
    assert second > first
    with engine.connect() as conn:
        stored = results.read_results_with_run(conn)
        assert stored["run_id"].to_list() == [second, second]
        assert_frame_equal(stored.drop("run_id"), FRAME.head(2))
        history = results.read_overdue_history(conn, first)
        assert history.schema == pl.Schema(results.HISTORY_SCHEMA)
        assert history["request_id"].to_list() == ["R3", "R4"]
        assert history["as_of"].to_list() == [AS_OF, AS_OF]
        assert history["very_late"].to_list() == [True, False]
        assert history["days_late"].to_list() == [25, 3]
        assert results.read_overdue_history(conn, second).height == 0  # its two rows are not overdue
        keys = results.read_overdue_history(conn, first, ("measure", "item", "anchor_date"))
        assert keys.rows() == [("ADVICE_6W", "EP", D(2025, 1, 3)), ("DRAFT_LOCAL", None, D(2025, 1, 6))]


def test_reading_by_measure_open_cycle_or_overdue_kind(engine):
    _store(engine)
    with engine.connect() as conn:
        by_measure = results.read_results(conn, measures=["DECIDE_6W", "FINAL_20W"])
        assert by_measure["request_id"].to_list() == ["R1", "R2"]
        assert results.read_results(conn, measures=[]).height == 0
        assert results.read_results(conn, measures=["NONE'; --"]).height == 0
        open_reviews = results.read_results(conn, open_measures=["REVIEW_12M"])
        assert open_reviews["plan_id"].to_list() == ["PL1"]
        overdue = results.read_results(conn, overdue_kind="statutory")
        assert overdue["request_id"].to_list() == ["R3"]
        both = results.read_results(conn, measures=["DECIDE_6W"], open_measures=["REVIEW_12M"],
                                    overdue_kind="local")
        assert both.select("measure", "request_id", "plan_id").rows() == [
            ("DECIDE_6W", "R1", None), ("REVIEW_12M", None, "PL1"), ("DRAFT_LOCAL", "R4", None)]
        running = results.read_results(conn, statuses=["open", "overdue"], measures=["DECIDE_6W"])
        assert running["request_id"].to_list() == ["R1", "R2", None, "R3", "R4"]
        some = results.read_results(conn, measures=["ADVICE_6W"], columns=("measure", "item", "very_late"))
        assert some.schema == pl.Schema({"measure": pl.Utf8, "item": pl.Utf8, "very_late": pl.Boolean})
        assert some.rows() == [("ADVICE_6W", "EP", True), ("ADVICE_6W", "it's", False)]



def test_reading_a_measures_clocks_completed_since_a_day(engine):
    """`measures_since`: the day itself is in; the day before it is not; a clock not completed always is;
    other conditions are not narrowed. The same from the store and from a check's kept frame."""
    _store(engine)
    reads = {
        D(2025, 1, 20): (["R2", None, None], ["PL1", "PL2"]),  # PL2's review completed that day
        D(2025, 1, 21): (["R2", None], ["PL1"]),
    }
    with engine.connect() as conn:
        for since, (requests, plans) in reads.items():
            read = results.read_results(conn, measures=["FINAL_20W", "REVIEW_12M"], measures_since=since)
            assert read["request_id"].to_list() == requests and read["plan_id"].drop_nulls().to_list() == plans
            kept = results._kept_rows(FRAME, ["FINAL_20W", "REVIEW_12M"], (), None, (), since)
            assert_frame_equal(kept, read)
        anything_overdue = results.read_results(conn, measures=["ADVICE_6W"], statuses=["overdue"],
                                                measures_since=D(2025, 3, 1))
        assert anything_overdue["request_id"].to_list() == ["R3", "R4"]  # R5's advice met before that day

def test_counts_by_status_and_very_late(engine):
    with engine.connect() as conn:
        assert results.status_counts(conn) == ({}, 0)
    _store(engine)
    with engine.connect() as conn:
        assert results.status_counts(conn) == ({"met": 3, "open": 2, "overdue": 2}, 1)


def test_nothing_stored_reads_as_empty_typed_frames(engine):
    with engine.connect() as conn:
        assert_frame_equal(results.read_results(conn), pl.DataFrame(schema=RESULT_SCHEMA))
        assert results.read_results_with_run(conn).schema == pl.Schema(results.STORED_SCHEMA)
        assert results.read_overdue_history(conn, 1).height == 0
        assert results.latest_check(conn) is None
        assert results.check_as_of(conn, 1) is None
        assert results.stored_run_id(conn) is None
    run_id = _store(engine)
    with engine.connect() as conn:
        assert results.stored_run_id(conn) == run_id
        assert results.snapshot_ingest_id(conn) is None


def test_check_runs_and_the_snapshot_in_force(engine):
    first = _store(engine, ingest_id=3)
    second = _store(engine, as_of=D(2025, 3, 21), ingest_id=None)
    with engine.begin() as conn:
        latest = results.latest_check(conn)
        assert (latest.id, latest.as_of, latest.ingest_id) == (second, D(2025, 3, 21), None)
        assert results.stored_run_id(conn) == second  # the first run's rows were replaced
        assert results.check_as_of(conn, first) == AS_OF
        conn.execute(insert(SnapshotInfo).values(id=1, ingest_id=3, source_kind="sen2", tables_present=[],
                                                 loaded_at=STARTED))
        assert results.snapshot_ingest_id(conn) == 3
