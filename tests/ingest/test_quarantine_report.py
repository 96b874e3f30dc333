"""`ehcp-monitor quarantine`: the data quality report, run as the real command on both stores.

Findings are written straight into the store (as the ingest stores them), so these tests read
what the report makes of them, whatever the ingest's rules are.
"""

import csv
import io
import os
import stat
import subprocess
import sys
import zipfile
from datetime import date

import openpyxl
import pytest

from tests.report_data.findings import add_ingest, finding

HYPERLINK = '=HYPERLINK("http://x","y")'
# What the store holds for ingest 2 (the last): stored in this order.
FINDINGS = [
    finding("advice", 3, "A3", "V002", "received_date", "withheld", HYPERLINK, measure="ADVICE_6W",
            message="received_date is not a date"),
    finding("advice", 5, "A5", "V002", "received_date", "withheld", None, measure="ADVICE_6W"),
    finding("requests", 4, "R1", "V002", "received_date", "quarantined", "31/02/2024",
            message="received_date '31/02/2024' is not a date"),
    finding("advice", 6, "A6", "V002", "received_date", "withheld", "\x1b[31msoon", measure="ADVICE_6W"),
    finding("advice", 8, "A8", "V002", "received_date", "withheld", "\x1b[31mred", measure="ADVICE_6W"),
    # A date of birth stored unmasked (as an older or mistaken ingest might): never shown.
    finding("people", 2, "P1", "V002", "date_of_birth", "quarantined", "2015-01-02",
            message="date_of_birth is not a date"),
    finding("requests", 6, "-R6", "V003", "request_source", "cleared", "walk-in"),
    finding("reviews", 4, "RV1", "V006", "decision_date", "withheld", "2024-01-01",
            measure="REVIEW_DECISION_4W", message="review decision before its meeting"),
    finding("plans", 9, "PL1", "W001", "start_date", "warning", None,
            message="historical record's start date missing"),
]
SUMMARY = {"rows_read": 1234, "rows_loaded": 1230, "rows_quarantined": 4, "quarantined_by_code": {"V002": 2},
           "withheld_by_code": {"V002": 4, "V006": 1}, "cleared_by_code": {"V003": 1},
           "warnings_by_code": {"W001": 1}, "cases": 500, "cases_fully_monitored": 496,
           "share_fully_monitored": 0.992}
HEADLINE = [
    "ingest #2 (sen2, as of 2025-03-14): loaded, 1230 of 1234 rows loaded, 4 quarantined",
    "rows read 1,234, loaded 1,230, quarantined 4",
    "cases fully monitored: 496 of 500 (99.2%)",
    "findings: 9 (2 quarantined, 5 withheld, 1 cleared, 1 warning)",
]
SUMMARY_LINES = [
    *HEADLINE,
    "",
    "V002 Unreadable date: advice.received_date, 4 findings (withheld: ADVICE_6W)",
    f"    advice.csv:3  record A3  value '{HYPERLINK}'",
    "    advice.csv:5  record A5  value (empty)",
    "    advice.csv:6  record A6  value '?[31msoon'",  # no escape sequence reaches a terminal
    "    ... and 1 more (--all lists every finding)",
    "V002 Unreadable date: people.date_of_birth, 1 finding (quarantined)",
    "    people.csv:2  record P1  value ***",
    "V002 Unreadable date: requests.received_date, 1 finding (quarantined)",
    "    requests.csv:4  record R1  value '31/02/2024'",
    "V003 Code not in its list: requests.request_source, 1 finding (cleared)",
    "    requests.csv:6  record -R6  value 'walk-in'",
    "V006 Dates in an impossible order: reviews.decision_date, 1 finding (withheld: REVIEW_DECISION_4W)",
    "    reviews.csv:4  record RV1  value '2024-01-01'",
    "W001 Historical record's date missing or unreadable: plans.start_date, 1 finding (warning)",
    "    plans.csv:9  record PL1  value (empty)",
]
CSV_HEADER = ["ingest_id", "table_name", "source_file", "source_line", "record_id", "code", "column_name", "message",
              "action", "measure", "bad_value"]


