"""The one registry of measures: each clock once, with its period, rule text and words.

Where is the 20-week rule? Here: `FINAL_20W`, reg 13(2), 20 weeks from the request. The clock
engine, the oracle, the board pack's KPIs, the forecast, the touchpoint emails, the weekly list,
`ehcp-monitor rules` and docs/rules.md all read a measure's kind, basis, period and words from
this module (docs/rules.md explains each rule). Pure: it imports nothing of ours.
"""

from dataclasses import dataclass

STATUTORY, GUIDANCE, LOCAL = "statutory", "guidance", "local"
KINDS = (STATUTORY, GUIDANCE, LOCAL)
WEEKS, MONTHS = "weeks", "months"
# A draft's comment window: 15 calendar days, the day of service counting as day 1 (reg 13(1)(b)).
DRAFT_COMMENT_DAYS = 15


@dataclass(frozen=True)
class Period:
    """How long a clock runs from its anchor: a count fixed by the regulation, or a setting's."""

    unit: str  # WEEKS | MONTHS
    count: int | None = None  # fixed (regulation or guidance)
    setting: str | None = None  # else the setting that gives the count (docs/configuration.md)

    def text(self) -> str:
        if self.count is None:
            return f"anchor + {self.setting.rsplit('.', 1)[-1]} {self.unit}"
        if self.unit == WEEKS:
            return f"anchor + {self.count} weeks ({self.count * 7} days)"
        return f"anchor + {self.count} {self.unit}"


def weeks(count: int) -> Period:
    return Period(WEEKS, count)


def months(count: int) -> Period:
    return Period(MONTHS, count)


@dataclass(frozen=True)
class Measure:
    code: str
    kind: str
    basis: str
    description: str
    applies_to: str
    anchor: str
    period: Period | None  # None: the due date is a fixed date (PHASE_TRANSFER)
    completed_by: str
    words: str  # what families read (touchpoint emails)
    label: str  # what staff read (the weekly late list)
    settings: tuple[str, ...] = ()  # the settings the rule reads
    kpis: tuple[str, ...] = ()  # the board pack's KPI codes built on this clock
    in_pack: bool = False  # the board pack reads this clock's results
    due_text: str = ""  # the due rule in words, when it is not just the period

    @property
    def due_rule(self) -> str:
        return self.due_text or (self.period.text() if self.period else "")

    @property
    def weeks(self) -> int | None:
        """The fixed period in weeks (None for a months or settings-driven clock)."""
        return self.period.count if self.period and self.period.unit == WEEKS else None

    @property
    def months(self) -> int | None:
        return self.period.count if self.period and self.period.unit == MONTHS else None

    @property
    def days(self) -> int | None:
        """A fixed weeks period in days (20 weeks: 140)."""
        return None if self.weeks is None else self.weeks * 7


_REVIEW_SETTINGS = (
    "rules.early_years_age",
    "rules.early_years_review_months",
    "rules.review_completed_by",
)

