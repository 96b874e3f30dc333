"""The weekly list's data quality section: the summary in the HTML (the email body), every finding
in the workbook and in the CSV beside the list. Files reopened by their readers, on both stores."""

import csv
import io

import openpyxl
import polars as pl
import pytest
from sqlalchemy import delete

from ehcp_monitor.db.models import IngestRun, QuarantinedRow
from ehcp_monitor.late_list import build_late_list
from tests.report_data.findings import add_ingest, finding
from tests.report_data.html_tables import section_text, table
from tests.report_data.late_list_dataset import AS_OF, HYPERLINK_OFFICER, QUARANTINE, load_dataset

SECTION = "Data quality of the last ingest (for the data team)"
CAPTION = "Findings of the last ingest by code, table and column"
PERSONAL = ("Smith\x07", "Smith", "Jane.Brown", "Jane", "Brown")
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def built(engine, settings, tmp_path):
    load_dataset(engine)
    return build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path / "out")


def ingest_2_findings() -> list[tuple]:
    return [q[1:] for q in QUARANTINE if q[0] == 2]


def html_of(result) -> str:
    return result.html_path.read_text(encoding="utf-8")


def read_csv_rows(path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def cell_values(path) -> list[str]:
    workbook = openpyxl.load_workbook(path)
    return [str(c.value) for sheet in workbook for row in sheet.iter_rows() for c in row if c.value is not None]


def test_html_summarises_by_code_table_and_column_with_three_examples(built):
    html = html_of(built)
    summary = table(html, CAPTION)
    assert summary.header == ["Code", "What is wrong", "Table", "Column", "Findings", "Action",
                              "Examples (file and line, record, value as read)"]
    assert [row[:6] for row in summary.rows] == [
        ["V002", "Unreadable date", "advice", "received_date", "5", "withheld: ADVICE_6W"],
        ["V003", "Code not in its list", "advice", "advice_type", "1", "quarantined"],
        ["V003", "Code not in its list", "requests", "request_source", "1", "cleared"],
        ["V004", "Duplicate ID", "requests", "request_id", "1", "quarantined"],
        ["V006", "Dates in an impossible order", "reviews", "decision_date", "1", "withheld: REVIEW_DECISION_4W"],
        ["V009", "Invalid email address", "contacts", "email", "1", "quarantined"],
        ["V010", "Bad text value", "people", "surname", "1", "quarantined"],
        ["W001", "Historical record's date missing or unreadable", "plans", "start_date", "1", "warning"],
    ]
    # The first three findings of a group, in the order the ingest stored them; then how many more.
    assert summary.items[0][6] == [
        f"advice.csv:3, record A3, value {HYPERLINK_OFFICER}",
        "advice.csv:5, record A5, no value",
        "advice.csv:6, record A6, value soon",
    ]
    assert summary.rows[0][6].endswith("and 2 more")
    assert summary.items[3][6] == ["requests.csv:4, record @SUM(1+1), value @SUM(1+1)"]
    assert summary.items[5][6] == ["contacts.csv:2, record C1, value ***"]
    text = section_text(html, SECTION)
    assert "Ingest 2 (canonical, loaded, as of 14/03/2025): 40 rows read, 36 loaded, 4 quarantined." in text
    assert "6 of 8 cases fully monitored (75.0%)." in text
    assert "12 findings:" in text and "withheld (the row loaded; one clock of its case was not evaluated): 6" in text
    assert "late-list-2025-03-14-data-quality.csv" in text
    assert "R-OLD" not in html  # ingest 1 is not the last


def test_every_finding_is_in_the_csv_beside_the_list_and_in_the_workbook(built):
    assert built.data_quality_csv_path.name == "late-list-2025-03-14-data-quality.csv"
    assert built.data_quality_csv_path in built.paths
    rows = read_csv_rows(built.data_quality_csv_path)
    ours = [q for q in QUARANTINE if q[0] == 2]
    assert [(r["ingest_id"], r["code"], r["record_id"].lstrip("'"), r["action"], r["measure"]) for r in rows] == [
        (str(q[0]), q[5], q[4], q[8], q[9] or "") for q in ours]
    for row in rows:
        assert not any(v.startswith(TRIGGERS) for v in row.values()), row
    assert rows[2]["bad_value"] == "'" + HYPERLINK_OFFICER
    sheet = openpyxl.load_workbook(built.xlsx_path)["Data quality findings"]
    body = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in body] == [q[5] for q in ours]
    summary = openpyxl.load_workbook(built.xlsx_path)["Data quality"]
    labels = {r[0]: r[1] for r in summary.iter_rows(max_row=17, values_only=True) if r[0]}
    assert (labels["Ingest"], labels["Rows read"], labels["Share of cases fully monitored"]) == (2, 40, 0.75)
    assert labels["Findings (clock withheld)"] == 6


