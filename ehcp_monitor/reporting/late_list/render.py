"""The list as HTML (email body and browser), XLSX (the meeting) and CSV.

HTML is rendered by Jinja2 with autoescaping on; every CSV/XLSX cell goes through safe_cells.
"""

import io
from datetime import date

import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ehcp_monitor.paths import templates_dir
from ehcp_monitor.reporting import safe_cells
from ehcp_monitor.reporting.data_quality import findings_csv
from ehcp_monitor.reporting.data_quality.files import FINDING_COLUMNS, write_findings_sheet, write_summary_sheet
from ehcp_monitor.reporting.data_quality.text import actions_text, plain
from ehcp_monitor.reporting.late_list.content import (
    CSV_COLUMNS,
    DATA_QUALITY_SUFFIX,
    OFFICER_COLUMNS,
    OTHER_COLUMNS,
    TEAM_COLUMNS,
    VERY_LATE_COLUMNS,
    LateListContent,
    file_stem,
)

DATA_QUALITY_SHEET, DATA_QUALITY_FINDINGS_SHEET = "Data quality", "Data quality findings"
HEADLINE_LABELS = (
    ("statutory_overdue", "Statutory clocks overdue"),
    ("very_late", "Very late (statutory)"),
    ("very_late_20w", "Very late 20-week cases"),
    ("very_late_20w_exceptions", "Very late 20-week cases with an exception"),
    ("over_52_weeks", "20-week cases open over 52 weeks"),
    ("new", "New to the list since the last list"),
    ("resolved", "Resolved since the last list"),
    ("still_late", "Still late since the last list"),
)


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


def _table(df, columns) -> dict:
    names = [c for c, _ in columns]
    return {"columns": columns, "rows": df.select(names).rows(), "numeric": _numeric(df, names)}


def _numeric(df, names) -> list[bool]:
    return [df.schema[n].is_numeric() for n in names]


def render_html(content: LateListContent) -> str:
    headline = [(label, content.headline[key]) for key, label in HEADLINE_LABELS if key in content.headline]
    other_columns = tuple(c for c in OTHER_COLUMNS if c[0] != "measure")
    return _environment().get_template("late_list.html.j2").render(
        c=content,
        headline=headline,
        very_late=_table(content.very_late_20w, VERY_LATE_COLUMNS),
        other=[(code, label, _table(df, other_columns)) for code, label, df in content.other_by_measure],
        officers=_table(content.officers, OFFICER_COLUMNS),
        teams=_table(content.teams, TEAM_COLUMNS),
        dq=content.data_quality,
        dq_groups=content.data_quality.group_rows() if content.data_quality else [],
        dq_csv=file_stem(content.as_of) + DATA_QUALITY_SUFFIX,
        dq_sheet=DATA_QUALITY_FINDINGS_SHEET,
    )


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
    lines += ["", *_data_quality_text(content)]
    lines += ["", "The full list is in the HTML part of this email and the attached workbook."]
    return "\n".join(lines) + "\n"


def render_xlsx(content: LateListContent) -> bytes:
    buffer = io.BytesIO()
    workbook = safe_cells.new_workbook(buffer)
    headline = [(label, content.headline[key]) for key, label in HEADLINE_LABELS if key in content.headline]
    counts = pl.DataFrame(headline, schema={"figure": pl.Utf8, "value": pl.Int64}, orient="row")
    sheet = safe_cells.write_sheet(workbook, "Headline", counts, {"figure": "Figure", "value": "Count"})
    formats = safe_cells.formats_for(workbook)
    dates = (
        ("List date", content.as_of),
        ("Clock results of", content.results_as_of),
        ("Previous list", content.movement.previous_as_of if content.movement else "none to compare with"),
    )
    for row, (label, value) in enumerate(dates, start=counts.height + 2):
        safe_cells.write_cell(sheet, row, 0, label, formats)
        safe_cells.write_cell(sheet, row, 1, value, formats)
    for title, df, columns in (
        ("Very late 20-week", content.very_late_20w, VERY_LATE_COLUMNS),
        ("Other overdue", content.other_overdue, OTHER_COLUMNS),
        ("By officer", content.officers, OFFICER_COLUMNS),
        ("By team", content.teams, TEAM_COLUMNS),
    ):
        safe_cells.write_sheet(workbook, title, df.select([c for c, _ in columns]), dict(columns))
    _data_quality_sheets(workbook, content)
    workbook.close()
    return buffer.getvalue()


def _data_quality_sheets(workbook, content: LateListContent) -> None:
    """The last ingest's summary (as `ehcp-monitor quarantine --xlsx` has it), then every finding."""
    dq = content.data_quality
    if dq is None:
        note = pl.DataFrame({"note": ["No ingest has been recorded."]})
        safe_cells.write_sheet(workbook, DATA_QUALITY_SHEET, note, {"note": "Data quality"})
        return
    write_summary_sheet(workbook, DATA_QUALITY_SHEET, dq)
    write_findings_sheet(workbook, DATA_QUALITY_FINDINGS_SHEET, dq.findings, ("code", *FINDING_COLUMNS))


def render_data_quality_csv(content: LateListContent) -> bytes:
    """Every finding of the last ingest (header only before the first ingest)."""
    return findings_csv(content.data_quality)


def render_csv(content: LateListContent) -> bytes:
    return safe_cells.csv_bytes(content.rows, dict(CSV_COLUMNS))

