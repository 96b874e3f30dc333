"""The whole nightly at national scale, step by step, on SQLite and/or PostgreSQL.

    .venv/bin/python bench/nightly.py [--people 700000] [--only sqlite|postgresql] [--nights 2]

Generates the synthetic caseload (seed 2025, as of 2025-07-10) as a Parquet extract, then into a
fresh store runs what the nightly and the weekly job run, without sending anything: ingest,
check, plan touchpoints (into the outbox), and build the weekly late list (HTML, XLSX, CSV).
Ingest, check and plan run as the nightly job runs them, one after the other in one process, each
taking what the step before it wrote from memory (db/recent_writes.py); the weekly list is a job
run of its own and reads the store. Prints each step's wall time and the peak resident memory of
the process during that step (sampled every 20 ms from /proc/self/statm), and the total. Asserts
nothing; the figures go in bench/README.md.

The first night into a fresh store is the go-live night: the planner records a baseline row for
every touchpoint event in the caseload's history (about 6 million at 700,000 people). `--nights 2`
(the default) then runs an ordinary night on the same store: the same extract ingested again,
as of the next day, so the planner adds only what is new.
"""

import argparse
import os
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from _pg import scratch_schema

from ehcp_monitor import config
from ehcp_monitor.checks import run_check
from ehcp_monitor.db import recent_writes
from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.migrate import upgrade_head
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.late_list import build_late_list
from ehcp_monitor.synthetic import generate, write_extract
from ehcp_monitor.touchpoints import plan_touchpoints

AS_OF = date(2025, 7, 10)
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class PeakMemory:
    """The highest resident set size seen while the block runs (sampled; Rust allocations included)."""

    def __enter__(self):
        self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


def _step(label: str, fn, totals: list[float]):
    with PeakMemory() as mem:
        start = time.perf_counter()
        value = fn()
        seconds = time.perf_counter() - start
    totals.append(seconds)
    print(f"  {label:<22} {seconds:7.2f} s   peak {mem.peak / 2**20:8,.0f} MiB", flush=True)
    return value


def run(url: str, extract: Path, out: Path, nights: int) -> None:
    settings = config.defaults().replace(**{"database.url": url, "touchpoints.hold_above": 0})
    engine = make_engine(url)
    upgrade_head(engine)
    for night in range(nights):
        as_of = AS_OF + timedelta(days=night)
        print(f" night {night + 1} ({'go-live, fresh store' if night == 0 else 'ordinary'}), as of {as_of}; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        totals: list[float] = []
        late = out / f"late-{night + 1}"
        # Each night, and the weekly list, is a job run of its own: nothing is kept from one to the next.
        with recent_writes.keeping(engine):
            _step("ingest", lambda d=as_of: run_ingest(engine, settings, str(extract), as_of=d), totals)
            _step("check", lambda d=as_of: run_check(engine, settings, as_of=d), totals)
            planned = _step("touchpoints plan", lambda d=as_of: plan_touchpoints(engine, settings, as_of=d), totals)
        _step("weekly late list",
              lambda d=as_of, o=late: build_late_list(engine, settings, as_of=d, out_dir=o), totals)
        files = sum(f.stat().st_size for f in late.rglob("*") if f.is_file())
        print(f"  {'total':<22} {sum(totals):7.2f} s   (touchpoints planned: {planned.get('planned', planned)}; "
              f"late list files {files / 2**20:,.1f} MiB)", flush=True)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=700_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--nights", type=int, default=2, help="1: the go-live night only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        frames = generate(people=args.people, seed=2025, as_of=AS_OF)
        write_extract(frames, tmp / "extract", "parquet")
        del frames
        print(f"{args.people:,} people; machine: {os.cpu_count()} cores")
        if args.only in (None, "sqlite"):
            print("SQLite")
            run(f"sqlite:///{tmp / 'bench.sqlite3'}", tmp / "extract", tmp, args.nights)
        if args.only in (None, "postgresql"):
            with scratch_schema() as url:
                print("PostgreSQL")
                run(url, tmp / "extract", tmp, args.nights)


if __name__ == "__main__":
    main()
