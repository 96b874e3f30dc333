"""Which kind of source a location is: recognised from what is there, never told."""

from pathlib import Path

from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest.readers.canonical import canonical_files, read_csv_folder, read_parquet_folder, read_workbook
from ehcp_monitor.ingest.readers.sen2 import is_sen2_export, read_sen2_export
from ehcp_monitor.ingest.readers.sen2_xml import KIND as SEN2_XML
from ehcp_monitor.ingest.readers.sen2_xml import is_sen2_xml, read_sen2_xml, xml_files
from ehcp_monitor.ingest.readers.sql import read_sql_source
from ehcp_monitor.ingest.source import SourceData
from ehcp_monitor.logs import get_logger

log = get_logger(__name__)


def source_kind(source: str) -> str:
    if source.startswith("sql:"):
        return "sql"
    path = Path(source)
    if path.is_file() and path.suffix.lower() == ".xlsx":
        return "xlsx"
    if path.is_file() and path.suffix.lower() == ".xml" and is_sen2_xml(path):
        return SEN2_XML
    if path.is_dir():
        xml = xml_files(path)
        if is_sen2_export(path):
            if xml:
                log.warning("XML files beside the SEN2 Blade export ignored", files=len(xml))
            return "sen2"
        if len(xml) > 1:
            raise IngestRefused(f"{path.name}: {len(xml)} .xml files; a SEN2 XML source is a folder with one")
        if xml and is_sen2_xml(xml[0]):
            return SEN2_XML
        if canonical_files(path, ".parquet"):
            return "parquet"
        if canonical_files(path, ".csv"):
            return "csv"
        raise IngestRefused(f"{path.name or source}: no canonical tables, SEN2 export or workbook found")
    if path.exists():
        raise IngestRefused(f"{path.name}: not a folder, an .xlsx workbook, a SEN2 .xml file or sql:NAME")
    raise IngestRefused(f"source not found: {path.name or source}")


def read_source(source: str, settings) -> SourceData:
    kind = source_kind(source)
    if kind == "sql":
        return read_sql_source(source[4:], settings)
    readers = {"xlsx": read_workbook, "sen2": read_sen2_export, SEN2_XML: read_sen2_xml,
               "parquet": read_parquet_folder, "csv": read_csv_folder}
    return readers[kind](Path(source), settings)
