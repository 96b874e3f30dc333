"""The nightly job end to end on real extracts, and killed in the middle of its ingest and check."""

import signal
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ehcp_monitor.db.models import CheckRun, IngestRun, Person, SnapshotInfo, check_results
from ehcp_monitor.scheduling import runs
from ehcp_monitor.scheduling.runner import execute_job
from ehcp_monitor.synthetic import generate, write_extract
from tests.conftest import LA_DETAILS
from tests.scheduling.conftest import run_cli, start_cli, toml_config, wait_for

AS_OF = date(2026, 3, 2)
TOUCHPOINTS = '[touchpoints]\noutbox_dir = "{outbox}"\nrate_per_minute = 100000\n'


def extract(folder, people: int, seed: int):
    frames = generate(people=people, seed=seed, as_of=AS_OF)
    write_extract(frames, folder, "csv")
    return frames


def state(engine) -> dict:
    """What a kill must not disturb: the snapshot and the latest stored results."""
    with engine.connect() as conn:
        return {
            "people": sorted(conn.execute(select(Person.person_id)).scalars()),
            "snapshot_ingest": conn.execute(select(SnapshotInfo.ingest_id)).scalar_one_or_none(),
            "results": conn.execute(select(func.count()).select_from(check_results)).scalar_one(),
            "results_run": conn.execute(select(func.max(check_results.c.run_id))).scalar_one(),
            "check_runs": conn.execute(select(func.count()).select_from(CheckRun)).scalar_one(),
        }


@pytest.fixture
def nightly_settings(settings, tmp_path):
    return settings.replace(**{
        "source.location": str(tmp_path / "a"),
        "touchpoints.outbox_dir": str(tmp_path / "outbox"),
        "touchpoints.rate_per_minute": 100000,
        # Live long before this extract, and no surge hold: every recent event is sent
        # (going live and the hold have tests of their own in tests/touchpoints).
        "touchpoints.go_live": "2000-01-01",
        "touchpoints.hold_above": 100000,
        # The job reads the real clock here: the sending window is open at any hour and day.
        "touchpoints.send_window_start": "00:00", "touchpoints.send_window_end": "24:00",
        "touchpoints.send_on_working_days_only": False,
    })


def test_nightly_ingests_checks_and_sends(engine, nightly_settings, tmp_path):
    frames = extract(tmp_path / "a", people=40, seed=1)
    outcome = execute_job("nightly", nightly_settings, AS_OF, engine=engine)
    assert (outcome.status, outcome.exit_code) == ("success", 0), outcome.error
    assert set(outcome.counts) == {"ingest", "check", "touchpoints_plan", "touchpoints_dispatch"}
    assert outcome.counts["ingest"]["status"] == "loaded"
    assert outcome.counts["check"]["results"] == state(engine)["results"] > 0
    assert "frame" not in outcome.counts["check"]
    assert state(engine)["people"] == sorted(frames["people"]["person_id"].to_list())
    assert runs.get_run(engine, outcome.run_id).counts == outcome.counts


def test_a_refused_extract_exits_3_and_keeps_the_previous_snapshot(engine, nightly_settings, tmp_path):
    extract(tmp_path / "a", people=40, seed=1)
    assert execute_job("nightly", nightly_settings, AS_OF, engine=engine).exit_code == 0
    before = state(engine)
    (tmp_path / "a" / "people.csv").unlink()  # a required table missing: refused whole
    outcome = execute_job("nightly", nightly_settings, AS_OF, engine=engine)
    assert (outcome.status, outcome.exit_code) == ("failed", 3)
    assert outcome.error.startswith("ingest: ") and "\n" not in outcome.error
    assert state(engine) == before
    with engine.connect() as conn:
        assert conn.execute(select(IngestRun.status).order_by(IngestRun.id)).scalars().all() == [
            "loaded", "refused"]


def test_failed_sends_exit_1_with_one_line_and_keep_the_results(engine, nightly_settings, tmp_path):
    extract(tmp_path / "a", people=40, seed=1)
    settings = nightly_settings.replace(**{
        "touchpoints.transport": "smtp", "touchpoints.smtp_host": "127.0.0.1", **LA_DETAILS,
        "touchpoints.smtp_port": 9, "touchpoints.smtp_security": "none", "touchpoints.max_attempts": 1,
    })
    # Sent on the night itself (dispatch sets aside what is stale on the day it runs).
    outcome = execute_job("nightly", settings, AS_OF, engine=engine,
                          now=datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc))
    failed = outcome.counts["touchpoints_dispatch"]["failed"]
    assert failed > 0 and (outcome.status, outcome.exit_code) == ("failed", 1)
    assert outcome.error == f"{failed} touchpoint sends failed"
    assert state(engine)["results"] == outcome.counts["check"]["results"]