def run(args, db_url, cwd):
    env = {**os.environ, "EHCP_DATABASE_URL": db_url}
    env.pop("EHCP_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "ehcp_monitor", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def ok(done) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


@pytest.fixture
def store(engine, db_url):
    """Ingest 1 (an earlier one, one finding) and ingest 2 (the last, FINDINGS)."""
    with engine.begin() as conn:
        add_ingest(conn, 1, [finding("requests", 9, "R-OLD", "V001", "received_date", "quarantined")],
                   as_of=date(2025, 3, 7), message="9 of 10 rows loaded, 1 quarantined",
                   counts={"requests": {"read": 10, "loaded": 9, "quarantined": 1}})
        add_ingest(conn, 2, FINDINGS, source_kind="sen2", summary=SUMMARY,
                   message="1230 of 1234 rows loaded, 4 quarantined")
    return db_url


def test_summary_by_code_table_and_column_with_three_examples(store, tmp_path):
    assert ok(run(["quarantine"], store, tmp_path)).splitlines() == SUMMARY_LINES


def test_all_lists_every_finding_after_the_summary(store, tmp_path):
    lines = ok(run(["quarantine", "--all"], store, tmp_path)).splitlines()
    assert lines[:len(SUMMARY_LINES)] == SUMMARY_LINES
    assert lines[len(SUMMARY_LINES):] == [
        "",
        "every finding (9):",
        "V002 withheld ADVICE_6W advice A3 at advice.csv:3 [received_date]: received_date is not a date",
        "V002 withheld ADVICE_6W advice A5 at advice.csv:5 [received_date]: V002 on advice.received_date",
        "V002 quarantined requests R1 at requests.csv:4 [received_date]: received_date '31/02/2024' is not a date",
        "V002 withheld ADVICE_6W advice A6 at advice.csv:6 [received_date]: V002 on advice.received_date",
        "V002 withheld ADVICE_6W advice A8 at advice.csv:8 [received_date]: V002 on advice.received_date",
        "V002 quarantined people P1 at people.csv:2 [date_of_birth]: date_of_birth is not a date",
        "V003 cleared requests -R6 at requests.csv:6 [request_source]: V003 on requests.request_source",
        "V006 withheld REVIEW_DECISION_4W reviews RV1 at reviews.csv:4 [decision_date]: "
        "review decision before its meeting",
        "W001 warning plans PL1 at plans.csv:9 [start_date]: historical record's start date missing",
    ]


def test_a_personal_value_and_a_control_character_never_reach_the_output(store, tmp_path):
    path = tmp_path / "report.xlsx"
    shown = ok(run(["quarantine", "--all", "--xlsx", str(path)], store, tmp_path))
    as_csv = ok(run(["quarantine", "--csv"], store, tmp_path))
    workbook = openpyxl.load_workbook(path)
    cells = [str(c.value) for sheet in workbook for row in sheet.iter_rows() for c in row if c.value is not None]
    for text in (shown, as_csv, *cells):
        assert "2015-01-02" not in text
    assert "***" in cells and "***" in as_csv
    assert "\x1b" not in shown


def test_csv_has_every_finding_and_every_column_with_safe_cells(store, tmp_path):
    rows = list(csv.reader(io.StringIO(ok(run(["quarantine", "--csv"], store, tmp_path)))))
    assert rows[0] == CSV_HEADER
    assert len(rows) == 1 + len(FINDINGS)
    by_record = {r[4]: dict(zip(CSV_HEADER, r, strict=False)) for r in rows[1:]}
    assert by_record["A3"] == {
        "ingest_id": "2", "table_name": "advice", "source_file": "advice.csv", "source_line": "3", "record_id": "A3",
        "code": "V002", "column_name": "received_date", "message": "received_date is not a date",
        "action": "withheld", "measure": "ADVICE_6W", "bad_value": "'" + HYPERLINK}
    assert "'-R6" in by_record
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row


def test_xlsx_has_a_summary_and_one_sheet_per_code(store, tmp_path):
    path = tmp_path / "out" / "report.xlsx"
    path.parent.mkdir()
    out = ok(run(["quarantine", "--xlsx", str(path)], store, tmp_path))
    assert out.splitlines()[0] == f"xlsx: {path}"
    assert out.splitlines()[1:] == SUMMARY_LINES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Summary", "V002", "V003", "V006", "W001"]
    summary = workbook["Summary"]
    figures = {r[0]: r[1] for r in summary.iter_rows(max_row=16, values_only=True)}
    assert figures["Ingest"] == 2 and figures["Source kind"] == "sen2" and figures["Rows read"] == 1234
    share = summary.cell(row=11, column=2)
    assert (share.value, share.number_format) == (0.992, "0.0%")
    assert (figures["Findings"], figures["Findings (clock withheld)"], figures["Findings (warning)"]) == (9, 5, 1)
    assert summary.freeze_panes == "A19" and summary.auto_filter.ref == "A18:K24"
    table = [list(r) for r in summary.iter_rows(min_row=18, values_only=True)]
    assert table[0] == ["Code", "What is wrong", "Table", "Column", "Findings", "Action", "Clocks withheld",
                        "Example 1", "Example 2", "Example 3", "Meaning"]
    assert table[1][:10] == ["V002", "Unreadable date", "advice", "received_date", 4, "withheld", "ADVICE_6W",
                             f"advice.csv:3, record A3, value {HYPERLINK}", "advice.csv:5, record A5, value (empty)",
                             "advice.csv:6, record A6, value ?[31msoon"]
    assert table[1][10] == "A date cannot be read in the declared format."
    assert [r[0] for r in table[1:]] == ["V002", "V002", "V002", "V003", "V006", "W001"]
    v002 = workbook["V002"]
    assert [c.value for c in v002[1]] == ["Table", "Column", "Source file", "Line", "Record ID", "Action",
                                          "Clock withheld", "Value as read", "Problem"]
    assert [r[4] for r in v002.iter_rows(min_row=2, values_only=True)] == ["A3", "A5", "R1", "A6", "A8", "P1"]
    for sheet in workbook:
        widths = [d.width for d in sheet.column_dimensions.values()]
        assert widths and all(8 <= w <= 61 for w in widths), sheet.title
        if sheet.title != "Summary":
            assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:"), sheet.title
    # A value that looks like a formula stays text: a string cell with Excel's quote prefix.
    formula = v002.cell(row=2, column=8)
    assert formula.value == HYPERLINK and formula.data_type == "s" and formula.quotePrefix
    assert workbook["V003"].cell(row=2, column=5).quotePrefix  # record -R6
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)


