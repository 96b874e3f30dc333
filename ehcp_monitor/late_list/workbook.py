"""The list as a workbook to print and act on in the meeting (XLSX).

Each section is an Excel table (header row frozen and repeated on every printed page, filter
buttons), every sheet prints landscape on A4, fitted to the page width. The case sheets end with
empty "Action agreed" and "Owner" columns for the meeting to fill in, and very late rows of the
"Other overdue" sheet are shaded (a conditional format, so the shading follows a row when sorted).
Every cell is written through safe_cells.
"""

import io

import polars as pl
from xlsxwriter.utility import xl_col_to_name

from ehcp_monitor import exports as safe_cells
from ehcp_monitor.data_quality.files import FINDING_COLUMNS, write_findings_sheet, write_summary_sheet
from ehcp_monitor.late_list.content import (
    AT_RISK_COLUMNS,
    BASIS_COLUMNS,
    HEADLINE_LABELS,
    OFFICER_COLUMNS,
    OTHER_COLUMNS,
    TEAM_COLUMNS,
    VERY_LATE_COLUMNS,
    LateListContent,
    for_people,
)
from ehcp_monitor.late_list.recovery import (
    OFFICER_RECOVERY_COLUMNS,
    OFFICER_TARGET_COLUMNS,
    TEAM_RECOVERY_COLUMNS,
    TEAM_TARGET_COLUMNS,
)

VERY_LATE_SHEET, AT_RISK_SHEET, OTHER_SHEET = "Very late 20-week", "At risk 20-week", "Other overdue"
DATA_QUALITY_SHEET, DATA_QUALITY_FINDINGS_SHEET = "Data quality", "Data quality findings"
ACTION_COLUMNS = (("Action agreed", 40), ("Owner", 16))
TARGETS_OFFICER_SHEET, TARGETS_TEAM_SHEET = "Targets by officer", "Targets by team"
RECOVERY_TEAM_SHEET, RECOVERY_OFFICER_SHEET = "Review recovery by team", "Review recovery by officer"
TREND_SHEET, CAPACITY_SHEET = "Review backlog trend", "Capacity"
OFFICER_TREND_SHEET = "Review backlog by officer"
CAPACITY_METHOD = ("From the open 20-week cases by age and the intake of the last 3 months: each week the "
                   "oldest cases ready to issue (from week 18) are issued first; the share is of the plans "
                   "issued in the weeks starting in the target month (docs/late-list.md, Capacity).")
VERY_LATE_FILL = "#F4CCCC"
A4 = 9  # Excel's paper code
TABLE_STYLE = "Table Style Light 1"


def _table_sheet(workbook, title: str, table: str, df: pl.DataFrame, columns, *, actions: bool = False,
                 mark_column: str | None = None):
    """One section as an Excel table; `actions` adds the empty meeting columns."""
    formats = safe_cells.formats_for(workbook)
    sheet = workbook.add_worksheet(title)
    data = for_people(df.select([c for c, _ in columns]))
    labels = [label for _, label in columns]
    for col, (name, label) in enumerate(columns):
        sheet.set_column(col, col, safe_cells.column_width(data, name, label))
    safe_cells.write_rows(workbook, sheet, data)
    if actions:
        wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        for offset, (_, width) in enumerate(ACTION_COLUMNS):
            sheet.set_column(len(labels) + offset, len(labels) + offset, width, wrap)
        labels += [label for label, _ in ACTION_COLUMNS]
    last_row = max(data.height, 1)  # a table needs a data row, even an empty one
    safe_cells.add_table(sheet, last_row, len(labels) - 1, {
        "name": table, "style": TABLE_STYLE,
        "columns": safe_cells.table_columns(labels, formats),
    })
    if mark_column is not None and data.height:
        letter = xl_col_to_name([c for c, _ in columns].index(mark_column))
        shade = workbook.add_format({"bg_color": VERY_LATE_FILL, "bold": True})
        sheet.conditional_format(1, 0, data.height, len(labels) - 1, {
            "type": "formula", "criteria": f'=${letter}2="yes"', "format": shade})
    sheet.freeze_panes(1, 0)
    sheet.repeat_rows(0)
    return sheet


