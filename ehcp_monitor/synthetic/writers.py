"""`write_extract`: canonical frames written as a council would send them (docs/input-formats.md).

Frames may be typed (canonical dtypes) or raw text (with bad rows); either way CSV, XLSX and
SEN2 carry exactly the text of each value, so deliberately unreadable values stay unreadable.
"""

from datetime import date
from pathlib import Path

import polars as pl
import xlsxwriter

from ehcp_monitor.domain.canonical import CANONICAL_TABLES, DATE, FLAG, TABLE_ORDER
from ehcp_monitor.errors import ConfigError

FORMATS = ("csv", "parquet", "xlsx", "sen2", "sen2-xml")
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header


def write_extract(frames: dict[str, pl.DataFrame], out_dir: Path, fmt: str, *,
                  as_of: date | None = None) -> list[Path]:
    """Write `frames` into `out_dir` in `fmt`; returns the files written.

    `as_of` dates a SEN2 export's (or XML return's) file names (default: the latest decision in the requests).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = [t for t in TABLE_ORDER if t in frames]
    if fmt == "csv":
        return [write_csv(as_text(frames[t]), out_dir / f"{t}.csv") for t in tables]
    if fmt == "parquet":
        paths = []
        for t in tables:
            path = out_dir / f"{t}.parquet"
            typed_where_possible(t, frames[t]).write_parquet(path)
            paths.append(path)
        return paths
    if fmt == "xlsx":
        return [write_xlsx({t: frames[t] for t in tables}, out_dir / "extract.xlsx")]
    if fmt == "sen2":
        from ehcp_monitor.synthetic.sen2 import write_sen2

        return write_sen2(frames, out_dir, as_of)
    if fmt == "sen2-xml":
        from ehcp_monitor.synthetic.sen2_xml import write_sen2_xml

        return write_sen2_xml(frames, out_dir, as_of)
    raise ConfigError(f"unknown extract format {fmt!r}: use one of {', '.join(FORMATS)}")


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as extract text: dates ISO, flags 0/1."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Date:
            col = col.dt.strftime("%Y-%m-%d")
        elif dtype == pl.Boolean:
            col = col.cast(pl.Int8).cast(pl.Utf8)
        exprs.append(col.cast(pl.Utf8))
    return frame.select(exprs)


def write_csv(text: pl.DataFrame, path: Path, line_terminator: str = "\n") -> Path:
    text.write_csv(path, null_value="", line_terminator=line_terminator)
    return path


def typed_where_possible(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Canonical dtypes for every column whose text all converts; the rest stay text (bad rows)."""
    spec = CANONICAL_TABLES[table]
    exprs = []
    for column in spec.columns:
        series = frame[column.name]
        if series.dtype == pl.Utf8 and column.kind in (DATE, FLAG):
            converted = _convert(series, column.kind)
            if converted.null_count() == series.null_count():
                series = converted
        exprs.append(series)
    return pl.DataFrame(exprs)


def _convert(text: pl.Series, kind: str) -> pl.Series:
    if kind == DATE:
        return text.str.to_date("%Y-%m-%d", strict=False)
    return text.replace_strict({"1": True, "0": False}, default=None, return_dtype=pl.Boolean)


def write_xlsx(frames: dict[str, pl.DataFrame], path: Path) -> Path:
    """One sheet per table; dates as real Excel dates, flags as 1/0, text always as text cells.

    A value that does not read as its kind (a bad row's date) is written as the text it is.
    """
    too_big = [t for t, df in frames.items() if df.height > XLSX_MAX_ROWS]
    if too_big:
        raise ConfigError(f"table {too_big[0]} has more rows than an Excel sheet holds: use csv or parquet")
    workbook = xlsxwriter.Workbook(path, {"strings_to_formulas": False, "strings_to_numbers": False})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    try:
        for table, frame in frames.items():
            sheet = workbook.add_worksheet(table)
            for col, column in enumerate(CANONICAL_TABLES[table].columns):
                sheet.write_string(0, col, column.name)
                _write_column(sheet, col, column.kind, frame[column.name], date_format)
    finally:
        workbook.close()
    return path


def _write_column(sheet, col: int, kind: str, values: pl.Series, date_format) -> None:
    text = as_text(values.to_frame()).to_series().to_list()
    typed = values
    if kind in (DATE, FLAG) and values.dtype == pl.Utf8:
        typed = _convert(values, kind)
    typed = typed.to_list() if kind in (DATE, FLAG) else [None] * len(text)
    for row, (value, raw) in enumerate(zip(typed, text, strict=False), start=1):
        if value is not None and kind == DATE:
            sheet.write_datetime(row, col, value, date_format)
        elif value is not None:
            sheet.write_number(row, col, int(value))
        elif raw is not None:
            sheet.write_string(row, col, raw)
