"""Touchpoint benchmark: plan (and re-plan) over a synthetic caseload, then send through the file outbox.

    .venv/bin/python bench/touchpoints.py [--people 100000] [--only sqlite|postgresql]

Generates the caseload (ehcp_monitor.synthetic, seed 2025, as of 2025-03-14), evaluates the clocks
(ehcp_monitor.checks.evaluate), stores snapshot and results in a fresh SQLite file and a fresh
PostgreSQL schema (EHCP_BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test),
then times plan_touchpoints twice (the second finds everything already planned) and a dispatch
through the file transport. Prints figures; asserts nothing.
"""

import argparse
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
from _pg import scratch_schema

from ehcp_monitor import config
from ehcp_monitor.checks import evaluate
from ehcp_monitor.db.bulk import write_frame
from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.migrate import upgrade_head
from ehcp_monitor.db.snapshot import Snapshot, replace_snapshot
from ehcp_monitor.synthetic import generate
from ehcp_monitor.touchpoints import dispatch_touchpoints, plan_touchpoints

AS_OF = date(2025, 3, 14)
NOW = datetime(2025, 3, 14, 9, 0, tzinfo=timezone.utc)


def bench(url: str, snap: Snapshot, results: pl.DataFrame, outbox: Path) -> dict:
    engine = make_engine(url)
    upgrade_head(engine)
    with engine.begin() as conn:
        replace_snapshot(conn, snap, loaded_at=NOW)
        write_frame(conn, "check_results", results.with_columns(pl.lit(1).alias("run_id")))
    settings = config.defaults().replace(**{"touchpoints.outbox_dir": str(outbox),
                                            "touchpoints.rate_per_minute": 1_000_000})
    figures = {}
    started = time.perf_counter()
    counts = plan_touchpoints(engine, settings, as_of=AS_OF)
    figures["plan_s"] = round(time.perf_counter() - started, 2)
    figures["rows_planned"] = counts["planned"]
    figures["pending"] = counts["pending"]
    started = time.perf_counter()
    again = plan_touchpoints(engine, settings, as_of=AS_OF)
    figures["replan_s"] = round(time.perf_counter() - started, 2)
    figures["replan_new_rows"] = again["planned"]
    started = time.perf_counter()
    sent = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW, pause=lambda s: None)
    seconds = time.perf_counter() - started
    figures["dispatch_s"] = round(seconds, 2)
    figures["sent"] = sent["sent"]
    figures["emails_per_s"] = round(sent["sent"] / seconds, 1) if seconds else None
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    started = time.perf_counter()
    frames = generate(args.people, 2025, AS_OF)
    snap = Snapshot.from_frames(frames, ingest_id=1, source_kind="canonical")
    results = evaluate(snap, config.defaults(), AS_OF)
    print(f"caseload: {args.people} people, {results.height} clocks "
          f"({time.perf_counter() - started:.1f} s to generate and evaluate)")
    work = Path(tempfile.mkdtemp(prefix="ehcp-bench-touchpoints-"))
    if args.only in (None, "sqlite"):
        print("sqlite:", bench(f"sqlite:///{work / 'store.sqlite3'}", snap, results, work / "outbox-sqlite"))
    if args.only in (None, "postgresql"):
        with scratch_schema() as url:
            print("postgresql:", bench(url, snap, results, work / "outbox-pg"))


if __name__ == "__main__":
    main()
