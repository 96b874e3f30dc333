"""`ehcp-monitor serve`: the long-running scheduler (APScheduler 3 BackgroundScheduler).

The job store is in memory and built from config.toml at start (a shared job store would let
two services disagree about the schedule). Coalescing is on and each job has at most one
instance; the job locks stop a `run` of the same job overlapping a scheduled one.
SIGTERM / SIGINT: no new runs start; a running job stops at its next step boundary (recorded
`interrupted`) or finishes; then the process exits 0. The signal handler only sets an event; the
main thread waits on it and shuts the scheduler down, so a signal arriving while the scheduler is
still starting cannot be lost (it was, once, with a BlockingScheduler shut down from the handler).
"""

import logging
import os
import signal
import threading

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from ehcp_monitor import clock
from ehcp_monitor.config import Settings
from ehcp_monitor.logs import get_logger
from ehcp_monitor.scheduling.runner import run_job
from ehcp_monitor.scheduling.schedule import job_schedules, schedule_timezone


class _InFlight:
    """Counts running jobs so the service can wait for them after the scheduler stops."""

    def __init__(self):
        self._count = 0
        self._done = threading.Condition()

    def __enter__(self):
        with self._done:
            self._count += 1

    def __exit__(self, *exc):
        with self._done:
            self._count -= 1
            self._done.notify_all()

    def wait_idle(self) -> None:
        with self._done:
            self._done.wait_for(lambda: self._count == 0)


def build_scheduler(settings: Settings, stop: threading.Event, in_flight: _InFlight) -> BackgroundScheduler:
    tz = schedule_timezone(settings)
    schedules = [s for s in job_schedules(settings) if s.enabled]
    scheduler = BackgroundScheduler(
        timezone=tz,
        executors={"default": ThreadPoolExecutor(max_workers=max(1, len(schedules)))},
        job_defaults={"coalesce": True, "max_instances": 1},
    )

    def fire(job: str) -> None:
        with in_flight:
            if not stop.is_set():
                run_job(job, settings, clock.today_in_london(), now=clock.now_utc(), stop=stop)

    for s in schedules:
        scheduler.add_job(
            fire, trigger=s.trigger, args=[s.job], id=s.job, name=s.job,
            misfire_grace_time=s.misfire_grace_seconds, coalesce=True, max_instances=1,
        )
    log = get_logger("ehcp_monitor.serve")

    def skipped(event):
        reason = "missed beyond its misfire grace" if event.code == EVENT_JOB_MISSED else "still running"
        log.warning("job_skipped", job=event.job_id, reason=reason)

    scheduler.add_listener(skipped, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    return scheduler


def serve(settings: Settings) -> int:
    log = get_logger("ehcp_monitor.serve")
    # APScheduler's own warnings (missed and overlapping runs) are logged as `job_skipped` lines.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    stop = threading.Event()
    in_flight = _InFlight()
    scheduler = build_scheduler(settings, stop, in_flight)

    def on_signal(signum, _frame):
        log.info("serve_stopping", reason=signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        now = clock.now_utc()
        for job in scheduler.get_jobs():
            next_run = job.trigger.get_next_fire_time(None, now)
            log.info("job_scheduled", job=job.id, next_run=next_run.isoformat())
        scheduler.start()
        log.info("serve_started", pid=os.getpid(), counts={"jobs": len(scheduler.get_jobs())})
        while not stop.wait(1):
            pass
        scheduler.shutdown(wait=False)
        in_flight.wait_idle()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("serve_stopped")
    return 0
