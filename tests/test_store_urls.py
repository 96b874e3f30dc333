"""Store URLs that SQLAlchemy or the driver would refuse with a traceback, and SQLite URLs that name
a folder: each is one line at start, exit 2, naming the setting and never repeating the URL; a folder
the URL names is left exactly as it was. A failed statement never shows its bound values."""

import os
import subprocess
import sys

import pytest
import sqlalchemy
from sqlalchemy import text

from ehcp_monitor.cli import main
from ehcp_monitor.db.connect import make_engine, url_problem
from ehcp_monitor.errors import EXIT_USAGE, ConfigError
from ehcp_monitor.private_files import tighten

SECRET = "s3cr3t-Pa55"
PG = f"postgresql://postgres:{SECRET}@127.0.0.1:5432/test"
PORT = "has a port option that is not a number in 1-65535"
HOSTS_AND_PORTS = "has host and port options that do not fit together"
FOLDER = "names a folder, not a database file"


def _cli(args, cwd, env_url):
    env = {k: v for k, v in os.environ.items() if k not in ("EHCP_CONFIG", "EHCP_DATABASE_URL")}
    env["EHCP_DATABASE_URL"] = env_url
    return subprocess.run([sys.executable, "-m", "ehcp_monitor", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def _one_line(proc) -> str:
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


BAD_URLS = [
    (f"{PG}?port=abc", PORT),
    (f"{PG}?port=5432,70000", PORT),
    (f"{PG}?port=0", PORT),
    (f"postgresql://postgres:{SECRET}@/test?host=a:5432&host=b:x", PORT),
    (f"{PG}?port=5432&port=5433", HOSTS_AND_PORTS),
    (f"postgresql://postgres:{SECRET}@/test?host=a:5432&host=b:5433&port=5434", HOSTS_AND_PORTS),
    (f"postgresql://postgres:{SECRET}@/test?host=a,b,c&port=5432,5433", HOSTS_AND_PORTS),
    (f"sqlite:///{SECRET}.sqlite3?timeout=abc", "has an option the database driver cannot read"),
    (f"sqlite:///{SECRET}.sqlite3?check_same_thread=perhaps", "has an option the database driver cannot read"),
]


@pytest.mark.parametrize("url, message", BAD_URLS, ids=[f"{u.split(':')[0]}-{i}" for i, (u, _) in enumerate(BAD_URLS)])
def test_a_url_option_the_driver_cannot_read_is_one_line_at_start(tmp_path, url, message):
    proc = _cli(["init-db"], tmp_path, url)
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert _one_line(proc).startswith(f"ehcp-monitor: config: EHCP_DATABASE_URL {message}")
    assert SECRET not in proc.stdout + proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", [
    f"{PG}?port=5432", f"{PG}?port=", "postgresql://postgres@/test?host=a:5432&host=b:5433",
    "postgresql://postgres@/test?host=a,b&port=5432,5433", "postgresql://postgres@/test?host=/var/run/postgresql",
    "sqlite:///store.sqlite3?timeout=5", "sqlite://", "sqlite:///:memory:",
])
def test_urls_the_driver_can_read_are_accepted(url):
    assert url_problem(url) is None


@pytest.fixture
def folder(tmp_path):
    """A folder of the operator's, group- and world-readable, that a store URL names by mistake."""
    path = tmp_path / "reports"
    path.mkdir()
    os.chmod(path, 0o755)
    return path


@pytest.mark.parametrize("form", ["absolute", "trailing-slash", "dot-slash"])
def test_a_sqlite_url_naming_a_folder_is_one_line_and_the_folder_is_untouched(folder, form):
    url, cwd = {"absolute": (f"sqlite:///{folder}", folder.parent),
                "trailing-slash": ("sqlite:///reports/", folder.parent),
                "dot-slash": ("sqlite:///./", folder)}[form]
    before = sorted(p.name for p in folder.parent.iterdir())

    proc = _cli(["init-db"], cwd, url)

    assert proc.returncode == EXIT_USAGE, proc.stderr
    line = _one_line(proc)
    assert line == f"ehcp-monitor: config: EHCP_DATABASE_URL {FOLDER} (sqlite:///path/file.sqlite3)"
    assert str(folder) not in proc.stderr
    assert oct(folder.stat().st_mode & 0o777) == oct(0o755)
    assert sorted(p.name for p in folder.parent.iterdir()) == before
    assert list(folder.iterdir()) == []


def test_make_engine_refuses_a_folder_and_leaves_its_mode(folder):
    with pytest.raises(ConfigError, match=f"^config: the store URL \\(EHCP_DATABASE_URL or database.url\\) {FOLDER}"):
        make_engine(f"sqlite:///{folder}")
    assert folder.stat().st_mode & 0o777 == 0o755


def test_tighten_leaves_a_folder_alone_and_tightens_a_file(folder):
    store = folder / "store.sqlite3"
    store.write_bytes(b"")
    os.chmod(store, 0o644)
    tighten(folder)
    tighten(store)
    assert folder.stat().st_mode & 0o777 == 0o755
    assert store.stat().st_mode & 0o777 == 0o600


def test_a_sqlite_path_setting_naming_a_folder_is_one_line_naming_it(folder, capsys, monkeypatch):
    monkeypatch.delenv("EHCP_DATABASE_URL", raising=False)
    monkeypatch.delenv("EHCP_CONFIG", raising=False)
    config_file = folder.parent / "config.toml"
    config_file.write_text(f'[database]\nsqlite_path = "{folder}"\n', encoding="utf-8")
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(["--config", str(config_file), "init-db"])
    err = capsys.readouterr().err
    assert done.value.code == EXIT_USAGE
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("{")]
    assert lines == ["ehcp-monitor: config: database.sqlite_path names a folder, not a database file "
                     "(path/file.sqlite3)"]
    assert folder.stat().st_mode & 0o777 == 0o755


@pytest.mark.parametrize("url", [f"{PG}?plugin=no_such_plugin", f"sqlite:///{SECRET}.sqlite3?plugin=no_such_plugin"],
                         ids=["postgresql", "sqlite"])
def test_an_argument_error_from_sqlalchemy_is_one_line_exit_2(tmp_path, url):
    proc = _cli(["init-db"], tmp_path, url)
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert _one_line(proc) == ("ehcp-monitor: config: the store URL (EHCP_DATABASE_URL or database.url) has "
                               "options the database driver cannot use (ArgumentError)")
    assert SECRET not in proc.stdout + proc.stderr


def test_a_failed_statement_never_shows_its_bound_values(db_url):
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn, pytest.raises(sqlalchemy.exc.DBAPIError) as failed:
            conn.execute(text("SELECT * FROM no_such_table WHERE name = :name"), {"name": "Zelphinia"})
    finally:
        engine.dispose()
    assert "no_such_table" in str(failed.value)
    assert "Zelphinia" not in str(failed.value)
    assert "parameters hidden" in str(failed.value)
