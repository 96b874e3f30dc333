"""Every family reached (docs/touchpoints.md, Channels; Sending window): email over a real SMTP
server on loopback, text messages and letters through the local GOV.UK Notify stand-in, each with
the same at-most-once outcomes, and nothing sent outside the sending window."""

import contextlib
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.touchpoints import dispatch_touchpoints, plan_touchpoints
from tests.notify_standin import API_KEY, NotifyHandler, running_notify
from tests.touchpoints.conftest import AS_OF, NOW, D, result, smtp_settings, store_case

SMS_TEMPLATE = "0f1e2d3c-4b5a-4969-8877-665544332211"
LETTER_TEMPLATE = "aa11bb22-cc33-4d44-8e55-f66a77b88c99"
SENDER = "12345678-90ab-4cde-8f01-234567890abc"
MOBILE = "07700 900123"
ADDRESS = {"address_line_1": "Flat 2", "address_line_2": "10 High Street", "address_line_3": "Exampletown",
           "postcode": "ex1 2ab"}


def family(**contact) -> tuple[dict, list]:
    """One request received on 2025-03-10 (a request_received event) and one contact."""
    frames = {
        "people": [{"person_id": "P1", "date_of_birth": D("2015-06-01"), "forename": "Alice", "surname": "Smith"}],
        "requests": [{"request_id": "R1", "person_id": "P1", "received_date": D("2025-03-10"),
                      "request_outcome": "A"}],
        "contacts": [{"contact_id": "C1", "person_id": "P1", "role": "parent_carer", "name": "Carol Smith",
                      **contact}],
    }
    return frames, [result("DECIDE_6W", request_id="R1", due=D("2025-04-21"), status="pending")]


@pytest.fixture
def channels(monkeypatch, smtp_server):
    """(SMTP recorder, Notify stand-in, settings): email by SMTP, texts and letters by Notify."""
    monkeypatch.setenv("EHCP_NOTIFY_API_KEY", API_KEY)
    with contextlib.ExitStack() as stack:

        def start(notify_statuses=(), **more):
            handler, port = smtp_server()
            notify = stack.enter_context(running_notify(notify_statuses))
            settings = smtp_settings(port, **{
                "touchpoints.notify_base_url": notify.base_url,
                "touchpoints.notify_sms_templates": {"request_received": SMS_TEMPLATE},
                "touchpoints.notify_letter_templates": {"request_received": LETTER_TEMPLATE},
                "touchpoints.sms_sender_id": SENDER,
                **more,
            })
            return handler, notify, settings

        yield start


def _rows(engine):
    with engine.connect() as conn:
        return conn.execute(select(Touchpoint.__table__).order_by(Touchpoint.id)).all()


def _plan_two(engine, settings, **first_and_dans):
    """Plan for one family with two contacts: Carol (the `family` keyword) and Dan (`dan_...`)."""
    dan = {k.removeprefix("dan_"): v for k, v in first_and_dans.items() if k.startswith("dan_")}
    frames, results = family(**{k: v for k, v in first_and_dans.items() if not k.startswith("dan_")})
    frames["contacts"].append({"contact_id": "C2", "person_id": "P1", "role": "parent_carer", "name": "Dan", **dan})
    store_case(engine, frames, results)
    return plan_touchpoints(engine, settings, as_of=AS_OF)


def _plan(engine, settings, **contact):
    store_case(engine, *family(**contact))
    return plan_touchpoints(engine, settings, as_of=AS_OF)


