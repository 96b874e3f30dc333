"""Which touchpoint events exist on the as-of date (docs/touchpoints.md, The stages), for the whole caseload.

One frame of events, one row per (stage, case_ref, event_date): the snapshot gives what happened
and when; stored check results give every due date and every overdue clock (never recomputed
here). Recipients, staleness and consent are the planner's business.

Case reference: the request ID (the family's one reference for the whole journey); a plan with
no known request uses its plan ID.
"""

from datetime import date, timedelta

import polars as pl

from ehcp_monitor.config import Settings
from ehcp_monitor.db.snapshot import Snapshot
from ehcp_monitor.domain.measures import DRAFT_COMMENT_DAYS

EVENT_SCHEMA: dict[str, pl.DataType] = {
    "stage": pl.Utf8,
    "case_ref": pl.Utf8,
    "event_date": pl.Date,
    "person_id": pl.Utf8,
    "request_id": pl.Utf8,
    "plan_id": pl.Utf8,
    "variant": pl.Utf8,
    "context": pl.Utf8,  # JSON: the facts the templates need
}
EVENT_COLUMNS = tuple(EVENT_SCHEMA)
PLAN_MEASURES = ("REVIEW_12M", "REVIEW_EY", "REVIEW_DECISION_4W", "AMEND_FINAL_8W", "PHASE_TRANSFER")
REVIEW_MEASURES = ("REVIEW_12M", "REVIEW_EY")
# The stages whose event date is the completion of a clock: when that clock is withheld for a case
# (its date is in doubt), the event is not told. Stages built from check results need no entry.
WITHHELD_STAGES = {
    "decision_to_assess": "DECIDE_6W",
    "decision_not_to_assess": "DECIDE_6W",
    "draft_plan_issued": "DRAFT_LOCAL",
    "final_plan_issued": "FINAL_20W",
    "decision_not_to_issue": "NOT_ISSUE_16W",
    "review_decision": "REVIEW_DECISION_4W",
    "amended_plan_issued": "AMEND_FINAL_8W",
}


def _due(results: pl.DataFrame, measure: str, name: str) -> pl.DataFrame:
    return (
        results.filter(pl.col("measure") == measure)
        .group_by("request_id")
        .agg(pl.col("due_date").min().alias(name))
    )


def _finish(df: pl.DataFrame, stage: str, facts: list[str], requests: pl.DataFrame,
            variant: pl.Expr | None = None) -> pl.DataFrame:
    """Common columns, the officer and team of the case, and the facts encoded as JSON."""
    officers = requests.select("request_id", "case_officer", "team")
    df = df.join(officers, on="request_id", how="left")
    return df.select(
        pl.lit(stage).alias("stage"),
        pl.coalesce("request_id", "plan_id").alias("case_ref"),
        pl.col("event_date"),
        pl.col("person_id"),
        pl.col("request_id"),
        pl.col("plan_id"),
        (variant if variant is not None else pl.lit(None, pl.Utf8)).alias("variant"),
        pl.struct(*facts, "case_officer", "team").struct.json_encode().alias("context"),
    )


def _request_events(snap: Snapshot, results: pl.DataFrame) -> list[pl.DataFrame]:
    req = snap["requests"].with_columns(pl.lit(None, pl.Utf8).alias("plan_id"))
    decide_due = _due(results, "DECIDE_6W", "decision_due")
    final_due = _due(results, "FINAL_20W", "final_due")
    advice = (
        snap["advice"].group_by("request_id")
        .agg(pl.col("advice_type").unique().sort().alias("advice_types"))
    )
    # A historical record (outcome H: decided before the period, or transferred in from another
    # LA) is not a request the family has just made: telling them it was received would be wrong.
    received = req.filter(pl.col("request_outcome") != "H").join(decide_due, on="request_id", how="left").with_columns(
        pl.col("received_date").alias("event_date")
    )
    decided = req.filter(pl.col("request_outcome_date").is_not_null()).with_columns(
        pl.col("request_outcome_date").alias("event_date"),
        pl.col("request_outcome_date").alias("decision_date"),
    )
    to_assess = (
        decided.filter(pl.col("request_outcome") == "Y")
        .join(final_due, on="request_id", how="left")
        .join(advice, on="request_id", how="left")
    )
    not_to_assess = decided.filter(pl.col("request_outcome") == "N")
    drafts = (
        snap["drafts"].join(req.filter(pl.col("request_outcome") != "H").select("request_id", "person_id", "plan_id"),
                            on="request_id")
        .join(final_due, on="request_id", how="left")
        .with_columns(
            pl.col("draft_plan_date").alias("event_date"),
            pl.col("draft_plan_date").alias("draft_date"),
            (pl.col("draft_plan_date") + timedelta(days=DRAFT_COMMENT_DAYS - 1)).alias("comments_by"),
        )
    )
    assessed = (
        snap["assessments"]
        .filter(pl.col("assessment_outcome_date").is_not_null())
        .join(req.select("request_id", "person_id", "received_date"), on="request_id")
        .with_columns(pl.col("assessment_outcome_date").alias("event_date"))
    )
    plan_of_request = (
        snap["plans"].filter(pl.col("request_id").is_not_null())
        .group_by("request_id").agg(pl.col("plan_id").first())
    )
    issued = (
        assessed.filter(pl.col("assessment_outcome") == "Y")
        .join(plan_of_request, on="request_id", how="left")
        .with_columns(pl.col("event_date").alias("issue_date"))
    )
    not_issued = (
        assessed.filter(pl.col("assessment_outcome") == "N")
        .with_columns(pl.lit(None, pl.Utf8).alias("plan_id"), pl.col("event_date").alias("decision_date"))
    )
    reqs = snap["requests"]
    return [
        _finish(received, "request_received", ["received_date", "decision_due"], reqs),
        _finish(to_assess, "decision_to_assess",
                ["received_date", "decision_date", "final_due", "advice_types"], reqs),
        _finish(not_to_assess, "decision_not_to_assess", ["received_date", "decision_date"], reqs),
        _finish(drafts, "draft_plan_issued", ["draft_date", "comments_by", "final_due"], reqs),
        _finish(issued, "final_plan_issued", ["received_date", "issue_date"], reqs),
        _finish(not_issued, "decision_not_to_issue", ["received_date", "decision_date"], reqs),
    ]


