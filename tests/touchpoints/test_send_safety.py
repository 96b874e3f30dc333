"""What may still be sent when dispatch runs (docs/touchpoints.md, Checked again when sent):
nothing dated before the go-live
in force, nothing grown stale while it waited, and no plan on another day's results or on no data."""

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select

from ehcp_monitor.db.in_force import StaleResults
from ehcp_monitor.db.models import CheckRun, StoreSetting, Touchpoint
from ehcp_monitor.touchpoints import dispatch_touchpoints, plan_touchpoints
from tests.touchpoints.conftest import AS_OF, NOW, result, store_case, tp_settings

D = date.fromisoformat


def _families(n: int = 3):
    frames = {
        "people": [{"person_id": f"P{i}", "date_of_birth": D("2015-01-01")} for i in range(n)],
        "requests": [{"request_id": f"R{i}", "person_id": f"P{i}", "received_date": AS_OF - timedelta(days=2),
                      "request_outcome": "A"} for i in range(n)],
        "contacts": [{"contact_id": f"C{i}", "person_id": f"P{i}", "role": "parent_carer",
                      "email": f"parent{i}@example.org"} for i in range(n)],
    }
    return frames, [result("DECIDE_6W", request_id=f"R{i}", person_id=f"P{i}",
                           due=AS_OF + timedelta(days=40), status="pending") for i in range(n)]


def _by_status(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(select(Touchpoint.status, func.count()).group_by(Touchpoint.status)).all())


def _planned(engine, tmp_path):
    store_case(engine, *_families())
    settings = tp_settings(**{"touchpoints.transport": "file", "touchpoints.outbox_dir": str(tmp_path / "out")})
    plan_touchpoints(engine, settings, as_of=AS_OF)
    assert _by_status(engine) == {"pending": 3}
    return settings


def test_a_go_live_moved_later_sends_nothing_dated_before_it(engine, tmp_path):
    settings = _planned(engine, tmp_path).replace(**{"touchpoints.go_live": (AS_OF + timedelta(days=1)).isoformat()})
    counts = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)
    assert counts["sent"] == 0 and _by_status(engine) == {"baseline": 3}
    assert not (tmp_path / "out").exists()


def test_an_email_grown_stale_while_it_waited_is_not_sent(engine, tmp_path):
    settings = _planned(engine, tmp_path)
    later = AS_OF + timedelta(days=settings.touchpoints.max_event_age_days + 3)
    counts = dispatch_touchpoints(engine, settings, as_of=later,
                                  now=datetime.combine(later, NOW.timetz()).astimezone(timezone.utc))
    assert counts["sent"] == 0 and _by_status(engine) == {"suppressed": 3}
    assert not (tmp_path / "out").exists()


def test_the_same_emails_are_sent_when_nothing_has_changed(engine, tmp_path):
    settings = _planned(engine, tmp_path)
    assert dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)["sent"] == 3


def test_planning_refuses_another_days_results_and_an_empty_store(engine):
    settings = tp_settings(**{"touchpoints.go_live": ""})
    with pytest.raises(StaleResults, match="nothing has been ingested yet"):
        plan_touchpoints(engine, settings, as_of=AS_OF)
    store_case(engine, *_families())
    with engine.begin() as conn:
        conn.execute(insert(CheckRun).values(as_of=AS_OF + timedelta(days=18), ingest_id=1, started_at=NOW,
                                             counts={}))
    with pytest.raises(StaleResults, match=r"results are as of .*, not .*: run `ehcp-monitor check --as-of"):
        plan_touchpoints(engine, settings, as_of=AS_OF)
    with engine.connect() as conn:  # neither refusal fixed a go-live
        keys = conn.execute(select(StoreSetting.key)).scalars().all()
    assert "touchpoints.go_live" not in keys
    assert _by_status(engine) == {}


@pytest.mark.parametrize("change", ["opted_out", "email"])
def test_an_ingest_while_a_message_waits_its_pace_slot_stops_the_run_before_it_goes(engine, smtp_server, change):
    """The row and its contact are read before the pace wait; an ingest committed meanwhile (an
    opt-out, a new address) must not be overtaken by a send from the records before it (a review
    found the first message sent, the second to the old address or after the opt-out)."""
    from ehcp_monitor.touchpoints.dispatch import RecordsChanged
    from tests.touchpoints.conftest import smtp_settings

    frames, results = _families(2)
    store_case(engine, frames, results, ingest_id=1)
    handler, port = smtp_server()
    settings = smtp_settings(port, **{"touchpoints.rate_per_minute": 60})
    plan_touchpoints(engine, settings, as_of=AS_OF)
    ingested = []

    def pause(seconds):  # the second row waits for its slot while the nightly ingest commits
        changed = {**frames, "contacts": [dict(c) for c in frames["contacts"]]}
        changed["contacts"][1].update(opted_out=True) if change == "opted_out" else changed["contacts"][1].update(
            email="new-address@example.org")
        store_case(engine, changed, results, ingest_id=2)
        ingested.append(seconds)

    with pytest.raises(RecordsChanged, match=r"^touchpoints dispatch: the case records changed \(ingest #2\) while "
                                             r"a message waited its turn"):
        dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW, pause=pause)
    assert ingested and [to for to, _ in handler.received] == [["parent0@example.org"]]
    assert _by_status(engine) == {"sent": 1, "pending": 1}  # given back, for the next plan to check


@pytest.mark.parametrize("why", ["stale", "go_live_moved"])
def test_the_dry_run_leaves_out_what_the_real_run_sets_aside_and_changes_nothing(engine, tmp_path, why):
    """It lists what the real run would send (a review found it listing messages grown stale, or
    dated before a go-live moved later)."""
    settings = _planned(engine, tmp_path)
    as_of, now = AS_OF, NOW
    if why == "stale":
        as_of = AS_OF + timedelta(days=settings.touchpoints.max_event_age_days + 3)
        now = datetime.combine(as_of, NOW.timetz()).astimezone(timezone.utc)
    else:
        settings = settings.replace(**{"touchpoints.go_live": (AS_OF + timedelta(days=1)).isoformat()})
    dry = dispatch_touchpoints(engine, settings, as_of=as_of, now=now, dry_run=True)
    assert dry["would_send"] == 0 and _by_status(engine) == {"pending": 3}
    assert dispatch_touchpoints(engine, settings, as_of=as_of, now=now)["sent"] == 0

