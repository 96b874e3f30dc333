"""Results always belong to the snapshot in force: ingest and check hold the store lock alone, the
jobs that read results hold it shared, and those jobs refuse results of a replaced snapshot."""

import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ehcp_monitor import config
from ehcp_monitor.board_pack.kpis import read_inputs
from ehcp_monitor.checks import run_check
from ehcp_monitor.db.in_force import StaleResults
from ehcp_monitor.db.locks import store_lock
from ehcp_monitor.db.models import CheckRun, SnapshotInfo
from ehcp_monitor.errors import LockHeld
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.late_list.inputs import load_inputs
from ehcp_monitor.synthetic import generate, write_extract
from ehcp_monitor.touchpoints import plan_touchpoints

AS_OF = date(2025, 3, 14)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def extract(tmp_path) -> Path:
    folder = tmp_path / "extract"
    write_extract(generate(300, 1, AS_OF), folder, "csv")
    return folder


def _snapshot_ingest(engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(SnapshotInfo.ingest_id)).scalar()


def test_the_store_lock_is_alone_for_writers_and_shared_for_readers(engine):
    with store_lock(engine, "check"):
        for shared in (False, True):
            with pytest.raises(LockHeld, match="^ingest: another run is using the store"):
                with store_lock(engine, "ingest", shared=shared):
                    pass
    with store_lock(engine, "late list", shared=True):
        with store_lock(engine, "touchpoints plan", shared=True):  # readers side by side
            with pytest.raises(LockHeld):
                with store_lock(engine, "check"):
                    pass
    with store_lock(engine, "check"):  # released
        pass


def test_no_ingest_or_check_while_a_job_reads_results_and_no_reader_during_either(engine, extract):
    settings = config.defaults()
    first = run_ingest(engine, settings, str(extract), as_of=AS_OF)
    with store_lock(engine, "late list", shared=True):
        with pytest.raises(LockHeld):
            run_ingest(engine, settings, str(extract), as_of=AS_OF)
        with pytest.raises(LockHeld):
            run_check(engine, settings, as_of=AS_OF)
    assert _snapshot_ingest(engine) == first.ingest_id
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CheckRun)).scalar_one() == 0
    with store_lock(engine, "check"):
        with pytest.raises(LockHeld):
            plan_touchpoints(engine, settings, as_of=AS_OF)


def test_results_of_a_replaced_snapshot_are_refused_by_every_job_that_reads_them(engine, extract):
    settings = config.defaults()
    first = run_ingest(engine, settings, str(extract), as_of=AS_OF)
    summary = run_check(engine, settings, as_of=AS_OF)
    assert summary.ingest_id == first.ingest_id
    with engine.connect() as conn:
        assert conn.execute(select(CheckRun.ingest_id)).scalar_one() == first.ingest_id
    second = run_ingest(engine, settings, str(extract), as_of=AS_OF)  # no check after it

    expected = (f"results are from ingest #{first.ingest_id}, the snapshot in force is "
                f"#{second.ingest_id}: run `ehcp-monitor check` first")
    for what, job in (("touchpoints plan", lambda: plan_touchpoints(engine, settings, as_of=AS_OF)),
                      ("late list", lambda: load_inputs(engine, as_of=AS_OF)),
                      ("board pack", lambda: read_inputs(engine))):
        with pytest.raises(StaleResults) as refused:
            job()
        assert str(refused.value) == f"{what}: {expected}"
        assert refused.value.exit_code == 1

    run_check(engine, settings, as_of=AS_OF)
    plan_touchpoints(engine, settings, as_of=AS_OF)
    assert load_inputs(engine, as_of=AS_OF).results.height
    assert read_inputs(engine).results.height


# --- real processes: a check paused inside its transaction ----------------------------------


def _cli(args, env, cwd, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ehcp_monitor", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def test_an_ingest_during_a_check_exits_4_with_one_line_and_changes_nothing(db_url, tmp_path, extract):
    from ehcp_monitor.db.connect import make_engine
    from tests.scheduling.conftest import toml_config, wait_for

    env = {k: v for k, v in os.environ.items() if not k.startswith("EHCP_")}
    env["EHCP_DATABASE_URL"] = db_url
    env["EHCP_CONFIG"] = str(toml_config(tmp_path / "config.toml", source=str(extract)))
    loaded = _cli(["ingest", str(extract), "--as-of", AS_OF.isoformat()], env, tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    marker = tmp_path / "paused"
    paused = dict(env, EHCP_TEST_PAUSE="check:write", EHCP_TEST_PAUSE_MARKER=str(marker))
    nightly = subprocess.Popen([sys.executable, "-m", "ehcp_monitor", "run", "nightly", "--as-of",
                                AS_OF.isoformat()], env=paused, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = make_engine(db_url)
    try:
        wait_for(marker.exists, 120, "the nightly check to be inside its transaction")
        in_check = _snapshot_ingest(engine)
        for args in (["ingest", str(extract)], ["touchpoints", "plan"], ["check"]):
            refused = _cli([*args, "--as-of", AS_OF.isoformat()], env, tmp_path, timeout=60)
            assert refused.returncode == 4, (args, refused.stderr)
            assert refused.stderr.count("\n") == 1 and "another run is using the store" in refused.stderr
            assert "Traceback" not in refused.stderr
        assert _snapshot_ingest(engine) == in_check
    finally:
        nightly.send_signal(signal.SIGKILL)
        nightly.wait(30)
    # The killed check left no lock behind.
    again = _cli(["check", "--as-of", AS_OF.isoformat()], env, tmp_path)
    assert again.returncode == 0, again.stderr
    engine.dispose()
