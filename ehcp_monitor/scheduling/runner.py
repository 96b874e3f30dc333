"""Running one job once: the ONE code path used by `run`, `serve` and the demo.

lock -> mark dead runs abandoned -> record `running` -> the job's steps -> record the outcome ->
one canonical log line. Every outcome is an exit code (errors.py): nothing escapes as a traceback.
"""

import importlib
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import StatementError

from ehcp_monitor import clock
from ehcp_monitor.config import JOB_NAMES, Settings
from ehcp_monitor.db import recent_writes
from ehcp_monitor.db.connect import engine_for
from ehcp_monitor.db.locks import job_lock
from ehcp_monitor.db.migrate import upgrade_head
from ehcp_monitor.errors import EXIT_FAILURES, EXIT_OK, ConfigError, LockHeld, MonitorError
from ehcp_monitor.logs import get_logger
from ehcp_monitor.scheduling import faults, runs
from ehcp_monitor.scheduling.context import Interrupted, RunContext

ERROR_SUMMARY_CHARS = 300


QUOTED = re.compile(r"\[[^\]]*\]?|\"[^\"]*\"?|'[^']*'?|`[^`]*`?")


def job_module(name: str):
    """The module of a job in config.JOBS: jobs/<name>.py."""
    if name not in JOB_NAMES:
        raise ConfigError(f"unknown job {name!r} (jobs: {', '.join(JOB_NAMES)})")
    return importlib.import_module(f"ehcp_monitor.jobs.{name}")


def error_summary(exc: BaseException) -> str:
    """One line, no SQL parameters (they could hold case data), and no quoted values of a data
    library's error (polars quotes the values it could not convert: a date of birth, say)."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        exc = exc.orig
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else ""
    if type(exc).__module__.split(".")[0] == "polars":
        first = QUOTED.sub("[...]", first)
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text[:ERROR_SUMMARY_CHARS]


def _jsonable(counts) -> dict:
    return json.loads(json.dumps(counts if isinstance(counts, dict) else {}, default=str))


@dataclass(frozen=True)
class RunOutcome:
    job: str
    run_id: str
    status: str  # a job_runs status, or `locked` when nothing was done
    exit_code: int
    error: str | None = None
    counts: dict = field(default_factory=dict)


def run_job(name: str, settings: Settings, as_of: date, *, now: datetime | None = None,
            stop: threading.Event | None = None, engine: Engine | None = None) -> int:
    """Run job `name` once for `as_of`; return its exit code (0 success, 1 failed, 2 config,
    3 data rejected, 4 locked)."""
    return execute_job(name, settings, as_of, now=now, stop=stop, engine=engine).exit_code


def execute_job(name: str, settings: Settings, as_of: date, *, now: datetime | None = None,
                stop: threading.Event | None = None, engine: Engine | None = None) -> RunOutcome:
    """`run_job`, returning what happened."""
    structlog.contextvars.clear_contextvars()
    run_id = str(uuid.uuid4())
    structlog.contextvars.bind_contextvars(job=name, run_id=run_id, as_of=as_of.isoformat())
    log = get_logger("ehcp_monitor.jobs")
    started = time.monotonic()
    own_engine = engine is None
    try:
        module = job_module(name)
        engine = engine or engine_for(settings)
        # One run's steps take what the step before committed from memory (db/recent_writes.py).
        with job_lock(engine, name), recent_writes.keeping(engine):
            upgrade_head(engine)
            # A caller that pins `now` (tests, the demo) pins the run's clock with it.
            run_clock = (lambda: now) if now else clock.now_utc
            return _run_locked(module, name, run_id, settings, as_of, engine, log, started,
                               run_clock(), run_clock, stop or threading.Event())
    except LockHeld as exc:
        log.warning("job_run", status="locked", exit_code=exc.exit_code, reason=str(exc),
                    duration_s=round(time.monotonic() - started, 3))
        return RunOutcome(name, run_id, "locked", exc.exit_code, str(exc))
    except MonitorError as exc:
        log.error("job_run", status="failed", exit_code=exc.exit_code, error=str(exc),
                  duration_s=round(time.monotonic() - started, 3))
        return RunOutcome(name, run_id, runs.FAILED, exc.exit_code, str(exc))
    except Exception as exc:  # the store is unreachable, or the record could not be written
        error = error_summary(exc)
        log.error("job_run", status="failed", exit_code=EXIT_FAILURES, error=error,
                  duration_s=round(time.monotonic() - started, 3))
        return RunOutcome(name, run_id, runs.FAILED, EXIT_FAILURES, error)
    finally:
        if own_engine and engine is not None:
            engine.dispose()
        structlog.contextvars.clear_contextvars()


def _run_locked(module, name, run_id, settings, as_of, engine, log, started, now, run_clock,
                stop) -> RunOutcome:
    abandoned = runs.mark_abandoned(engine, name, now=clock.now_utc())
    if abandoned:
        log.warning("job_runs_abandoned", rows=abandoned)
    runs.start_run(engine, job=name, run_id=run_id, as_of=as_of, now=clock.now_utc())
    ctx = RunContext(engine=engine, settings=settings, job=name, run_id=run_id, as_of=as_of,
                     now=now, clock=run_clock, log=log, stop=stop)
    faults.install(engine, ctx)
    status, code, error, counts = runs.SUCCESS, EXIT_OK, None, None
    try:
        counts = module.run(ctx, as_of)
        if ctx.failures:
            status, code, error = runs.FAILED, EXIT_FAILURES, "; ".join(ctx.failures)
    except Interrupted as exc:
        status, code, error = runs.INTERRUPTED, EXIT_FAILURES, str(exc)
    except MonitorError as exc:
        status, code, error = runs.FAILED, exc.exit_code, str(exc).strip().split("\n")[0]
    except Exception as exc:
        status, code, error = runs.FAILED, EXIT_FAILURES, error_summary(exc)
    if error and ctx.failed_step:
        error = f"{ctx.failed_step}: {error}"
    if error:
        error = error[:ERROR_SUMMARY_CHARS]
    counts = _jsonable(counts if counts is not None else ctx.counts)
    runs.finish_run(engine, run_id, status=status, counts=counts, error=error, now=clock.now_utc())
    level = log.info if status == runs.SUCCESS else log.error
    level("job_run", status=status, exit_code=code, counts=counts, error=error,
          duration_s=round(time.monotonic() - started, 3))
    return RunOutcome(name, run_id, status, code, error, counts)
