"""db.recent_writes: what a step committed is read by the next step of the same process without a
round trip through the store, only while the store still holds it, and exactly as the store would
give it; on SQLite and PostgreSQL."""

from contextlib import nullcontext
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import text

from ehcp_monitor import config
from ehcp_monitor.checks import run_check
from ehcp_monitor.checks.clock_engine import COLUMNS_USED
from ehcp_monitor.db import recent_writes
from ehcp_monitor.db import results as results_store
from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.migrate import upgrade_head
from ehcp_monitor.db.snapshot import (
    Snapshot,
    keep_written,
    read_snapshot,
    replace_snapshot,
    snapshot_marker,
    stored_schema,
)
from ehcp_monitor.domain.canonical import TABLE_ORDER
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.late_list import build_late_list
from ehcp_monitor.late_list.inputs import RESULTS_READ
from ehcp_monitor.late_list.inputs import RESULTS_USED as LIST_RESULTS
from ehcp_monitor.scheduling.runner import execute_job
from ehcp_monitor.synthetic import generate, write_extract
from ehcp_monitor.touchpoints import plan_touchpoints
from ehcp_monitor.touchpoints.planner import RESULTS_USED as PLANNER_RESULTS
from tests.conftest import fresh_store_url

AS_OF = date(2025, 3, 14)
READS = [{}, PLANNER_RESULTS, LIST_RESULTS, RESULTS_READ, {"measures": ()}, {"statuses": ("overdue",)},
         {"measures": ("REVIEW_12M",), "columns": ("plan_id", "status", "due_date")},
         {**RESULTS_READ, "measures_since": date(2024, 3, 14)}, {"measures": ("FINAL_20W",), "measures_since": AS_OF}]


def _extract(folder: Path, seed: int, people: int = 60) -> Path:
    write_extract(generate(people=people, seed=seed, as_of=AS_OF), folder, "csv")
    return folder


def _from_the_store(engine, read):
    """`read` with nothing kept: what the store itself gives."""
    recent_writes.forget(engine)
    return read()


def _same_snapshot(kept: Snapshot, stored: Snapshot) -> None:
    assert kept.tables.keys() == stored.tables.keys()
    for name in kept.tables:
        assert_frame_equal(kept[name], stored[name], check_row_order=True)
    assert (kept.tables_present, kept.ingest_id, kept.source_kind) == (
        stored.tables_present, stored.ingest_id, stored.source_kind)


def _tamper(engine, sql: str) -> None:
    """Change the store behind the kept frames' back (nothing in the product writes these tables
    but the ingest and the check): a read that shows the change read the store."""
    with engine.begin() as conn:
        conn.execute(text(sql))


def test_outside_a_job_run_nothing_is_kept(engine, settings, tmp_path):
    run_ingest(engine, settings, str(_extract(tmp_path / "a", seed=1)), as_of=AS_OF)
    run_check(engine, settings, as_of=AS_OF)
    _tamper(engine, "UPDATE people SET forename = 'TAMPERED'")
    _tamper(engine, "UPDATE check_results SET status = 'tampered'")
    assert set(read_snapshot(engine)["people"]["forename"]) == {"TAMPERED"}
    with engine.connect() as conn:
        assert set(results_store.read_results(conn)["status"]) == {"tampered"}


@pytest.fixture
def job_run(engine):
    """The block of one job run (as the job runner opens it)."""
    with recent_writes.keeping(engine):
        yield


def test_an_ingests_snapshot_is_read_without_the_store_and_as_the_store_holds_it(engine, job_run, settings, tmp_path):
    for columns in (None, COLUMNS_USED):
        run_ingest(engine, settings, str(_extract(tmp_path / "a", seed=1)), as_of=AS_OF)
        _tamper(engine, "DELETE FROM people")
        assert read_snapshot(engine, columns)["people"].height == 60  # from memory: the store has none
        run_ingest(engine, settings, str(tmp_path / "a"), as_of=AS_OF)  # the store as the ingest leaves it
        kept = read_snapshot(engine, columns)
        _same_snapshot(kept, _from_the_store(engine, lambda c=columns: read_snapshot(engine, c)))


