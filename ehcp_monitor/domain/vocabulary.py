"""The words the whole product shares: statuses, stages, outbox statuses and the board pack's KPIs.

Each list is declared once here; config, the clock engine, the oracle, touchpoints, the weekly
list and the board pack import it. Pure: only `measures` (for the day counts) is read.
How to add a touchpoint stage: add it to TOUCHPOINT_STAGES, write its three templates in
reports/emails/ and its event in touchpoints/events.py (docs/touchpoints.md).
"""

from dataclasses import dataclass

from ehcp_monitor.domain.measures import measure

# --- a clock's status (docs/rules.md) --------------------------------------------------------
MET, LATE, OVERDUE, DUE_SOON, PENDING, MISSED, CLOSED = (
    "met", "late", "overdue", "due_soon", "pending", "missed", "closed")
STATUSES = (MET, LATE, OVERDUE, DUE_SOON, PENDING, MISSED, CLOSED)
OPEN_STATUSES = (OVERDUE, DUE_SOON, PENDING)  # the clock still runs
# What staff read for each status; the code stays in the CSVs (docs/late-list.md, "Words, not codes").
STATUS_WORDS = {MET: "Met", LATE: "Late", OVERDUE: "Overdue", DUE_SOON: "Due soon", PENDING: "Not yet due",
                MISSED: "Missed", CLOSED: "Closed"}

# --- where an open 20-week case is stuck (docs/rules.md), in the order a case passes through them
AWAITING_DECISION = "awaiting_decision"
AWAITING_ADVICE_REQUESTS = "awaiting_advice_requests"
GATHERING_ADVICE = "gathering_advice"
DRAFTING = "drafting"
DRAFT_COMMENTS = "draft_comments"
FINALISING = "finalising"
STAGES_20W = (AWAITING_DECISION, AWAITING_ADVICE_REQUESTS, GATHERING_ADVICE, DRAFTING, DRAFT_COMMENTS, FINALISING)
STAGE_WORDS_20W = {
    AWAITING_DECISION: "Awaiting the decision to assess",
    AWAITING_ADVICE_REQUESTS: "Advice not yet requested",
    GATHERING_ADVICE: "Gathering advice",
    DRAFTING: "Drafting the plan",
    DRAFT_COMMENTS: "Draft with the family for comments",
    FINALISING: "Finalising the plan",
}
# Told a family for DRAFTING where the source lacks the `drafts` or `advice` table: the rule book
# puts the case there for want of the table, and the draft may have gone to them already. Not a
# stage of the rule book (the weekly list keeps DRAFTING), only of a progress update's facts.
ASSESSING = "assessing"
# What a family reads for each stage (the `progress_update` touchpoint, docs/touchpoints.md).
STAGE_FAMILY_WORDS_20W = {
    AWAITING_DECISION: "we are deciding whether to carry out an EHC needs assessment",
    AWAITING_ADVICE_REQUESTS: "we are about to ask professionals for their advice",
    GATHERING_ADVICE: "we are gathering advice from the professionals who know your child",
    DRAFTING: "we are writing the draft EHC plan",
    DRAFT_COMMENTS: "the draft plan is with you for your comments",
    FINALISING: "we are finishing the final EHC plan",
    ASSESSING: "we are carrying out the EHC needs assessment and working towards the final EHC plan",
}
# The same, where the message goes to the young person themselves.
STAGE_YOUNG_PERSON_WORDS_20W = {
    **STAGE_FAMILY_WORDS_20W,
    GATHERING_ADVICE: "we are gathering advice from the professionals who know you",
}
# Where a breach forecast's days come from (ehcp_monitor/forecast.py).
FORECAST_SOURCE_WORDS = {"history": "This LA's cases", "default": "Statutory timetable (too few cases)"}

