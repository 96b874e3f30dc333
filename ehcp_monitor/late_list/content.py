"""The weekly list's content, composed from stored results in vectorised polars (docs/late-list.md).

Every figure comes from the stored check results; nothing here re-derives a due date or a
status. Weeks open uses the rule of docs/rules.md, Counting time (days / 7, one decimal), measured on the
date the results were evaluated.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import polars as pl

from ehcp_monitor.data_quality import DataQualityReport
from ehcp_monitor.domain.measures import MEASURE_CODES, MEASURES
from ehcp_monitor.domain.vocabulary import DAYS_52W, FORECAST_SOURCE_WORDS, OPEN_STATUSES, STAGE_WORDS_20W
from ehcp_monitor.forecast import forecast_20_week, stage_entries
from ehcp_monitor.late_list.inputs import CLOCK_KEY, LateListInputs
from ehcp_monitor.review_recovery import allocate

if TYPE_CHECKING:
    from ehcp_monitor.late_list.recovery import ListRecovery

DUE_WINDOW_DAYS = 14  # "due in the next 2 weeks" (docs/late-list.md)
OVER_A_YEAR_DAYS = DAYS_52W + 1  # DfE's band "over 52 weeks" (docs/rules.md, Late and very late)
NO_NAME = "(not recorded)"
DATA_QUALITY_SUFFIX = "-data-quality.csv"  # every finding of the last ingest, beside the list's files
VERY_LATE_SECTION, OTHER_SECTION = "very_late_20w", "other_overdue"

MEASURE_LABELS = {m.code: m.label for m in MEASURES}  # what staff read for each clock
# The columns a person reads as words, not codes (docs/late-list.md, "Words, not codes"); the CSV keeps the codes.
WORDS_FOR = {"measure": MEASURE_LABELS, "stage": STAGE_WORDS_20W, "forecast_from": FORECAST_SOURCE_WORDS,
             "source": FORECAST_SOURCE_WORDS}

HEADLINE_LABELS = (
    ("statutory_overdue", "Statutory clocks overdue"),
    ("very_late", "Very late (statutory)"),
    ("very_late_20w", "Very late 20-week cases"),
    ("very_late_20w_exceptions", "Very late 20-week cases with an exception"),
    ("over_52_weeks", "20-week cases open over 52 weeks"),
    ("at_risk_20w", "20-week cases at risk (forecast to be late)"),
    ("new", "New to the list since the last list"),
    ("resolved", "Resolved since the last list"),
    ("still_late", "Still late since the last list"),
)
# Each section: (column, label). The same columns go to HTML, XLSX and CSV.
# Who and since when, for every 20-week case listed.
CASE_COLUMNS = (
    ("case_ref", "Case ref"),
    ("initials", "Initials"),
    ("case_officer", "Case officer"),
    ("team", "Team"),
    ("received_date", "Received"),
    ("weeks_open", "Weeks open"),
)
VERY_LATE_COLUMNS = (
    *CASE_COLUMNS,
    ("due_date", "Due"),
    ("days_over", "Days over"),
    ("stage", "Stage"),
    ("outstanding_advice", "Advice outstanding"),
    ("exception", "Exception"),
    ("exception_reason", "Exception reason"),
    ("movement", "Movement"),
)
OTHER_COLUMNS = (
    ("measure", "Measure"),
    ("case_ref", "Case ref"),
    ("plan_ref", "Plan ref"),
    ("initials", "Initials"),
    ("case_officer", "Case officer"),
    ("team", "Team"),
    ("item", "Item"),
    ("anchor_date", "Started"),
    ("due_date", "Due"),
    ("days_over", "Days over"),
    ("very_late", "Very late"),
    ("stage", "Stage"),
    ("exception", "Exception"),
    ("kind", "Kind"),
    ("basis", "Basis"),
    ("movement", "Movement"),
)
# Open 20-week cases not yet overdue whose forecast issue date is after their due date.
AT_RISK_COLUMNS = (
    *CASE_COLUMNS,
    ("due_date", "Due"),
    ("stage", "Stage"),
    ("stage_since", "In stage since"),
    ("forecast_issue", "Forecast issue"),
    ("forecast_days_late", "Days late (forecast)"),
    ("forecast_issue_p80", "Forecast issue (80th percentile)"),
    ("forecast_days_late_p80", "Days late (80th percentile)"),
    ("forecast_from", "Forecast from"),
    ("outstanding_advice", "Advice outstanding"),
)
BASIS_COLUMNS = (
    ("stage", "Stage"),
    ("cases", "Cases issued through it in the last 12 months"),
    ("median_days", "Median days to issue"),
    ("p80_days", "80th percentile days to issue"),
    ("source", "From"),
)
OFFICER_COLUMNS = (
    ("case_officer", "Case officer"),
    ("open_cases", "Open cases"),
    ("overdue", "Overdue clocks"),
    ("very_late", "Very late"),
    ("due_next_14_days", "Due in next 14 days"),
)
TEAM_COLUMNS = (("team", "Team"),) + OFFICER_COLUMNS[1:]
# The CSV: every clock on the list, one row each, the section named.
CSV_COLUMNS = (
    ("section", "Section"),
    *[c for c in OTHER_COLUMNS if c[0] != "movement"],
    ("received_date", "Received"),
    ("weeks_open", "Weeks open"),
    ("outstanding_advice", "Advice outstanding"),
    ("exception_reason", "Exception reason"),
    ("movement", "Movement"),
)


@dataclass
class Movement:
    previous_as_of: date
    new: int
    resolved: int
    still_late: int


@dataclass
class LateListContent:
    as_of: date
    results_as_of: date
    check_run_id: int
    headline: dict[str, int]
    movement: Movement | None
    rows: pl.DataFrame  # every clock on the list, CSV columns
    very_late_20w: pl.DataFrame
    at_risk_20w: pl.DataFrame
    forecast_basis: pl.DataFrame
    other_overdue: pl.DataFrame
    officers: pl.DataFrame
    teams: pl.DataFrame
    # The last ingest's findings for the data team: its summary in the HTML, every finding in the files.
    data_quality: DataQualityReport | None = None
    other_by_measure: list[tuple[str, str, pl.DataFrame]] = field(default_factory=list)
    # Targets, annual review recovery and capacity (late_list/recovery.py); set by build_late_list.
    recovery: "ListRecovery | None" = None

    def counts(self) -> dict[str, int]:
        counts = dict(self.headline)
        counts.update(rows_very_late_20w=self.very_late_20w.height, rows_other_overdue=self.other_overdue.height)
        dq = self.data_quality
        # Findings of the last ingest: all of them, and those that set a row aside.
        counts.update(data_quality_findings=dq.total if dq else 0,
                      findings_quarantined=dq.by_action["quarantined"] if dq else 0)
        return counts


def file_stem(as_of: date) -> str:
    """The list's files: STEM.html, STEM.xlsx, STEM.csv and STEM-data-quality.csv."""
    return f"late-list-{as_of.isoformat()}"


