"""Done dates gone from the records (ingest/gone_dates.py), on SQLite and PostgreSQL: each ingest
records the cases whose dates of a column the new extract holds fewer of than the snapshot before."""

import shutil
from datetime import date
from pathlib import Path

from sqlalchemy import select

from ehcp_monitor.db.models import GoneDate
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.ingest.guards import ingest_notes
from tests.conftest import SEN2_EXAMPLE
from tests.ingest.extract import base_tables, write_csv

D = date.fromisoformat


def _gone(engine, ingest_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(GoneDate.as_of, GoneDate.table_name, GoneDate.column_name, GoneDate.request_id, GoneDate.plan_id,
                   GoneDate.before, GoneDate.after, GoneDate.latest_gone)
            .where(GoneDate.ingest_id == ingest_id).order_by(GoneDate.table_name, GoneDate.column_name)).all()]


def test_dates_left_out_or_cleared_are_recorded_by_case_and_column(engine, settings, as_of, tmp_path):
    tables = base_tables()
    first = run_ingest(engine, settings, str(write_csv(tmp_path / "a", tables)), as_of=as_of)
    assert _gone(engine, first.ingest_id) == []  # nothing to compare with
    changed = {**tables,
               # R1's education advice received date cleared; its health advice was never received.
               "advice": [{**a, "received_date": ""} for a in tables["advice"]],
               # R3's decision date cleared (its outcome kept), and PL3's amended plan date moved.
               "requests": [{**r, "request_outcome_date": ""} if r["request_id"] == "R3" else r
                            for r in tables["requests"]],
               "reviews": [{**r, "amended_final_date": "2024-08-16"} for r in tables["reviews"]]}
    result = run_ingest(engine, settings, str(write_csv(tmp_path / "b", changed)), as_of=as_of, accept_shrink=True)
    assert _gone(engine, result.ingest_id) == [
        (as_of, "advice", "received_date", "R1", None, 1, 0, D("2024-11-01")),
        (as_of, "requests", "request_outcome_date", "R3", None, 1, 0, D("2023-04-05")),
    ]
    assert result.summary["gone_dates"] == {"cases": 2, "by_column": {"advice.received_date": 1,
                                                                     "requests.request_outcome_date": 1}}
    assert ("done dates gone since the extract before: 2 cases (advice.received_date 1, "
            "requests.request_outcome_date 1); their apologies, updates and review reminders are held for a person "
            "(`ehcp-monitor touchpoints list --status held`)") in ingest_notes(engine, result.ingest_id)


def test_a_table_left_out_and_accepted_loses_every_date_of_it(engine, settings, as_of, tmp_path):
    tables = base_tables()
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", tables)), as_of=as_of)
    without = {k: v for k, v in tables.items() if k != "reviews"}
    result = run_ingest(engine, settings, str(write_csv(tmp_path / "b", without)), as_of=as_of,
                        accept_missing=("reviews",))
    assert [(t, c, p, before, after) for _, t, c, _, p, before, after, _ in _gone(engine, result.ingest_id)] == [
        ("reviews", "amended_final_date", "PL3", 1, 0), ("reviews", "amendment_notice_date", "PL3", 1, 0),
        ("reviews", "decision_date", "PL3", 1, 0)]


def test_one_of_two_alike_dates_gone_names_that_date(engine, settings, as_of, tmp_path):
    """Two advice requests received the same day, one left out: fewer dates, none of them new."""
    tables = base_tables()
    tables["advice"][1] = {**tables["advice"][1], "received_date": "2024-11-01"}
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", tables)), as_of=as_of)
    one = {**tables, "advice": tables["advice"][:1]}
    result = run_ingest(engine, settings, str(write_csv(tmp_path / "b", one)), as_of=as_of, accept_shrink=True)
    gone = _gone(engine, result.ingest_id)
    assert [(c, r, before, after, latest) for _, _, c, r, _, before, after, latest in gone] == [
        ("received_date", "R1", 2, 1, D("2024-11-01")), ("requested_date", "R1", 2, 1, D("2024-10-14"))]


def test_a_review_replaced_by_the_next_in_a_full_history_is_gone(engine, settings, as_of, tmp_path):
    """A canonical extract keeps every review: the last one's dates leaving when the next meeting
    is keyed are dates gone (a review found a plan moved on exempted wholesale), whereas an SEN2
    extract's would not be (below)."""
    tables = base_tables()
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", tables)), as_of=as_of)
    nxt = {**tables, "reviews": [{**tables["reviews"][0], "meeting_date": "2025-03-03", "decision_date": "",
                                  "outcome": "", "amendment_notice_date": "", "amended_final_date": ""}]}
    result = run_ingest(engine, settings, str(write_csv(tmp_path / "b", nxt)), as_of=as_of)
    assert [(t, c) for _, t, c, *_ in _gone(engine, result.ingest_id)] == [
        ("reviews", "amended_final_date"), ("reviews", "amendment_notice_date"), ("reviews", "decision_date")]


ACTIVE_PLANS = ("activeplanstableid,NativeId,activeplansorderseqcolumn,sourceid,requeststableid,transferla,res,wbp,"
                "reviewmeeting,reviewoutcome,reviewdraft,phasetransferduedate,phasetransferfinaldate,lastreview\n")


