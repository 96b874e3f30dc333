"""Files that cannot be read at all refuse the ingest in one line, never crash it."""

import pytest

from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest import run_ingest
from tests.ingest.extract import base_tables, write_csv


@pytest.mark.parametrize("name, content, message", [
    ("people.parquet", b"PAR1 not really parquet", "^people.parquet: cannot be read as Parquet"),
    ("extract.xlsx", b"PK\x03\x04 not really a workbook", "^extract.xlsx: cannot be read as a workbook"),
])
def test_unreadable_parquet_and_workbooks_are_refused(engine, settings, as_of, tmp_path, name, content, message):
    target = tmp_path / name
    target.write_bytes(content)
    source = target if name.endswith(".xlsx") else tmp_path
    with pytest.raises(IngestRefused, match=message):
        run_ingest(engine, settings, str(source), as_of=as_of)


def test_an_unopenable_csv_is_refused(engine, settings, as_of, tmp_path):
    folder = write_csv(tmp_path / "x", {k: v for k, v in base_tables().items() if k in ("people", "requests")})
    (folder / "people.csv").unlink()
    (folder / "people.csv").mkdir()  # a folder where the file should be
    with pytest.raises(IngestRefused, match="^people.csv: cannot be opened"):
        run_ingest(engine, settings, str(folder), as_of=as_of)