def for_people(df: pl.DataFrame) -> pl.DataFrame:
    """A section as the HTML and the workbook show it: stages, measures and forecast sources in words.
    A code with no words is shown as it is."""
    return df.with_columns(pl.col(c).replace(words) for c, words in WORDS_FOR.items() if c in df.columns)


def initials_expr(forename: str = "forename", surname: str = "surname") -> pl.Expr:
    """'Jane Smith' -> 'JS': the list shows initials, never full names."""
    first = [pl.col(c).str.strip_chars().str.slice(0, 1).str.to_uppercase() for c in (forename, surname)]
    initials = pl.concat_str(first, ignore_nulls=True)
    return pl.when(initials != "").then(initials)


def _cases(inputs: LateListInputs) -> pl.DataFrame:
    """Per request: officer, team, received date, exception reason."""
    return inputs.requests.select("request_id", "received_date", "case_officer", "team").join(
        inputs.assessments, on="request_id", how="left"
    )


def _with_plan_owner(frame: pl.DataFrame, inputs: LateListInputs) -> pl.DataFrame:
    """A plan's clocks go to the plan's own case officer and team, else its request's
    (docs/input-formats.md, Canonical extracts: "Who holds a plan")."""
    if inputs.plans is None:
        return frame
    owners = allocate(inputs.plans, inputs.requests).select(
        "plan_id", pl.col("case_officer").alias("_plan_officer"), pl.col("team").alias("_plan_team"))
    return frame.join(owners, on="plan_id", how="left").with_columns(
        case_officer=pl.coalesce("_plan_officer", "case_officer"), team=pl.coalesce("_plan_team", "team"),
    ).drop("_plan_officer", "_plan_team")


def _initials(inputs: LateListInputs) -> pl.DataFrame:
    return inputs.people.select("person_id", initials_expr().alias("initials"))


def _movement_column(rows: pl.DataFrame, inputs: LateListInputs) -> pl.DataFrame:
    if inputs.previous_overdue is None:
        return rows.with_columns(movement=pl.lit(None, pl.Utf8))
    seen = inputs.previous_overdue.select(CLOCK_KEY).unique().with_columns(_seen=pl.lit(True))
    return (
        rows.join(seen, on=list(CLOCK_KEY), how="left", nulls_equal=True)
        .with_columns(movement=pl.when(pl.col("_seen")).then(pl.lit("still late")).otherwise(pl.lit("new")))
        .drop("_seen")
    )


