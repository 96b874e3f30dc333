"""The promise, measured (docs/touchpoints.md, The promise, measured): figures worked by hand.

Calendar used: Friday 14 March 2025; Good Friday 18 April and Easter Monday 21 April 2025 are
bank holidays; British Summer Time from 30 March (so 23:30 UTC on Friday 30 May is Saturday
31 May in England).
"""

import os
import subprocess
import sys
from datetime import date, datetime, timezone

import polars as pl
from sqlalchemy import insert

from ehcp_monitor.board_pack.kpis import promise_table
from ehcp_monitor.board_pack.period import parse_period
from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.db.outbox import OUTBOX_SCHEMA, read_outbox
from ehcp_monitor.promise import promise_by_stage_and_month, promise_events

AS_OF = date(2025, 6, 10)
RR, DA = "request_received", "decision_to_assess"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def row(stage, case, seen, sent=None, *, status=None, contact="C1", reason=None):
    return {"stage": stage, "case_ref": case, "event_date": date(2025, 3, 1), "contact_id": contact,
            "channel": "email", "status": status or ("sent" if sent else "pending"), "reason": reason,
            "planned_at": at(seen), "sent_at": at(sent) if sent else None}


ROWS = [
    # request_received, March: seen Friday, sent Monday -> kept; sent Tuesday -> later.
    row(RR, "A", "2025-03-14T02:00:00", "2025-03-17T09:00:00"),
    row(RR, "B", "2025-03-14T02:00:00", "2025-03-18T09:00:00"),
    # Two contacts: one unreachable, one told on time -> one event, kept.
    row(RR, "F", "2025-03-14T02:00:00", status="skipped", contact="none", reason="no contact recorded"),
    row(RR, "F", "2025-03-14T02:00:00", "2025-03-14T10:00:00", contact="C2"),
    # Never sent, long past its day -> not sent.
    row(RR, "I", "2025-03-14T02:00:00"),
    # Every contact opted out: not counted.
    row(RR, "G", "2025-03-14T02:00:00", status="skipped", reason="opted out"),
    # Before go-live, or too old when seen: not counted.
    row(DA, "H1", "2025-03-14T02:00:00", status="baseline"),
    row(DA, "H2", "2025-03-14T02:00:00", status="suppressed"),
    # request_received, June: seen on the as-of day, not sent yet -> still waiting.
    row(RR, "J", "2025-06-10T02:00:00"),
    # decision_to_assess, April: seen Thursday before Easter; the next working day is Tuesday 22 April.
    row(DA, "C", "2025-04-17T01:00:00", "2025-04-22T07:00:00"),
    row(DA, "D", "2025-04-17T01:00:00", "2025-04-23T07:00:00"),
    # In doubt (unknown): not known to have gone -> not sent.
    row(DA, "K", "2025-04-17T01:00:00", status="unknown"),
    # Seen at 00:30 on Saturday 31 May in England: kept by Monday 2 June; counted in May.
    row(DA, "E", "2025-05-30T23:30:00", "2025-06-02T15:00:00"),
]
EXPECTED = [  # stage, month, events, within, later, not_sent, waiting, share_within
    (RR, date(2025, 3, 1), 4, 2, 1, 1, 0, 50.0),
    (DA, date(2025, 4, 1), 3, 1, 1, 1, 0, 33.3),
    (DA, date(2025, 5, 1), 1, 1, 0, 0, 0, 100.0),
    (RR, date(2025, 6, 1), 1, 0, 0, 0, 1, None),
]


def outbox() -> pl.DataFrame:
    return pl.DataFrame(ROWS, schema=OUTBOX_SCHEMA)


def test_figures_by_stage_and_month_worked_by_hand():
    assert promise_by_stage_and_month(outbox(), as_of=AS_OF).rows() == EXPECTED


