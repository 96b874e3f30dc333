"""A config or store URL that cannot work stops every command at start: exit 2, one line naming
the key (or EHCP_DATABASE_URL), never a password and never a traceback. A busy SQLite store is
exit 4, "busy", not "cannot be reached" (issue 15, items 7-9)."""

import os
import subprocess
import sys
import threading

import pytest
import sqlalchemy
from sqlalchemy import create_engine, text

from ehcp_monitor import config
from ehcp_monitor.cli import main
from ehcp_monitor.errors import EXIT_LOCKED, EXIT_USAGE, ConfigError, StoreBusy, store_failure

SECRET = "s3cr3t-Pa55"


def _cli(args, tmp_path, env_url=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if k not in ("EHCP_CONFIG", "EHCP_DATABASE_URL")}
    if env_url is not None:
        env["EHCP_DATABASE_URL"] = env_url
    return subprocess.run([sys.executable, "-m", "ehcp_monitor", *args], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=timeout)


def _one_line(proc) -> str:
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


BAD_CONFIGS = [
    ('[schedule]\ntimezone = "Mars/Olympus"\n', "schedule.timezone must be an IANA time zone name"),
    ('[schedule]\ntimezone = "../../etc/passwd"\n', "schedule.timezone must be an IANA time zone name"),
    ('[schedule]\ntimezone = ""\n', "schedule.timezone must be an IANA time zone name"),
    ('[touchpoints]\nfrom_address = "send@example.gov.uk\\r\\nBcc: all@example.org"\n',
     "touchpoints.from_address must be one email address on one line"),
    ('[touchpoints]\nfrom_address = "send@example.gov.uk, other@example.gov.uk"\n',
     "touchpoints.from_address must be a single email address"),
    ('[touchpoints]\nfrom_address = "not an address"\n', "touchpoints.from_address must be a single email address"),
    ('[touchpoints]\nreply_to = "replies@example.gov.uk\\nX-Evil: 1"\n',
     "touchpoints.reply_to must be one email address on one line"),
    ('[touchpoints]\nteam_email = "team@example.gov.uk\\u0000"\n', "touchpoints.team_email must be one email"),
    ('[ingest.review_outcome_codes]\nR = "renew"\n', "ingest.review_outcome_codes.R must be maintain, amend or cease"),
    (f'[database]\nurl = "postgresql://ehcp:{SECRET}@db.internal/ehcp"\n',
     "database.url must not contain a password; passwords come only from the environment"),
    (f'[database]\nurl = "postgresql://ehcp@db.internal/ehcp?password={SECRET}"\n',
     "database.url must not contain a password"),
    (f'[database]\nurl = "postgresql://ehcp@db.internal/ehcp?sslmode=require&PASSWORD={SECRET}"\n',
     "database.url must not contain a password"),
    (f'[database]\nurl = "postgresql://ehcp:{SECRET}@db.internal:port/ehcp"\n', "database.url is not a database URL"),
    (f'[database]\nurl = "mysql://ehcp:{SECRET}@db.internal/ehcp"\n', "database.url names a database or driver"),
    ('[database]\nurl = "postgresql://ehcp@db.internal:70000/ehcp"\n', "database.url has a port outside 1-65535"),
]