def _movement(inputs: LateListInputs) -> Movement | None:
    if inputs.previous_overdue is None:
        return None
    now = inputs.current_overdue.select(CLOCK_KEY).unique()
    before = inputs.previous_overdue.select(CLOCK_KEY).unique()
    key = list(CLOCK_KEY)
    still = now.join(before, on=key, how="semi", nulls_equal=True).height
    return Movement(
        previous_as_of=inputs.previous_as_of,
        new=now.height - still,
        resolved=before.join(now, on=key, how="anti", nulls_equal=True).height,
        still_late=still,
    )


def _outstanding_advice(results: pl.DataFrame) -> pl.DataFrame:
    """Per request: each advice type not yet received, and how late it is (ADVICE_6W rows)."""
    advice_type = pl.col("item").str.replace_all("_", " ")
    return (
        results.filter(
            (pl.col("measure") == "ADVICE_6W")
            & pl.col("completed_date").is_null()
            & pl.col("status").is_in(OPEN_STATUSES)
        )
        .with_columns(
            advice=pl.when(pl.col("status") == "overdue")
            .then(pl.format("{}: {} days late", advice_type, pl.col("days_late")))
            .otherwise(pl.format("{}: due {}", advice_type, pl.col("due_date").dt.strftime("%d/%m/%Y")))
        )
        .group_by("request_id")
        .agg(outstanding_advice=pl.col("advice").sort().str.join("; "))
    )


def _list_rows(inputs: LateListInputs) -> pl.DataFrame:
    """Every overdue clock with who and where, sectioned and in list order.

    Very late 20-week cases come first, oldest request first; then the other overdue clocks
    by measure (in rule-book order), most days over first.
    """
    order = {code: i for i, code in enumerate(MEASURE_CODES)}
    is_20w = pl.col("measure") == "FINAL_20W"
    rows = (
        inputs.results.filter(pl.col("status") == "overdue")
        .join(_cases(inputs), on="request_id", how="left")
        .pipe(_with_plan_owner, inputs)
        .join(_initials(inputs), on="person_id", how="left")
        .join(_outstanding_advice(inputs.results), on="request_id", how="left")
        .with_columns(
            section=pl.when(is_20w & pl.col("very_late")).then(pl.lit(VERY_LATE_SECTION))
            .otherwise(pl.lit(OTHER_SECTION)),
            case_ref=pl.col("request_id"),
            plan_ref=pl.col("plan_id"),
            days_over=pl.col("days_late"),
            outstanding_advice=pl.when(is_20w).then(pl.col("outstanding_advice")),
            # Weeks open is the age of a request; a plan's clocks have none.
            weeks_open=pl.when(pl.col("plan_id").is_null()).then(
                ((pl.lit(inputs.results_as_of) - pl.col("received_date")).dt.total_days() / 7).round(1)
            ),
            _order=pl.col("measure").replace_strict(order, default=len(order), return_dtype=pl.Int32),
        )
    )
    rows = _movement_column(rows, inputs)
    very_late = rows.filter(pl.col("section") == VERY_LATE_SECTION).sort(
        ["received_date", "case_ref"], nulls_last=True
    )
    other = rows.filter(pl.col("section") == OTHER_SECTION).sort(
        ["_order", "days_over", "case_ref", "plan_ref", "item"],
        descending=[False, True, False, False, False],
        nulls_last=True,
    )
    return pl.concat([very_late, other]).drop("_order")


