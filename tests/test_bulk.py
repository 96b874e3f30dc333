"""Bulk writes: every row lands inside the caller's transaction, on both databases, and on
SQLite the side files used for large frames are released when the connection is returned."""

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from ehcp_monitor.db import bulk
from ehcp_monitor.db.snapshot import stored_schema


def _people(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_id": [f"P{i}" for i in range(n)],
            "date_of_birth": [date(2015, 1, 1 + i % 28) for i in range(n)],
            "forename": [None if i % 3 else "Ann" for i in range(n)],
            "surname": [None] * n,
            "upn": [None] * n,
            "postcode": ["AB1 2CD"] * n,
        },
        schema=stored_schema("people"),
    )


@pytest.mark.parametrize("rows", [5, bulk.STAGE_MIN_ROWS + 7])
def test_rows_land_with_their_types_and_roll_back_with_the_transaction(engine, rows):
    people = _people(rows)
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            assert bulk.write_frames(conn, {"people": people}) == rows
            raise RuntimeError("the caller's transaction fails")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM people")).scalar_one() == 0

    with engine.begin() as conn:
        bulk.write_frame(conn, "people", people)
    with engine.connect() as conn:
        back = bulk.read_frame(conn, "SELECT " + ", ".join(stored_schema("people")) + " FROM people",
                               stored_schema("people"))
    assert back.sort("person_id").equals(people.sort("person_id"))


def test_sqlite_side_files_are_detached_and_deleted(engine, tmp_path):
    if engine.dialect.name != "sqlite":
        pytest.skip("side files are the SQLite path")
    with engine.begin() as conn:
        bulk.write_frame(conn, "people", _people(bulk.STAGE_MIN_ROWS))
        staged = list(bulk.staged_aliases(conn))
        assert len(staged) == bulk.stage_workers() and all(Path(path).exists() for _, path in staged)
    assert not any(Path(path).exists() for _, path in staged)
    with engine.connect() as conn:
        attached = conn.exec_driver_sql("PRAGMA database_list").fetchall()
    assert not [row[1] for row in attached if row[1].startswith("stage_")]


def test_read_tables_round_trips_awkward_text_and_every_type(engine):
    people = pl.DataFrame(
        {
            "person_id": ["1", "0002", 'quote " and \\ backslash', "tab\tand\nnewline", "ünï €"],
            "date_of_birth": [date(2024, 2, 29), date(2000, 1, 1), date(2010, 12, 31), date(2019, 6, 1),
                              date(2021, 3, 3)],
            "forename": [None, "", "x", "{\"json\": 1}", "null"],
            "surname": [None] * 5, "upn": [None] * 5, "postcode": [None] * 5,
        },
        schema=stored_schema("people"),
    )
    requests = pl.DataFrame(
        {"request_id": ["r1", "r2"], "person_id": ["1", "1"], "received_date": [date(2025, 1, 6)] * 2,
         "request_outcome": ["Y", "A"], "request_mediation": [True, None], "request_tribunal": [False, True]}
    ).with_columns([pl.lit(None, t).alias(c) for c, t in stored_schema("requests").items()
                    if c not in ("request_id", "person_id", "received_date", "request_outcome",
                                 "request_mediation", "request_tribunal")]).select(list(stored_schema("requests")))
    with engine.begin() as conn:
        bulk.write_frames(conn, {"people": people, "requests": requests})
    with engine.connect() as conn:
        back = bulk.read_tables(conn, {name: stored_schema(name) for name in ("people", "requests", "drafts")})
    assert back["people"].sort("person_id").equals(people.sort("person_id"))
    assert back["requests"].sort("request_id").equals(requests)
    assert back["drafts"].height == 0


