"""Canonical extracts: a folder of `<table>.csv` or `<table>.parquet`, or one `.xlsx` workbook.

Parquet and XLSX keep their own types (a date cell is a date); CSV dates are read in
`settings.source.date_format` only. File and sheet names are matched case-insensitively; two
files (or sheets) for one table, or a folder mixing CSV and Parquet tables, refuse the ingest.
Files and sheets not named after a canonical table are not read: the source lists them, each
with the canonical name it most resembles. A workbook with an Excel error cell (`#REF!`, `#N/A`)
where a value is read is refused: the workbook reader would hand it over as an empty cell.
"""

import hashlib
import zipfile
from collections.abc import Iterable
from pathlib import Path
from xml.etree import ElementTree

import polars as pl

from ehcp_monitor.domain.canonical import CANONICAL_TABLES, TABLE_ORDER
from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest.readers.text import read_text_csv
from ehcp_monitor.ingest.readers.xlsx_errors import (
    READER_CODES,
    ErrorCells,
    column_index,
    error_cells,
    merged,
    sheet_parts,
)
from ehcp_monitor.ingest.source import SourceData, Unrecognised, header_name, make_raw_table, nearest_name

HEADER_ROW = 1  # the sheet row of a table's column names: line 1, as a CSV header
# fastexcel renders a date cell read as text like this; text cells use the configured format.
XLSX_DATE_CELL = "%Y-%m-%d %H:%M:%S"
CANONICAL_TABLES_COLUMNS = {c for t in CANONICAL_TABLES.values() for c in t.column_names}
FOLDER_FORMATS = {".csv": "CSV", ".parquet": "Parquet"}
def folder_files(folder: Path) -> list[Path]:
    """The folder's entries in name order; hidden ones (`.DS_Store`) are not part of a source."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def canonical_files(folder: Path, suffix: str) -> dict[str, Path]:
    """The folder's `<table><suffix>` files by table, in table order, names matched ignoring case.

    Refuses two files for one table (`people.csv` and `People.csv`, or `people.csv` and
    `people.parquet`) and a folder whose tables mix CSV and Parquet: one stray file must never
    silently switch the format the folder is read in."""
    found: dict[str, list[Path]] = {}
    for path in folder_files(folder):
        if path.suffix.lower() in FOLDER_FORMATS and path.stem.lower() in TABLE_ORDER:
            found.setdefault(path.stem.lower(), []).append(path)
    for name in TABLE_ORDER:
        if len(found.get(name, ())) > 1:
            raise IngestRefused(f"{folder.name}: more than one file for table {name}: "
                                f"{_listed([p.name for p in found[name]])}; keep one")
    by_format: dict[str, list[str]] = {}
    for name in TABLE_ORDER:
        if name in found:
            by_format.setdefault(found[name][0].suffix.lower(), []).append(found[name][0].name)
    if len(by_format) > 1:
        mixed = " and ".join(f"{FOLDER_FORMATS[s]} ({', '.join(names)})" for s, names in sorted(by_format.items()))
        raise IngestRefused(f"{folder.name}: the folder mixes {mixed} tables; keep one format")
    return {n: found[n][0] for n in TABLE_ORDER if n in found and found[n][0].suffix.lower() == suffix}


def unrecognised_files(folder: Path, read: Iterable[str], suffix: str) -> list[Unrecognised]:
    """Every file of the folder not in `read`, with the canonical file it most resembles
    (`review.csv` and `reviews.txt` -> `reviews.csv`)."""
    taken = set(read)
    unrecognised = []
    for path in folder_files(folder):
        # A sub-folder is no table (one named like a table file is, and fails to open).
        if path.name not in taken and not path.is_dir():
            table = nearest_name(path.stem, TABLE_ORDER)
            unrecognised.append(Unrecognised(path.name, f"{table}{suffix}" if table else None))
    return unrecognised


def read_csv_tables(source: SourceData, folder: Path, settings, names=TABLE_ORDER) -> None:
    for name, path in canonical_files(folder, ".csv").items():
        if name in names:
            df = read_text_csv(path, name, source.checksums, with_lines=True)
            source.tables[name] = make_raw_table(
                name, df, path.name, date_formats=(settings.source.date_format,)
            )


def read_csv_folder(folder: Path, settings) -> SourceData:
    source = SourceData("csv")
    read_csv_tables(source, folder, settings)
    source.unrecognised = unrecognised_files(folder, (t.source_file for t in source.tables.values()), ".csv")
    return source


# Parquet types a canonical column cannot come as: no date, ID, code or name is one of these.
_UNREADABLE_TYPES = (pl.List, pl.Array, pl.Struct, pl.Time, pl.Duration, pl.Object)


def _parquet_as_read(df: pl.DataFrame, file_name: str, table: str) -> pl.DataFrame:
    """`df` with binary canonical columns read as UTF-8 text; a canonical column of a type that
    cannot hold a value (a list, a time of day, a duration...) refuses the file, naming it."""
    canonical = set(CANONICAL_TABLES[table].column_names)
    df = df.drop([c for c in df.columns if c.strip().startswith("__")])  # the reader's own (__line...)
    for column, dtype in df.schema.items():
        name = column.strip().lower()
        if name not in canonical:
            continue
        if isinstance(dtype, _UNREADABLE_TYPES):
            raise IngestRefused(f"{file_name}: column {name} is of type {dtype.base_type()!s}, which cannot "
                                "hold its values; write it as text (or a date)")
        if dtype == pl.Binary:
            try:
                df = df.with_columns(pl.col(column).cast(pl.Utf8))
            except pl.exceptions.PolarsError:
                raise IngestRefused(f"{file_name}: column {name} holds bytes that are not UTF-8 text") from None
    return df


def read_parquet_folder(folder: Path, settings) -> SourceData:
    source = SourceData("parquet")
    for name, path in canonical_files(folder, ".parquet").items():
        data = path.read_bytes()
        source.checksums[path.name] = hashlib.sha256(data).hexdigest()
        try:
            df = pl.read_parquet(path)
        except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as exc:
            raise IngestRefused(f"{path.name}: cannot be read as Parquet ({type(exc).__name__})") from None
        df = _parquet_as_read(df, path.name, name)
        source.tables[name] = make_raw_table(name, df, path.name, date_formats=("%Y-%m-%d",))
    source.unrecognised = unrecognised_files(folder, (t.source_file for t in source.tables.values()), ".parquet")
    return source


def _refuse_doubled_headers(df: pl.DataFrame, where: str) -> None:
    # fastexcel renames a second "person_id" header to "person_id_1".
    names = {c.strip().lower() for c in df.columns}
    for column in names:
        base, _, suffix = column.rpartition("_")
        if suffix.isdigit() and base in names and base in CANONICAL_TABLES_COLUMNS:
            raise IngestRefused(f"{where}: column {base} appears more than once")


def _sheets_by_table(path: Path, sheets: list[str]) -> dict[str, str]:
    """Canonical table -> its sheet, names matched ignoring case and surrounding spaces."""
    found: dict[str, list[str]] = {}
    for sheet in sheets:
        found.setdefault(sheet.strip().lower(), []).append(sheet)
    for name in TABLE_ORDER:
        if len(found.get(name, ())) > 1:
            raise IngestRefused(f"{path.name}: more than one sheet for table {name}: "
                                f"{_listed([f'[{s}]' for s in found[name]])}; keep one")
    return {name: found[name][0] for name in TABLE_ORDER if name in found}


def _read_columns(path: Path, sheet: str, table: str) -> tuple[set[int], set[int]]:
    """The sheet's columns (0 is A) that the ingest reads as `table`'s, and those with no header
    (an error cell in the header row leaves its column unnamed, hence unread)."""
    import fastexcel  # only for a workbook holding error cells; polars imports it on reading one anyway

    canonical = set(CANONICAL_TABLES[table].column_names)
    columns = fastexcel.read_excel(path).load_sheet(sheet, n_rows=0).available_columns()
    return ({c.absolute_index for c in columns if header_name(c.name) in canonical},
            {c.absolute_index for c in columns if c.column_name_from == "generated"})


def _error_cells_refusal(where: str, cells: ErrorCells, read: str) -> IngestRefused:
    """`where`: N cells <read> hold an Excel error (#REF!, ...) instead of a value, the first at C12."""
    many = cells.count > 1
    codes = f" ({', '.join(cells.codes)})" if cells.codes else ""
    return IngestRefused(
        f"{where}: {cells.count} cell{'s' if many else ''}{read} hold{'' if many else 's'} an Excel error{codes} "
        f"instead of a value, {'the first at' if cells.count > len(cells.first) else 'at'} "
        f"{', '.join(cells.refs())}: correct {'them' if many else 'it'} and load again")


def refuse_error_cells(path: Path, by_name: dict[str, str]) -> None:
    """Refuse a workbook whose sheets hold an Excel error cell (`#REF!`, `#N/A`, ...) where a
    value is read. The reader hands such a cell over as an empty one, so `opted_out` = `#REF!`
    would read as "not opted out": the error must never read as a blank. Cells of columns the
    ingest does not read (a helper column of VLOOKUPs) and of sheets it does not read do not count."""
    try:
        found = error_cells(path, list(by_name.values()))
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        raise IngestRefused(f"{path.name}: cannot be read as a workbook (its sheets cannot be found in it)") from None
    for name, sheet in by_name.items():
        if sheet not in found:
            continue
        read, unnamed = _read_columns(path, sheet, name)
        # A column with no header counts only when its header cell is the error (a helper column
        # with no heading is not read, whatever it holds); cells are found in sheet order.
        cells = merged([c for (letters, _), c in found[sheet].items()
                        if not letters or column_index(letters) in read
                        or (column_index(letters) in unnamed and c.first and c.first[0][1] == HEADER_ROW)])
        if cells.count:
            raise _error_cells_refusal(f"{path.name}[{sheet}]", cells, " of a column the ingest reads")


def _unreadable_for_error_cells(path: Path) -> IngestRefused | None:
    """Why a workbook the reader could not open is refused, when it holds an error cell the reader
    does not know (`#SPILL!`, `#GETTING_DATA`), in a sheet read or not: the sheet and its first such
    cells, rather than "cannot be read"."""
    try:
        with zipfile.ZipFile(path) as book:
            sheets = list(sheet_parts(book))
        found = error_cells(path, sheets)
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return None
    for sheet in sheets:
        unknown = [c for (_, code), c in found.get(sheet, {}).items() if code not in READER_CODES]
        if unknown:
            return _error_cells_refusal(f"{path.name}[{sheet}]", merged(unknown), "")
    return None


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
        raise _unreadable_for_error_cells(path) or IngestRefused(
            f"{path.name}: cannot be read as a workbook ({type(exc).__name__})") from None
    by_name = _sheets_by_table(path, list(sheets))
    refuse_error_cells(path, by_name)
    source.unrecognised = [
        Unrecognised(f"{path.name}[{sheet}]", nearest_name(sheet, TABLE_ORDER))
        for sheet in sheets if sheet.strip().lower() not in TABLE_ORDER
    ]
    for name in TABLE_ORDER:
        if name in by_name:
            sheet = by_name[name]
            if not sheets[sheet].width:
                raise IngestRefused(f"{path.name}[{sheet}]: the sheet is empty (no header row)")
            # Columns named like the reader's own (__line, __extra_fields) are not the sheet's to set.
            sheets[sheet] = sheets[sheet].drop([c for c in sheets[sheet].columns if c.strip().startswith("__")])
            _refuse_doubled_headers(sheets[sheet], f"{path.name}[{sheet}]")
            source.tables[name] = make_raw_table(
                name, sheets[sheet], f"{path.name}[{sheet}]",
                date_formats=(XLSX_DATE_CELL, settings.source.date_format),
            )
    return source
