"""The per-case oracle: a plain Python reading of the rule book, one case at a time.

Slow on purpose and written to be read against docs/rules.md, line by line. The property test in
tests/checks asserts that the vectorised engine gives exactly this frame.
"""

from collections import defaultdict
from datetime import date

import polars as pl

from ehcp_monitor.config import Settings
from ehcp_monitor.db.snapshot import Snapshot
from ehcp_monitor.domain.calendar import add_months, add_weeks, age_in_years, last_day_of_window, same_year
from ehcp_monitor.domain.canonical import REVIEW_HISTORY_LATEST_ONLY
from ehcp_monitor.domain.measures import BASIS, DRAFT_COMMENT_DAYS, KIND, STATUTORY, measure
from ehcp_monitor.domain.results import RESULT_SCHEMA, by_measure, finish
from ehcp_monitor.domain.vocabulary import (
    AWAITING_ADVICE_REQUESTS,
    AWAITING_DECISION,
    DRAFT_COMMENTS,
    DRAFTING,
    FINALISING,
    GATHERING_ADVICE,
    OPEN_STATUSES,
)


def _weeks(code: str) -> int:
    """A clock's period in weeks, as the registry of measures gives it."""
    weeks = measure(code).weeks
    assert weeks is not None
    return weeks


def _rows(df: pl.DataFrame) -> list[dict]:
    return df.to_dicts()


def _grouped(df: pl.DataFrame, key: str) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in _rows(df):
        groups[row[key]].append(row)
    return groups


