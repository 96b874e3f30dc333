"""The production clock engine: every measure over the whole caseload in vectorised polars.

Each measure is one frame of clock instances (anchor, due, completion and what closes it);
status, days late and very late are then decided the same way for all of them. Every request and
plan gets an integer `case` rank, its place in the contract's (request_id, plan_id) order, so the
joins after the first, the review-cycle chain and the final sort run on integers, not string IDs.
Review cycles are chained per plan from the sorted completion dates with a shift, never a loop.
"""

from datetime import date

import polars as pl

from ehcp_monitor.calendar import age_expr, months_expr, weeks_expr
from ehcp_monitor.checks.contract import RESULT_SCHEMA, finish
from ehcp_monitor.checks.registry import BASIS, DRAFT_COMMENT_DAYS, KIND, STATUTORY
from ehcp_monitor.config import Settings
from ehcp_monitor.db.snapshot import Snapshot
from ehcp_monitor.schema.canonical import REVIEW_HISTORY_LATEST_ONLY

CASE = "case"  # a request's or plan's rank in (request_id, plan_id) order
_INSTANCE = {
    CASE: pl.UInt32,
    **{c: RESULT_SCHEMA[c] for c in ("request_id", "plan_id", "person_id", "item", "anchor_date", "due_date",
                                     "completed_date", "exception", "stage")},
    "closed": pl.Boolean,  # the case closed (assessment withdrawn, plan issued without a draft)
    "ceased": pl.Date,  # the plan's cease date, when known on the as-of date
}


def _collect(frame: pl.LazyFrame) -> pl.DataFrame:
    """A shared intermediate, computed once (the in-memory engine is the faster one for these)."""
    return frame.collect(engine="in-memory")


