"""A sheet's data rows as SpreadsheetML built column by column in polars, put into the workbook
after xlsxwriter has written it.

xlsxwriter spends microseconds on every cell, once to store it and again to write it: at national
scale the weekly list's workbook was its slowest step, several times what the same cells cost
here (bench/README.md, thirteenth session). The cells are the ones exports.write_cell writes one by one: text as an
inline string with xlsxwriter's own escapes (a control character as `_xHHHH_`, a literal
`_xHHHH_` kept literal, `&`, `<`, `>`), cut at Excel's 32,767 characters; numbers; dates as Excel
serials; each with its style (`s`), and a column's own format on a cell that has none, as
xlsxwriter does. The rows are merged by row number with the rows xlsxwriter wrote in the same
sheet (headers, notes), which must not be the same rows.
"""

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from xml.etree import ElementTree

import polars as pl
from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name, xl_rowcol_to_cell

# Excel's serial day numbers: 1970-01-01 is day 25569, counting from 1900-03-01 on. Before that
# Excel counts a 29 February 1900 that never was: earlier dates are converted one by one.
EXCEL_SERIAL_OF_1970 = 25569
FIRST_SERIAL_DATE = date(1900, 3, 1)
EXCEL_EPOCH = datetime(1899, 12, 31)
EXCEL_MAX_CHARS = 32_767  # UTF-16 code units in a cell
EXCEL_MAX_ROWS = 1_048_576
_CONTROL = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20))]
_CONTROL_CLASS = r"[\x00-\x08\x0B-\x1F\x{FFFE}\x{FFFF}]"
_SPREADSHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_ROW = re.compile(r'<row r="(\d+)"[^>]*?(?:/>|>.*?</row>)', re.S)
_SHEET_DATA = re.compile(r"<sheetData/>|<sheetData>.*?</sheetData>", re.S)
_DIMENSION = re.compile(r'<dimension ref="([A-Z]+\d+)(?::([A-Z]+\d+))?"/>')


@dataclass(frozen=True)
class Styles:
    """The style (xf) numbers the cells use; `columns` holds a column's own format, if it has one."""

    risky: str
    quoted: int
    date: int
    decimal: int
    columns: dict[int, int]


@dataclass(frozen=True)
class SheetRows:
    """A frame's cells as XML, one row per frame row (`row`: 1-based, as Excel numbers them)."""

    rows: pl.DataFrame  # row: Int64, xml: Utf8
    first: tuple[int, int]  # (row, col), 0-based: the frame's top-left cell
    last: tuple[int, int]


def rows_xml(df: pl.DataFrame, first_row: int, styles: Styles) -> SheetRows:
    """Every row of `df` from the 0-based `first_row` down, as `<row>` elements; text matching
    `styles.risky` (a regular expression) gets the quote prefix's style. Rows past Excel's last
    are left out, as xlsxwriter leaves them out (the CSV beside a workbook has every row)."""
    df = df.head(max(0, EXCEL_MAX_ROWS - first_row))
    numbers = pl.int_range(first_row + 1, first_row + 1 + df.height, dtype=pl.Int64, eager=True)
    refs = numbers.cast(pl.Utf8)
    cells = [_column_cells(df.get_column(name), xl_col_to_name(col), refs, styles, col)
             for col, name in enumerate(df.columns)]
    xml = pl.concat_str(
        [pl.lit('<row r="'), pl.lit(refs), pl.lit('">'), *[pl.lit(c) for c in cells], pl.lit("</row>")],
        ignore_nulls=True,
    ) if cells else pl.lit(None, pl.Utf8)
    rows = pl.DataFrame({"row": numbers}).with_columns(xml=xml)
    return SheetRows(rows=rows, first=(first_row, 0), last=(first_row + df.height - 1, max(df.width, 1) - 1))


def _style(index: int | None) -> str:
    return f' s="{index}"' if index else ""


def _column_cells(values: pl.Series, letter: str, refs: pl.Series, styles: Styles, col: int) -> pl.Series:
    """One column's cells (null where write_cell writes none)."""
    own = styles.columns.get(col)
    dtype = values.dtype
    if dtype == pl.Boolean:
        values, dtype = values.replace_strict({True: "yes", False: "no"}, return_dtype=pl.Utf8), pl.Utf8
    if dtype == pl.Null:
        return pl.Series(values.name, [None] * len(values), dtype=pl.Utf8)
    start = pl.lit(f'<c r="{letter}') + pl.lit(refs)
    if dtype == pl.Utf8:
        return _text_cells(values, start, styles, own)
    if dtype.is_integer() or dtype.is_float():
        if dtype.is_float() and (values.is_nan() | values.is_infinite()).any():
            raise ValueError(f"column {values.name!r}: NaN or infinity cannot be written to a cell")
        style = _style(styles.decimal if dtype.is_float() else own)
        number = _number_text(values)
        return pl.select(start + pl.lit(f'"{style}><v>') + pl.lit(number) + pl.lit("</v></c>")).to_series()
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        # As xlsxwriter refuses one: Excel has no time zones, and a local time would be a guess.
        raise TypeError(f"column {values.name!r}: a datetime with a time zone cannot be written to a cell")
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        style = _style(styles.date)
        return pl.select(start + pl.lit(f'"{style}><v>') + pl.lit(_serials(values)) + pl.lit("</v></c>")).to_series()
    # Any other type is written as its text, as write_cell does.
    text = pl.Series(values.name, [None if v is None else str(v) for v in values.to_list()], dtype=pl.Utf8)
    return _text_cells(text, start, styles, own)