def _sen2_night(engine, settings, folder: Path, as_of: str, plan63: str) -> list[tuple]:
    """The example SEN2 export with plan 63's active-plans row (its review and transfer columns)
    as given, ingested as of `as_of`; what it found gone. (The export is tiny: one plan's row is
    over the shrink share, which at scale it is not.)"""
    shutil.copytree(SEN2_EXAMPLE, folder)
    (folder / "Blade-Export_14-03-2025_activeplans.csv").write_text(
        ACTIVE_PLANS + "61,,1,1,21,,0,0,,,,,,\n" + f"63,,2,1,23,,0,0,{plan63}\n", encoding="utf-8")
    result = run_ingest(engine, settings, str(folder), as_of=D(as_of), accept_shrink=True)
    return _gone(engine, result.ingest_id)


def test_an_sen2_plans_ordinary_review_and_transfer_life_loses_no_date(engine, settings, tmp_path):
    """SEN2 carries each plan's latest review and transfer only: the next review's meeting, then
    its decision, and the next transfer replace the last ones' dates (a review found them counted
    as gone nearly every night)."""
    def night(n: int, as_of: str, plan63: str) -> list[tuple]:
        return _sen2_night(engine, settings, tmp_path / f"night{n}", as_of, plan63)

    # reviewmeeting, reviewoutcome, reviewdraft, phasetransferduedate, phasetransferfinaldate, lastreview
    assert night(1, "2025-03-14", "2024-Oct-08 00:00:00,A,2024-Oct-29 00:00:00,,,2024-Oct-29 00:00:00") == []
    # A year on: the next meeting exported the night after it is held, its decision to come.
    assert night(2, "2025-09-24", "2025-Sep-23 00:00:00,A,2024-Oct-29 00:00:00,,,2024-Oct-29 00:00:00") == []
    # Its decision (maintain) a week later: the row carries the new review, and no draft.
    assert night(3, "2025-10-01", "2025-Sep-23 00:00:00,M,,,,2025-Sep-30 00:00:00") == []
    # A transfer's final plan recorded, then the next transfer due in its place.
    assert night(4, "2025-10-02", "2025-Sep-23 00:00:00,M,,2025-Feb-15 00:00:00,2025-Feb-10 00:00:00,"
                                  "2025-Sep-30 00:00:00") == []
    assert night(5, "2025-10-03", "2025-Sep-23 00:00:00,M,,2026-Mar-31 00:00:00,,2025-Sep-30 00:00:00") == []
    # The decision left out of tonight's export, the review kept: a date gone.
    gone = night(6, "2025-10-04", "2025-Sep-23 00:00:00,,,2026-Mar-31 00:00:00,,")
    assert [(t, c) for _, t, c, *_ in gone] == [("reviews", "decision_date")]


def test_a_plan_ceased_or_a_case_gone_whole_is_counted(engine, settings, as_of, tmp_path):
    """Nothing of it is told while it is gone; back without its dates, it must be held (a review
    found both let off, and then missed when they came back)."""
    tables = base_tables()
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", tables)), as_of=as_of)
    # PL3 ceased, left out of the export of active plans' reviews and transfers; R1 left out whole.
    ceased = {**tables, "plans": [{**p, "cease_date": "2025-02-01", "cease_reason": "moved"} if p["plan_id"] == "PL3"
                                  else p for p in tables["plans"] if p["request_id"] != "R1"],
              "requests": [r for r in tables["requests"] if r["request_id"] != "R1"],
              "reviews": [], "phase_transfers": []}
    result = run_ingest(engine, settings, str(write_csv(tmp_path / "b", ceased)), as_of=as_of, accept_shrink=True)
    assert {(t, c, r or p) for _, t, c, r, p, *_ in _gone(engine, result.ingest_id)} >= {
        ("reviews", "decision_date", "PL3"), ("phase_transfers", "final_date", "PL3"),
        ("requests", "request_outcome_date", "R1"), ("drafts", "draft_plan_date", "R1")}


def test_an_sen2_review_decision_cleared_as_its_amendment_is_keyed_is_gone(engine, settings, tmp_path):
    """The latest review's row later now by its amendment notice, its decision cleared: not the
    last review's leftover (a review found it let off)."""
    def night(n: int, as_of: str, plan63: str) -> list[tuple]:
        return _sen2_night(engine, settings, tmp_path / f"night{n}", as_of, plan63)

    assert night(1, "2025-10-01", "2025-Sep-23 00:00:00,A,,,,2025-Sep-30 00:00:00") == []
    gone = night(2, "2025-10-03", "2025-Sep-23 00:00:00,A,2025-Oct-02 00:00:00,,,")
    assert [(t, c) for _, t, c, *_ in gone] == [("reviews", "decision_date")]


def test_an_sen2_review_re_keyed_days_later_with_its_decision_cleared_is_gone(engine, settings, tmp_path):
    """A meeting days after the last decision is the same review re-keyed, not the next one: its
    decision cleared is a date gone (a review found it let off as the last review's leftover)."""
    def night(n: int, as_of: str, plan63: str) -> list[tuple]:
        return _sen2_night(engine, settings, tmp_path / f"night{n}", as_of, plan63)

    assert night(1, "2025-03-06", "2025-Mar-01 00:00:00,M,,,,2025-Mar-05 00:00:00") == []
    gone = night(2, "2025-03-11", "2025-Mar-10 00:00:00,,,,,")
    assert [(t, c) for _, t, c, *_ in gone] == [("reviews", "decision_date")]