def test_a_contact_with_only_a_mobile_gets_a_text(engine, channels):
    smtp, notify, settings = channels()
    planned = _plan(engine, settings, mobile=MOBILE)
    assert planned["pending"] == 1 and planned["by_channel"] == {"sms": 1}
    counts = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)
    assert counts["sent"] == 1 and counts["by_channel"] == {"sms": 1}
    assert notify.problems == [] and notify.kinds == ["sms"] and smtp.received == []
    [body] = notify.accepted
    [row] = _rows(engine)
    assert body["phone_number"] == "+447700900123" and body["template_id"] == SMS_TEMPLATE
    assert body["sms_sender_id"] == SENDER and body["reference"] == f"tp-{row.id}"
    text = body["personalisation"]["body"]
    # Which child, the stage's words, the signposts in brief: two messages at most (306 characters).
    assert text.startswith("About Alice: ") and "R1" in text and "Harbourside SENDIASS 0300 123 4599" in text
    assert "Carol" not in text and "\n" not in text and len(text) <= 306
    assert (row.channel, row.status, row.transport, row.provider_ref) == ("sms", "sent", "notify-sms",
                                                                           row.provider_ref)
    assert row.provider_ref


def test_a_contact_with_only_an_address_gets_a_letter(engine, channels):
    smtp, notify, settings = channels()
    assert _plan(engine, settings, **ADDRESS)["by_channel"] == {"letter": 1}
    assert dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)["sent"] == 1
    assert notify.problems == [] and notify.kinds == ["letter"] and smtp.received == []
    [body] = notify.accepted
    p = body["personalisation"]
    # The contact's name first, the postcode last.
    assert [p.get(f"address_line_{n}") for n in range(1, 7)] == [
        "Carol Smith", "Flat 2", "10 High Street", "Exampletown", "EX1 2AB", None]

    assert body["template_id"] == LETTER_TEMPLATE and "R1" in p["subject"]
    assert "decide whether to carry out an assessment" in p["body"]  # the plain-text email body
    [row] = _rows(engine)
    assert (row.channel, row.status, row.transport) == ("letter", "sent", "notify-letter")


def test_a_letters_address_block_carries_no_bidirectional_controls(engine, channels):
    smtp, notify, settings = channels()
    _plan(engine, settings, name="Carol \u202eSmith", **{**ADDRESS, "address_line_2": "10 High\u2066 Street\u202c"})
    assert dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)["sent"] == 1
    [body] = notify.accepted
    assert [body["personalisation"].get(f"address_line_{n}") for n in range(1, 6)] == [
        "Carol Smith", "Flat 2", "10 High Street", "Exampletown", "EX1 2AB"]


def test_a_name_notify_would_refuse_once_its_controls_are_out_leaves_the_letter_unnamed(engine, channels):
    smtp, notify, settings = channels()
    _plan(engine, settings, name="\u202e(Mrs) Carol Smith", **ADDRESS)
    assert dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)["sent"] == 1
    [body] = notify.accepted
    assert notify.problems == []
    assert [body["personalisation"].get(f"address_line_{n}") for n in range(1, 5)] == [
        "Flat 2", "10 High Street", "Exampletown", "EX1 2AB"]


def test_a_name_notify_would_refuse_on_a_letter_leaves_it_unnamed():
    from ehcp_monitor.transports import addressee

    assert [addressee(n) for n in ("(Mrs) Carol Smith", ' "Carol"', "/", "  ", None, " Carol Smith ")] == [
        None, None, None, None, None, "Carol Smith"]


def test_email_comes_first_unless_another_channel_is_preferred(engine, channels):
    smtp, notify, settings = channels()
    _plan(engine, settings, email="carol@example.org", mobile=MOBILE, **ADDRESS)
    dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)
    assert len(smtp.received) == 1 and notify.accepted == []

    smtp, notify, settings = channels()
    store_case(engine, *family(email="carol@example.org", mobile=MOBILE, preferred_channel="sms"))
    with engine.begin() as conn:
        conn.execute(Touchpoint.__table__.delete())
    plan_touchpoints(engine, settings, as_of=AS_OF)
    dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)
    assert smtp.received == [] and notify.kinds == ["sms"]


def test_a_preferred_channel_that_cannot_be_used_falls_back(engine, channels):
    _smtp, _notify, settings = channels()
    # Preferred letter, but no address: email.
    assert _plan(engine, settings, email="carol@example.org", preferred_channel="letter")["by_channel"] == {
        "email": 1}


