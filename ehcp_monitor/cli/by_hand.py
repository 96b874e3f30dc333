"""A report made by hand counts as a run of its job, for `health` and `jobs`."""

import functools

from ehcp_monitor.cli.common import resolve_as_of


def counts_as_job_run(job: str, command: str):
    """Decorator: a by-hand report command counts as a run of `job` (for `health` and `jobs`)."""

    def wrap(f):
        @functools.wraps(f)
        def inner(app, *args, **kwargs):
            from ehcp_monitor.scheduling.by_hand import recorded_as

            with recorded_as(app.engine, job, as_of=resolve_as_of(kwargs.get("as_of")), command=command):
                return f(app, *args, **kwargs)

        return inner

    return wrap
