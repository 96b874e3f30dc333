"""The one place that writes CSV and XLSX cells, so no cell can ever run as a formula.

A text value starting with = + - @ tab or CR is what spreadsheet programs treat as a formula
(OWASP "CSV injection"). In CSV such a value gets a leading apostrophe, which Excel and
LibreOffice show as text. In XLSX every text value is written as a string cell (never through
xlsxwriter's guessing `write()`), and risky ones also carry Excel's quote prefix, so even
re-entering the cell in Excel keeps it text. Numbers and dates keep their real types.
"""

import io
from datetime import date, datetime
from pathlib import Path

import polars as pl
import xlsxwriter
from xlsxwriter.utility import xl_range

from ehcp_monitor import xlsx_rows
from ehcp_monitor.domain.findings import CONTROL_CHARS

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_PATTERN = r"^[=+\-@\t\r]"
CSV_TEXT_MARK = "'"

DATE_FORMAT = "dd/mm/yyyy"
MIN_WIDTH, MAX_WIDTH = 8, 60


def is_formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def csv_text(value: str | None) -> str | None:
    """One CSV text value made safe: risky values get the apostrophe that marks text."""
    return CSV_TEXT_MARK + value if is_formula_like(value) else value


def csv_safe_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Every text column of `df` made safe for CSV (vectorised)."""
    text_columns = [name for name, dtype in df.schema.items() if dtype == pl.Utf8]
    return df.with_columns(
        pl.when(pl.col(c).str.contains(_TRIGGER_PATTERN))
        .then(pl.lit(CSV_TEXT_MARK) + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text_columns
    )


def csv_bytes(df: pl.DataFrame, labels: dict[str, str] | None = None) -> bytes:
    """`df` as UTF-8 CSV with a header row (renamed by `labels`); dates ISO, booleans true/false."""
    safe = csv_safe_frame(df)
    if labels:
        safe = safe.rename({c: labels[c] for c in safe.columns if c in labels})
    safe = safe.rename({c: csv_text(c) for c in safe.columns})
    buffer = io.BytesIO()
    safe.write_csv(buffer, null_value="")
    return buffer.getvalue()


def write_results_csv(frame: pl.DataFrame, path: Path) -> int:
    """The check results as CSV (docs/rules.md, The results contract): no ID can start a formula."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes(frame))
    return frame.height


class SafeWorkbook(xlsxwriter.Workbook):
    """A workbook that never turns text into formulas, URLs or numbers by itself. The frames given
    to write_rows are written when it closes, as XML built column by column (xlsx_rows)."""

    def __init__(self, buffer: io.BytesIO):
        super().__init__(buffer, {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        })
        self.buffer = buffer
        self.frames: list[tuple[object, int, pl.DataFrame]] = []  # (sheet, first row, frame)

    def close(self) -> None:
        frames, self.frames = self.frames, []
        if not frames:
            return super().close()
        formats = formats_for(self)
        # xlsxwriter numbers a format only once a cell of its own uses it: these cells are not its own.
        quoted, date_style, decimal = (f._get_xf_index() for f in (formats.quoted, formats.date, formats.decimal))
        super().close()
        by_sheet: dict[str, list[xlsx_rows.SheetRows]] = {}
        for sheet, first_row, df in frames:
            # A column's own format (set_column) is on any of its cells that has none, as xlsxwriter does.
            columns = {col: info.column_format._get_xf_index() for col, info in sheet.col_info.items()
                       if info.column_format is not None}
            styles = xlsx_rows.Styles(risky=_TRIGGER_PATTERN, quoted=quoted, date=date_style, decimal=decimal,
                                      columns=columns)
            by_sheet.setdefault(sheet.name, []).append(xlsx_rows.rows_xml(df, first_row, styles))
        written = xlsx_rows.put_rows(self.buffer.getvalue(), by_sheet)
        self.buffer.seek(0)
        self.buffer.truncate()
        self.buffer.write(written)


def new_workbook(buffer: io.BytesIO) -> SafeWorkbook:
    return SafeWorkbook(buffer)


class SheetFormats:
    """Cell formats of one workbook (xlsxwriter formats belong to their workbook)."""

    def __init__(self, workbook: xlsxwriter.Workbook):
        self.header = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top", "bottom": 1})
        self.date = workbook.add_format({"num_format": DATE_FORMAT})
        self.decimal = workbook.add_format({"num_format": "0.0"})
        self.quoted = workbook.add_format({"quote_prefix": True})
        self.quoted_header = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top", "bottom": 1,
                                                  "quote_prefix": True})


def formats_for(workbook: xlsxwriter.Workbook) -> SheetFormats:
    cached = getattr(workbook, "_ehcp_safe_formats", None)
    if cached is None:
        cached = SheetFormats(workbook)
        workbook._ehcp_safe_formats = cached
    return cached


