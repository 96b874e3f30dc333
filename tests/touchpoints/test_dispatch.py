"""At most once: claims, crashes, uncertain deliveries, concurrent dispatchers, dry run, file outbox."""

import email
import threading
from datetime import date, datetime, timedelta, timezone
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.models import Contact, Touchpoint
from ehcp_monitor.db.results import snapshot_ingest_id
from ehcp_monitor.touchpoints import dispatch_touchpoints, plan_touchpoints
from ehcp_monitor.touchpoints.dispatch import CLAIM_LEASE, claim, hand_over, recover_interrupted
from tests.touchpoints.conftest import (
    AS_OF,
    NOW,
    Recorder,
    free_port,
    result,
    smtp_settings,
    store_case,
    tp_settings,
)

D = date.fromisoformat


def _by_status(engine):
    with engine.connect() as conn:
        return dict(conn.execute(select(Touchpoint.status, func.count()).group_by(Touchpoint.status)).all())


def many_families(n: int) -> tuple[dict, list]:
    frames = {
        "people": [{"person_id": f"P{i}", "date_of_birth": D("2015-01-01")} for i in range(n)],
        "requests": [{"request_id": f"R{i}", "person_id": f"P{i}", "received_date": D("2025-03-10"),
                      "request_outcome": "A"} for i in range(n)],
        "contacts": [{"contact_id": f"C{i}", "person_id": f"P{i}", "role": "parent_carer",
                      "email": f"parent{i}@example.org"} for i in range(n)],
    }
    results = [result("DECIDE_6W", request_id=f"R{i}", person_id=f"P{i}", due=D("2025-04-21"), status="pending")
               for i in range(n)]
    return frames, results


def test_a_row_left_sending_by_a_crash_becomes_unknown_and_is_never_resent(one_email, smtp_server):
    handler, port = smtp_server()
    settings = smtp_settings(port)
    # A dispatcher claimed the row, handed it to the transport and died before recording anything.
    [row_id] = claim(one_email, NOW, limit=10, transport="smtp")
    with one_email.connect() as conn:
        records = snapshot_ingest_id(conn)
    assert hand_over(one_email, row_id, claimed_until=NOW + CLAIM_LEASE, now=NOW, records=records)
    # Another dispatch inside the claim lease leaves it alone (it may still be sending).
    counts = dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW + timedelta(minutes=10))
    assert counts["sent"] == counts["unknown"] == 0 and _by_status(one_email) == {"sending": 1}
    # After the lease it is marked unknown for a person to check, and not sent.
    counts = dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW + timedelta(hours=2))
    assert counts["unknown"] == 1 and counts["sent"] == 0
    assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW + timedelta(days=3))["sent"] == 0
    assert _by_status(one_email) == {"unknown": 1}
    assert not handler.received


class DropsDuringData(Recorder):
    """Takes the message body, then drops the connection before answering."""

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), None))
        server.transport.close()
        return "250 OK"


def test_a_connection_lost_after_the_body_is_unknown_not_retried(one_email):
    from aiosmtpd.controller import Controller

    handler = DropsDuringData()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        counts = dispatch_touchpoints(one_email, smtp_settings(controller.port), as_of=AS_OF, now=NOW)
        assert counts["unknown"] == 1 and counts["retry"] == 0
        dispatch_touchpoints(one_email, smtp_settings(controller.port), as_of=AS_OF, now=NOW + timedelta(days=1))
        assert len(handler.received) == 1
    finally:
        controller.stop()
    assert _by_status(one_email) == {"unknown": 1}


