"""The snapshot and the results a job run last committed, kept for the steps after it.

The nightly job ingests, checks and plans touchpoints in one process, and each step used to read
back from the store what the step before it had just written: at national scale a large share
of the night (bench/README.md, thirteenth session). The step that commits a snapshot or a
check run's results keeps its frames here, after the commit. A reader takes them only when its
own transaction finds the store still holding exactly those (the same ingest and load time, or
the same check run); anything else (another process's ingest or check since, or nothing kept)
reads the store as before. Nothing is kept outside a job run (`keeping`): a command or a test
that calls the features one by one, or edits the store in between, always reads the store; the
run forgets what it kept when it ends, so a scheduler that stays up holds no case records
between runs.
"""

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

if TYPE_CHECKING:  # the job runner imports this module, and commands that load no polars import the runner
    import polars as pl


@dataclass(frozen=True)
class _Kept:
    marker: object  # what the store records of the write: (ingest_id, loaded_at) or a check run id
    value: object


_lock = threading.Lock()  # job runs in threads (`serve`) may share an engine
_keeping: "weakref.WeakKeyDictionary[Engine, int]" = weakref.WeakKeyDictionary()  # job runs open on it
_snapshots: "weakref.WeakKeyDictionary[Engine, _Kept]" = weakref.WeakKeyDictionary()
_results: "weakref.WeakKeyDictionary[Engine, _Kept]" = weakref.WeakKeyDictionary()


@contextmanager
def keeping(engine: Engine) -> Iterator[None]:
    """One job run: what its steps commit on `engine` is kept for the steps after them, and
    forgotten when the last run open on that engine ends."""
    with _lock:
        _keeping[engine] = _keeping.get(engine, 0) + 1
    try:
        yield
    finally:
        with _lock:
            _keeping[engine] -= 1
            if not _keeping[engine]:
                del _keeping[engine]
                _snapshots.pop(engine, None)
                _results.pop(engine, None)


def keep_snapshot(engine: Engine, marker: tuple, tables: "dict[str, pl.DataFrame]", info: dict) -> None:
    """After the ingest's commit: its tables as stored, and the snapshot row's other fields."""
    with _lock:
        if engine in _keeping:
            _snapshots[engine] = _Kept(marker, (tables, info))


def snapshot_for(engine: Engine, marker: tuple | None) -> "tuple[dict[str, pl.DataFrame], dict] | None":
    kept = _snapshots.get(engine)
    return kept.value if kept is not None and marker is not None and kept.marker == marker else None


def keep_results(engine: Engine, run_id: int, frame: "pl.DataFrame") -> None:
    """After the check's commit: run `run_id`'s results as stored (RESULT_SCHEMA)."""
    with _lock:
        if engine in _keeping:
            _results[engine] = _Kept(run_id, frame)


def results_for(engine: Engine, run_id: int | None) -> "pl.DataFrame | None":
    kept = _results.get(engine)
    return kept.value if kept is not None and run_id is not None and kept.marker == run_id else None


def forget(engine: Engine) -> None:
    """Nothing kept for `engine` any more (the next reads go to the store)."""
    with _lock:
        _snapshots.pop(engine, None)
        _results.pop(engine, None)
