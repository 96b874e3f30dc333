"""Canonical extracts: a folder of `<table>.csv` or `<table>.parquet`, or one `.xlsx` workbook.

Parquet and XLSX keep their own types (a date cell is a date); CSV dates are read in
`settings.source.date_format` only. Sheets and files not named after a canonical table are
ignored with a warning.
"""

import hashlib
from pathlib import Path

import polars as pl

from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest.readers.text import read_text_csv
from ehcp_monitor.ingest.source import SourceData, make_raw_table
from ehcp_monitor.logs import get_logger
from ehcp_monitor.schema.canonical import CANONICAL_TABLES, TABLE_ORDER

log = get_logger(__name__)
# fastexcel renders a date cell read as text like this; text cells use the configured format.
XLSX_DATE_CELL = "%Y-%m-%d %H:%M:%S"
CANONICAL_TABLES_COLUMNS = {c for t in CANONICAL_TABLES.values() for c in t.column_names}


def canonical_files(folder: Path, suffix: str) -> dict[str, Path]:
    found = {p.stem.lower(): p for p in sorted(folder.iterdir()) if p.suffix.lower() == suffix}
    ignored = [n for n in found if n not in TABLE_ORDER]
    if ignored:
        log.warning("files not named after a canonical table ignored", files=len(ignored))
    return {n: found[n] for n in TABLE_ORDER if n in found}


def read_csv_tables(source: SourceData, folder: Path, settings, names=TABLE_ORDER) -> None:
    for name, path in canonical_files(folder, ".csv").items():
        if name in names:
            df = read_text_csv(path, name, source.checksums)
            source.tables[name] = make_raw_table(
                name, df, path.name, date_formats=(settings.source.date_format,)
            )


def read_csv_folder(folder: Path, settings) -> SourceData:
    source = SourceData("csv")
    read_csv_tables(source, folder, settings)
    return source


def read_parquet_folder(folder: Path, settings) -> SourceData:
    source = SourceData("parquet")
    for name, path in canonical_files(folder, ".parquet").items():
        data = path.read_bytes()
        source.checksums[path.name] = hashlib.sha256(data).hexdigest()
        try:
            df = pl.read_parquet(path)
        except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
            raise IngestRefused(f"{path.name}: cannot be read as Parquet ({type(exc).__name__})") from None
        source.tables[name] = make_raw_table(name, df, path.name, date_formats=("%Y-%m-%d",))
    return source


def _refuse_doubled_headers(df: pl.DataFrame, where: str) -> None:
    # fastexcel renames a second "person_id" header to "person_id_1".
    names = {c.strip().lower() for c in df.columns}
    for column in names:
        base, _, suffix = column.rpartition("_")
        if suffix.isdigit() and base in names and base in CANONICAL_TABLES_COLUMNS:
            raise IngestRefused(f"{where}: column {base} appears more than once")


def read_workbook(path: Path, settings) -> SourceData:
    source = SourceData("xlsx")
    source.checksums[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        # Every cell as text: IDs keep their form, date cells come as "YYYY-MM-DD 00:00:00".
        # Empty rows and columns are kept: lines must stay sheet rows, and an all-empty required
        # column is V001 on each row, not a missing column.
        sheets = pl.read_excel(path, sheet_id=0, infer_schema_length=0, raise_if_empty=False,
                               drop_empty_rows=False, drop_empty_cols=False)
    except Exception as exc:  # fastexcel raises its own exception types
        raise IngestRefused(f"{path.name}: cannot be read as a workbook ({type(exc).__name__})") from None
    by_name = {s.strip().lower(): s for s in sheets}
    ignored = [s for s in by_name if s not in TABLE_ORDER]
    if ignored:
        log.warning("sheets not named after a canonical table ignored", files=len(ignored))
    for name in TABLE_ORDER:
        if name in by_name:
            sheet = by_name[name]
            _refuse_doubled_headers(sheets[sheet], f"{path.name}[{sheet}]")
            source.tables[name] = make_raw_table(
                name, sheets[sheet], f"{path.name}[{sheet}]",
                date_formats=(XLSX_DATE_CELL, settings.source.date_format),
            )
    return source
