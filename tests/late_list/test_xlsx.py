"""The workbook and the CSV as the meeting opens them: reopened with openpyxl and the csv module."""

import csv
import io
import zipfile
from datetime import datetime

import openpyxl
import pytest

from ehcp_monitor.late_list import build_late_list
from tests.report_data.late_list_dataset import AS_OF, HYPERLINK_OFFICER, load_dataset

SHEETS = ["Headline", "Very late 20-week", "At risk 20-week", "Other overdue", "By officer", "By team",
          "Forecast basis", "Targets by officer", "Targets by team", "Review recovery by team",
          "Review recovery by officer", "Review backlog trend", "Review backlog by officer",
          "Capacity", "Data quality", "Data quality findings"]
# The sections are Excel tables (their own filter buttons); the other sheets carry an autofilter.
TABLES = {"Very late 20-week": "VeryLate20Week", "At risk 20-week": "AtRisk20Week", "Other overdue": "OtherOverdue",
          "By officer": "ByOfficer", "By team": "ByTeam", "Forecast basis": "ForecastBasis",
          "Targets by officer": "TargetsByOfficer", "Targets by team": "TargetsByTeam",
          "Review recovery by team": "ReviewRecoveryByTeam", "Review recovery by officer": "ReviewRecoveryByOfficer",
          "Review backlog trend": "ReviewBacklogTrend",
          "Review backlog by officer": "ReviewBacklogTrendByOfficer"}
# The data quality summary's table starts below the ingest's figures (its header row is frozen).
FROZEN = {"Data quality": "A19"}


@pytest.fixture
def built(engine, settings, tmp_path):
    load_dataset(engine)
    return build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path)


@pytest.fixture
def workbook(built):
    return openpyxl.load_workbook(built.xlsx_path)


def column(sheet, header: str) -> list:
    headers = [c.value for c in sheet[1]]
    index = headers.index(header)
    return [row[index] for row in sheet.iter_rows(min_row=2)]


def test_one_sheet_per_section_with_frozen_header_and_a_filter(workbook):
    assert workbook.sheetnames == SHEETS
    for sheet in workbook:
        frozen = FROZEN.get(sheet.title, "A2")
        assert sheet.freeze_panes == frozen, sheet.title
        header_row = int(frozen[1:]) - 1
        if sheet.title in TABLES:
            assert list(sheet.tables) == [TABLES[sheet.title]], sheet.title
            assert sheet.tables[TABLES[sheet.title]].ref.startswith("A1:"), sheet.title
        else:
            assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith(f"A{header_row}:"), sheet.title
        widths = [d.width for d in sheet.column_dimensions.values()]
        assert widths and all(8 <= w <= 61 for w in widths), sheet.title
    # 16 columns of the list, then "Action agreed" and "Owner"; a header row and 5 clocks.
    assert workbook["Other overdue"].tables["OtherOverdue"].ref == "A1:R6"


def test_rows_dates_and_numbers_have_real_types(workbook):
    sheet = workbook["Very late 20-week"]
    assert [c.value for c in sheet[1]][:8] == ["Case ref", "Initials", "Case officer", "Team", "Received",
                                               "Weeks open", "Due", "Days over"]
    received = column(sheet, "Received")
    assert [c.value for c in received] == [datetime(2023, 12, 1), datetime(2024, 6, 3)]
    assert all(c.is_date and c.number_format == "dd/mm/yyyy" for c in received)
    assert [c.value for c in column(sheet, "Weeks open")] == [67.0, 40.6]
    assert [c.value for c in column(sheet, "Days over")] == [329, 144]
    assert [c.value for c in column(sheet, "Exception")] == ["yes", "no"]
    headline = {row[0].value: row[1].value for row in workbook["Headline"].iter_rows(min_row=2) if row[0].value}
    assert headline["Statutory clocks overdue"] == 6
    assert headline["Previous list"] == datetime(2025, 3, 7)


def test_no_cell_is_a_formula(built, workbook):
    officer = column(workbook["Very late 20-week"], "Case officer")[0]
    assert officer.value == HYPERLINK_OFFICER
    assert officer.data_type == "s"
    assert officer.quotePrefix  # Excel keeps it text even when the cell is edited
    findings = workbook["Data quality findings"]
    assert column(findings, "Record ID")[0].value == "@SUM(1+1)"
    assert column(findings, "Problem")[1].value == "-2+3 is not an advice type"
    hyperlink = column(findings, "Value as read")[2]
    assert hyperlink.value == HYPERLINK_OFFICER and hyperlink.data_type == "s" and hyperlink.quotePrefix
    for sheet in workbook:
        for row in sheet.iter_rows():
            assert all(c.data_type != "f" for c in row), sheet.title
    with zipfile.ZipFile(built.xlsx_path) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == len(SHEETS)
        for name in sheets:
            assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)


def test_csv_cells_cannot_start_a_formula(built):
    rows = list(csv.reader(io.StringIO(built.csv_path.read_text(encoding="utf-8"))))
    header, body = rows[0], rows[1:]
    assert header[0] == "Section" and len(body) == 7
    officer = body[0][header.index("Case officer")]
    assert officer == "'" + HYPERLINK_OFFICER
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_every_sheet_prints_landscape_fitted_to_the_page_width(workbook):
    for sheet in workbook:
        setup = sheet.page_setup
        assert setup.orientation == "landscape", sheet.title
        assert setup.paperSize == 9, sheet.title  # A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        # One page wide (1 is Excel's default, so the file leaves it out), as many pages long as it takes.
        assert (setup.fitToWidth or 1, setup.fitToHeight) == (1, 0), sheet.title
        assert "Page &P of &N" in sheet.oddFooter.right.text, sheet.title
    for title in [*TABLES, "Data quality findings"]:
        assert workbook[title].print_title_rows == "$1:$1", title  # the header row on every printed page


def test_case_sheets_end_with_empty_action_and_owner_columns(workbook):
    for title in ("Very late 20-week", "At risk 20-week", "Other overdue"):
        sheet = workbook[title]
        assert [c.value for c in sheet[1]][-2:] == ["Action agreed", "Owner"], title
        for row in sheet.iter_rows(min_row=2):
            assert row[-2].value is None and row[-1].value is None, title
        assert sheet.column_dimensions[sheet[1][-2].column_letter].width >= 30, title
    assert [c.value for c in workbook["By officer"][1]][-1] == "Due in next 14 days"


def test_very_late_rows_of_other_overdue_are_shaded(workbook):
    sheet = workbook["Other overdue"]
    (ranges,) = list(sheet.conditional_formatting)
    assert str(ranges.sqref) == "A2:R6"
    (rule,) = ranges.rules
    very_late_column = [c.value for c in sheet[1]].index("Very late")
    letter = sheet[1][very_late_column].column_letter
    assert rule.type == "expression" and rule.formula == [f'${letter}2="yes"']
    assert rule.dxf.fill.bgColor.rgb.endswith("F4CCCC") and rule.dxf.font.b
    # The rows the rule shades: R1's health advice and PL5's review.
    shaded = [row[1].value for row in sheet.iter_rows(min_row=2) if row[very_late_column].value == "yes"]
    assert shaded == ["R1", "R5"]
