"""The canonical case-record tables (docs/input-formats.md, Canonical extracts), defined once.

Readers map every source onto these; validation, the store, the synthetic generator and the
clock engine all read their column lists, types and code lists from here.
"""

from dataclasses import dataclass, field

import polars as pl

from ehcp_monitor.domain.vocabulary import CONTACT_ROLES

OUTCOME_CODES = ("Y", "N", "A", "W", "H")
ADVICE_TYPES = ("education", "health", "social_care", "educational_psychology", "other")
REVIEW_OUTCOMES = ("maintain", "amend", "cease")
TRANSFER_KINDS = ("school", "post16", "post16_other")
CONTACT_CHANNELS = ("email", "sms", "letter")
PLAN_KINDS = ("draft", "amended")
RATINGS = ("outstanding", "good", "requires_improvement", "inadequate")
CEASE_REASONS = tuple(str(n) for n in range(1, 10))

# Kinds of column: how a raw text value is parsed and what it is stored as.
TEXT, DATE, FLAG, CODE_UPPER, CODE_LOWER = "text", "date", "flag", "code_upper", "code_lower"

POLARS_TYPES = {
    TEXT: pl.Utf8,
    DATE: pl.Date,
    FLAG: pl.Boolean,
    CODE_UPPER: pl.Utf8,
    CODE_LOWER: pl.Utf8,
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = TEXT
    required: bool = False
    codes: tuple[str, ...] = ()
    max_length: int = 100
    # Personal data never reaches logs; marked here so outputs can minimise it too.
    personal: bool = False

    @property
    def dtype(self) -> pl.DataType:
        return POLARS_TYPES[self.kind]


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    # The columns that identify a row; duplicates of this key are V004.
    key: tuple[str, ...]
    # (column, parent table, parent column): a reference that must resolve (V005).
    references: tuple[tuple[str, str, str], ...] = ()
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def polars_schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}

    def empty_frame(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.polars_schema)


def _c(name, kind=TEXT, required=False, codes=(), max_length=100, personal=False) -> Column:
    return Column(name, kind, required, tuple(codes), max_length, personal)


