"""The shared transports: MIME built right, headers safe, attachments carried, files written; texts and
letters through the Notify stand-in, classified like email; the channel chosen for each contact."""

import contextlib
import email
from datetime import datetime, timezone
from email import policy

import pytest

from ehcp_monitor import config
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.transports import (
    DeliveryUncertain,
    DryRunChannelTransport,
    OutgoingEmail,
    OutgoingLetter,
    OutgoingText,
    PermanentSendError,
    TransientSendError,
    build_mime,
    choose_channel,
    letter_transport_for,
    normalise_uk_mobile,
    text_transport_for,
    transport_for,
)
from tests.notify_standin import API_KEY, NotifyHandler, running_notify

WHEN = datetime(2025, 3, 17, 7, 0, tzinfo=timezone.utc)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _email(**changes):
    base = dict(to="senior@example.gov.uk", subject="Weekly late list", text="plain", html="<p>rich</p>",
                attachments=(("late-list.xlsx", b"PK\x03\x04 workbook bytes", XLSX),), reference="late-list-2025-03-17",
                date=WHEN)
    return OutgoingEmail(**{**base, **changes})


def test_mime_has_text_html_and_attachment_with_headers():
    msg = email.message_from_bytes(bytes(build_mime(_email(), from_address="a@example.gov.uk",
                                                    reply_to="r@example.gov.uk")), policy=policy.default)
    assert msg.get_content_type() == "multipart/mixed"
    assert msg.get_body(("plain",)).get_content().strip() == "plain"
    assert msg.get_body(("html",)).get_content().strip() == "<p>rich</p>"
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "late-list.xlsx" and attachment.get_content_type() == XLSX
    assert attachment.get_content() == b"PK\x03\x04 workbook bytes"
    assert msg["Date"] == "Mon, 17 Mar 2025 07:00:00 +0000"
    assert msg["Message-ID"].endswith("@example.gov.uk>") and msg["Reply-To"] == "r@example.gov.uk"


@pytest.mark.parametrize("field", ["to", "subject", "reference"])
def test_a_line_break_in_any_header_value_is_refused(field):
    with pytest.raises(PermanentSendError):
        build_mime(_email(**{field: "x@example.org\r\nBcc: evil@evil.example"}), from_address="a@example.gov.uk")


def test_file_transport_writes_the_eml(tmp_path):
    settings = config.defaults().replace(**{"touchpoints.outbox_dir": str(tmp_path)})
    ref = transport_for(settings).send(_email())
    assert ref == "late-list-2025-03-17.eml"
    msg = email.message_from_bytes((tmp_path / ref).read_bytes(), policy=policy.default)
    assert [a.get_filename() for a in msg.iter_attachments()] == ["late-list.xlsx"]
    assert list(tmp_path.glob(".*")) == []  # no partial files left


def test_dry_run_sends_nothing_but_keeps_it():
    transport = transport_for(config.defaults(), dry_run=True)
    transport.send(_email())
    assert transport.name == "dry-run" and [e.reference for e in transport.sent] == ["late-list-2025-03-17"]


# --- text messages and letters through GOV.UK Notify (the local stand-in) -------------------------

SMS_TEMPLATE = "0f1e2d3c-4b5a-4968-8776-655443322110"
LETTER_TEMPLATE = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
SENDER_ID = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"


@pytest.fixture
def notify(monkeypatch):
    monkeypatch.setenv("EHCP_NOTIFY_API_KEY", API_KEY)
    with contextlib.ExitStack() as stack:

        def start(statuses=(), **changes):
            server = stack.enter_context(running_notify(statuses))
            settings = config.defaults().replace(**{
                "touchpoints.notify_base_url": server.base_url, "touchpoints.smtp_timeout_seconds": 5,
                **changes})
            return server, settings

        yield start


def _text(**changes):
    base = dict(phone_number="07700 900123", template_id=SMS_TEMPLATE,
                personalisation={"case_ref": "R1", "stage_text": "We have your request."}, reference="tp-7")
    return OutgoingText(**{**base, **changes})


def _letter(**changes):
    base = dict(address_lines=("Flat 2", "", "10 High Street", "Exampleton"), postcode="ex1  2ab",
                template_id=LETTER_TEMPLATE, personalisation={"case_ref": "R1"}, reference="tp-8")
    return OutgoingLetter(**{**base, **changes})


