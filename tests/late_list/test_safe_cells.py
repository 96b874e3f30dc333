"""safe_cells: no text value can reach a CSV or XLSX cell as a formula."""

import csv
import io
import zipfile
from datetime import date, datetime
from xml.etree import ElementTree

import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ehcp_monitor import exports as safe_cells

RISKY = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0"]
SAFE = ["Amy", "", "1-2", "a=b", " =x", "'=x"]
text = st.text(alphabet=st.sampled_from(list("=+-@\t\r\n'\",;aZ1 ")), max_size=8)


def test_triggers():
    assert all(safe_cells.is_formula_like(v) for v in RISKY)
    assert not any(safe_cells.is_formula_like(v) for v in SAFE)
    assert not safe_cells.is_formula_like(None) and not safe_cells.is_formula_like(-1)
    assert safe_cells.csv_text("=1+1") == "'=1+1" and safe_cells.csv_text("Amy") == "Amy"
    assert safe_cells.csv_text(None) is None


def test_csv_frame_marks_only_risky_text_and_keeps_numbers():
    df = pl.DataFrame({"s": RISKY + SAFE, "n": list(range(-len(RISKY), len(SAFE)))})
    out = safe_cells.csv_safe_frame(df)
    assert out["s"].to_list() == ["'" + v for v in RISKY] + SAFE
    assert out["n"].to_list() == df["n"].to_list()


def test_header_labels_are_made_safe_too():
    raw = safe_cells.csv_bytes(pl.DataFrame({"a": ["x"]}), {"a": "=bad"}).decode()
    assert raw.splitlines()[0] == "'=bad"


@settings(max_examples=150, deadline=None)
@given(values=st.lists(text, min_size=1, max_size=5))
def test_any_text_round_trips_through_csv_without_starting_a_formula(values):
    raw = safe_cells.csv_bytes(pl.DataFrame({"v": values})).decode("utf-8")
    cells = [row[0] for row in csv.reader(io.StringIO(raw, newline=""))][1:]
    assert cells == [("'" + v) if safe_cells.is_formula_like(v) else v for v in values]


@settings(max_examples=60, deadline=None)
@given(values=st.lists(text.filter(lambda v: "\r" not in v), min_size=1, max_size=5))
def test_any_text_is_a_string_cell_in_xlsx(values):
    buffer = io.BytesIO()
    workbook = safe_cells.new_workbook(buffer)
    safe_cells.write_sheet(workbook, "S", pl.DataFrame({"v": values, "d": [date(2025, 1, 2)] * len(values)}))
    workbook.close()
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["S"]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value if c.value is not None else "" for c in cells] == values
    assert all(c.data_type == "s" for c in cells if c.value is not None)
    assert all(row[1].is_date for row in sheet.iter_rows(min_row=2))


def _cells_back(write) -> list[tuple]:
    buffer = io.BytesIO()
    workbook = safe_cells.new_workbook(buffer)
    sheet = workbook.add_worksheet("t")
    write(workbook, sheet)
    workbook.close()
    ws = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["t"]
    texts = _stored_texts(buffer.getvalue())
    return [(c.coordinate, texts.get(c.coordinate, c.value), c.data_type, c.number_format, c.quotePrefix)
            for row in ws.iter_rows() for c in row if c.value is not None]


def _stored_texts(xlsx: bytes) -> dict[str, str]:
    """Each text cell of the first sheet as the file stores it (shared or inline), Excel's
    `_xHHHH_` escapes left as they are: openpyxl undoes some of them for shared strings only."""
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        names = archive.namelist()
        shared = []
        if "xl/sharedStrings.xml" in names:
            table = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{main}t")) for si in table.iter(f"{main}si")]
        sheet = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    texts = {}
    for cell in sheet.iter(f"{main}c"):
        if cell.get("t") == "s":
            texts[cell.get("r")] = shared[int(cell.find(f"{main}v").text)]
        elif cell.get("t") == "inlineStr":
            texts[cell.get("r")] = "".join(t.text or "" for t in cell.iter(f"{main}t"))
    return texts


# Text as odd as a case record can hold: XML's own characters, control characters (Excel's
# `_xHHHH_` escapes, and literal text that looks like one), whitespace at either end, characters
# XML cannot carry, and characters outside the Basic Multilingual Plane.
ODD_CHARACTERS = list("=+-@\t\r\n'\",;aZ1 &<>_x0F\x00\x01\x1f\x0b\xa0\u2028\ufffe\uffff😀é")
odd_text = st.text(alphabet=st.sampled_from(ODD_CHARACTERS), max_size=10) | st.sampled_from(
    ["_x0041_", "a_x00e9_b", "_X0041_", "  ", "&amp;", "<t>", ""])


