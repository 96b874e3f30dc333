"""Late-list benchmark: build the weekly list from a large stored caseload, on SQLite or PostgreSQL.

    .venv/bin/python bench/late_list.py [--requests 20000] [--only sqlite|postgresql]

Stores a synthetic snapshot and check results (about 8 result rows per request, a third of the
20-week clocks overdue, as in a large LA) straight into a fresh store, then times each step of
`build_late_list`: reading inputs, composing (with the breach forecast), the HTML page, the email
body (its size is what mail clients clip at about 102 KB), XLSX, CSV. Prints figures; asserts nothing.
The issue's scale is 50,000 people: `--requests 50000`.
"""

import argparse
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

import polars as pl
from _pg import scratch_schema
from sqlalchemy import insert

AS_OF = date(2025, 3, 14)


def caseload(n: int) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    ids = pl.int_range(0, n, eager=True)
    received = pl.Series([AS_OF - timedelta(days=int(d)) for d in (ids * 7919 % 900 + 10)])
    request_id = "R" + ids.cast(pl.Utf8)
    person_id = "P" + ids.cast(pl.Utf8)
    frames = {
        "people": pl.DataFrame({"person_id": person_id, "date_of_birth": [date(2014, 1, 1)] * n,
                                "forename": "F" + ids.cast(pl.Utf8), "surname": "S" + ids.cast(pl.Utf8)}),
        "requests": pl.DataFrame({"request_id": request_id, "person_id": person_id, "received_date": received,
                                  "request_outcome": ["Y"] * n,
                                  "case_officer": "Officer " + (ids % 60).cast(pl.Utf8),
                                  "team": "Team " + (ids % 6).cast(pl.Utf8)}),
        "assessments": pl.DataFrame({"request_id": request_id, "assessment_outcome": ["A"] * n,
                                     "week20": (ids % 25 == 0)}),
    }
    base = pl.DataFrame({"request_id": request_id, "person_id": person_id, "anchor": received})
    rows = []
    for measure, item, weeks, kind in (
        ("DECIDE_6W", None, 6, "statutory"), ("FINAL_20W", None, 20, "statutory"),
        ("DRAFT_LOCAL", None, 14, "local"), ("ADVICE_6W", "education", 8, "statutory"),
        ("ADVICE_6W", "health", 8, "statutory"), ("ADVICE_6W", "educational_psychology", 8, "statutory"),
        ("REVIEW_12M", None, 52, "statutory"), ("REVIEW_DECISION_4W", None, 30, "statutory"),
    ):
        due = pl.col("anchor") + pl.duration(days=7 * weeks)
        late = (pl.lit(AS_OF) - due).dt.total_days()
        done = pl.col("request_id").str.slice(1).cast(pl.Int64) % 3 != 0
        rows.append(base.with_columns(
            measure=pl.lit(measure), item=pl.lit(item, pl.Utf8), anchor_date=pl.col("anchor"), due_date=due,
            completed_date=pl.when(done).then(pl.col("anchor") + pl.duration(days=7 * weeks - 3)),
            status=pl.when(done).then(pl.lit("met")).when(late > 0).then(pl.lit("overdue"))
            .when(late > -14).then(pl.lit("due_soon")).otherwise(pl.lit("pending")),
            days_late=pl.when(~done & (late > 0)).then(late),
            exception=(pl.lit(measure) == "FINAL_20W") & (pl.col("request_id").str.ends_with("5")),
            very_late=pl.when(~done & (late >= 42)).then(True).otherwise(False) & (pl.lit(kind) == "statutory"),
            stage=pl.when(pl.lit(measure) == "FINAL_20W").then(pl.lit("drafting")),
            kind=pl.lit(kind), basis=pl.lit("reg"),
            plan_id=pl.lit(None, pl.Utf8),
        ).drop("anchor"))
    results = pl.concat(rows).with_columns(pl.col("days_late").cast(pl.Int64))
    return frames, results


def run(url: str, n: int) -> None:
    from ehcp_monitor import config
    from ehcp_monitor.db.bulk import write_frame
    from ehcp_monitor.db.connect import make_engine
    from ehcp_monitor.db.migrate import upgrade_head
    from ehcp_monitor.db.models import CheckRun
    from ehcp_monitor.db.snapshot import Snapshot, replace_snapshot
    from ehcp_monitor.late_list import build as build_module
    from ehcp_monitor.late_list.content import compose
    from ehcp_monitor.late_list.inputs import load_inputs
    from ehcp_monitor.late_list.render import render_csv, render_email_html, render_html, render_xlsx

    engine = make_engine(url)
    upgrade_head(engine)
    frames, results = caseload(n)
    now = datetime(2025, 3, 14, tzinfo=UTC)
    with engine.begin() as conn:
        replace_snapshot(conn, Snapshot.from_frames(frames, ingest_id=1), loaded_at=now)
        conn.execute(insert(CheckRun).values(id=1, as_of=AS_OF, ingest_id=1, started_at=now, counts={}))
        write_frame(conn, "check_results", results.with_columns(run_id=pl.lit(1)))
        overdue = results.filter(pl.col("status") == "overdue")
        write_frame(conn, "overdue_history", overdue.select(
            "measure", "request_id", "plan_id", "person_id", "item", "anchor_date", "due_date", "days_late",
            "very_late").with_columns(run_id=pl.lit(1), as_of=pl.lit(AS_OF)))
    timings = {}
    t = time.perf_counter()
    inputs = load_inputs(engine, as_of=AS_OF)
    timings["read"] = time.perf_counter() - t
    t = time.perf_counter()
    content = compose(inputs)
    timings["compose"] = time.perf_counter() - t
    sizes = {}
    for name, render in (("html", render_html), ("email body", render_email_html), ("xlsx", render_xlsx),
                         ("csv", render_csv)):
        t = time.perf_counter()
        out = render(content)
        timings[name] = time.perf_counter() - t
        sizes[name] = len(out.encode("utf-8") if isinstance(out, str) else out) / 1e6
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        built = build_module.build_late_list(engine, config.defaults(), as_of=AS_OF, out_dir=folder)
    timings["build_late_list (all)"] = time.perf_counter() - t
    # The body as sent: with the targets, review recovery and capacity sections the build adds.
    sizes["email body as built"] = len(built.email_html.encode("utf-8")) / 1e6
    engine.dispose()
    overdue = inputs.results.filter(pl.col("status") == "overdue").height
    print(f"{url.split(':')[0]}: {n} requests, {results.height} result rows, {overdue} overdue, "
          f"{content.very_late_20w.height} very late 20-week, {content.at_risk_20w.height} at risk")
    for step, seconds in timings.items():
        print(f"  {step:<24} {seconds:7.2f} s")
    print("  sizes MB: " + ", ".join(f"{k} {v:.3f}" for k, v in sizes.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    import structlog
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as folder:
            run(f"sqlite:///{folder}/bench.sqlite3", args.requests)
    if args.only != "sqlite":
        with scratch_schema() as url:
            run(url, args.requests)


if __name__ == "__main__":
    main()