MEASURES: tuple[Measure, ...] = (
    Measure(
        "DECIDE_6W", STATUTORY, "reg 5(1)",
        "Decision whether to carry out an EHC needs assessment.",
        "every request whose request outcome is Y, N or A",
        "request received date", weeks(6),
        "request outcome date (outcome Y or N)",
        words="the decision on whether to carry out an assessment (due within 6 weeks of the request)",
        label="Decision whether to assess (6 weeks, reg 5(1))",
        kpis=("decide_6w",), in_pack=True,
    ),
    Measure(
        "ADVICE_6W", STATUTORY, "reg 8",
        "Advice requested for the assessment is received.",
        "every advice row of a request with outcome Y or N (item = advice type)",
        "date the LA asked for the advice", weeks(6),
        "advice received date",
        words="advice we asked for as part of the assessment (due within 6 weeks of our asking)",
        label="Advice requested (6 weeks, reg 8)",
    ),
    Measure(
        "DRAFT_LOCAL", LOCAL, "none",
        "Draft plan served (local target; calendar weeks, not working days).",
        "request outcome Y, assessment outcome Y, A, W or none, when the source has a drafts table",
        "request received date", Period(WEEKS, setting="rules.draft_target_weeks"),
        "draft plan date",
        words="the draft plan",
        label="Draft plan (local target)",
        settings=("rules.draft_target_weeks",),
    ),
    Measure(
        "NOT_ISSUE_16W", STATUTORY, "reg 10(1)",
        "Decision not to issue a plan notified.",
        "request outcome Y, assessment outcome N",
        "request received date", weeks(16),
        "assessment outcome date",
        words="telling you our decision on whether to issue a plan (due within 16 weeks of the request)",
        label="Decision not to issue a plan (16 weeks, reg 10(1))",
        kpis=("not_issue_16w",), in_pack=True,
    ),
    Measure(
        "FINAL_20W", STATUTORY, "reg 13(2)",
        "Final EHC plan issued.",
        "request outcome Y, assessment outcome Y, A, W or none",
        "request received date", weeks(20),
        "assessment outcome date where the outcome is Y",
        words="issuing the final EHC plan (due within 20 weeks of the request)",
        label="Final plan (20 weeks, reg 13(2)), not yet very late",
        kpis=("final_20w", "final_20w_ex"), in_pack=True,
    ),
    Measure(
        "REVIEW_12M", STATUTORY, "CFA s44; reg 18",
        "Annual review of the plan completed.",
        "each review cycle where the child is aged early_years_age or over on the cycle's anchor date",
        "plan start date, then each review completion", months(12),
        "the first review completion after the anchor",
        words="the annual review of the plan",
        label="Annual review (12 months, CFA s44, reg 18)",
        settings=_REVIEW_SETTINGS, kpis=("review_12m",), in_pack=True,
    ),
    Measure(
        "REVIEW_EY", GUIDANCE, "CoP 9.178",
        "Early-years review of the plan completed.",
        "each review cycle where the child is under early_years_age on the cycle's anchor date",
        "plan start date, then each review completion", Period(MONTHS, setting="rules.early_years_review_months"),
        "the first review completion after the anchor",
        words="the review of the plan",
        label="Early years review (CoP 9.178)",
        settings=_REVIEW_SETTINGS, kpis=("review_ey",), in_pack=True,
    ),
    Measure(
        "REVIEW_DECISION_4W", STATUTORY, "reg 20(10)",
        "LA decision after a review meeting notified.",
        "each review with a meeting date",
        "review meeting date", weeks(4),
        "review decision date",
        words="telling you our decision after the review meeting (due within 4 weeks of the meeting)",
        label="Review decision (4 weeks from the meeting, reg 20(10))",
        kpis=("review_decision_4w",), in_pack=True,
    ),
    Measure(
        "AMEND_FINAL_8W", STATUTORY, "reg 22(3)",
        "Final amended plan issued after the amendment notice.",
        "each review with outcome amend and an amendment notice date, on plans with full review history",
        "amendment notice date", weeks(8),
        "amended final plan date",
        words="issuing the amended final plan (due within 8 weeks of the proposed amendments)",
        label="Final amended plan (8 weeks from the notice, reg 22(3))",
        kpis=("amend_8w",), in_pack=True,
    ),
    Measure(
        "PHASE_TRANSFER", STATUTORY, "reg 18",
        "Plan amended to name the new setting before a phase transfer.",
        "each phase transfer of a plan (item = transfer kind)",
        "none: the anchor is the due date itself", None,
        "final amended plan date",
        words="updating the plan to name the new school or setting for the move",
        label="Phase transfer amended plan (reg 18)",
        kpis=("phase_transfer",), in_pack=True,
        due_text="the input due date if given; else school: 15 February of the transfer year; "
        "post16: 31 March of the transfer year; post16_other: transfer date - 5 months",
    ),
)

MEASURES_BY_CODE = {m.code: m for m in MEASURES}
MEASURE_CODES: tuple[str, ...] = tuple(MEASURES_BY_CODE)
# The clocks the board pack reports on (ADVICE_6W and DRAFT_LOCAL are the weekly list's concern).
PACK_MEASURES: tuple[str, ...] = tuple(m.code for m in MEASURES if m.in_pack)

KIND = {m.code: m.kind for m in MEASURES}
BASIS = {m.code: m.basis for m in MEASURES}


def measure(code: str) -> Measure:
    return MEASURES_BY_CODE[code]
