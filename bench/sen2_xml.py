"""SEN2 XML reader benchmark: a national-scale synthetic SEN2 XML return, read by `read_source`.

    .venv/bin/python bench/sen2_xml.py [--people 700000] [--seed 2025]

Writes the return into a temporary folder (removed afterwards), then reads it in a child process
(so the peak memory, ru_maxrss, is the reader's own): parsing, derived IDs and the mapping onto the
canonical tables, up to the raw tables the ingest validates. Prints rows, wall and CPU seconds,
rows/second, peak memory and the machine's load; asserts nothing.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

AS_OF = date(2025, 3, 14)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def cpu_seconds() -> float:
    # On a shared machine wall time says more about the neighbours than about the reader.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def stage_write(people: int, seed: int, out: Path) -> dict:
    from ehcp_monitor.synthetic import generate, write_extract

    started = time.perf_counter()
    frames = generate(people, seed, AS_OF)
    generated = time.perf_counter() - started
    (path,) = write_extract(frames, out, "sen2-xml", as_of=AS_OF)
    return {"generate_seconds": generated, "write_seconds": time.perf_counter() - started - generated,
            "bytes": path.stat().st_size, "peak_mb": peak_mb()}


def stage_read(out: Path) -> dict:
    from ehcp_monitor import config
    from ehcp_monitor.ingest.detect import read_source

    started, cpu = time.perf_counter(), cpu_seconds()
    source = read_source(str(out), config.defaults())
    seconds = time.perf_counter() - started
    rows = {name: raw.frame.height for name, raw in source.tables.items()}
    return {"seconds": seconds, "cpu_seconds": cpu_seconds() - cpu, "rows": rows, "peak_mb": peak_mb()}


def run_stage(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{args[1]} failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=700_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.stage:
        from ehcp_monitor import logs

        logs.configure(stream=sys.stderr, json=True)
        out = Path(args.out)
        figures = stage_write(args.people, args.seed, out) if args.stage == "write" else stage_read(out)
        print(json.dumps(figures))
        return

    with tempfile.TemporaryDirectory(prefix="ehcp-bench-sen2-xml-") as tmp:
        common = ["--people", str(args.people), "--seed", str(args.seed), "--out", tmp]
        w = run_stage("--stage", "write", *common)
        print(f"write: {args.people:,} people generated in {w['generate_seconds']:.1f} s, "
              f"{w['bytes'] / 1e6:,.0f} MB of XML written in {w['write_seconds']:.1f} s; peak {w['peak_mb']:.0f} MB")
        r = run_stage("--stage", "read", *common)
        total = sum(r["rows"].values())
        print(f"read_source: {total:,} rows ({', '.join(f'{n} {t}' for t, n in r['rows'].items())}) in "
              f"{r['seconds']:.1f} s ({r['cpu_seconds']:.1f} s of CPU) = {total / r['seconds']:,.0f} rows/s, "
              f"{args.people / r['seconds']:,.0f} people/s; peak {r['peak_mb']:.0f} MB; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
