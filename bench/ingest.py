"""Ingest benchmark: a national-scale synthetic Parquet extract into SQLite and PostgreSQL.

    .venv/bin/python bench/ingest.py [--people 700000] [--seed 2025] [--only sqlite|postgresql] [--fresh]

Generates the extract once (cached under the temp folder, keyed by people/seed/as-of) and
ingests it into a fresh SQLite file and a fresh PostgreSQL schema (EHCP_BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/test). Each step runs in its own process so its peak memory
(ru_maxrss) is its own. Prints figures; asserts nothing. Target: under 90 s per store.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import date
from pathlib import Path

AS_OF = date(2025, 3, 14)


def extract_dir(people: int, seed: int) -> Path:
    return Path(tempfile.gettempdir()) / "ehcp-bench" / f"parquet-{people}-{seed}-{AS_OF.isoformat()}"


def peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage_generate(people: int, seed: int) -> dict:
    from ehcp_monitor.synthetic import generate, write_extract

    out = extract_dir(people, seed)
    started = time.perf_counter()
    frames = generate(people, seed, AS_OF)
    generated = time.perf_counter() - started
    write_extract(frames, out, "parquet")
    (out / "COMPLETE").write_text(json.dumps({t: df.height for t, df in frames.items()}))
    return {"seconds": time.perf_counter() - started, "generate_seconds": generated,
            "rows": sum(df.height for df in frames.values()), "peak_mb": peak_mb()}


def stage_ingest(store: str, people: int, seed: int) -> dict:
    from _pg import scratch_schema

    from ehcp_monitor import config
    from ehcp_monitor.db.connect import make_engine
    from ehcp_monitor.db.migrate import upgrade_head
    from ehcp_monitor.ingest import run_ingest

    with tempfile.TemporaryDirectory() as tmp:
        fresh_store = nullcontext(f"sqlite:///{tmp}/bench.sqlite3") if store == "sqlite" else scratch_schema()
        with fresh_store as url:
            engine = make_engine(url)
            upgrade_head(engine)
            settings = config.defaults().replace(**{"database.url": url})
            started = time.perf_counter()
            result = run_ingest(engine, settings, str(extract_dir(people, seed)), as_of=AS_OF)
            seconds = time.perf_counter() - started
            engine.dispose()
    rows = sum(c["read"] for c in result.counts.values())
    quarantined = sum(c["quarantined"] for c in result.counts.values())
    return {"seconds": seconds, "rows": rows, "quarantined": quarantined, "status": result.status,
            "peak_mb": peak_mb()}


def run_stage(stage: str, people: int, seed: int) -> dict:
    """Run one stage in a child process, so its peak memory is measured alone."""
    done = subprocess.run(
        [sys.executable, __file__, "--stage", stage, "--people", str(people), "--seed", str(seed)],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=700_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--fresh", action="store_true", help="regenerate the cached extract")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.stage:
        # Child process: print the stage's figures as one JSON line; logs go to stderr.
        from ehcp_monitor import logs

        logs.configure(stream=sys.stderr, json=True)
        figures = (stage_generate(args.people, args.seed) if args.stage == "generate"
                   else stage_ingest(args.stage, args.people, args.seed))
        print(json.dumps(figures))
        return

    cache = extract_dir(args.people, args.seed)
    print(f"extract: {args.people:,} people, seed {args.seed}, as of {AS_OF} -> {cache}")
    if args.fresh or not (cache / "COMPLETE").exists():
        g = run_stage("generate", args.people, args.seed)
        if "error" in g:
            sys.exit(f"generation failed: {g['error']}")
        print(f"generate: {g['generate_seconds']:.1f} s to build {g['rows']:,} rows, "
              f"{g['seconds']:.1f} s with Parquet writing; peak {g['peak_mb']:.0f} MB")
    else:
        print("generate: reusing the cached extract (--fresh to regenerate)")
    for store in ("sqlite", "postgresql"):
        if args.only and store != args.only:
            continue
        f = run_stage(store, args.people, args.seed)
        if "error" in f:
            print(f"{store}: failed: {f['error']}")
            continue
        print(f"{store}: {f['status']} {f['rows']:,} rows ({f['quarantined']} quarantined) in "
              f"{f['seconds']:.1f} s = {f['rows'] / f['seconds']:,.0f} rows/s; peak {f['peak_mb']:.0f} MB"
              f"{'' if f['seconds'] < 90 else '  (over the 90 s target)'}")


if __name__ == "__main__":
    main()
