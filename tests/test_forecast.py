"""The 20-week breach forecast on hand-made histories (pure: polars frames in, frames out)."""

from datetime import date, timedelta

import polars as pl

from ehcp_monitor.domain.results import RESULT_SCHEMA
from ehcp_monitor.forecast import (
    DEFAULT_DAYS,
    MIN_HISTORY_CASES,
    STAGES,
    forecast_20_week,
    stage_entries,
)

AS_OF = date(2025, 3, 14)
D = date


def day(n: int) -> date:
    return AS_OF + timedelta(days=n)


def results(rows) -> pl.DataFrame:
    """FINAL_20W rows: (request, status, due, completed, stage)."""
    full = [{**dict.fromkeys(RESULT_SCHEMA), "measure": "FINAL_20W", "request_id": r, "status": status,
             "due_date": due, "completed_date": done, "stage": stage} for r, status, due, done, stage in rows]
    return pl.DataFrame(full, schema=RESULT_SCHEMA)


def entries(rows) -> pl.DataFrame:
    """(request, stage, entered) -> one row per request, one column per stage."""
    frame = pl.DataFrame(rows, schema={"request_id": pl.Utf8, "stage": pl.Utf8, "entered": pl.Date}, orient="row")
    wide = frame.pivot(on="stage", index="request_id", values="entered")
    return wide.with_columns(pl.lit(None, pl.Date).alias(s) for s in STAGES if s not in wide.columns).select(
        "request_id", *STAGES)


# Twenty cases issued 5 days ago, 5, 10, ... 100 days after their advice was all in (entered drafting).
HISTORY = [(f"H{n}", "met", day(-200), day(-5), None) for n in range(20)]
HISTORY_ENTRIES = [(f"H{n}", "drafting", day(-5 - 5 * (n + 1))) for n in range(20)]


def test_median_and_80th_percentile_per_stage_from_the_last_12_months():
    old = [("OLD", "late", day(-500), day(-365), None)]  # issued 365 days ago: outside the window
    edge = [("EDGE", "late", day(-500), day(-364), None)]  # 364 days ago: inside
    forecast = forecast_20_week(
        results(HISTORY + old + edge),
        entries(HISTORY_ENTRIES + [("OLD", "drafting", day(-700)), ("EDGE", "drafting", day(-364 - 1000))]),
        as_of=AS_OF,
    )
    basis = {row["stage"]: row for row in forecast.basis.iter_rows(named=True)}
    # 21 durations: 5, 10, ..., 100 and 1000 (linear interpolation, rounded up to a whole day).
    days = sorted([5 * (n + 1) for n in range(20)] + [1000])
    assert basis["drafting"]["cases"] == 21
    assert basis["drafting"]["median_days"] == days[10] == 55
    assert basis["drafting"]["p80_days"] == 85  # position 16 of 0..20
    assert basis["drafting"]["source"] == "history"
    assert [basis[s]["source"] for s in STAGES if s != "drafting"] == ["default"] * 5
    assert basis["finalising"]["cases"] == 0
    assert (basis["finalising"]["median_days"], basis["finalising"]["p80_days"]) == DEFAULT_DAYS["finalising"]


def test_too_little_history_falls_back_to_the_defaults():
    nine = HISTORY[:MIN_HISTORY_CASES - 1]
    thin = forecast_20_week(results(nine), entries(HISTORY_ENTRIES[:MIN_HISTORY_CASES - 1]), as_of=AS_OF)
    row = thin.basis.filter(pl.col("stage") == "drafting").row(0, named=True)
    assert (row["cases"], row["median_days"], row["p80_days"], row["source"]) == (9, 56, 84, "default")
    ten = forecast_20_week(results(HISTORY[:MIN_HISTORY_CASES]), entries(HISTORY_ENTRIES[:MIN_HISTORY_CASES]),
                           as_of=AS_OF)
    row = ten.basis.filter(pl.col("stage") == "drafting").row(0, named=True)
    # 5, 10, ... 50 days: median 27.5 -> 28, 80th percentile 41.
    assert (row["cases"], row["median_days"], row["p80_days"], row["source"]) == (10, 28, 41, "history")