def test_odd_text_and_dates_read_from_memory_as_from_the_store(engine, job_run, settings, tmp_path):
    """What the store's round trip could change (quotes, backslashes, line breaks, characters outside
    the Basic Multilingual Plane, dates at the ends of the range, empty text) it does not."""
    odd = ["O'Brien", 'say "hi"', "back\\slash", "two\nlines", "tab\there", "😀 emoji", "", " lead", "Zoë"]
    people = pl.DataFrame({"person_id": [f"P{i}" for i in range(len(odd))], "forename": odd,
                           "surname": list(reversed(odd)),
                           "date_of_birth": [date(1900, 1, 1), date(2099, 12, 31), None] + [date(2015, 5, 5)] * 6})
    ingest_id = run_ingest(engine, settings, str(_extract(tmp_path / "a", seed=9)), as_of=AS_OF).ingest_id
    snapshot = Snapshot.from_frames({"people": people}, ingest_id=ingest_id, source_kind="canonical")
    with engine.begin() as conn:
        marker = replace_snapshot(conn, snapshot, loaded_at=datetime(2025, 3, 14, 6, 0, tzinfo=UTC))
    keep_written(engine, snapshot, marker)
    kept = read_snapshot(engine)
    _same_snapshot(kept, _from_the_store(engine, lambda: read_snapshot(engine)))
    assert kept["people"]["forename"].to_list() == odd


def test_a_checks_results_are_read_without_the_store_and_as_the_store_holds_them(engine, job_run, settings, tmp_path):
    run_ingest(engine, settings, str(_extract(tmp_path / "a", seed=2, people=120)), as_of=AS_OF)
    run_check(engine, settings, as_of=AS_OF)
    _tamper(engine, "UPDATE check_results SET status = 'tampered'")
    with engine.connect() as conn:
        assert "tampered" not in results_store.read_results(conn)["status"].to_list()
    for read in READS:
        run_check(engine, settings, as_of=AS_OF)  # kept again
        with engine.connect() as conn:
            kept = results_store.read_results(conn, **read)
        recent_writes.forget(engine)
        with engine.connect() as conn:
            stored = results_store.read_results(conn, **read)
        assert stored.height or read == {"measures": ()}, read
        assert_frame_equal(kept, stored, check_row_order=True)
    run_check(engine, settings, as_of=AS_OF)
    with engine.connect() as conn:
        kept = results_store.read_results_with_run(conn)
    recent_writes.forget(engine)
    with engine.connect() as conn:
        assert_frame_equal(kept, results_store.read_results_with_run(conn))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_another_process_writing_since_is_read_from_the_store(kind, tmp_path):
    """Two engines on one store stand for two processes: what one kept is not read once the other
    has ingested or checked since."""
    with fresh_store_url(kind, tmp_path) as url:
        ours, theirs = make_engine(url), make_engine(url)
        try:
            upgrade_head(ours)
            mine = config.defaults().replace(**{"database.url": url})
            keeping = recent_writes.keeping(ours)
            keeping.__enter__()
            run_ingest(ours, mine, str(_extract(tmp_path / "a", seed=3)), as_of=AS_OF)
            run_check(ours, mine, as_of=AS_OF)
            run_ingest(theirs, mine, str(_extract(tmp_path / "b", seed=4, people=30)), as_of=AS_OF,
                       accept_shrink=True)
            run_check(theirs, mine, as_of=AS_OF)
            snapshot = read_snapshot(ours)
            assert snapshot.ingest_id == 2
            with ours.connect() as conn:
                results = results_store.read_results_with_run(conn)
            assert set(results["run_id"]) == {2}
            recent_writes.forget(theirs)
            _same_snapshot(snapshot, read_snapshot(theirs))
            with theirs.connect() as conn:
                assert_frame_equal(results, results_store.read_results_with_run(conn))
        finally:
            keeping.__exit__(None, None, None)
            ours.dispose()
            theirs.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_night_in_one_process_plans_and_lists_what_a_night_of_separate_reads_does(kind, tmp_path):
    """The nightly's steps in one process (each reading what the last kept) and the same steps each
    reading the store leave the same outbox and the same weekly list, night after night."""
    outcomes = []
    for name, separate in (("kept", False), ("stored", True)):
        (tmp_path / name).mkdir()
        with fresh_store_url(kind, tmp_path / name) as url:
            engine = make_engine(url)
            try:
                upgrade_head(engine)
                night = config.defaults().replace(**{"database.url": url, "touchpoints.hold_above": 0})
                for day, seed in ((AS_OF, 5), (date(2025, 3, 17), 6)):
                    extract = _extract(tmp_path / name / f"x{seed}", seed=seed, people=150)
                    steps = (partial(run_ingest, engine, night, str(extract), as_of=day, accept_shrink=True),
                             partial(run_check, engine, night, as_of=day),
                             partial(plan_touchpoints, engine, night, as_of=day),
                             partial(build_late_list, engine, night, as_of=day, out_dir=tmp_path / name / "list"))
                    # The night as one job run, or each step reading the store.
                    with nullcontext() if separate else recent_writes.keeping(engine):
                        for step in steps:
                            step()
                with engine.connect() as conn:
                    outbox = pl.DataFrame(conn.execute(text(
                        "SELECT stage, case_ref, event_date, contact_id, person_id, request_id, plan_id, variant, "
                        "status, reason, channel, planned_as_of, CAST(context AS TEXT) "
                        "FROM touchpoints ORDER BY stage, case_ref, event_date, contact_id, variant")).all(),
                        orient="row")
                lists = {p.name: p.read_bytes() for p in sorted((tmp_path / name / "list").glob("*.csv"))}
                outcomes.append((outbox, lists))
            finally:
                engine.dispose()
    (kept_outbox, kept_lists), (stored_outbox, stored_lists) = outcomes
    assert kept_outbox.height > 0
    assert_frame_equal(kept_outbox, stored_outbox)
    assert kept_lists == stored_lists and kept_lists


