"""Connecting to the store: an embedded SQLite file by default, PostgreSQL in production."""

import os
from pathlib import Path

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError

from ehcp_monitor.config import Settings
from ehcp_monitor.db import staging
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.private_files import tighten

# The store's dialects and drivers: SQLite from the standard library, PostgreSQL through psycopg 3.
STORE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg")
URL_SETTING = "EHCP_DATABASE_URL or database.url"
NOT_A_FILE = "names a folder, not a database file (sqlite:///path/file.sqlite3)"


def url_problem(url: str) -> str | None:
    """What is wrong with a store URL, in words that never quote it (it may carry a password)."""
    try:
        parsed = make_url(url)
        port = parsed.port
    except Exception:  # ArgumentError, or ValueError for a port that is not a number
        return ("is not a database URL (postgresql://user@host:5432/database or sqlite:///path/file.sqlite3; "
                "a port must be a number)")
    if parsed.drivername not in STORE_DRIVERS:
        return "names a database or driver the store cannot use; use postgresql:// or sqlite:///"
    if port is not None and not 0 < port < 65536:
        return "has a port outside 1-65535"
    postgres = parsed.get_backend_name() in ("postgresql", "postgres")
    problem = _postgres_ports_problem(parsed) if postgres else _sqlite_path_problem(parsed)
    if problem:
        return problem
    # The driver's own reading of the options, which SQLAlchemy does only on the first connect,
    # and then with a traceback that quotes them.
    driver = parsed.set(drivername="postgresql+psycopg") if postgres else parsed
    try:
        driver.get_dialect()().create_connect_args(driver)
    except (ArgumentError, ValueError, TypeError):
        return ("has host and port options that do not fit together (give one port per host, in one form)"
                if postgres else "has an option the database driver cannot read")
    return None


def _query_values(parsed: URL, key: str) -> list[str]:
    """A query option's values, repeated (`?host=a&host=b`) or comma-separated (`?host=a,b`)."""
    value = parsed.query.get(key, ())
    return [part for item in ((value,) if isinstance(value, str) else value) for part in item.split(",")]


def _postgres_ports_problem(parsed: URL) -> str | None:
    """Ports in `?port=` and in `?host=name:port` (libpq's multi-host forms)."""
    ports = _query_values(parsed, "port")
    ports += [host.rsplit(":", 1)[1] for host in _query_values(parsed, "host") if ":" in host]
    for port in filter(None, (p.strip() for p in ports)):
        if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
            return "has a port option that is not a number in 1-65535"
    return None


def _sqlite_path_problem(parsed: URL) -> str | None:
    database = parsed.database
    if not database or database == ":memory:" or parsed.query.get("uri"):
        return None
    path = Path(database)
    try:
        return NOT_A_FILE if not path.name or path.is_dir() else None
    except OSError:  # a folder we may not look into: SQLite says so when it connects
        return None


def password_in_url(url: str) -> bool:
    """A password in the user part, or as a `password=` query parameter (libpq reads both)."""
    try:
        parsed = make_url(url)
    except Exception:
        return False
    return bool(parsed.password) or "password" in {k.lower() for k in parsed.query}


def database_url(settings: Settings) -> str:
    """`$EHCP_DATABASE_URL`, else `database.url`, else the embedded SQLite file."""
    from_env = os.environ.get("EHCP_DATABASE_URL")
    url = from_env or settings.database.url
    setting = "EHCP_DATABASE_URL" if from_env else "database.url"
    if url and (problem := url_problem(url)):
        raise ConfigError(f"config: {setting} {problem}")
    if url and not from_env and password_in_url(url):
        # Secrets come only from the environment (docs/configuration.md, Environment variables).
        raise ConfigError("config: database.url must not contain a password; passwords come only from the "
                          "environment (EHCP_DATABASE_URL, PGPASSWORD or ~/.pgpass)")
    if url:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    path = Path(settings.database.sqlite_path)
    if not path.name or path.is_dir():
        raise ConfigError("config: database.sqlite_path names a folder, not a database file (path/file.sqlite3)")
    return f"sqlite:///{path.resolve()}"


def _private_store(engine: Engine) -> None:
    """An SQLite store holds case records: create it owner-only (0600), tighten one made before,
    and delete the staging leftovers of a crashed run (db.staging) before this run begins."""
    database = sqlite_file(engine)
    if database is None or str(database) in ("", ":memory:") or not database.parent.is_dir():
        return
    # Only a file of ours is created or tightened: never a folder or device the URL happens to name.
    if not database.name or (database.exists() and not database.is_file()):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError:  # a folder we cannot write to: SQLite reports it when it connects
        return
    # SQLite gives -wal, -shm and -journal the database file's own mode when it creates them.
    for suffix in ("", "-wal", "-shm", "-journal"):
        tighten(database.with_name(database.name + suffix))
    staging.sweep(staging.staging_root(database))


def make_engine(url: str) -> Engine:
    problem = url_problem(url)
    if problem:
        raise ConfigError(f"config: the store URL ({URL_SETTING}) {problem}")
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        # hide_parameters: a failed statement's error never carries its values (case data).
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _private_store(engine)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # pysqlite's own transaction handling would defer BEGIN; take control of it so a
            # snapshot replace is one real transaction.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN")

        @event.listens_for(engine, "checkin")
        def _sqlite_release_staged(dbapi_connection, record):
            # Bulk writes attach side files that SQLite can only detach outside a transaction.
            staging.release_staged(dbapi_connection, record.info)

        @event.listens_for(engine, "invalidate")
        def _sqlite_release_dropped(_dbapi_connection, record, _exception):
            # A dropped connection's record forgets what it staged: delete the files first.
            staging.release_staged(None, record.info)

        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    raise ConfigError(f"config: the store URL ({URL_SETTING}) must be sqlite:/// or postgresql://")


def engine_for(settings: Settings) -> Engine:
    return make_engine(database_url(settings))


def is_postgres(engine_or_conn) -> bool:
    return engine_or_conn.dialect.name == "postgresql"


def sqlite_file(engine: Engine) -> Path | None:
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    return Path(engine.url.database)
