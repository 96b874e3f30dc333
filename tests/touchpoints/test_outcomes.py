"""A decision's outcome told once, whatever order the records arrive in (touchpoints/outcomes.py;
docs/touchpoints.md, When the records change)."""

import copy
from datetime import timedelta

from sqlalchemy import select

from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.touchpoints import plan_touchpoints
from ehcp_monitor.touchpoints.hold import release
from tests.touchpoints.conftest import AS_OF, NOW, D, held_ids, store_case, tp_settings
from tests.touchpoints.test_corrections import DECIDED, NEXT, NEXT_NOW, decided_family, send

AMEND = {"plan_id": "PL1", "meeting_date": D("2025-03-03"), "decision_date": DECIDED, "outcome": "amend"}


def reviewed(*reviews: dict) -> tuple[dict, list]:
    frames, results = decided_family()
    frames["plans"] = [{"plan_id": "PL1", "person_id": "P1", "request_id": "R1", "start_date": D("2024-06-01")}]
    frames["reviews"] = [dict(r) for r in reviews]
    return frames, results


def with_outcome(frames: dict, outcome: str | None) -> dict:
    fixed = copy.deepcopy(frames)
    fixed["reviews"][0]["outcome"] = outcome
    return fixed


def review_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(Touchpoint.variant, Touchpoint.status, Touchpoint.reason)
            .where(Touchpoint.stage == "review_decision").order_by(Touchpoint.id)).all()]


def ids_by_outcome(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Touchpoint.variant, Touchpoint.id)
                                 .where(Touchpoint.stage == "review_decision")).all())


def told(tmp_path) -> list[str]:
    texts = [p.read_text() for p in (tmp_path / "outbox").iterdir()] if (tmp_path / "outbox").exists() else []
    return [t for t in texts if "review" in t.lower()]


def test_a_review_outcome_corrected_on_the_same_date_after_sending_is_held_for_a_person(engine, tmp_path):
    frames, results = reviewed(AMEND)
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert send(engine, tmp_path)["by_stage"]["review_decision"] == 1
    # Keyed amend by mistake; the decision, that day, was to cease the plan.
    store_case(engine, with_outcome(frames, "cease"), results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["held"], counts["corrections_held"], counts["pending"]) == (1, 1, 0)
    assert review_rows(engine) == [
        ("amend", "sent", None),
        ("cease", "held", "held as a correction: the family was already sent decision after the review dated "
                          "2025-03-12 with the outcome amend, and this one tells cease; check the record, then "
                          "`ehcp-monitor touchpoints release --id N` or `discard --id N`"),
    ]
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["sent"] == 0
    assert release(engine, tp_settings(), stage=None, as_of=NEXT, now=NEXT_NOW, ids=held_ids(engine))["released"] == 1
    assert send(engine, tmp_path, NEXT, NEXT_NOW)["by_stage"] == {"review_decision": 1}
    assert [r[:2] for r in review_rows(engine)] == [("amend", "sent"), ("cease", "sent")]


def test_a_review_outcome_corrected_on_the_same_date_before_sending_tells_only_the_corrected_one(engine, tmp_path):
    frames, results = reviewed(AMEND)
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    store_case(engine, with_outcome(frames, "cease"), results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["superseded"], counts["held"]) == (1, 0)
    assert [r[:2] for r in review_rows(engine)] == [("amend", "superseded"), ("cease", "pending")]
    send(engine, tmp_path, NEXT, NEXT_NOW)
    assert [r[:2] for r in review_rows(engine)] == [("amend", "superseded"), ("cease", "sent")]
    (review,) = [p.read_text() for p in (tmp_path / "outbox").iterdir() if "review" in p.read_text().lower()]
    assert "amend" not in review.lower()


TWO = ("held: the records hold two outcomes for decision after the review dated 2025-03-12 (amend, cease); "
       "check the record, then `ehcp-monitor touchpoints release --id N` or `discard --id N`")