def test_a_job_run_keeps_nothing_once_it_ends(engine, settings, tmp_path):
    night = settings.replace(**{"source.location": str(_extract(tmp_path / "a", seed=7)),
                                "touchpoints.outbox_dir": str(tmp_path / "outbox"), "touchpoints.hold_above": 0})
    execute_job("nightly", night, AS_OF, engine=engine)
    with engine.connect() as conn:
        assert results_store.stored_run_id(conn) is not None and snapshot_marker(conn) is not None
        assert recent_writes.results_for(engine, results_store.stored_run_id(conn)) is None
        assert recent_writes.snapshot_for(engine, snapshot_marker(conn)) is None


def test_what_one_run_kept_outlives_another_run_ending_on_the_same_engine(engine, settings, tmp_path):
    with recent_writes.keeping(engine):
        run_ingest(engine, settings, str(_extract(tmp_path / "a", seed=10)), as_of=AS_OF)
        with recent_writes.keeping(engine):  # a second job run (a scheduler's thread) starts and ends
            pass
        with engine.connect() as conn:
            assert recent_writes.snapshot_for(engine, snapshot_marker(conn)) is not None
    with engine.connect() as conn:
        assert recent_writes.snapshot_for(engine, snapshot_marker(conn)) is None


def test_every_table_is_kept_with_its_stored_columns(engine, job_run, settings, tmp_path):
    run_ingest(engine, settings, str(_extract(tmp_path / "a", seed=8)), as_of=AS_OF)
    with engine.connect() as conn:
        kept = read_snapshot(conn)
    assert list(kept.tables) == list(TABLE_ORDER)
    assert all(kept[name].schema == pl.Schema(stored_schema(name)) for name in TABLE_ORDER)
