"""Who is told (docs/touchpoints.md, Who is told): the parent carer, or the young person once over
compulsory school age where the records name them as a contact."""

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select, update

from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.domain.vocabulary import ADULT_NAMED, AGE_UNKNOWN, UNDER_SCHOOL_AGE, UNDER_SCHOOL_AGE_NO_PARENT
from ehcp_monitor.touchpoints import plan_touchpoints
from tests.touchpoints.conftest import AS_OF, D, store_case, tp_settings

# AS_OF is 2025-03-14: a child born on 1 September 2008 left compulsory school age on 27 June 2025
# (not yet); one born on 31 August 2008 on 28 June 2024.
UNDER, OVER = D("2008-09-01"), D("2008-08-31")


def family(born: date, *roles: str) -> tuple[dict, list]:
    frames = {
        "people": [{"person_id": "P1", "date_of_birth": born, "forename": "Ria", "surname": "Khan"}],
        "requests": [{"request_id": "R1", "person_id": "P1", "received_date": D("2025-03-10"),
                      "request_outcome": "A"}],
        "contacts": [{"contact_id": f"C{n}", "person_id": "P1", "role": role, "name": f"Contact {n}",
                      "email": f"c{n}@example.org"} for n, role in enumerate(roles, 1)],
    }
    return frames, []


def planned_again_born(engine, frames: dict, results: list, born: date) -> None:
    """The child's date of birth corrected to `born` in the next ingest, and planning run again."""
    frames["people"][0]["date_of_birth"] = born
    store_case(engine, frames, results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)


def days_before_leaving() -> tuple[dict, list]:
    """A parent carer and the young person, of a request received on 20 June 2025: a week before
    the young person leaves compulsory school age."""
    frames, results = family(UNDER, "parent_carer", "young_person")
    frames["requests"][0]["received_date"] = D("2025-06-20")
    return frames, results


def told(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {r.contact_id: (r.status, r.reason) for r in conn.execute(
            select(Touchpoint.contact_id, Touchpoint.status, Touchpoint.reason)
            .where(Touchpoint.stage == "request_received"))}


@pytest.mark.parametrize("born, roles, expected", [
    # Under compulsory school age: the parent carer, never the child.
    (UNDER, ("parent_carer", "young_person"), {"C1": ("pending", None), "C2": ("skipped", UNDER_SCHOOL_AGE)}),
    # Under it and the only contact: a data fault (the role or the date of birth), said as such.
    (UNDER, ("young_person",), {"C1": ("skipped", UNDER_SCHOOL_AGE_NO_PARENT)}),
    # Over it and named: the young person, not their parent carer.
    (OVER, ("parent_carer", "young_person"), {"C1": ("skipped", ADULT_NAMED), "C2": ("pending", None)}),
    # Over it, not named: the parent carer.
    (OVER, ("parent_carer",), {"C1": ("pending", None)}),
])
def test_the_parent_carer_or_the_young_person_over_school_age_is_told(engine, born, roles, expected):
    store_case(engine, *family(born, *roles))
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert told(engine) == expected


def test_a_young_person_passing_school_age_is_told_from_then_on(engine):
    frames, results = family(UNDER, "parent_carer", "young_person")
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    # After 27 June 2025, a new request: the young person is told, the parent carer is not.
    frames["requests"].append({"request_id": "R2", "person_id": "P1", "received_date": D("2025-07-01"),
                               "request_outcome": "A"})
    store_case(engine, frames, results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-07-01"))
    with engine.connect() as conn:
        r2 = {r.contact_id: r.status for r in conn.execute(
            select(Touchpoint.contact_id, Touchpoint.status).where(Touchpoint.case_ref == "R2",
                                                                   Touchpoint.stage == "request_received"))}
    assert r2 == {"C1": "skipped", "C2": "pending"}


def test_a_young_person_passing_school_age_is_not_told_again_what_their_parent_was_told(engine, tmp_path):
    from ehcp_monitor.touchpoints import dispatch_touchpoints

    frames, results = days_before_leaving()
    store_case(engine, frames, results)
    settings = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path)})
    plan_touchpoints(engine, settings, as_of=D("2025-06-23"))
    dispatch_touchpoints(engine, settings, as_of=D("2025-06-23"),
                         now=datetime(2025, 6, 23, 9, tzinfo=timezone.utc))
    # Past the leaving date (27 June) while the event is recent: decided when first planned.
    store_case(engine, frames, results, ingest_id=2)
    plan_touchpoints(engine, settings, as_of=D("2025-06-30"))
    assert told(engine) == {"C1": ("sent", None), "C2": ("skipped", UNDER_SCHOOL_AGE)}


