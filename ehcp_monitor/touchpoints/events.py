"""Which touchpoint events exist on the as-of date (docs/touchpoints.md, The stages), for the whole caseload.

One frame of events, one row per (stage, case_ref, event_date): the snapshot gives what happened
and when; stored check results give every due date and every overdue clock (never recomputed
here). Recipients, staleness and consent are the planner's business.

Case reference: the request ID (the family's one reference for the whole journey); a plan with
no known request uses its plan ID.

Every event's facts carry `child_name`, the child as the body names them
(`touchpoints.child_reference`: first name, initials or nothing), taken from the snapshot's
people table. Only that reference is kept in the outbox, never the full name.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
from sqlalchemy import Connection

from ehcp_monitor.config import Settings
from ehcp_monitor.db.bulk import read_frame, sql_strings
from ehcp_monitor.db.outbox import ISO, utc_text
from ehcp_monitor.db.snapshot import Snapshot
from ehcp_monitor.domain.canonical import REVIEW_HISTORY_LATEST_ONLY, STEP_DONE_DATES
from ehcp_monitor.domain.measures import DRAFT_COMMENT_DAYS
from ehcp_monitor.domain.vocabulary import (
    ASSESSING,
    AWAITING_ADVICE_REQUESTS,
    DRAFT_COMMENTS,
    DRAFTING,
    FINALISING,
    GATHERING_ADVICE,
    OPEN_STATUSES,
)
from ehcp_monitor.forecast import forecast_20_week, stage_entries
from ehcp_monitor.touchpoints import unreached
from ehcp_monitor.working_days import LONDON

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
# A delay notice's expected date for a late step without a forecast: the later of the due date +
# DEFAULT_EXPECTED_DAYS and the notice date + MIN_AHEAD_DAYS (docs/touchpoints.md, Delay notices).
DEFAULT_EXPECTED_DAYS = 28
MIN_AHEAD_DAYS = 14
# Outbox statuses meaning the family was told, or is about to be: the progress update's clock
# restarts at each (a row skipped, suppressed, failed, discarded or superseded told nobody).
TOLD_STATUSES = ("pending", "claimed", "sending", "sent", "retry", "unknown", "held")
TOUCH_SCHEMA: dict[str, pl.DataType] = {"case_ref": pl.Utf8, "last_touch": pl.Date}
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


def open_20_week() -> pl.Expr:
    """A stored result that is an open 20-week request's clock: what a progress update is about."""
    return ((pl.col("measure") == "FINAL_20W") & pl.col("completed_date").is_null()
            & pl.col("status").is_in(list(OPEN_STATUSES)) & pl.col("request_id").is_not_null())


def _next_review(results: pl.DataFrame) -> pl.DataFrame:
    """plan_id, next_review_measure: the measure of each plan's open review cycle (REVIEW_12M,
    or REVIEW_EY while the child is under 5), so a message says how often the plan is reviewed."""
    return (results.filter(pl.col("measure").is_in(REVIEW_MEASURES) & pl.col("completed_date").is_null()
                           & pl.col("status").is_in(list(OPEN_STATUSES)))
            .sort("anchor_date").group_by("plan_id")
            .agg(pl.col("measure").last().alias("next_review_measure")))


def _cease_decided(snap: Snapshot, as_of: date) -> pl.DataFrame:
    """plan_id, cease_decided: plans with no cease date whose latest review decision (by the
    as-of date) was to cease them, and its date. A review coming up, or an apology for a late
    one, would contradict the decision the family was told, unless the plan goes on (an appeal):
    corrections.py holds them for a person."""
    open_plans = snap["plans"].filter(pl.col("cease_date").is_null()).select("plan_id")
    return (snap["reviews"].filter(pl.col("decision_date") <= as_of)
            .sort("decision_date").group_by("plan_id")
            .agg(pl.col("outcome").last(), pl.col("decision_date").last().alias("cease_decided"))
            .filter(pl.col("outcome") == "cease")
            .join(open_plans, on="plan_id", how="semi").select("plan_id", "cease_decided"))


def _due(results: pl.DataFrame, measure: str, name: str) -> pl.DataFrame:
    return (
        results.filter(pl.col("measure") == measure)
        .group_by("request_id")
        .agg(pl.col("due_date").min().alias(name))
    )


