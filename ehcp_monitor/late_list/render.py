"""The list as HTML (email body and browser), XLSX (the meeting) and CSV.

HTML is rendered by Jinja2 with autoescaping on; every CSV/XLSX cell goes through safe_cells. The
page carries everything; the email body is the meeting's summary, kept under the size mail clients
clip at. The workbook is in workbook.py.
"""

from datetime import date, timedelta

import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ehcp_monitor import exports as safe_cells
from ehcp_monitor.capacity import READY_WEEKS
from ehcp_monitor.data_quality import findings_csv
from ehcp_monitor.data_quality.text import actions_text, plain
from ehcp_monitor.forecast import MIN_HISTORY_CASES
from ehcp_monitor.late_list.content import (
    AT_RISK_COLUMNS,
    BASIS_COLUMNS,
    CSV_COLUMNS,
    DATA_QUALITY_SUFFIX,
    HEADLINE_LABELS,
    OFFICER_COLUMNS,
    OTHER_COLUMNS,
    TEAM_COLUMNS,
    VERY_LATE_COLUMNS,
    LateListContent,
    file_stem,
    for_people,
)
from ehcp_monitor.late_list.recovery import (
    OFFICER_RECOVERY_COLUMNS,
    OFFICER_TARGET_COLUMNS,
    TEAM_RECOVERY_COLUMNS,
    TEAM_TARGET_COLUMNS,
)
from ehcp_monitor.late_list.workbook import (
    AT_RISK_SHEET,
    DATA_QUALITY_FINDINGS_SHEET,
    OTHER_SHEET,
    VERY_LATE_SHEET,
    render_xlsx,  # noqa: F401  (the workbook is rendered with the other files)
)
from ehcp_monitor.paths import templates_dir

# Mail clients clip an HTML body past about 102 KB (Gmail); the body is kept under this many bytes
# before transfer encoding, so even base64 (4/3 larger, plus line ends) stays under 100 KB.
EMAIL_BODY_BYTES = 72_000
# The email body lists at most this many rows per table, fewer until it fits EMAIL_BODY_BYTES.
EMAIL_ROW_LIMITS = (500, 200, 100, 50, 25, 10, 0)
PAGE_OPEN_ROWS = 200  # on the page, a measure's table with more rows than this starts folded


def _display(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _count(value) -> str:
    return "not recorded" if value is None else f"{value:,}"


def _percent(share) -> str:
    return "not recorded" if share is None else f"{share:.1%}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir() / "late_list"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = _display
    env.filters["count"] = _count
    env.filters["percent"] = _percent
    env.filters["plain"] = plain  # a value from a source file: control characters masked, long ones cut
    return env


# What markupsafe.escape replaces, in one pass (the same entities Jinja's autoescape writes).
HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}


def _table(df, columns, *, limit: int | None = None, sheet: str = "") -> dict:
    names = [c for c, _ in columns]
    shown = df if limit is None else df.head(limit)
    return {"columns": columns, "rows": _row_cells(for_people(shown.select(names))), "total": df.height,
            "sheet": sheet}


def _cell_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """A column as the `cell` filter shows it (_display), escaped for HTML."""
    column = pl.col(name)
    if dtype == pl.Boolean:
        text = pl.when(column).then(pl.lit("yes")).otherwise(pl.lit("no"))
    elif dtype == pl.Date:
        text = column.dt.strftime("%d/%m/%Y")
    elif dtype == pl.Utf8 or dtype.is_integer():
        text = column.cast(pl.Utf8)
    else:  # floats (Python writes 1e-05 where polars writes 0.00001) and anything rarer
        text = column.map_elements(_display, return_dtype=pl.Utf8)
    escaped = text.str.replace_many(list(HTML_ESCAPES), list(HTML_ESCAPES.values()))
    return pl.when(column.is_null()).then(pl.lit("")).otherwise(escaped)


def _row_cells(shown: pl.DataFrame) -> list[Markup]:
    """Each row's cells as escaped HTML, built by column: a table of a national caseload's overdue
    clocks is one pass in polars, not a template loop over every value (bench/README.md, "issue 20,
    the weekly list and the planner")."""
    if shown.width == 0 or shown.height == 0:
        return [Markup("")] * shown.height
    cells = [pl.concat_str(pl.lit('<td class="num">' if dtype.is_numeric() else "<td>"), _cell_text(name, dtype),
                           pl.lit("</td>"))
             for name, dtype in shown.schema.items()]
    return [Markup(row) for row in shown.select(pl.concat_str(cells).alias("row"))["row"]]


