"""The production clock engine: every measure over the whole caseload in vectorised polars.

Each measure is one frame of clock instances (anchor, due, completion and what closes it);
status, days late and very late are then decided the same way for all of them.

Three choices make it fast, each checked against the per-case oracle by the property test:
- Every request and plan gets an integer `case`, its place in the contract's (request_id, plan_id)
  order. Instances carry only that integer; the string IDs are gathered once, by case, as the
  last step, instead of being carried through every join, filter and sort.
- Instances are built in the contract's order (docs/rules.md, Output order): the one-per-case measures
  come straight from the case-ordered tables, and the others sort their narrow inputs (case,
  dates, item) once. So the wide result frame is never sorted. The order's later keys are due
  date and status; both follow from the keys before them for every measure (due from the anchor,
  status from the dates and the case), so rows equal on the earlier keys are equal throughout.
- Dates are worked on as day numbers (`calendar.py`).
Review cycles are chained per plan from the sorted completion dates with a shift, never a loop.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import polars as pl

from ehcp_monitor.config import Settings
from ehcp_monitor.db.snapshot import Snapshot
from ehcp_monitor.domain.calendar import age_expr, day_number, months_expr, same_year_expr, weeks_expr
from ehcp_monitor.domain.canonical import REVIEW_HISTORY_LATEST_ONLY
from ehcp_monitor.domain.measures import BASIS, DRAFT_COMMENT_DAYS, KIND, STATUTORY, measure
from ehcp_monitor.domain.results import RESULT_SCHEMA, stack
from ehcp_monitor.domain.vocabulary import (
    AWAITING_ADVICE_REQUESTS,
    AWAITING_DECISION,
    DRAFT_COMMENTS,
    DRAFTING,
    FINALISING,
    GATHERING_ADVICE,
    STATUSES,
)

CASE = "case"  # a request's or plan's rank in (request_id, plan_id) order
# What the clocks read of a snapshot: `run_check` reads no more from the store (no names, contacts
# or UPNs, and a third less to read).
COLUMNS_USED: dict[str, tuple[str, ...]] = {
    "requests": ("request_id", "person_id", "received_date", "request_outcome", "request_outcome_date"),
    "assessments": ("request_id", "assessment_outcome", "assessment_outcome_date", "week20"),
    "advice": ("request_id", "advice_type", "requested_date", "received_date"),
    "drafts": ("request_id", "draft_plan_date"),
    "people": ("person_id", "date_of_birth"),
    "plans": ("plan_id", "person_id", "request_id", "start_date", "cease_date", "review_history"),
    "reviews": ("plan_id", "meeting_date", "decision_date", "outcome", "amendment_notice_date",
                "amended_final_date"),
    "phase_transfers": ("plan_id", "transfer_kind", "transfer_date", "due_date", "final_date"),
}
_INSTANCE = {
    CASE: pl.UInt32,
    **{c: RESULT_SCHEMA[c] for c in ("item", "anchor_date", "due_date", "completed_date", "exception", "stage")},
    "closed": pl.Boolean,  # the case closed (assessment withdrawn, plan issued without a draft)
    "ceased": pl.Date,  # the plan's cease date, when known on the as-of date
}
_ID_COLUMNS = ("request_id", "plan_id", "person_id")
# Statuses are decided on integer codes (their place in the registry's list) and named once.
_CODE = {status: code for code, status in enumerate(STATUSES)}
# The fixed periods of the weekly clocks (domain/measures.py).
_WEEKS = {m: measure(m).weeks for m in ("DECIDE_6W", "ADVICE_6W", "NOT_ISSUE_16W", "FINAL_20W",
                                        "REVIEW_DECISION_4W", "AMEND_FINAL_8W")}


def _case_day(day: str) -> pl.Expr:
    """A case and a date (never null) as one UInt64 key in (case, date) order: polars sorts on one
    integer key several times faster than on two columns."""
    offset_day = (day_number(pl.col(day)).cast(pl.Int64) + (1 << 31)).cast(pl.UInt64)  # every Int32 day fits
    return pl.col(CASE).cast(pl.UInt64) * (1 << 32) + offset_day


def _collect(frame: pl.LazyFrame) -> pl.DataFrame:
    """A shared intermediate, computed once (the in-memory engine is the faster one for these)."""
    return frame.collect(engine="in-memory")


class _Engine:
    def __init__(self, snapshot: Snapshot, settings: Settings, as_of: date):
        self.snap = snapshot
        # One chunk per column: a store read arrives in chunks, and joins and gathers over many
        # chunks are several times slower.
        self.tables = {name: snapshot[name].select(columns).rechunk() for name, columns in COLUMNS_USED.items()}
        self.rules = settings.rules
        self.settings = settings
        self.as_of = as_of
        self.day = pl.lit(as_of, dtype=pl.Date)
        self.as_of_day = day_number(self.day)
        self.ids: dict[str, pl.DataFrame] = {}  # per measure: the case's IDs, row = case

    def in_force(self, outcome: str, day: str) -> pl.Expr:
        """The outcome as it stood on the as-of date: a decision dated later was not yet made (A)."""
        later = pl.col(outcome).is_in(["Y", "N", "W"]) & (pl.col(day) > self.day).fill_null(False)
        return pl.when(later).then(pl.lit("A")).otherwise(pl.col(outcome))

    def started(self, column: str) -> pl.Expr:
        """A clock whose start event is after the as-of date has not started (nor has its case)."""
        return (pl.col(column) <= self.day).fill_null(False)

    def known(self, column: str) -> pl.Expr:
        """A date after the as-of date has not happened yet (docs/rules.md, Status on the as-of date)."""
        return pl.when(pl.col(column) <= self.day).then(pl.col(column))

    def instances(self, df: pl.DataFrame | pl.LazyFrame, **exprs: pl.Expr) -> pl.LazyFrame:
        """Clock instances in the common narrow shape (unnamed parts are null / false)."""
        defaults = {CASE: pl.col(CASE), "closed": pl.lit(False), "exception": pl.lit(False)}
        return df.lazy().select(
            exprs.get(name, defaults.get(name, pl.lit(None))).cast(dtype).alias(name)
            for name, dtype in _INSTANCE.items()
        )

    # --- request-level clocks (docs/rules.md, Which requests get which clocks) --------------------

    def requests(self) -> dict[str, pl.LazyFrame]:
        assessments = self.tables["assessments"].lazy().select(
            "request_id",
            self.in_force("assessment_outcome", "assessment_outcome_date").alias("assessment_outcome"),
            "assessment_outcome_date", "week20",
        )
        ranked = _collect(
            self.tables["requests"].lazy()
            .select("request_id", "person_id", "received_date", "request_outcome_date",
                    request_outcome=self.in_force("request_outcome", "request_outcome_date"))
            .filter(pl.col("request_outcome").is_in(["Y", "N", "A"]) & self.started("received_date"))
            .sort("request_id")
            .with_row_index(CASE)
        )
        # Taken before any join, so row i is case i even if a join were to repeat a request.
        ids = ranked.select("request_id", pl.lit(None, pl.Utf8).alias("plan_id"), "person_id")
        base = _collect(
            ranked.lazy()
            .join(assessments, on="request_id", how="left", maintain_order="left")  # one per request (V004)
            .with_columns(
                decided=pl.when(pl.col("request_outcome").is_in(["Y", "N"])).then(self.known("request_outcome_date")),
                withdrawn=(pl.col("assessment_outcome") == "W").fill_null(False),
            )
        )
        advice = _collect(
            self.tables["advice"].lazy()
            .filter(self.started("requested_date"))
            .join(base.lazy().select("request_id", CASE, "withdrawn", "request_outcome"), on="request_id", how="inner")
            .select(CASE, "advice_type", "requested_date", "withdrawn", "request_outcome",
                    advice_received=self.known("received_date"))
        )
        received, requested = pl.col("received_date"), pl.col("requested_date")
        parts = {
            "DECIDE_6W": self.instances(base, anchor_date=received, due_date=weeks_expr(received, _WEEKS["DECIDE_6W"]),
                                        completed_date=pl.col("decided")),
            # A request still awaiting its decision has only DECIDE_6W (docs/rules.md, Which requests get which clocks).
            "ADVICE_6W": self.instances(
                advice.lazy().filter(pl.col("request_outcome") != "A")
                .sort(_case_day("requested_date"), "advice_type", "advice_received", nulls_last=False),
                item=pl.col("advice_type"), anchor_date=requested, due_date=weeks_expr(requested, _WEEKS["ADVICE_6W"]),
                completed_date=pl.col("advice_received"), closed=pl.col("withdrawn"),
            ),
        }
        assessed = base.filter(pl.col("request_outcome") == "Y")
        parts["NOT_ISSUE_16W"] = self.instances(
            assessed.filter(pl.col("assessment_outcome") == "N"),
            anchor_date=received, due_date=weeks_expr(received, _WEEKS["NOT_ISSUE_16W"]),
            completed_date=self.known("assessment_outcome_date"),
        )
        advice_counts = advice.lazy().group_by(CASE).agg(
            advice_requested=pl.len(), advice_outstanding=pl.col("advice_received").is_null().sum()
        )
        twenty = _collect(
            assessed.lazy().filter(
                pl.col("assessment_outcome").is_null() | pl.col("assessment_outcome").is_in(["Y", "A", "W"])
            )
            .join(self.tables["drafts"].lazy().select("request_id", "draft_plan_date"), on="request_id", how="left",
                  maintain_order="left")  # one per request (V004)
            .join(advice_counts, on=CASE, how="left", maintain_order="left")
            .with_columns(
                issued=pl.when(pl.col("assessment_outcome") == "Y").then(self.known("assessment_outcome_date")),
                draft=self.known("draft_plan_date"),
            )
        )
        parts["FINAL_20W"] = self.instances(
            twenty, anchor_date=received, due_date=weeks_expr(received, _WEEKS["FINAL_20W"]),
            completed_date=pl.col("issued"), closed=pl.col("withdrawn"),
            exception=pl.col("week20").fill_null(False), stage=self.stage(),
        )
        if "drafts" in self.snap.tables_present:
            parts["DRAFT_LOCAL"] = self.instances(
                twenty, anchor_date=received,
                due_date=weeks_expr(received, self.rules.draft_target_weeks), completed_date=pl.col("draft"),
                closed=pl.col("withdrawn") | pl.col("issued").is_not_null(),
            )
        self.ids.update(dict.fromkeys(parts, ids))
        return parts

    def stage(self) -> pl.Expr:
        """Where an open 20-week case is stuck (in that order: docs/rules.md, Where a 20-week case is stuck)."""
        has_advice = pl.lit("advice" in self.snap.tables_present)
        has_drafts = pl.lit("drafts" in self.snap.tables_present)
        draft = pl.col("draft")
        return (
            pl.when(pl.col("decided").is_null()).then(pl.lit(AWAITING_DECISION))
            .when(has_advice & (pl.col("advice_outstanding").fill_null(0) > 0)).then(pl.lit(GATHERING_ADVICE))
            .when(has_advice & (pl.col("advice_requested").fill_null(0) == 0))
            .then(pl.lit(AWAITING_ADVICE_REQUESTS))
            .when(~has_drafts | draft.is_null()).then(pl.lit(DRAFTING))
            .when(self.as_of_day <= day_number(draft) + DRAFT_COMMENT_DAYS - 1).then(pl.lit(DRAFT_COMMENTS))
            .otherwise(pl.lit(FINALISING))
        )

    # --- plan-level clocks (docs/rules.md, Review cycles) -----------------------------------------

    def plans(self) -> dict[str, pl.LazyFrame]:
        births = self.tables["people"].lazy().select("person_id", "date_of_birth")
        plans = _collect(
            self.tables["plans"].lazy().filter(self.started("start_date"))
            .join(births, on="person_id", how="left")
            .select(
                *_ID_COLUMNS, "start_date", "date_of_birth",
                ceased=self.known("cease_date"),
                latest_only=(pl.col("review_history") == REVIEW_HISTORY_LATEST_ONLY).fill_null(False),
            )
            .sort("request_id", "plan_id", nulls_last=False)
            .with_row_index(CASE)  # so a plan's case is also its row: review cycles gather by it
        )
        keys = plans.lazy().select("plan_id", CASE, "start_date", "ceased", "latest_only")
        reviews = _collect(
            self.tables["reviews"].lazy().join(keys, on="plan_id", how="inner").drop("plan_id")
        )
        meeting, notice = pl.col("meeting_date"), pl.col("amendment_notice_date")
        transfers = (
            self.tables["phase_transfers"].lazy().join(keys, on="plan_id", how="inner")
            .with_columns(due_date=pl.coalesce(pl.col("due_date"), phase_transfer_due_expr()),
                          final=self.known("final_date"))
            .filter(pl.col("due_date").is_not_null())
            .sort(_case_day("due_date"), "transfer_kind", "final", nulls_last=False)
        )
        parts = {
            **self.review_cycles(plans, reviews),
            "REVIEW_DECISION_4W": self.instances(
                reviews.lazy().filter(self.started("meeting_date"))
                .with_columns(decided=self.known("decision_date"))
                .sort(_case_day("meeting_date"), "decided", nulls_last=False),
                anchor_date=meeting, due_date=weeks_expr(meeting, _WEEKS["REVIEW_DECISION_4W"]),
                completed_date=pl.col("decided"), ceased=pl.col("ceased"),
            ),
            "AMEND_FINAL_8W": self.instances(
                reviews.lazy().filter(
                    ~pl.col("latest_only") & (pl.col("outcome") == "amend") & self.started("amendment_notice_date")
                )
                .with_columns(amended=self.known("amended_final_date"))
                .sort(_case_day("amendment_notice_date"), "amended", nulls_last=False),
                anchor_date=notice, due_date=weeks_expr(notice, _WEEKS["AMEND_FINAL_8W"]),
                completed_date=pl.col("amended"), ceased=pl.col("ceased"),
            ),
            "PHASE_TRANSFER": self.instances(
                transfers, item=pl.col("transfer_kind"), anchor_date=pl.col("due_date"),
                due_date=pl.col("due_date"), completed_date=pl.col("final"), ceased=pl.col("ceased"),
            ),
        }
        self.ids.update(dict.fromkeys(parts, plans.select(_ID_COLUMNS)))
        return parts

    def review_cycles(self, plans: pl.DataFrame, reviews: pl.DataFrame) -> dict[str, pl.LazyFrame]:
        """Cycles chain from the start date through each later completion (docs/rules.md, Review cycles)."""
        by = "meeting_date" if self.rules.review_completed_by == "meeting" else "decision_date"
        completions = (
            reviews.lazy().select(CASE, "start_date", anchor=self.known(by))
            .filter(pl.col("anchor") > pl.col("start_date"))
            .select(CASE, "anchor")
        )
        same_plan = pl.col(CASE).shift(-1) == pl.col(CASE)
        repeat = same_plan.shift(1, fill_value=False) & (pl.col("anchor").shift(1) == pl.col("anchor"))
        chain = _collect(
            pl.concat([plans.lazy().select(CASE, anchor=pl.col("start_date")), completions])
            .sort(_case_day("anchor"))
            .filter(~repeat)  # two reviews completed on one day end one cycle
            .with_columns(completed=pl.when(same_plan).then(pl.col("anchor").shift(-1)))
        )
        # each cycle takes its plan's columns by the plan's row number (its case)
        chain = pl.concat([chain, plans.select("date_of_birth", "ceased", "latest_only")[chain[CASE]]],
                          how="horizontal")
        # A latest-only plan whose only recorded review came after the as-of date: its history as
        # it stood then is unseen, and a cycle from the start date would invent a breach (2.2).
        unseen = reviews.filter(pl.col(by) > self.day)[CASE].unique()
        anchor = pl.col("anchor")
        cycles = _collect(
            chain.lazy()
            .filter(~(pl.col("latest_only") & pl.col(CASE).is_in(unseen.implode())))
            # Latest-only history: only the cycle anchored on the latest completion; a ceased plan
            # starts no cycle after its cease date.
            .filter(~pl.col("latest_only") | pl.col("completed").is_null())
            .filter(pl.col("ceased").is_null() | (anchor <= pl.col("ceased")))
            .with_columns(
                early=pl.col("date_of_birth").is_not_null()
                & (age_expr(pl.col("date_of_birth"), anchor) < self.rules.early_years_age)
            )
        )
        return {
            measure: self.instances(
                cycles.filter(pl.col("early") == early), anchor_date=anchor,
                due_date=months_expr(anchor, months), completed_date=pl.col("completed"), ceased=pl.col("ceased"),
            )
            for measure, early, months in (
                ("REVIEW_EY", True, self.rules.early_years_review_months),
                ("REVIEW_12M", False, measure("REVIEW_12M").months),
            )
        }

    # --- status of every instance (docs/rules.md, Status on the as-of date) -----------------------

    def decide(self, measure: str, instances: pl.LazyFrame) -> pl.LazyFrame:
        """Status, days late, stage and very late (docs/rules.md, Status on the as-of date; Late and very late)."""
        done, ceased = pl.col("completed_date"), pl.col("ceased")
        # The day the clock stopped (or today, if it still runs): none when the case closed.
        stopped = pl.when(done.is_not_null()).then(done).when(~pl.col("closed")).then(pl.coalesce(ceased, self.day))
        past_due, running = pl.col("past_due"), pl.col("running")
        late = past_due > 0
        status = (
            pl.when(done.is_not_null()).then(pl.when(late).then(_CODE["late"]).otherwise(_CODE["met"]))
            .when(pl.col("closed")).then(_CODE["closed"])
            .when(ceased.is_not_null()).then(pl.when(late).then(_CODE["missed"]).otherwise(_CODE["closed"]))
            .when(late).then(_CODE["overdue"])
            .when(-past_due <= self.rules.due_soon_days).then(_CODE["due_soon"])
            .otherwise(_CODE["pending"])
        )
        # only statutory clocks can be very late
        very_late = (
            (running & late & (past_due >= self.settings.very_late_days(measure))).fill_null(False)
            if KIND[measure] == STATUTORY else pl.lit(False)
        )
        return instances.with_columns(
            past_due=day_number(stopped) - day_number(pl.col("due_date")),
            running=done.is_null() & ~pl.col("closed") & ceased.is_null(),
        ).select(
            CASE, "item", "anchor_date", "due_date", "completed_date",
            status=pl.lit(pl.Series(STATUSES)).gather(status.cast(pl.UInt32)),
            days_late=pl.when(late).then(past_due).cast(pl.Int64),
            exception=pl.col("exception"),
            very_late=very_late,
            stage=pl.when(running).then(pl.col("stage")),
        )

    def result(self, measure: str, decided: pl.DataFrame) -> pl.DataFrame:
        """A measure's rows in the contract's shape: the case's IDs gathered by case."""
        return pl.concat([self.ids[measure][decided[CASE]], decided.drop(CASE)], how="horizontal").select(
            pl.lit(measure).alias("measure"), *_ID_COLUMNS, pl.exclude(_ID_COLUMNS),
            pl.lit(KIND[measure]).alias("kind"), pl.lit(BASIS[measure]).alias("basis"),
        )

    def run(self) -> pl.DataFrame:
        # The request and plan clocks read nothing of each other (each adds its own measures'
        # IDs): built side by side, one branch's small steps fill the core the other leaves idle,
        # since polars releases the GIL while it works (the calendar's numpy steps hold it briefly).
        with ThreadPoolExecutor(max_workers=1) as pool:
            plans = pool.submit(self.plans)
            parts = {**self.requests(), **plans.result()}
        decided = pl.collect_all([self.decide(m, i) for m, i in parts.items()], engine="in-memory")
        return stack({m: self.result(m, frame) for m, frame in zip(parts, decided, strict=True)})


def phase_transfer_due_expr() -> pl.Expr:
    """Reg 18 deadlines when the input gives no due date."""
    kind, transfer = pl.col("transfer_kind"), pl.col("transfer_date")
    return (
        pl.when(kind == "school").then(same_year_expr(transfer, 2, 15))
        .when(kind == "post16").then(same_year_expr(transfer, 3, 31))
        .when(kind == "post16_other").then(months_expr(transfer, -5))
    )


def evaluate(snapshot: Snapshot, settings: Settings, as_of: date) -> pl.DataFrame:
    """Every clock of the snapshot on `as_of`: the results contract (docs/rules.md, The results contract)."""
    return _Engine(snapshot, settings, as_of).run()