def test_two_outcomes_for_one_decision_are_both_held(engine, tmp_path):
    # Two review rows of the plan decided the same day, one amend and one cease: a keying error.
    frames, results = reviewed(AMEND, {**AMEND, "meeting_date": D("2025-03-05"), "outcome": "cease"})
    store_case(engine, frames, results)
    counts = plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert (counts["held"], counts["two_outcomes_held"], counts["corrections_held"]) == (2, 2, 0)
    assert counts["held_reason"] == ("held 2 with two outcomes for one decision; check each, then "
                                     "`touchpoints release --id N` or `discard --id N`")
    assert review_rows(engine) == [("amend", "held", TWO), ("cease", "held", TWO)]
    send(engine, tmp_path)
    assert told(tmp_path) == []


def test_a_second_outcome_found_while_the_first_waits_holds_both(engine, tmp_path):
    frames, results = reviewed(AMEND)
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert [r[:2] for r in review_rows(engine)] == [("amend", "pending")]
    frames["reviews"].append({**AMEND, "meeting_date": D("2025-03-05"), "outcome": "cease"})
    store_case(engine, frames, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert (counts["held"], counts["two_outcomes_held"], counts["corrections_held"]) == (2, 2, 0)
    assert counts["held_reason"] == ("held 2 with two outcomes for one decision; check each, then "
                                     "`touchpoints release --id N` or `discard --id N`")
    assert review_rows(engine) == [("amend", "held", TWO), ("cease", "held", TWO)]


def test_an_outcome_unreadable_for_a_night_sends_nothing_vague_and_holds_nothing(engine, tmp_path):
    frames, results = reviewed(AMEND)
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)  # amend waits for Monday
    # Saturday and Sunday the outcome reads as nothing (a code not mapped yet).
    for n, day in ((2, 1), (3, 2)):
        store_case(engine, with_outcome(frames, None), results, ingest_id=n)
        counts = plan_touchpoints(engine, tp_settings(), as_of=AS_OF + timedelta(days=day))
        assert (counts["planned"], counts["held"]) == (0, 0)
    assert [r[:2] for r in review_rows(engine)] == [("amend", "superseded")]
    store_case(engine, frames, results, ingest_id=4)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["revived"], counts["held"]) == (1, 0)
    send(engine, tmp_path, NEXT, NEXT_NOW)
    (review,) = told(tmp_path)
    assert "amend" in review.lower()


def test_an_outcome_keyed_the_day_after_the_decision_was_told_is_not_told_again(engine, tmp_path):
    frames, results = reviewed({**AMEND, "outcome": None})
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    send(engine, tmp_path)
    assert [r[:2] for r in review_rows(engine)] == [("", "sent")]
    store_case(engine, frames | {"reviews": [AMEND]}, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["planned"], counts["held"]) == (0, 0)
    assert [r[:2] for r in review_rows(engine)] == [("", "sent")]


