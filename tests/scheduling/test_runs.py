from datetime import date, datetime, timedelta, timezone

from ehcp_monitor.scheduling import runs

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)
AS_OF = date(2026, 3, 2)


def test_a_run_is_recorded_at_start_and_at_end(engine):
    runs.start_run(engine, job="nightly", run_id="r1", as_of=AS_OF, now=T0)
    started = runs.get_run(engine, "r1")
    assert (started.status, started.as_of, started.started_at, started.finished_at) == (
        "running", AS_OF, T0, None)
    assert started.pid and started.hostname
    runs.finish_run(engine, "r1", status="success", counts={"ingest": {"rows": 3}}, error=None,
                    now=T0 + timedelta(minutes=5))
    done = runs.get_run(engine, "r1")
    assert (done.status, done.counts, done.finished_at) == ("success", {"ingest": {"rows": 3}},
                                                            T0 + timedelta(minutes=5))


def test_error_summary_is_kept_short(engine):
    runs.start_run(engine, job="nightly", run_id="r1", as_of=AS_OF, now=T0)
    runs.finish_run(engine, "r1", status="failed", counts={}, error="x" * 5000, now=T0)
    assert len(runs.get_run(engine, "r1").error) == runs.ERROR_MAX_CHARS


def test_only_running_records_of_the_same_job_become_abandoned(engine):
    runs.start_run(engine, job="nightly", run_id="dead", as_of=AS_OF, now=T0)
    runs.start_run(engine, job="nightly", run_id="done", as_of=AS_OF, now=T0)
    runs.finish_run(engine, "done", status="success", counts={}, error=None, now=T0)
    runs.start_run(engine, job="board_pack", run_id="other", as_of=AS_OF, now=T0)
    assert runs.mark_abandoned(engine, "nightly", now=T0 + timedelta(hours=1)) == 1
    assert runs.get_run(engine, "dead").status == "abandoned"
    assert runs.get_run(engine, "dead").finished_at == T0 + timedelta(hours=1)
    assert runs.get_run(engine, "done").status == "success"
    assert runs.get_run(engine, "other").status == "running"


def test_last_run_and_last_success_per_job(engine):
    for i, status in enumerate(["success", "success", "failed"]):
        runs.start_run(engine, job="nightly", run_id=f"n{i}", as_of=AS_OF, now=T0 + timedelta(days=i))
        runs.finish_run(engine, f"n{i}", status=status, counts={}, error=None,
                        now=T0 + timedelta(days=i, minutes=10))
    runs.start_run(engine, job="board_pack", run_id="b0", as_of=AS_OF, now=T0)
    last = runs.last_runs(engine)
    assert {job: r.run_id for job, r in last.items()} == {"nightly": "n2", "board_pack": "b0"}
    assert runs.last_successes(engine) == {"nightly": T0 + timedelta(days=1, minutes=10)}
    assert [r.run_id for r in runs.runs_of(engine, "nightly")] == ["n2", "n1", "n0"]