class _Evaluation:
    def __init__(self, snapshot: Snapshot, settings: Settings, as_of: date):
        self.snap = snapshot
        self.rules = settings.rules
        self.settings = settings
        self.as_of = as_of
        self.rows: list[dict] = []
        self.assessments = {r["request_id"]: r for r in _rows(snapshot["assessments"])}
        self.drafts = {r["request_id"]: r["draft_plan_date"] for r in _rows(snapshot["drafts"])}
        self.advice = _grouped(snapshot["advice"], "request_id")
        self.reviews = _grouped(snapshot["reviews"], "plan_id")
        self.transfers = _grouped(snapshot["phase_transfers"], "plan_id")
        self.birth = {r["person_id"]: r["date_of_birth"] for r in _rows(snapshot["people"])}

    def known(self, day: date | None) -> date | None:
        """A date after the as-of date has not happened yet (docs/rules.md, Status on the as-of date)."""
        return day if day is not None and day <= self.as_of else None

    def in_force(self, outcome: str | None, day: date | None) -> str | None:
        """The outcome as it stood on the as-of date: a decision dated later was not yet made (A)."""
        if outcome in ("Y", "N", "W") and day is not None and day > self.as_of:
            return "A"
        return outcome

    def started(self, day: date | None) -> bool:
        """A clock whose start event is after the as-of date has not started (nor has its case)."""
        return day is not None and day <= self.as_of

    def status(self, due: date, completed: date | None, closed: bool = False, ceased: date | None = None):
        if completed is not None:
            return ("met", None) if completed <= due else ("late", (completed - due).days)
        if closed:
            return "closed", None
        if ceased is not None:
            return ("closed", None) if ceased <= due else ("missed", (ceased - due).days)
        if self.as_of > due:
            return "overdue", (self.as_of - due).days
        if (due - self.as_of).days <= self.rules.due_soon_days:
            return "due_soon", None
        return "pending", None

    def add(self, measure, *, request_id=None, plan_id=None, person_id=None, item=None, anchor, due,
            completed, closed=False, ceased=None, exception=False, stage=None) -> str:
        status, days_late = self.status(due, completed, closed, ceased)
        very_late = (
            KIND[measure] == STATUTORY
            and status == "overdue"
            and days_late >= self.settings.very_late_days(measure)
        )
        self.rows.append(
            {
                "measure": measure, "request_id": request_id, "plan_id": plan_id, "person_id": person_id,
                "item": item, "anchor_date": anchor, "due_date": due, "completed_date": completed,
                "status": status, "days_late": days_late, "exception": exception, "very_late": very_late,
                "stage": stage if status in OPEN_STATUSES else None,
                "kind": KIND[measure], "basis": BASIS[measure],
            }
        )
        return status

    # --- request-level clocks (docs/rules.md, Which requests get which clocks) --------------------

    def request(self, req: dict) -> None:
        outcome = self.in_force(req["request_outcome"], req["request_outcome_date"])
        received = req["received_date"]
        if outcome not in ("Y", "N", "A") or not self.started(received):
            return
        ids = {"request_id": req["request_id"], "person_id": req["person_id"]}
        decided = self.known(req["request_outcome_date"]) if outcome in ("Y", "N") else None
        self.add("DECIDE_6W", **ids, anchor=received, due=add_weeks(received, _weeks("DECIDE_6W")), completed=decided)

        assessment = self.assessments.get(req["request_id"])
        a_outcome = (
            self.in_force(assessment["assessment_outcome"], assessment["assessment_outcome_date"])
            if assessment else None
        )
        withdrawn = a_outcome == "W"
        # A request still awaiting its decision has only DECIDE_6W (docs/rules.md, Which requests get
        # which clocks).
        advice = [a for a in self.advice.get(req["request_id"], []) if self.started(a["requested_date"])]
        for a in advice if outcome != "A" else []:
            self.add("ADVICE_6W", **ids, item=a["advice_type"], anchor=a["requested_date"],
                     due=add_weeks(a["requested_date"], _weeks("ADVICE_6W")),
                     completed=self.known(a["received_date"]), closed=withdrawn)

        if outcome != "Y":
            return
        if a_outcome == "N":
            self.add("NOT_ISSUE_16W", **ids, anchor=received, due=add_weeks(received, _weeks("NOT_ISSUE_16W")),
                     completed=self.known(assessment["assessment_outcome_date"]))
            return
        if a_outcome not in ("Y", "A", "W", None):
            return
        issued = self.known(assessment["assessment_outcome_date"]) if a_outcome == "Y" else None
        draft = self.known(self.drafts.get(req["request_id"]))
        self.add("FINAL_20W", **ids, anchor=received, due=add_weeks(received, _weeks("FINAL_20W")), completed=issued,
                 closed=withdrawn, exception=bool(assessment and assessment["week20"]),
                 stage=self.stage(decided, advice, draft))
        if "drafts" in self.snap.tables_present:
            self.add("DRAFT_LOCAL", **ids, anchor=received,
                     due=add_weeks(received, self.rules.draft_target_weeks), completed=draft,
                     closed=withdrawn or issued is not None)

    def stage(self, decided: date | None, advice: list[dict], draft: date | None) -> str:
        """Where an open 20-week case is stuck (in that order: docs/rules.md, Where a 20-week case is stuck)."""
        if decided is None:
            return AWAITING_DECISION
        if "advice" in self.snap.tables_present:
            if any(self.known(a["received_date"]) is None for a in advice):
                return GATHERING_ADVICE
            if not advice:
                return AWAITING_ADVICE_REQUESTS
        if "drafts" not in self.snap.tables_present or draft is None:
            return DRAFTING
        if self.as_of <= last_day_of_window(draft, DRAFT_COMMENT_DAYS):
            return DRAFT_COMMENTS
        return FINALISING

    # --- plan-level clocks (docs/rules.md, Review cycles) -----------------------------------------

    def plan(self, plan: dict) -> None:
        ids = {"request_id": plan["request_id"], "plan_id": plan["plan_id"], "person_id": plan["person_id"]}
        if not self.started(plan["start_date"]):
            return
        ceased = self.known(plan["cease_date"])
        reviews = self.reviews.get(plan["plan_id"], [])
        self.review_cycles(plan, ids, ceased, reviews)
        for r in reviews:
            if self.started(r["meeting_date"]):
                self.add("REVIEW_DECISION_4W", **ids, anchor=r["meeting_date"],
                         due=add_weeks(r["meeting_date"], _weeks("REVIEW_DECISION_4W")),
                         completed=self.known(r["decision_date"]), ceased=ceased)
            if (
                plan["review_history"] != REVIEW_HISTORY_LATEST_ONLY
                and r["outcome"] == "amend"
                and self.started(r["amendment_notice_date"])
            ):
                self.add("AMEND_FINAL_8W", **ids, anchor=r["amendment_notice_date"],
                         due=add_weeks(r["amendment_notice_date"], _weeks("AMEND_FINAL_8W")),
                         completed=self.known(r["amended_final_date"]), ceased=ceased)
        for t in self.transfers.get(plan["plan_id"], []):
            due = t["due_date"] or phase_transfer_due(t["transfer_kind"], t["transfer_date"])
            if due is None:
                continue
            self.add("PHASE_TRANSFER", **ids, item=t["transfer_kind"], anchor=due, due=due,
                     completed=self.known(t["final_date"]), ceased=ceased)

    def review_cycles(self, plan: dict, ids: dict, ceased: date | None, reviews: list[dict]) -> None:
        start = plan["start_date"]
        by = "meeting_date" if self.rules.review_completed_by == "meeting" else "decision_date"
        completions = sorted({d for r in reviews if (d := self.known(r[by])) is not None and d > start})
        cycles = list(zip([start] + completions, completions + [None], strict=True))
        if plan["review_history"] == REVIEW_HISTORY_LATEST_ONLY:
            if any(r[by] is not None and r[by] > self.as_of for r in reviews):
                # The only review on record came later: the history as it stood then is unseen,
                # and inventing a cycle from the start date would invent a breach (docs/rules.md, Review cycles).
                return
            cycles = cycles[-1:]
        born = self.birth.get(plan["person_id"])
        for anchor, completed in cycles:
            if ceased is not None and anchor > ceased:
                continue
            early = born is not None and age_in_years(born, anchor) < self.rules.early_years_age
            if early:
                code, due = "REVIEW_EY", add_months(anchor, self.rules.early_years_review_months)
            else:
                code, due = "REVIEW_12M", add_months(anchor, measure("REVIEW_12M").months)
            self.add(code, **ids, anchor=anchor, due=due, completed=completed, ceased=ceased)


def phase_transfer_due(kind: str | None, transfer: date | None) -> date | None:
    """Reg 18 deadlines when the input gives no due date."""
    if transfer is None:
        return None
    if kind == "school":
        return same_year(transfer, 2, 15)
    if kind == "post16":
        return same_year(transfer, 3, 31)
    if kind == "post16_other":
        return add_months(transfer, -5)
    return None


def evaluate(snapshot: Snapshot, settings: Settings, as_of: date) -> pl.DataFrame:
    ev = _Evaluation(snapshot, settings, as_of)
    for req in _rows(snapshot["requests"]):
        ev.request(req)
    for plan in _rows(snapshot["plans"]):
        ev.plan(plan)
    return finish(by_measure(pl.DataFrame(ev.rows, schema=RESULT_SCHEMA)))
