"""DfE's current measures for the last full calendar year: each computed from the LA's own records
the way DfE computes it, beside this LA's published figure (reconciliation), England, the region and
the statistical neighbours (docs/board-pack.md, "DfE's measures").

Only counts leave this module. A rate's own figure differs from the published one by more than
`RECONCILE_POINTS` percentage points: flagged, with the usual causes listed in the pack.
"""

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from ehcp_monitor.board_pack.benchmarks import Comparator, comparators
from ehcp_monitor.board_pack.kpis import Figure, Inputs, issued_plans, pct
from ehcp_monitor.domain.vocabulary import DAYS_20W, DAYS_52W, DFE_REVIEW_OUTCOMES, DFE_YEAR_ROWS

RECONCILE_POINTS = 2.0
EXCEPTION_WARN_SHARE = 90.0
REVIEW_OUTCOMES = DFE_REVIEW_OUTCOMES
USUAL_CAUSES = (
    "Exceptions: the week20 flag used differently from the return (DfE drops exception cases only from "
    "the excluding-exceptions rate).",
    "Mediation and tribunal cases: DfE leaves assessments with either out of the 20-week rates; a flag "
    "missing from the records puts them back in.",
    "Records changed since the return: dates corrected, cases added or withdrawn after DfE's census date.",
    "Reviews: the pack counts a review done when the decision is notified (rules.review_completed_by); "
    "a return that counted meetings differs.",
    "Phase transfers: DfE publishes counts only (transfers due in the year, final plans issued in it); "
    "the share finalised by the deadline is the pack's own.",
)


@dataclass(frozen=True)
class DfeRow:
    code: str
    label: str
    unit: str  # % | weeks | count
    own: Figure
    compare: dict[str, Comparator]  # la | england | region | neighbours
    difference: float | None = None  # own - published for this LA (percentage points)

    @property
    def flagged(self) -> bool:
        return self.difference is not None and abs(self.difference) > RECONCILE_POINTS


@dataclass
class DfeYear:
    year: int
    rows: list[DfeRow]
    sources: list[tuple[str, int]]  # requests received in the year, by source
    exceptions: Figure  # plans issued in the year flagged as exceptions, of all issued
    published_year: str | None  # the year of the published figures beside them
    warnings: list[str] = field(default_factory=list)

    @property
    def exception_share(self) -> float | None:
        return self.exceptions.value

    @property
    def flagged(self) -> list[DfeRow]:
        return [r for r in self.rows if r.flagged]


def last_full_year(as_of: date) -> int:
    return as_of.year - 1


def _in_year(column: str, year: int) -> pl.Expr:
    return pl.col(column).is_between(date(year, 1, 1), date(year, 12, 31))


def _rate(frame: pl.DataFrame, hit: pl.Expr) -> Figure:
    hits = int(frame.select(hit.sum()).item() or 0) if frame.height else 0
    return Figure(hits, frame.height, pct(hits, frame.height))


def _weeks(days: pl.Series) -> Figure:
    if days.len() == 0:
        return Figure(None, 0, None)
    return Figure(None, days.len(), round(days.mean() / 7 + 1e-9, 1))