def test_a_text_is_used_only_for_a_stage_with_a_notify_template(engine, channels):
    _smtp, _notify, settings = channels(**{"touchpoints.notify_sms_templates": {},
                                           "touchpoints.notify_letter_templates": {}})
    counts = _plan(engine, settings, mobile=MOBILE, **ADDRESS)
    [row] = _rows(engine)
    assert counts["skipped"] == 1 and (row.status, row.reason) == ("skipped", "no valid email address")


def test_no_usable_channel_is_skipped_naming_what_is_missing(engine, channels):
    _smtp, notify, settings = channels()
    _plan(engine, settings, email="not an address", mobile="01234 567890", address_line_1="1 Road",
          postcode="nowhere")
    [row] = _rows(engine)
    assert (row.status, row.reason) == (
        "skipped", "no valid email address, UK mobile number or postal address")
    assert dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)["sent"] == 0
    assert notify.accepted == []


def test_opted_out_is_never_contacted_on_any_channel(engine, channels):
    smtp, notify, settings = channels()
    _plan(engine, settings, mobile=MOBILE, **ADDRESS, opted_out=True)
    [row] = _rows(engine)
    assert (row.status, row.reason) == ("skipped", "opted out")
    dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)
    assert notify.accepted == [] and smtp.received == []


def test_one_message_per_event_whichever_channel(engine, channels):
    _smtp, notify, settings = channels()
    _plan(engine, settings, mobile=MOBILE)
    dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)
    # The contact gains an email address: the event was told already, by text.
    store_case(engine, *family(email="carol@example.org", mobile=MOBILE))
    assert plan_touchpoints(engine, settings, as_of=AS_OF)["planned"] == 0
    assert dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW + timedelta(hours=1))["sent"] == 0
    assert len(notify.accepted) == 1 and len(_rows(engine)) == 1


@pytest.mark.parametrize("status, outcome", [(429, "retry"), (500, "retry"), (400, "failed")])
def test_text_errors_map_as_for_email(engine, channels, status, outcome):
    _smtp, notify, settings = channels([status])
    _plan(engine, settings, mobile=MOBILE)
    assert dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)[outcome] == 1
    later = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW + timedelta(hours=1))
    assert later["sent"] == (1 if outcome == "retry" else 0) and len(notify.accepted) == later["sent"]


def test_an_uncertain_text_is_never_retried(engine, channels, monkeypatch):
    _smtp, notify, settings = channels(**{"touchpoints.smtp_timeout_seconds": 1})
    _plan(engine, settings, mobile=MOBILE)
    original = NotifyHandler.do_POST

    def slow(self):
        time.sleep(2)  # past the client's timeout: it may have arrived
        original(self)

    monkeypatch.setattr(NotifyHandler, "do_POST", slow)
    counts = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)
    assert counts["unknown"] == 1 and counts["retry"] == 0
    monkeypatch.setattr(NotifyHandler, "do_POST", original)
    again = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW + timedelta(days=1))
    assert again["sent"] == 0
    [row] = _rows(engine)
    assert (row.status, row.attempts, row.channel) == ("unknown", 1, "sms")
    assert len(notify.accepted) <= 1  # the one request, answered late


def test_mixed_channels_in_one_run(engine, channels):
    smtp, notify, settings = channels()
    frames, results = family(email="carol@example.org")
    frames["contacts"] += [
        {"contact_id": "C2", "person_id": "P1", "role": "parent_carer", "name": "Dan Smith", "mobile": MOBILE},
        {"contact_id": "C3", "person_id": "P1", "role": "parent_carer", "name": "Eve Smith", **ADDRESS},
    ]
    store_case(engine, frames, results)
    plan_touchpoints(engine, settings, as_of=AS_OF)
    counts = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)
    assert counts["by_channel"] == {"email": 1, "letter": 1, "sms": 1}
    assert len(smtp.received) == 1 and sorted(notify.kinds) == ["letter", "sms"] and notify.problems == []
    assert {(r.contact_id, r.channel, r.transport) for r in _rows(engine)} == {
        ("C1", "email", "smtp"), ("C2", "sms", "notify-sms"), ("C3", "letter", "notify-letter")}


