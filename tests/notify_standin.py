"""A local stand-in for the GOV.UK Notify API: checks each request as Notify does, for the three
kinds the real client (notifications_python_client) sends: POST /v2/notifications/email, /sms and
/letter, signed with a JWT (HS256, `iss` the service id, `iat`) made from the API key.

A request that Notify would refuse is answered as Notify answers it (403 AuthError, 400
ValidationError) and recorded in `server.problems`, so a test can assert that there were none.
"""

import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt

SERVICE_ID = str(uuid.uuid4())
SECRET = str(uuid.uuid4())
API_KEY = f"test_key-{SERVICE_ID}-{SECRET}"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}")
# Body fields of each kind as the Python client builds them: (required, optional).
FIELDS = {
    "email": ({"email_address", "template_id"},
              {"personalisation", "reference", "email_reply_to_id", "one_click_unsubscribe_url",
               "sanitise_content_for"}),
    "sms": ({"phone_number", "template_id"}, {"personalisation", "reference", "sms_sender_id"}),
    "letter": ({"template_id", "personalisation"}, {"reference", "postage"}),
}


class Refused(Exception):
    def __init__(self, status: int, error: str, message: str):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


class NotifyStandIn(HTTPServer):
    def __init__(self, statuses=()):
        super().__init__(("127.0.0.1", 0), NotifyHandler)
        self.statuses = list(statuses)  # replies to give before accepting, e.g. [429]
        self.accepted: list[dict] = []  # the bodies accepted, in order
        self.kinds: list[str] = []  # "email", "sms" or "letter" of each accepted body
        self.problems: list[str] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def _check_auth(headers) -> None:
    auth = headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        raise Refused(401, "AuthError", "Unauthorized: authentication token must be provided")
    try:
        claims = jwt.decode(auth[7:], SECRET, algorithms=["HS256"], options={"verify_iat": False})
    except jwt.PyJWTError as exc:
        raise Refused(403, "AuthError", f"Invalid token: {type(exc).__name__}") from None
    if claims.get("iss") != SERVICE_ID or "iat" not in claims:
        raise Refused(403, "AuthError", "Invalid token: iss or iat")


def _invalid(message: str) -> Refused:
    return Refused(400, "ValidationError", message)


def _check_body(kind: str, body) -> None:
    if not isinstance(body, dict):
        raise _invalid("body must be a JSON object")
    required, optional = FIELDS[kind]
    if missing := required - set(body):
        raise _invalid(f"{min(missing)} is a required property")
    if extra := set(body) - required - optional:
        raise _invalid(f"Additional properties are not allowed ({min(extra)} was unexpected)")
    if not isinstance(body["template_id"], str) or not _UUID.fullmatch(body["template_id"]):
        raise _invalid("template_id is not a valid UUID")
    if not isinstance(body.get("personalisation", {}), dict):
        raise _invalid("personalisation is not of type object")
    if "reference" in body and (not isinstance(body["reference"], str) or len(body["reference"]) > 1000):
        raise _invalid("reference must be a string of at most 1000 characters")
    {"email": _check_email, "sms": _check_sms, "letter": _check_letter}[kind](body)


def _check_email(body: dict) -> None:
    if "@" not in str(body["email_address"]):
        raise _invalid("email_address Not a valid email address")


def _check_sms(body: dict) -> None:
    digits = re.sub(r"[\s()+-]", "", str(body["phone_number"]))
    if not re.fullmatch(r"(44|0)7\d{9}", digits):
        raise _invalid("phone_number Not a UK mobile number")
    if "sms_sender_id" in body and not _UUID.fullmatch(str(body["sms_sender_id"])):
        raise _invalid("sms_sender_id is not a valid UUID")


def _check_letter(body: dict) -> None:
    personalisation = body["personalisation"]
    lines = [str(personalisation.get(f"address_line_{n}") or "").strip() for n in range(1, 8)]
    if not lines[0]:
        raise _invalid("personalisation address_line_1 is a required property")
    given = [line for line in lines if line]
    if len(given) < 3:
        raise _invalid("Address must be at least 3 lines")
    if not _POSTCODE.fullmatch(given[-1].upper()):
        raise _invalid("Last line of address must be a real UK postcode or another country")
    if "postcode" in personalisation:
        raise _invalid("postcode is not a letter field: the postcode is the last address line")


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
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        kind = self.path.removeprefix("/v2/notifications/")
        try:
            if kind not in FIELDS:
                raise Refused(404, "BadRequestError", f"no such endpoint {self.path}")
            _check_auth(self.headers)
            if self.headers.get("Content-Type") != "application/json":
                raise Refused(400, "BadRequestError", "Content-Type must be application/json")
            if not self.headers.get("User-Agent", "").startswith("NOTIFY-API-PYTHON-CLIENT/"):
                raise Refused(400, "BadRequestError", "not the Python client")
            try:
                body = json.loads(raw)
            except ValueError:
                raise Refused(400, "BadRequestError", "Invalid JSON supplied in POST data") from None
            _check_body(kind, body)
        except Refused as exc:
            server.problems.append(f"{exc.status} {exc.error}: {exc.message}")
            return self._reply(exc.status, {"status_code": exc.status,
                                            "errors": [{"error": exc.error, "message": exc.message}]})
        if server.statuses:
            status = server.statuses.pop(0)
            return self._reply(status, {"errors": [{"error": "Error", "message": "no"}], "status_code": status})
        server.accepted.append(body)
        server.kinds.append(kind)
        ident = str(uuid.uuid4())
        self._reply(201, {
            "id": ident, "reference": body.get("reference"), "content": {"body": "..."},
            "uri": f"{server.base_url}/v2/notifications/{ident}",
            "template": {"id": body["template_id"], "version": 1, "uri": f"{server.base_url}/v2/template/x"},
        })


@contextmanager
def running_notify(statuses=()) -> Iterator[NotifyStandIn]:
    """A stand-in serving on a free loopback port for the duration of the block."""
    server = NotifyStandIn(statuses)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
