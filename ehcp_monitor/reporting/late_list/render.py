"""The list as HTML (email body and browser), XLSX (the meeting) and CSV.

HTML is rendered by Jinja2 with autoescaping on; every CSV/XLSX cell goes through safe_cells.
"""

import io
from datetime import date

import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ehcp_monitor.paths import templates_dir
from ehcp_monitor.reporting import safe_cells
from ehcp_monitor.reporting.late_list.content import (
    CSV_COLUMNS,
    OFFICER_COLUMNS,
    OTHER_COLUMNS,
    QUARANTINE_COLUMNS,
    TEAM_COLUMNS,
    VERY_LATE_COLUMNS,
    LateListContent,
)

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


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir() / "late_list"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = _display
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
        quarantine=_table(content.quarantine, QUARANTINE_COLUMNS),
    )


def render_text(content: LateListContent) -> str:
    """The plain-text part of the email: the headline; the detail is in the HTML and the XLSX."""
    results = f"{content.results_as_of:%d/%m/%Y}"
    lines = [f"Weekly late-plan list, {content.as_of:%d/%m/%Y} (clock results of {results})", ""]
    if content.results_as_of != content.as_of:
        lines += [f"Warning: the latest clock results are of {results}, not of the list date.", ""]
    lines += [f"{label}: {content.headline[key]}" for key, label in HEADLINE_LABELS if key in content.headline]
    if content.movement is None:
        lines.append("Movement: no earlier list to compare with.")
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
        ("Quarantine", content.quarantine, QUARANTINE_COLUMNS),
    ):
        safe_cells.write_sheet(workbook, title, df.select([c for c, _ in columns]), dict(columns))
    workbook.close()
    return buffer.getvalue()


def render_csv(content: LateListContent) -> bytes:
    return safe_cells.csv_bytes(content.rows, dict(CSV_COLUMNS))