# --- the sending window ---------------------------------------------------------------------

SATURDAY = datetime(2025, 3, 15, 10, 0, tzinfo=timezone.utc)
MONDAY_EARLY = datetime(2025, 3, 17, 7, 59, tzinfo=timezone.utc)  # GMT in March: 07:59 in London
MONDAY_OPEN = datetime(2025, 3, 17, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("now", [SATURDAY, MONDAY_EARLY, datetime(2025, 3, 14, 20, 0, tzinfo=timezone.utc)],
                         ids=["weekend", "before-start", "at-end"])
def test_outside_the_window_nothing_is_sent_and_the_next_run_inside_sends_it(engine, channels, now):
    smtp, notify, settings = channels()
    _plan(engine, settings, mobile=MOBILE)
    counts = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=now)
    assert counts["sent"] == 0 and counts["outside_window"] == 1
    assert counts["next_window"] == MONDAY_OPEN.isoformat()
    assert notify.accepted == [] and smtp.received == []
    [row] = _rows(engine)
    assert (row.status, row.attempts) == ("pending", 0)

    inside = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=MONDAY_OPEN)
    assert inside["sent"] == 1 and "outside_window" not in inside and notify.kinds == ["sms"]


def test_a_bank_holiday_is_outside_the_window(engine, channels):
    _smtp, notify, settings = channels()
    _plan(engine, settings, mobile=MOBILE)
    good_friday = datetime(2025, 4, 18, 10, 0, tzinfo=timezone.utc)
    # Five weeks after the event: kept fresh here, so that only the window says no.
    settings = settings.replace(**{"touchpoints.max_event_age_days": 60})
    counts = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=good_friday)
    # Easter Monday is a bank holiday too: Tuesday 22 April, 08:00 BST.
    assert counts["outside_window"] == 1 and counts["next_window"] == "2025-04-22T07:00:00+00:00"
    assert notify.accepted == []


def test_a_long_run_stops_claiming_at_the_window_end(engine, channels):
    smtp, _notify, settings = channels()
    _plan_two(engine, settings, email="carol@example.org", dan_email="dan@example.org")
    before_end = datetime(2025, 3, 14, 19, 59, tzinfo=timezone.utc)

    def clock():  # the window closes (20:00) once the first email has gone
        return before_end + timedelta(minutes=1) if smtp.received else before_end

    counts = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=before_end, clock=clock)
    assert (counts["sent"], counts["outside_window"]) == (1, 1) and len(smtp.received) == 1
    assert counts["next_window"] == MONDAY_OPEN.isoformat()


def test_a_row_whose_pace_slot_falls_after_the_window_end_is_given_back_unsent(engine, channels):
    """Texts go one a minute here: the second one's slot (20:00:30) is past the window's end, so it
    is not handed over but given back, to go when the window next opens."""
    _smtp, notify, settings = channels(**{"touchpoints.rate_per_minute": 1})
    _plan_two(engine, settings, mobile=MOBILE, dan_mobile="07700 900456")
    half_a_minute_before_end = datetime(2025, 3, 14, 19, 59, 30, tzinfo=timezone.utc)
    waits = []
    counts = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=half_a_minute_before_end, pause=waits.append)
    assert (counts["sent"], counts["outside_window"]) == (1, 1) and len(notify.accepted) == 1
    assert counts["next_window"] == MONDAY_OPEN.isoformat() and waits == []  # never waited for a closed window
    sent, given_back = _rows(engine)
    assert sent.status == "sent" and (given_back.status, given_back.attempts) == ("pending", 0)
    assert given_back.next_attempt_at is None and given_back.transport is None

    monday = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=MONDAY_OPEN)
    assert monday["sent"] == 1 and len(notify.accepted) == 2


