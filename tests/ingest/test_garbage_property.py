"""Garbage thrown at the CSV ingest never escapes as an unhandled error, and nothing vanishes:
either the ingest is refused whole, or every table's rows read = loaded + quarantined."""

import csv
import io
import uuid

import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.domain.canonical import table_spec
from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest import run_ingest

TABLES = ("people", "requests", "contacts", "reviews")
NASTY = "\x00\x07\x1b\r\n\t\"',;=+-@é’\u2028\ufeff\x85 "

cells = st.one_of(
    st.sampled_from(["", "P1", "P2", "R1", "PL1", "2024-01-31", "31/01/2024", "2024-02-30", "Y", "n", "A", "1",
                     "true", "maybe", "amend", "M", "parent_carer", "a@example.org", "a@b", "9999-12-31", "-1"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(NASTY), max_size=12),
    st.integers().map(str),
    st.floats(allow_nan=True).map(str),
    st.integers(min_value=50, max_value=5000).map(lambda n: "x" * n),
)


@st.composite
def csv_file(draw, table: str) -> bytes:
    shape = draw(st.sampled_from(["full"] * 12 + ["normal", "empty", "header_only", "doubled", "bytes"]))
    if shape == "empty":
        return draw(st.sampled_from([b"", b"\r\n", b"\xef\xbb\xbf"]))
    if shape == "bytes":
        return draw(st.binary(max_size=200))
    columns = table_spec(table).column_names
    header = draw(st.lists(st.sampled_from(columns + ["extra", "Person_ID "]), min_size=1, max_size=9))
    if shape == "full":
        header = columns + draw(st.lists(st.sampled_from(["extra", "notes"]), max_size=1))
    elif shape != "doubled":
        header = list(dict.fromkeys(header))
    rows = [] if shape == "header_only" else draw(
        st.lists(st.lists(cells, min_size=0, max_size=len(header) + 2), max_size=8))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252"]))
    return text.encode(encoding, errors="replace")


@st.composite
def extracts(draw) -> dict[str, bytes]:
    present = ["people", "requests"] + draw(st.lists(st.sampled_from(TABLES[2:]), unique=True))
    if draw(st.booleans()):
        present = draw(st.lists(st.sampled_from(TABLES), unique=True, min_size=1))
    return {table: draw(csv_file(table)) for table in present}


@pytest.fixture(params=["strict", "lenient"])
def lenient_or_not(request, settings):
    # Lenient settings let quarantined garbage load, so the accounting is exercised, not only refusal.
    return settings if request.param == "strict" else settings.replace(**{"ingest.max_reject_share": 1.0})


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extract=extracts())
def test_garbage_is_refused_or_fully_accounted_for(engine, lenient_or_not, as_of, tmp_path, extract):
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    for table, content in extract.items():
        (folder / f"{table}.csv").write_bytes(content)
    try:
        # Every example replaces the previous one's snapshot: the snapshot guards are not under test here.
        result = run_ingest(engine, lenient_or_not, str(folder), as_of=as_of, accept_missing=TABLES,
                            accept_shrink=True)
    except IngestRefused as refused:
        assert "\n" not in str(refused)
        event("refused")
        return
    event("loaded")
    snap = read_snapshot(engine)
    for table, c in result.counts.items():
        assert c["read"] == c["loaded"] + c["quarantined"]
        assert snap[table].height == c["loaded"]
        assert sum(c["by_code"].values()) >= c["quarantined"]