def test_ingest_option_shows_an_earlier_ingest(store, tmp_path):
    assert ok(run(["quarantine", "--ingest", "1"], store, tmp_path)).splitlines() == [
        "ingest #1 (csv, as of 2025-03-07): loaded, 9 of 10 rows loaded, 1 quarantined",
        "rows read 10, loaded 9, quarantined 1",  # from the per-table counts: no summary was stored
        "findings: 1 (1 quarantined, 0 withheld, 0 cleared, 0 warnings)",
        "",
        "V001 Required value missing: requests.received_date, 1 finding (quarantined)",
        "    requests.csv:9  record R-OLD  value (empty)",
    ]
    rows = list(csv.DictReader(io.StringIO(ok(run(["quarantine", "--ingest", "1", "--csv"], store, tmp_path)))))
    assert [(r["ingest_id"], r["record_id"]) for r in rows] == [("1", "R-OLD")]
    missing = run(["quarantine", "--ingest", "7"], store, tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == ["ehcp-monitor: quarantine: there is no ingest #7"]


def test_an_ingest_without_findings(engine, db_url, tmp_path):
    with engine.begin() as conn:
        add_ingest(conn, 1, [], message="10 of 10 rows loaded, 0 quarantined",
                   summary={"rows_read": 10, "rows_loaded": 10, "rows_quarantined": 0, "cases": 3,
                            "cases_fully_monitored": 3, "share_fully_monitored": 1.0})
    assert ok(run(["quarantine", "--all"], db_url, tmp_path)).splitlines() == [
        "ingest #1 (csv, as of 2025-03-14): loaded, 10 of 10 rows loaded, 0 quarantined",
        "rows read 10, loaded 10, quarantined 0",
        "cases fully monitored: 3 of 3 (100.0%)",
        "findings: 0 (0 quarantined, 0 withheld, 0 cleared, 0 warnings)",
        "",
        "no findings: every row loaded as it was read",
    ]
    path = tmp_path / "none.xlsx"
    ok(run(["quarantine", "--xlsx", str(path)], db_url, tmp_path))
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Summary"]
    assert workbook["Summary"].cell(row=19, column=1).value == "No findings: every row loaded as it was read."


def test_no_ingest_yet(engine, db_url, tmp_path):
    assert ok(run(["quarantine"], db_url, tmp_path)).splitlines() == ["no ingest yet"]
    assert ok(run(["quarantine", "--all"], db_url, tmp_path)).splitlines() == ["no ingest yet"]
    assert ok(run(["quarantine", "--csv"], db_url, tmp_path)).splitlines() == [",".join(CSV_HEADER)]
    path = tmp_path / "report.xlsx"
    assert ok(run(["quarantine", "--xlsx", str(path)], db_url, tmp_path)).splitlines() == [
        "no ingest yet: no workbook written"]
    assert not path.exists()
