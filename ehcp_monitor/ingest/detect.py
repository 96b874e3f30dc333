"""Which kind of source a location is: recognised from what is there, never told."""

from pathlib import Path

from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest.readers.canonical import canonical_files, read_csv_folder, read_parquet_folder, read_workbook
from ehcp_monitor.ingest.readers.sen2 import is_sen2_export, read_sen2_export
from ehcp_monitor.ingest.readers.sql import read_sql_source
from ehcp_monitor.ingest.source import SourceData


def source_kind(source: str) -> str:
    if source.startswith("sql:"):
        return "sql"
    path = Path(source)
    if path.is_file() and path.suffix.lower() == ".xlsx":
        return "xlsx"
    if path.is_dir():
        if is_sen2_export(path):
            return "sen2"
        if canonical_files(path, ".parquet"):
            return "parquet"
        if canonical_files(path, ".csv"):
            return "csv"
        raise IngestRefused(f"{path.name or source}: no canonical tables, SEN2 export or workbook found")
    if path.exists():
        raise IngestRefused(f"{path.name}: not a folder, an .xlsx workbook or sql:NAME")
    raise IngestRefused(f"source not found: {path.name or source}")


def read_source(source: str, settings) -> SourceData:
    kind = source_kind(source)
    if kind == "sql":
        return read_sql_source(source[4:], settings)
    readers = {"xlsx": read_workbook, "sen2": read_sen2_export, "parquet": read_parquet_folder,
               "csv": read_csv_folder}
    return readers[kind](Path(source), settings)