CANONICAL_TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "people",
            (
                _c("person_id", required=True, max_length=64),
                _c("date_of_birth", DATE, required=True, personal=True),
                _c("forename", personal=True),
                _c("surname", personal=True),
                _c("upn", max_length=13, personal=True),
                _c("postcode", max_length=10, personal=True),
            ),
            key=("person_id",),
            description="Children and young people.",
        ),
        TableSpec(
            "requests",
            (
                _c("request_id", required=True, max_length=64),
                _c("person_id", required=True, max_length=64),
                _c("received_date", DATE, required=True),
                _c("request_outcome", CODE_UPPER, required=True, codes=OUTCOME_CODES),
                _c("request_outcome_date", DATE),
                _c("request_source", max_length=40),
                _c("request_mediation", FLAG),
                _c("request_tribunal", FLAG),
                _c("case_officer", max_length=100),
                _c("team", max_length=100),
            ),
            key=("request_id",),
            references=(("person_id", "people", "person_id"),),
            description="Requests for an EHC needs assessment.",
        ),
        TableSpec(
            "assessments",
            (
                _c("request_id", required=True, max_length=64),
                _c("assessment_outcome", CODE_UPPER, required=True, codes=OUTCOME_CODES),
                _c("assessment_outcome_date", DATE),
                _c("week20", FLAG),
                _c("assessment_mediation", FLAG),
                _c("assessment_tribunal", FLAG),
                _c("exception_reason", max_length=500),
            ),
            key=("request_id",),
            references=(("request_id", "requests", "request_id"),),
            description="EHC needs assessments, one per request.",
        ),
        TableSpec(
            "drafts",
            (
                _c("request_id", required=True, max_length=64),
                _c("draft_plan_date", DATE, required=True),
            ),
            key=("request_id",),
            references=(("request_id", "requests", "request_id"),),
            description="The date each draft plan was served on the family.",
        ),
        TableSpec(
            "advice",
            (
                _c("request_id", required=True, max_length=64),
                _c("advice_type", CODE_LOWER, required=True, codes=ADVICE_TYPES),
                _c("requested_date", DATE, required=True),
                _c("received_date", DATE),
            ),
            key=("request_id", "advice_type", "requested_date"),
            references=(("request_id", "requests", "request_id"),),
            description="Advice requested during an assessment (reg 6).",
        ),
        TableSpec(
            "plans",
            (
                _c("plan_id", required=True, max_length=64),
                _c("person_id", required=True, max_length=64),
                _c("request_id", max_length=64),
                _c("start_date", DATE, required=True),
                _c("cease_date", DATE),
                _c("cease_reason", CODE_UPPER, codes=CEASE_REASONS),
                # Who holds the plan (its reviews); blank: the request's officer and team.
                _c("case_officer", max_length=100),
                _c("team", max_length=100),
            ),
            key=("plan_id",),
            references=(
                ("person_id", "people", "person_id"),
                ("request_id", "requests", "request_id"),
            ),
            description="EHC plans.",
        ),
        TableSpec(
            "reviews",
            (
                _c("plan_id", required=True, max_length=64),
                _c("meeting_date", DATE),
                _c("decision_date", DATE),
                _c("outcome", CODE_LOWER, codes=REVIEW_OUTCOMES),
                _c("amendment_notice_date", DATE),
                _c("amended_final_date", DATE),
            ),
            key=("plan_id", "meeting_date", "decision_date"),
            references=(("plan_id", "plans", "plan_id"),),
            description="Annual reviews of plans (full history unless loaded from SEN2).",
        ),
        TableSpec(
            "phase_transfers",
            (
                _c("plan_id", required=True, max_length=64),
                _c("transfer_kind", CODE_LOWER, required=True, codes=TRANSFER_KINDS),
                _c("transfer_date", DATE, required=True),
                _c("due_date", DATE),
                _c("final_date", DATE),
            ),
            key=("plan_id", "transfer_kind", "transfer_date"),
            references=(("plan_id", "plans", "plan_id"),),
            description="Phase transfers (reg 18).",
        ),
        TableSpec(
            "contacts",
            (
                _c("contact_id", required=True, max_length=64),
                _c("person_id", required=True, max_length=64),
                _c("role", CODE_LOWER, codes=CONTACT_ROLES),
                _c("name", max_length=200, personal=True),
                _c("email", max_length=254, personal=True),
                _c("opted_out", FLAG),
                # Other ways to reach a contact with no usable email (docs/touchpoints.md, Channels).
                _c("mobile", max_length=32, personal=True),
                *(_c(f"address_line_{n}", max_length=100, personal=True) for n in range(1, 6)),
                _c("postcode", max_length=10, personal=True),
                _c("preferred_channel", CODE_LOWER, codes=CONTACT_CHANNELS),
            ),
            key=("contact_id",),
            references=(("person_id", "people", "person_id"),),
            description="Parent carers and young people to keep informed.",
        ),
        TableSpec(
            "qa_audits",
            (
                _c("plan_id", required=True, max_length=64),
                _c("audit_date", DATE, required=True),
                _c("plan_kind", CODE_LOWER, required=True, codes=PLAN_KINDS),
                _c("rating", CODE_LOWER, required=True, codes=RATINGS),
            ),
            key=("plan_id", "audit_date", "plan_kind"),
            references=(("plan_id", "plans", "plan_id"),),
            description="Quality assurance audits of draft and amended plans.",
        ),
    )
}

REQUIRED_TABLES = ("people", "requests")

# Dates that record a step as done: one after the as-of date is W005 (the clocks take it as not yet
# known), and the touchpoints hold the case's apologies and updates while it is there. Not the
# dates that may rightly lie ahead: a review meeting booked, a plan's planned cease date, a phase
# transfer's own and due dates.
STEP_DONE_DATES = (
    ("requests", "request_outcome_date", "decision on the request"),
    ("assessments", "assessment_outcome_date", "assessment outcome"),
    ("drafts", "draft_plan_date", "draft plan"),
    ("advice", "requested_date", "advice request"),
    ("advice", "received_date", "advice received"),
    ("reviews", "decision_date", "review decision"),
    ("reviews", "amendment_notice_date", "amendment notice"),
    ("reviews", "amended_final_date", "amended plan"),
    ("phase_transfers", "final_date", "plan after the phase transfer"),
    ("qa_audits", "audit_date", "audit"),
)

# Load order: parents before children, so references can be checked against what loaded.
TABLE_ORDER = (
    "people",
    "requests",
    "assessments",
    "drafts",
    "advice",
    "plans",
    "reviews",
    "phase_transfers",
    "contacts",
    "qa_audits",
)

# Columns the store adds to canonical tables.
# plans.review_history: "full" (a canonical reviews table) or "latest_only" (SEN2), docs/rules.md, Review cycles.
REVIEW_HISTORY_FULL = "full"
REVIEW_HISTORY_LATEST_ONLY = "latest_only"


def table_spec(name: str) -> TableSpec:
    return CANONICAL_TABLES[name]
