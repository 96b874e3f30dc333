"""Case records never lie about on disk: the SQLite store and its side files are owner-only, bulk
writes stage in a private folder beside the store, every exit path deletes what it staged, and a
run killed with -9 leaves nothing that the next run does not delete before it starts.

The permission tests are SQLite's alone (PostgreSQL keeps no file of ours); the crash tests run on
both databases.
"""

import os
import signal
import stat
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ehcp_monitor.db import bulk, staging
from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.migrate import upgrade_head
from ehcp_monitor.db.snapshot import stored_schema
from ehcp_monitor.synthetic import generate, write_extract

AS_OF = date(2025, 3, 14)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _people(n: int) -> pl.DataFrame:
    return pl.DataFrame({
        "person_id": [f"P{i}" for i in range(n)], "date_of_birth": [date(2015, 1, 1)] * n,
        "forename": ["Ann"] * n, "surname": ["Lee"] * n, "upn": [None] * n, "postcode": ["AB1 2CD"] * n,
    }, schema=stored_schema("people"))


def _side_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".lock")] if root.exists() else []


@pytest.fixture
def loose_umask():
    before = os.umask(0o022)
    yield
    os.umask(before)


@pytest.fixture
def sqlite_store(tmp_path, loose_umask):
    path = tmp_path / "store.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_head(engine)
    yield engine, path
    engine.dispose()