class _Engine:
    def __init__(self, snapshot: Snapshot, settings: Settings, as_of: date):
        self.snap = snapshot
        self.rules = settings.rules
        self.settings = settings
        self.as_of = as_of
        self.day = pl.lit(as_of, dtype=pl.Date)

    def in_force(self, outcome: str, day: str) -> pl.Expr:
        """The outcome as it stood on the as-of date: a decision dated later was not yet made (A)."""
        later = pl.col(outcome).is_in(["Y", "N", "W"]) & (pl.col(day) > self.day).fill_null(False)
        return pl.when(later).then(pl.lit("A")).otherwise(pl.col(outcome))

    def started(self, column: str) -> pl.Expr:
        """A clock whose start event is after the as-of date has not started (nor has its case)."""
        return (pl.col(column) <= self.day).fill_null(False)

    def known(self, column: str) -> pl.Expr:
        """A date after the as-of date has not happened yet (domain.md section 3)."""
        return pl.when(pl.col(column) <= self.day).then(pl.col(column))

    def instances(self, df: pl.DataFrame | pl.LazyFrame, measure: str, **exprs: pl.Expr) -> pl.LazyFrame:
        """Clock instances of a measure, in the common shape (unnamed parts are null / false)."""
        defaults = {CASE: pl.col(CASE), "closed": pl.lit(False), "exception": pl.lit(False)}
        columns = [
            pl.lit(measure).alias("measure"),
            pl.lit(KIND[measure]).alias("kind"),
            pl.lit(BASIS[measure]).alias("basis"),
            # only statutory clocks can be very late
            pl.lit(self.very_late_after(measure), dtype=pl.Int64).alias("very_late_after"),
        ]
        for name, dtype in _INSTANCE.items():
            expr = exprs.get(name, defaults.get(name, pl.lit(None)))
            columns.append(expr.cast(dtype).alias(name))
        return df.lazy().select(columns)

    def very_late_after(self, measure: str) -> int | None:
        return self.settings.very_late_days(measure) if KIND[measure] == STATUTORY else None

    # --- request-level clocks (domain.md 2.1) ----------------------------------------------

    def requests(self) -> dict[str, pl.LazyFrame]:
        assessments = self.snap["assessments"].lazy().select(
            "request_id",
            self.in_force("assessment_outcome", "assessment_outcome_date").alias("assessment_outcome"),
            "assessment_outcome_date", "week20",
        )
        base = _collect(
            self.snap["requests"].lazy()
            .select("request_id", "person_id", "received_date", "request_outcome_date",
                    request_outcome=self.in_force("request_outcome", "request_outcome_date"))
            .filter(pl.col("request_outcome").is_in(["Y", "N", "A"]) & self.started("received_date"))
            .sort("request_id")
            .with_row_index(CASE)
            .join(assessments, on="request_id", how="left")
            .with_columns(
                decided=pl.when(pl.col("request_outcome").is_in(["Y", "N"])).then(self.known("request_outcome_date")),
                withdrawn=(pl.col("assessment_outcome") == "W").fill_null(False),
            )
        )
        advice = _collect(
            self.snap["advice"].lazy()
            .filter(self.started("requested_date"))
            .join(base.lazy().select("request_id", CASE, "person_id", "withdrawn", "request_outcome"),
                  on="request_id", how="inner")
            .with_columns(advice_received=self.known("received_date"))
        )
        received, requested = pl.col("received_date"), pl.col("requested_date")
        ids = {"request_id": pl.col("request_id"), "person_id": pl.col("person_id")}
        parts = {
            "DECIDE_6W": self.instances(base, "DECIDE_6W", **ids, anchor_date=received,
                                        due_date=weeks_expr(received, 6), completed_date=pl.col("decided")),
            # A request still awaiting its decision has only DECIDE_6W (domain.md 2.1).
            "ADVICE_6W": self.instances(
                advice.filter(pl.col("request_outcome") != "A"), "ADVICE_6W", **ids, item=pl.col("advice_type"),
                anchor_date=requested, due_date=weeks_expr(requested, 6),
                completed_date=pl.col("advice_received"), closed=pl.col("withdrawn"),
            ),
        }
        assessed = base.filter(pl.col("request_outcome") == "Y")
        parts["NOT_ISSUE_16W"] = self.instances(
            assessed.filter(pl.col("assessment_outcome") == "N"), "NOT_ISSUE_16W", **ids,
            anchor_date=received, due_date=weeks_expr(received, 16),
            completed_date=self.known("assessment_outcome_date"),
        )
        advice_counts = advice.lazy().group_by(CASE).agg(
            advice_requested=pl.len(), advice_outstanding=pl.col("advice_received").is_null().sum()
        )
        twenty = _collect(
            assessed.lazy().filter(
                pl.col("assessment_outcome").is_null() | pl.col("assessment_outcome").is_in(["Y", "A", "W"])
            )
            .join(self.snap["drafts"].lazy().select("request_id", "draft_plan_date"), on="request_id", how="left")
            .join(advice_counts, on=CASE, how="left")
            .with_columns(
                issued=pl.when(pl.col("assessment_outcome") == "Y").then(self.known("assessment_outcome_date")),
                draft=self.known("draft_plan_date"),
            )
        )
        parts["FINAL_20W"] = self.instances(
            twenty, "FINAL_20W", **ids, anchor_date=received, due_date=weeks_expr(received, 20),
            completed_date=pl.col("issued"), closed=pl.col("withdrawn"),
            exception=pl.col("week20").fill_null(False), stage=self.stage(),
        )
        if "drafts" in self.snap.tables_present:
            parts["DRAFT_LOCAL"] = self.instances(
                twenty, "DRAFT_LOCAL", **ids, anchor_date=received,
                due_date=weeks_expr(received, self.rules.draft_target_weeks), completed_date=pl.col("draft"),
                closed=pl.col("withdrawn") | pl.col("issued").is_not_null(),
            )
        return parts

    def stage(self) -> pl.Expr:
        """Where an open 20-week case is stuck (domain.md section 4, in that order)."""
        has_advice = pl.lit("advice" in self.snap.tables_present)
        has_drafts = pl.lit("drafts" in self.snap.tables_present)
        draft = pl.col("draft")
        return (
            pl.when(pl.col("decided").is_null()).then(pl.lit("awaiting_decision"))
            .when(has_advice & (pl.col("advice_outstanding").fill_null(0) > 0)).then(pl.lit("gathering_advice"))
            .when(has_advice & (pl.col("advice_requested").fill_null(0) == 0))
            .then(pl.lit("awaiting_advice_requests"))
            .when(~has_drafts | draft.is_null()).then(pl.lit("drafting"))
            .when(self.day <= draft + pl.duration(days=DRAFT_COMMENT_DAYS - 1)).then(pl.lit("draft_comments"))
            .otherwise(pl.lit("finalising"))
        )

    # --- plan-level clocks (domain.md 2.2) -------------------------------------------------

    def plans(self) -> dict[str, pl.LazyFrame]:
        births = self.snap["people"].lazy().select("person_id", "date_of_birth")
        plans = _collect(
            self.snap["plans"].lazy().filter(self.started("start_date"))
            .join(births, on="person_id", how="left")
            .select(
                "plan_id", "request_id", "person_id", "start_date", "date_of_birth",
                ceased=self.known("cease_date"),
                latest_only=(pl.col("review_history") == REVIEW_HISTORY_LATEST_ONLY).fill_null(False),
            )
            .sort("request_id", "plan_id", nulls_last=False)
            .with_row_index(CASE)  # so a plan's case is also its row: review cycles gather by it
        )
        reviews = _collect(
            self.snap["reviews"].lazy().join(plans.lazy().drop("date_of_birth"), on="plan_id", how="inner")
        )
        ids = {"request_id": pl.col("request_id"), "plan_id": pl.col("plan_id"), "person_id": pl.col("person_id")}
        meeting, notice = pl.col("meeting_date"), pl.col("amendment_notice_date")
        transfers = self.snap["phase_transfers"].lazy().join(plans.lazy(), on="plan_id", how="inner")
        due = pl.coalesce(pl.col("due_date"), phase_transfer_due_expr())
        return {
            **self.review_cycles(plans, reviews, ids),
            "REVIEW_DECISION_4W": self.instances(
                reviews.filter(self.started("meeting_date")), "REVIEW_DECISION_4W", **ids,
                anchor_date=meeting, due_date=weeks_expr(meeting, 4),
                completed_date=self.known("decision_date"), ceased=pl.col("ceased"),
            ),
            "AMEND_FINAL_8W": self.instances(
                reviews.filter(
                    ~pl.col("latest_only") & (pl.col("outcome") == "amend") & self.started("amendment_notice_date")
                ),
                "AMEND_FINAL_8W", **ids, anchor_date=notice, due_date=weeks_expr(notice, 8),
                completed_date=self.known("amended_final_date"), ceased=pl.col("ceased"),
            ),
            "PHASE_TRANSFER": self.instances(
                transfers.with_columns(due_date=due).filter(pl.col("due_date").is_not_null()),
                "PHASE_TRANSFER", **ids, item=pl.col("transfer_kind"), anchor_date=pl.col("due_date"),
                due_date=pl.col("due_date"), completed_date=self.known("final_date"), ceased=pl.col("ceased"),
            ),
        }

    def review_cycles(self, plans: pl.DataFrame, reviews: pl.DataFrame, ids: dict) -> dict[str, pl.LazyFrame]:
        """Cycles chain from the start date through each later completion (domain.md 2.2)."""
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
            .sort(CASE, "anchor")
            .filter(~repeat)  # two reviews completed on one day end one cycle
            .with_columns(completed=pl.when(same_plan).then(pl.col("anchor").shift(-1)))
        )
        # each cycle takes its plan's columns by the plan's row number (its case)
        chain = pl.concat([chain, plans.drop(CASE, "start_date")[chain[CASE]]], how="horizontal")
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
                cycles.filter(pl.col("early") == early), measure, **ids, anchor_date=anchor,
                due_date=months_expr(anchor, months), completed_date=pl.col("completed"), ceased=pl.col("ceased"),
            )
            for measure, early, months in (
                ("REVIEW_EY", True, self.rules.early_years_review_months),
                ("REVIEW_12M", False, 12),
            )
        }

    # --- status of every instance (domain.md section 3) ------------------------------------

    def decide(self, instances: pl.LazyFrame) -> pl.LazyFrame:
        """Status, days late, stage and very late (domain.md sections 3 and 4)."""
        done, due, ceased = pl.col("completed_date"), pl.col("due_date"), pl.col("ceased")
        # The day the clock stopped (or today, if it still runs): none when the case closed.
        stopped = pl.when(done.is_not_null()).then(done).when(~pl.col("closed")).then(pl.coalesce(ceased, self.day))
        past_due = (stopped - due).dt.total_days()
        late = past_due > 0
        status = (
            pl.when(done.is_not_null()).then(pl.when(late).then(pl.lit("late")).otherwise(pl.lit("met")))
            .when(pl.col("closed")).then(pl.lit("closed"))
            .when(ceased.is_not_null()).then(pl.when(late).then(pl.lit("missed")).otherwise(pl.lit("closed")))
            .when(late).then(pl.lit("overdue"))
            .when(-past_due <= self.rules.due_soon_days).then(pl.lit("due_soon"))
            .otherwise(pl.lit("pending"))
        )
        running = done.is_null() & ~pl.col("closed") & ceased.is_null()
        return instances.with_columns(
            status=status,
            days_late=pl.when(late).then(past_due),
            stage=pl.when(running).then(pl.col("stage")),
            very_late=(running & late & (past_due >= pl.col("very_late_after"))).fill_null(False),
        )

    def run(self) -> pl.DataFrame:
        parts = {**self.requests(), **self.plans()}
        return finish({measure: self.decide(instances) for measure, instances in parts.items()}, case_rank=CASE)


def phase_transfer_due_expr() -> pl.Expr:
    """Reg 18 deadlines when the input gives no due date."""
    kind, transfer = pl.col("transfer_kind"), pl.col("transfer_date")
    return (
        pl.when(kind == "school").then(pl.date(transfer.dt.year(), 2, 15))
        .when(kind == "post16").then(pl.date(transfer.dt.year(), 3, 31))
        .when(kind == "post16_other").then(months_expr(transfer, -5))
    )


def evaluate(snapshot: Snapshot, settings: Settings, as_of: date) -> pl.DataFrame:
    """Every clock of the snapshot on `as_of`: the results contract of outputs.md section 2."""
    return _Engine(snapshot, settings, as_of).run()