def test_with_no_date_of_birth_and_a_young_person_named_nobody_is_told_until_it_is_corrected(engine):
    frames, results = family(OVER, "parent_carer", "young_person")
    frames["people"][0]["date_of_birth"] = None
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert told(engine) == {"C1": ("skipped", AGE_UNKNOWN), "C2": ("skipped", AGE_UNKNOWN)}
    planned_again_born(engine, frames, results, OVER)
    assert told(engine) == {"C1": ("skipped", ADULT_NAMED), "C2": ("pending", None)}


def test_with_no_date_of_birth_and_no_young_person_named_the_parent_carer_is_told(engine):
    frames, results = family(OVER, "parent_carer")
    frames["people"][0]["date_of_birth"] = None
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert told(engine) == {"C1": ("pending", None)}


def test_who_is_told_goes_by_the_age_on_the_events_date_whenever_it_is_planned(engine):
    # The event is before the leaving date (27 June); its parent carer cannot be reached until after it.
    frames, results = days_before_leaving()
    frames["contacts"][0]["email"] = None
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-06-23"))
    frames["contacts"][0]["email"] = "c1@example.org"
    store_case(engine, frames, results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-06-30"))
    assert told(engine) == {"C1": ("pending", None), "C2": ("skipped", UNDER_SCHOOL_AGE)}


def test_a_date_of_birth_back_gives_each_row_its_reason(engine):
    frames, results = days_before_leaving()
    frames["people"][0]["date_of_birth"] = None
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-06-23"))
    frames["people"][0]["date_of_birth"] = UNDER
    store_case(engine, frames, results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-06-24"))
    assert told(engine) == {"C1": ("pending", None), "C2": ("skipped", UNDER_SCHOOL_AGE)}
    store_case(engine, frames, results, ingest_id=3)
    plan_touchpoints(engine, tp_settings(), as_of=D("2025-06-30"))  # past the leaving date: nothing new
    assert told(engine) == {"C1": ("pending", None), "C2": ("skipped", UNDER_SCHOOL_AGE)}


def test_a_young_person_named_while_their_parents_message_waits_is_told_instead(engine):
    frames, results = family(OVER, "parent_carer")
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert told(engine) == {"C1": ("pending", None)}
    frames["contacts"].append({"contact_id": "C2", "person_id": "P1", "role": "young_person", "name": "Ria Khan",
                               "email": "ria@example.org"})
    store_case(engine, frames, results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert counts["not_to_tell_now"] == 1
    assert told(engine) == {"C1": ("skipped", ADULT_NAMED), "C2": ("pending", None)}


def test_a_date_of_birth_corrected_gives_the_young_person_their_message(engine):
    frames, results = family(UNDER, "parent_carer", "young_person")  # keyed a year too late
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert told(engine) == {"C1": ("pending", None), "C2": ("skipped", UNDER_SCHOOL_AGE)}
    planned_again_born(engine, frames, results, OVER)
    assert told(engine) == {"C1": ("skipped", ADULT_NAMED), "C2": ("pending", None)}


def test_a_young_person_is_written_to_as_themselves(engine, tmp_path):
    import email
    from email import policy

    from ehcp_monitor.touchpoints import dispatch_touchpoints

    frames, results = family(OVER, "parent_carer", "young_person")
    frames["contacts"][1]["name"] = None  # no name to greet them by
    store_case(engine, frames, results)
    settings = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path)})
    plan_touchpoints(engine, settings, as_of=AS_OF)
    assert dispatch_touchpoints(engine, settings, as_of=AS_OF, now=datetime(2025, 3, 14, 9, tzinfo=timezone.utc))[
        "sent"] == 1
    (sent,) = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in tmp_path.glob("*.eml")]
    text = sent.get_body(("plain",)).get_content()
    assert sent["To"] == "c2@example.org" and text.startswith("Hello,\n")
    assert "parent or carer" not in text and "This message is about" not in text and "Ria" not in text


def test_a_held_message_set_aside_for_who_is_told_comes_back_held_not_pending(engine):
    from ehcp_monitor.touchpoints.hold import WAS_HELD
    from ehcp_monitor.touchpoints.unreached import HELD_AGAIN

    frames, results = family(OVER, "parent_carer")
    store_case(engine, frames, results)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    with engine.begin() as conn:  # held in a surge
        conn.execute(update(Touchpoint).values(status="held", reason="surge held: ..."))
    # The young person keyed as a contact the next night (no address yet): the parent carer's held
    # message is set aside; keyed by mistake, the contact is removed again the night after.
    named = {**frames, "contacts": [*frames["contacts"], {"contact_id": "C9", "person_id": "P1",
                                                          "role": "young_person"}]}
    store_case(engine, named, results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert told(engine)["C1"] == ("skipped", ADULT_NAMED + WAS_HELD)
    store_case(engine, frames, results, ingest_id=3)
    counts = plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert told(engine)["C1"] == ("held", HELD_AGAIN)
    assert counts["held"] == 1 and "1 held again" in counts["held_reason"]
