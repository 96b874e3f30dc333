"""Speed of the clock engine on national-scale synthetic data. Prints figures; asserts nothing.

    .venv/bin/python bench/check.py [--people 700000] [--oracle-people 100000]
        [--database sqlite] [--database postgresql://postgres@127.0.0.1:5432/test]

Targets (the issue): evaluation alone within 10 s and end to end (read snapshot from the store,
evaluate, write results) within 60 s at 700,000 people, on SQLite and on PostgreSQL; the polars
engine at least 30x faster than the per-case oracle on the same 100,000-people caseload.
"""

import argparse
import os
import resource
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text

from ehcp_monitor import config
from ehcp_monitor.checks import clock_engine, oracle, run_check
from ehcp_monitor.checks.clock_engine import COLUMNS_USED
from ehcp_monitor.clock import now_utc
from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.migrate import upgrade_head
from ehcp_monitor.db.snapshot import Snapshot, read_snapshot, replace_snapshot
from ehcp_monitor.synthetic import generate

AS_OF = date(2025, 3, 14)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, fn):
    """Wall time, and this process's CPU time (all threads): the machine may be shared and busy."""
    start, cpu_start = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU (peak RSS so far {peak_mb():.0f} MB)", flush=True)
    return result, wall


def median(*, label: str, runs: int, fn) -> float:
    """Median wall time of `runs` calls; each result is dropped before the next call."""
    seconds = [timed(f"{label} (run {n + 1} of {runs})", fn)[1] for n in range(runs)]
    return sorted(seconds)[runs // 2]


def caseload(people: int) -> Snapshot:
    frames, _ = timed(f"generate {people:,} people", lambda: generate(people, seed=1, as_of=AS_OF))
    snap = Snapshot.from_frames(frames)
    sizes = ", ".join(f"{name} {df.height:,}" for name, df in snap.tables.items() if df.height)
    print(f"  rows: {sizes}")
    return snap


def bench_store(label: str, url: str, snap: Snapshot, settings) -> None:
    engine = make_engine(url)
    upgrade_head(engine)
    snap.ingest_id = 1

    def load():
        with engine.begin() as conn:
            replace_snapshot(conn, snap, loaded_at=now_utc())

    timed(f"[{label}] load snapshot into store (not part of the check)", load)
    summary, seconds = timed(f"[{label}] run_check end to end (read, evaluate, write)",
                             lambda: run_check(engine, settings, as_of=AS_OF))
    print(f"  {summary.results:,} results, overdue {summary.overdue:,}, very late {summary.very_late:,}; "
          f"target 60 s: {'met' if seconds <= 60 else 'MISSED'}")
    # After the check, so it cannot warm the check's own read: where the check's time went.
    timed(f"[{label}] split: read_snapshot of the columns the clocks use (warm, after the check)",
          lambda: read_snapshot(engine, COLUMNS_USED))
    engine.dispose()


def postgres_schema_url(url: str):
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", admin, schema


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=700_000)
    parser.add_argument("--oracle-people", type=int, default=100_000)
    parser.add_argument("--database", action="append", default=[],
                        help="`sqlite` or a PostgreSQL URL; repeat for both (default: sqlite)")
    args = parser.parse_args()
    settings = config.defaults()
    print(f"as of {AS_OF}; peak RSS is the process high-water mark (ru_maxrss); "
          f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    if args.oracle_people:
        small = caseload(args.oracle_people)
        fast, _ = timed("engine.evaluate warm-up", lambda: clock_engine.evaluate(small, settings, AS_OF))
        fast_s = median(label="engine.evaluate", runs=5, fn=lambda: clock_engine.evaluate(small, settings, AS_OF))
        slow, _ = timed("oracle.evaluate warm-up", lambda: oracle.evaluate(small, settings, AS_OF))
        slow_s = median(label="oracle.evaluate", runs=3, fn=lambda: oracle.evaluate(small, settings, AS_OF))
        print(f"  identical frames: {fast.equals(slow)}; medians engine {fast_s:.2f} s, oracle {slow_s:.2f} s: "
              f"{slow_s / fast_s:.0f}x faster (target 30x: {'met' if slow_s / fast_s >= 30 else 'MISSED'})")
        del small, fast, slow

    snap = caseload(args.people)
    timed("engine.evaluate warm-up", lambda: clock_engine.evaluate(snap, settings, AS_OF))
    frame, seconds = timed(f"engine.evaluate on {args.people:,} people",
                           lambda: clock_engine.evaluate(snap, settings, AS_OF))
    print(f"  {frame.height:,} results; target 10 s: {'met' if seconds <= 10 else 'MISSED'}")
    del frame

    for database in args.database or ["sqlite"]:
        if database == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                bench_store("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", snap, settings)
            continue
        url, admin, schema = postgres_schema_url(database)
        try:
            bench_store("postgresql", url, snap, settings)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    print(f"peak RSS: {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
