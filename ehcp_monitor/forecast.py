"""Breach forecast for open 20-week cases (issue 17, point 6): pure polars, no clock, no store.

For each stage (docs/rules.md, Where a 20-week case is stuck) the history is the LA's own 20-week cases issued in the
twelve months up to the as-of date: how many days each took from entering that stage to the final
plan. An open case that has spent w whole weeks (and d more days) in its stage is compared with
the history's cases that were still not issued after w weeks in that stage: its forecast issue
date is the as-of date plus their median days left after those w weeks, less d (and again with
the 80th percentile). With fewer than MIN_HISTORY_CASES such cases the stage's DEFAULT_DAYS apply:

    remaining = max(default(stage) - days already in the stage, default(next stage))

(a case stuck longer than the timetable still has the later stages ahead of it). A case not yet
overdue whose median forecast is after its due date is **at risk**.

When a case entered each stage (the same dates the check engine derives the stage from; a date
after the as-of date is not yet known):

    awaiting_decision          the request's received date
    awaiting_advice_requests   the decision to assess (request outcome date)
    gathering_advice           the first advice request
    drafting                   the last advice received, else the decision
    draft_comments             the draft plan
    finalising                 the draft plan + 15 days (the comment window)
"""

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from ehcp_monitor.domain.measures import DRAFT_COMMENT_DAYS, measure
from ehcp_monitor.domain.vocabulary import STAGES_20W as STAGES  # in the order a case passes through them