@dataclass(frozen=True)
class _Case:
    """What every event of a case says besides its own facts: its officer and team, and the child."""

    officers: pl.DataFrame  # request_id, case_officer, team
    plan_officers: pl.DataFrame  # plan_id, plan_officer, plan_team: who holds the plan, and its reviews
    children: pl.DataFrame  # person_id, child_name

    def of(self, events: pl.DataFrame) -> "_Case":
        """Only the rows for `events`' requests, plans and children (_CASE_KEYS), where they are
        few: joining a few events to a whole caseload's frame costs the whole frame."""
        def cut(frame: pl.DataFrame, key: str) -> pl.DataFrame:
            if events.height * 10 >= frame.height:
                return frame
            return frame.filter(pl.col(key).is_in(events[key].drop_nulls().unique().implode()))
        return _Case(cut(self.officers, "request_id"), cut(self.plan_officers, "plan_id"),
                     cut(self.children, "person_id"))


_CASE_KEYS = ("request_id", "plan_id", "person_id")


def child_reference(mode: str) -> pl.Expr:
    """The child as a message body names them, from `forename` and `surname` (touchpoints.child_reference):
    `first_name` "Sam", `initials` "S. T.", `none` nothing (null)."""
    first = pl.col("forename").str.strip_chars()
    if mode == "first_name":
        name = first
    elif mode == "initials":
        initial = [c.str.slice(0, 1).str.to_uppercase() + "." for c in (first, pl.col("surname").str.strip_chars())]
        name = pl.concat_str(initial, separator=" ", ignore_nulls=True)
    else:
        return pl.lit(None, pl.Utf8).alias("child_name")
    # An empty name part gives "." after strip: nothing to say, no reference.
    return pl.when(name.str.replace_all(r"[.\s]", "").str.len_chars() > 0).then(name).alias("child_name")


def _case(snap: Snapshot, settings: Settings) -> _Case:
    return _Case(
        officers=snap["requests"].select("request_id", "case_officer", "team"),
        plan_officers=snap["plans"].select("plan_id", pl.col("case_officer").alias("plan_officer"),
                                           pl.col("team").alias("plan_team")),
        children=snap["people"].select("person_id", child_reference(settings.touchpoints.child_reference))
        .unique("person_id", keep="first"),
    )


@dataclass(frozen=True)
class _Part:
    """One stage's events: the frame they were found in (with `_row`, their place in it, and
    `_plan_first`: the plan's officer is named before the request's) and the names of the facts
    the message needs."""

    frame: pl.DataFrame
    facts: tuple[str, ...]


def _finish(df: pl.DataFrame, stage: str, facts: list[str], variant: pl.Expr | None = None,
            plan_first: pl.Expr | bool = False) -> tuple[pl.DataFrame, _Part]:
    """The events' common columns (EVENT_SCHEMA less `context`) with `_row`, and the part that
    gives each its context when asked (Events.contexts). `plan_first`: the event is about the
    plan (its reviews), so its holder is the officer named, else the request's."""
    df = df.with_row_index("_row")
    keys = df.select(
        pl.lit(stage).alias("stage"),
        pl.coalesce("request_id", "plan_id").alias("case_ref"),
        pl.col("event_date"),
        pl.col("person_id"),
        pl.col("request_id"),
        pl.col("plan_id"),
        # "" for none: the variant is in the outbox's unique key, which does not compare NULLs.
        (variant.fill_null("") if variant is not None else pl.lit("")).alias("variant"),
        pl.col("_row"),
    )
    plan_first = plan_first if isinstance(plan_first, pl.Expr) else pl.lit(plan_first)
    return keys, _Part(df.select("_row", "request_id", "plan_id", "person_id", plan_first.alias("_plan_first"),
                                 *facts), tuple(facts))


