"""The production clock engine: every measure over the whole caseload in vectorised polars.

Each measure is one frame of clock instances (anchor, due, completion and what closes it);
status, days late and very late are then decided once for all of them. Review cycles are
chained per plan from the sorted completion dates with a shift, never a Python loop.
"""

from datetime import date

import polars as pl

from ehcp_monitor.calendar import age_expr, months_expr, weeks_expr
from ehcp_monitor.checks.contract import RESULT_SCHEMA, finish
from ehcp_monitor.checks.registry import BASIS, DRAFT_COMMENT_DAYS, KIND, STATUTORY
from ehcp_monitor.config import Settings
from ehcp_monitor.db.snapshot import Snapshot
from ehcp_monitor.schema.canonical import REVIEW_HISTORY_LATEST_ONLY

_INSTANCE = {
    **{c: RESULT_SCHEMA[c] for c in ("request_id", "plan_id", "person_id", "item", "anchor_date", "due_date",
                                     "completed_date", "exception", "stage")},
    "closed": pl.Boolean,  # the case closed (assessment withdrawn, plan issued without a draft)
    "ceased": pl.Date,  # the plan's cease date, when known on the as-of date
}


# A measure, or (condition, measure if true, measure if false) for review cycles.
MeasureChoice = str | tuple[pl.Expr, str, str]