def write_cell(sheet, row: int, col: int, value, formats: SheetFormats) -> None:
    """Write one value with its real type; text is always a string cell."""
    if value is None:
        sheet.write_blank(row, col, None)
    elif isinstance(value, bool):
        sheet.write_string(row, col, "yes" if value else "no")
    elif isinstance(value, (datetime, date)):
        sheet.write_datetime(row, col, value, formats.date)
    elif isinstance(value, int):
        sheet.write_number(row, col, value)
    elif isinstance(value, float):
        sheet.write_number(row, col, value, formats.decimal)
    else:
        text = str(value)
        if is_formula_like(text):
            sheet.write_string(row, col, text, formats.quoted)
        else:
            sheet.write_string(row, col, text)


def table_columns(labels: list[str], formats: SheetFormats) -> list[dict]:
    """An Excel table's columns: headers made unique ignoring case, as Excel requires of a table
    (xlsxwriter drops the whole header row otherwise: two teams "North" and "NORTH"), the second
    "North (2)"; a header that looks like a formula keeps Excel's quote prefix like any cell."""
    used: set[str] = set()
    columns = []
    for label in labels:
        header, n = label, 2
        while header.casefold() in used:
            header, n = f"{label} ({n})", n + 1
        used.add(header.casefold())
        columns.append({"header": header,
                        "header_format": formats.quoted_header if is_formula_like(header) else formats.header})
    return columns


def write_rows(workbook: SafeWorkbook, sheet, df: pl.DataFrame, first_row: int = 1) -> None:
    """Every row of `df` from `first_row` down, as write_cell writes each value (no cell for a
    null), put in the sheet when the workbook closes: no other cell of the sheet may be in those
    rows. Column by column in polars (xlsx_rows): xlsxwriter's per-cell cost made a national
    list's workbook its slowest step."""
    workbook.frames.append((sheet, first_row, df))


def add_table(sheet, last_row: int, last_col: int, options: dict) -> int:
    """`sheet.add_table(0, 0, last_row, last_col, options)`: a table over the header and the rows
    below it, as the sheet's only table.

    xlsxwriter checks every cell of a new table's range against the sheet's other tables and
    merged ranges, in Python, and a national list's sheets have millions of cells (bench/README.md,
    fourteenth session). A sheet with no other table and no merged range has nothing to overlap,
    so the table is added over its first two rows and then given its whole range (two of
    xlsxwriter's internals, as in SafeWorkbook.close: `tables` and the table's ranges). Anything
    else (a second table, data, formulas, a total row, a range past Excel's last row) goes through
    add_table whole. xlsxwriter then knows only the first two rows as the table's: the sheet takes
    no merged range or other table after it (none of the project's does).
    """
    whole = (sheet.tables or sheet.merged_cells or last_row < 1 or last_row >= xlsx_rows.EXCEL_MAX_ROWS
             or "data" in options or options.get("total_row") or not options.get("header_row", True)
             or any(c.get("formula") or c.get("total_function") or c.get("total_string")
                    for c in options.get("columns", [])))
    if whole:
        return sheet.add_table(0, 0, last_row, last_col, options)
    outcome = sheet.add_table(0, 0, 1, last_col, options)
    if outcome == 0:
        table = sheet.tables[-1]
        table["range"] = table["a_range"] = xl_range(0, 0, last_row, last_col)
        if table.get("autofilter"):
            table["autofilter"] = table["a_range"]
    return outcome


def column_width(df: pl.DataFrame, column: str, label: str) -> int:
    dtype = df.schema[column]
    if dtype == pl.Date:
        longest = 10
    elif df.height == 0:
        longest = 0
    else:
        longest = df.select(pl.col(column).cast(pl.Utf8).str.len_chars().max()).item() or 0
    header = max(len(word) for word in label.split()) if label.strip() else 0
    return max(MIN_WIDTH, min(MAX_WIDTH, max(longest, header, len(label) // 2) + 2))


def write_sheet(
    workbook: xlsxwriter.Workbook, title: str, df: pl.DataFrame, labels: dict[str, str] | None = None
):
    """One sheet for a table: header row frozen, autofilter, widths fitted to the content."""
    formats = formats_for(workbook)
    sheet = workbook.add_worksheet(title[:31])
    labels = labels or {}
    for col, name in enumerate(df.columns):
        label = labels.get(name, name)
        sheet.write_string(0, col, label, formats.quoted if is_formula_like(label) else formats.header)
        sheet.set_column(col, col, column_width(df, name, label))
    write_rows(workbook, sheet, df)
    sheet.freeze_panes(1, 0)
    if df.width:
        sheet.autofilter(0, 0, max(df.height, 1), df.width - 1)
    return sheet


def shown(expr: pl.Expr, limit: int = 40) -> pl.Expr:
    """A raw value fit to quote in a message: control characters masked, long values cut."""
    text = expr.cast(pl.Utf8).str.replace_all(CONTROL_CHARS, "?")
    return pl.when(text.str.len_chars() > limit).then(text.str.slice(0, limit) + "…").otherwise(text)
