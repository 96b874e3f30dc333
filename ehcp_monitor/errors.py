"""Expected failures, each with the exit code of docs/operations.md, Exit codes.

The CLI turns these into a one-line message and the code; nothing expected prints a traceback.
"""

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_DATA_REJECTED = 3
EXIT_LOCKED = 4


class MonitorError(Exception):
    exit_code = EXIT_FAILURES


class ConfigError(MonitorError):
    """Bad usage or configuration; the message names the setting."""

    exit_code = EXIT_USAGE


class IngestRefused(MonitorError):
    """The extract was refused whole; the previous snapshot is kept."""

    exit_code = EXIT_DATA_REJECTED


class LockHeld(MonitorError):
    """Another run holds the lock."""

    exit_code = EXIT_LOCKED


class JobFailed(MonitorError):
    """The job ran and found a failure it reports."""

    exit_code = EXIT_FAILURES


class StoreBusy(LockHeld):
    """The store refused a write because another process holds it (SQLite busy, a PostgreSQL lock
    timeout): nothing is wrong with it, try again."""


# What a database says when another process holds the lock it needs (SQLite; PostgreSQL 55P03).
_BUSY = ("database is locked", "database table is locked", "database is busy", "lock timeout",
         "could not obtain lock")


def store_failure(exc: BaseException) -> MonitorError:
    """A database error met at a command's edge, as one line that quotes neither the URL (it may
    carry a password) nor any SQL parameter (case data): the store is busy (exit 4), or cannot be
    reached or opened (exit 2)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).lower()
    if any(words in text for words in _BUSY) or getattr(orig, "sqlstate", None) == "55P03":
        return StoreBusy("the store is busy: another process is writing to it; try again when it has finished")
    return ConfigError(f"the store cannot be reached ({type(orig).__name__}); "
                       "check EHCP_DATABASE_URL or database.url")
