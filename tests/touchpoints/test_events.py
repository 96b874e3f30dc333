"""Which events exist on the as-of date, from a snapshot and stored results (no database)."""

import json
from datetime import date, timedelta

import polars as pl

from ehcp_monitor import config
from ehcp_monitor.checks import evaluate
from ehcp_monitor.db.snapshot import Snapshot
from ehcp_monitor.domain.results import RESULT_SCHEMA
from ehcp_monitor.synthetic import generate
from ehcp_monitor.touchpoints.events import find_all, find_events
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


def test_a_review_whose_meeting_is_recorded_is_no_longer_coming_up():
    frames, results = caseload()  # PL1's cycle from 2024-05-01, due 2025-05-01: told 56 days before
    assert _keys(_events(frames, results, as_of=D("2025-03-06"))) >= {("review_upcoming", "R0", D("2025-03-06"))}
    # The meeting held on 3 March, the decision to come: no "we will invite you to a meeting".
    frames["reviews"] = [{"plan_id": "PL1", "meeting_date": D("2025-03-03")}]
    assert "review_upcoming" not in {k[0] for k in _keys(_events(frames, results, as_of=D("2025-03-06")))}
    # A meeting booked ahead is still to come: the review is coming up.
    frames["reviews"] = [{"plan_id": "PL1", "meeting_date": D("2025-04-20")}]
    assert ("review_upcoming", "R0", D("2025-03-06")) in _keys(_events(frames, results, as_of=D("2025-03-06")))
    # A meeting before the cycle's anchor (the last cycle's, its decision not keyed) does not count.
    frames["reviews"] = [{"plan_id": "PL1", "meeting_date": D("2024-04-20")}]
    assert ("review_upcoming", "R0", D("2025-03-06")) in _keys(_events(frames, results, as_of=D("2025-03-06")))


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


def test_a_historical_requests_assessment_outcome_is_not_news():
    frames, results = caseload()
    # Received in 2019, its plan issued then; the records date the assessment's outcome last week (a
    # typo, or the day a supplier re-keyed it): no "final plan issued", no "we will not issue".
    frames["requests"].append({"request_id": "R9", "person_id": "P2", "received_date": D("2019-01-07"),
                               "request_outcome": "H", "request_outcome_date": None})
    frames["requests"].append({"request_id": "R8", "person_id": "P2", "received_date": D("2019-03-04"),
                               "request_outcome": "H", "request_outcome_date": None})
    frames["assessments"].append({"request_id": "R9", "assessment_outcome": "Y",
                                  "assessment_outcome_date": AS_OF - timedelta(days=6)})
    frames["assessments"].append({"request_id": "R8", "assessment_outcome": "N",
                                  "assessment_outcome_date": AS_OF - timedelta(days=6)})
    # A current request whose plan was issued the same day is told.
    frames["requests"].append({"request_id": "R7", "person_id": "P2", "received_date": D("2025-02-03"),
                               "request_outcome": "Y", "request_outcome_date": D("2025-03-10")})
    frames["assessments"].append({"request_id": "R7", "assessment_outcome": "Y",
                                  "assessment_outcome_date": AS_OF - timedelta(days=6)})
    events = _events(frames, results)
    assert events.filter(pl.col("request_id").is_in(["R9", "R8"])).is_empty()
    assert _keys(events.filter(pl.col("request_id") == "R7")) >= {
        ("final_plan_issued", "R7", AS_OF - timedelta(days=6))}


def test_a_request_withdrawn_before_it_was_seen_is_not_announced_as_received():
    frames, results = caseload()
    # Made and withdrawn between two extracts: "we will decide by ..." would be untrue.
    frames["requests"].append({"request_id": "R9", "person_id": "P2", "received_date": AS_OF - timedelta(days=3),
                               "request_outcome": "W", "request_outcome_date": AS_OF - timedelta(days=1)})
    events = _events(frames, results)
    assert events.filter(pl.col("request_id") == "R9").is_empty()


# --- which child (touchpoints.child_reference) --------------------------------------------------


def _child_names(mode):
    frames, results = caseload()
    frames["people"][0]["surname"] = " smith"  # initials are capitals, whatever the record holds
    ev = _events(frames, results, **{"touchpoints.child_reference": mode})
    return {r["case_ref"]: json.loads(r["context"])["child_name"] for r in ev.iter_rows(named=True)}


