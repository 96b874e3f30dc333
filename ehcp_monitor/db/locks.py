"""One run of a job at a time, across processes and hosts that share the store; and the store
lock, so that results always belong to the snapshot in force.

PostgreSQL: a session advisory lock (pg_try_advisory_lock) held on a connection of its own for
the whole run; the server frees it when that connection ends, so a killed process cannot leave
it behind. The key is the job name within the store's database and schema.
SQLite: fcntl.flock on a lock file beside the database file; the kernel frees it when the
process ends, however it ends. (Both only work between processes on one host for SQLite, which
is the only way SQLite is used.)
"""

import fcntl
import functools
import zlib
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from ehcp_monitor.db.connect import is_postgres, sqlite_file
from ehcp_monitor.errors import ConfigError, LockHeld


def _int4(value: str) -> int:
    """A stable signed 32-bit key (Python's hash() changes between processes)."""
    key = zlib.crc32(value.encode())
    return key - 2**32 if key >= 2**31 else key


@contextmanager
def _postgres_lock(engine: Engine, job: str):
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        namespace = conn.execute(text("SELECT current_database() || '.' || current_schema()")).scalar_one()
        keys = {"ns": _int4(f"ehcp-monitor:{namespace}"), "job": _int4(job)}
        if not conn.execute(text("SELECT pg_try_advisory_lock(:ns, :job)"), keys).scalar_one():
            raise LockHeld(f"{job}: another run holds the lock; nothing done")
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:ns, :job)"), keys)
    finally:
        # Never return a connection that might still hold the lock to the pool.
        conn.invalidate()
        conn.close()


def lock_path(engine: Engine, job: str) -> Path:
    database = sqlite_file(engine)
    if database is None or str(database) == ":memory:":
        raise ConfigError("config: an in-memory SQLite store cannot be shared, so jobs cannot be locked")
    return database.with_name(f"{database.name}.{job}.lock")


@contextmanager
def _sqlite_lock(engine: Engine, job: str):
    path = lock_path(engine, job)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(f"{job}: another run holds the lock; nothing done") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def job_lock(engine: Engine, job: str):
    """Hold the lock of `job` for the block, or raise LockHeld (exit 4) at once."""
    locker = _postgres_lock if is_postgres(engine) else _sqlite_lock
    with locker(engine, job):
        yield


# The store lock. An ingest (which replaces the snapshot) and a check (which reads it and replaces
# the results) hold it alone; the jobs that read the results (touchpoint planning, the late list,
# the board pack) hold it shared, so they may run side by side but never while an ingest or a
# check could commit. Like a job's lock it is never waited for: a run that finds it held exits 4.
STORE_LOCK = "store"


def _store_held(holder: str) -> LockHeld:
    return LockHeld(f"{holder}: another run is using the store (an ingest, a check, or a job reading "
                    "their results); nothing done, try again when it has finished")


@contextmanager
def _postgres_store_lock(engine: Engine, holder: str, shared: bool):
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    kind = "_shared" if shared else ""
    try:
        namespace = conn.execute(text("SELECT current_database() || '.' || current_schema()")).scalar_one()
        keys = {"ns": _int4(f"ehcp-monitor-store:{namespace}"), "key": _int4(STORE_LOCK)}
        if not conn.execute(text(f"SELECT pg_try_advisory_lock{kind}(:ns, :key)"), keys).scalar_one():
            raise _store_held(holder)
        try:
            yield
        finally:
            conn.execute(text(f"SELECT pg_advisory_unlock{kind}(:ns, :key)"), keys)
    finally:
        conn.invalidate()
        conn.close()


@contextmanager
def _sqlite_store_lock(engine: Engine, holder: str, shared: bool):
    database = sqlite_file(engine)
    if database is None or str(database) in ("", ":memory:"):
        yield  # an in-memory store is this process's alone
        return
    path = lock_path(engine, STORE_LOCK)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _store_held(holder) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def store_lock(engine: Engine, holder: str, *, shared: bool = False):
    """Hold the store lock for the block (alone, or `shared` with other readers), or raise
    LockHeld (exit 4) at once. `holder` names the run in the message."""
    locker = _postgres_store_lock if is_postgres(engine) else _sqlite_store_lock
    with locker(engine, holder, shared):
        yield


def holding_store_lock(holder: str, *, shared: bool = False):
    """Decorate a function whose first argument is the engine: it runs holding the store lock."""
    def decorate(function):
        @functools.wraps(function)
        def locked(engine, *args, **kwargs):
            with store_lock(engine, holder, shared=shared):
                return function(engine, *args, **kwargs)
        return locked
    return decorate