def test_seen_friday_sent_monday_is_within_one_working_day():
    events = {r["case_ref"]: r for r in promise_events(outbox(), as_of=AS_OF).iter_rows(named=True)}
    assert (events["A"]["seen"], events["A"]["due"], events["A"]["outcome"]) == (
        date(2025, 3, 14), date(2025, 3, 17), "within")
    assert events["B"]["outcome"] == "later"
    # Over Easter: Friday 18 and Monday 21 April are bank holidays.
    assert (events["C"]["due"], events["C"]["outcome"], events["D"]["outcome"]) == (
        date(2025, 4, 22), "within", "later")
    assert (events["E"]["seen"], events["E"]["due"], events["E"]["outcome"]) == (
        date(2025, 5, 31), date(2025, 6, 2), "within")
    assert "G" not in events and "H1" not in events and "H2" not in events


def test_waiting_becomes_not_sent_once_its_day_has_passed():
    one = pl.DataFrame([row(RR, "J", "2025-06-10T02:00:00")], schema=OUTBOX_SCHEMA)
    assert promise_events(one, as_of=date(2025, 6, 11))["outcome"].to_list() == ["waiting"]  # by Wed 11 June
    assert promise_events(one, as_of=date(2025, 6, 12))["outcome"].to_list() == ["not_sent"]


def test_an_empty_outbox_gives_an_empty_table():
    assert promise_by_stage_and_month(outbox().clear(), as_of=AS_OF).is_empty()


def _store(engine):
    rows = [{**r, "attempts": 0,
             "planned_as_of": r["planned_at"].date(), "context": {}} for r in ROWS]
    with engine.begin() as conn:
        conn.execute(insert(Touchpoint), rows)


def test_read_from_the_store_gives_the_same_figures(engine):
    _store(engine)
    with engine.connect() as conn:
        stored = read_outbox(conn)
    assert stored.schema == pl.Schema(OUTBOX_SCHEMA)
    assert promise_by_stage_and_month(stored, as_of=AS_OF).rows() == EXPECTED


def test_the_board_pack_shows_the_promise_for_the_period(engine):
    _store(engine)
    with engine.connect() as conn:
        stored = read_outbox(conn)

    class Inputs:  # the one field promise_table reads
        outbox = stored

    table = promise_table(Inputs, parse_period("2025-Q2"), AS_OF)  # April to June: three months
    assert table.columns == ["Stage", "Events", "Within one working day", "%", "Later", "Not sent", "Waiting"]
    assert table.rows == [
        ["Decision to assess (Apr 2025)", 3, 1, 33.3, 1, 1, 0],
        ["Decision to assess (May 2025)", 1, 1, 100.0, 0, 0, 0],
        ["Request received (Jun 2025)", 1, 0, None, 0, 0, 1],
        ["All stages", 5, 2, 50.0, 1, 1, 1],
    ]
    march = promise_table(Inputs, parse_period("2025-03"), AS_OF)
    assert march.rows == [["Request received", 4, 2, 50.0, 1, 1, 0], ["All stages", 4, 2, 50.0, 1, 1, 0]]


def test_touchpoints_report_prints_the_table(engine, db_url, tmp_path):
    _store(engine)
    config = tmp_path / "config.toml"
    config.write_text("[touchpoints]\n")
    env = {**os.environ, "EHCP_DATABASE_URL": db_url, "EHCP_CONFIG": str(config)}
    out = subprocess.run([sys.executable, "-m", "ehcp_monitor", "touchpoints", "report", "--as-of", "2025-06-10"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "2025-03\tRequest received\t4\t2\t50.0\t1\t1\t0" in lines
    assert "2025-04\tDecision to assess\t3\t1\t33.3\t1\t1\t0" in lines
    assert "2025-06\tRequest received\t1\t0\t\t0\t0\t1" in lines
    assert "@" not in out.stdout


def test_on_the_day_seen_an_unsent_event_is_still_waiting():
    # On Friday 14 March, event I (not sent) still has until Monday: waiting, not yet a promise missed.
    table = promise_by_stage_and_month(outbox(), as_of=date(2025, 3, 14))
    assert table.filter(pl.col("month") == date(2025, 3, 1)).rows() == [(RR, date(2025, 3, 1), 4, 2, 1, 0, 1, 66.7)]
