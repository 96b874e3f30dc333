"""Canonical extracts in every form: CSV (ISO or UK dates, any encoding), Parquet, XLSX."""

from datetime import date

import polars as pl
import pytest

from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest import run_ingest
from tests.ingest.extract import (
    base_tables,
    quarantine_of,
    where,
    with_more_people,
    write_csv,
    write_parquet,
    write_xlsx,
)


def _snapshot_rows(engine):
    snap = read_snapshot(engine)
    return {name: snap[name].sort(snap[name].columns).rows() for name in snap.tables}


def test_csv_parquet_and_xlsx_give_the_same_snapshot(engine, settings, as_of, tmp_path):
    tables = base_tables()
    snapshots = {}
    for kind, source in (
        ("csv", write_csv(tmp_path / "csv", tables)),
        ("parquet", write_parquet(tmp_path / "parquet", tables)),
        ("xlsx", write_xlsx(tmp_path / "extract.xlsx", tables)),
    ):
        result = run_ingest(engine, settings, str(source), as_of=as_of)
        assert (result.source_kind, result.status) == (kind, "loaded")
        assert sum(c["quarantined"] for c in result.counts.values()) == 0
        snapshots[kind] = _snapshot_rows(engine)
    assert snapshots["csv"] == snapshots["parquet"] == snapshots["xlsx"]
    assert snapshots["csv"]["reviews"][0][1].isoformat() == "2024-06-03"


def test_xlsx_lines_are_sheet_rows_and_text_dates_use_the_declared_format(engine, settings, as_of, tmp_path):
    tables = base_tables()
    path = write_xlsx(tmp_path / "extract.xlsx", tables)
    import openpyxl

    workbook = openpyxl.load_workbook(path)
    workbook["drafts"]["B3"] = "not a date"
    workbook["drafts"]["A3"] = "R3"
    workbook["people"]["B3"] = "2019-11-21"  # a text cell in ISO, the declared format
    workbook.save(path)
    run_ingest(engine, settings.replace(**{"ingest.max_reject_share": 1.0}), str(path), as_of=as_of)

    (row,) = quarantine_of(engine)
    assert where(row) == ("V002", "drafts", "extract.xlsx[drafts]", 3, "R3", "draft_plan_date")
    people = read_snapshot(engine)["people"].sort("person_id")
    assert people["date_of_birth"].cast(str).to_list()[1] == "2019-11-21"


