"""safe_cells: no text value can reach a CSV or XLSX cell as a formula."""

import csv
import io
from datetime import date

import openpyxl
import polars as pl
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
    write(sheet, safe_cells.formats_for(workbook))
    workbook.close()
    ws = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["t"]
    return [(c.coordinate, c.value, c.data_type, c.number_format, c.quotePrefix)
            for row in ws.iter_rows() for c in row if c.value is not None]


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(st.tuples(st.none() | text, st.none() | st.integers(-10**6, 10**6),
                               st.none() | st.floats(-1e6, 1e6, allow_nan=False), st.none() | st.booleans(),
                               st.none() | st.dates(date(1990, 1, 1), date(2040, 12, 31)),
                               st.none() | st.dates(date(1899, 12, 31), date(1900, 3, 3))),
                     min_size=1, max_size=6))
def test_writing_a_frame_by_column_writes_what_each_cell_would(rows):
    """write_rows (the fast path for whole tables) leaves exactly the cells write_cell writes one by one:
    the same values, types, date and decimal formats and quote prefixes; dates around Excel's
    29 February 1900 (which never was) included."""
    df = pl.DataFrame(rows, schema={"s": pl.Utf8, "i": pl.Int64, "f": pl.Float64, "b": pl.Boolean, "d": pl.Date,
                                    "early": pl.Date}, orient="row")

    def by_cell(sheet, formats):
        for r, values in enumerate(df.iter_rows(), start=1):
            for c, value in enumerate(values):
                safe_cells.write_cell(sheet, r, c, value, formats)

    assert _cells_back(lambda sheet, formats: safe_cells.write_rows(sheet, df, formats)) == _cells_back(by_cell)


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
