"""Which events exist on the as-of date, from a snapshot and stored results (no database)."""

import json
from datetime import date, timedelta

import polars as pl

from ehcp_monitor import config
from ehcp_monitor.db.snapshot import Snapshot
from ehcp_monitor.domain.results import RESULT_SCHEMA
from ehcp_monitor.touchpoints.events import find_events
from tests.touchpoints.conftest import AS_OF, caseload, result

D = date.fromisoformat


def _events(frames, results, as_of=AS_OF, **changes):
    snap = Snapshot.from_frames({n: pl.DataFrame(rows) for n, rows in frames.items()})
    res = pl.DataFrame([{c: r.get(c) for c in RESULT_SCHEMA} for r in results], schema=RESULT_SCHEMA, orient="row")
    settings = config.defaults().replace(**changes)
    return find_events(snap, res, settings, as_of=as_of)


def _keys(events):
    return {(r["stage"], r["case_ref"], r["event_date"]) for r in events.iter_rows(named=True)}


def test_every_stage_fires_on_its_documented_event_date():
    frames, results = caseload()
    frames["assessments"].append({"request_id": "R3", "assessment_outcome": "Y",
                                  "assessment_outcome_date": D("2025-03-13")})
    frames["plans"].append({"plan_id": "PL3", "person_id": "P2", "request_id": "R3", "start_date": D("2025-03-13")})
    frames["requests"].append({"request_id": "R4", "person_id": "P2", "received_date": D("2025-01-02"),
                               "request_outcome": "N", "request_outcome_date": D("2025-02-10")})
    frames["requests"].append({"request_id": "R5", "person_id": "P2", "received_date": D("2024-09-02"),
                               "request_outcome": "Y", "request_outcome_date": D("2024-10-10")})
    frames["assessments"].append({"request_id": "R5", "assessment_outcome": "N",
                                  "assessment_outcome_date": D("2025-01-20")})
    frames["reviews"].append({"plan_id": "PL1", "meeting_date": D("2024-01-10"), "decision_date": D("2024-02-01"),
                              "outcome": "amend", "amendment_notice_date": D("2024-02-05"),
                              "amended_final_date": D("2024-03-20")})
    keys = _keys(_events(frames, results))
    assert keys >= {
        ("request_received", "R1", D("2025-03-10")),
        ("decision_to_assess", "R2", D("2024-11-01")),
        ("decision_not_to_assess", "R4", D("2025-02-10")),
        ("draft_plan_issued", "R3", D("2025-03-05")),
        ("final_plan_issued", "R3", D("2025-03-13")),
        ("decision_not_to_issue", "R5", D("2025-01-20")),
        ("delay_notice", "R2", D("2025-03-02")),
        ("review_upcoming", "R0", D("2025-05-01") - timedelta(days=56)),
        ("review_decision", "R0", D("2025-03-12")),
        ("amended_plan_issued", "R0", D("2024-03-20")),
    }


def test_future_events_do_not_exist_yet():
    frames, results = caseload()
    keys = _keys(_events(frames, results, as_of=D("2025-03-11")))
    assert ("review_decision", "R0", D("2025-03-12")) not in keys
    assert ("request_received", "R1", D("2025-03-10")) in keys


def test_one_delay_notice_per_case_lists_every_overdue_statutory_step():
    frames, results = caseload()
    delays = _events(frames, results).filter(pl.col("stage") == "delay_notice")
    assert delays.height == 1
    steps = json.loads(delays["context"][0])["late_steps"]
    # DRAFT_LOCAL is a local target, not a statutory clock: not in a delay notice
    assert [s["measure"] for s in steps] == ["ADVICE_6W", "FINAL_20W"]
    assert steps[0]["item"] == "health"


def test_delay_notice_fires_on_first_overdue_day_then_every_repeat():
    frames, _ = caseload()
    due = D("2025-01-10")

    def on(as_of):
        days = (as_of - due).days
        res = [result("DECIDE_6W", request_id="R1", due=due, status="overdue", days_late=days)]
        ev = _events(frames, res, as_of=as_of, **{"touchpoints.delay_repeat_days": 28})
        return set(ev.filter(pl.col("stage") == "delay_notice")["event_date"].to_list())

    assert on(D("2025-01-11")) == {D("2025-01-11")}
    assert on(D("2025-02-07")) == {D("2025-01-11")}
    assert on(D("2025-02-08")) == {D("2025-02-08")}
    assert on(D("2025-03-14")) == {D("2025-03-08")}


def test_clocks_out_of_step_still_give_one_notice_per_case_per_run():
    frames, _ = caseload()
    # Two overdue clocks of one case whose repeat cycles differ by three days: one email a run.
    res = [
        result("DECIDE_6W", request_id="R1", due=D("2025-01-10"), status="overdue", days_late=63),
        result("ADVICE_6W", request_id="R1", item="health", due=D("2025-01-13"), status="overdue", days_late=60),
    ]
    ev = _events(frames, res, as_of=D("2025-03-14"), **{"touchpoints.delay_repeat_days": 28})
    delays = ev.filter(pl.col("stage") == "delay_notice")
    # first overdue days 2025-01-11 and 2025-01-14; latest repeats 2025-03-08 and 2025-03-11
    assert delays["event_date"].to_list() == [D("2025-03-11")]
    assert [s["measure"] for s in json.loads(delays["context"][0])["late_steps"]] == ["DECIDE_6W", "ADVICE_6W"]


def test_review_upcoming_uses_the_notice_setting_and_skips_completed_cycles():
    frames, results = caseload()
    results.append(result("REVIEW_12M", request_id="R0", plan_id="PL1", anchor=D("2023-05-01"),
                          due=D("2024-05-01"), completed=D("2024-05-01"), status="met"))
    ev = _events(frames, results, **{"touchpoints.review_notice_days": 30})
    upcoming = ev.filter(pl.col("stage") == "review_upcoming")
    assert upcoming["event_date"].to_list() == []  # 2025-05-01 - 30 days is after the as-of date
    ev = _events(frames, results, as_of=D("2025-04-01"), **{"touchpoints.review_notice_days": 30})
    assert ev.filter(pl.col("stage") == "review_upcoming")["event_date"].to_list() == [D("2025-04-01")]


def test_plan_without_a_request_uses_its_plan_id_as_case_reference():
    frames, results = caseload()
    frames["plans"].append({"plan_id": "PL9", "person_id": "P2", "start_date": D("2024-01-01")})
    frames["reviews"].append({"plan_id": "PL9", "meeting_date": D("2025-03-01"), "decision_date": D("2025-03-10"),
                              "outcome": "cease"})
    ev = _events(frames, results).filter(pl.col("stage") == "review_decision")
    assert ("PL9", "cease") in set(zip(ev["case_ref"], ev["variant"], strict=False))


def test_a_historical_request_is_not_announced_as_received():
    frames, results = caseload()
    # Transferred in from another LA last week: on record here, but not a request the family just made.
    frames["requests"].append({"request_id": "R9", "person_id": "P2", "received_date": AS_OF - timedelta(days=3),
                               "request_outcome": "H", "request_outcome_date": None})
    frames["drafts"].append({"request_id": "R9", "draft_plan_date": AS_OF - timedelta(days=2)})
    events = _events(frames, results)
    assert events.filter(pl.col("request_id") == "R9").is_empty()  # nor told a draft is out
    assert not events.filter((pl.col("stage") == "request_received") & (pl.col("request_id") != "R9")).is_empty()