def test_numeric_ids_and_string_dates_in_parquet(engine, settings, as_of, tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    pl.DataFrame({"person_id": [101, 102], "date_of_birth": [date(2015, 1, 1), date(2016, 1, 1)]}).write_parquet(
        folder / "people.parquet")
    pl.DataFrame({"request_id": [1.0], "person_id": [101], "received_date": ["2024-01-02"],
                  "request_outcome": ["y"], "request_outcome_date": ["2024-02-01"]}).write_parquet(
        folder / "requests.parquet")
    run_ingest(engine, settings, str(folder), as_of=as_of)
    snap = read_snapshot(engine)
    assert sorted(snap["people"]["person_id"].to_list()) == ["101", "102"]
    assert snap["requests"].select("request_id", "person_id", "received_date", "request_outcome").rows() == [
        ("1", "101", date(2024, 1, 2), "Y")]


def test_uk_dates_only_when_declared(engine, settings, as_of, tmp_path):
    tables = with_more_people({k: v for k, v in base_tables().items() if k in ("people", "requests")})
    for row in tables["people"]:
        y, m, d = row["date_of_birth"].split("-")
        row["date_of_birth"] = f"{d}/{m}/{y}"
    folder = write_csv(tmp_path / "uk", tables)
    # Read with the default ISO setting: refused in one line naming the form that fits and the
    # setting, never silently guessed (and no date quoted: a date of birth is personal data).
    with pytest.raises(IngestRefused) as refused:
        run_ingest(engine, settings, str(folder), as_of=as_of)
    assert str(refused.value) == (
        "people.csv column date_of_birth: 15 of 15 dates are not in the declared form %Y-%m-%d but read as "
        "dd/mm/yyyy; but requests.csv received_date is in the declared form: the extract mixes date forms; "
        "write every date in one form (yyyy-mm-dd)")

    for row in tables["requests"]:
        for col in ("received_date", "request_outcome_date"):
            if row[col]:
                y, m, d = row[col].split("-")
                row[col] = f"{d}/{m}/{y}"
    folder = write_csv(tmp_path / "uk2", tables)
    uk = settings.replace(**{"source.date_format": "%d/%m/%Y"})
    run_ingest(engine, uk, str(folder), as_of=as_of)
    people = read_snapshot(engine)["people"].sort("person_id")
    assert people["date_of_birth"].cast(str).to_list()[:3] == ["2015-04-01", "2019-11-20", "2010-02-03"]


def test_bom_crlf_and_cp1252_files_read(engine, settings, as_of, tmp_path):
    tables = base_tables()
    tables["people"][0]["surname"] = "Móran"
    tables["people"][1]["surname"] = "O’Neill"
    folder = write_csv(tmp_path / "enc", {k: v for k, v in tables.items() if k in ("people", "requests")},
                       encoding="cp1252")
    requests = (folder / "requests.csv").read_bytes()
    (folder / "requests.csv").write_bytes(b"\xef\xbb\xbf" + requests.replace(b"\n", b"\r\n"))
    result = run_ingest(engine, settings, str(folder), as_of=as_of)
    assert result.counts["requests"]["loaded"] == 3
    people = read_snapshot(engine)["people"].sort("person_id")
    assert people["surname"].to_list() == ["Móran", "O’Neill", "Owen"]


def test_a_file_starting_with_two_byte_order_marks_reads_its_first_column(engine, settings, as_of, tmp_path):
    folder = write_csv(tmp_path / "x", {k: v for k, v in base_tables().items() if k in ("people", "requests")})
    people = (folder / "people.csv").read_bytes()
    assert people.startswith(b"person_id,")
    (folder / "people.csv").write_bytes(b"\xef\xbb\xbf" * 2 + people)
    result = run_ingest(engine, settings, str(folder), as_of=as_of)
    assert (result.status, result.counts["people"]["loaded"]) == ("loaded", 3)
    assert read_snapshot(engine)["people"].sort("person_id")["person_id"].to_list() == ["P1", "P2", "P3"]


def test_unknown_columns_are_ignored_and_blank_lines_are_not_records(engine, settings, as_of, tmp_path):
    tables = {k: v for k, v in base_tables().items() if k in ("people", "requests")}
    for row in tables["people"]:
        row["shoe_size"] = "3"
    folder = write_csv(tmp_path / "x", tables)
    with open(folder / "people.csv", "a") as fh:
        fh.write("\n,,,,,,\n")
    result = run_ingest(engine, settings, str(folder), as_of=as_of)
    assert result.counts["people"] == {"read": 3, "loaded": 3, "quarantined": 0, "by_code": {},
                                       "withheld_by_code": {}, "cleared_by_code": {}, "warnings_by_code": {}}
    assert "shoe_size" not in read_snapshot(engine)["people"].columns


@pytest.mark.parametrize("content, message", [
    (b"", "^people.csv: the file is empty \\(no header row\\)$"),
    (b"\xef\xbb\xbf\r\n", "^people.csv: the file is empty"),
    (b"person_id,date_of_birth,person_id\nP1,2015-01-01,P2\n", "^people.csv: column person_id appears more than once$"),
    (b"Person_ID,date_of_birth,PERSON_ID\n", "^people.csv: column person_id appears more than once$"),
])
def test_empty_files_and_doubled_headers_are_refused_in_one_line(engine, settings, as_of, tmp_path, content, message):
    folder = write_csv(tmp_path / "x", {k: v for k, v in base_tables().items() if k in ("people", "requests")})
    (folder / "people.csv").write_bytes(content)
    with pytest.raises(IngestRefused, match=message):
        run_ingest(engine, settings, str(folder), as_of=as_of)


def test_a_header_only_file_is_a_table_with_no_rows(engine, settings, as_of, tmp_path):
    folder = write_csv(tmp_path / "x", {k: v for k, v in base_tables().items() if k in ("people", "requests")})
    (folder / "drafts.csv").write_text("request_id,draft_plan_date\n")
    result = run_ingest(engine, settings, str(folder), as_of=as_of)
    assert result.counts["drafts"] == {"read": 0, "loaded": 0, "quarantined": 0, "by_code": {},
                                       "withheld_by_code": {}, "cleared_by_code": {}, "warnings_by_code": {}}
    assert "drafts" in read_snapshot(engine).tables_present


def test_xlsx_doubled_headers_and_empty_sheets_refuse_in_one_line(engine, settings, as_of, tmp_path):
    import xlsxwriter

    path = tmp_path / "odd.xlsx"
    workbook = xlsxwriter.Workbook(path)
    workbook.add_worksheet("people").write_row(0, 0, ["person_id", "date_of_birth", "person_id"])
    workbook.add_worksheet("requests")
    workbook.close()
    with pytest.raises(IngestRefused, match=r"^odd.xlsx\[people\]: column person_id appears more than once$"):
        run_ingest(engine, settings, str(path), as_of=as_of)


def test_xlsx_blank_rows_keep_sheet_row_numbers_and_empty_required_columns_are_v001(
        engine, settings, as_of, tmp_path):
    tables = base_tables()
    path = write_xlsx(tmp_path / "extract.xlsx", {k: tables[k] for k in ("people", "requests", "drafts")})
    import openpyxl

    workbook = openpyxl.load_workbook(path)
    sheet = workbook["drafts"]
    sheet["A4"], sheet["A5"] = "R2", "R3"  # row 3 left blank; draft dates missing
    workbook.save(path)
    run_ingest(engine, settings.replace(**{"ingest.max_reject_share": 1.0}), str(path), as_of=as_of)
    assert [where(r) for r in quarantine_of(engine)] == [
        ("V001", "drafts", "extract.xlsx[drafts]", 4, "R2", "draft_plan_date"),
        ("V001", "drafts", "extract.xlsx[drafts]", 5, "R3", "draft_plan_date"),
    ]
