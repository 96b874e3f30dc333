"""Every KPI of the board pack, from stored data, vectorised in polars (docs/board-pack.md).

Clock-defined KPIs read the stored check results (never recompute a clock): a KPI is a set of
events, each with the date that puts it in a period and whether it was on time. Point-in-time
KPIs (reviews overdue, open caseload) are evaluated on each period's last day. Only counts leave
this module: no row identifies a child.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

import polars as pl
from sqlalchemy import Engine, select

from ehcp_monitor.board_pack.benchmarks import Comparator, comparators, read_figures
from ehcp_monitor.board_pack.period import Period
from ehcp_monitor.db.bulk import read_table, read_tables
from ehcp_monitor.db.in_force import reads_results
from ehcp_monitor.db.models import IngestRun
from ehcp_monitor.db.outbox import OUTBOX_SCHEMA, read_outbox
from ehcp_monitor.db.quarantine import read_codes
from ehcp_monitor.db.results import latest_check, read_results
from ehcp_monitor.db.snapshot import Snapshot
from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.domain.measures import MEASURES_BY_CODE, PACK_MEASURES
from ehcp_monitor.domain.vocabulary import (
    DAYS_20W,
    DAYS_52W,
    HEADLINE_KPIS,
    KPI_SPECS,
    TOUCHPOINT_STAGE_WORDS,
    TOUCHPOINT_STAGES,
    KpiSpec,
    words,
)
from ehcp_monitor.promise import promise_by_stage_and_month

if TYPE_CHECKING:
    from ehcp_monitor.board_pack.dfe_year import DfeYear

# The stored results' columns the pack reads (types: domain.results.RESULT_SCHEMA).
RESULT_COLUMNS = ("measure", "request_id", "plan_id", "anchor_date", "due_date", "completed_date", "status",
                  "exception")
# Only the snapshot columns the pack needs (no names, dates of birth or contacts are read).
SNAPSHOT_COLUMNS = {
    "requests": {"request_id": pl.Utf8, "received_date": pl.Date, "request_outcome": pl.Utf8,
                 "request_source": pl.Utf8},
    "assessments": {"request_id": pl.Utf8, "assessment_mediation": pl.Boolean, "assessment_tribunal": pl.Boolean},
    "plans": {"plan_id": pl.Utf8, "cease_date": pl.Date},
    "qa_audits": {"plan_id": pl.Utf8, "audit_date": pl.Date, "plan_kind": pl.Utf8, "rating": pl.Utf8},
    "reviews": {"plan_id": pl.Utf8, "decision_date": pl.Date, "outcome": pl.Utf8},
}
TOUCHPOINT_SCHEMA = {"stage": pl.Utf8, "status": pl.Utf8, "planned_as_of": pl.Date}
TOUCHPOINT_STATUSES = ("sent", "suppressed", "failed")
GOOD_OR_BETTER = ("outstanding", "good")
SPECS, HEADLINE = KPI_SPECS, HEADLINE_KPIS  # the KPIs, declared once in domain/vocabulary.py

# DfE's three bands of time from request to issue (docs/rules.md, Late and very late), in days.
_6W = MEASURES_BY_CODE["DECIDE_6W"].days or 0
ISSUE_BANDS = (("Within 20 weeks", 0, DAYS_20W), ("Over 20 and up to 52 weeks", DAYS_20W + 1, DAYS_52W),
               ("Over 52 weeks", DAYS_52W + 1, None))
OPEN_BANDS = (("Up to 6 weeks", 0, _6W), ("Over 6 and up to 20 weeks", _6W + 1, DAYS_20W),
              ("Over 20 and up to 52 weeks", DAYS_20W + 1, DAYS_52W), ("Over 52 weeks", DAYS_52W + 1, None))
OVERDUE_AGE_BANDS = (("Up to 4 weeks", 1, 28), ("Over 4 weeks to 3 months", 29, 91),
                     ("Over 3 to 6 months", 92, 182), ("Over 6 to 12 months", 183, 365),
                     ("Over 12 months", 366, None))


@dataclass(frozen=True)
class Figure:
    numerator: int | None  # None for counts
    denominator: int | None
    value: float | None  # the percentage (one decimal place) or the count
    suppressed: bool = False  # hidden when publishing as part of a group (suppress.py)


@dataclass
class Kpi:
    spec: KpiSpec
    current: Figure
    previous: Figure
    trend: list[tuple[date, Figure]]
    target: float | None
    rag: str  # green | amber | red | no target | no data
    comparators: list[Comparator] = field(default_factory=list)
    england: dict[int, float] = field(default_factory=dict)  # DfE's England figure by calendar year


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list]  # first cell a label; the others counts (int), rates (float) or text
    count_columns: set[int] = field(default_factory=set)  # cells suppressed when publishing
    note: str = ""
    total_row: bool = False  # the last row adds up the others (publishing then hides more rows than one)
    # (count column, the column it is a part of): publishing checks the rest of the total too
    pairs: tuple[tuple[int, int], ...] = ()
    # row -> the row it is a subset of, count column by count column (excluding exceptions ⊂ including)
    subset_of: dict[int, int] = field(default_factory=dict)
    hide_rows: set[int] = field(default_factory=set)  # more rows to hide when publishing (suppress.py)


@dataclass
class PackData:
    period: Period
    previous: Period
    as_of: date
    kpis: dict[str, Kpi]
    tables: dict[str, Table]
    check_as_of: date | None
    benchmarks_loaded: bool
    dfe: "DfeYear | None" = None  # DfE's measures for the last full calendar year (dfe_year.py)


def pct(numerator: int, denominator: int) -> float | None:
    if not denominator:
        return None
    exact = Decimal(100 * numerator) / Decimal(denominator)
    return float(exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def rag_status(value: float | None, target: float | None, amber_margin: float) -> str:
    if value is None:
        return "no data"
    if target is None:
        return "no target"
    if value >= target:
        return "green"
    return "amber" if value >= target - amber_margin else "red"


# --- reading the store ------------------------------------------------------------------------


@dataclass
class Inputs:
    results: pl.DataFrame
    snapshot: Snapshot
    touchpoints: pl.DataFrame
    check_as_of: date | None
    quarantine_runs: list[tuple[int, date]]  # loaded ingests: (id, day started)
    quarantine: pl.DataFrame  # ingest_id, code
    figures: pl.DataFrame
    outbox: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=OUTBOX_SCHEMA))  # the promise


@reads_results("board pack")
def read_inputs(engine: Engine) -> Inputs:
    with engine.connect() as conn:
        results = read_results(conn, measures=PACK_MEASURES, columns=RESULT_COLUMNS)
        touchpoints = read_table(conn, "touchpoints", TOUCHPOINT_SCHEMA)
        outbox = read_outbox(conn)
        latest = latest_check(conn)
        check_as_of = latest.as_of if latest else None
        runs = conn.execute(
            select(IngestRun.id, IngestRun.as_of).where(IngestRun.status == "loaded").order_by(IngestRun.id)
        ).all()
        quarantine = read_codes(conn)
        snapshot = Snapshot.from_frames(read_tables(conn, SNAPSHOT_COLUMNS))
    return Inputs(
        results=results,
        snapshot=snapshot,
        touchpoints=touchpoints,
        check_as_of=check_as_of,
        quarantine_runs=[(r.id, r.as_of) for r in runs],
        quarantine=quarantine,
        figures=read_figures(engine),
        outbox=outbox,
    )


# --- events: (event_date, hit) ------------------------------------------------------------------


def _completed(results: pl.DataFrame, measure: str) -> pl.DataFrame:
    return results.filter((pl.col("measure") == measure) & pl.col("completed_date").is_not_null())


def _on_time() -> pl.Expr:
    return pl.col("completed_date").is_not_null() & (pl.col("completed_date") <= pl.col("due_date"))


def issued_plans(inputs: Inputs) -> pl.DataFrame:
    """FINAL_20W clocks completed (plans issued), mediation and tribunal cases left out (DfE)."""
    flags = inputs.snapshot["assessments"].select(
        "request_id",
        (pl.col("assessment_mediation").fill_null(False) | pl.col("assessment_tribunal").fill_null(False))
        .alias("disputed"),
    )
    return (
        _completed(inputs.results, "FINAL_20W")
        .join(flags, on="request_id", how="left")
        .filter(~pl.col("disputed").fill_null(False))
        .with_columns((pl.col("completed_date") - pl.col("anchor_date")).dt.total_days().alias("days"))
    )


def rate_events(inputs: Inputs, as_of: date) -> dict[str, pl.DataFrame]:
    r = inputs.results
    plans = issued_plans(inputs)
    by_completion = {
        code: _completed(r, measure).select(pl.col("completed_date").alias("event_date"), _on_time().alias("hit"))
        for code, measure in (("decide_6w", "DECIDE_6W"), ("not_issue_16w", "NOT_ISSUE_16W"),
                              ("review_decision_4w", "REVIEW_DECISION_4W"), ("amend_8w", "AMEND_FINAL_8W"))
    }
    # Cycles and transfers count in the period they fall due; closed ones were never due.
    by_due = {
        code: r.filter((pl.col("measure") == measure) & (pl.col("status") != "closed"))
        .select(pl.col("due_date").alias("event_date"), _on_time().alias("hit"))
        for code, measure in (("review_12m", "REVIEW_12M"), ("review_ey", "REVIEW_EY"),
                              ("phase_transfer", "PHASE_TRANSFER"))
    }
    qa = inputs.snapshot["qa_audits"].select(
        pl.col("audit_date").alias("event_date"), pl.col("rating").is_in(GOOD_OR_BETTER).alias("hit")
    )
    events = {
        "final_20w": plans.select(pl.col("completed_date").alias("event_date"),
                                  (pl.col("days") <= DAYS_20W).alias("hit")),
        "final_20w_ex": plans.filter(~pl.col("exception").fill_null(False))
        .select(pl.col("completed_date").alias("event_date"), (pl.col("days") <= DAYS_20W).alias("hit")),
        **by_completion,
        **by_due,
        "qa_good": qa,
        "requests": inputs.snapshot["requests"].select(
            pl.col("received_date").alias("event_date"), pl.lit(True).alias("hit")
        ),
    }
    # Nothing after the as-of date is known yet (docs/rules.md, Status on the as-of date).
    return {k: v.filter(pl.col("event_date") <= as_of) for k, v in events.items()}


def figure_between(events: pl.DataFrame, start: date, end: date, unit: str) -> Figure:
    window = events.filter(pl.col("event_date").is_between(start, end))
    if unit == "count":
        return Figure(None, None, window.height)
    hits = int(window["hit"].sum())
    return Figure(hits, window.height, pct(hits, window.height))


def monthly_figures(events: pl.DataFrame, months: list[date], unit: str, as_of: date) -> list[tuple[date, Figure]]:
    agg = (
        events.group_by(pl.col("event_date").dt.truncate("1mo").alias("month"))
        .agg(pl.len().alias("n"), pl.col("hit").sum().alias("hits"))
    )
    found = {row["month"]: (row["n"], row["hits"]) for row in agg.iter_rows(named=True)}
    out = []
    for month in months:
        if month > as_of:
            continue
        n, hits = found.get(month, (0, 0))
        out.append((month, Figure(None, None, n) if unit == "count" else Figure(hits, n, pct(hits, n))))
    return out


# --- point-in-time KPIs -----------------------------------------------------------------------


def _on_days(frame: pl.DataFrame, days: list[date]) -> pl.DataFrame:
    return frame.join(pl.DataFrame({"day": days}, schema={"day": pl.Date}), how="cross")


def overdue_reviews(inputs: Inputs, days: list[date]) -> pl.DataFrame:
    """Review cycles overdue on each day (columns day, days_overdue)."""
    cease = inputs.snapshot["plans"].select("plan_id", "cease_date")
    cycles = (
        inputs.results.filter(pl.col("measure").is_in(["REVIEW_12M", "REVIEW_EY"]) & (pl.col("status") != "closed"))
        .join(cease, on="plan_id", how="left")
    )
    d = pl.col("day")
    return _on_days(cycles, days).filter(
        (pl.col("due_date") < d)
        & (pl.col("completed_date").is_null() | (pl.col("completed_date") > d))
        & (pl.col("cease_date").is_null() | (pl.col("cease_date") > d))
    ).select("day", (d - pl.col("due_date")).dt.total_days().alias("days_overdue"))


def open_cases(inputs: Inputs, days: list[date]) -> pl.DataFrame:
    """Requests open on each day: received, and neither decided-not-to-assess nor concluded (columns
    day, days_open). Withdrawn cases (status closed) are left out: their end date is not known."""
    r = inputs.results.filter(pl.col("measure").is_in(["DECIDE_6W", "FINAL_20W", "NOT_ISSUE_16W"]))
    per_request = r.group_by("request_id").agg(
        pl.col("anchor_date").min().alias("start"),
        (pl.col("status") == "closed").any().alias("withdrawn"),
        pl.col("measure").is_in(["FINAL_20W", "NOT_ISSUE_16W"]).any().alias("assessed"),
        pl.col("completed_date").filter(pl.col("measure") != "DECIDE_6W").max().alias("concluded"),
        pl.col("completed_date").filter(pl.col("measure") == "DECIDE_6W").max().alias("decided"),
    ).filter(~pl.col("withdrawn"))
    end = pl.when(pl.col("assessed")).then(pl.col("concluded")).otherwise(pl.col("decided"))
    d = pl.col("day")
    return _on_days(per_request.with_columns(end.alias("end")), days).filter(
        (pl.col("start") <= d) & (pl.col("end").is_null() | (pl.col("end") > d))
    ).select("day", (d - pl.col("start")).dt.total_days().alias("days_open"))


def _band_counts(frame: pl.DataFrame, column: str, bands) -> list[int]:
    return [
        frame.filter(pl.col(column).is_between(lo, hi) if hi is not None else pl.col(column) >= lo).height
        for _, lo, hi in bands
    ]


def _counts_per_day(frame: pl.DataFrame, days: list[date]) -> dict[date, int]:
    counts = frame.group_by("day").len()
    found = dict(zip(counts["day"].to_list(), counts["len"].to_list(), strict=False))
    return {d: found.get(d, 0) for d in days}


# --- the tables -------------------------------------------------------------------------------


def issue_bands_table(inputs: Inputs, period: Period, as_of: date) -> Table:
    plans = issued_plans(inputs).filter(pl.col("completed_date").is_between(period.start, min(period.end, as_of)))
    rows = []
    for label, frame in (("Including exceptions", plans),
                         ("Excluding exceptions", plans.filter(~pl.col("exception").fill_null(False)))):
        counts = _band_counts(frame, "days", ISSUE_BANDS)
        row: list = [label, frame.height]
        for c in counts:
            row += [c, pct(c, frame.height)]
        rows.append(row)
    cols = ["", "Plans issued"]
    for band, _, _ in ISSUE_BANDS:
        cols += [band, "%"]
    return Table("Time from request to issue, DfE bands", cols, rows, count_columns={1, 2, 4, 6},
                 pairs=((2, 1), (4, 1), (6, 1)), subset_of={1: 0},
                 note="Mediation and tribunal cases are left out, as DfE counts them.")


def qa_table(inputs: Inputs, months: list[date], as_of: date) -> Table:
    qa = inputs.snapshot["qa_audits"].filter(pl.col("audit_date") <= as_of).with_columns(
        pl.col("audit_date").dt.truncate("1mo").alias("month"), pl.col("rating").is_in(GOOD_OR_BETTER).alias("good")
    )
    agg = qa.group_by("month", "plan_kind").agg(pl.len().alias("n"), pl.col("good").sum().alias("good"))
    found = {(r["month"], r["plan_kind"]): (r["n"], r["good"]) for r in agg.iter_rows(named=True)}
    rows = []
    for month in months:
        if month > as_of:
            continue
        row: list = [month.strftime("%b %Y")]
        for kind in ("draft", "amended"):
            n, good = found.get((month, kind), (0, 0))
            row += [n, good, pct(good, n)]
        rows.append(row)
    return Table("Quality assurance audits: plans rated good or better, by month",
                 ["Month", "Draft audited", "Draft good+", "Draft %", "Amended audited", "Amended good+",
                  "Amended %"], rows, count_columns={1, 2, 4, 5}, pairs=((2, 1), (5, 4)))


def touchpoint_table(inputs: Inputs, period: Period) -> Table:
    tp = inputs.touchpoints.filter(
        pl.col("planned_as_of").is_between(period.start, period.end) & pl.col("status").is_in(TOUCHPOINT_STATUSES)
    )
    agg = tp.group_by("stage", "status").len()
    found = {(r["stage"], r["status"]): r["len"] for r in agg.iter_rows(named=True)}
    seen = {s for s, _ in found}
    stages = [s for s in TOUCHPOINT_STAGES if s in seen] + sorted(seen - set(TOUCHPOINT_STAGES))
    rows = [[words(s, TOUCHPOINT_STAGE_WORDS)] + [found.get((s, st), 0) for st in TOUCHPOINT_STATUSES]
            for s in stages]
    rows.append(["All stages"] + [sum(found.get((s, st), 0) for s in stages) for st in TOUCHPOINT_STATUSES])
    return Table("Touchpoints to families, by stage", ["Stage", "Sent", "Suppressed", "Failed"], rows,
                 count_columns={1, 2, 3}, total_row=True,
                 note="Touchpoints planned in the period. Suppressed: the event was "
                 "already too old to tell the family about when first seen.")


def promise_table(inputs: Inputs, period: Period, as_of: date) -> Table:
    """Stage events seen in the period told within one working day (docs/touchpoints.md, The promise, measured)."""
    found = promise_by_stage_and_month(inputs.outbox, as_of=as_of).filter(
        pl.col("month").is_between(period.start, period.end))
    several = found.get_column("month").n_unique() > 1
    order = {s: i for i, s in enumerate(TOUCHPOINT_STAGES)}
    counted = ("events", "within", "later", "not_sent", "waiting")
    rows = []
    for r in sorted(found.iter_rows(named=True), key=lambda r: (r["month"], order.get(r["stage"], len(order)))):
        label = str(words(r["stage"], TOUCHPOINT_STAGE_WORDS)) + (f" ({r['month']:%b %Y})" if several else "")
        rows.append([label, r["events"], r["within"], pct(r["within"], r["events"] - r["waiting"]),
                     r["later"], r["not_sent"], r["waiting"]])
    totals = {c: int(found.get_column(c).sum()) for c in counted}
    rows.append(["All stages", totals["events"], totals["within"],
                 pct(totals["within"], totals["events"] - totals["waiting"]), totals["later"], totals["not_sent"],
                 totals["waiting"]])
    return Table("Stage events told within one working day of being seen",
                 ["Stage", "Events", "Within one working day", "%", "Later", "Not sent", "Waiting"], rows,
                 count_columns={1, 2, 4, 5, 6}, total_row=True, pairs=((2, 1), (4, 1), (5, 1), (6, 1)),
                 note="Events seen in the period. Kept: a message went out (by email, text or letter) by the end of "
                 "the working day after the event was seen. %: of the events no longer waiting. Not counted: "
                 "events before go-live, events already too old when seen, and families who opted out.")


QUARANTINE_TITLE = "Data quality: rows quarantined, by problem"
QUARANTINE_COLUMNS = ["Code", "Problem", "Rows"]


def quarantine_table(inputs: Inputs, period: Period) -> Table:
    """Rows the last load up to the period's end set aside, by finding: its code (what the data team
    looks up) and its title in words (what the board reads)."""
    runs = [rid for rid, day in inputs.quarantine_runs if day <= period.end]
    if not runs:
        return Table(QUARANTINE_TITLE, QUARANTINE_COLUMNS, [], count_columns={2},
                     note="No data was loaded by the end of the period.")
    last = runs[-1]
    agg = inputs.quarantine.filter(pl.col("ingest_id") == last).group_by("code").len().sort("code")
    rows = [[r["code"], FINDING_CODES.get(r["code"], (r["code"],))[0], r["len"]] for r in agg.iter_rows(named=True)]
    rows.append(["All codes", "", int(agg["len"].sum()) if agg.height else 0])
    return Table(QUARANTINE_TITLE, QUARANTINE_COLUMNS, rows, count_columns={2},
                 total_row=True, note=f"The last data load up to the period's end (ingest {last}).")


def profile_table(title: str, frame: pl.DataFrame, column: str, bands, first: str, note: str) -> Table:
    counts = _band_counts(frame, column, bands)
    rows = [[label, c] for (label, _, _), c in zip(bands, counts, strict=False)] + [["All", frame.height]]
    return Table(title, [first, "Number"], rows, count_columns={1}, note=note, total_row=True)


# --- the whole pack ---------------------------------------------------------------------------


def compute_pack(inputs: Inputs, settings, period: Period, as_of: date) -> PackData:
    bp = settings.board_pack
    previous = period.previous()
    months = period.trend_months()
    events = rate_events(inputs, as_of)
    kpis: dict[str, Kpi] = {}
    england = england_by_year(inputs.figures)

    def add(code: str, current: Figure, prev: Figure, trend: list[tuple[date, Figure]]) -> None:
        spec = SPECS[code]
        target = bp.targets.get(code) if spec.unit == "%" else None
        kpis[code] = Kpi(
            spec, current, prev, trend, target,
            rag_status(current.value, target, bp.amber_margin) if spec.unit == "%" else
            ("no data" if current.value is None else "no target"),
            # Published annual counts are no yardstick for a month's count: rates only.
            comparators(inputs.figures, code, settings.la.code, list(bp.statistical_neighbours))
            if spec.unit == "%" else [],
            england.get(code, {}) if spec.unit == "%" else {},
        )

    for code, ev in events.items():
        unit = SPECS[code].unit
        add(code, figure_between(ev, period.start, period.end, unit),
            figure_between(ev, previous.start, previous.end, unit), monthly_figures(ev, months, unit, as_of))

    # Point in time: each period's last day (or the as-of date, if earlier); trend at month ends.
    def day_of(p: Period) -> date:
        return min(p.end, as_of)

    trend_days = [min(_month_end(m), as_of) for m in months if m <= as_of]
    days = sorted({day_of(period), day_of(previous), *trend_days})
    overdue = overdue_reviews(inputs, days)
    opened = open_cases(inputs, days)
    for code, frame in (("reviews_overdue", overdue), ("open_caseload", opened)):
        per_day = _counts_per_day(frame, days)
        trend_months = [m for m in months if m <= as_of]
        add(code, Figure(None, None, per_day[day_of(period)]), Figure(None, None, per_day[day_of(previous)]),
            [(m, Figure(None, None, per_day[d])) for m, d in zip(trend_months, trend_days, strict=False)])

    end = day_of(period)
    tables = {
        "issue_bands": issue_bands_table(inputs, period, as_of),
        "overdue_age": profile_table(
            f"Reviews overdue on {end.day} {end:%B %Y}, by time overdue", overdue.filter(pl.col("day") == end),
            "days_overdue", OVERDUE_AGE_BANDS, "Time overdue", "Active plans whose current review is overdue."),
        "open_age": profile_table(
            f"Open requests and assessments on {end.day} {end:%B %Y}, by weeks open",
            opened.filter(pl.col("day") == end),
            "days_open", OPEN_BANDS, "Weeks open", "Counted from the date the request was received."),
        "qa": qa_table(inputs, months, as_of),
        "touchpoints": touchpoint_table(inputs, period),
        "promise": promise_table(inputs, period, as_of),
        "quarantine": quarantine_table(inputs, period),
    }
    from ehcp_monitor.board_pack.dfe_year import dfe_year  # it builds on this module

    return PackData(period, previous, as_of, kpis, tables, inputs.check_as_of, inputs.figures.height > 0,
                    dfe_year(inputs, settings, as_of))


def england_by_year(figures: pl.DataFrame) -> dict[str, dict[int, float]]:
    """DfE's England figure of each measure by calendar year (for the charts' England line)."""
    national = figures.filter((pl.col("geographic_level") == "National") & pl.col("value").is_not_null()
                              & (pl.col("time_period").str.len_chars() == 4))
    out: dict[str, dict[int, float]] = {}
    for measure, period, value in national.select("measure", "time_period", "value").iter_rows():
        out.setdefault(measure, {})[int(period)] = value
    return out


def _month_end(first: date) -> date:
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return nxt - timedelta(days=1)
