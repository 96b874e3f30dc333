"""Speed of the clock engine on national-scale synthetic data. Prints figures; asserts nothing.

    .venv/bin/python bench/check.py [--people 700000] [--oracle-people 100000] [--out-people 100000]
        [--database sqlite] [--database postgresql://postgres@127.0.0.1:5432/test]

Targets (the issue): evaluation alone within 10 s and end to end (read snapshot from the store,
evaluate, write results) within 60 s at 700,000 people, on SQLite and on PostgreSQL; the polars
engine at least 30x faster than the per-case oracle on the same 100,000-people caseload.

`--out-people N` (issue 20; 0 to skip) measures the whole `ehcp-monitor check --out FILE --as-of`
command, as a user runs it (a fresh process: start-up, read the snapshot from the store, evaluate,
write the results and the CSV), against a store filled by `run_ingest` from a Parquet extract of
N people, beside the per-row oracle on the same snapshot read back from that store: the oracle's
evaluation alone, and with the read and the CSV added. Target: at least 10x faster end to end.
It also measures the floor: a fresh process that only imports polars and SQLAlchemy and writes the
same CSV (from a Parquet copy), what any `check --out` in this stack pays before it reads, evaluates
or stores anything.
`--people 0` and `--oracle-people 0` skip the other parts.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl
from _pg import scratch_schema

from ehcp_monitor import config
from ehcp_monitor.checks import clock_engine, oracle, run_check
from ehcp_monitor.checks.clock_engine import COLUMNS_USED
from ehcp_monitor.clock import now_utc
from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.migrate import upgrade_head
from ehcp_monitor.db.snapshot import Snapshot, read_snapshot, replace_snapshot
from ehcp_monitor.exports import csv_bytes
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.synthetic import generate, write_extract

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


def bench_check_out(label: str, url: str, people: int, settings, runs: int) -> None:
    """`ehcp-monitor check --out` end to end in a fresh process, against the per-row oracle."""
    engine = make_engine(url)
    upgrade_head(engine)
    cli = Path(sys.executable).with_name("ehcp-monitor")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        frames, _ = timed(f"[{label}] generate {people:,} people", lambda: generate(people, seed=1, as_of=AS_OF))
        write_extract(frames, tmp / "extract", "parquet")
        del frames
        timed(f"[{label}] ingest the Parquet extract (not part of the check)",
              lambda: run_ingest(engine, settings, str(tmp / "extract"), as_of=AS_OF))
        out = tmp / "results.csv"
        env = {**os.environ, "EHCP_DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://")}
        command = [str(cli), "check", "--out", str(out), "--as-of", AS_OF.isoformat()]

        def check_out():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"check --out failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            print(f"  the command's own CPU {cpu:.2f} s (peak RSS of the largest child so far "
                  f"{after.ru_maxrss / 1024:.0f} MB)", flush=True)

        timed(f"[{label}] `ehcp-monitor check --out` warm-up", check_out)
        cli_s = median(label=f"[{label}] `ehcp-monitor check --out` (fresh process, end to end)", runs=runs,
                       fn=check_out)
        print(f"  CSV {out.stat().st_size / 2**20:.1f} MiB", flush=True)
        floor_s = floor(tmp, out, runs)

        def oracle_path():
            snapshot, read_s = timed(f"[{label}]   oracle: read_snapshot (every column)", lambda: read_snapshot(engine))
            frame, eval_s = timed(f"[{label}]   oracle: oracle.evaluate",
                                  lambda: oracle.evaluate(snapshot, settings, AS_OF))
            data, csv_s = timed(f"[{label}]   oracle: CSV", lambda: csv_bytes(frame))
            return eval_s, read_s + eval_s + csv_s, data

        oracle_runs = []
        for n in range(runs):
            print(f"[{label}] oracle path (run {n + 1} of {runs})", flush=True)
            oracle_runs.append(oracle_path())
        eval_s = sorted(r[0] for r in oracle_runs)[runs // 2]
        path_s = sorted(r[1] for r in oracle_runs)[runs // 2]
        same = oracle_runs[-1][2] == out.read_bytes()
    engine.dispose()
    print(f"  [{label}] {people:,} people, medians of {runs}: `check --out` {cli_s:.2f} s; oracle evaluation "
          f"alone {eval_s:.2f} s ({eval_s / cli_s:.1f}x), oracle read + evaluate + CSV {path_s:.2f} s "
          f"({path_s / cli_s:.1f}x); target 10x: {'met' if eval_s / cli_s >= 10 else 'MISSED'}; "
          f"identical CSV: {same}", flush=True)
    print(f"  [{label}] the floor (start, import polars and SQLAlchemy, write the CSV; no store, no evaluation) "
          f"{floor_s:.2f} s: 10x needs the command under {eval_s / 10:.2f} s, "
          f"{'below' if floor_s > eval_s / 10 else 'above'} the floor", flush=True)


# What any `check --out` in this stack pays before it stores or evaluates anything: a fresh
# interpreter importing polars and SQLAlchemy, and writing the same rows as CSV (read here from a
# Parquet copy of the command's CSV, every value as text, which polars reads in a few milliseconds).
FLOOR = ("import sys, polars as pl, sqlalchemy; "
         "pl.read_parquet(sys.argv[1]).write_csv(sys.argv[2], quote_style='necessary')")


def floor(tmp: Path, out: Path, runs: int) -> float:
    """Median wall time of FLOOR in fresh processes, its CSV compared with the command's."""
    rows = tmp / "results.parquet"
    pl.read_csv(out, infer_schema=False).write_parquet(rows)
    again = tmp / "floor.csv"

    def write():
        subprocess.run([sys.executable, "-c", FLOOR, str(rows), str(again)], check=True)

    timed("the floor warm-up", write)
    seconds = median(label="the floor (fresh process: imports and the CSV)", runs=runs, fn=write)
    print(f"  the floor's CSV byte for byte the command's: {again.read_bytes() == out.read_bytes()}", flush=True)
    return seconds


def on_store(database: str, fn) -> None:
    """fn(label, url) on a fresh SQLite file, or in a fresh PostgreSQL schema dropped afterwards."""
    if database == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            fn("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        return
    with scratch_schema(database) as url:
        fn("postgresql", url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=700_000)
    parser.add_argument("--oracle-people", type=int, default=100_000)
    parser.add_argument("--out-people", type=int, default=100_000,
                        help="people for `check --out` against the oracle, end to end (0: skip)")
    parser.add_argument("--out-runs", type=int, default=3, help="timed runs of each side (medians)")
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

    if args.out_people:
        for database in args.database or ["sqlite"]:
            on_store(database, lambda label, url: bench_check_out(label, url, args.out_people, settings,
                                                                  args.out_runs))

    if args.people:
        snap = caseload(args.people)
        timed("engine.evaluate warm-up", lambda: clock_engine.evaluate(snap, settings, AS_OF))
        frame, seconds = timed(f"engine.evaluate on {args.people:,} people",
                               lambda: clock_engine.evaluate(snap, settings, AS_OF))
        print(f"  {frame.height:,} results; target 10 s: {'met' if seconds <= 10 else 'MISSED'}")
        del frame
        for database in args.database or ["sqlite"]:
            on_store(database, lambda label, url: bench_store(label, url, snap, settings))
    print(f"peak RSS: {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
