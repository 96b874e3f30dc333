"""What the pack takes from each file of DfE's "Education, health and care plans" release.

Both the June 2025 release (calendar year 2024) and the June 2026 one (calendar year 2025) are
described here (docs/board-pack.md, "National comparison"). Column names are matched in lower
case after the known renames; a file is recognised by its `signature` columns, not its name.
"""

import re
from dataclasses import dataclass

# Old (lower-cased) name -> the name used here. Case-only renames need no entry.
RENAMES = {
    # annual_reviews.csv, 2025 release -> 2026 release
    "number_decsion_4weeks": "decision_4_weeks",
    "number_decision_gt_4weeks": "decision_over_4_weeks",
    "pc_decsion_4weeks": "pc_decision_4_weeks",
    "pc_decision_gt_4weeks": "pc_decision_over_4_weeks",
    "outcome_amend": "outcome_amended",
    "outcome_cease": "outcome_ceased",
    "outcome_maintan": "outcome_maintained",
    "no_outcome": "no_outcome_recorded",
    # caseload.csv / newplans.csv
    "await_prov_2022": "await_prov",
    "perm_ex_2022": "perm_ex",
}
# review_expected_2025 -> review_expected (the 2026 release puts the calendar year in the name).
_YEAR_SUFFIX = re.compile(r"^(review_(?:expected|not_expected|completed|completed_prior))_20\d\d$")
# phase_transfers.csv: due_25 / final_25 hold the transfers due in (final plans issued in) 2025.
PHASE_YEAR = re.compile(r"^(due|final)_(\d\d)$")


def canonical_name(raw: str) -> str:
    name = raw.strip().strip('"').lstrip("\ufeff").lower()
    name = RENAMES.get(name, name)
    if m := _YEAR_SUFFIX.match(name):
        return m[1]
    return name


@dataclass(frozen=True)
class Measure:
    """One published figure. `unit` "%": value (or numerator/denominator when DfE publishes no
    percentage column) of the denominator columns' sum; "count" and "weeks": the value itself."""

    code: str
    unit: str
    value: str | None  # the published column; None: computed from the counts
    numerator: str | None = None
    denominator: tuple[str, ...] = ()
    optional: bool = False  # absent from one release: the file is still recognised without it

    def columns(self) -> list[str]:
        return [c for c in (self.value, self.numerator, *self.denominator) if c]


def _pct(code, value, numerator, *denominator, optional=False) -> Measure:
    return Measure(code, "%", value, numerator, tuple(denominator), optional)


@dataclass(frozen=True)
class ReleaseFile:
    name: str
    signature: tuple[str, ...]  # columns that identify the file
    totals: tuple[str, ...]  # lower-cased labels of the headline row, every release
    measures: tuple[Measure, ...]
    has_breakdown: bool = True


_OUTCOMES = ("outcome_amended", "outcome_ceased", "outcome_maintained", "no_outcome_recorded")

FILES: tuple[ReleaseFile, ...] = (
    ReleaseFile(
        "timeliness_20_week.csv", ("plans_issued_den", "plans_issued_within_20_weeks"),
        ("all ehc plans issued", "all ehc plans"),
        (
            _pct("final_20w", "pc_plans_issued_within_20_weeks", "plans_issued_within_20_weeks", "plans_issued_den"),
            _pct("final_20w_ex", "pc_plans_issued_20_weeks_ex", "plans_issued_20_weeks_ex", "plans_issued_den_ex"),
            _pct("final_20w_band_20_52", "pc_plans_issued_gt20weeks_ltyear", "plans_issued_gt20weeks_ltyear",
                 "plans_issued_den"),
            _pct("final_20w_band_over_52", "pc_plans_issued_gt_1_year", "plans_issued_gt_1_year",
                 "plans_issued_den"),
            _pct("final_20w_band_20_52_ex", "pc_plans_issued_gt20weeks_ltyear_ex",
                 "plans_issued_gt20weeks_ltyear_ex", "plans_issued_den_ex"),
            _pct("final_20w_band_over_52_ex", "pc_plans_issued_gt_1_year_ex", "plans_issued_gt_1_year_ex",
                 "plans_issued_den_ex"),
            Measure("avg_weeks_issue", "weeks", "avg_weeks_issue_plan", optional=True),
            Measure("avg_weeks_issue_ex", "weeks", "avg_weeks_issue_plan_exc", optional=True),
        ),
    ),
    ReleaseFile(
        "requests.csv", ("requests_received_in_year", "request_outcome_six_weeks"),
        ("all requests for ehc needs assessments", "all requests for an ehc needs assessment", "all requests"),
        (
            _pct("decide_6w", "request_outcome_six_weeks_pc", "request_outcome_six_weeks",
                 "request_outcome_six_weeks", "request_outcome_over_6_weeks"),
            Measure("requests", "count", "requests_received_in_year"),
            _pct("requests_refused", "request_not_assess_pc", "requests_decided_not_to_assess",
                 "requests_received_in_year", optional=True),
        ),
    ),
    ReleaseFile(
        "assessments.csv", ("assess_in_year", "outcome_decision_within_time"),
        ("all ehc needs assessments",),
        (
            _pct("not_issue_16w", "outcome_decision_within_time_pc", "outcome_decision_within_time",
                 "outcome_decision_within_time", "outcome_decision_over_time"),
        ),
    ),
    ReleaseFile(
        "annual_reviews.csv", ("total_ehc_plans", "review_expected", "decision_4_weeks"),
        ("all annual reviews", "all reviews of ehc plans"),
        (
            _pct("review_decision_4w", None, "decision_4_weeks", "decision_4_weeks", "decision_over_4_weeks"),
            Measure("reviews_expected", "count", "review_expected"),
            # Of the reviews expected in the year: completed in it, before it, not completed (2026 on).
            _pct("reviews_completed", None, "review_completed", "review_expected", optional=True),
            _pct("reviews_completed_prior", None, "review_completed_prior", "review_expected", optional=True),
            _pct("reviews_not_completed", None, "review_not_completed", "review_expected", optional=True),
            *(_pct(f"review_{o}", None, o, *_OUTCOMES) for o in _OUTCOMES),
        ),
    ),
    ReleaseFile(
        "phase_transfers.csv", ("number_plans", "phase_due", "phase_final"), (),
        # Counts only: final plans issued in a year include transfers due the next (the deadline for a
        # September move is 15 February), so final / due is no rate.
        (Measure("phase_transfers_due", "count", "phase_due"),
         Measure("phase_transfers_final", "count", "phase_final")),
        has_breakdown=False,
    ),
    ReleaseFile("caseload.csv", ("ehcplans",), ("all ehc plans",),
                (Measure("plans_maintained", "count", "ehcplans"),)),
    ReleaseFile("newplans.csv", ("new_ehc_plans",), ("new ehc plans", "all new ehc plans"),
                (Measure("new_plans", "count", "new_ehc_plans"),)),
)
FILES_BY_NAME = {f.name: f for f in FILES}
MEASURE_UNITS = {m.code: m.unit for f in FILES for m in f.measures}
