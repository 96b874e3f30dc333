"""Dispatch through a real SMTP server (aiosmtpd on 127.0.0.1): content, headers, retries, failures."""

from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.touchpoints import dispatch_touchpoints, plan_touchpoints
from tests.touchpoints.conftest import AS_OF, NOW, Recorder, caseload, free_port, smtp_settings, store_case


def _statuses(engine):
    with engine.connect() as conn:
        return conn.execute(select(Touchpoint.status, Touchpoint.attempts, Touchpoint.next_attempt_at,
                                   Touchpoint.provider_ref).where(Touchpoint.status != "suppressed")
                            .where(Touchpoint.status != "skipped")).all()


def test_the_right_messages_reach_the_right_people(stored_caseload, smtp_server):
    handler, port = smtp_server()
    settings = smtp_settings(port)
    plan_touchpoints(stored_caseload, settings, as_of=AS_OF)
    counts = dispatch_touchpoints(stored_caseload, settings, as_of=AS_OF, now=NOW)
    assert counts["sent"] == 8 and counts["failed"] == counts["retry"] == counts["unknown"] == 0
    by_person = {}
    for rcpts, msg in handler.received:
        assert len(rcpts) == 1 and msg["To"] == rcpts[0]
        by_person.setdefault(rcpts[0], []).append(msg["Subject"])
        assert msg["From"] == "send-ehc@harbourside.gov.uk" and msg["Reply-To"] == "replies@harbourside.gov.uk"
        assert msg["Message-ID"].endswith("@harbourside.gov.uk>")
        assert msg["Date"] == "Fri, 14 Mar 2025 09:00:00 +0000"
        for name in ("Alice", "Carol", "Smith"):
            assert name not in msg["Subject"]
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert "2015-06-01" not in text + html  # no date of birth
        if rcpts[0] == "carol@example.org":
            # The body names the child as touchpoints.child_reference says (first name by default), never in full.
            assert "This message is about Alice." in text and "Alice Smith" not in text + html
    assert {k: len(v) for k, v in by_person.items()} == {"carol@example.org": 4, "bill@example.org": 4}
    assert any("case R2" in s for s in by_person["carol@example.org"])
    rows = _statuses(stored_caseload)
    assert {r.status for r in rows} == {"sent"}
    assert {r.provider_ref for r in rows} == {m["Message-ID"] for _, m in handler.received}
    # Dispatching again sends nothing: at most once.
    assert dispatch_touchpoints(stored_caseload, settings, as_of=AS_OF, now=NOW + timedelta(days=1))["sent"] == 0
    assert len(handler.received) == 8


def test_line_breaks_in_names_and_case_fields_cannot_inject_headers(engine, smtp_server):
    frames, results = caseload()
    evil = "R1\r\nBcc: evil@evil.example"
    for r in frames["requests"]:
        if r["request_id"] == "R1":
            r["request_id"] = evil
            r["case_officer"] = "Jo\r\nBcc: evil@evil.example"
    results[0]["request_id"] = evil
    frames["contacts"][0]["name"] = "Carol\r\nBcc: evil@evil.example"
    store_case(engine, frames, results)
    handler, port = smtp_server()
    settings = smtp_settings(port)
    plan_touchpoints(engine, settings, as_of=AS_OF)
    dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)
    assert handler.received
    for rcpts, msg in handler.received:
        assert rcpts in (["carol@example.org"], ["bill@example.org"])
        assert msg["Bcc"] is None
        assert "evil" not in msg["To"]
        assert "\n" not in msg["Subject"]


def test_a_451_is_retried_later_and_delivered_once(one_email, smtp_server):
    handler, port = smtp_server(replies=["451 4.3.0 Try again later"])
    settings = smtp_settings(port, **{"touchpoints.retry_base_seconds": 300})
    first = dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)
    assert first["retry"] == 1 and not handler.received
    [row] = _statuses(one_email)
    assert row.status == "retry" and row.attempts == 1
    assert row.next_attempt_at.replace(tzinfo=None) == (NOW + timedelta(seconds=300)).replace(tzinfo=None)
    # Not due yet: nothing happens.
    assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW + timedelta(seconds=299))["sent"] == 0
    later = dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW + timedelta(seconds=300))
    assert later["sent"] == 1 and len(handler.received) == 1
    [row] = _statuses(one_email)
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_550_is_permanent(one_email, smtp_server):
    handler, port = smtp_server(replies=["550 5.1.1 No such user"])
    settings = smtp_settings(port)
    assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)["failed"] == 1
    assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW + timedelta(days=1))["sent"] == 0
    assert not handler.received
    [row] = _statuses(one_email)
    assert row.status == "failed"