def render_html(content: LateListContent, *, page: bool = True, limit: int | None = None) -> str:
    """The page (`page`: contents, every row, folding sections) or the email body (`limit` rows a table)."""
    headline = [(label, content.headline[key]) for key, label in HEADLINE_LABELS if key in content.headline]
    other_columns = tuple(c for c in OTHER_COLUMNS if c[0] != "measure")
    other = [(code, label, _table(df, other_columns, limit=limit, sheet=OTHER_SHEET))
             for code, label, df in content.other_by_measure]
    contents = [("headline", "Headline"), ("very-late", "Very late 20-week cases"),
                ("at-risk", "At risk: 20-week cases forecast to be late"), ("officers", "By case officer"),
                ("teams", "By team"), ("targets", "Targets: last week and this week"),
                ("review-recovery", "Annual review recovery"), ("capacity", "Capacity: plans needed a month"),
                ("other", "Other overdue clocks"),
                ("data-quality", "Data quality of the last ingest")]
    return _environment().get_template("late_list.html.j2").render(
        c=content,
        page=page,
        page_file=file_stem(content.as_of) + ".html",
        contents=contents,
        headline=headline,
        very_late=_table(content.very_late_20w, VERY_LATE_COLUMNS, limit=limit, sheet=VERY_LATE_SHEET),
        at_risk=_table(content.at_risk_20w, AT_RISK_COLUMNS, limit=limit, sheet=AT_RISK_SHEET),
        basis=_table(content.forecast_basis, BASIS_COLUMNS),
        min_history=MIN_HISTORY_CASES,
        other=other,
        other_total=content.other_overdue.height,
        open_rows=PAGE_OPEN_ROWS,
        officers=_table(content.officers, OFFICER_COLUMNS),
        teams=_table(content.teams, TEAM_COLUMNS),
        dq=content.data_quality,
        dq_groups=content.data_quality.group_rows() if content.data_quality else [],
        dq_csv=file_stem(content.as_of) + DATA_QUALITY_SUFFIX,
        dq_sheet=DATA_QUALITY_FINDINGS_SHEET,
        rec=_recovery(content),
    )


def _recovery(content: LateListContent) -> dict | None:
    """The targets, review recovery and capacity sections (late_list/recovery.py), as tables."""
    rec = content.recovery
    if rec is None:
        return None
    return {
        "as_of": rec.as_of,
        "last_week_from": rec.as_of - timedelta(days=7),
        "last_week_to": rec.as_of - timedelta(days=1),
        "week_to": rec.as_of + timedelta(days=6),
        "officer_targets": _table(rec.officer_targets, OFFICER_TARGET_COLUMNS),
        "team_targets": _table(rec.team_targets, TEAM_TARGET_COLUMNS),
        "all": rec.recovery_all.row(0, named=True),
        "teams": _table(rec.recovery_teams, TEAM_RECOVERY_COLUMNS),
        "officers": _table(rec.recovery_officers, OFFICER_RECOVERY_COLUMNS),
        "trend": _table(rec.trend, rec.trend_columns),
        "officer_trend": _table(rec.officer_trend, rec.officer_trend_columns),
        "capacity": rec.capacity.sentence(),
        "ready_weeks": READY_WEEKS,
    }


def render_email_html(content: LateListContent, *, budget: int = EMAIL_BODY_BYTES) -> str:
    """The email body: the summary for the meeting, as many rows a table as fit `budget` bytes."""
    for limit in EMAIL_ROW_LIMITS:
        body = render_html(content, page=False, limit=limit)
        if len(body.encode("utf-8")) <= budget:
            return body
    return body  # every table cut to its note; only an enormous officer list could still be larger


def _data_quality_text(content: LateListContent) -> list[str]:
    dq = content.data_quality
    if dq is None:
        return ["Data quality: no ingest has been recorded."]
    lines = [f"Data quality of ingest {dq.ingest.id} ({dq.ingest.status}): {dq.total:,} findings "
             f"({actions_text(dq.by_action)})."]
    h = dq.headline
    if h["cases"] is not None and h["cases_fully_monitored"] is not None:
        lines.append(f"Cases fully monitored: {_count(h['cases_fully_monitored'])} of {_count(h['cases'])} "
                     f"({_percent(h['share_fully_monitored'])}).")
    lines.append(f"Every finding: {file_stem(content.as_of)}{DATA_QUALITY_SUFFIX} and the workbook's "
                 f"\"{DATA_QUALITY_FINDINGS_SHEET}\" sheet.")
    return lines


def render_text(content: LateListContent) -> str:
    """The plain-text part of the email: the headline and the data quality counts; the detail is in
    the HTML and the XLSX."""
    results = f"{content.results_as_of:%d/%m/%Y}"
    lines = [f"Weekly late-plan list, {content.as_of:%d/%m/%Y} (clock results of {results})", ""]
    if content.results_as_of != content.as_of:
        lines += [f"Warning: the latest clock results are of {results}, not of the list date.", ""]
    lines += [f"{label}: {content.headline[key]}" for key, label in HEADLINE_LABELS if key in content.headline]
    if content.movement is None:
        lines.append("Movement: no earlier list to compare with.")
    if content.recovery is not None:
        r = content.recovery.recovery_all.row(0, named=True)
        lines += ["", f"Annual reviews overdue: {r['overdue']:,}; completed last week: {r['completed_last_week']:,}; "
                      f"backlog clears: {r['clears']}.", content.recovery.capacity.sentence()]
    lines += ["", *_data_quality_text(content)]
    lines += ["", f"The full list is in the attached workbook and in {file_stem(content.as_of)}.html "
                  "in the list's folder."]
    return "\n".join(lines) + "\n"


def render_data_quality_csv(content: LateListContent) -> bytes:
    """Every finding of the last ingest (header only before the first ingest)."""
    return findings_csv(content.data_quality)


def render_csv(content: LateListContent) -> bytes:
    return safe_cells.csv_bytes(content.rows, dict(CSV_COLUMNS))