def test_the_child_is_named_as_the_la_chooses():
    assert _child_names("first_name")["R1"] == "Alice" and _child_names("first_name")["R3"] == "Bob"
    assert _child_names("initials")["R1"] == "A. S." and _child_names("initials")["R3"] == "B. J."
    assert set(_child_names("none").values()) == {None}


def test_the_default_is_the_first_name_and_a_missing_name_is_no_reference():
    frames, results = caseload()
    frames["people"][1]["forename"] = "  "
    frames["people"][1]["surname"] = None
    ev = _events(frames, results)
    names = {r["case_ref"]: json.loads(r["context"])["child_name"] for r in ev.iter_rows(named=True)}
    assert names["R1"] == "Alice" and names["R3"] is None
    ev = _events(frames, results, **{"touchpoints.child_reference": "initials"})
    assert {json.loads(r["context"])["child_name"] for r in ev.filter(pl.col("case_ref") == "R3").iter_rows(
        named=True)} == {None}


# --- delay notices: when the late step is now expected ------------------------------------------


def test_a_late_final_plan_is_expected_on_its_forecast_date_other_steps_on_the_default():
    frames, results = caseload()
    final = next(r for r in results if r["measure"] == "FINAL_20W")
    final["stage"] = "gathering_advice"
    delay = _events(frames, results).filter(pl.col("stage") == "delay_notice")
    steps = {s["measure"]: s for s in json.loads(delay["context"][0])["late_steps"]}
    # No issued cases to learn from: the statutory defaults. In gathering_advice since the first advice
    # request (2024-12-21), 83 days by 2025-03-14; 98 - 83 = 15 days is less than drafting's 56: 2025-05-09.
    assert (steps["FINAL_20W"]["expected_date"], steps["FINAL_20W"]["expected_from"]) == ("2025-05-09", "forecast")
    # ADVICE_6W due 2025-02-01, notice 2025-03-02: later of due + 28 (2025-03-01) and notice + 14 (2025-03-16).
    assert (steps["ADVICE_6W"]["expected_date"], steps["ADVICE_6W"]["expected_from"]) == ("2025-03-16", "default")


def test_a_first_notice_expects_the_step_four_weeks_after_its_due_date():
    frames, _ = caseload()
    res = [result("DECIDE_6W", request_id="R1", due=D("2025-03-01"), status="overdue", days_late=13)]
    delay = _events(frames, res).filter(pl.col("stage") == "delay_notice")
    (step,) = json.loads(delay["context"][0])["late_steps"]
    assert delay["event_date"].to_list() == [D("2025-03-02")]
    assert (step["expected_date"], step["expected_from"]) == ("2025-03-29", "default")


def test_the_facts_of_some_events_are_those_of_the_same_events_found_with_all():
    """The planner encodes facts only for the rows it will keep (Events.contexts): each event's
    context must not depend on which other events are encoded with it."""
    frames, results = caseload()
    frames["reviews"].append({"plan_id": "PL1", "meeting_date": D("2024-01-10"), "decision_date": D("2024-02-01"),
                              "outcome": "amend", "amendment_notice_date": D("2024-02-05"),
                              "amended_final_date": D("2024-03-20")})
    snap = Snapshot.from_frames({n: pl.DataFrame(rows) for n, rows in frames.items()})
    res = pl.DataFrame([{c: r.get(c) for c in RESULT_SCHEMA} for r in results], schema=RESULT_SCHEMA, orient="row")
    found = find_all(snap, res, config.defaults(), as_of=AS_OF)
    every = found.frame()
    assert every.height > 4 and every["context"].null_count() == 0
    for start in range(every.height):
        some = found.keys.slice(start, 3).reverse()
        assert found.frame(some).to_dicts() == every.slice(start, 3).reverse().to_dicts()