def test_the_store_and_its_wal_and_shm_are_owner_only(sqlite_store):
    engine, path = sqlite_store
    with engine.begin() as conn:
        bulk.write_frame(conn, "people", _people(10))
        for suffix in ("", "-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            assert side.exists() and _mode(side) == 0o600, (suffix, oct(_mode(side)))


def test_a_store_made_world_readable_before_is_tightened_when_opened(tmp_path, loose_umask):
    path = tmp_path / "old.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_head(engine)
    engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        if path.with_name(path.name + suffix).exists():
            os.chmod(path.with_name(path.name + suffix), 0o644)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM people").scalar_one()
        for suffix in ("", "-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            assert not side.exists() or _mode(side) == 0o600, suffix
    engine.dispose()


def test_side_files_are_private_beside_the_store_and_gone_after_the_write(sqlite_store):
    engine, path = sqlite_store
    root = staging.staging_root(path)
    with engine.begin() as conn:
        bulk.write_frame(conn, "people", _people(bulk.STAGE_MIN_ROWS))
        staged = [Path(p) for _, p in bulk.staged_aliases(conn)]
        assert staged and all(root in p.parents for p in staged)
        assert _mode(root) == 0o700 and all(_mode(p.parent) == 0o700 for p in staged)
        # SQLite gives a side file's journal the side file's own mode.
        assert all(_mode(p) == 0o600 for p in staged)
    assert not _side_files(root)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM people").scalar_one() == bulk.STAGE_MIN_ROWS


def test_a_side_file_journal_is_owner_only_while_it_is_written(tmp_path, loose_umask):
    import adbc_driver_sqlite.dbapi as adbc

    store = tmp_path / "store.sqlite3"
    path = staging.side_file(store)
    with adbc.connect(path) as side:
        with side.cursor() as cursor:
            cursor.adbc_ingest("people", _people(50_000), mode="create")
            files = list(Path(path).parent.iterdir())
            assert Path(f"{path}-journal") in files  # the write is still open
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        side.commit()
    staging.remove(path)


def test_a_failed_write_and_a_dropped_connection_leave_no_side_file(sqlite_store):
    engine, path = sqlite_store
    root = staging.staging_root(path)
    bad = _people(bulk.STAGE_MIN_ROWS).with_columns(pl.lit(None, pl.Utf8).alias("person_id"))
    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            bulk.write_frame(conn, "people", bad)  # NOT NULL fails in the side file
    assert not _side_files(root)
    conn = engine.connect()
    trans = conn.begin()
    bulk.write_frame(conn, "people", _people(bulk.STAGE_MIN_ROWS))
    assert _side_files(root)
    conn.invalidate()  # the pool drops the connection: its record forgets what it staged
    trans.rollback()
    conn.close()
    assert not _side_files(root)


def test_a_sweep_deletes_a_dead_process_leftovers_and_spares_a_live_one(tmp_path):
    store = tmp_path / "store.sqlite3"
    root = staging.staging_root(store)
    script = (
        "import sys, time; from pathlib import Path; from ehcp_monitor.db import staging;"
        "p = staging.side_file(Path(sys.argv[1])); Path(p).write_bytes(b'case data');"
        "print(p, flush=True); time.sleep(120)"
    )
    processes = [subprocess.Popen([sys.executable, "-c", script, str(store)], stdout=subprocess.PIPE, text=True)
                 for _ in range(2)]
    try:
        dead, live = [Path(p.stdout.readline().strip()) for p in processes]
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait(30)
        assert dead.exists() and live.exists()
        assert staging.sweep(root) == 1
        assert not dead.exists() and not dead.parent.exists() and live.exists()
    finally:
        for p in processes:
            p.kill()
            p.wait(30)
    assert staging.sweep(root) == 1 and not _side_files(root)


# --- kill -9 in the middle of a real ingest or check ----------------------------------------


def _env(db_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EHCP_")}
    env["EHCP_DATABASE_URL"] = db_url
    return env


def _cli(args, env, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ehcp_monitor", *args, "--as-of", AS_OF.isoformat()],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def _extract(folder: Path, people: int) -> Path:
    write_extract(generate(people, 1, AS_OF), folder, "csv")
    return folder


def _mid_write(engine, table: str):
    """True once the run under test is inside its write: side files staged (SQLite), or the
    table emptied by its uncommitted TRUNCATE (PostgreSQL)."""
    if engine.dialect.name == "sqlite":
        root = staging.staging_root(Path(engine.url.database))
        return lambda: any(p.suffix == ".sqlite3" for p in _side_files(root))

    def truncated() -> bool:
        with engine.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE relation = to_regclass(:t) AND mode = 'AccessExclusiveLock' "
                "AND granted"), {"t": table}).scalar_one())
    return truncated


def _kill_mid_write(args, env, cwd, ready) -> None:
    process = subprocess.Popen([sys.executable, "-m", "ehcp_monitor", *args, "--as-of", AS_OF.isoformat()],
                               env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not ready():
            assert process.poll() is None, "the run ended before it was caught writing"
            assert time.monotonic() < deadline, "timed out waiting for the run to write"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(30)


def _count(engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar_one()


def test_a_check_killed_mid_write_keeps_the_results_and_the_next_run_cleans_up(db_url, tmp_path):
    env = _env(db_url)
    extract = _extract(tmp_path / "extract", 5000)
    assert _cli(["ingest", str(extract)], env, tmp_path).returncode == 0
    first = _cli(["check"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    engine = make_engine(db_url)
    results = _count(engine, "SELECT count(*) FROM check_results")
    assert results > bulk.STAGE_MIN_ROWS  # so that SQLite stages them

    _kill_mid_write(["check"], env, tmp_path, _mid_write(engine, "check_results"))
    # The killed run committed nothing: the first run's results are there, whole.
    assert _count(engine, "SELECT count(*) FROM check_results") == results
    assert _count(engine, "SELECT count(DISTINCT run_id) FROM check_results") == 1
    assert _count(engine, "SELECT count(*) FROM check_runs") == 1

    again = _cli(["check"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert _count(engine, "SELECT count(*) FROM check_results") == results
    if engine.dialect.name == "sqlite":
        assert not _side_files(staging.staging_root(Path(engine.url.database)))
    engine.dispose()


def test_an_ingest_killed_mid_write_keeps_the_snapshot_and_the_next_run_cleans_up(db_url, tmp_path):
    env = _env(db_url)
    assert _cli(["ingest", str(_extract(tmp_path / "small", 2000))], env, tmp_path).returncode == 0
    engine = make_engine(db_url)
    larger = _extract(tmp_path / "large", 7000)  # advice passes STAGE_MIN_ROWS: SQLite stages it

    _kill_mid_write(["ingest", str(larger)], env, tmp_path, _mid_write(engine, "people"))
    if engine.dialect.name == "sqlite":
        # What the issue found: the crash leaves copies of case records behind...
        assert _side_files(staging.staging_root(Path(engine.url.database)))
    assert _count(engine, "SELECT count(*) FROM people") == 2000
    assert _count(engine, "SELECT ingest_id FROM snapshot_info") == 1

    # ...and the next run deletes them before it starts, then loads.
    again = _cli(["ingest", str(larger)], env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert _count(engine, "SELECT count(*) FROM people") == 7000
    if engine.dialect.name == "sqlite":
        assert not _side_files(staging.staging_root(Path(engine.url.database)))
    engine.dispose()


def test_a_nightly_run_killed_mid_write_is_abandoned_and_the_next_one_cleans_up_and_succeeds(db_url, tmp_path):
    from ehcp_monitor.scheduling import runs
    from tests.scheduling.conftest import toml_config

    env = _env(db_url)
    # No surge hold: a first nightly of 5000 people queues more emails than a new store holds back.
    env["EHCP_CONFIG"] = str(toml_config(tmp_path / "config.toml", source=str(_extract(tmp_path / "x", 5000)),
                                         extra="[touchpoints]\nhold_above = 1000000\n"))
    engine = make_engine(db_url)
    upgrade_head(engine)
    # Killed inside its check (SQLite: while the results are staged; PostgreSQL: mid-TRUNCATE).
    _kill_mid_write(["run", "nightly"], env, tmp_path, _mid_write(engine, "check_results"))
    assert _count(engine, "SELECT count(*) FROM check_runs") == 0
    assert _count(engine, "SELECT count(*) FROM check_results") == 0
    assert _count(engine, "SELECT ingest_id FROM snapshot_info") == 1  # the ingest step had committed

    again = _cli(["run", "nightly"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    killed, latest = sorted(runs.runs_of(engine, "nightly"), key=lambda r: r.started_at)
    assert (killed.status, latest.status) == ("abandoned", "success")
    assert _count(engine, "SELECT count(*) FROM check_results") > bulk.STAGE_MIN_ROWS
    if engine.dialect.name == "sqlite":
        assert not _side_files(staging.staging_root(Path(engine.url.database)))
    engine.dispose()