def test_forecast_dates_days_late_and_at_risk():
    open_cases = [
        ("O1", "pending", day(40), None, "drafting"),  # just entered drafting
        ("O2", "pending", day(40), None, "drafting"),  # 30 days in drafting
        ("O3", "due_soon", day(20), None, "drafting"),  # 70 days in: longer than 10 of the history
        ("O4", "overdue", day(-3), None, "drafting"),  # already late: not a forecast
        ("O5", "due_soon", day(11), None, "finalising"),  # no history: the defaults
        ("O6", "pending", day(60), None, None),  # no stage recorded: from the request, with the defaults
    ]
    found = forecast_20_week(
        results(HISTORY + open_cases),
        entries(HISTORY_ENTRIES + [("O1", "drafting", AS_OF), ("O2", "drafting", day(-30)),
                                   ("O3", "drafting", day(-70)), ("O4", "drafting", day(-100)),
                                   ("O5", "finalising", day(-2)), ("O6", "awaiting_decision", day(-10))]),
        as_of=AS_OF,
    )
    rows = {r["request_id"]: r for r in found.cases.iter_rows(named=True)}
    assert set(rows) == {"O1", "O2", "O3", "O5", "O6"}
    got = {k: (r["forecast_median"], r["forecast_p80"], r["days_late_median"], r["at_risk"], r["source"])
           for k, r in rows.items()}
    assert got == {
        # durations 5..100: median 52.5 -> 53, 80th percentile 81
        "O1": (day(53), day(81), 13, True, "history"),
        # 4 whole weeks in: the 15 cases that took over 28 days had 2, 7, ... 72 left: median 37, 80th 58;
        # 2 more days have passed since
        "O2": (day(35), day(56), -5, False, "history"),
        # 10 weeks in: only 6 cases took longer, too few: default 56 - 70 days, so the next stage's 28 (42)
        "O3": (day(28), day(42), 8, True, "default"),
        # finalising defaults 13 and 20, 2 days in: issued on the due date is on time
        "O5": (day(11), day(18), 0, False, "default"),
        # awaiting decision defaults 140 (210), 10 days in
        "O6": (day(130), day(200), 70, True, "default"),
    }
    assert found.at_risk["request_id"].to_list() == ["O3", "O1", "O6"]  # soonest due first
    assert rows["O2"]["stage"] == "drafting" and rows["O6"]["stage"] == "awaiting_decision"


def test_stage_entries_from_the_snapshot_dates_known_on_the_as_of_date():
    requests = pl.DataFrame({
        "request_id": ["R1", "R2", "R3", "R4"],
        "received_date": [D(2025, 1, 1), D(2025, 1, 10), D(2024, 12, 1), D(2025, 3, 20)],
        "request_outcome": ["Y", "A", "Y", "A"],
        "request_outcome_date": [D(2025, 2, 1), None, D(2024, 12, 20), None],
    })
    advice = pl.DataFrame({
        "request_id": ["R1", "R1", "R2", "R3", "R3"],
        "requested_date": [D(2025, 2, 10), D(2025, 2, 5), D(2025, 3, 20), D(2025, 1, 2), D(2025, 1, 3)],
        "received_date": [D(2025, 3, 1), D(2025, 2, 20), None, D(2025, 1, 30), D(2025, 3, 15)],
    })
    drafts = pl.DataFrame({"request_id": ["R1"], "draft_plan_date": [D(2025, 3, 5)]})
    got = {r["request_id"]: r for r in stage_entries(requests, advice, drafts, as_of=AS_OF).iter_rows(named=True)}
    assert got["R1"] == {
        "request_id": "R1", "awaiting_decision": D(2025, 1, 1), "awaiting_advice_requests": D(2025, 2, 1),
        "gathering_advice": D(2025, 2, 5), "drafting": D(2025, 3, 1), "draft_comments": D(2025, 3, 5),
        "finalising": D(2025, 3, 20),
    }
    # Undecided; its only advice request is after the as-of date, so not yet known.
    assert (got["R2"]["awaiting_advice_requests"], got["R2"]["gathering_advice"]) == (None, None)
    # One advice received after the as-of date: not yet all in, so not yet drafting.
    assert (got["R3"]["gathering_advice"], got["R3"]["drafting"]) == (D(2025, 1, 2), None)
    assert got["R4"]["awaiting_decision"] is None  # received after the as-of date
