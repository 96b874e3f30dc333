import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone

import pytest
import structlog

from ehcp_monitor import logs
from ehcp_monitor.db.locks import job_lock
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.scheduling import runs
from ehcp_monitor.scheduling.runner import error_summary, execute_job, run_job

AS_OF = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    logs.configure(stream=stream, json=True)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logs.configure()


def test_a_misconfigured_job_fails_with_exit_2_and_a_record(engine, settings, log_lines):
    outcome = execute_job("nightly", settings, AS_OF, now=NOW, engine=engine)
    assert (outcome.status, outcome.exit_code) == ("failed", 2)
    assert "source.location" in outcome.error
    record = runs.get_run(engine, outcome.run_id)
    assert (record.status, record.job, record.as_of) == ("failed", "nightly", AS_OF)
    assert record.finished_at is not None and "source.location" in record.error


def test_a_stop_request_is_recorded_interrupted(engine, settings, tmp_path):
    import threading

    stop = threading.Event()
    stop.set()
    settings = settings.replace(**{"source.location": str(tmp_path)})
    outcome = execute_job("nightly", settings, AS_OF, now=NOW, stop=stop, engine=engine)
    assert (outcome.status, outcome.exit_code, outcome.error) == ("interrupted", 1, "stopped before ingest")
    assert runs.get_run(engine, outcome.run_id).status == "interrupted"


def test_a_run_while_the_lock_is_held_does_nothing_and_exits_4(engine, settings):
    with job_lock(engine, "nightly"):
        assert run_job("nightly", settings, AS_OF, now=NOW, engine=engine) == 4
    assert runs.runs_of(engine, "nightly") == []


def test_the_next_run_marks_a_dead_run_abandoned(engine, settings):
    runs.start_run(engine, job="nightly", run_id="killed-earlier", as_of=AS_OF, now=NOW)
    outcome = execute_job("nightly", settings, AS_OF, now=NOW, engine=engine)
    assert runs.get_run(engine, "killed-earlier").status == "abandoned"
    assert runs.get_run(engine, outcome.run_id).status == "failed"


def test_unknown_job_is_a_usage_error(settings):
    assert run_job("fortnightly", settings, AS_OF, now=NOW) == 2


def test_error_summary_is_one_line_without_sql_parameters():
    from sqlalchemy.exc import IntegrityError

    exc = IntegrityError("INSERT INTO people VALUES (?)", ("Alexandra Example",),
                         Exception("UNIQUE failed\nmore"))
    assert error_summary(exc) == "Exception: UNIQUE failed"
    assert error_summary(ConfigError("bad\nsecond")) == "ConfigError: bad"


def test_error_summary_quotes_no_value_of_a_polars_error():
    import polars as pl

    with pytest.raises(pl.exceptions.InvalidOperationError) as caught:
        pl.Series(["-0001-01-0"]).str.strptime(pl.Date, "%Y-%m-%d", strict=True)
    summary = error_summary(caught.value)
    assert summary.startswith("InvalidOperationError: ")
    assert "0001" not in summary and "[...]" in summary


def test_one_canonical_line_per_run_and_nothing_leaks_between_runs(engine, settings, log_lines):
    """Runs share worker threads in `serve`: the run id is rebound and stray context cleared."""

    def run_with_stray_context():
        structlog.contextvars.bind_contextvars(request_id="LEFT-OVER", run_id="stale")
        return execute_job("nightly", settings, AS_OF, now=NOW, engine=engine)

    with ThreadPoolExecutor(max_workers=1) as pool:  # one thread, like a reused worker
        first = pool.submit(run_with_stray_context).result()
        second = pool.submit(lambda: execute_job("nightly", settings, AS_OF, now=NOW, engine=engine)).result()
        assert pool.submit(structlog.contextvars.get_contextvars).result() == {}
    lines = log_lines()
    assert all("request_id" not in line and line.get("run_id") != "stale" for line in lines)
    canonical = [line for line in lines if line["event"] == "job_run"]
    assert [line["run_id"] for line in canonical] == [first.run_id, second.run_id]
    for line, outcome in zip(canonical, (first, second), strict=True):
        assert line["job"] == "nightly" and line["as_of"] == "2026-03-02"
        assert line["status"] == outcome.status == "failed"
        assert line["counts"] == {} and line["duration_s"] >= 0 and line["exit_code"] == 2
    assert {line["run_id"] for line in lines} == {first.run_id, second.run_id}
