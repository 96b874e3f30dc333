from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from ehcp_monitor import clock
from ehcp_monitor.scheduling import runs
from ehcp_monitor.scheduling.health import job_states
from tests.scheduling.conftest import run_cli, toml_config

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=timezone.utc)
AS_OF = date(2026, 3, 3)


def record(engine, job, run_id, status, finished):
    runs.start_run(engine, job=job, run_id=run_id, as_of=AS_OF, now=finished - timedelta(minutes=5))
    runs.finish_run(engine, run_id, status=status, counts={}, error=None, now=finished)


def test_health_names_jobs_whose_last_success_is_too_old(engine, settings):
    settings = settings.replace(**{"schedule.board_pack.enabled": False})
    record(engine, "nightly", "n-ok", "success", NOW - timedelta(hours=25))
    record(engine, "nightly", "n-bad", "failed", NOW - timedelta(hours=1))  # later, but failed
    record(engine, "dispatch_touchpoints", "d-old", "success", NOW - timedelta(hours=30))
    states = {s.job: s for s in job_states(engine, settings, NOW)}

    assert states["nightly"].problem is None  # 25 h < max_age_hours 26
    assert states["nightly"].last_run.run_id == "n-bad"
    assert states["nightly"].last_success == NOW - timedelta(hours=25)
    assert states["nightly"].next_run == datetime(2026, 3, 4, 1, 30, tzinfo=ZoneInfo("Europe/London"))
    assert states["dispatch_touchpoints"].problem == "last succeeded 30.0 hours ago (max_age_hours 24)"
    assert states["weekly_late_list"].problem == "has never succeeded"
    assert states["board_pack"].problem is None and states["board_pack"].next_run is None  # disabled


def test_health_turns_late_exactly_after_max_age(engine, settings):
    record(engine, "nightly", "n", "success", NOW - timedelta(hours=26))
    assert {s.job: s.problem for s in job_states(engine, settings, NOW)}["nightly"] is None
    later = NOW + timedelta(seconds=1)
    problems = {s.job: s.problem for s in job_states(engine, settings, later)}
    assert problems["nightly"].startswith("last succeeded")


def test_health_and_jobs_commands(engine, tmp_path, cli_env):
    # The monitor began 40 days ago: board_pack's first scheduled time (the 2nd) has passed since.
    record(engine, "nightly", "n0", "success", clock.now_utc() - timedelta(days=40))
    record(engine, "nightly", "n1", "success", clock.now_utc() - timedelta(hours=2))
    cli_env["EHCP_CONFIG"] = str(toml_config(tmp_path / "config.toml", enabled=("nightly",)))
    healthy = run_cli(["health"], cli_env, tmp_path)
    assert healthy.returncode == 0, healthy.stderr
    assert "nightly: ok" in healthy.stdout and "board_pack: disabled" in healthy.stdout

    cli_env["EHCP_CONFIG"] = str(toml_config(tmp_path / "config.toml", enabled=("nightly", "board_pack")))
    late = run_cli(["health"], cli_env, tmp_path)
    assert late.returncode == 1
    assert late.stderr.strip() == "ehcp-monitor: health: board_pack overdue"
    assert "board_pack: LATE, has never succeeded" in late.stdout and "Traceback" not in late.stderr

    listing = run_cli(["jobs"], cli_env, tmp_path)
    assert listing.returncode == 0, listing.stderr
    *table, go_live = listing.stdout.splitlines()
    lines = {line.split()[0]: line for line in table[1:]}
    assert set(lines) == {"nightly", "weekly_late_list", "board_pack", "dispatch_touchpoints"}
    assert go_live.startswith("touchpoints go-live: not set")
    assert "30 1 * * mon-sun" in lines["nightly"] and "success" in lines["nightly"]
    assert "(disabled)" in lines["weekly_late_list"] and "never" in lines["weekly_late_list"]


def test_bad_schedule_is_a_usage_error(tmp_path, cli_env):
    cli_env["EHCP_CONFIG"] = str(toml_config(tmp_path / "config.toml", cron={"nightly": "30 1 * * 1-5"}))
    for command in (["serve"], ["jobs"], ["run", "nightly"]):
        result = run_cli(command, cli_env, tmp_path)
        assert result.returncode == 2 and "schedule.nightly.cron" in result.stderr
        assert "Traceback" not in result.stderr
