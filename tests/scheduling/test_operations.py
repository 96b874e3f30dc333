"""Runs that say what they did: `serve` refusing, `health` before first runs, by-hand reports, the
counts table of `run` on a terminal."""

import os
import pty
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

from ehcp_monitor.db.locks import job_lock
from ehcp_monitor.scheduling import runs
from ehcp_monitor.scheduling.health import job_states
from ehcp_monitor.synthetic import generate, write_extract
from tests.scheduling.conftest import run_cli, toml_config

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=timezone.utc)  # a Tuesday
AS_OF = date(2026, 3, 2)


def test_serve_refuses_to_start_without_a_source(tmp_path, cli_env):
    out = run_cli(["serve"], cli_env, tmp_path, timeout=60)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("ehcp-monitor: config: source.location is empty")


def _problems(engine, settings, now) -> dict:
    return {s.job: s.problem for s in job_states(engine, settings, now)}


def test_health_waits_for_each_jobs_first_scheduled_time(engine, settings):
    # Nothing has ever run on this store and no service started: every job is late.
    assert set(_problems(engine, settings, NOW).values()) == {"has never succeeded"}

    runs.record_service_start(engine, now=NOW)
    runs.record_service_start(engine, now=NOW + timedelta(days=9))  # the first start is kept
    assert runs.monitor_began(engine) == NOW
    day_after = _problems(engine, settings, NOW + timedelta(days=1))
    assert set(day_after.values()) == {None, "has never succeeded"}
    # nightly: first time 2026-03-04 01:30, then 6 hours' grace; dispatch every 15 minutes, 1 hour's
    assert day_after["nightly"] == day_after["dispatch_touchpoints"] == "has never succeeded"
    assert day_after["weekly_late_list"] is None and day_after["board_pack"] is None
    # weekly_late_list: first Monday 2026-03-09 07:00 GMT, 6 hours' grace
    assert _problems(engine, settings, datetime(2026, 3, 9, 12, 59, tzinfo=timezone.utc))["weekly_late_list"] is None
    assert _problems(engine, settings, datetime(2026, 3, 9, 13, 1, tzinfo=timezone.utc))["weekly_late_list"] == (
        "has never succeeded")
    # board_pack: 2026-04-02 06:00 BST (05:00 UTC), 48 hours' grace
    assert _problems(engine, settings, datetime(2026, 4, 4, 4, 59, tzinfo=timezone.utc))["board_pack"] is None
    assert _problems(engine, settings, datetime(2026, 4, 4, 5, 1, tzinfo=timezone.utc))["board_pack"] == (
        "has never succeeded")


def test_the_first_run_of_any_job_also_marks_when_the_monitor_began(engine, settings):
    runs.start_run(engine, job="dispatch_touchpoints", run_id="r1", as_of=AS_OF, now=NOW)
    runs.finish_run(engine, "r1", status="success", counts={}, error=None, now=NOW)
    assert runs.monitor_began(engine) == NOW
    assert _problems(engine, settings, NOW + timedelta(days=2))["board_pack"] is None


def test_a_job_that_has_only_failed_is_reported_before_its_first_scheduled_time(engine, settings):
    """Installed with a wrong source folder and run by hand (or by cron) twice: failed both times.
    `health` must not say it is waiting for its first run."""
    for n in (1, 2):
        runs.start_run(engine, job="nightly", run_id=f"r{n}", as_of=AS_OF, now=NOW)
        runs.finish_run(engine, f"r{n}", status="failed", counts={}, error="source not found", now=NOW)
    problems = _problems(engine, settings, NOW + timedelta(minutes=5))
    assert problems["nightly"] == "has never succeeded: its last run failed"
    assert problems["board_pack"] is None  # the others still wait for their first time
    # Once it succeeds, an old failure is not a problem.
    runs.start_run(engine, job="nightly", run_id="r3", as_of=AS_OF, now=NOW + timedelta(minutes=10))
    runs.finish_run(engine, "r3", status="success", counts={}, error=None, now=NOW + timedelta(minutes=10))
    assert _problems(engine, settings, NOW + timedelta(minutes=15))["nightly"] is None


