"""The one registry of measures (domain.md section 2): each clock once, with its rule text.

The engine, the oracle, `ehcp-monitor rules` and docs/rules.md all read kind, basis and
settings from here.
"""

from dataclasses import dataclass

from ehcp_monitor.config import MEASURE_CODES, Settings

STATUTORY, GUIDANCE, LOCAL = "statutory", "guidance", "local"
STATUSES = ("met", "late", "overdue", "due_soon", "pending", "missed", "closed")
OPEN_STATUSES = ("overdue", "due_soon", "pending")
STAGES = (
    "awaiting_decision",
    "gathering_advice",
    "awaiting_advice_requests",
    "drafting",
    "draft_comments",
    "finalising",
)
# A draft's comment window (15 days, the day of service counting as day 1).
DRAFT_COMMENT_DAYS = 15


@dataclass(frozen=True)
class Measure:
    code: str
    kind: str
    basis: str
    description: str
    applies_to: str
    anchor: str
    due_rule: str
    completed_by: str
    settings: tuple[str, ...] = ()

    def settings_in_force(self, settings: Settings) -> dict[str, object]:
        values = {key: settings[key] for key in self.settings}
        if self.kind == STATUTORY:
            values["rules.very_late_days"] = settings.very_late_days(self.code)
        return values


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
        "request received date", "anchor + 6 weeks (42 days)",
        "request outcome date (outcome Y or N)",
    ),
    Measure(
        "ADVICE_6W", STATUTORY, "reg 8",
        "Advice requested for the assessment is received.",
        "every advice row of a request with outcome Y or N (item = advice type)",
        "date the LA asked for the advice", "anchor + 6 weeks (42 days)",
        "advice received date",
    ),
    Measure(
        "DRAFT_LOCAL", LOCAL, "none",
        "Draft plan served (local target; calendar weeks, not working days).",
        "request outcome Y, assessment outcome Y, A, W or none, when the source has a drafts table",
        "request received date", "anchor + draft_target_weeks weeks",
        "draft plan date", ("rules.draft_target_weeks",),
    ),
    Measure(
        "NOT_ISSUE_16W", STATUTORY, "reg 10(1)",
        "Decision not to issue a plan notified.",
        "request outcome Y, assessment outcome N",
        "request received date", "anchor + 16 weeks (112 days)",
        "assessment outcome date",
    ),
    Measure(
        "FINAL_20W", STATUTORY, "reg 13(2)",
        "Final EHC plan issued.",
        "request outcome Y, assessment outcome Y, A, W or none",
        "request received date", "anchor + 20 weeks (140 days)",
        "assessment outcome date where the outcome is Y",
    ),
    Measure(
        "REVIEW_12M", STATUTORY, "CFA s44; reg 18",
        "Annual review of the plan completed.",
        "each review cycle where the child is aged early_years_age or over on the cycle's anchor date",
        "plan start date, then each review completion", "anchor + 12 months",
        "the first review completion after the anchor", _REVIEW_SETTINGS,
    ),
    Measure(
        "REVIEW_EY", GUIDANCE, "CoP 9.178",
        "Early-years review of the plan completed.",
        "each review cycle where the child is under early_years_age on the cycle's anchor date",
        "plan start date, then each review completion", "anchor + early_years_review_months months",
        "the first review completion after the anchor", _REVIEW_SETTINGS,
    ),
    Measure(
        "REVIEW_DECISION_4W", STATUTORY, "reg 20(10)",
        "LA decision after a review meeting notified.",
        "each review with a meeting date",
        "review meeting date", "anchor + 4 weeks (28 days)",
        "review decision date",
    ),
    Measure(
        "AMEND_FINAL_8W", STATUTORY, "reg 22(3)",
        "Final amended plan issued after the amendment notice.",
        "each review with outcome amend and an amendment notice date, on plans with full review history",
        "amendment notice date", "anchor + 8 weeks (56 days)",
        "amended final plan date",
    ),
    Measure(
        "PHASE_TRANSFER", STATUTORY, "reg 18",
        "Plan amended to name the new setting before a phase transfer.",
        "each phase transfer of a plan (item = transfer kind)",
        "none: the anchor is the due date itself",
        "the input due date if given; else school: 15 February of the transfer year; "
        "post16: 31 March of the transfer year; post16_other: transfer date - 5 months",
        "final amended plan date",
    ),
)

MEASURES_BY_CODE = {m.code: m for m in MEASURES}
assert tuple(MEASURES_BY_CODE) == MEASURE_CODES, "registry and config.MEASURE_CODES disagree"

KIND = {m.code: m.kind for m in MEASURES}
BASIS = {m.code: m.basis for m in MEASURES}


def measure(code: str) -> Measure:
    return MEASURES_BY_CODE[code]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_rules_table(settings: Settings) -> str:
    """The markdown table of measures with the settings in force (docs/rules.md, `rules`)."""
    lines = [
        "| code | kind | basis | applies to | anchor | due | completed by | settings in force |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in MEASURES:
        in_force = ", ".join(f"`{k} = {v}`" for k, v in m.settings_in_force(settings).items()) or "none"
        cells = (f"`{m.code}`", m.kind, m.basis, m.applies_to, m.anchor, m.due_rule, m.completed_by, in_force)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


DOC_BEGIN = "<!-- BEGIN GENERATED: measures (python -m ehcp_monitor.domain.measures) -->"
DOC_END = "<!-- END GENERATED: measures -->"


def refresh_doc(text: str, settings: Settings) -> str:
    """docs/rules.md with its generated measures table brought up to date."""
    head, rest = text.split(DOC_BEGIN, 1)
    _, tail = rest.split(DOC_END, 1)
    return f"{head}{DOC_BEGIN}\n{render_rules_table(settings)}{DOC_END}{tail}"


if __name__ == "__main__":
    from pathlib import Path

    from ehcp_monitor.config import defaults

    doc = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
    doc.write_text(refresh_doc(doc.read_text(encoding="utf-8"), defaults()), encoding="utf-8")
