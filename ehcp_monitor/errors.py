"""Expected failures, each with the exit code of outputs.md section 1.

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
