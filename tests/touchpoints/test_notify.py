"""The Notify transport against a local HTTP server that checks what GOV.UK Notify checks."""

import json
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from sqlalchemy import select

from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.touchpoints import dispatch_touchpoints
from ehcp_monitor.transports import transport_for
from tests.touchpoints.conftest import AS_OF, NOW, tp_settings

SERVICE_ID = str(uuid.uuid4())
SECRET = str(uuid.uuid4())
API_KEY = f"test_key-{SERVICE_ID}-{SECRET}"
TEMPLATE_ID = str(uuid.uuid4())


class FakeNotify(HTTPServer):
    def __init__(self, statuses):
        super().__init__(("127.0.0.1", 0), NotifyHandler)
        self.statuses = list(statuses)  # replies before accepting, e.g. [429]
        self.accepted = []
        self.problems = []


class NotifyHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        auth = self.headers.get("Authorization", "")
        try:
            assert self.path == "/v2/notifications/email", self.path
            assert auth.startswith("Bearer ")
            claims = jwt.decode(auth[7:], SECRET, algorithms=["HS256"])
            assert claims["iss"] == SERVICE_ID and "iat" in claims
            assert self.headers["Content-Type"] == "application/json"
            assert set(body) >= {"email_address", "template_id", "reference", "personalisation"}
        except (AssertionError, jwt.PyJWTError) as exc:
            server.problems.append(repr(exc))
            return self._reply(403, {"errors": [{"error": "AuthError", "message": "Invalid token"}]})
        if server.statuses:
            status = server.statuses.pop(0)
            return self._reply(status, {"errors": [{"error": "Error", "message": "no"}], "status_code": status})
        server.accepted.append(body)
        self._reply(201, {"id": str(uuid.uuid4()), "reference": body["reference"], "content": {}})


@pytest.fixture
def notify(monkeypatch):
    monkeypatch.setenv("EHCP_NOTIFY_API_KEY", API_KEY)
    servers = []

    def start(statuses=()):
        server = FakeNotify(statuses)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        settings = tp_settings().replace(**{
            "touchpoints.transport": "notify",
            "touchpoints.notify_base_url": f"http://127.0.0.1:{server.server_address[1]}",
            "touchpoints.notify_templates": {"request_received": TEMPLATE_ID},
            "touchpoints.smtp_timeout_seconds": 5,
        })
        return server, settings

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def _row(engine):
    with engine.connect() as conn:
        return conn.execute(select(Touchpoint.__table__).where(Touchpoint.status != "suppressed")).one()


def test_notify_gets_a_signed_request_with_template_personalisation_and_reference(one_email, notify):
    server, settings = notify()
    assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)["sent"] == 1
    assert server.problems == []
    [body] = server.accepted
    row = _row(one_email)
    assert body["email_address"] == "carol@example.org"
    assert body["template_id"] == TEMPLATE_ID
    assert body["reference"] == f"tp-{row.id}"  # no personal data in the reference
    assert body["personalisation"]["case_ref"] == "R1"
    assert "R1" in body["personalisation"]["subject"] and "Carol" not in body["personalisation"]["subject"]
    assert "decide whether to carry out an assessment" in body["personalisation"]["body"]
    assert row.provider_ref and row.status == "sent"


@pytest.mark.parametrize("status, outcome", [(429, "retry"), (500, "retry"), (503, "retry"),
                                             (400, "failed"), (403, "failed")])
def test_notify_errors_are_retried_or_permanent(one_email, notify, status, outcome):
    server, settings = notify([status])
    counts = dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)
    assert counts[outcome] == 1
    later = dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW + timedelta(hours=1))
    assert later["sent"] == (1 if outcome == "retry" else 0)
    assert len(server.accepted) == later["sent"]


def test_a_stage_without_a_notify_template_fails_permanently(one_email, notify):
    server, settings = notify()
    settings = settings.replace(**{"touchpoints.notify_templates": {}})
    assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)["failed"] == 1
    assert server.accepted == []


def test_missing_api_key_is_a_configuration_error(monkeypatch):
    monkeypatch.delenv("EHCP_NOTIFY_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="notify_api_key_env"):
        transport_for(tp_settings().replace(**{"touchpoints.transport": "notify"}))


def test_notify_unreachable_is_retried(one_email, monkeypatch):
    from tests.touchpoints.conftest import free_port

    monkeypatch.setenv("EHCP_NOTIFY_API_KEY", API_KEY)
    settings = tp_settings().replace(**{
        "touchpoints.transport": "notify", "touchpoints.notify_base_url": f"http://127.0.0.1:{free_port()}",
        "touchpoints.notify_templates": {"request_received": TEMPLATE_ID},
    })
    assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)["retry"] == 1


def test_notify_answering_too_late_is_unknown_not_retried(one_email, notify, monkeypatch):
    import time

    server, settings = notify()
    settings = settings.replace(**{"touchpoints.smtp_timeout_seconds": 1})
    original = NotifyHandler.do_POST

    def slow(self):
        time.sleep(2)
        original(self)

    monkeypatch.setattr(NotifyHandler, "do_POST", slow)
    counts = dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)
    assert counts["unknown"] == 1 and counts["retry"] == 0
