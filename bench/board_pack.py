"""Board-pack benchmark: the pack from a large stored caseload, on SQLite and/or PostgreSQL.

    .venv/bin/python bench/board_pack.py [--people 50000] [--only sqlite|postgresql]

Generates the synthetic caseload (seed 2025, as of 2025-07-10), ingests it and runs the check into
a fresh store, then times each step of the pack for June 2025: reading the inputs, computing every
KPI, HTML and PDF. Prints figures; asserts nothing.
"""

import argparse
import tempfile
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

from _pg import scratch_schema

from ehcp_monitor import config
from ehcp_monitor.board_pack.kpis import compute_pack, read_inputs
from ehcp_monitor.board_pack.period import parse_period
from ehcp_monitor.board_pack.render import render_html, write_pdf
from ehcp_monitor.checks import run_check
from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.migrate import upgrade_head
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.synthetic import generate, write_extract

AS_OF = date(2025, 7, 10)


def _timed(label: str, fn):
    start = time.perf_counter()
    value = fn()
    print(f"  {label:<22} {time.perf_counter() - start:7.2f} s")
    return value


def run(url: str, extract: Path, out: Path) -> None:
    settings = config.defaults().replace(**{"database.url": url})
    engine = make_engine(url)
    upgrade_head(engine)
    now = datetime(2025, 7, 10, 2, tzinfo=timezone.utc)
    _timed("ingest", lambda: run_ingest(engine, settings, str(extract), as_of=AS_OF, now=now))
    _timed("check", lambda: run_check(engine, settings, as_of=AS_OF))
    inputs = _timed("read inputs", lambda: read_inputs(engine))
    print(f"  check results rows     {inputs.results.height:,}")
    data = _timed("compute KPIs", lambda: compute_pack(inputs, settings, parse_period("2025-06"), AS_OF))
    html = _timed("render HTML", lambda: render_html(data, settings, publish=False))
    _timed("write PDF", lambda: write_pdf(html, out / f"pack-{uuid.uuid4().hex[:6]}.pdf"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        frames = generate(people=args.people, seed=2025, as_of=AS_OF)
        write_extract(frames, tmp / "extract", "parquet")
        print(f"{args.people:,} people, {frames['requests'].height:,} requests, {frames['plans'].height:,} plans")
        if args.only in (None, "sqlite"):
            print("SQLite")
            run(f"sqlite:///{tmp / 'bench.sqlite3'}", tmp / "extract", tmp)
        if args.only in (None, "postgresql"):
            with scratch_schema() as url:
                print("PostgreSQL")
                run(url, tmp / "extract", tmp)


if __name__ == "__main__":
    main()