def _request_events(snap: Snapshot, results: pl.DataFrame, next_review: pl.DataFrame,
                    as_of: date) -> list[tuple[pl.DataFrame, _Part]]:
    req = snap["requests"].with_columns(pl.lit(None, pl.Utf8).alias("plan_id"))
    decide_due = _due(results, "DECIDE_6W", "decision_due")
    final_due = _due(results, "FINAL_20W", "final_due")
    advice = (
        snap["advice"].group_by("request_id")
        .agg(pl.col("advice_type").unique().sort().alias("advice_types"))
    )
    # A historical record (outcome H: decided before the period, or transferred in from another
    # LA) is not a request the family has just made, and a withdrawn one (W) will not be decided:
    # telling them it was received and when we will decide would be wrong.
    received = (
        req.filter(~pl.col("request_outcome").is_in(["H", "W"]))
        .join(decide_due, on="request_id", how="left")
        .with_columns(pl.col("received_date").alias("event_date"),
                      # Keyed late, its decision may go the same night: "we will decide by" would
                      # arrive beside "we have decided" (the templates then word it neutrally).
                      (pl.col("request_outcome").is_in(["Y", "N"]) & pl.col("request_outcome_date").is_not_null())
                      .alias("decided"))
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
    # The assessment's end in the records by the as-of date: a draft keyed late (or the final plan
    # keyed while its message waited) goes beside it, and must not invite comments on a plan
    # already final (the templates then say where things are now).
    date_by = pl.col("assessment_outcome_date") <= as_of
    final_outcome = (
        snap["assessments"].group_by("request_id").agg(
            pl.when((pl.col("assessment_outcome") == "Y") & date_by).then(pl.lit("issued"))
            .when((pl.col("assessment_outcome") == "N") & date_by.fill_null(True)).then(pl.lit("not_issued"))
            .drop_nulls().first().alias("final_outcome"))
    )
    drafts = (
        snap["drafts"].join(req.filter(pl.col("request_outcome") != "H").select("request_id", "person_id", "plan_id"),
                            on="request_id")
        .join(final_due, on="request_id", how="left")
        .join(final_outcome, on="request_id", how="left")
        .with_columns(
            pl.col("draft_plan_date").alias("event_date"),
            pl.col("draft_plan_date").alias("draft_date"),
            (pl.col("draft_plan_date") + timedelta(days=DRAFT_COMMENT_DAYS - 1)).alias("comments_by"),
        )
    )
    # Nor is a historical request's assessment outcome news: its dates are information only
    # (docs/input-formats.md, Bad input), however recent the date the records give it.
    assessed = (
        snap["assessments"]
        .filter(pl.col("assessment_outcome_date").is_not_null())
        .join(req.filter(pl.col("request_outcome") != "H").select("request_id", "person_id", "received_date"),
              on="request_id")
        .with_columns(pl.col("assessment_outcome_date").alias("event_date"))
    )
    plan_of_request = (
        snap["plans"].filter(pl.col("request_id").is_not_null())
        .group_by("request_id").agg(pl.col("plan_id").first())
    )
    issued = (
        assessed.filter(pl.col("assessment_outcome") == "Y")
        .join(plan_of_request, on="request_id", how="left")
        .join(next_review, on="plan_id", how="left")
        .with_columns(pl.col("event_date").alias("issue_date"))
    )
    not_issued = (
        assessed.filter(pl.col("assessment_outcome") == "N")
        .with_columns(pl.lit(None, pl.Utf8).alias("plan_id"), pl.col("event_date").alias("decision_date"))
    )
    return [
        _finish(received, "request_received", ["received_date", "decision_due", "decided"]),
        _finish(to_assess, "decision_to_assess",
                ["received_date", "decision_date", "final_due", "advice_types"]),
        _finish(not_to_assess, "decision_not_to_assess", ["received_date", "decision_date"]),
        _finish(drafts, "draft_plan_issued", ["draft_date", "comments_by", "final_due", "final_outcome"]),
        _finish(issued, "final_plan_issued", ["received_date", "issue_date", "next_review_measure"]),
        _finish(not_issued, "decision_not_to_issue", ["received_date", "decision_date"]),
    ]


def _review_events(snap: Snapshot, results: pl.DataFrame, settings: Settings, as_of: date,
                   next_review: pl.DataFrame, cease_decided: pl.DataFrame) -> list[tuple[pl.DataFrame, _Part]]:
    plans = snap["plans"].select("plan_id", "person_id", "request_id")
    # Where the plan's reviews are only its latest (SEN2), the last review leaves the records when
    # the next is keyed: the meeting says which review a decision is of (corrections.RECURRING).
    latest_only = snap["plans"].filter(pl.col("review_history") == REVIEW_HISTORY_LATEST_ONLY)["plan_id"]
    reviews = snap["reviews"].join(plans, on="plan_id").with_columns(
        review_began=pl.when(pl.col("plan_id").is_in(latest_only.implode())).then(pl.col("meeting_date")))
    decisions = (reviews.filter(pl.col("decision_date").is_not_null())
                 .join(next_review, on="plan_id", how="left")
                 .with_columns(pl.col("decision_date").alias("event_date")))
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
        .select("plan_id", "due_date", "anchor_date", pl.col("measure").alias("review_measure"))
        .join(plans, on="plan_id")
        .with_columns((pl.col("due_date") - notice).alias("event_date"), pl.col("due_date").alias("review_due"),
                      # When the cycle began (the last review, or the plan's start): tells a
                      # review re-dated by a correction from the next cycle's (corrections.py).
                      pl.col("anchor_date").alias("review_began"))
    )
    # A cycle whose review meeting was held (by the as-of date: a meeting booked ahead is still to
    # come), its decision still to come, is not coming up: the message would say the family will
    # be invited to a meeting they have had. (Once the decision is recorded, the check results
    # complete the cycle.)
    meetings = reviews.filter((pl.col("meeting_date") <= as_of) & pl.col("decision_date").is_null())
    met = (upcoming.join(meetings.select("plan_id", "meeting_date"), on="plan_id")
           .filter(pl.col("meeting_date") > pl.col("anchor_date")).select("plan_id", "anchor_date").unique())
    upcoming = (upcoming.join(met, on=["plan_id", "anchor_date"], how="anti")
                .join(cease_decided, on="plan_id", how="left"))
    return [
        _finish(decisions, "review_decision",
                ["meeting_date", "decision_date", "outcome", "next_review_measure", "review_began"],
                variant=pl.col("outcome"), plan_first=True),
        _finish(amended, "amended_plan_issued", ["meeting_date", "issue_date", "review_began"], plan_first=True),
        _finish(upcoming, "review_upcoming", ["review_due", "review_measure", "review_began", "cease_decided"],
                plan_first=True),
    ]


