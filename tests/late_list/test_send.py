"""Delivery: the list emailed through the touchpoint transport to a real SMTP server on 127.0.0.1."""

import io
from datetime import UTC, datetime

import openpyxl
import pytest

from ehcp_monitor.errors import ConfigError
from ehcp_monitor.late_list import build_late_list, send_late_list
from tests.report_data.late_list_dataset import AS_OF, load_dataset
from tests.report_data.smtp_inbox import running_inbox

NOW = datetime(2025, 3, 17, 7, 0, tzinfo=UTC)
TEAM = ["head.of.send@example.gov.uk", "deputy@example.gov.uk"]
REFUSED = "gone@example.gov.uk"


@pytest.fixture
def smtp():
    with running_inbox(refuse=REFUSED) as server:
        yield server


def smtp_settings(settings, port, recipients):
    return settings.replace(**{
        "touchpoints.transport": "smtp", "touchpoints.smtp_host": "127.0.0.1", "touchpoints.smtp_port": port,
        "touchpoints.smtp_security": "none", "touchpoints.smtp_timeout_seconds": 5,
        "touchpoints.from_address": "ehcp-monitor@example.gov.uk", "late_list.recipients": recipients,
    })


def test_sent_to_each_recipient_with_html_body_and_xlsx_attached(engine, settings, tmp_path, smtp):
    inbox, port = smtp
    load_dataset(engine)
    settings = smtp_settings(settings, port, TEAM)
    built = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path)
    assert send_late_list(built, settings, now=NOW) == {"recipients": 2, "sent": 2, "failed": 0}
    assert [rcpts for rcpts, _ in inbox.messages] == [[TEAM[0]], [TEAM[1]]]
    _, msg = inbox.messages[0]
    assert msg["Subject"] == "Late-plan list 14/03/2025: 6 overdue, 4 very late"
    assert msg["To"] == TEAM[0]
    html = msg.get_body(preferencelist=("html",)).get_content()
    # SMTP carries CRLF line ends; the body is otherwise the meeting's summary, not the whole page.
    assert html.replace("\r\n", "\n").rstrip("\n") == built.email_html.rstrip("\n")
    assert "Contents" not in html and "<details" not in html and "late-list-2025-03-14.html" in html
    assert "Statutory clocks overdue: 6" in msg.get_body(preferencelist=("plain",)).get_content()
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "late-list-2025-03-14.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(attachment.get_content()))
    assert workbook.sheetnames[0] == "Headline"
    raw = msg.as_bytes()
    assert b"Jane" not in raw and b"Smith" not in raw


def test_a_refused_recipient_is_counted_and_the_rest_still_sent(engine, settings, tmp_path, smtp):
    inbox, port = smtp
    load_dataset(engine)
    settings = smtp_settings(settings, port, [REFUSED, TEAM[0]])
    built = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path)
    assert send_late_list(built, settings, now=NOW) == {"recipients": 2, "sent": 1, "failed": 1}
    assert [rcpts for rcpts, _ in inbox.messages] == [[TEAM[0]]]


def test_no_recipients_is_a_configuration_error(engine, settings, tmp_path):
    load_dataset(engine)
    built = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="late_list.recipients"):
        send_late_list(built, settings, now=NOW)


def test_notify_cannot_carry_the_list(engine, settings, tmp_path):
    load_dataset(engine)
    settings = settings.replace(**{"touchpoints.transport": "notify", "late_list.recipients": TEAM})
    built = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path)
    with pytest.raises(ConfigError, match="touchpoints.transport"):
        send_late_list(built, settings, now=NOW)