def test_two_dispatchers_at_once_send_each_email_exactly_once(db_url, smtp_server):
    setup = make_engine(db_url)
    from ehcp_monitor.db.migrate import upgrade_head

    upgrade_head(setup)
    store_case(setup, *many_families(120))
    big_day = tp_settings(**{"touchpoints.hold_above": 200})  # more than the 50 a new store holds
    assert plan_touchpoints(setup, big_day, as_of=AS_OF)["pending"] == 120
    handler, port = smtp_server()
    settings = smtp_settings(port, **{"touchpoints.rate_per_minute": 20})  # claims of 20 rows at a time
    start = threading.Barrier(2)
    results = []

    def dispatcher():
        engine = make_engine(db_url)  # its own connections
        start.wait()
        results.append(dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW, pause=lambda s: None))
        engine.dispose()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    refs = [m["X-Reference"] for _, m in handler.received]
    assert len(refs) == 120 and len(set(refs)) == 120
    assert sum(r["sent"] for r in results) == 120
    assert _by_status(setup) == {"sent": 120}
    setup.dispose()


def test_rate_limit_spaces_sends_to_a_provider_evenly(engine, smtp_server):
    store_case(engine, *many_families(3))
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    handler, port = smtp_server()
    pauses = []
    settings = smtp_settings(port, **{"touchpoints.rate_per_minute": 30})
    assert dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW, pause=pauses.append)["sent"] == 3
    assert pauses == [2.0, 2.0] and len(handler.received) == 3


def test_a_claim_takes_no_more_rows_than_its_limit(engine):
    store_case(engine, *many_families(3))
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert claim(engine, NOW, limit=1, transport="smtp") == [1]
    assert claim(engine, NOW, limit=5, transport="smtp") == [2, 3]
    assert _by_status(engine) == {"claimed": 3}


class SlowProviderAndSecondDispatcher(Recorder):
    """Each send takes 40 minutes; 30 minutes into it another dispatcher starts and recovers."""

    def __init__(self, engine, times):
        super().__init__()
        self.engine, self.times, self.recovered = engine, times, []

    async def handle_DATA(self, server, session, envelope):
        self.recovered.append(recover_interrupted(self.engine, self.times[-1] + timedelta(minutes=30)))
        self.times.append(self.times[-1] + timedelta(minutes=40))
        return await super().handle_DATA(server, session, envelope)


def test_a_run_longer_than_the_lease_stamps_each_claim_and_send_with_its_own_time(engine):
    store_case(engine, *many_families(3))
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    times = [NOW]
    handler = SlowProviderAndSecondDispatcher(engine, times)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = smtp_settings(controller.port, **{"touchpoints.rate_per_minute": 1})  # one row a claim
        counts = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW, pause=lambda s: None,
                                      clock=lambda: times[-1])
    finally:
        controller.stop()
    # The third row was claimed 80 minutes into the run, so its lease runs from then: the other
    # dispatcher (110 minutes in) leaves it alone, and it is recorded as sent, not unknown.
    assert counts["sent"] == 3 and handler.recovered == [0, 0, 0]
    with engine.connect() as conn:
        sent_at = conn.execute(select(Touchpoint.sent_at).order_by(Touchpoint.id)).scalars().all()
    assert [t.replace(tzinfo=NOW.tzinfo) for t in sent_at] == times[:3]


def test_dry_run_renders_everything_and_changes_nothing(stored_caseload):
    settings = tp_settings()
    plan_touchpoints(stored_caseload, settings, as_of=AS_OF)
    before = _by_status(stored_caseload)
    counts = dispatch_touchpoints(stored_caseload, settings, as_of=AS_OF, now=NOW, dry_run=True)
    assert counts["would_send"] == 8 and counts["failed"] == 0
    assert counts["by_stage"] == {"delay_notice": 2, "request_received": 2, "review_decision": 2,
                                  "review_upcoming": 2}
    assert _by_status(stored_caseload) == before


def test_file_transport_writes_one_eml_per_email(stored_caseload, tmp_path):
    outbox = tmp_path / "outbox"
    settings = tp_settings().replace(**{"touchpoints.outbox_dir": str(outbox),
                                            "touchpoints.rate_per_minute": 60000})
    plan_touchpoints(stored_caseload, settings, as_of=AS_OF)
    assert dispatch_touchpoints(stored_caseload, settings, as_of=AS_OF, now=NOW)["sent"] == 8
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 8
    for path in files:
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert msg["X-Reference"] == path.stem
        assert msg.get_body(("plain",)) is not None and msg.get_body(("html",)) is not None