def test_personal_values_never_appear(built):
    # A surname and an email stored unmasked are shown as *** everywhere.
    for path in (built.html_path, built.csv_path, built.data_quality_csv_path):
        text = path.read_text(encoding="utf-8")
        for value in PERSONAL:
            assert value not in text, (path.name, value)
    cells = cell_values(built.xlsx_path)
    assert "***" in cells
    assert not [c for c in cells if any(value in c for value in PERSONAL)]
    for value in PERSONAL:
        assert value not in built.text


def test_the_email_body_carries_the_summary_only(engine, settings, tmp_path):
    load_dataset(engine)
    small = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path / "small")
    many = [finding("advice", 100 + n, f"A{100 + n}", "V002", "received_date", "withheld", f"bad {n:05}",
                    measure="ADVICE_6W") for n in range(3000)]
    with engine.begin() as conn:
        add_ingest(conn, 3, many + ingest_2_findings(), source_kind="canonical",
                   summary={"rows_read": 3040, "rows_loaded": 3036, "rows_quarantined": 4})
    large = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path / "large")
    # 3,000 more findings of one code, table and column: one count changes, no row is added.
    assert abs(large.html_path.stat().st_size - small.html_path.stat().st_size) < 200
    assert "bad 00003" not in html_of(large) and "bad 00002" in html_of(large)
    assert "3,005" in table(html_of(large), CAPTION).rows[0][4]
    assert len(read_csv_rows(large.data_quality_csv_path)) == 3012
    sheet = openpyxl.load_workbook(large.xlsx_path)["Data quality findings"]
    assert sheet.max_row == 3013
    assert "Data quality of ingest 3 (loaded): 3,012 findings (4 quarantined, 3,006 withheld, 1 cleared, " \
           "1 warning)." in large.text


def test_a_refused_ingest_is_reported_with_its_reason(engine, settings, tmp_path):
    load_dataset(engine)
    with engine.begin() as conn:
        add_ingest(conn, 3, [finding("people", 2, "P1", "V002", "date_of_birth", "quarantined", "***")],
                   status="refused", message="table people: 1 of 3 rows quarantined (33.3%)",
                   counts={"people": {"read": 3, "loaded": 0, "quarantined": 1}})
    built = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path)
    text = section_text(html_of(built), SECTION)
    assert "Ingest 3 (csv, refused, as of 14/03/2025): 3 rows read, 0 loaded, 1 quarantined." in text
    assert "cases fully monitored" not in text  # a refused ingest monitors nothing
    assert [row[:6] for row in table(html_of(built), CAPTION).rows] == [
        ["V002", "Unreadable date", "people", "date_of_birth", "1", "quarantined"]]


def test_before_any_ingest_the_section_says_so(engine, settings, tmp_path):
    load_dataset(engine)
    with engine.begin() as conn:
        conn.execute(delete(QuarantinedRow))
        conn.execute(delete(IngestRun))
    built = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path)
    assert section_text(html_of(built), SECTION) == f"{SECTION} No ingest has been recorded."
    assert built.data_quality_csv_path.read_text(encoding="utf-8").splitlines() == [
        "ingest_id,table_name,source_file,source_line,record_id,code,column_name,message,action,measure,bad_value"]
    sheet = openpyxl.load_workbook(built.xlsx_path)["Data quality"]
    assert [c.value for c in sheet["A"]] == ["Data quality", "No ingest has been recorded."]
    assert (built.counts["data_quality_findings"], built.counts["findings_quarantined"]) == (0, 0)
    assert "Data quality: no ingest has been recorded." in built.text


def test_an_ingest_without_findings(engine, settings, tmp_path):
    load_dataset(engine)
    with engine.begin() as conn:
        add_ingest(conn, 3, pl.DataFrame(schema={"table_name": pl.Utf8}).clear(), source_kind="canonical",
                   summary={"rows_read": 40, "rows_loaded": 40, "rows_quarantined": 0, "cases": 8,
                            "cases_fully_monitored": 8, "share_fully_monitored": 1.0})
    built = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path)
    assert table(html_of(built), CAPTION).rows == [["None: every row loaded as it was read."]]
    assert "8 of 8 cases fully monitored (100.0%)." in section_text(html_of(built), SECTION)
    assert read_csv_rows(built.data_quality_csv_path) == []
