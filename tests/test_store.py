from datetime import date

import polars as pl
import pytest

from ehcp_monitor.clock import now_utc
from ehcp_monitor.db.snapshot import Snapshot, read_snapshot, replace_snapshot


def test_snapshot_round_trip(engine):
    frames = {
        "people": pl.DataFrame(
            {"person_id": ["1", "2"], "date_of_birth": [date(2015, 1, 2), date(2020, 2, 29)],
             "forename": ["A", None], "surname": ["B", "C"]}
        ),
        "requests": pl.DataFrame(
            {"request_id": ["r1"], "person_id": ["1"], "received_date": [date(2025, 1, 6)],
             "request_outcome": ["Y"], "request_outcome_date": [date(2025, 2, 1)],
             "request_mediation": [True]}
        ),
        "plans": pl.DataFrame({"plan_id": ["p1"], "person_id": ["1"], "start_date": [date(2025, 5, 1)]}),
    }
    snap = Snapshot.from_frames(frames, ingest_id=7, source_kind="csv")
    with engine.begin() as conn:
        replace_snapshot(conn, snap, loaded_at=now_utc())
    back = read_snapshot(engine)
    assert back.ingest_id == 7
    assert back.tables_present == {"people", "requests", "plans"}
    assert back["people"].sort("person_id").to_dicts() == snap["people"].sort("person_id").to_dicts()
    assert back["requests"].to_dicts() == snap["requests"].to_dicts()
    assert back["plans"]["review_history"].to_list() == ["full"]
    assert back["reviews"].height == 0

    # A reader that names its columns gets only those: the clock engine reads no names.
    some = read_snapshot(engine, {"people": ("person_id", "date_of_birth"), "plans": ("plan_id", "review_history")})
    assert set(some.tables) == {"people", "plans"}
    assert some["people"].sort("person_id").to_dicts() == snap["people"].sort("person_id").select(
        "person_id", "date_of_birth").to_dicts()
    assert some["plans"].to_dicts() == [{"plan_id": "p1", "review_history": "full"}]
    assert (some.ingest_id, some.tables_present) == (7, back.tables_present)


def test_read_snapshot_refuses_an_unknown_table_or_no_columns(engine):
    with pytest.raises(ValueError, match="peeple"):
        read_snapshot(engine, {"peeple": ("person_id",)})
    with pytest.raises(ValueError, match="plans"):
        read_snapshot(engine, {"plans": ()})