HISTORY_DAYS = 365  # "the last 12 months"
MIN_HISTORY_CASES = 10  # fewer issued cases through a stage (after as long in it) than this: the defaults
# Days from entering the stage to the final plan when the history is too thin: the statutory
# timetable (decision by week 6, advice by week 12, draft by week 16, final by week 20) as the
# median, and half as long again (rounded up) as the 80th percentile.
_FINAL = measure("FINAL_20W").days or 0
_DECIDED = measure("DECIDE_6W").days or 0
_ADVISED = _DECIDED + (measure("ADVICE_6W").days or 0)
_DRAFTED = 16 * 7  # the Code of Practice's timetable: the draft by week 16
_MEDIAN_DAYS = {
    "awaiting_decision": _FINAL,  # 140
    "awaiting_advice_requests": _FINAL - _DECIDED,  # 98
    "gathering_advice": _FINAL - _DECIDED,
    "drafting": _FINAL - _ADVISED,  # 56
    "draft_comments": _FINAL - _DRAFTED,  # 28
    "finalising": _FINAL - _DRAFTED - DRAFT_COMMENT_DAYS,  # 13
}
DEFAULT_DAYS = {stage: (days, (3 * days + 1) // 2) for stage, days in _MEDIAN_DAYS.items()}
NEXT_STAGE = dict(zip(STAGES, STAGES[1:], strict=False))  # finalising has none: the plan is next
QUANTILES = (("median", 0.5), ("p80", 0.8))
MAX_WEEKS = 104  # time already in a stage is measured in whole weeks, up to two years

BASIS_SCHEMA = {"stage": pl.Utf8, "cases": pl.Int64, "median_days": pl.Int64, "p80_days": pl.Int64,
                "source": pl.Utf8}


@dataclass
class Forecast:
    basis: pl.DataFrame  # per stage: cases in the window, median and 80th percentile days, history/default
    cases: pl.DataFrame  # per open, not yet overdue 20-week case: forecast dates, days late, at risk

    @property
    def at_risk(self) -> pl.DataFrame:
        return self.cases.filter(pl.col("at_risk")).sort(["due_date", "request_id"])


def _known(column: str, as_of: date) -> pl.Expr:
    return pl.when(pl.col(column) <= as_of).then(pl.col(column))


def stage_entries(requests: pl.DataFrame, advice: pl.DataFrame, drafts: pl.DataFrame, *, as_of: date
                  ) -> pl.DataFrame:
    """Per request, the date it entered each stage (null when not known on `as_of`)."""
    decided = requests.select(
        "request_id",
        awaiting_decision=_known("received_date", as_of),
        decision=pl.when(pl.col("request_outcome").is_in(["Y", "N"])).then(_known("request_outcome_date", as_of)),
    )
    requested = advice.filter(pl.col("requested_date") <= as_of).group_by("request_id").agg(
        gathering_advice=pl.col("requested_date").min(),
        _all_in=_known("received_date", as_of).is_not_null().all(),
        _last_in=_known("received_date", as_of).max(),
    )
    draft = drafts.group_by("request_id").agg(draft_comments=_known("draft_plan_date", as_of).min())
    return (
        decided.join(requested, on="request_id", how="left").join(draft, on="request_id", how="left")
        .with_columns(
            awaiting_advice_requests=pl.col("decision"),
            drafting=pl.when(pl.col("_all_in").fill_null(True))
            .then(pl.coalesce(pl.max_horizontal("_last_in", "decision"), "decision")),
            finalising=pl.col("draft_comments") + timedelta(days=DRAFT_COMMENT_DAYS),
        )
        .select("request_id", *STAGES)
    )


def _long(entries: pl.DataFrame) -> pl.DataFrame:
    return entries.unpivot(index="request_id", on=list(STAGES), variable_name="stage", value_name="entered")


def _durations(results: pl.DataFrame, entries: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Per 20-week case issued in the last 12 months and stage it went through: days from it to issue."""
    issued = results.filter(
        (pl.col("measure") == "FINAL_20W")
        & pl.col("completed_date").is_between(as_of - timedelta(days=HISTORY_DAYS - 1), as_of)
    ).select("request_id", issued="completed_date")
    return (
        issued.join(_long(entries), on="request_id", how="inner")
        .filter(pl.col("entered").is_not_null() & (pl.col("entered") <= pl.col("issued")))
        .select("stage", days=(pl.col("issued") - pl.col("entered")).dt.total_days())
    )


def _quantiles(days: pl.Expr) -> dict[str, pl.Expr]:
    # Whole days, rounded up: a forecast never comes out earlier than the history says.
    # (rounded to 6 places first, so 58.000000001 from the interpolation's floating point is 58)
    return {f"{name}_days": days.quantile(q, "linear").round(6).ceil().cast(pl.Int64) for name, q in QUANTILES}


def _defaults() -> pl.DataFrame:
    return pl.DataFrame(
        {"stage": list(STAGES), "default_median": [DEFAULT_DAYS[s][0] for s in STAGES],
         "default_p80": [DEFAULT_DAYS[s][1] for s in STAGES]},
        schema_overrides={"default_median": pl.Int64, "default_p80": pl.Int64},
    )


def stage_basis(durations: pl.DataFrame) -> pl.DataFrame:
    """Per stage: issued cases through it in the window, median and 80th percentile days to issue."""
    found = durations.group_by("stage").agg(cases=pl.len(), **_quantiles(pl.col("days")))
    enough = pl.col("cases") >= MIN_HISTORY_CASES
    return (
        _defaults().join(found, on="stage", how="left")
        .with_columns(pl.col("cases").fill_null(0).cast(pl.Int64))
        .with_columns(
            source=pl.when(enough).then(pl.lit("history")).otherwise(pl.lit("default")),
            median_days=pl.when(enough).then("median_days").otherwise("default_median"),
            p80_days=pl.when(enough).then("p80_days").otherwise("default_p80"),
        )
        .select(list(BASIS_SCHEMA))
    )


def _remaining(durations: pl.DataFrame) -> pl.DataFrame:
    """Per stage and whole week already spent in it: the days the history's cases still took.

    Only cases that had not been issued after that many weeks in the stage count (a case stuck
    for long is compared with the cases that were stuck as long).
    """
    # One row per case and whole week w with days > 7w (w = 0 .. (days - 1) // 7): no cross join.
    weeks = pl.int_ranges(0, pl.min_horizontal((pl.col("days") - 1) // 7 + 1, pl.lit(MAX_WEEKS + 1)).clip(0),
                          dtype=pl.Int64)
    return (
        durations.with_columns(week=weeks)
        .explode("week")
        .filter(pl.col("week").is_not_null())
        .group_by("stage", "week")
        .agg(history=pl.len(), **_quantiles(pl.col("days") - pl.col("week") * 7))
        .filter(pl.col("history") >= MIN_HISTORY_CASES)
    )


def forecast_20_week(results: pl.DataFrame, entries: pl.DataFrame, *, as_of: date) -> Forecast:
    """The forecast for every open 20-week case not yet overdue on `as_of`.

    `results` are the stored results of one check run (the contract's columns; the stage of each
    open FINAL_20W row in `stage`); `entries` come from stage_entries() on the same as-of date.
    """
    durations = _durations(results, entries, as_of)
    remaining = _remaining(durations)
    open_cases = results.filter(
        (pl.col("measure") == "FINAL_20W") & pl.col("status").is_in(["due_soon", "pending"])
    ).select("request_id", "due_date", pl.col("stage").fill_null("awaiting_decision"))
    cases = (
        open_cases.join(_long(entries), on=["request_id", "stage"], how="left")
        .with_columns(in_stage=(pl.lit(as_of) - pl.col("entered")).dt.total_days().fill_null(0).clip(lower_bound=0))
        .with_columns(week=(pl.col("in_stage") // 7).clip(upper_bound=MAX_WEEKS))
        .join(remaining, on=["stage", "week"], how="left")
        .join(_defaults(), on="stage", how="left")
        .join(_next_defaults(), on="stage", how="left")
        .with_columns(source=pl.when(pl.col("history").is_not_null()).then(pl.lit("history"))
                      .otherwise(pl.lit("default")))
    )
    columns = {}
    for name, _ in QUANTILES:
        # Days past the whole week the history was measured at; never less than the later stages.
        from_history = pl.col(f"{name}_days") - (pl.col("in_stage") - pl.col("week") * 7)
        from_default = pl.max_horizontal(pl.col(f"default_{name}") - pl.col("in_stage"),
                                         pl.col(f"next_{name}").fill_null(0))
        left = pl.when(pl.col("history").is_not_null()).then(from_history).otherwise(from_default)
        columns[f"forecast_{name}"] = pl.lit(as_of) + pl.duration(days=pl.max_horizontal(left, pl.lit(0)))
    cases = (
        cases.with_columns(**columns)
        .with_columns(
            days_late_median=(pl.col("forecast_median") - pl.col("due_date")).dt.total_days(),
            days_late_p80=(pl.col("forecast_p80") - pl.col("due_date")).dt.total_days(),
        )
        .with_columns(at_risk=pl.col("days_late_median") > 0)
        .select("request_id", "stage", "entered", "due_date", "forecast_median", "forecast_p80",
                "days_late_median", "days_late_p80", "at_risk", "source")
        .sort(["due_date", "request_id"])
    )
    return Forecast(basis=stage_basis(durations), cases=cases)


def _next_defaults() -> pl.DataFrame:
    """The defaults of the stage after each one (a stuck case still has those ahead of it)."""
    return pl.DataFrame({"stage": list(NEXT_STAGE), "_next": list(NEXT_STAGE.values())}).join(
        _defaults().rename({"stage": "_next", "default_median": "next_median", "default_p80": "next_p80"}),
        on="_next",
    ).drop("_next")