def test_read_tables_takes_a_column_that_is_empty_for_its_first_thousands_of_rows(engine):
    # A reader that typed columns from the first rows it saw would get this wrong: null, then text.
    people = _people(5000).with_columns(
        forename=pl.when(pl.col("person_id") == "P4999").then(pl.lit("Zoë")).cast(pl.Utf8)
    )
    with engine.begin() as conn:
        bulk.write_frame(conn, "people", people)
    with engine.connect() as conn:
        back = bulk.read_tables(conn, {"people": stored_schema("people")})["people"]
    assert back.sort("person_id").equals(people.sort("person_id"))


def _advice(n: int, *, with_row_id: bool) -> pl.DataFrame:
    frame = pl.DataFrame({
        "request_id": [f"R{i}" for i in range(n)],
        "advice_type": ["health"] * n,
        "requested_date": [date(2025, 1, 1)] * n,
        "received_date": [None if i % 2 else date(2025, 2, 1) for i in range(n)],
    }, schema={"request_id": pl.Utf8, "advice_type": pl.Utf8, "requested_date": pl.Date,
               "received_date": pl.Date})
    return frame.with_row_index("row_id", offset=10**6).with_columns(pl.col("row_id").cast(pl.Int64)) \
        if with_row_id else frame


def test_large_frames_keep_their_order_and_keys_whether_or_not_they_carry_every_column(engine):
    # Staged on SQLite across several side files: without row_id the store numbers the rows after
    # those already there; with every column the copy moves whole records, row_id included.
    n = bulk.STAGE_MIN_ROWS + 11
    with engine.begin() as conn:
        bulk.write_frame(conn, "advice", _advice(n, with_row_id=False))
        bulk.write_frame(conn, "advice", _advice(n, with_row_id=True))
    schema = {"row_id": pl.Int64, "request_id": pl.Utf8, "received_date": pl.Date}
    with engine.connect() as conn:
        sql = "SELECT row_id, request_id, received_date FROM advice ORDER BY row_id"
        back = bulk.read_frame(conn, sql, schema)
    numbered, given = back.head(n), back.tail(n)
    assert numbered["row_id"].max() < 10**6
    assert given["row_id"].to_list() == list(range(10**6, 10**6 + n))
    for part in (numbered, given):
        assert part.drop("row_id").equals(_advice(n, with_row_id=False).select("request_id", "received_date"))


def test_a_large_frame_whose_key_column_is_empty_is_numbered_by_the_store(engine):
    n = bulk.STAGE_MIN_ROWS + 5
    unnumbered = _advice(n, with_row_id=True).with_columns(pl.lit(None, pl.Int64).alias("row_id"))
    if engine.dialect.name == "postgresql":  # an explicit NULL is not its default there
        with pytest.raises(Exception, match="null value"), engine.begin() as conn:
            bulk.write_frame(conn, "advice", unnumbered)
        return
    with engine.begin() as conn:
        bulk.write_frame(conn, "advice", unnumbered)
        assert conn.exec_driver_sql("SELECT count(DISTINCT row_id) FROM advice").scalar_one() == n


def test_a_large_write_into_a_temporary_table(engine):
    n = bulk.STAGE_MIN_ROWS + 3
    with engine.begin() as conn:
        empty = "false" if conn.dialect.name == "postgresql" else "0"
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE advice_new AS SELECT * FROM advice WHERE {empty}")
        bulk.write_frame(conn, "advice_new", _advice(n, with_row_id=True))
        assert conn.exec_driver_sql("SELECT count(*), min(row_id) FROM advice_new").one() == (n, 10**6)


@given(st.lists(st.one_of(st.none(), st.dates()), max_size=50))
def test_iso_dates_are_every_date_formatted_one_by_one(dates):
    # The lookup over the column's span, and the fallback for a span wider than ISO_LOOKUP_MAX_DAYS.
    column = pl.Series("d", dates, dtype=pl.Date)
    assert bulk.iso_dates(column).to_list() == [None if d is None else d.isoformat() for d in dates]
    assert bulk.iso_dates(column).name == "d"
