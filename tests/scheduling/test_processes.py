"""Real `ehcp-monitor` processes: the lock, SIGKILL, SIGTERM / SIGINT to `run` and `serve`."""

import signal

import pytest

from ehcp_monitor.scheduling import runs
from tests.scheduling.conftest import run_cli, start_cli, toml_config, wait_for

AS_OF = ["--as-of", "2026-03-02"]


@pytest.fixture
def nightly_env(cli_env, tmp_path):
    """Nightly pointed at an (empty) extract folder, pausing as it enters its ingest step."""
    (tmp_path / "extract").mkdir()
    cli_env["EHCP_CONFIG"] = str(toml_config(tmp_path / "config.toml", source=str(tmp_path / "extract")))
    paused = dict(cli_env, EHCP_TEST_PAUSE="ingest", EHCP_TEST_PAUSE_MARKER=str(tmp_path / "paused"))
    return cli_env, paused


def test_second_process_exits_4_and_a_killed_run_leaves_no_lock(engine, tmp_path, nightly_env):
    env, paused = nightly_env
    first = start_cli(["run", "nightly", *AS_OF], paused, tmp_path, tmp_path / "first.log")
    try:
        wait_for((tmp_path / "paused").exists, 60, "the first run to reach its ingest step")
        second = run_cli(["run", "nightly", *AS_OF], env, tmp_path)
        assert second.returncode == 4, second.stderr
        assert "another run holds the lock" in second.stderr
        [running] = runs.runs_of(engine, "nightly")  # the second did nothing, not even a record
        assert running.status == "running" and running.pid == first.pid
    finally:
        first.kill()
        first.wait(30)
    third = run_cli(["run", "nightly", *AS_OF], env, tmp_path)
    assert third.returncode != 4, third.stderr  # the killed process left no lock behind
    assert runs.get_run(engine, running.run_id).status == "abandoned"
    latest = runs.runs_of(engine, "nightly")[0]
    assert latest.run_id != running.run_id and latest.status != "running"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_run_is_recorded_interrupted(engine, tmp_path, nightly_env, sig):
    _env, paused = nightly_env
    process = start_cli(["run", "nightly", *AS_OF], paused, tmp_path, tmp_path / "run.log")
    try:
        wait_for((tmp_path / "paused").exists, 60, "the run to reach its ingest step")
        process.send_signal(sig)
        assert process.wait(30) == 1
    finally:
        process.kill()
    [record] = runs.runs_of(engine, "nightly")
    assert (record.status, record.error) == ("interrupted", "stopped before ingest")
    output = (tmp_path / "run.log").read_text()
    assert "Traceback" not in output and "nightly: interrupted" in output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_cleanly_when_idle(tmp_path, cli_env, db_url, sig):
    (tmp_path / "extract").mkdir()
    cli_env["EHCP_CONFIG"] = str(toml_config(tmp_path / "config.toml", source=str(tmp_path / "extract")))
    log = tmp_path / "serve.log"
    process = start_cli(["serve"], cli_env, tmp_path, log)
    try:
        wait_for(lambda: "serve_started" in log.read_text(), 60, "serve to start")
        process.send_signal(sig)
        assert process.wait(30) == 0
    finally:
        process.kill()
    output = log.read_text()
    assert "serve_stopped" in output and "Traceback" not in output
    assert output.count('"event": "job_scheduled"') == 4


def test_serve_sigterm_while_a_job_runs_records_it_interrupted_and_exits_0(engine, tmp_path, nightly_env):
    """The job fires on the next minute boundary (cron `* * * * *`), so this takes up to a minute."""
    _env, paused = nightly_env
    paused["EHCP_CONFIG"] = str(toml_config(
        tmp_path / "config.toml", source=str(tmp_path / "extract"), enabled=("nightly",),
        cron={"nightly": "* * * * *"},
    ))
    log = tmp_path / "serve.log"
    process = start_cli(["serve"], paused, tmp_path, log)
    try:
        wait_for((tmp_path / "paused").exists, 90, "the scheduled nightly run to start")
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        process.kill()
    [record] = runs.runs_of(engine, "nightly")
    assert record.status == "interrupted"
    assert "Traceback" not in log.read_text()