# --- touchpoints: the events a family is told about (docs/touchpoints.md) ---------------------
TOUCHPOINT_STAGES = (
    "request_received",
    "decision_to_assess",
    "decision_not_to_assess",
    "draft_plan_issued",
    "final_plan_issued",
    "decision_not_to_issue",
    "delay_notice",
    "progress_update",
    "review_upcoming",
    "review_decision",
    "amended_plan_issued",
)
TOUCHPOINT_STAGE_WORDS = {
    "request_received": "Request received",
    "decision_to_assess": "Decision to assess",
    "decision_not_to_assess": "Decision not to assess",
    "draft_plan_issued": "Draft plan issued",
    "final_plan_issued": "Final plan issued",
    "decision_not_to_issue": "Decision not to issue a plan",
    "delay_notice": "Delay notice",
    "progress_update": "Progress update",
    "review_upcoming": "Annual review coming up",
    "review_decision": "Decision after the review",
    "amended_plan_issued": "Amended plan issued",
}
# A touchpoint's status in the outbox (docs/touchpoints.md). `claimed` and `sending` are the
# dispatcher's own (touchpoints/dispatch.py); `held` and `discarded` the hold's; `superseded` the
# planner's, for a waiting row whose event the records no longer have (touchpoints/corrections.py).
OUTBOX_STATUSES = ("pending", "claimed", "sending", "sent", "retry", "failed", "unknown", "suppressed",
                   "skipped", "baseline", "held", "discarded", "superseded")
DUE_OUTBOX_STATUSES = ("pending", "retry")  # what a dispatch may send
OPTED_OUT = "opted out"  # the reason of a row skipped because its contact opted out: final
# A contact's role (docs/input-formats.md, Canonical extracts): whom a message is written to.
PARENT_CARER, YOUNG_PERSON = CONTACT_ROLES = ("parent_carer", "young_person")
# Who is told (docs/touchpoints.md, Who is told): the reasons of a row skipped so. Each follows
# the records (a date of birth or a contact corrected); only an opt-out is final.
UNDER_SCHOOL_AGE = "young person under compulsory school age: their parent carer is told"
# Nobody is told: a data fault (the contact's role, or the child's date of birth) for the data team.
UNDER_SCHOOL_AGE_NO_PARENT = ("young person under compulsory school age, and no parent carer recorded: nobody is "
                              "told; correct the contact's role or the child's date of birth")
ADULT_NAMED = "young person over compulsory school age is a named contact: they are told, not their parent carer"
AGE_UNKNOWN = ("no date of birth on record, so whether the young person or their parent carer is told cannot "
               "be decided: correct it and the next planning run tells the right one")
NOT_TO_TELL = (OPTED_OUT, UNDER_SCHOOL_AGE, ADULT_NAMED)  # nobody to tell there (the promise counts none)
OUTBOX_STATUS_WORDS = {
    "pending": "Waiting to send", "claimed": "About to send", "sending": "Sending", "sent": "Sent",
    "retry": "To retry", "failed": "Failed", "unknown": "In doubt", "suppressed": "Suppressed (too old)",
    "skipped": "Not sent (skipped)", "baseline": "Before go-live", "held": "Held", "discarded": "Discarded",
    "superseded": "Not sent (records changed)",
}


def words(code: str | None, table: dict[str, str]) -> str | None:
    """The staff words for a code; a code with no words is shown as it is, never dropped."""
    return None if code is None else table.get(code, code)


# --- the board pack's KPIs (docs/board-pack.md) -----------------------------------------------
@dataclass(frozen=True)
class KpiSpec:
    code: str
    title: str
    unit: str  # "%" (numerator of denominator) or "count"
    section: str
    definition: str


def _days(code: str) -> int:
    days = measure(code).days
    assert days is not None
    return days