def _number_text(values: pl.Series) -> pl.Series:
    """As xlsxwriter writes a number (`%.16G`): integers below 10**15 are their digits; any other
    number is formatted one by one."""
    if values.dtype.is_integer() and not (values.cast(pl.Float64).abs() >= 1e15).any():
        return values.cast(pl.Utf8)
    return pl.Series(values.name, [None if v is None else _number(v) for v in values.to_list()], dtype=pl.Utf8)


def _number(value: float) -> str:
    return "%.16G" % value


def _serials(values: pl.Series) -> pl.Series:
    """Excel serials as text. Excel counts a 29 February 1900 that never was, so a date before
    1900-03-01 is one day less than the count from 1970 gives."""
    if values.dtype == pl.Date:
        early = (values < FIRST_SERIAL_DATE).cast(pl.Int32)
        return (values.cast(pl.Int32) + EXCEL_SERIAL_OF_1970 - early).cast(pl.Utf8)
    return pl.Series(values.name, [None if v is None else _number(_datetime_serial(v)) for v in values.to_list()],
                     dtype=pl.Utf8)


def _datetime_serial(value: datetime) -> float:
    """As xlsxwriter converts a datetime without a time zone."""
    delta = value - EXCEL_EPOCH
    serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86_400
    return serial + 1 if serial > 59 else serial


def _text_cells(text: pl.Series, start: pl.Expr, styles: Styles, own: int | None) -> pl.Series:
    risky = text.str.contains(styles.risky).fill_null(False)  # on the value as given, as write_cell checks
    capped = _capped(text)
    escaped = capped.str.replace_all(r"_x[0-9a-fA-F]{4}_", "_x005F$0")
    if escaped.str.contains(_CONTROL_CLASS).any():
        for char in (*_CONTROL, "\ufffe", "\uffff"):
            escaped = escaped.str.replace_all(char, f"_x{ord(char):04X}_", literal=True)
    preserve = escaped.str.contains(r"^\s|\s$").fill_null(False)
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        escaped = escaped.str.replace_all(char, entity, literal=True)
    quoted, plain = _style(styles.quoted), _style(own)
    frame = pl.DataFrame({"risky": risky, "preserve": preserve, "text": escaped, "given": text})
    return frame.select(
        pl.when(pl.col("given").is_null())
        .then(pl.lit(None, pl.Utf8))
        .otherwise(
            start
            + pl.when(pl.col("risky")).then(pl.lit(f'"{quoted}')).otherwise(pl.lit(f'"{plain}'))
            + pl.lit(' t="inlineStr"><is><t')
            + pl.when(pl.col("preserve")).then(pl.lit(' xml:space="preserve">')).otherwise(pl.lit(">"))
            + pl.col("text")
            + pl.lit("</t></is></c>")
        )
    ).to_series()


def _capped(text: pl.Series) -> pl.Series:
    """Text cut to Excel's cell limit (counted in UTF-16 code units, as xlsxwriter does)."""
    long = (text.str.len_chars() > EXCEL_MAX_CHARS // 2).fill_null(False)
    if not long.any():
        return text
    positions = long.arg_true()
    cut = [v.encode("utf-16-le")[: 2 * EXCEL_MAX_CHARS].decode("utf-16-le", errors="ignore")
           for v in text.gather(positions).to_list()]
    return text.scatter(positions, pl.Series(cut, dtype=pl.Utf8))


# --- into the workbook ----------------------------------------------------------------------------


def put_rows(xlsx: bytes, sheets: dict[str, list[SheetRows]]) -> bytes:
    """The workbook `xlsx` with each named sheet's rows added to the rows it already has."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    parts = _sheet_parts(source)
    changed = {parts[name]: (name, rows) for name, rows in sheets.items() if rows}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename in changed:
                name, rows = changed[info.filename]
                data = _merged(data.decode("utf-8"), name, rows).encode("utf-8")
            target.writestr(info, data)
    return out.getvalue()


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part in the package, from the workbook and its relationships."""
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target") for rel in rels.iter(f"{{{_RELS_NS}}}Relationship")}
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    parts = {}
    for sheet in book.iter(f"{{{_SPREADSHEET_NS}}}sheet"):
        target = targets[sheet.get(f"{{{_DOC_RELS_NS}}}id")]
        parts[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return parts


def _merged(xml: str, name: str, added: list[SheetRows]) -> str:
    data = _SHEET_DATA.search(xml)
    existing = pl.DataFrame([(int(m.group(1)), m.group(0)) for m in _ROW.finditer(data.group(0))],
                            schema={"row": pl.Int64, "xml": pl.Utf8}, orient="row")
    rows = pl.concat([existing, *[a.rows for a in added]])
    clash = rows.filter(pl.col("row").is_duplicated())
    if clash.height:
        raise ValueError(f"sheet {name!r}: row {clash['row'][0]} written both cell by cell and as a frame")
    body = rows.sort("row", maintain_order=True).get_column("xml").drop_nulls().str.join("").item()
    merged = xml[: data.start()] + f"<sheetData>{body}</sheetData>" + xml[data.end():]
    return _DIMENSION.sub(lambda m: _dimension(m, added), merged, count=1)


def _dimension(match: re.Match, added: list[SheetRows]) -> str:
    corners = [xl_cell_to_rowcol(match.group(1)), xl_cell_to_rowcol(match.group(2) or match.group(1))]
    for rows in added:
        if rows.rows.height:
            corners += [rows.first, rows.last]
    top, left = min(r for r, _ in corners), min(c for _, c in corners)
    bottom, right = max(r for r, _ in corners), max(c for _, c in corners)
    first, last = xl_rowcol_to_cell(top, left), xl_rowcol_to_cell(bottom, right)
    return f'<dimension ref="{first}"/>' if first == last else f'<dimension ref="{first}:{last}"/>'