def test_an_outcome_keyed_before_the_decision_was_sent_replaces_it(engine, tmp_path):
    frames, results = reviewed({**AMEND, "outcome": None})
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    store_case(engine, frames | {"reviews": [AMEND]}, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    assert (counts["superseded"], counts["pending"], counts["held"]) == (1, 1, 0)
    send(engine, tmp_path, NEXT, NEXT_NOW)
    assert [r[:2] for r in review_rows(engine)] == [("", "superseded"), ("amend", "sent")]
    (review,) = told(tmp_path)
    assert "amend" in review.lower()


def test_a_person_releases_the_right_outcome_and_discards_the_other_by_id(engine, db_url, tmp_path):
    from tests.touchpoints.test_cli import run

    frames, results = reviewed(AMEND, {**AMEND, "meeting_date": D("2025-03-05"), "outcome": "cease"})
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    ids = ids_by_outcome(engine)
    config = tmp_path / "config.toml"
    config.write_text("[touchpoints]\ngo_live = 2000-01-01\n")
    released = run(["touchpoints", "release", "--id", str(ids["cease"]), "--as-of", "2025-03-14"], tmp_path, db_url,
                   config)
    discarded = run(["touchpoints", "discard", "--id", str(ids["amend"])], tmp_path, db_url, config)
    assert released.returncode == 0 and discarded.returncode == 0, released.stderr + discarded.stderr
    assert [r[:2] for r in review_rows(engine)] == [("amend", "discarded"), ("cease", "pending")]
    send(engine, tmp_path)
    (review,) = told(tmp_path)
    assert "stop" in review.lower() and "amend" not in review.lower()
    # An ID named again, or one that is not in the outbox: the command says why nothing happened,
    # and exits 1 so that a script can tell.
    for action, done in (("release", "nothing released"), ("discard", "discarded: 0")):
        again = run(["touchpoints", action, "--id", str(ids["cease"]), "--id", "999"], tmp_path, db_url, config)
        assert again.returncode == 1, again.stderr
        assert f"not_held:\n  {ids['cease']}: sent\n  999: not in the outbox\n" in again.stdout
        assert done in again.stdout
        assert f"touchpoints {action}: 2 of the rows named by --id were not held" in again.stderr


def test_a_decision_without_outcome_does_not_come_back_after_the_outcome_was_sent(engine, tmp_path):
    frames, results = reviewed({**AMEND, "outcome": None})
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)  # the decision, no outcome yet: waits
    store_case(engine, with_outcome(frames, "amend"), results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    send(engine, tmp_path, NEXT, NEXT_NOW)
    assert [r[:2] for r in review_rows(engine)] == [("", "superseded"), ("amend", "sent")]
    # The outcome reads as nothing for a night: the vaguer message stays set aside.
    store_case(engine, frames, results, ingest_id=3)
    assert plan_touchpoints(engine, tp_settings(), as_of=NEXT + timedelta(days=1))["revived"] == 0
    assert [r[:2] for r in review_rows(engine)] == [("", "superseded"), ("amend", "sent")]


def test_a_message_back_beside_a_second_outcome_is_held_with_it(engine, tmp_path):
    frames, results = reviewed(AMEND)
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)  # amend waits
    store_case(engine, frames | {"reviews": []}, results, ingest_id=2)  # the review set aside a night
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF + timedelta(days=1))
    frames["reviews"].append({**AMEND, "meeting_date": D("2025-03-05"), "outcome": "cease"})
    store_case(engine, frames, results, ingest_id=3)  # back, with a second outcome beside it
    counts = plan_touchpoints(engine, tp_settings(), as_of=AS_OF + timedelta(days=2))
    assert (counts["two_outcomes_held"], counts["revived"]) == (2, 0)
    assert review_rows(engine) == [("amend", "held", TWO), ("cease", "held", TWO)]


def test_releasing_everything_held_keeps_two_outcomes_of_one_decision_held(engine, tmp_path):
    frames, results = reviewed(AMEND, {**AMEND, "meeting_date": D("2025-03-05"), "outcome": "cease"})
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    counts = release(engine, tp_settings(), stage=None, as_of=AS_OF, now=NOW)
    assert (counts["released"], counts["two_outcomes_kept"]) == (0, 2)
    assert [r[1] for r in review_rows(engine)] == ["held", "held"]
    send(engine, tmp_path)
    assert told(tmp_path) == []


def test_a_two_outcome_hold_left_after_the_right_one_went_is_not_released_with_the_rest(engine, tmp_path):
    frames, results = reviewed(AMEND, {**AMEND, "meeting_date": D("2025-03-05"), "outcome": "cease"})
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    ids = ids_by_outcome(engine)
    release(engine, tp_settings(), stage=None, as_of=AS_OF, now=NOW, ids=[ids["cease"]])
    send(engine, tmp_path)
    # The other outcome was not discarded: releasing everything later still keeps it.
    counts = release(engine, tp_settings(), stage=None, as_of=AS_OF, now=NOW)
    assert (counts["released"], counts["two_outcomes_kept"]) == (0, 1)
    assert [r[:2] for r in review_rows(engine)] == [("amend", "held"), ("cease", "sent")]


def test_two_outcomes_put_right_in_the_records_leave_the_right_one_held_and_releasable(engine, tmp_path):
    from ehcp_monitor.touchpoints.outcomes import SETTLED

    frames, results = reviewed(AMEND, {**AMEND, "meeting_date": D("2025-03-05"), "outcome": "cease"})
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    frames["reviews"] = frames["reviews"][1:]  # cease only
    store_case(engine, frames, results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert [r[1:] for r in review_rows(engine)] == [
        ("superseded", f"its event is no longer in the records (corrected or removed) when planned again on {AS_OF}"
                       "; it was held"),
        ("held", SETTLED)]
    counts = release(engine, tp_settings(), stage=None, as_of=AS_OF, now=NOW, ids=held_ids(engine))
    assert counts["released"] == 1 and "two_outcomes_kept" not in counts