def test_a_text_goes_to_notify_as_the_client_sends_it(notify):
    server, settings = notify(**{"touchpoints.sms_sender_id": SENDER_ID})
    ref = text_transport_for(settings).send(_text())
    assert server.problems == [] and server.kinds == ["sms"]
    [body] = server.accepted
    assert body == {"phone_number": "+447700900123", "template_id": SMS_TEMPLATE, "reference": "tp-7",
                    "personalisation": {"case_ref": "R1", "stage_text": "We have your request."},
                    "sms_sender_id": SENDER_ID}
    assert ref and ref != "tp-7"


def test_a_text_without_a_sender_id_leaves_it_to_notify(notify):
    server, settings = notify()
    text_transport_for(settings).send(_text(personalisation={}, reference=""))
    assert server.problems == []
    assert server.accepted == [{"phone_number": "+447700900123", "template_id": SMS_TEMPLATE}]


def test_a_letter_goes_to_notify_with_the_postcode_as_the_last_line(notify):
    server, settings = notify()
    letter_transport_for(settings).send(_letter())
    assert server.problems == [] and server.kinds == ["letter"]
    [body] = server.accepted
    assert body == {"template_id": LETTER_TEMPLATE, "reference": "tp-8", "personalisation": {
        "case_ref": "R1", "address_line_1": "Flat 2", "address_line_2": "10 High Street",
        "address_line_3": "Exampleton", "address_line_4": "EX1 2AB"}}


@pytest.mark.parametrize("kind", ["sms", "letter"])
@pytest.mark.parametrize("status, error", [(429, TransientSendError), (500, TransientSendError),
                                           (503, TransientSendError), (400, PermanentSendError),
                                           (403, PermanentSendError)])
def test_notify_errors_are_classified_alike_for_every_channel(notify, kind, status, error):
    server, settings = notify([status])
    send = (lambda: text_transport_for(settings).send(_text())) if kind == "sms" else (
        lambda: letter_transport_for(settings).send(_letter()))
    with pytest.raises(error) as raised:
        send()
    assert not isinstance(raised.value, DeliveryUncertain)
    assert server.accepted == []
    send()  # the next attempt is accepted
    assert server.kinds == [kind]


@pytest.mark.parametrize("kind", ["sms", "letter"])
def test_notify_unreachable_is_transient(monkeypatch, kind):
    from tests.touchpoints.conftest import free_port

    monkeypatch.setenv("EHCP_NOTIFY_API_KEY", API_KEY)
    settings = config.defaults().replace(**{"touchpoints.notify_base_url": f"http://127.0.0.1:{free_port()}"})
    transport = text_transport_for(settings) if kind == "sms" else letter_transport_for(settings)
    with pytest.raises(TransientSendError):
        transport.send(_text() if kind == "sms" else _letter())


@pytest.mark.parametrize("kind", ["sms", "letter"])
def test_notify_answering_too_late_is_uncertain_never_retried(notify, monkeypatch, kind):
    import time

    _server, settings = notify(**{"touchpoints.smtp_timeout_seconds": 1})
    original = NotifyHandler.do_POST

    def slow(self):
        time.sleep(2)
        original(self)

    monkeypatch.setattr(NotifyHandler, "do_POST", slow)
    transport = text_transport_for(settings) if kind == "sms" else letter_transport_for(settings)
    with pytest.raises(DeliveryUncertain):
        transport.send(_text() if kind == "sms" else _letter())


@pytest.mark.parametrize("message, problem", [
    (_text(template_id=None), "template"),
    (_text(phone_number="01632 960123"), "mobile"),  # a landline
    (_text(phone_number="+1 202 555 0143"), "mobile"),
    (_letter(template_id=""), "template"),
    (_letter(postcode="not a postcode"), "address"),
    (_letter(address_lines=("10 High Street",)), "address"),  # Notify needs three lines
    (_letter(personalisation={"address_line_1": "elsewhere"}), "address"),
])
def test_what_notify_would_refuse_is_refused_before_any_request(notify, message, problem):
    server, settings = notify()
    transport = text_transport_for(settings) if isinstance(message, OutgoingText) else letter_transport_for(settings)
    with pytest.raises(PermanentSendError, match=problem):
        transport.send(message)
    with pytest.raises(PermanentSendError, match=problem):
        DryRunChannelTransport().send(message)
    assert server.accepted == [] and server.problems == []


def test_the_dry_run_keeps_texts_and_letters():
    transport = text_transport_for(config.defaults(), dry_run=True)
    assert transport.send(_text()) == "dry-run-1"
    assert letter_transport_for(config.defaults(), dry_run=True).send(_letter()) == "dry-run-1"


