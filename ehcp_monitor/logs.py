"""Structured logging, configured once.

Only allow-listed keys reach the output: IDs, counts, codes, statuses and durations. Anything
else a caller passes (a name, an email, a date of birth, a UPN) is dropped and counted, so
children's personal data cannot leak into logs by accident.
"""

import logging
import sys

import structlog

ALLOWED_KEYS = frozenset(
    {
        # structlog's own
        "event", "level", "timestamp", "logger",
        # identity of a run
        "job", "run_id", "as_of", "status", "duration_s", "step", "command", "pid",
        # identifiers (never names)
        "ingest_id", "check_run_id", "request_id", "plan_id", "person_id", "contact_id",
        "touchpoint_id", "measure", "stage", "table", "code", "source_kind", "transport",
        # counts and figures
        "counts", "rows", "rows_read", "rows_loaded", "rows_quarantined", "quarantined_by_code",
        "results", "by_status", "very_late", "sent", "failed", "retry", "unknown", "suppressed",
        "skipped", "planned", "superseded", "revived", "reached_again", "corrections_held", "two_outcomes_held",
        "attempt", "files",
        "period", "reason",
        "error", "exit_code",
        "dropped_keys", "path_kind", "database", "lock", "next_run",
        # what an ingest's findings cost, and the cases it monitors in full
        "withheld_by_code", "cleared_by_code", "warnings_by_code", "cases", "cases_fully_monitored", "withheld",
        # an ingest's file names not recognised (never their content) and its guard overrides
        "unrecognised_files", "overrides",
        # element names of a SEN2 XML file (never its values)
        "elements",
    }
)


def allow_list(_logger, _method, event_dict):
    dropped = [k for k in event_dict if k not in ALLOWED_KEYS]
    for key in dropped:
        del event_dict[key]
    if dropped:
        event_dict["dropped_keys"] = len(dropped)
    return event_dict


class _CurrentStderr:
    """Whatever sys.stderr is at write time (a test harness may swap it out and close the old one)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(stream=None, json: bool | None = None, level: int = logging.INFO) -> None:
    """Configure structlog: JSON lines when not on a terminal, readable lines on one."""
    if json is None:
        json = not (stream or sys.stderr).isatty()
    stream = stream or _CurrentStderr()
    renderer = (
        structlog.processors.JSONRenderer(sort_keys=True)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            allow_list,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "ehcp_monitor"):
    return structlog.get_logger(name)
