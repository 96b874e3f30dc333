"""Connecting to the store: an embedded SQLite file by default, PostgreSQL in production."""

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url

from ehcp_monitor.config import Settings
from ehcp_monitor.db import staging
from ehcp_monitor.db.bulk import release_staged
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.private_files import tighten


# The store's dialects and drivers: SQLite from the standard library, PostgreSQL through psycopg 3.
STORE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg")
URL_SETTING = "EHCP_DATABASE_URL or database.url"


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
        # Secrets come only from the environment (outputs.md section 1).
        raise ConfigError("config: database.url must not contain a password; passwords come only from the "
                          "environment (EHCP_DATABASE_URL, PGPASSWORD or ~/.pgpass)")
    if url:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return f"sqlite:///{Path(settings.database.sqlite_path).resolve()}"


def _private_store(engine: Engine) -> None:
    """An SQLite store holds case records: create it owner-only (0600), tighten one made before,
    and delete the staging leftovers of a crashed run (db.staging) before this run begins."""
    database = sqlite_file(engine)
    if database is None or str(database) in ("", ":memory:") or not database.parent.is_dir():
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
        engine = create_engine(url, connect_args={"timeout": 30})
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
            release_staged(dbapi_connection, record.info)

        @event.listens_for(engine, "invalidate")
        def _sqlite_release_dropped(_dbapi_connection, record, _exception):
            # A dropped connection's record forgets what it staged: delete the files first.
            release_staged(None, record.info)

        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True)
    raise ConfigError(f"config: the store URL ({URL_SETTING}) must be sqlite:/// or postgresql://")


def engine_for(settings: Settings) -> Engine:
    return make_engine(database_url(settings))


def is_postgres(engine_or_conn) -> bool:
    return engine_or_conn.dialect.name == "postgresql"


def sqlite_file(engine: Engine) -> Path | None:
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    return Path(engine.url.database)