def test_texts_and_letters_need_the_notify_key(monkeypatch):
    monkeypatch.delenv("EHCP_NOTIFY_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="notify_api_key_env"):
        text_transport_for(config.defaults())
    with pytest.raises(ConfigError, match="notify_api_key_env"):
        letter_transport_for(config.defaults())


# --- which channel reaches a contact -------------------------------------------------------------

ADDRESS = (("1 Lane", "Town"), "EX1 2AB")


@pytest.mark.parametrize("email, mobile, address, preferred, expected", [
    ("a@example.org", "07700900123", ADDRESS, None, "email"),  # email first
    ("a@example.org", "07700900123", ADDRESS, "sms", "sms"),  # unless another is preferred
    ("a@example.org", "07700900123", ADDRESS, "letter", "letter"),
    ("a@example.org", None, ADDRESS, "sms", "email"),  # a preference that cannot be used: the order
    (None, None, ADDRESS, "sms", "letter"),
    ("", "07700 900123", ADDRESS, None, "sms"),  # then text
    ("not an address", "+44 (0)7700 900123", None, None, "sms"),
    (None, "01632 960123", ADDRESS, None, "letter"),  # a landline cannot take a text; then letter
    (None, None, (("1 Lane", None), "EX1 2AB"), None, None),  # one line and a postcode: not enough
    (None, None, (("1 Lane", "Town"), "nowhere"), None, None),
    (None, None, (("(Flat 2) 1 Lane", "Town"), "EX1 2AB"), None, None),  # a line Notify would refuse
    (None, "07700900123", (("1 Lane", "=Town"), "EX1 2AB"), "letter", "sms"),
    (None, None, None, "email", None),
    ("a@example.org", None, None, "carrier pigeon", "email"),
])
def test_choose_channel(email, mobile, address, preferred, expected):
    assert choose_channel(email, mobile, address, preferred) == expected


@pytest.mark.parametrize("raw, normal", [
    ("07700 900123", "+447700900123"), ("07700-900-123", "+447700900123"), ("+44 7700 900123", "+447700900123"),
    ("+44 (0)7700 900123", "+447700900123"), ("0044 7700 900123", "+447700900123"),
    ("447700900123", "+447700900123"), ("(07700) 900123", "+447700900123"),
    ("0770090012", None), ("077009001234", None), ("01632 960123", None), ("+33 6 12 34 56 78", None),
    ("", None), (None, None), ("seven", None),
])
def test_normalise_uk_mobile(raw, normal):
    assert normalise_uk_mobile(raw) == normal


def test_the_stand_in_refuses_what_notify_refuses():
    from notifications_python_client.errors import HTTPError
    from notifications_python_client.notifications import NotificationsAPIClient

    with running_notify() as server:
        client = NotificationsAPIClient(API_KEY, base_url=server.base_url, timeout=5)
        wrong_key = NotificationsAPIClient(API_KEY[:-36] + "0" * 36, base_url=server.base_url, timeout=5)
        attempts = [
            (lambda: wrong_key.send_sms_notification("07700900123", SMS_TEMPLATE), 403),
            (lambda: client.send_sms_notification("01632960123", SMS_TEMPLATE), 400),
            (lambda: client.send_sms_notification("07700900123", "not-a-uuid"), 400),
            (lambda: client.send_letter_notification(LETTER_TEMPLATE, {"address_line_1": "1 Lane",
                                                                       "address_line_2": "EX1 2AB"}), 400),
            (lambda: client.send_letter_notification(LETTER_TEMPLATE, {"address_line_1": "1 Lane",
                                                                       "address_line_2": "EX1 2AB",
                                                                       "address_line_3": "Town"}), 400),
        ]
        for send, status in attempts:
            with pytest.raises(HTTPError) as raised:
                send()
            assert raised.value.status_code == status
        assert len(server.problems) == len(attempts) and server.accepted == []


@pytest.mark.parametrize("kind", ["sms", "letter"])
@pytest.mark.parametrize("status", [502, 504])
def test_a_gateways_timeout_in_front_of_notify_is_in_doubt(notify, kind, status):
    """Notify may have taken the message before the gateway gave up: never sent again by itself."""
    server, settings = notify([status])
    transport = text_transport_for(settings) if kind == "sms" else letter_transport_for(settings)
    with pytest.raises(DeliveryUncertain, match=str(status)):
        transport.send(_text() if kind == "sms" else _letter())