def _per_measure(measure: MeasureChoice, value_of) -> pl.Expr:
    """A literal per measure (set once per frame, not looked up per row)."""
    if isinstance(measure, str):
        return pl.lit(value_of(measure))
    condition, yes, no = measure
    return pl.when(condition).then(pl.lit(value_of(yes))).otherwise(pl.lit(value_of(no)))


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

    def instances(self, df: pl.LazyFrame, measure: MeasureChoice, **exprs: pl.Expr) -> pl.LazyFrame:
        """Clock instances of a measure, in the common shape (unnamed parts are null / false)."""
        defaults = {"closed": pl.lit(False), "exception": pl.lit(False)}
        columns = [
            _per_measure(measure, lambda m: m).alias("measure"),
            _per_measure(measure, KIND.get).alias("kind"),
            _per_measure(measure, BASIS.get).alias("basis"),
            # only statutory clocks can be very late
            _per_measure(measure, self.very_late_after).cast(pl.Int64).alias("very_late_after"),
        ]
        for name, dtype in _INSTANCE.items():
            expr = exprs.get(name, defaults.get(name, pl.lit(None)))
            columns.append(expr.cast(dtype).alias(name))
        return df.lazy().select(columns)

    def very_late_after(self, measure: str) -> int | None:
        return self.settings.very_late_days(measure) if KIND[measure] == STATUTORY else None

    def known(self, column: str) -> pl.Expr:
        """A date after the as-of date has not happened yet (domain.md section 3)."""
        return pl.when(pl.col(column) <= self.day).then(pl.col(column))

    # --- request-level clocks (domain.md 2.1) ----------------------------------------------

    def requests(self) -> list[pl.LazyFrame]:
        assessments = self.snap["assessments"].lazy().select(
            "request_id",
            self.in_force("assessment_outcome", "assessment_outcome_date").alias("assessment_outcome"),
            "assessment_outcome_date", "week20",
        )
        base = (
            self.snap["requests"].lazy()
            .with_columns(request_outcome=self.in_force("request_outcome", "request_outcome_date"))
            .filter(pl.col("request_outcome").is_in(["Y", "N", "A"]) & self.started("received_date"))
            .join(assessments, on="request_id", how="left")
            .with_columns(
                decided=pl.when(pl.col("request_outcome").is_in(["Y", "N"])).then(self.known("request_outcome_date")),
                withdrawn=(pl.col("assessment_outcome") == "W").fill_null(False),
            )
        )
        received = pl.col("received_date")
        ids = {"request_id": pl.col("request_id"), "person_id": pl.col("person_id")}
        parts = [
            self.instances(base, "DECIDE_6W", **ids, anchor_date=received, due_date=weeks_expr(received, 6),
                           completed_date=pl.col("decided")),
            # A request still awaiting its decision has only DECIDE_6W (domain.md 2.1).
            self.advice(base.filter(pl.col("request_outcome") != "A"), ids),
        ]
        assessed = base.filter(pl.col("request_outcome") == "Y")
        parts.append(
            self.instances(assessed.filter(pl.col("assessment_outcome") == "N"), "NOT_ISSUE_16W", **ids,
                           anchor_date=received, due_date=weeks_expr(received, 16),
                           completed_date=self.known("assessment_outcome_date"))
        )
        twenty = (
            assessed.filter(
                pl.col("assessment_outcome").is_null() | pl.col("assessment_outcome").is_in(["Y", "A", "W"])
            )
            .join(self.snap["drafts"].lazy().select("request_id", "draft_plan_date"), on="request_id", how="left")
            .join(self.advice_counts(), on="request_id", how="left")
            .with_columns(
                issued=pl.when(pl.col("assessment_outcome") == "Y").then(self.known("assessment_outcome_date")),
                draft=self.known("draft_plan_date"),
            )
        )
        parts.append(
            self.instances(twenty, "FINAL_20W", **ids, anchor_date=received, due_date=weeks_expr(received, 20),
                           completed_date=pl.col("issued"), closed=pl.col("withdrawn"),
                           exception=pl.col("week20").fill_null(False), stage=self.stage())
        )
        if "drafts" in self.snap.tables_present:
            parts.append(
                self.instances(twenty, "DRAFT_LOCAL", **ids, anchor_date=received,
                               due_date=weeks_expr(received, self.rules.draft_target_weeks),
                               completed_date=pl.col("draft"),
                               closed=pl.col("withdrawn") | pl.col("issued").is_not_null())
            )
        return parts

    def _advice_rows(self) -> pl.LazyFrame:
        return (
            self.snap["advice"].lazy()
            .filter(self.started("requested_date"))
            .rename({"received_date": "advice_received"})
        )

    def advice(self, base: pl.LazyFrame, ids: dict) -> pl.LazyFrame:
        rows = self._advice_rows().join(
            base.select("request_id", "person_id", "withdrawn"), on="request_id", how="inner"
        )
        requested = pl.col("requested_date")
        return self.instances(rows, "ADVICE_6W", **ids, item=pl.col("advice_type"), anchor_date=requested,
                              due_date=weeks_expr(requested, 6), completed_date=self.known("advice_received"),
                              closed=pl.col("withdrawn"))

    def advice_counts(self) -> pl.LazyFrame:
        return self._advice_rows().group_by("request_id").agg(
            advice_requested=pl.len(),
            advice_outstanding=self.known("advice_received").is_null().sum(),
        )

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

    def plans(self) -> list[pl.LazyFrame]:
        plans = self.snap["plans"].lazy().filter(self.started("start_date")).with_columns(
            ceased=self.known("cease_date"),
            latest_only=(pl.col("review_history") == REVIEW_HISTORY_LATEST_ONLY).fill_null(False),
        )
        ids = {"request_id": pl.col("request_id"), "plan_id": pl.col("plan_id"), "person_id": pl.col("person_id")}
        plan_cols = plans.select("plan_id", "request_id", "person_id", "ceased", "latest_only")
        reviews = self.snap["reviews"].lazy().join(plan_cols, on="plan_id", how="inner")
        meeting, notice = pl.col("meeting_date"), pl.col("amendment_notice_date")
        transfers = self.snap["phase_transfers"].lazy().join(plan_cols, on="plan_id", how="inner")
        due = pl.coalesce(pl.col("due_date"), phase_transfer_due_expr())
        return [
            self.review_cycles(plans, ids),
            self.instances(reviews.filter(self.started("meeting_date")), "REVIEW_DECISION_4W", **ids,
                           anchor_date=meeting, due_date=weeks_expr(meeting, 4),
                           completed_date=self.known("decision_date"), ceased=pl.col("ceased")),
            self.instances(
                reviews.filter(
                    ~pl.col("latest_only") & (pl.col("outcome") == "amend") & self.started("amendment_notice_date")
                ),
                "AMEND_FINAL_8W", **ids, anchor_date=notice, due_date=weeks_expr(notice, 8),
                completed_date=self.known("amended_final_date"), ceased=pl.col("ceased"),
            ),
            self.instances(transfers.with_columns(due_date=due).filter(pl.col("due_date").is_not_null()),
                           "PHASE_TRANSFER", **ids, item=pl.col("transfer_kind"), anchor_date=pl.col("due_date"),
                           due_date=pl.col("due_date"), completed_date=self.known("final_date"),
                           ceased=pl.col("ceased")),
        ]

    def review_cycles(self, plans: pl.LazyFrame, ids: dict) -> pl.LazyFrame:
        """Cycles chain from the start date through each later completion (domain.md 2.2)."""
        by = "meeting_date" if self.rules.review_completed_by == "meeting" else "decision_date"
        starts = plans.select("plan_id", "start_date")
        completions = (
            self.snap["reviews"].lazy()
            .select("plan_id", anchor=self.known(by))
            .join(starts, on="plan_id", how="inner")
            .filter(pl.col("anchor") > pl.col("start_date"))
            .select("plan_id", "anchor")
            .unique()
        )
        same_plan = pl.col("plan_id").shift(-1) == pl.col("plan_id")
        chain = (
            pl.concat([starts.select("plan_id", anchor=pl.col("start_date")), completions])
            .sort("plan_id", "anchor")
            .with_columns(completed=pl.when(same_plan).then(pl.col("anchor").shift(-1)))
        )
        # A latest-only plan whose only recorded review came after the as-of date: its history as
        # it stood then is unseen, and a cycle from the start date would invent a breach (2.2).
        unseen = (
            self.snap["reviews"].lazy().filter(pl.col(by) > self.day)
            .select("plan_id").unique().with_columns(unseen=pl.lit(True))
        )
        births = self.snap["people"].lazy().select("person_id", "date_of_birth")
        cycles = (
            chain.join(plans.select("plan_id", "request_id", "person_id", "ceased", "latest_only"), on="plan_id")
            .join(births, on="person_id", how="left")
            .join(unseen, on="plan_id", how="left")
            .filter(~(pl.col("latest_only") & pl.col("unseen").fill_null(False)))
            # Latest-only history: only the cycle anchored on the latest completion; a ceased plan
            # starts no cycle after its cease date.
            .filter(~pl.col("latest_only") | pl.col("completed").is_null())
            .filter(pl.col("ceased").is_null() | (pl.col("anchor") <= pl.col("ceased")))
        )
        anchor = pl.col("anchor")
        early = pl.col("date_of_birth").is_not_null() & (
            age_expr(pl.col("date_of_birth"), anchor) < self.rules.early_years_age
        )
        return self.instances(
            cycles, (early, "REVIEW_EY", "REVIEW_12M"), **ids, anchor_date=anchor,
            due_date=pl.when(early).then(months_expr(anchor, self.rules.early_years_review_months))
            .otherwise(months_expr(anchor, 12)),
            completed_date=pl.col("completed"), ceased=pl.col("ceased"),
        )

    # --- status of every instance (domain.md section 3) ------------------------------------

    def decide(self, instances: pl.LazyFrame) -> pl.LazyFrame:
        done, due = pl.col("completed_date"), pl.col("due_date")
        ceased = pl.col("ceased")
        status = (
            pl.when(done.is_not_null() & (done <= due)).then(pl.lit("met"))
            .when(done.is_not_null()).then(pl.lit("late"))
            .when(pl.col("closed")).then(pl.lit("closed"))
            .when(ceased.is_not_null() & (ceased <= due)).then(pl.lit("closed"))
            .when(ceased.is_not_null()).then(pl.lit("missed"))
            .when(self.day > due).then(pl.lit("overdue"))
            .when((due - self.day).dt.total_days() <= self.rules.due_soon_days).then(pl.lit("due_soon"))
            .otherwise(pl.lit("pending"))
        )
        st = pl.col("status")
        days_late = (
            pl.when(st == "late").then((done - due).dt.total_days())
            .when(st == "missed").then((ceased - due).dt.total_days())
            .when(st == "overdue").then((self.day - due).dt.total_days())
        )
        return (
            instances.with_columns(status=status)
            .with_columns(days_late=days_late)
            .with_columns(
                stage=pl.when(st.is_in(["overdue", "due_soon", "pending"])).then(pl.col("stage")),
                very_late=((st == "overdue") & (pl.col("days_late") >= pl.col("very_late_after"))).fill_null(False),
            )
        )

    def run(self) -> pl.DataFrame:
        instances = pl.concat(self.requests() + self.plans())
        return finish(self.decide(instances))


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
