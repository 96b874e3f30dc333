"""Connecting to the store: an embedded SQLite file by default, PostgreSQL in production."""

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url

from ehcp_monitor.config import Settings
from ehcp_monitor.db.bulk import release_staged
from ehcp_monitor.errors import ConfigError


def database_url(settings: Settings) -> str:
    """`$EHCP_DATABASE_URL`, else `database.url`, else the embedded SQLite file."""
    from_env = os.environ.get("EHCP_DATABASE_URL")
    url = from_env or settings.database.url
    if url and not from_env and make_url(url).password:
        # Secrets come only from the environment (outputs.md section 1).
        raise ConfigError("config: database.url must not contain a password; set EHCP_DATABASE_URL, "
                          "or use PGPASSWORD or ~/.pgpass")
    if url:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return f"sqlite:///{Path(settings.database.sqlite_path).resolve()}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

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
            if dbapi_connection is not None:
                release_staged(dbapi_connection, record.info)

        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True)
    raise ConfigError(f"config: database.url must be sqlite:// or postgresql://, not {url.split(':')[0]}")


def engine_for(settings: Settings) -> Engine:
    return make_engine(database_url(settings))


def is_postgres(engine_or_conn) -> bool:
    return engine_or_conn.dialect.name == "postgresql"


def sqlite_file(engine: Engine) -> Path | None:
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    return Path(engine.url.database)