def test_a_plans_events_name_who_holds_the_plan_and_the_requests_name_the_requests_officer():
    frames, results = caseload()
    (r0,) = [r for r in frames["requests"] if r["request_id"] == "R0"]  # the request PL1 came from
    r0 |= {"case_officer": "Jo Officer", "team": "North"}
    frames["plans"][0] |= {"case_officer": "Pat Holder", "team": None}
    frames["plans"].append({"plan_id": "PL9", "person_id": "P2", "request_id": None, "start_date": D("2024-03-20"),
                            "case_officer": "Lee Own", "team": "South"})
    frames["reviews"] = [{"plan_id": "PL1", "meeting_date": D("2025-03-03"), "decision_date": D("2025-03-10"),
                          "outcome": "maintain"},
                         {"plan_id": "PL9", "meeting_date": D("2025-03-03"), "decision_date": D("2025-03-11"),
                          "outcome": "maintain"}]
    named = {(r["stage"], r["case_ref"]): json.loads(r["context"])
             for r in _events(frames, results).iter_rows(named=True)}
    # The plan's holder, and the request's team where the plan has none.
    assert (named["review_decision", "R0"]["case_officer"], named["review_decision", "R0"]["team"]) == (
        "Pat Holder", "North")
    # A plan with no request on record names its own holder.
    assert (named["review_decision", "PL9"]["case_officer"], named["review_decision", "PL9"]["team"]) == (
        "Lee Own", "South")
    assert named["request_received", "R1"]["case_officer"] == "Jo Officer"


def test_late_advice_is_not_apologised_for_once_the_assessment_is_over():
    frames, _ = caseload()
    late = [result("ADVICE_6W", request_id="R2", item="health", due=D("2025-02-01"), status="overdue", days_late=41)]

    def notices(assessments) -> list:
        ev = _events({**frames, "assessments": assessments}, late, as_of=D("2025-03-14"))
        return ev.filter(pl.col("stage") == "delay_notice")["case_ref"].to_list()

    assert notices([{"request_id": "R2", "assessment_outcome": "A"}]) == ["R2"]
    issued = {"request_id": "R2", "assessment_outcome": "Y", "assessment_outcome_date": D("2025-03-10")}
    assert notices([issued]) == []
    assert notices([{**issued, "assessment_outcome": "N"}]) == []
    # An outcome dated after the as-of date is not known yet: the advice is still awaited.
    assert notices([{**issued, "assessment_outcome_date": D("2025-03-20")}]) == ["R2"]


def test_a_late_amendment_is_not_apologised_for_once_a_later_review_is_decided():
    # The amended plan of the 2023 review was never recorded; the plan has been reviewed since.
    frames, _ = caseload()
    late = [
        result("AMEND_FINAL_8W", plan_id="PL1", anchor=D("2023-04-03"), due=D("2023-05-29"), status="overdue",
               days_late=655),
        result("REVIEW_12M", plan_id="PL1", anchor=D("2024-03-12"), due=D("2025-03-12"), status="overdue",
               days_late=2),
    ]
    amend = {"plan_id": "PL1", "meeting_date": D("2023-03-01"), "decision_date": D("2023-03-20"),
             "outcome": "amend"}

    def late_steps(reviews) -> list:
        ev = _events({**frames, "reviews": reviews}, late, as_of=D("2025-03-14"))
        notices = ev.filter(pl.col("stage") == "delay_notice")
        return [[s["measure"] for s in json.loads(c)["late_steps"]] for c in notices["context"]]

    assert late_steps([amend]) == [["AMEND_FINAL_8W", "REVIEW_12M"]]
    for outcome in ("maintain", "amend", "cease"):
        later = {"plan_id": "PL1", "meeting_date": D("2024-02-20"), "decision_date": D("2024-03-12"),
                 "outcome": outcome}
        assert late_steps([amend, later]) == [["REVIEW_12M"]], outcome
    # The amendment's own review is not a later one, even decided (by the records) after its notice.
    own = {**amend, "amendment_notice_date": D("2023-04-03")}
    assert late_steps([{**own, "decision_date": D("2023-04-10")}]) == [["AMEND_FINAL_8W", "REVIEW_12M"]]
    assert late_steps([{**own, "meeting_date": None, "decision_date": D("2023-04-10")}]) == [
        ["AMEND_FINAL_8W", "REVIEW_12M"]]
    # A later review with no meeting date recorded counts from its decision.
    assert late_steps([amend, {"plan_id": "PL1", "meeting_date": None, "decision_date": D("2024-03-12"),
                               "outcome": "maintain"}]) == [["REVIEW_12M"]]
    # A later review decided after the as-of date is not known yet.
    assert late_steps([amend, {"plan_id": "PL1", "meeting_date": D("2025-03-01"),
                               "decision_date": D("2025-03-20"), "outcome": "maintain"}]) == [
        ["AMEND_FINAL_8W", "REVIEW_12M"]]
    # With nothing else late, no notice at all.
    later = {"plan_id": "PL1", "meeting_date": D("2024-02-20"), "decision_date": D("2024-03-12"),
             "outcome": "maintain"}
    ev = _events({**frames, "reviews": [amend, later]}, late[:1], as_of=D("2025-03-14"))
    assert ev.filter(pl.col("stage") == "delay_notice").height == 0


