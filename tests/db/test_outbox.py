"""db.outbox.load_if_empty: the go-live night's rows straight into an empty outbox, on SQLite and
PostgreSQL, with the outbox's unique key and index back afterwards."""

from datetime import UTC, date, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.db.outbox import first_of_each_key, load_if_empty, read_outbox
from ehcp_monitor.touchpoints.planner import insert_new

PLANNED_AT = datetime(2025, 7, 10, 8, 3, 4, 123456, tzinfo=UTC)


def _rows(*specs) -> pl.DataFrame:
    """(case_ref, status) pairs as new outbox rows of one stage and date."""
    return pl.DataFrame(
        {
            "stage": ["request_received"] * len(specs),
            "case_ref": [case for case, _ in specs],
            "event_date": [date(2025, 6, 2)] * len(specs),
            "contact_id": ["C1"] * len(specs),
            "person_id": ["P1"] * len(specs),
            "request_id": [case for case, _ in specs],
            "plan_id": [None] * len(specs),
            "variant": [""] * len(specs),
            "status": [status for _, status in specs],
            "reason": ["before go-live (2025-07-10)" if status == "baseline" else None for _, status in specs],
            "attempts": [0] * len(specs),
            "planned_as_of": [date(2025, 7, 10)] * len(specs),
            "context": ["{}"] * len(specs),
            "channel": ["email"] * len(specs),
        },
        schema_overrides={"plan_id": pl.Utf8},
    )


def _keys_in_place(engine) -> None:
    found = inspect(engine)
    assert "uq_touchpoint_once" in {c["name"] for c in found.get_unique_constraints("touchpoints")}
    assert "ix_touchpoints_status_next" in {i["name"] for i in found.get_indexes("touchpoints")}


def test_rows_go_into_an_empty_outbox_once_each_and_the_keys_come_back(engine):
    with engine.begin() as conn:
        loaded = load_if_empty(conn, _rows(("R1", "baseline"), ("R2", "pending"), ("R1", "pending")),
                               planned_at=PLANNED_AT)
    assert loaded == 2  # R1 twice: the first kept, as ON CONFLICT DO NOTHING keeps it
    with engine.connect() as conn:
        stored = conn.execute(select(Touchpoint.case_ref, Touchpoint.status).order_by(Touchpoint.id)).all()
        planned = read_outbox(conn)["planned_at"].to_list()
    assert [tuple(r) for r in stored] == [("R1", "baseline"), ("R2", "pending")]
    assert planned == [PLANNED_AT.replace(microsecond=0)] * 2  # read_outbox reads whole seconds
    _keys_in_place(engine)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        duplicate_every_row = text(
            "INSERT INTO touchpoints (stage, case_ref, event_date, contact_id, variant, status, attempts, "
            "planned_at, planned_as_of, channel, context) SELECT stage, case_ref, event_date, contact_id, "
            "variant, status, attempts, planned_at, planned_as_of, channel, context FROM touchpoints")
        conn.execute(duplicate_every_row)


def test_an_outbox_with_rows_is_left_to_the_conflict_check(engine):
    with engine.begin() as conn:
        assert insert_new(conn, _rows(("R1", "pending")), planned_at=PLANNED_AT) == 1  # empty: loaded
    with engine.begin() as conn:
        assert load_if_empty(conn, _rows(("R2", "pending")), planned_at=PLANNED_AT) is None
        # The ordinary path: R1 is there already, R2 is new.
        assert insert_new(conn, _rows(("R1", "baseline"), ("R2", "pending")), planned_at=PLANNED_AT) == 1
    with engine.connect() as conn:
        stored = conn.execute(select(Touchpoint.case_ref, Touchpoint.status).order_by(Touchpoint.id)).all()
        # The time as each path stores it: the same, to the microsecond.
        times = conn.execute(text("SELECT planned_at FROM touchpoints ORDER BY id")).scalars().all()
        by_orm = conn.execute(select(Touchpoint.planned_at).order_by(Touchpoint.id)).scalars().all()
    assert [tuple(r) for r in stored] == [("R1", "pending"), ("R2", "pending")]
    assert times[0] == times[1]
    assert {t.replace(tzinfo=UTC) if t.tzinfo is None else t for t in by_orm} == {PLANNED_AT}
    _keys_in_place(engine)


def test_two_planners_on_the_go_live_night_both_finish(engine, monkeypatch):
    """PostgreSQL: two planning runs on an empty outbox, both having read it before either loads.
    One takes the direct load; the other, finding the outbox in use, goes the usual way (waiting
    for the lock would deadlock). The barrier only lines the two up; it changes nothing they do."""
    import threading

    from ehcp_monitor.touchpoints import plan_touchpoints, planner
    from tests.touchpoints.conftest import AS_OF, caseload, store_case, tp_settings

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the second planner waits its turn")
    store_case(engine, *caseload())
    barrier = threading.Barrier(2, timeout=20)
    load = planner.load_if_empty

    def lined_up(conn, rows, **kw):
        barrier.wait()
        return load(conn, rows, **kw)

    monkeypatch.setattr(planner, "load_if_empty", lined_up)
    outcome: dict = {}

    def run(name):
        try:
            outcome[name] = plan_touchpoints(engine, tp_settings(), as_of=AS_OF)["planned"]
        except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
            outcome[name] = type(exc).__name__

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(isinstance(v, int) for v in outcome.values()), outcome
    assert sum(outcome.values()) > 0 and min(outcome.values()) == 0  # planned once between them


# Few values each, so that keys repeat, and keys alike but in one column.
_KEYS = st.tuples(st.sampled_from(["request_received", "delay_notice"]), st.sampled_from(["R1", None]),
                  st.sampled_from([date(2025, 3, 1), None]), st.sampled_from(["C1", "C2"]),
                  st.sampled_from(["", "amend", None]))


@settings(max_examples=200, deadline=None)
@given(st.lists(_KEYS, max_size=30))
def test_the_first_of_each_key_is_what_unique_keeps(keys):
    """Hashes first, values where hashes meet: the same rows, in the same order, nulls equal."""
    frame = pl.DataFrame([(*k, n) for n, k in enumerate(keys)], orient="row", schema={
        "stage": pl.Utf8, "case_ref": pl.Utf8, "event_date": pl.Date, "contact_id": pl.Utf8, "variant": pl.Utf8,
        "n": pl.Int64})
    expected = frame.unique(subset=["stage", "case_ref", "event_date", "contact_id", "variant"], keep="first",
                            maintain_order=True)
    assert first_of_each_key(frame).equals(expected)