@settings(max_examples=120, deadline=None)
@given(rows=st.lists(st.tuples(st.none() | odd_text, st.none() | st.integers(-10**17, 10**17),
                               st.none() | st.floats(-1e20, 1e20, allow_nan=False, allow_infinity=False),
                               st.none() | st.booleans(),
                               st.none() | st.dates(date(1990, 1, 1), date(2040, 12, 31)),
                               st.none() | st.dates(date(1899, 12, 29), date(1900, 3, 3)),
                               st.none() | st.datetimes(datetime(1899, 12, 30), datetime(2040, 1, 1))),
                     min_size=1, max_size=6))
def test_writing_a_frame_by_column_writes_what_each_cell_would(rows):
    """write_rows (the frames put in as XML when the workbook closes) leaves exactly the cells
    write_cell writes one by one through xlsxwriter: the same values, types, date and decimal
    formats and quote prefixes; dates around Excel's 29 February 1900 (which never was), odd text
    and numbers beyond what polars and xlsxwriter print alike included."""
    df = pl.DataFrame(rows, schema={"s": pl.Utf8, "i": pl.Int64, "f": pl.Float64, "b": pl.Boolean, "d": pl.Date,
                                    "early": pl.Date, "dt": pl.Datetime("us")}, orient="row")
    # Every integer width polars gives (a count is UInt32, a literal Int32).
    df = df.with_columns(none=pl.lit(None), narrow=pl.col("i").clip(-100, 100).cast(pl.Int8),
                         count=pl.col("i").abs().clip(0, 4_000_000_000).cast(pl.UInt32))

    def by_cell(workbook, sheet):
        formats = safe_cells.formats_for(workbook)
        for r, values in enumerate(df.iter_rows(), start=1):
            for c, value in enumerate(values):
                safe_cells.write_cell(sheet, r, c, value, formats)

    assert _cells_back(lambda workbook, sheet: safe_cells.write_rows(workbook, sheet, df)) == _cells_back(by_cell)


def test_frame_rows_sit_beside_the_cells_written_one_by_one():
    """A sheet's header and notes (written cell by cell) and its frame rows end up in row order,
    in one sheet part whose dimension covers them all; a column's own format reaches the frame's
    cells that have none; two rows written both ways are refused, not silently doubled."""
    buffer = io.BytesIO()
    workbook = safe_cells.new_workbook(buffer)
    formats = safe_cells.formats_for(workbook)
    other = workbook.add_worksheet("first")
    other.write_string(0, 0, "untouched")
    sheet = safe_cells.write_sheet(workbook, "S", pl.DataFrame({"a": ["x", "=y"], "b": [1, None]}), {"a": "A"})
    sheet.set_column(1, 1, 12, workbook.add_format({"text_wrap": True}))
    safe_cells.write_cell(sheet, 5, 0, "note below", formats)
    safe_cells.write_rows(workbook, sheet, pl.DataFrame({"c": ["far"]}), first_row=9)
    workbook.close()
    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    ws = book["S"]
    assert [(c.coordinate, c.value) for row in ws.iter_rows() for c in row if c.value is not None] == [
        ("A1", "A"), ("B1", "b"), ("A2", "x"), ("B2", 1), ("A3", "=y"), ("A6", "note below"), ("A10", "far")]
    assert ws["A3"].quotePrefix and ws["A3"].data_type == "s"
    assert ws["B2"].alignment.wrap_text and not ws["A2"].alignment.wrap_text
    assert ws.calculate_dimension() == "A1:B10"
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        assert '<dimension ref="A1:B10"/>' in archive.read("xl/worksheets/sheet2.xml").decode()
    assert book["first"]["A1"].value == "untouched"

    past = io.BytesIO()
    book = safe_cells.new_workbook(past)
    safe_cells.write_rows(book, book.add_worksheet("S"), pl.DataFrame({"n": [1, 2, 3]}), first_row=1_048_574)
    book.close()
    with zipfile.ZipFile(past) as archive:  # as xlsxwriter did: rows past Excel's last are left out
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert 'r="1048576"' in sheet and 'r="1048577"' not in sheet and '<dimension ref="A1:A1048576"/>' in sheet

    clash = safe_cells.new_workbook(io.BytesIO())
    sheet = safe_cells.write_sheet(clash, "S", pl.DataFrame({"a": ["x"]}))
    safe_cells.write_cell(sheet, 1, 3, "same row", safe_cells.formats_for(clash))
    with pytest.raises(ValueError, match="row 2 written both"):
        clash.close()