def test_a_drafts_facts_say_whether_the_assessment_has_ended_by_the_as_of_date():
    """`final_outcome`: the final plan issued (Y dated by the as-of date) or the decision not to issue
    one (N); none while the assessment is open or its end is dated after the as-of date."""
    def told(outcome, dated):
        frames = {"people": [{"person_id": "P1", "date_of_birth": D("2015-06-01")}],
                  "requests": [{"request_id": "R1", "person_id": "P1", "received_date": D("2024-11-01"),
                                "request_outcome": "Y", "request_outcome_date": D("2024-12-02")}],
                  "drafts": [{"request_id": "R1", "draft_plan_date": D("2025-03-03")}],
                  "assessments": [{"request_id": "R1", "assessment_outcome": outcome,
                                   "assessment_outcome_date": dated}]}
        (facts,) = _events(frames, []).filter(pl.col("stage") == "draft_plan_issued")["context"]
        return json.loads(facts)["final_outcome"]

    assert told("Y", AS_OF) == "issued" and told("N", AS_OF) == "not_issued" and told("N", None) == "not_issued"
    assert told("A", None) is None and told("Y", None) is None
    assert told("Y", AS_OF + timedelta(days=1)) is None and told("N", AS_OF + timedelta(days=1)) is None


def test_the_steps_of_a_plan_the_child_has_a_newer_one_beside_are_not_apologised_for():
    # PL1 (2020) has no cease date, but the child's plan since 2024 is PL2: PL1's review is not news.
    frames, _ = caseload()
    late = [result("REVIEW_12M", plan_id="PL1", anchor=D("2021-05-01"), due=D("2022-05-01"), status="overdue",
                   days_late=1048),
            result("REVIEW_12M", plan_id="PL2", anchor=D("2024-02-01"), due=D("2025-02-01"), status="overdue",
                   days_late=41)]

    def late_plans(newer_start) -> list:
        plans = [*frames["plans"], {"plan_id": "PL2", "person_id": "P1", "request_id": None, "start_date": newer_start}]
        ev = _events({**frames, "plans": plans, "reviews": []}, late, as_of=D("2025-03-14"))
        notices = ev.filter(pl.col("stage") == "delay_notice")
        return sorted(s["measure"] + " " + str(r) for c, r in zip(notices["context"], notices["case_ref"], strict=True)
                      for s in json.loads(c)["late_steps"])

    assert late_plans(D("2024-02-01")) == ["REVIEW_12M PL2"]
    # A newer plan not yet started by the as-of date replaces nothing yet.
    assert late_plans(D("2025-04-01")) == ["REVIEW_12M PL2", "REVIEW_12M R0"]  # PL1 came from request R0


def test_the_facts_of_a_few_events_in_a_whole_caseload_are_those_found_with_all():
    """A few events of a large caseload are encoded with the case's frames cut to their cases
    first (Events.contexts): they must say what the same events say encoded with all."""
    as_of = date(2025, 7, 10)
    snap = Snapshot.from_frames(generate(people=300, seed=11, as_of=as_of))
    settings = config.defaults()
    found = find_all(snap, evaluate(snap, settings, as_of), settings, as_of=as_of)
    every = found.keys.join(found.contexts(found.keys), on=["_part", "_row"], how="left")
    named = every.filter(pl.col("context").str.contains('"case_officer":"')
                         & pl.col("context").str.contains('"child_name":"'))
    assert every.height > 10 * 12 and named.height >= 12
    for seed in range(5):
        some = named.sample(12, seed=seed)
        assert found.contexts(some.select(found.keys.columns)).sort("_part", "_row").to_dicts() == (
            some.select("_part", "_row", "context").sort("_part", "_row").to_dicts())
