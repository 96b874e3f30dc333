"""The shared email interface: MIME built right, headers safe, attachments carried, files written."""

import email
from datetime import datetime, timezone
from email import policy

import pytest

from ehcp_monitor import config
from ehcp_monitor.transports import (
    OutgoingEmail,
    PermanentSendError,
    build_mime,
    transport_for,
)

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
