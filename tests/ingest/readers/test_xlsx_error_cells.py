"""Excel error cells (`#REF!`, `#N/A`, `#DIV/0!`...) never read as empty: a workbook holding one
where a value is read is refused in one line naming the sheet, the cells and a count, and the
previous snapshot stays in force (docs/input-formats.md, XLSX)."""

import zipfile

import openpyxl
import pytest
import xlsxwriter
from sqlalchemy import text

from ehcp_monitor.cli import main
from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.ingest.readers import xlsx_errors
from tests.ingest.extract import base_tables, write_xlsx


def _columns(sheet) -> dict[str, str]:
    return {cell.value: cell.column_letter for cell in sheet[1]}


def _with_error(path, table: str, column: str, row: int, error: str):
    """The workbook at `path` with the `column` cell of data row `row` (sheet row row + 1) an error."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook[table]
    ref = f"{_columns(sheet)[column]}{row + 1}"
    sheet[ref] = error  # openpyxl stores an error code as an error cell (t="e")
    assert sheet[ref].data_type == "e"
    workbook.save(path)
    return ref


def _snapshot_rows(engine):
    snap = read_snapshot(engine)
    return {name: sorted(snap[name].rows(), key=str) for name in snap.tables}


@pytest.mark.parametrize(("table", "column", "row", "error"), [
    ("contacts", "opted_out", 2, "#REF!"),       # an opted-out family must not read as not opted out
    ("reviews", "decision_date", 1, "#N/A"),     # nor an undecided review as decided, or the reverse
    ("plans", "cease_date", 1, "#N/A"),          # nor a ceased plan as live
    ("people", "person_id", 3, "#VALUE!"),
    ("contacts", "email", 1, "#NAME?"),
    ("requests", "request_outcome", 2, "#NULL!"),
    ("requests", "received_date", 1, "#NUM!"),
])
def test_an_error_cell_where_a_value_is_read_refuses_and_keeps_the_snapshot(
        engine, settings, as_of, tmp_path, table, column, row, error):
    good = write_xlsx(tmp_path / "good.xlsx", base_tables())
    run_ingest(engine, settings, str(good), as_of=as_of)
    before = _snapshot_rows(engine)

    path = write_xlsx(tmp_path / "extract.xlsx", base_tables())
    ref = _with_error(path, table, column, row, error)
    with pytest.raises(IngestRefused) as refused:
        run_ingest(engine, settings, str(path), as_of=as_of)
    assert str(refused.value) == (
        f"extract.xlsx[{table}]: 1 cell of a column the ingest reads holds an Excel error ({error}) instead "
        f"of a value, at {ref}: correct it and load again")
    assert _snapshot_rows(engine) == before


def test_many_error_cells_are_counted_and_the_first_three_named(engine, settings, as_of, tmp_path):
    path = write_xlsx(tmp_path / "extract.xlsx", base_tables())
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["contacts"]
    at = _columns(sheet)
    for i in range(10):
        sheet[f"{at['contact_id']}{i + 4}"] = f"C{i + 10}"
        sheet[f"{at['person_id']}{i + 4}"] = "P2"
        sheet[f"{at['opted_out']}{i + 4}"] = "#REF!" if i % 2 else "#N/A"
    sheet[f"{at['email']}{5}"] = "#DIV/0!"
    workbook.save(path)
    with pytest.raises(IngestRefused, match=(
            rf"^extract.xlsx\[contacts\]: 11 cells of a column the ingest reads hold an Excel error "
            rf"\(#N/A, #DIV/0!, #REF!\) instead of a value, the first at {at['opted_out']}4, "
            rf"{at['email']}5, {at['opted_out']}5: correct them and load again$")):
        run_ingest(engine, settings, str(path), as_of=as_of)


def _patched(path, part: str, old: bytes, new: bytes) -> None:
    """The workbook at `path` with `old` replaced by `new` in one of its parts, as Excel would write it."""
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    assert old in parts[part]
    parts[part] = parts[part].replace(old, new)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, content in parts.items():
            book.writestr(name, content)


@pytest.mark.parametrize("error", ["#N/A", "#GETTING_DATA", "#SPILL!"])
def test_a_formula_whose_last_result_is_an_error_refuses(engine, settings, as_of, tmp_path, error):
    """A formula cell keeps the error it last calculated (`=VLOOKUP(...)` giving #N/A): written by
    xlsxwriter with that cached result. #GETTING_DATA (a cube formula still fetching) and #SPILL!
    (a dynamic array blocked) are patched into the sheet's XML, as no writer here writes them."""
    path = tmp_path / "extract.xlsx"
    workbook = xlsxwriter.Workbook(path)
    tables = base_tables()
    for name in ("people", "requests", "contacts"):
        sheet = workbook.add_worksheet(name)
        columns = list(tables[name][0])
        sheet.write_row(0, 0, columns)
        for r, record in enumerate(tables[name], start=1):
            sheet.write_row(r, 0, [record[c] for c in columns])
    workbook.get_worksheet_by_name("contacts").write_formula("F3", "=VLOOKUP(B3,Sheet9!A:B,2,FALSE)", None, "#N/A")
    workbook.close()
    if error != "#N/A":
        _patched(path, "xl/worksheets/sheet3.xml", b"<v>#N/A</v>", f"<v>{error}</v>".encode())
    assert b't="e"' in zipfile.ZipFile(path).read("xl/worksheets/sheet3.xml")
    # The reader cannot open a workbook holding #GETTING_DATA or #SPILL! at all, wherever they are.
    read = " of a column the ingest reads" if error == "#N/A" else ""
    with pytest.raises(IngestRefused) as refused:
        run_ingest(engine, settings, str(path), as_of=as_of)
    assert str(refused.value) == (f"extract.xlsx[contacts]: 1 cell{read} holds an Excel error ({error}) instead of "
                                  "a value, at F3: correct it and load again")


def test_an_error_in_a_header_cell_refuses_rather_than_drop_the_column(engine, settings, as_of, tmp_path):
    """`opted_out` headed by an error cell would be a contacts sheet with no opted_out column."""
    path = write_xlsx(tmp_path / "extract.xlsx", base_tables())
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["contacts"]
    ref = f"{_columns(sheet)['opted_out']}1"
    sheet[ref] = "#REF!"
    workbook.save(path)
    with pytest.raises(IngestRefused, match=rf"^extract.xlsx\[contacts\]: 1 cell .*, at {ref}: correct it"):
        run_ingest(engine, settings, str(path), as_of=as_of)


def test_error_cells_where_nothing_is_read_do_not_refuse(engine, settings, as_of, tmp_path):
    """A helper column of lookups and a sheet that is no table are not read: their errors cost nothing."""
    path = write_xlsx(tmp_path / "extract.xlsx", base_tables())
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["contacts"]
    helper = openpyxl.utils.get_column_letter(sheet.max_column + 1)
    sheet[f"{helper}1"] = "lookup"
    sheet[f"{helper}2"] = sheet[f"{helper}3"] = "#N/A"
    unheaded = openpyxl.utils.get_column_letter(sheet.max_column + 2)  # no heading, an empty column before it
    sheet[f"{unheaded}3"] = "#N/A"
    notes = workbook.create_sheet("notes")
    notes["A1"], notes["A2"] = "note", "#REF!"
    workbook.save(path)
    result = run_ingest(engine, settings, str(path), as_of=as_of)
    assert result.status == "loaded"
    contacts = read_snapshot(engine)["contacts"].sort("contact_id")
    assert contacts["opted_out"].to_list() == [False, True]


def test_a_newer_error_code_refuses_wherever_it_is(engine, settings, as_of, tmp_path):
    """The workbook reader cannot open a workbook holding #SPILL! at all, even in a sheet not read:
    the line names it rather than "cannot be read as a workbook"."""
    path = write_xlsx(tmp_path / "extract.xlsx", base_tables())
    workbook = openpyxl.load_workbook(path)
    notes = workbook.create_sheet("notes")
    notes["A1"], notes["B4"], notes["B5"] = "note", "#N/A", "#REF!"
    workbook.save(path)
    sheet = f"xl/worksheets/sheet{len(workbook.sheetnames)}.xml"
    _patched(path, sheet, b"<v>#REF!</v>", b"<v>#SPILL!</v>")
    with pytest.raises(IngestRefused) as refused:
        run_ingest(engine, settings, str(path), as_of=as_of)
    assert str(refused.value) == ("extract.xlsx[notes]: 1 cell holds an Excel error (#SPILL!) instead of a value, "
                                  "at B5: correct it and load again")


def test_the_cli_refuses_in_one_line_with_exit_3(db_url, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EHCP_DATABASE_URL", db_url)
    monkeypatch.delenv("EHCP_CONFIG", raising=False)
    path = write_xlsx(tmp_path / "extract.xlsx", base_tables())
    ref = _with_error(path, "contacts", "opted_out", 2, "#REF!")
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(["ingest", str(path), "--as-of", "2025-03-14"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("{")]
    assert done.value.code == 3, err
    assert lines == [f"ehcp-monitor: extract.xlsx[contacts]: 1 cell of a column the ingest reads holds an Excel "
                     f"error (#REF!) instead of a value, at {ref}: correct it and load again"]
    from ehcp_monitor.db.connect import make_engine

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            status, message = conn.execute(text("SELECT status, message FROM ingest_runs")).one()
    finally:
        engine.dispose()
    assert (status, message) == ("refused", lines[0].removeprefix("ehcp-monitor: "))


def test_the_scan_counts_each_cell_once_across_chunk_boundaries(tmp_path, monkeypatch):
    path = tmp_path / "big.xlsx"
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("contacts")
    sheet.append(["contact_id", "person_id", "opted_out"])
    for i in range(3000):
        sheet.append([f"C{i}", f"P{i}", "#REF!" if i % 7 == 0 else "0"])
    workbook.save(path)
    monkeypatch.setattr(xlsx_errors, "CHUNK", 997)
    monkeypatch.setattr(xlsx_errors, "OVERLAP", 256)
    (found,) = xlsx_errors.error_cells(path, ["contacts"]).values()
    assert list(found) == [("C", "#REF!")]
    (cells,) = found.values()
    assert cells.count == len(range(0, 3000, 7))
    assert cells.refs() == ["C2", "C9", "C16"]
    assert cells.codes == ["#REF!"]
