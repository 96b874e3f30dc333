"""TEST-ONLY pause points, so tests can kill or stop a run at a known moment.

Nothing here does anything unless the environment variable EHCP_TEST_PAUSE is set (read in
`_pause_spec`, the one place): never set it in production.

- `EHCP_TEST_PAUSE=STEP` pauses when a job enters step STEP (e.g. `ingest`), before its work.
- `EHCP_TEST_PAUSE=STEP:write` pauses right after the first DELETE/TRUNCATE the step sends to
  the store, i.e. in the middle of the step's transaction (the old rows are gone, nothing is
  committed yet).

When it pauses it creates the file named by EHCP_TEST_PAUSE_MARKER (if set) and waits until the
run is asked to stop (SIGTERM/SIGINT to `serve` or `run`) or the process is killed.
"""

import os
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, event

_MAX_PAUSE_SECONDS = 600


def _pause_spec() -> tuple[str, str, str | None] | None:
    spec = os.environ.get("EHCP_TEST_PAUSE")
    if not spec:
        return None
    step, _, when = spec.partition(":")
    return step, when or "start", os.environ.get("EHCP_TEST_PAUSE_MARKER")


def _pause(stop: threading.Event | None, marker: str | None) -> None:
    if marker:
        Path(marker).touch()
    deadline = time.monotonic() + _MAX_PAUSE_SECONDS
    while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
        time.sleep(0.05)


def at_step_start(step: str, stop: threading.Event) -> None:
    spec = _pause_spec()
    if spec and spec[0] == step and spec[1] == "start":
        _pause(stop, spec[2])


def install(engine: Engine, ctx) -> None:
    """Pause in the middle of `ctx`'s step STEP, after its first DELETE/TRUNCATE."""
    spec = _pause_spec()
    if not spec or spec[1] != "write":
        return
    step, _, marker = spec
    paused = []

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        if paused or ctx.current_step != step:
            return
        if statement.lstrip().upper().startswith(("DELETE", "TRUNCATE")):
            paused.append(True)
            _pause(ctx.stop, marker)