def _main(args, capsys) -> tuple[int, str, str]:
    """The real command line, in-process (much faster than a subprocess per case)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(args)
    out = capsys.readouterr()
    return done.value.code or 0, out.out, out.err


COMMANDS = [["rules"], ["jobs"], ["health"], ["init-db"], ["quarantine"], ["ingest", "nowhere"], ["run", "nightly"],
            ["check", "--as-of", "2025-03-14"], ["touchpoints", "list"], ["report", "late-list"]]


@pytest.mark.parametrize("content, message", BAD_CONFIGS, ids=[m.split()[0] + f"-{i}" for i, (_, m)
                                                              in enumerate(BAD_CONFIGS)])
@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] if c[0] != "run" else "run" for c in COMMANDS])
def test_a_config_that_cannot_work_stops_every_command_at_start(tmp_path, content, message, command, capsys,
                                                                 monkeypatch):
    monkeypatch.delenv("EHCP_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # nothing may be created here: the command stops first
    (tmp_path / "config.toml").write_text(content, encoding="utf-8")
    code, out, err = _main(["--config", str(tmp_path / "config.toml"), *command], capsys)
    assert code == EXIT_USAGE, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("{")]
    assert len(lines) == 1 and lines[0].startswith(f"ehcp-monitor: config: {message}"), err
    assert SECRET not in out + err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


@pytest.mark.parametrize("codes", [{"R": "amend"}, {"R": "Maintain", "X": " cease "}])
def test_review_outcome_codes_that_map_to_an_outcome_are_accepted(codes):
    assert config.parse({"ingest": {"review_outcome_codes": codes}})["ingest.review_outcome_codes"] == codes


@pytest.mark.parametrize("address", ["send@example.gov.uk", "SEN team <send@example.gov.uk>"])
def test_a_single_address_with_or_without_a_display_name_is_accepted(address):
    assert config.parse({"touchpoints": {"from_address": address}})["touchpoints.from_address"] == address


def test_settings_replace_checks_the_same_way():
    with pytest.raises(ConfigError, match="schedule.timezone"):
        config.defaults().replace(**{"schedule.timezone": "Mars/Olympus"})


BAD_URLS = [
    ("not a url", "is not a database URL"),
    (f"postgresql://u:{SECRET}@h:abc/db", "is not a database URL"),
    (f"postgresql://u:{SECRET}@[::1/db", "is not a database URL"),
    (f"postgresql://u:{SECRET}@127.0.0.1:99999/db", "has a port outside 1-65535"),
    (f"mysql://u:{SECRET}@h/db", "names a database or driver the store cannot use"),
    (f"postgresql+nodriver://u:{SECRET}@h/db", "names a database or driver the store cannot use"),
    (f"postgresql+psycopg2://u:{SECRET}@h/db", "names a database or driver the store cannot use"),
    ("sqlite+pysqlcipher:///x.db", "names a database or driver the store cannot use"),
]


@pytest.mark.parametrize("url, message", BAD_URLS, ids=[u.split(":")[0] + f"-{i}" for i, (u, _) in enumerate(BAD_URLS)])
def test_a_bad_url_from_the_environment_is_one_line_naming_it(tmp_path, url, message):
    proc = _cli(["init-db"], tmp_path, env_url=url)
    assert proc.returncode == EXIT_USAGE
    assert _one_line(proc) == f"ehcp-monitor: config: EHCP_DATABASE_URL {message}" + (
        " (postgresql://user@host:5432/database or sqlite:///path/file.sqlite3; a port must be a number)"
        if message == "is not a database URL" else "; use postgresql:// or sqlite:///" if "driver" in message else "")
    assert SECRET not in proc.stderr


@pytest.mark.parametrize("url", [
    f"postgresql://postgres:{SECRET}@127.0.0.1:1/test",  # nothing listens there
    f"postgresql://postgres:{SECRET}@127.0.0.1:5432/test?bogus_option=1",  # refused by the driver at connect
    "sqlite:////nonexistent-folder/store.sqlite3",
])
def test_a_store_that_cannot_be_reached_is_one_line_without_the_password(tmp_path, url):
    proc = _cli(["init-db"], tmp_path, env_url=url)
    assert proc.returncode == EXIT_USAGE
    line = _one_line(proc)
    assert line.startswith("ehcp-monitor: the store cannot be reached (")
    assert SECRET not in proc.stderr


def _locked_error(tmp_path) -> sqlalchemy.exc.OperationalError:
    """A real "database is locked" from SQLite: one connection holds the write lock, another
    (with no busy wait) tries to write."""
    url = f"sqlite:///{tmp_path / 'busy.sqlite3'}"
    holder = create_engine(url)
    other = create_engine(url, connect_args={"timeout": 0})
    with holder.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.commit()
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        try:
            with other.begin() as busy:
                busy.execute(text("INSERT INTO t VALUES (2)"))
        except sqlalchemy.exc.OperationalError as exc:
            return exc
        finally:
            conn.rollback()
            holder.dispose()
            other.dispose()
    raise AssertionError("the second writer was not refused")


def test_sqlite_busy_is_store_busy_exit_4(tmp_path):
    failure = store_failure(_locked_error(tmp_path))
    assert isinstance(failure, StoreBusy)
    assert failure.exit_code == EXIT_LOCKED
    assert str(failure).startswith("the store is busy")


def test_an_unreachable_store_is_exit_2():
    exc = sqlalchemy.exc.OperationalError("connect", {}, OSError("connection refused"))
    failure = store_failure(exc)
    assert failure.exit_code == EXIT_USAGE
    assert "cannot be reached" in str(failure)


def test_ingest_into_a_store_another_process_is_writing_says_busy(tmp_path):
    """Through the real command: a writer holds the store past SQLite's 30 s busy wait."""
    store = tmp_path / "store.sqlite3"
    url = f"sqlite:///{store}"
    assert _cli(["init-db"], tmp_path, env_url=url).returncode == 0
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "people.csv").write_text("person_id,date_of_birth\nP1,2015-04-01\n")
    (tmp_path / "src" / "requests.csv").write_text("request_id,person_id,received_date,request_outcome\n"
                                                   "R1,P1,2025-01-06,A\n")
    holder = create_engine(url)
    conn = holder.connect()
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    conn.exec_driver_sql("CREATE TABLE held (x INTEGER)")
    release = threading.Timer(60, conn.rollback)
    release.start()
    try:
        proc = _cli(["ingest", str(tmp_path / "src"), "--as-of", "2025-03-14"], tmp_path, env_url=url, timeout=90)
    finally:
        release.cancel()
        conn.rollback()
        conn.close()
        holder.dispose()
    assert proc.returncode == EXIT_LOCKED, proc.stderr
    assert _one_line(proc) == ("ehcp-monitor: the store is busy: another process is writing to it; "
                               "try again when it has finished")