def own_figures(inputs: Inputs, year: int, as_of: date) -> dict[str, Figure]:
    """Every measure from the LA's own records, the DfE way, for calendar year `year`."""
    end = min(date(year, 12, 31), as_of)
    out: dict[str, Figure] = {}
    plans = issued_plans(inputs).filter(_in_year("completed_date", year) & (pl.col("completed_date") <= end))
    for suffix, frame in (("", plans), ("_ex", plans.filter(~pl.col("exception").fill_null(False)))):
        out[f"final_20w{suffix}"] = _rate(frame, pl.col("days") <= DAYS_20W)
        out[f"final_20w_band_20_52{suffix}"] = _rate(frame, pl.col("days").is_between(DAYS_20W + 1, DAYS_52W))
        out[f"final_20w_band_over_52{suffix}"] = _rate(frame, pl.col("days") > DAYS_52W)
        out[f"avg_weeks_issue{suffix}"] = _weeks(frame["days"])
    out["exceptions"] = _rate(plans, pl.col("exception").fill_null(False))

    r = inputs.results
    done_on_time = pl.col("completed_date").is_not_null() & (pl.col("completed_date") <= pl.col("due_date"))
    for code, measure in (("decide_6w", "DECIDE_6W"), ("not_issue_16w", "NOT_ISSUE_16W"),
                          ("review_decision_4w", "REVIEW_DECISION_4W")):
        out[code] = _rate(r.filter((pl.col("measure") == measure) & _in_year("completed_date", year)
                                   & (pl.col("completed_date") <= end)), done_on_time)

    # Reviews expected in the year: cycles due in it. Completed in it, before it, or not by its end.
    cycles = r.filter(pl.col("measure").is_in(["REVIEW_12M", "REVIEW_EY"]) & (pl.col("status") != "closed")
                      & _in_year("due_date", year))
    done = pl.col("completed_date").is_not_null() & (pl.col("completed_date") <= end)
    out["reviews_expected"] = Figure(None, None, cycles.height)
    out["reviews_completed"] = _rate(cycles, done & (pl.col("completed_date") >= date(year, 1, 1)))
    out["reviews_completed_prior"] = _rate(cycles, done & (pl.col("completed_date") < date(year, 1, 1)))
    out["reviews_not_completed"] = _rate(cycles, ~done)
    decided = inputs.snapshot["reviews"].filter(_in_year("decision_date", year) & (pl.col("decision_date") <= end))
    for outcome, code, _ in REVIEW_OUTCOMES:
        hit = pl.col("outcome").is_null() if outcome is None else (pl.col("outcome") == outcome)
        out[code] = _rate(decided, hit.fill_null(False))

    transfers = r.filter((pl.col("measure") == "PHASE_TRANSFER") & (pl.col("status") != "closed")
                         & _in_year("due_date", year))
    out["phase_transfer"] = _rate(transfers, done_on_time & (pl.col("completed_date") <= end))
    out["phase_transfers_due"] = Figure(None, None, transfers.height)
    finals = r.filter((pl.col("measure") == "PHASE_TRANSFER") & _in_year("completed_date", year)
                      & (pl.col("completed_date") <= end))
    out["phase_transfers_final"] = Figure(None, None, finals.height)

    requests = inputs.snapshot["requests"].filter(_in_year("received_date", year) & (pl.col("received_date") <= end))
    out["requests"] = Figure(None, None, requests.height)
    out["requests_refused"] = _rate(requests, (pl.col("request_outcome") == "N").fill_null(False))
    return out


ROWS = DFE_YEAR_ROWS


def dfe_year(inputs: Inputs, settings, as_of: date) -> DfeYear:
    year = last_full_year(as_of)
    own = own_figures(inputs, year, as_of)
    la_code, neighbours = settings.la.code, list(settings.board_pack.statistical_neighbours)
    figures = inputs.figures
    published = figures.filter(pl.col("time_period") == str(year))
    # The year's release may not be out yet (DfE publishes in June): the latest published is shown, labelled.
    use_year = str(year) if published.height else None
    rows, shown_years = [], set()
    for code, label, unit in ROWS:
        found = {c.kind: c for c in comparators(figures, code, la_code, neighbours, year=use_year)}
        shown_years.update(c.time_period for c in found.values())
        la = found.get("la")
        difference = None
        if unit == "%" and la is not None and la.value is not None and la.time_period == str(year) \
                and own[code].value is not None:
            difference = round(own[code].value - la.value, 1)
        rows.append(DfeRow(code, label, unit, own[code], found, difference))
    requests = inputs.snapshot["requests"].filter(_in_year("received_date", year) & (pl.col("received_date") <= as_of))
    by_source = (requests.group_by(pl.col("request_source").fill_null("not recorded")).len()
                 .sort(["len", "request_source"], descending=[True, False]))
    share = own["exceptions"].value
    warnings = []
    if share is not None and share > EXCEPTION_WARN_SHARE:
        warnings.append(f"{share:.1f}% of the plans issued in {year} are marked as exceptions (week20). DfE "
                        "suppressed the excluding-exceptions figures of LAs that marked every plan so: check "
                        "the flag is set only where a regulation 13(3) exception applied.")
    return DfeYear(year, rows, [(s, n) for s, n in by_source.iter_rows()], own["exceptions"],
                   max(shown_years) if shown_years else None, warnings)