@pytest.mark.parametrize("step", ["ingest", "check"])
def test_killed_in_the_middle_of_a_step_then_the_next_run_succeeds(engine, db_url, tmp_path, cli_env, step):
    extract(tmp_path / "a", people=40, seed=1)
    extract(tmp_path / "b", people=60, seed=2)
    config = tmp_path / "config.toml"

    def use_source(name: str) -> dict:
        toml_config(config, source=str(tmp_path / name),
                    extra=TOUCHPOINTS.format(outbox=tmp_path / "outbox"))
        return dict(cli_env, EHCP_CONFIG=str(config))

    first = run_cli(["run", "nightly", "--as-of", AS_OF.isoformat()], use_source("a"), tmp_path)
    assert first.returncode == 0, first.stderr
    before = state(engine)

    env = use_source("b")
    paused = dict(env, EHCP_TEST_PAUSE=f"{step}:write", EHCP_TEST_PAUSE_MARKER=str(tmp_path / "paused"))
    victim = start_cli(["run", "nightly", "--as-of", AS_OF.isoformat()], paused, tmp_path, tmp_path / "v.log")
    try:
        wait_for((tmp_path / "paused").exists, 120, f"the run to be in the middle of its {step}")
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
    finally:
        victim.kill()
    if step == "ingest":
        assert state(engine) == before
    else:  # the new snapshot was committed by the ingest; the results are the previous ones
        after = state(engine)
        assert {k: after[k] for k in ("results", "results_run", "check_runs")} == {
            k: before[k] for k in ("results", "results_run", "check_runs")}
    [killed] = [r for r in runs.runs_of(engine, "nightly") if r.status == "running"]

    again = run_cli(["run", "nightly", "--as-of", AS_OF.isoformat()], env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert runs.get_run(engine, killed.run_id).status == "abandoned"
    after = state(engine)
    assert len(after["people"]) == 60 and after["check_runs"] == before["check_runs"] + 1
    assert after["results_run"] != before["results_run"]


def test_the_other_jobs_run_on_the_nightly_results(engine, nightly_settings, tmp_path):
    extract(tmp_path / "a", people=40, seed=1)
    settings = nightly_settings.replace(**{
        "late_list.out_dir": str(tmp_path / "late"), "board_pack.out_dir": str(tmp_path / "pack"),
        "late_list.recipients": ["head.of.send@example.gov.uk"],
    })
    assert execute_job("nightly", settings, AS_OF, engine=engine).exit_code == 0

    weekly = execute_job("weekly_late_list", settings, AS_OF, engine=engine)
    assert (weekly.status, weekly.exit_code) == ("success", 0), weekly.error
    built = weekly.counts["late_list_build"]
    assert all((tmp_path / "late").joinpath(Path(built[k]).name).exists()
               for k in ("html_path", "xlsx_path", "csv_path"))
    assert "text" not in built  # the email body is not a count
    assert weekly.counts["late_list_send"]["sent"] == 1

    dispatch = execute_job("dispatch_touchpoints", settings, AS_OF, engine=engine)
    assert (dispatch.status, dispatch.counts["touchpoints_dispatch"]["sent"]) == ("success", 0)  # all sent

    pack = execute_job("board_pack", settings, AS_OF, engine=engine)
    assert (pack.status, pack.exit_code) == ("success", 0), pack.error
    assert pack.counts["board_pack_build"]["period"] == "2026-02"
    assert list((tmp_path / "pack").glob("*2026-02*.pdf"))


def test_a_late_list_that_cannot_be_sent_exits_1(engine, nightly_settings, tmp_path):
    extract(tmp_path / "a", people=40, seed=1)
    assert execute_job("nightly", nightly_settings, AS_OF, engine=engine).exit_code == 0
    settings = nightly_settings.replace(**{
        "late_list.out_dir": str(tmp_path / "late"), "late_list.recipients": ["head.of.send@example.gov.uk"],
        "touchpoints.transport": "smtp", "touchpoints.smtp_host": "127.0.0.1", "touchpoints.smtp_port": 9,
        "touchpoints.smtp_security": "none",
    })
    weekly = execute_job("weekly_late_list", settings, AS_OF, engine=engine)
    assert (weekly.status, weekly.exit_code) == ("failed", 1)
    assert weekly.error == "the late list could not be sent to 1 recipients"
    assert weekly.counts["late_list_build"]["report_run_id"]  # built and kept, only the send failed