KPI_SPECS: dict[str, KpiSpec] = {s.code: s for s in (
    KpiSpec("final_20w", "New plans issued within 20 weeks (including exceptions)", "%", "Assessments",
            "Plans issued in the period (mediation and tribunal cases left out) issued within "
            f"{_days('FINAL_20W')} days of the request."),
    KpiSpec("final_20w_ex", "New plans issued within 20 weeks (excluding exceptions)", "%", "Assessments",
            "As above, with exception (week20) cases dropped from numerator and denominator."),
    KpiSpec("decide_6w", "Decisions whether to assess within 6 weeks", "%", "Assessments",
            f"Requests decided (Y or N) in the period, decided within {_days('DECIDE_6W')} days of the request."),
    KpiSpec("not_issue_16w", "Decisions not to issue within 16 weeks", "%", "Assessments",
            "Assessments ending in a decision not to issue in the period, decided within "
            f"{_days('NOT_ISSUE_16W')} days."),
    KpiSpec("review_decision_4w", "Review decisions within 4 weeks of the meeting", "%", "Annual reviews",
            f"Review decisions notified in the period, within {_days('REVIEW_DECISION_4W')} days of the "
            "review meeting."),
    KpiSpec("review_12m", "Annual reviews completed within 12 months", "%", "Annual reviews",
            "Review cycles (aged 5 and over) due in the period, completed by their due date."),
    KpiSpec("review_ey", "Early-years reviews completed within the early-years interval", "%",
            "Annual reviews", "Review cycles of under-5s due in the period, completed by their due date."),
    KpiSpec("reviews_overdue", "Reviews overdue", "count", "Annual reviews",
            "Active plans whose current review cycle is overdue on the period's last day."),
    KpiSpec("amend_8w", "Amended plans issued within 8 weeks", "%", "Annual reviews",
            f"Final amended plans issued in the period, within {_days('AMEND_FINAL_8W')} days of the "
            "amendment notice."),
    KpiSpec("phase_transfer", "Phase transfers by their deadline", "%", "Annual reviews",
            "Phase transfers due in the period whose amended plan was issued by the deadline."),
    KpiSpec("requests", "Requests for assessment received", "count", "Demand",
            "Requests for an EHC needs assessment received in the period."),
    KpiSpec("open_caseload", "Open requests and assessments", "count", "Demand",
            "Requests not yet decided and assessments not yet concluded, on the period's last day."),
    KpiSpec("qa_good", "Plans audited rated good or better", "%", "Quality",
            "Draft and amended plans audited in the period rated good or outstanding."),
)}
KPI_CODES: tuple[str, ...] = tuple(KPI_SPECS)
# The rate KPIs, which can carry a target (`board_pack.targets`).
TARGET_KPIS: tuple[str, ...] = tuple(code for code, spec in KPI_SPECS.items() if spec.unit == "%")
HEADLINE_KPIS = ("final_20w", "final_20w_ex", "decide_6w", "not_issue_16w", "review_decision_4w",
                 "review_12m", "reviews_overdue", "amend_8w", "phase_transfer", "requests", "qa_good")

# DfE's bands of time from request to issue, in days: within 20 weeks, up to 52 weeks, over.
DAYS_20W = _days("FINAL_20W")
DAYS_52W = 52 * 7

# DfE's measures for a calendar year (docs/board-pack.md, "DfE's measures"): code, label, unit.
DFE_REVIEW_OUTCOMES = (("amend", "review_outcome_amended", "Outcome: amend the plan"),
                       ("cease", "review_outcome_ceased", "Outcome: cease the plan"),
                       ("maintain", "review_outcome_maintained", "Outcome: maintain the plan"),
                       (None, "review_no_outcome_recorded", "No outcome recorded"))
DFE_YEAR_ROWS = (
    ("final_20w", KPI_SPECS["final_20w"].title, "%"),
    ("final_20w_band_20_52", "Issued in over 20 and up to 52 weeks (including exceptions)", "%"),
    ("final_20w_band_over_52", "Issued in over 52 weeks (including exceptions)", "%"),
    ("final_20w_ex", KPI_SPECS["final_20w_ex"].title, "%"),
    ("final_20w_band_20_52_ex", "Issued in over 20 and up to 52 weeks (excluding exceptions)", "%"),
    ("final_20w_band_over_52_ex", "Issued in over 52 weeks (excluding exceptions)", "%"),
    ("avg_weeks_issue", "Average weeks from request to issue (including exceptions)", "weeks"),
    ("avg_weeks_issue_ex", "Average weeks from request to issue (excluding exceptions)", "weeks"),
    ("decide_6w", KPI_SPECS["decide_6w"].title, "%"),
    ("not_issue_16w", KPI_SPECS["not_issue_16w"].title, "%"),
    ("reviews_expected", "Annual reviews expected in the year", "count"),
    ("reviews_completed", "Expected reviews completed in the year", "%"),
    ("reviews_completed_prior", "Expected reviews completed before the year", "%"),
    ("reviews_not_completed", "Expected reviews not completed", "%"),
    *((code, label, "%") for _, code, label in DFE_REVIEW_OUTCOMES),
    ("review_decision_4w", KPI_SPECS["review_decision_4w"].title, "%"),
    ("phase_transfers_due", "Phase transfers due in the year", "count"),
    ("phase_transfers_final", "Final plans issued in the year after a phase transfer review", "count"),
    ("phase_transfer", "Phase transfers due in the year finalised by their deadline", "%"),
    ("requests", "Requests for an EHC needs assessment received", "count"),
    ("requests_refused", "Requests refused (decided not to assess)", "%"),
)