def test_a_broken_override_template_fails_the_row_not_the_run(one_email, tmp_path):
    (tmp_path / "request_received.txt.j2").write_text("{{ no_such_variable }}")
    settings = tp_settings().replace(**{"touchpoints.template_dir": str(tmp_path),
                                            "touchpoints.outbox_dir": str(tmp_path / "out")})
    counts = dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)
    assert counts["failed"] == 1
    assert not (tmp_path / "out").exists()


def test_now_must_carry_a_timezone(one_email):
    with pytest.raises(ValueError):
        dispatch_touchpoints(one_email, tp_settings(), as_of=AS_OF, now=NOW.replace(tzinfo=None))


def test_a_contact_linked_to_another_child_since_planning_is_not_sent_the_message(one_email, smtp_server):
    """The message names its child: if the records now link the contact to another child, it waits
    for nobody and is skipped with the reason, never sent."""
    handler, port = smtp_server()
    with one_email.begin() as conn:
        (planned_for,) = conn.execute(select(Touchpoint.person_id)).one()
        conn.execute(update(Contact).values(person_id="SOMEONE-ELSE"))
    assert planned_for is not None and planned_for != "SOMEONE-ELSE"
    counts = dispatch_touchpoints(one_email, smtp_settings(port), as_of=AS_OF, now=NOW)
    assert counts["sent"] == 0 and not handler.received
    with one_email.connect() as conn:
        assert conn.execute(select(Touchpoint.status, Touchpoint.reason)).one() == (
            "skipped", "contact no longer linked to this child")


def test_a_past_night_dispatched_weeks_later_does_not_send_what_is_by_now_old_news(engine, tmp_path):
    from tests.touchpoints.conftest import caseload

    store_case(engine, *caseload())
    settings = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path / "outbox")})
    assert plan_touchpoints(engine, settings, as_of=AS_OF)["pending"] > 0
    # The night of 14 March re-run on 16 April: its as-of says fresh, the day it goes says stale.
    counts = dispatch_touchpoints(engine, settings, as_of=AS_OF,
                                  now=datetime(2025, 4, 16, 10, 0, tzinfo=timezone.utc))
    assert counts["sent"] == 0 and counts["suppressed"] > 0


def test_a_request_received_retried_after_its_decision_went_in_the_same_run_is_not_sent(engine, smtp_server):
    """A paced run: the "request received" fails for a moment, the decision goes, and the retry
    comes due again before the run ends. Sent then, the family would hear "we will decide by 21
    April" after the decision (a review found it; the check at each claim was taken back)."""
    from tests.touchpoints.test_corrections import decided_family

    store_case(engine, *decided_family())
    assert plan_touchpoints(engine, tp_settings(), as_of=AS_OF)["pending"] == 2
    handler, port = smtp_server(replies=["451 4.3.0 try again later"])
    settings = smtp_settings(port, **{"touchpoints.rate_per_minute": 1, "touchpoints.retry_base_seconds": 30})
    counts = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW, pause=lambda s: None)
    assert (counts["sent"], counts["retry"], counts["overtaken"]) == (1, 1, 1)
    assert [m["X-Reference"] is not None for _, m in handler.received] == [True]
    with engine.connect() as conn:
        rows = conn.execute(select(Touchpoint.stage, Touchpoint.status, Touchpoint.reason)
                            .order_by(Touchpoint.id)).all()
    assert [tuple(r) for r in rows] == [
        ("request_received", "discarded", "overtaken before it was sent: its contact has been told later news of "
         "the case (or, for a request received, is to be sent an apology for its decision); not sent"),
        ("decision_to_assess", "sent", None)]