def test_health_says_a_job_is_waiting_for_its_first_run(engine, tmp_path, cli_env):
    runs.record_service_start(engine, now=datetime.now(timezone.utc))
    cli_env["EHCP_CONFIG"] = str(toml_config(tmp_path / "config.toml", enabled=("board_pack",)))
    out = run_cli(["health"], cli_env, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "board_pack: ok, waiting for its first scheduled run" in out.stdout


def _nightly_results(engine, tmp_path, cli_env) -> dict:
    write_extract(generate(people=40, seed=1, as_of=AS_OF), tmp_path / "extract", "csv")
    cli_env["EHCP_CONFIG"] = str(toml_config(
        tmp_path / "config.toml", source=str(tmp_path / "extract"),
        extra=f'[touchpoints]\noutbox_dir = "{tmp_path / "outbox"}"\n'
              f'[late_list]\nout_dir = "{tmp_path / "late"}"\n[board_pack]\nout_dir = "{tmp_path / "pack"}"\n'))
    first = run_cli(["run", "nightly", "--as-of", AS_OF.isoformat()], cli_env, tmp_path)
    assert first.returncode == 0, first.stderr
    return cli_env


def test_a_report_made_by_hand_counts_as_its_jobs_run(engine, tmp_path, cli_env):
    env = _nightly_results(engine, tmp_path, cli_env)
    late = run_cli(["report", "late-list", "--as-of", AS_OF.isoformat()], env, tmp_path)
    assert late.returncode == 0, late.stderr
    [record] = runs.runs_of(engine, "weekly_late_list")
    assert (record.status, record.as_of, record.counts) == ("success", AS_OF, {"by_hand": "report late-list"})

    pack = run_cli(["report", "board-pack", "--period", "2026-02", "--as-of", AS_OF.isoformat()], env, tmp_path)
    assert pack.returncode == 0, pack.stderr
    [record] = runs.runs_of(engine, "board_pack")
    assert (record.status, record.counts) == ("success", {"by_hand": "report board-pack"})

    health = run_cli(["health"], env, tmp_path)
    assert "weekly_late_list: ok, last success" in health.stdout
    assert "board_pack: ok, last success" in health.stdout

    with job_lock(engine, "weekly_late_list"):  # a scheduled run is making it right now
        busy = run_cli(["report", "late-list", "--as-of", AS_OF.isoformat()], env, tmp_path)
    assert busy.returncode == 4 and "another run holds the lock" in busy.stderr
    assert len(runs.runs_of(engine, "weekly_late_list")) == 1


def test_a_failed_report_by_hand_is_recorded_failed(engine, tmp_path, cli_env):
    out = run_cli(["report", "late-list", "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "late")],
                  cli_env, tmp_path)  # no check results yet
    assert out.returncode != 0 and "Traceback" not in out.stderr
    [record] = runs.runs_of(engine, "weekly_late_list")
    assert record.status == "failed" and record.error


def _run_on_a_terminal(args, env, cwd) -> tuple[int, str]:
    """`ehcp-monitor ARGS` with its stdout on a pseudo-terminal (stderr apart)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "ehcp_monitor", *args], env=env, cwd=cwd,
                               stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.stderr.read()
    code = process.wait(120)
    os.close(leader)
    return code, b"".join(chunks).decode().replace("\r\n", "\n")


def test_run_on_a_terminal_ends_with_a_table_of_its_counts(engine, tmp_path, cli_env):
    env = _nightly_results(engine, tmp_path, cli_env)
    code, shown = _run_on_a_terminal(["run", "nightly", "--as-of", AS_OF.isoformat()], env, tmp_path)
    assert code == 0
    said, *table = shown.splitlines()
    assert said.startswith("nightly: success (run ")
    assert [line.split()[0] for line in table] == ["ingest", "check", "touchpoints_plan", "touchpoints_dispatch"]
    assert "already_planned" in table[2] and "sent 0" in table[3]
    assert "@" not in shown

    piped = run_cli(["run", "nightly", "--as-of", AS_OF.isoformat()], env, tmp_path)  # not a terminal
    assert piped.returncode == 0 and piped.stdout.startswith("nightly: success")
    assert len(piped.stdout.splitlines()) == 1
