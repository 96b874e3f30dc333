"""Results belong to one snapshot: the jobs that read them refuse results of a replaced one.

A check records the ingest its snapshot came from (`check_runs.ingest_id`), in the same
transaction as its results, so the latest check run is the one the stored results came from. An
ingest after it replaces the snapshot and leaves those results behind: planning touchpoints, the
late list or the board pack from them would mix old clocks with new case records. `reads_results`
runs such a job holding the store lock shared (no ingest or check can commit meanwhile) and only
when the results belong to the snapshot in force; otherwise it refuses with one line, exit 1.
"""

import functools

from sqlalchemy import Connection, Engine

from ehcp_monitor.db.locks import store_lock
from ehcp_monitor.db.results import latest_check, snapshot_ingest_id
from ehcp_monitor.errors import JobFailed


class StaleResults(JobFailed):
    """The stored results were computed on a snapshot that has since been replaced (exit 1)."""


def _number(ingest_id: int | None) -> str:
    return f"#{ingest_id}" if ingest_id is not None else "none"


def require_current_results(conn: Connection, what: str) -> None:
    """Raise StaleResults unless the latest check ran on the snapshot in force (no check yet:
    nothing to compare; the job says for itself that there are no results)."""
    checked = latest_check(conn)
    if checked is None:
        return
    in_force = snapshot_ingest_id(conn)
    if checked.ingest_id != in_force:
        raise StaleResults(f"{what}: results are from ingest {_number(checked.ingest_id)}, the snapshot in "
                           f"force is {_number(in_force)}: run `ehcp-monitor check` first")


def require_results_as_of(conn: Connection, what: str, as_of) -> None:
    """Raise StaleResults unless there is a snapshot and the latest check is as of `as_of`: a delay
    notice built from results of another day would list steps not yet late, or the wrong days."""
    if snapshot_ingest_id(conn) is None:
        raise StaleResults(f"{what}: nothing has been ingested yet: run `ehcp-monitor ingest` first")
    checked = latest_check(conn)
    if checked is not None and checked.as_of != as_of:
        raise StaleResults(f"{what}: results are as of {checked.as_of.isoformat()}, not {as_of.isoformat()}: "
                           f"run `ehcp-monitor check --as-of {as_of.isoformat()}` first")


def reads_results(what: str):
    """Decorate a job's reading function (first argument: the engine) so that it runs holding the
    store lock shared, and only on results of the snapshot in force."""
    def decorate(function):
        @functools.wraps(function)
        def checked(engine: Engine, *args, **kwargs):
            with store_lock(engine, what, shared=True):
                with engine.connect() as conn:
                    require_current_results(conn, what)
                return function(engine, *args, **kwargs)
        return checked
    return decorate
