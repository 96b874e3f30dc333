"""Back-test of the 20-week breach forecast (ehcp_monitor/forecast.py) on synthetic history.

    .venv/bin/python bench/forecast.py [--people 20000] [--seed 2025] [--weeks 26]

One synthetic caseload is generated as of END. Every week for `--weeks` weeks up to END - 8 weeks
the check engine evaluates it "as of" that Monday (dates after it are not yet known), and the
forecast is made for the open 20-week cases falling due 8 weeks later (in the week ending on
as-of + 56 days, so each case is forecast once, 8 weeks ahead). What happened comes from the
evaluation as of END: a case breached if its plan was not issued by its due date. Cases closed
(withdrawn) before their due date are left out. Prints precision and recall of "at risk" for the
forecast (median and 80th percentile) and for the naive rule "due within 8 weeks and not yet at
drafting" (stage awaiting_decision, awaiting_advice_requests or gathering_advice). Asserts nothing.
"""

import argparse
import time
from datetime import date, timedelta

import polars as pl

END = date(2026, 6, 29)
AHEAD_DAYS = 56
NOT_YET_DRAFTING = ("awaiting_decision", "awaiting_advice_requests", "gathering_advice")


def score(flag: pl.Series, breached: pl.Series) -> tuple[float, float, int]:
    hits = int((flag & breached).sum())
    flagged, actual = int(flag.sum()), int(breached.sum())
    return (hits / flagged if flagged else 0.0, hits / actual if actual else 0.0, flagged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--weeks", type=int, default=26)
    args = parser.parse_args()

    from ehcp_monitor import config
    from ehcp_monitor.checks.clock_engine import evaluate
    from ehcp_monitor.db.snapshot import Snapshot
    from ehcp_monitor.forecast import forecast_20_week, stage_entries
    from ehcp_monitor.synthetic.generate import generate

    started = time.perf_counter()
    frames = generate(people=args.people, seed=args.seed, as_of=END)
    snapshot = Snapshot.from_frames(frames, ingest_id=1)
    settings = config.defaults()
    final = evaluate(snapshot, settings, END).filter(pl.col("measure") == "FINAL_20W")
    outcome = final.select(
        "request_id", "due_date",
        breached=pl.col("completed_date").is_null() | (pl.col("completed_date") > pl.col("due_date")),
        closed=pl.col("status") == "closed",
    )
    tables = snapshot.tables
    last = END - timedelta(days=AHEAD_DAYS)
    rows = []
    for week in range(args.weeks):
        as_of = last - timedelta(days=7 * week)
        results = evaluate(snapshot, settings, as_of)
        entries = stage_entries(tables["requests"], tables["advice"], tables["drafts"], as_of=as_of)
        cases = forecast_20_week(results, entries, as_of=as_of).cases.filter(
            pl.col("due_date").is_between(as_of + timedelta(days=AHEAD_DAYS - 6), as_of + timedelta(days=AHEAD_DAYS))
        )
        rows.append(cases.with_columns(as_of=pl.lit(as_of)))
    scored = (
        pl.concat(rows)
        .join(outcome, on=["request_id", "due_date"], how="inner")
        .filter(~pl.col("closed"))
        .with_columns(naive=pl.col("stage").is_in(NOT_YET_DRAFTING), p80=pl.col("days_late_p80") > 0)
    )
    breached = scored["breached"]
    print(f"{args.people:,} people, seed {args.seed}, {args.weeks} weekly forecasts up to {last}, "
          f"outcomes as of {END} ({time.perf_counter() - started:.0f} s)")
    print(f"  cases forecast 8 weeks before due: {scored.height:,}; breached: {int(breached.sum()):,} "
          f"({breached.mean():.1%})")
    print(f"  {'rule':<44} {'flagged':>8} {'precision':>10} {'recall':>8}")
    for label, flag in (
        ("forecast (median after due date: at risk)", scored["at_risk"]),
        ("forecast, 80th percentile after due date", scored["p80"]),
        ("naive (due within 8 weeks, not yet drafting)", scored["naive"]),
    ):
        precision, recall, flagged = score(flag, breached)
        print(f"  {label:<44} {flagged:>8,} {precision:>10.1%} {recall:>8.1%}")
    print("  by stage at the forecast (cases, breached, flagged at risk):")
    by_stage = scored.group_by("stage").agg(
        cases=pl.len(), breached=pl.col("breached").mean(), at_risk=pl.col("at_risk").mean()
    ).sort("stage")
    for stage, cases, share, flagged in by_stage.iter_rows():
        print(f"    {stage:<26} {cases:>6,} {share:>7.1%} {flagged:>7.1%}")


if __name__ == "__main__":
    main()