def test_a_run_stopped_while_waiting_its_turn_gives_the_claimed_row_back_at_once(engine, channels):
    """Ctrl-C (or SIGTERM's KeyboardInterrupt) while a row waits for its pace slot: the row was
    claimed, never handed over, and goes back now, not after its lease as if the process had died."""
    _smtp, notify, settings = channels(**{"touchpoints.rate_per_minute": 1})
    _plan_two(engine, settings, mobile=MOBILE, dan_mobile="07700 900456")

    def interrupted(_seconds):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        dispatch_touchpoints(engine, settings, as_of=AS_OF, now=MONDAY_OPEN, pause=interrupted)
    sent, given_back = _rows(engine)
    assert sent.status == "sent" and len(notify.accepted) == 1
    assert (given_back.status, given_back.attempts, given_back.transport, given_back.next_attempt_at) == (
        "pending", 0, None, None)


def test_a_row_already_handed_over_is_never_given_back(engine, tmp_path):
    """Interrupted mid-send in a batch (the file outbox claims ten at a time): the row handed over
    stays `sending` (it may have gone: a person checks it), the rows after it go back."""
    from ehcp_monitor.transports import FileTransport
    from tests.touchpoints.conftest import tp_settings

    frames, results = family(email="carol@example.org")
    frames["contacts"] += [{"contact_id": f"C{n}", "person_id": "P1", "role": "parent_carer", "name": "X",
                            "email": f"x{n}@example.org"} for n in range(2, 5)]
    store_case(engine, frames, results)
    settings = tp_settings(**{"touchpoints.transport": "file", "touchpoints.outbox_dir": str(tmp_path)})
    plan_touchpoints(engine, settings, as_of=AS_OF)

    class InterruptedOnTheSecond(FileTransport):
        sends = 0

        def send(self, email):
            type(self).sends += 1
            if self.sends == 2:
                raise KeyboardInterrupt
            return super().send(email)

    with pytest.raises(KeyboardInterrupt):
        dispatch_touchpoints(engine, settings, as_of=AS_OF, now=MONDAY_OPEN, transport=InterruptedOnTheSecond(settings))
    assert [(r.status, r.attempts, r.transport) for r in _rows(engine)] == [
        ("sent", 1, "file"), ("sending", 1, "file"), ("pending", 0, None), ("pending", 0, None)]


def test_a_stop_request_ends_a_long_run_before_its_next_claim(engine, channels):
    """SIGTERM to `serve` sets the stop event: the run sends nothing more, and says so."""
    import threading

    smtp, _notify, settings = channels()
    _plan_two(engine, settings, email="carol@example.org", dan_email="dan@example.org")
    stop = threading.Event()

    def clock():  # the stop request arrives once the first email has gone
        if smtp.received:
            stop.set()
        return MONDAY_OPEN

    counts = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=MONDAY_OPEN, clock=clock, stop=stop)
    assert (counts["sent"], counts["stopped"]) == (1, 1) and len(smtp.received) == 1
    assert [(r.status, r.transport) for r in _rows(engine)] == [("sent", "smtp"), ("pending", None)]


def test_a_row_never_sent_records_no_channel_choice(engine, channels):
    """An event before go-live is `baseline`: no channel is chosen for it (the row keeps the
    default), whatever the contact could be reached by; the same contact's later event is a text."""
    smtp, notify, settings = channels(**{"touchpoints.go_live": "2025-03-11"})
    planned = _plan(engine, settings, mobile=MOBILE)
    assert (planned["baseline"], planned["pending"], planned["by_channel"]) == (1, 0, {})
    [row] = _rows(engine)
    assert (row.stage, row.status, row.channel) == ("request_received", "baseline", "email")
    settings = settings.replace(**{"touchpoints.go_live": "2025-03-10"})
    with engine.begin() as conn:
        conn.execute(Touchpoint.__table__.delete())
    assert plan_touchpoints(engine, settings, as_of=AS_OF)["by_channel"] == {"sms": 1}