def test_a_tables_headers_are_unique_ignoring_case_and_never_a_formula():
    """The weekly list's trend sheet heads a column per team: two teams "North Team" and "NORTH TEAM"
    or one called "=Plan Team" must leave the sheet's header row whole and inert."""
    from ehcp_monitor.late_list.workbook import _table_sheet

    buffer = io.BytesIO()
    book = safe_cells.new_workbook(buffer)
    frame = pl.DataFrame({"week": ["w1"], "a": [1], "b": [2], "c": [3], "d": [4]})
    _table_sheet(book, "Trend", "Trend", frame, [("week", "Week ending"), ("a", "North Team"), ("b", "NORTH TEAM"),
                                                 ("c", "=Plan Team"), ("d", "North Team (2)")])
    book.close()
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["Trend"]
    headers = [cell.value for cell in sheet[1]]
    assert headers == ["Week ending", "North Team", "NORTH TEAM (2)", "=Plan Team", "North Team (2) (2)"]
    assert sheet["D1"].data_type == "s" and sheet["D1"].quotePrefix
    assert [cell.value for cell in sheet[2]] == ["w1", 1, 2, 3, 4]
    assert [c.name for c in sheet.tables["Trend"].tableColumns] == headers



def _package(sheets: list[tuple[int, dict]], add) -> dict[str, bytes]:
    """Every part of a workbook with one table a sheet, each over `last_row` rows, added by `add`."""
    buffer = io.BytesIO()
    workbook = safe_cells.new_workbook(buffer)
    workbook.set_properties({"created": datetime(2025, 7, 10)})  # else the parts differ by the clock
    for number, (last_row, options) in enumerate(sheets):
        sheet = workbook.add_worksheet(f"S{number}")
        if not any(c.get("formula") for c in options.get("columns", [])):  # its cells are the formula's
            safe_cells.write_rows(workbook, sheet, pl.DataFrame({"a": [f"r{n}" for n in range(last_row)],
                                                                 "b": list(range(last_row))}))
        total = 1 if options.get("total_row") else 0  # a total row goes below the data
        add(sheet, last_row + total, 1, {**options, "name": f"Table_{number}"})
    workbook.close()
    package = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    return {info.filename: package.read(info) for info in package.infolist()}


def test_a_sheets_only_table_is_the_table_xlsxwriter_adds_over_the_whole_range():
    sheets = [(1, {}), (2, {}), (5, {"autofilter": False}), (5000, {"style": "Table Style Light 9"}),
              (3, {"columns": [{"header": "A"}, {"header": "B"}]}),
              # What the quick way cannot do goes the whole way: a total row, a formula.
              (3, {"total_row": True}),
              (4, {"total_row": True, "columns": [{"header": "A", "total_string": "Total"},
                                                  {"header": "B", "total_function": "sum"}]}),
              (4, {"columns": [{"header": "A"}, {"header": "B", "formula": "=[@A]"}]})]

    def whole(sheet, last_row, last_col, options):
        return sheet.add_table(0, 0, last_row, last_col, options)

    quick = _package(sheets, safe_cells.add_table)
    assert quick == _package(sheets, whole)
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    tables = [ElementTree.fromstring(data) for name, data in quick.items() if name.startswith("xl/tables/")]
    assert len(tables) == len(sheets)
    by_name = {t.get("name"): (t.get("ref"), t.find(f"{main}autoFilter").get("ref")) for t in tables
               if t.find(f"{main}autoFilter") is not None}
    assert by_name["Table_3"] == ("A1:B5001", "A1:B5001") and "Table_2" not in by_name
    # The quick way: xlsxwriter was given the table's first two rows only, not its 10,002 cells.
    workbook = safe_cells.new_workbook(io.BytesIO())
    sheet = workbook.add_worksheet("S")
    assert safe_cells.add_table(sheet, 5000, 1, {"name": "Quick"}) == 0
    assert len(sheet.table_cells) == 4 and sheet.tables[0]["range"] == "A1:B5001"


def test_a_table_still_may_not_overlap_a_merged_range_or_another_table():
    import xlsxwriter.exceptions

    workbook = safe_cells.new_workbook(io.BytesIO())
    merged = workbook.add_worksheet("Merged")
    merged.merge_range(40, 0, 40, 1, "merged")
    with pytest.raises(xlsxwriter.exceptions.OverlappingRange):
        safe_cells.add_table(merged, 50, 1, {"name": "T"})
    tabled = workbook.add_worksheet("Tabled")
    tabled.add_table(30, 0, 40, 1, {"name": "First"})
    with pytest.raises(xlsxwriter.exceptions.OverlappingRange):
        safe_cells.add_table(tabled, 50, 1, {"name": "Second"})