def _at_risk(inputs: LateListInputs) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The breach forecast on the results date: the at-risk cases (soonest due first) and its basis."""
    as_of = inputs.results_as_of
    entries = stage_entries(inputs.requests, inputs.advice, inputs.drafts, as_of=as_of)
    forecast = forecast_20_week(inputs.results, entries, as_of=as_of)
    rows = (
        forecast.at_risk.join(_cases(inputs), on="request_id", how="left")
        .join(inputs.requests.select("request_id", "person_id"), on="request_id", how="left")
        .join(_initials(inputs), on="person_id", how="left")
        .join(_outstanding_advice(inputs.results), on="request_id", how="left")
        .with_columns(
            case_ref=pl.col("request_id"),
            weeks_open=((pl.lit(as_of) - pl.col("received_date")).dt.total_days() / 7).round(1),
            stage_since=pl.col("entered"),
            forecast_issue=pl.col("forecast_median"),
            forecast_days_late=pl.col("days_late_median"),
            forecast_issue_p80=pl.col("forecast_p80"),
            forecast_days_late_p80=pl.col("days_late_p80"),
            forecast_from=pl.col("source"),
        )
        .sort(["due_date", "case_ref"])
        .select([c for c, _ in AT_RISK_COLUMNS])
    )
    return rows, forecast.basis


def _open_clocks(inputs: LateListInputs) -> pl.DataFrame:
    """Every clock still running, with the case officer and team holding it (the summaries' rows)."""
    return (
        inputs.results.filter(pl.col("status").is_in(OPEN_STATUSES))
        .join(inputs.requests.select("request_id", "case_officer", "team"), on="request_id", how="left")
        .pipe(_with_plan_owner, inputs)
        .with_columns(case=pl.coalesce("request_id", "plan_id"))
    )


def _summary(inputs: LateListInputs, open_clocks: pl.DataFrame, by: str) -> pl.DataFrame:
    """Open cases, overdue clocks, very late and due in the next 14 days per officer or team
    (`open_clocks`: _open_clocks)."""
    window_end = inputs.results_as_of + timedelta(days=DUE_WINDOW_DAYS)
    open_clocks = open_clocks.with_columns(pl.col(by).fill_null(NO_NAME))
    due_soon = (pl.col("status") != "overdue") & pl.col("due_date").is_between(inputs.results_as_of, window_end)
    return (
        open_clocks.group_by(by)
        .agg(
            open_cases=pl.col("case").n_unique(),
            overdue=(pl.col("status") == "overdue").sum(),
            very_late=pl.col("very_late").sum(),
            due_next_14_days=due_soon.sum(),
        )
        .with_columns(pl.col("open_cases", "overdue", "very_late", "due_next_14_days").cast(pl.Int64))
        .sort(["overdue", by], descending=[True, False])
    )


def _headline(inputs: LateListInputs, very_late_20w: pl.DataFrame, at_risk: int,
              movement: Movement | None) -> dict[str, int]:
    results = inputs.results
    overdue_statutory = (pl.col("status") == "overdue") & (pl.col("kind") == "statutory")
    open_20w = results.filter((pl.col("measure") == "FINAL_20W") & pl.col("status").is_in(OPEN_STATUSES))
    over_a_year = (
        open_20w.join(inputs.requests.select("request_id", "received_date"), on="request_id", how="left")
        .filter((pl.lit(inputs.results_as_of) - pl.col("received_date")).dt.total_days() >= OVER_A_YEAR_DAYS)
        .height
    )
    headline = {
        "statutory_overdue": results.filter(overdue_statutory).height,
        "very_late": results.filter(overdue_statutory & pl.col("very_late")).height,
        "very_late_20w": very_late_20w.height,
        "very_late_20w_exceptions": very_late_20w.filter(pl.col("exception")).height,
        "over_52_weeks": over_a_year,
        "at_risk_20w": at_risk,
    }
    if movement is not None:
        headline.update(new=movement.new, resolved=movement.resolved, still_late=movement.still_late)
    return headline


def compose(inputs: LateListInputs) -> LateListContent:
    rows = _list_rows(inputs)
    in_section = pl.col("section") == VERY_LATE_SECTION
    very_late = rows.filter(in_section).select([c for c, _ in VERY_LATE_COLUMNS])
    other = rows.filter(~in_section).select([c for c, _ in OTHER_COLUMNS])
    movement = _movement(inputs)
    at_risk, basis = _at_risk(inputs)
    open_clocks = _open_clocks(inputs)
    by_measure = [
        (code, MEASURE_LABELS.get(code, code), part)
        for code in [*MEASURE_CODES, *sorted(set(other["measure"]) - set(MEASURE_CODES))]
        if (part := other.filter(pl.col("measure") == code)).height
    ]
    return LateListContent(
        as_of=inputs.as_of,
        results_as_of=inputs.results_as_of,
        check_run_id=inputs.check_run_id,
        headline=_headline(inputs, very_late, at_risk.height, movement),
        movement=movement,
        rows=rows.select([c for c, _ in CSV_COLUMNS]),
        very_late_20w=very_late,
        at_risk_20w=at_risk,
        forecast_basis=basis,
        other_overdue=other,
        officers=_summary(inputs, open_clocks, "case_officer").select([c for c, _ in OFFICER_COLUMNS]),
        teams=_summary(inputs, open_clocks, "team").select([c for c, _ in TEAM_COLUMNS]),
        data_quality=inputs.data_quality,
        other_by_measure=by_measure,
    )
