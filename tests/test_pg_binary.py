"""PostgreSQL's binary COPY format: the exact bytes on a small frame, and every supported type
round-tripped through a real server, read back by psycopg (not by our reader)."""

from datetime import date, datetime, timezone

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from ehcp_monitor.db import bulk, pg_binary
from tests.conftest import PG_URL, _pg_url


def test_one_row_is_encoded_as_the_format_says():
    frame = pl.DataFrame({"n": [1], "t": ["ab"], "d": [None], "b": [True]},
                         schema={"n": pl.Int64, "t": pl.Utf8, "d": pl.Date, "b": pl.Boolean})
    expected = (
        b"\x00\x04"                              # four fields
        + b"\x00\x00\x00\x04" + b"\x00\x00\x00\x01"  # int4 1
        + b"\x00\x00\x00\x02" + b"ab"            # text
        + b"\xff\xff\xff\xff"                    # NULL: length -1, no bytes
        + b"\x00\x00\x00\x01" + b"\x01"          # bool true
    )
    assert pg_binary.encode_rows(frame, ["int4", "text", "date", "bool"]) == expected


def test_dates_count_days_from_2000_and_text_is_utf8():
    frame = pl.DataFrame({"d": [date(2000, 1, 2), date(1999, 12, 31)], "t": ["é", ""]})
    assert pg_binary.encode_rows(frame, ["date", "varchar"]) == (
        b"\x00\x02" + b"\x00\x00\x00\x04\x00\x00\x00\x01" + b"\x00\x00\x00\x02\xc3\xa9"
        + b"\x00\x02" + b"\x00\x00\x00\x04\xff\xff\xff\xff" + b"\x00\x00\x00\x00"
    )


def test_timestamps_count_microseconds_from_2000_in_utc():
    one_hour_on = datetime(2000, 1, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
    aware = pl.Series([one_hour_on]).dt.convert_time_zone("Europe/London")
    naive = pl.Series([datetime(2000, 1, 1, 0, 0, 0, 2)])
    frame = pl.DataFrame({"a": aware, "n": naive})
    assert pg_binary.encode_rows(frame, ["timestamptz", "timestamp"]) == (
        b"\x00\x02" + b"\x00\x00\x00\x08" + (3_600_000_001).to_bytes(8, "big")
        + b"\x00\x00\x00\x08" + (2).to_bytes(8, "big")
    )


@pytest.mark.parametrize("values, pg_type", [
    ([1.5], "int4"), ([True], "int8"), ([2], "bool"), (["x"], "float8"), ([date(2025, 1, 1)], "timestamptz"),
])
def test_a_value_the_column_would_change_is_refused_by_name(values, pg_type):
    with pytest.raises(TypeError, match="column 'v'"):
        pg_binary.encode_rows(pl.DataFrame({"v": values}), [pg_type])


def test_a_column_of_nothing_but_nulls_goes_into_any_type():
    frame = pl.DataFrame({"a": [None], "b": [None]})
    assert pg_binary.encode_rows(frame, ["timestamptz", "date"]) == b"\x00\x02" + b"\xff\xff\xff\xff" * 2


def test_iso_text_goes_into_a_date_column_and_an_integer_out_of_range_is_refused():
    text_dates = pl.DataFrame({"d": ["2000-01-02", None]})
    assert pg_binary.encode_rows(text_dates, ["date"]) == (
        b"\x00\x01\x00\x00\x00\x04\x00\x00\x00\x01" + b"\x00\x01\xff\xff\xff\xff")
    with pytest.raises(pl.exceptions.InvalidOperationError):
        pg_binary.encode_rows(pl.DataFrame({"n": [2**31]}), ["int4"])


def test_an_unsupported_server_type_is_refused_by_name():
    with pytest.raises(TypeError, match="'payload' has type jsonb"):
        pg_binary.check_types({"id": "int4", "payload": "jsonb"})


# Any character but NUL (PostgreSQL's text cannot hold it) and lone surrogates (not UTF-8).
TEXT_CHARACTERS = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
COLUMNS = {  # server type -> polars type of the frame column and a strategy for its values
    "int2": (pl.Int16, st.integers(-(2**15), 2**15 - 1)),
    "int4": (pl.Int64, st.integers(-(2**31), 2**31 - 1)),
    "int8": (pl.Int64, st.integers(-(2**63), 2**63 - 1)),
    "float8": (pl.Float64, st.floats(allow_nan=False)),
    "bool": (pl.Boolean, st.booleans()),
    "date": (pl.Date, st.dates(date(1, 1, 1), date(9999, 12, 31))),
    "timestamptz": (pl.Datetime("us", "UTC"), st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30),
                                                           timezones=st.just(timezone.utc))),
    "timestamp": (pl.Datetime("us"), st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31))),
    "text": (pl.Utf8, st.text(TEXT_CHARACTERS, max_size=40)),
    "varchar": (pl.Utf8, st.text(TEXT_CHARACTERS, max_size=10)),
}

pg_only = pytest.mark.skipif(not PG_URL, reason="needs EHCP_TEST_DATABASE_URL (see README, Testing)")


@pytest.fixture(scope="module")
def pg():
    engine = create_engine(_pg_url())
    yield engine
    engine.dispose()


@st.composite
def frames(draw):
    n = draw(st.integers(0, 30))
    data = {t: draw(st.lists(st.none() | values, min_size=n, max_size=n))
            for t, (_, values) in COLUMNS.items()}
    return pl.DataFrame(data, schema={t: dtype for t, (dtype, _) in COLUMNS.items()})


@pg_only
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=frames())
def test_every_supported_type_round_trips_through_postgresql(pg, frame):
    columns = ", ".join(f'"{t}" {t}' if t != "varchar" else '"varchar" varchar(10)' for t in COLUMNS)
    with pg.begin() as conn:
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE rt ({columns}) ON COMMIT DROP")
        bulk.write_frame(conn, "rt", frame)
        names = ", ".join(f'"{t}"' for t in COLUMNS)
        back = conn.exec_driver_sql(f"SELECT {names} FROM rt").all()
    assert [tuple(row) for row in back] == frame.rows()


@pg_only
def test_a_frame_column_the_table_lacks_is_refused_by_name(pg):
    with pg.begin() as conn:
        conn.exec_driver_sql("CREATE TEMPORARY TABLE rt (a int4) ON COMMIT DROP")
        with pytest.raises(ValueError, match="rt: no column 'b'"):
            bulk.write_frame(conn, "rt", pl.DataFrame({"a": [1], "b": [2]}))
