"""What a job is given: the store, the settings, its run id, the as-of date and `now`."""

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

import structlog
from sqlalchemy import Engine

from ehcp_monitor.config import Settings
from ehcp_monitor.scheduling import faults


class Interrupted(Exception):
    """The service was asked to stop; the job stopped between two steps."""


@dataclass
class RunContext:
    engine: Engine
    settings: Settings
    job: str
    run_id: str
    as_of: date
    now: datetime  # aware, UTC: the moment the run started (for dispatch timing)
    log: Any
    # The time as the run goes on (a paced dispatch); stays at `now` when the caller pinned it.
    clock: Callable[[], datetime]
    stop: threading.Event = field(default_factory=threading.Event)
    current_step: str | None = None
    failed_step: str | None = None
    failures: list[str] = field(default_factory=list)
    # What the steps did so far, by step: kept in the run record even when a later step fails.
    counts: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str):
        """One step of the job. A stop request is honoured here, never inside a step."""
        faults.at_step_start(name, self.stop)
        if self.stop.is_set():
            raise Interrupted(f"stopped before {name}")
        self.current_step = name
        structlog.contextvars.bind_contextvars(step=name)
        try:
            yield
        except BaseException:
            self.failed_step = name
            raise
        finally:
            self.current_step = None
            structlog.contextvars.unbind_contextvars("step")

    def report_failure(self, reason: str) -> None:
        """The job carries on but the run ends `failed` (exit 1) with this reason."""
        self.failures.append(reason)
