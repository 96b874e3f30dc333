"""Headers (docs/input-formats.md, Canonical extracts): matched case-insensitively, trimmed, spaces and hyphens
as underscores; a name close to a canonical column the file lacks, or one holding a line break,
refuses the ingest (a misread `opted_out` would email families who opted out); other columns are
not read and the ingest's notes name them."""

from pathlib import Path

import pytest

from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.ingest.guards import ingest_notes
from tests.ingest.extract import base_tables, write_csv


def contacts_headed(folder: Path, header: str, newline: str = "\n") -> Path:
    """The base extract with contacts.csv's header line replaced by `header`."""
    source = write_csv(folder, base_tables())
    path = source / "contacts.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text(header + newline + "\n".join(lines[1:]) + "\n", encoding="utf-8")
    return source


def test_a_header_with_spaces_and_capitals_is_the_canonical_column(engine, settings, as_of, tmp_path):
    source = contacts_headed(tmp_path / "x", "Contact ID,Person-ID,Role,Name,E-mail,Opted Out")
    with pytest.raises(IngestRefused, match=r"^contacts\.csv: column 'E-mail' is not a column of table contacts "
                                            r"\(did you mean email\?\): rename it and load again$"):
        run_ingest(engine, settings, str(source), as_of=as_of)
    assert read_snapshot(engine).ingest_id is None

    source = contacts_headed(tmp_path / "y", "Contact ID,Person-ID,Role,Name,Email,Opted Out")
    run_ingest(engine, settings, str(source), as_of=as_of)
    contacts = read_snapshot(engine)["contacts"]
    assert dict(zip(contacts["contact_id"], contacts["opted_out"], strict=True)) == {"C1": False, "C3": True}


def test_a_misspelt_column_refuses_the_ingest_and_keeps_the_snapshot(engine, settings, as_of, tmp_path):
    first = run_ingest(engine, settings, str(write_csv(tmp_path / "a", base_tables())), as_of=as_of)
    source = contacts_headed(tmp_path / "x", "contact_id,person_id,role,name,email,opted_ot")
    with pytest.raises(IngestRefused, match=r"^contacts\.csv: column 'opted_ot' is not a column of table contacts "
                                            r"\(did you mean opted_out\?\)"):
        run_ingest(engine, settings, str(source), as_of=as_of)
    assert read_snapshot(engine).ingest_id == first.ingest_id


def test_a_header_holding_a_line_break_is_refused(engine, settings, as_of, tmp_path):
    # The header ends in a lone CR, the rows in LF: the reader takes the first row into the header.
    source = contacts_headed(tmp_path / "x", "contact_id,person_id,role,name,email,opted_out", newline="\r")
    with pytest.raises(IngestRefused, match=r"^contacts\.csv: the name of column 6 in the header holds a line "
                                            r"break or another control character"):
        run_ingest(engine, settings, str(source), as_of=as_of)


def test_other_columns_are_not_read_and_named_in_the_notes(engine, settings, as_of, tmp_path):
    source = contacts_headed(tmp_path / "x", "contact_id,person_id,role,name,email,opted_out,Notes")
    result = run_ingest(engine, settings, str(source), as_of=as_of)
    assert "notes" not in read_snapshot(engine)["contacts"].columns
    assert ingest_notes(engine, result.ingest_id) == ["columns not read (not canonical): contacts.csv: Notes"]


def test_a_row_with_values_beyond_its_header_is_a_record_not_a_blank_line(engine, lenient, as_of, tmp_path):
    from tests.ingest.extract import quarantine_of

    source = contacts_headed(tmp_path / "x", "contact_id,person_id,role,name,email,opted_out,Notes")
    path = source / "contacts.csv"
    # Values only in a column not read (a helper column filled down) make no record; values
    # beyond the header do (V011).
    path.write_text(path.read_text(encoding="utf-8") + ",,,,,,call first\n" + ",,,,,,,Jo Smith\n", encoding="utf-8")
    result = run_ingest(engine, lenient, str(source), as_of=as_of)
    assert (result.counts["contacts"]["read"], result.counts["contacts"]["loaded"]) == (3, 2)
    assert {(r["code"], r["source_line"]) for r in quarantine_of(engine) if r["table_name"] == "contacts"} == {
        ("V011", 5)}


def test_other_tables_columns_resembling_canonical_ones_are_not_read_and_a_wrapped_header_is_whitespace(
        engine, settings, as_of, tmp_path):
    source = write_csv(tmp_path / "x", base_tables())
    path = source / "requests.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    # Near a canonical column, but not one that decides who is told: not read, named.
    header = lines[0] + ',request_reason,"Notes\n(internal)"'
    path.write_text("\n".join([header, *(f"{line},x,y" for line in lines[1:])]) + "\n", encoding="utf-8")
    result = run_ingest(engine, settings, str(source), as_of=as_of)
    assert result.status == "loaded"
    assert ingest_notes(engine, result.ingest_id) == [
        "columns not read (not canonical): requests.csv: request_reason, Notes (internal)"]