def _headline_sheet(workbook, content: LateListContent) -> None:
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


def _print_setup(workbook, content: LateListContent) -> None:
    """Every sheet: landscape A4, as wide as one page, titled and numbered."""
    for sheet in workbook.worksheets():
        sheet.set_landscape()
        sheet.set_paper(A4)
        sheet.fit_to_pages(1, 0)
        sheet.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.7)
        sheet.set_header(f"&LWeekly late-plan list {content.as_of:%d/%m/%Y}&R&A")
        sheet.set_footer("&LInternal: case references and initials only&RPage &P of &N")


def render_xlsx(content: LateListContent) -> bytes:
    buffer = io.BytesIO()
    workbook = safe_cells.new_workbook(buffer)
    _headline_sheet(workbook, content)
    _table_sheet(workbook, VERY_LATE_SHEET, "VeryLate20Week", content.very_late_20w, VERY_LATE_COLUMNS,
                 actions=True)
    _table_sheet(workbook, AT_RISK_SHEET, "AtRisk20Week", content.at_risk_20w, AT_RISK_COLUMNS, actions=True)
    _table_sheet(workbook, OTHER_SHEET, "OtherOverdue", content.other_overdue, OTHER_COLUMNS, actions=True,
                 mark_column="very_late")
    _table_sheet(workbook, "By officer", "ByOfficer", content.officers, OFFICER_COLUMNS)
    _table_sheet(workbook, "By team", "ByTeam", content.teams, TEAM_COLUMNS)
    _table_sheet(workbook, "Forecast basis", "ForecastBasis", content.forecast_basis, BASIS_COLUMNS)
    _recovery_sheets(workbook, content)
    _data_quality_sheets(workbook, content)
    _print_setup(workbook, content)
    workbook.close()
    return buffer.getvalue()


def _recovery_sheets(workbook, content: LateListContent) -> None:
    """Targets, annual review recovery and capacity (late_list/recovery.py)."""
    rec = content.recovery
    if rec is None:
        return
    _table_sheet(workbook, TARGETS_OFFICER_SHEET, "TargetsByOfficer", rec.officer_targets, OFFICER_TARGET_COLUMNS)
    _table_sheet(workbook, TARGETS_TEAM_SHEET, "TargetsByTeam", rec.team_targets, TEAM_TARGET_COLUMNS)
    _table_sheet(workbook, RECOVERY_TEAM_SHEET, "ReviewRecoveryByTeam", rec.recovery_teams, TEAM_RECOVERY_COLUMNS)
    _table_sheet(workbook, RECOVERY_OFFICER_SHEET, "ReviewRecoveryByOfficer", rec.recovery_officers,
                 OFFICER_RECOVERY_COLUMNS)
    _table_sheet(workbook, TREND_SHEET, "ReviewBacklogTrend", rec.trend, rec.trend_columns)
    _table_sheet(workbook, OFFICER_TREND_SHEET, "ReviewBacklogTrendByOfficer", rec.officer_trend,
                 rec.officer_trend_columns)
    note = pl.DataFrame({"note": [rec.capacity.sentence(), CAPACITY_METHOD]})
    sheet = safe_cells.write_sheet(workbook, CAPACITY_SHEET, note, {"note": "Capacity: plans needed a month"})
    sheet.set_column(0, 0, 60, workbook.add_format({"text_wrap": True, "valign": "top"}))


def _data_quality_sheets(workbook, content: LateListContent) -> None:
    """The last ingest's summary (as `ehcp-monitor quarantine --xlsx` has it), then every finding."""
    dq = content.data_quality
    if dq is None:
        note = pl.DataFrame({"note": ["No ingest has been recorded."]})
        safe_cells.write_sheet(workbook, DATA_QUALITY_SHEET, note, {"note": "Data quality"})
        return
    write_summary_sheet(workbook, DATA_QUALITY_SHEET, dq)
    write_findings_sheet(workbook, DATA_QUALITY_FINDINGS_SHEET, dq.findings, ("code", *FINDING_COLUMNS))
    workbook.get_worksheet_by_name(DATA_QUALITY_FINDINGS_SHEET).repeat_rows(0)