def test_a_server_that_is_down_leaves_rows_to_retry_until_max_attempts(one_email):
    settings = smtp_settings(free_port(), **{"touchpoints.max_attempts": 2, "touchpoints.retry_base_seconds": 60})
    assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)["retry"] == 1
    [row] = _statuses(one_email)
    assert (row.status, row.attempts) == ("retry", 1)
    assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW + timedelta(minutes=1))["failed"] == 1
    [row] = _statuses(one_email)
    assert (row.status, row.attempts) == ("failed", 2)


def test_backoff_doubles_each_attempt(one_email):
    settings = smtp_settings(free_port(), **{"touchpoints.retry_base_seconds": 100})
    now = NOW
    waits = []
    for _ in range(3):
        dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=now)
        [row] = _statuses(one_email)
        waits.append((row.next_attempt_at.replace(tzinfo=None) - now.replace(tzinfo=None)).total_seconds())
        now = now + timedelta(seconds=waits[-1])
    assert waits == [100, 200, 400]


def test_an_opt_out_recorded_after_planning_is_honoured(engine, smtp_server):
    from tests.touchpoints.conftest import one_family

    frames, results = one_family()
    store_case(engine, frames, results)
    handler, port = smtp_server()
    settings = smtp_settings(port)
    plan_touchpoints(engine, settings, as_of=AS_OF)
    frames["contacts"][0]["opted_out"] = True
    store_case(engine, frames, results)
    assert dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)["skipped"] == 1
    assert not handler.received




@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_uses_the_credentials_from_the_environment(one_email, monkeypatch):
    from aiosmtpd.smtp import AuthResult

    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        monkeypatch.setenv("EHCP_SMTP_USERNAME", "monitor")
        monkeypatch.setenv("EHCP_SMTP_PASSWORD", "s3cret")
        assert dispatch_touchpoints(one_email, smtp_settings(controller.port), as_of=AS_OF, now=NOW)["sent"] == 1
    finally:
        controller.stop()
    assert seen == [(b"monitor", b"s3cret")] and len(handler.received) == 1


def test_starttls_is_never_silently_skipped(one_email, smtp_server):
    handler, port = smtp_server()  # offers no STARTTLS
    settings = smtp_settings(port, **{"touchpoints.smtp_security": "starttls"})
    assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)["retry"] == 1
    assert not handler.received


@pytest.fixture
def certificate(tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1, trusted through SSL_CERT_FILE (read by OpenSSL)."""
    import shutil
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_starttls_and_implicit_tls_deliver_over_a_verified_connection(one_email, certificate, security):
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    handler = Recorder()
    options = {"tls_context": context, "require_starttls": True} if security == "starttls" else {
        "ssl_context": context}
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        settings = smtp_settings(controller.port, **{"touchpoints.smtp_security": security})
        assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)["sent"] == 1
    finally:
        controller.stop()
    assert len(handler.received) == 1


@pytest.mark.parametrize("address", ["cärol@example.org", "carol@exämple.org"])
def test_an_address_that_is_not_plain_ascii_fails_and_is_not_called_in_doubt(engine, smtp_server, address):
    """smtplib refuses it before sending a byte: `unknown` would have a person check a send that
    never reached the server (a review found it)."""
    from tests.touchpoints.conftest import one_family

    frames, results = one_family()
    frames["contacts"][0]["email"] = address
    store_case(engine, frames, results)
    handler, port = smtp_server()
    settings = smtp_settings(port)
    plan_touchpoints(engine, settings, as_of=AS_OF)
    counts = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)
    assert (counts["failed"], counts["unknown"], handler.received) == (1, 0, [])
    with engine.connect() as conn:
        (error,) = conn.execute(select(Touchpoint.last_error).where(Touchpoint.status == "failed")).scalars()
    assert error == "smtp envelope: an address is not plain ASCII (internationalised addresses are not sent)"