def _review_events(snap: Snapshot, results: pl.DataFrame, settings: Settings) -> list[pl.DataFrame]:
    plans = snap["plans"].select("plan_id", "person_id", "request_id")
    reviews = snap["reviews"].join(plans, on="plan_id")
    decisions = reviews.filter(pl.col("decision_date").is_not_null()).with_columns(
        pl.col("decision_date").alias("event_date"),
    )
    amended = reviews.filter(pl.col("amended_final_date").is_not_null()).with_columns(
        pl.col("amended_final_date").alias("event_date"),
        pl.col("amended_final_date").alias("issue_date"),
    )
    notice = timedelta(days=settings.touchpoints.review_notice_days)
    upcoming = (
        results.filter(
            pl.col("measure").is_in(REVIEW_MEASURES)
            & pl.col("completed_date").is_null()
            & pl.col("status").is_in(["pending", "due_soon", "overdue"])
        )
        .select("plan_id", "due_date", "anchor_date")
        .join(plans, on="plan_id")
        .with_columns((pl.col("due_date") - notice).alias("event_date"), pl.col("due_date").alias("review_due"))
    )
    reqs = snap["requests"]
    return [
        _finish(decisions, "review_decision", ["meeting_date", "decision_date", "outcome"], reqs,
                variant=pl.col("outcome")),
        _finish(amended, "amended_plan_issued", ["meeting_date", "issue_date"], reqs),
        _finish(upcoming, "review_upcoming", ["review_due"], reqs),
    ]


def _delay_events(snap: Snapshot, results: pl.DataFrame, settings: Settings, as_of: date) -> pl.DataFrame:
    """At most one notice per case on any run, listing every overdue statutory step of the case.

    Each overdue clock fires on its first overdue day (due + 1) and every `delay_repeat_days`
    after. On the as-of date the case's notice is dated the latest such day of any of its clocks:
    a newly late step or a repeat brings one notice, never one per clock (the steps of a case
    are rarely in step with each other).
    """
    repeat = settings.touchpoints.delay_repeat_days
    plans = snap["plans"].select("plan_id", pl.col("request_id").alias("plan_request_id"))
    late = (
        results.filter((pl.col("status") == "overdue") & (pl.col("kind") == "statutory"))
        .join(plans, on="plan_id", how="left")
        .with_columns(pl.coalesce("request_id", "plan_request_id").alias("request_id"))
        .with_columns(
            pl.coalesce("request_id", "plan_id").alias("case_ref"),
            (pl.col("due_date") + timedelta(days=1)).alias("first_overdue"),
        )
        .with_columns(
            (
                pl.col("first_overdue")
                + pl.duration(days=((pl.lit(as_of) - pl.col("first_overdue")).dt.total_days() // repeat) * repeat)
            ).alias("event_date")
        )
    )
    items = late.sort("due_date", "measure").group_by("case_ref").agg(
        pl.col("person_id").drop_nulls().first(),
        pl.col("request_id").drop_nulls().first(),
        pl.col("plan_id").drop_nulls().first(),
        pl.struct("measure", "item", "due_date", "days_late", "very_late").alias("late_steps"),
    )
    cases = late.group_by("case_ref").agg(pl.col("event_date").max()).join(items, on="case_ref")
    return _finish(cases, "delay_notice", ["late_steps"], snap["requests"])


def _not_withheld(events: pl.DataFrame, withheld: pl.DataFrame) -> pl.DataFrame:
    """Events less those dated by a value the ingest found unusable (docs/input-formats.md, Bad input): the
    clock that value completes was withheld, so the family is not told of it until it is fixed."""
    stages = pl.DataFrame(list(WITHHELD_STAGES.items()), schema={"stage": pl.Utf8, "measure": pl.Utf8},
                          orient="row")
    for key in ("request_id", "plan_id"):
        cases = withheld.filter(pl.col(key).is_not_null()).select("measure", key).unique()
        events = events.join(cases.join(stages, on="measure").select("stage", key), on=["stage", key], how="anti")
    return events


def find_events(snap: Snapshot, results: pl.DataFrame, settings: Settings, *, as_of: date,
                withheld: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every event of every stage that has happened by the as-of date (old ones included), less
    those the snapshot's `withheld` clocks put in doubt (checks.withheld.read_withheld)."""
    frames = [
        *_request_events(snap, results),
        *_review_events(snap, results, settings),
        _delay_events(snap, results, settings, as_of),
    ]
    events = pl.concat([f.select([pl.col(c).cast(t) for c, t in EVENT_SCHEMA.items()]) for f in frames])
    events = events.filter(pl.col("event_date").is_not_null() & (pl.col("event_date") <= as_of))
    return _not_withheld(events, withheld) if withheld is not None and withheld.height else events