def _forecast_issue(snap: Snapshot, results: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Per open 20-week request: the breach forecast's median issue date (ehcp_monitor/forecast.py).

    The forecast covers cases not yet overdue; a late case is forecast the same way (the history
    of cases as long in its stage), so its overdue row is offered to it as an open one.
    """
    entries = stage_entries(snap["requests"], snap["advice"], snap["drafts"], as_of=as_of)
    as_open = results.filter(pl.col("measure") == "FINAL_20W").with_columns(
        status=pl.when(pl.col("status") == "overdue").then(pl.lit("pending")).otherwise("status"))
    cases = forecast_20_week(as_open, entries, as_of=as_of).cases
    return cases.select("request_id", pl.col("forecast_median").alias("forecast_issue"))


def _delay_events(snap: Snapshot, results: pl.DataFrame, settings: Settings,
                  as_of: date, cease_decided: pl.DataFrame) -> tuple[pl.DataFrame, _Part]:
    """At most one notice per case on any run, listing every overdue statutory step of the case.

    Each overdue clock fires on its first overdue day (due + 1) and every `delay_repeat_days`
    after. On the as-of date the case's notice is dated the latest such day of any of its clocks:
    a newly late step or a repeat brings one notice, never one per clock (the steps of a case
    are rarely in step with each other).

    Each step says when it is now expected (`expected_date`, `expected_from`): for the final plan,
    the forecast issue date (never before the day after the as-of date); otherwise, or with no
    forecast, the later of the due date + DEFAULT_EXPECTED_DAYS and the notice date + MIN_AHEAD_DAYS.
    """
    repeat = settings.touchpoints.delay_repeat_days
    plans = snap["plans"].select("plan_id", pl.col("request_id").alias("plan_request_id"))
    # Advice still outstanding once the assessment is over (the plan issued, the decision not to
    # issue one, or not to assess) stays overdue on the weekly list, but an apology for it would
    # tell the family nothing they can use: the step it was for is done.
    ended = pl.concat([
        snap["assessments"].filter(pl.col("assessment_outcome").is_in(["Y", "N"])
                                   & (pl.col("assessment_outcome_date") <= as_of))["request_id"],
        snap["requests"].filter((pl.col("request_outcome") == "N")
                                & (pl.col("request_outcome_date") <= as_of))["request_id"],
        # A plan issued from the request, whatever its assessment row says (V013: left out of the
        # extract?); not one transferred in before it while the request's assessment is under way.
        snap["plans"].filter(pl.col("start_date") <= as_of)
        .join(snap["requests"].select("request_id", "received_date"), on="request_id")
        .filter((pl.col("start_date") >= pl.col("received_date")) | ~pl.col("request_id").is_in(
            snap["assessments"].filter(pl.col("assessment_outcome") == "A")["request_id"].implode()))["request_id"],
    ])
    advice_after = (pl.col("measure") == "ADVICE_6W") & pl.col("request_id").is_in(ended.implode())
    # Likewise an amendment whose final amended plan was never recorded, once a later review of the
    # plan (its meeting after the amendment notice, not the amendment's own) has been decided by the
    # as-of date: the plan has moved on (kept as it is, amended again, or to cease), and an apology
    # for the old amendment would contradict what the family was told.
    later = snap["reviews"].filter(pl.col("decision_date") <= as_of).select(
        "plan_id", "amendment_notice_date", pl.coalesce("meeting_date", "decision_date").alias("held_on"))
    overtaken = (
        results.filter((pl.col("measure") == "AMEND_FINAL_8W") & (pl.col("status") == "overdue"))
        .select("plan_id", "anchor_date")
        .join(later, on="plan_id")
        # Not the amendment's own review (its notice is the clock's anchor); a review with no
        # meeting date recorded counts from its decision.
        .filter((pl.col("amendment_notice_date").is_null() | (pl.col("amendment_notice_date") != pl.col("anchor_date")))
                & (pl.col("held_on") > pl.col("anchor_date")))
        .select("plan_id", "anchor_date", pl.lit("AMEND_FINAL_8W").alias("measure")).unique()
    )
    # And the steps of a plan whose child has a newer plan (started after it, by the as-of date): a
    # child has one EHC plan, so the old one ended without a cease date recorded (a historical
    # record sent again, say), and its review "due by July 2017" is the data team's to close.
    starts = snap["plans"].select("plan_id", "person_id", "start_date")
    newer = starts.filter(pl.col("start_date") <= as_of).select("person_id", pl.col("start_date").alias("newer"))
    replaced = (starts.join(newer, on="person_id").filter(pl.col("newer") > pl.col("start_date"))["plan_id"]
                .unique())
    old_plan = pl.col("measure").is_in(PLAN_MEASURES) & pl.col("plan_id").is_in(replaced.implode())
    late = (
        results.filter((pl.col("status") == "overdue") & (pl.col("kind") == "statutory") & ~advice_after
                       & ~old_plan)
        .join(overtaken, on=["measure", "plan_id", "anchor_date"], how="anti", maintain_order="left")
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
    notice = late.group_by("case_ref").agg(pl.col("event_date").max().alias("notice_date"))
    by_default = pl.max_horizontal(pl.col("due_date") + timedelta(days=DEFAULT_EXPECTED_DAYS),
                                   pl.col("notice_date") + timedelta(days=MIN_AHEAD_DAYS))
    forecast = (pl.col("measure") == "FINAL_20W") & pl.col("forecast_issue").is_not_null()
    late = (
        late.join(notice, on="case_ref")
        .join(_forecast_issue(snap, results, as_of), on="request_id", how="left")
        .with_columns(
            expected_date=pl.when(forecast)
            .then(pl.max_horizontal("forecast_issue", pl.lit(as_of + timedelta(days=1))))
            .otherwise(by_default),
            expected_from=pl.when(forecast).then(pl.lit("forecast")).otherwise(pl.lit("default")),
        )
    )
    items = late.sort("due_date", "measure").group_by("case_ref").agg(
        pl.col("person_id").drop_nulls().first(),
        pl.col("request_id").drop_nulls().first(),
        pl.col("plan_id").drop_nulls().first(),
        pl.struct("measure", "item", "due_date", "days_late", "very_late", "expected_date",
                  "expected_from").alias("late_steps"),
        # Only the plan's steps late (its review, an amendment): the plan's holder is named.
        pl.col("measure").is_in(PLAN_MEASURES).all().alias("_plan_steps"),
    )
    cases = (notice.rename({"notice_date": "event_date"}).join(items, on="case_ref")
             # Only for a notice of the plan's steps alone: its review is late.
             .join(cease_decided, on="plan_id", how="left")
             .with_columns(cease_decided=pl.when("_plan_steps").then("cease_decided")))
    return _finish(cases, "delay_notice", ["late_steps", "cease_decided"], plan_first=pl.col("_plan_steps"))


def read_last_touches(conn: Connection, *, open_since: date | None = None) -> pl.DataFrame:
    """Per case: the latest as-of date on which a message to its family was planned (TOLD_STATUSES),
    or a progress update was (whatever became of it), but for an update skipped for want of a
    reachable contact still open to planning (`open_since`: unreached.still_open), which is found
    again; or the latest day (in England) one was sent, when later (a message held for a week and
    then released touches the family the day it goes). One aggregate query."""
    told = sql_strings(TOLD_STATUSES)
    update = "stage = 'progress_update'"
    if open_since is not None:
        update += f" AND NOT ({unreached.still_open(open_since)})"
    touches = read_frame(conn, f"SELECT case_ref, MAX(planned_as_of), {utc_text(conn, 'MAX(sent_at)')} "
                               f"FROM touchpoints WHERE status IN ({told}) OR ({update}) GROUP BY case_ref",
                         {**TOUCH_SCHEMA, "last_sent": pl.Utf8})
    sent = (pl.col("last_sent").str.to_datetime(ISO, time_unit="us").dt.replace_time_zone("UTC")
            .dt.convert_time_zone(LONDON.key).dt.date())
    return touches.select("case_ref", pl.max_horizontal("last_touch", sent).alias("last_touch"))


def _progress_events(snap: Snapshot, results: pl.DataFrame, settings: Settings, as_of: date,
                     events: pl.DataFrame, touches: pl.DataFrame) -> tuple[pl.DataFrame, _Part]:
    """A progress update for each open 20-week request whose family has heard nothing for
    `update_every_days` (docs/touchpoints.md, Progress updates).

    The last touch is the latest of: a message planned for the case (`touches`, from the outbox),
    any event of the case (told now, or when it happened), and the request's received date. The
    update is dated last touch + k x `update_every_days` (the latest such day by the as-of date), so
    every run in the same period finds the same event (the outbox's key makes it once).
    """
    every = settings.touchpoints.update_every_days
    # The rule book ranks the advice stages before the draft (docs/rules.md, Where a 20-week case is stuck):
    # a draft served while advice is missing or unrecorded stays there on the weekly list. The
    # family was sent the draft: they are told where the draft is, not that advice is being asked.
    draft = (snap["drafts"].filter(pl.col("draft_plan_date") <= as_of)
             .group_by("request_id").agg(pl.col("draft_plan_date").max().alias("_draft")))
    advice_stage = pl.col("stage_20w").is_in([AWAITING_ADVICE_REQUESTS, GATHERING_ADVICE])
    open_20w = (
        results.filter(open_20_week()).select(
            "request_id", pl.col("stage").alias("stage_20w"), pl.col("due_date").alias("final_due"),
            (pl.col("status") == "overdue").alias("final_late")).unique("request_id", keep="first")
        .join(draft, on="request_id", how="left")
        .with_columns(stage_20w=pl.when(advice_stage & pl.col("_draft").is_not_null()).then(
            pl.when(pl.lit(as_of) <= pl.col("_draft") + timedelta(days=DRAFT_COMMENT_DAYS - 1))
            .then(pl.lit(DRAFT_COMMENTS)).otherwise(pl.lit(FINALISING))).otherwise("stage_20w"))
        .drop("_draft")
    )
    # Without the drafts (or advice) table the rule book puts a case at DRAFTING for want of it:
    # the draft may be with the family already, or advice still out. They are told no more than is known.
    if not {"drafts", "advice"} <= snap.tables_present:
        open_20w = open_20w.with_columns(stage_20w=pl.when(pl.col("stage_20w") == DRAFTING)
                                         .then(pl.lit(ASSESSING)).otherwise("stage_20w"))
    # The next date the law sets: the earliest open statutory clock of the request not yet passed.
    upcoming = (
        results.filter(
            (pl.col("kind") == "statutory") & pl.col("completed_date").is_null()
            & pl.col("status").is_in(list(OPEN_STATUSES)) & (pl.col("due_date") >= as_of)
            & pl.col("request_id").is_not_null()
        )
        .sort("due_date", "measure")
        .group_by("request_id")
        .agg(pl.col("measure").first().alias("next_measure"), pl.col("due_date").first().alias("next_date"))
    )
    seen = events.group_by("case_ref").agg(pl.col("event_date").max().alias("seen"))
    last = (
        open_20w.join(snap["requests"].select("request_id", "person_id", "received_date"), on="request_id")
        .with_columns(pl.col("request_id").alias("case_ref"))
        .join(seen, on="case_ref", how="left")
        .join(touches, on="case_ref", how="left")
        .with_columns(last_touch=pl.max_horizontal("received_date", "seen", "last_touch"))
        .with_columns(gap=(pl.lit(as_of) - pl.col("last_touch")).dt.total_days())
        .filter(pl.col("gap") >= every)
        .with_columns(event_date=pl.col("last_touch") + pl.duration(days=(pl.col("gap") // every) * every))
        .join(upcoming, on="request_id", how="left")
        .with_columns(
            pl.coalesce("next_measure", pl.lit("FINAL_20W")).alias("next_measure"),
            pl.coalesce("next_date", "final_due").alias("next_date"),
            pl.lit(None, pl.Utf8).alias("plan_id"),
        )
    )
    return _finish(last, "progress_update",
                   ["received_date", "stage_20w", "next_measure", "next_date", "final_due", "final_late"])


def _not_withheld(events: pl.DataFrame, withheld: pl.DataFrame) -> pl.DataFrame:
    """Events less those dated by a value the ingest found unusable (docs/input-formats.md, Bad input): the
    clock that value completes was withheld, so the family is not told of it until it is fixed."""
    stages = pl.DataFrame(list(WITHHELD_STAGES.items()), schema={"stage": pl.Utf8, "measure": pl.Utf8},
                          orient="row")
    for key in ("request_id", "plan_id"):
        cases = withheld.filter(pl.col(key).is_not_null()).select("measure", key).unique()
        events = events.join(cases.join(stages, on="measure").select("stage", key), on=["stage", key], how="anti")
    return events


KEY_SCHEMA: dict[str, pl.DataType] = {
    **{c: t for c, t in EVENT_SCHEMA.items() if c != "context"}, "_part": pl.UInt32, "_row": pl.UInt32}


def _named(columns: tuple[str, str]) -> pl.Expr:
    """The request's officer (or team) and the plan's, in the order the event names them
    (`_plan_first`), the first one recorded: a plan with no request names its own holder."""
    request, plan = (pl.col(c) for c in columns)
    return (pl.when("_plan_first").then(pl.coalesce(plan, request)).otherwise(pl.coalesce(request, plan))
            .alias(columns[0]))


def future_step_cases(snap: Snapshot, as_of: date) -> pl.Series:
    """The case references whose records date a step as done after `as_of` (W005): the clock
    reads such a step as not done, so the case's apologies and updates are in doubt (corrections.py)."""
    plans = snap["plans"].select("plan_id", pl.coalesce("request_id", "plan_id").alias("case_ref"))
    cases = [pl.Series("case_ref", [], pl.Utf8)]
    for table, column, _ in STEP_DONE_DATES:
        if table not in snap.tables:  # a table the planner does not read (qa_audits)
            continue
        ahead = snap[table].filter(pl.col(column) > as_of)
        if "request_id" in ahead.columns:
            cases.append(ahead["request_id"].alias("case_ref"))
        elif "plan_id" in ahead.columns:
            cases.append(ahead.join(plans, on="plan_id")["case_ref"])
    return pl.concat(cases).drop_nulls().unique()


@dataclass(frozen=True)
class Events:
    """Every event found, without its facts (`keys`: EVENT_SCHEMA less `context`, in the order
    the events are told, with `_part` and `_row` placing each in the frame it came from); the
    facts are encoded only for the events that need them (`contexts`). Encoding is most of
    the cost of finding events, and on most nights nearly every event was planned before."""

    keys: pl.DataFrame
    parts: tuple[_Part, ...]
    case: _Case

    def contexts(self, rows: pl.DataFrame) -> pl.DataFrame:
        """One row per event of `rows` (any frame with `_part` and `_row` from `keys`): `_part`,
        `_row` and `context`, the facts the templates need with the case officer, the team and
        the child, as JSON."""
        wanted = rows.select("_part", "_row").unique()
        # Gathered by place (`_row`), and the case's frames cut to these events' cases first:
        # the cost follows the rows asked for, not the caseload (most nights a few hundred).
        picked = [(n, part, part.frame[at]) for n, part in enumerate(self.parts)
                  if (at := wanted.filter(pl.col("_part") == n)["_row"].sort()).len()]
        if not picked:
            return pl.DataFrame(schema={"_part": pl.UInt32, "_row": pl.UInt32, "context": pl.Utf8})
        case = self.case.of(pl.concat([frame.select(_CASE_KEYS) for _, _, frame in picked]))
        return pl.concat([
            # request_id, plan_id and person_id are their tables' keys: one officer and one child an event.
            frame.join(case.officers, on="request_id", how="left", validate="m:1")
            .join(case.plan_officers, on="plan_id", how="left", validate="m:1")
            .join(case.children, on="person_id", how="left", validate="m:1")
            .with_columns(_named(("case_officer", "plan_officer")), _named(("team", "plan_team")))
            .select(pl.lit(n, pl.UInt32).alias("_part"), pl.col("_row").cast(pl.UInt32),
                    pl.struct(*part.facts, "case_officer", "team", "child_name").struct.json_encode().alias("context"))
            for n, part, frame in picked
        ])

    def frame(self, keys: pl.DataFrame | None = None) -> pl.DataFrame:
        """The events of `keys` (rows of `self.keys`; default all of them) in EVENT_SCHEMA, in that order."""
        keys = self.keys if keys is None else keys
        return (keys.join(self.contexts(keys), on=["_part", "_row"], how="left", maintain_order="left")
                .select(EVENT_COLUMNS))


def find_all(snap: Snapshot, results: pl.DataFrame, settings: Settings, *, as_of: date,
             withheld: pl.DataFrame | None = None, touches: pl.DataFrame | None = None) -> Events:
    """Every event of every stage that has happened by the as-of date (old ones included), less
    those the snapshot's `withheld` clocks put in doubt (checks.withheld.read_withheld).

    `touches` (read_last_touches: when each case's family was last sent a message) time the
    progress updates; without it, only the events themselves do.
    """
    next_review = _next_review(results)
    cease_decided = _cease_decided(snap, as_of)
    found = [
        *_request_events(snap, results, next_review, as_of),
        *_review_events(snap, results, settings, as_of, next_review, cease_decided),
        _delay_events(snap, results, settings, as_of, cease_decided),
    ]

    def keys(n: int, frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pl.lit(n).alias("_part")).select([pl.col(c).cast(t) for c, t in KEY_SCHEMA.items()])

    events = pl.concat([keys(n, frame) for n, (frame, _) in enumerate(found)])
    events = events.filter(pl.col("event_date").is_not_null() & (pl.col("event_date") <= as_of))
    progress, progress_part = _progress_events(snap, results, settings, as_of, events,
                                               touches if touches is not None else pl.DataFrame(schema=TOUCH_SCHEMA))
    events = pl.concat([events, keys(len(found), progress)])
    if withheld is not None and withheld.height:
        events = _not_withheld(events, withheld)
    return Events(events, (*(part for _, part in found), progress_part), _case(snap, settings))


def find_events(snap: Snapshot, results: pl.DataFrame, settings: Settings, *, as_of: date,
                withheld: pl.DataFrame | None = None, touches: pl.DataFrame | None = None) -> pl.DataFrame:
    """find_all's events as one frame (EVENT_SCHEMA), the facts encoded for every one."""
    return find_all(snap, results, settings, as_of=as_of, withheld=withheld, touches=touches).frame()
