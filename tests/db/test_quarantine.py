"""db.quarantine: an ingest's findings in and out of the store, on SQLite and PostgreSQL."""

import polars as pl
from polars.testing import assert_frame_equal

from ehcp_monitor.db.quarantine import (
    CODES_SCHEMA,
    QUARANTINE_COLUMNS,
    QUARANTINE_SCHEMA,
    read_codes,
    read_findings,
    write_findings,
)

FINDINGS = pl.DataFrame([
    ("requests", "requests.csv", 12, "R1", "V003", "received_date", "not a date", "quarantined", None, "31/02/2025"),
    ("people", "people.csv", 3, "P1", "V002", "date_of_birth", "not a date", "cleared", None, "***"),
    ("requests", "requests.csv", 14, "R9", "V010", None, "a later step before an earlier one", "withheld",
     "FINAL_20W,DRAFT_LOCAL", None),
    ("plans", "plans.csv", None, None, "W001", None, "=HYPERLINK(\"x\")", "warning", None, None),
], schema=QUARANTINE_SCHEMA, orient="row")


def test_findings_read_back_as_stored_in_their_order(engine):
    # The ingest's own frame carries a row number too: write_findings keeps the stored columns.
    with engine.begin() as conn:
        assert write_findings(conn, 5, FINDINGS.with_row_index("__row")) == 4
        assert write_findings(conn, 6, FINDINGS.tail(1)) == 1
        assert write_findings(conn, 7, FINDINGS.clear()) == 0
    with engine.connect() as conn:
        back = read_findings(conn, 5)
        assert tuple(back.columns) == QUARANTINE_COLUMNS
        assert_frame_equal(back, FINDINGS)
        assert_frame_equal(read_findings(conn, 6), FINDINGS.tail(1))
        assert_frame_equal(read_findings(conn, 7), pl.DataFrame(schema=QUARANTINE_SCHEMA))


def test_codes_of_every_ingest(engine):
    with engine.connect() as conn:
        assert_frame_equal(read_codes(conn), pl.DataFrame(schema=CODES_SCHEMA))
    with engine.begin() as conn:
        write_findings(conn, 1, FINDINGS.head(2))
        write_findings(conn, 2, FINDINGS.tail(2))
    with engine.connect() as conn:
        codes = read_codes(conn)
    assert codes.schema == pl.Schema(CODES_SCHEMA)
    assert codes.rows() == [(1, "V003"), (1, "V002"), (2, "V010"), (2, "W001")]
