"""A small caseload for touchpoint tests: a snapshot and hand-built check results (never computed)."""

import email
import socket
from datetime import date, datetime, timezone
from email import policy

import polars as pl
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete

from ehcp_monitor import config
from ehcp_monitor.db.bulk import write_frame
from ehcp_monitor.db.models import check_results
from ehcp_monitor.db.snapshot import Snapshot, replace_snapshot
from ehcp_monitor.domain.results import RESULT_SCHEMA
from tests.conftest import LA_DETAILS

AS_OF = date(2025, 3, 14)
NOW = datetime(2025, 3, 14, 9, 0, tzinfo=timezone.utc)
D = date.fromisoformat
# Most tests here are about what happens once the LA is live: every event of these caseloads
# happened after go-live (test_going_live.py is about going live itself).
LIVE_SINCE = "2000-01-01"


def tp_settings(**changes):
    """The settings of a store that went live long ago, with the LA's own details."""
    return config.defaults().replace(**{"touchpoints.go_live": LIVE_SINCE, **LA_DETAILS, **changes})


def store_case(engine, frames: dict[str, list[dict]], results: list[dict], *, ingest_id: int = 1) -> None:
    """Replace the snapshot with `frames` (as from ingest `ingest_id`) and check_results with `results`."""
    snap = Snapshot.from_frames({name: pl.DataFrame(rows) for name, rows in frames.items()},
                               ingest_id=ingest_id, source_kind="canonical")
    with engine.begin() as conn:
        replace_snapshot(conn, snap, loaded_at=NOW)
        conn.execute(delete(check_results))
        full = [{c: r.get(c) for c in RESULT_SCHEMA} for r in results]
        frame = pl.DataFrame(full, schema=RESULT_SCHEMA, orient="row")
        write_frame(conn, "check_results", frame.with_columns(pl.lit(1).alias("run_id")))


def result(measure, *, request_id=None, plan_id=None, person_id="P1", item=None, anchor=None,
           due, completed=None, status, days_late=None, kind="statutory") -> dict:
    return {
        "measure": measure, "request_id": request_id, "plan_id": plan_id, "person_id": person_id,
        "item": item, "anchor_date": anchor, "due_date": due, "completed_date": completed,
        "status": status, "days_late": days_late, "exception": False, "very_late": False,
        "stage": None, "kind": kind, "basis": "reg",
    }


def caseload() -> tuple[dict, list]:
    """Two families: P1 reachable (two contacts and one opted out), P2 with a bad address."""
    frames = {
        "people": [
            {"person_id": "P1", "date_of_birth": D("2015-06-01"), "forename": "Alice", "surname": "Smith"},
            {"person_id": "P2", "date_of_birth": D("2016-06-01"), "forename": "Bob", "surname": "Jones"},
        ],
        "requests": [
            {"request_id": "R1", "person_id": "P1", "received_date": D("2025-03-10"), "request_outcome": "A",
             "case_officer": "Jo Officer", "team": "North"},
            {"request_id": "R2", "person_id": "P1", "received_date": D("2024-10-01"), "request_outcome": "Y",
             "request_outcome_date": D("2024-11-01"), "case_officer": "Jo Officer", "team": "North"},
            {"request_id": "R3", "person_id": "P2", "received_date": D("2024-12-01"), "request_outcome": "Y",
             "request_outcome_date": D("2025-01-05")},
            {"request_id": "R0", "person_id": "P1", "received_date": D("2020-01-06"), "request_outcome": "H"},
        ],
        "assessments": [
            {"request_id": "R2", "assessment_outcome": "A"},
            {"request_id": "R0", "assessment_outcome": "H", "assessment_outcome_date": D("2020-05-01")},
        ],
        "drafts": [{"request_id": "R3", "draft_plan_date": D("2025-03-05")}],
        "advice": [
            {"request_id": "R2", "advice_type": "health", "requested_date": D("2024-12-21")},
        ],
        "plans": [{"plan_id": "PL1", "person_id": "P1", "request_id": "R0", "start_date": D("2020-05-01")}],
        "reviews": [
            {"plan_id": "PL1", "meeting_date": D("2025-02-20"), "decision_date": D("2025-03-12"),
             "outcome": "amend"},
        ],
        "contacts": [
            {"contact_id": "C1", "person_id": "P1", "role": "parent_carer", "name": "Carol Smith",
             "email": "carol@example.org", "opted_out": False},
            {"contact_id": "C2", "person_id": "P1", "role": "parent_carer", "name": "Bill Smith",
             "email": "bill@example.org"},
            {"contact_id": "C3", "person_id": "P1", "role": "parent_carer", "name": "Dan Smith",
             "email": "dan@example.org", "opted_out": True},
            {"contact_id": "C4", "person_id": "P2", "role": "parent_carer", "name": "Eve Jones",
             "email": "eve@example.org\r\nBcc: x@evil.example"},
        ],
    }
    results = [
        result("DECIDE_6W", request_id="R1", anchor=D("2025-03-10"), due=D("2025-04-21"), status="pending"),
        result("FINAL_20W", request_id="R2", anchor=D("2024-10-01"), due=D("2025-03-01"), status="overdue",
               days_late=13),
        # first overdue 2025-02-02; repeats every 28 days, so 2025-03-02 too: one notice with both steps
        result("ADVICE_6W", request_id="R2", item="health", anchor=D("2024-12-21"), due=D("2025-02-01"),
               status="overdue", days_late=41),
        result("DRAFT_LOCAL", request_id="R2", due=D("2025-01-07"), status="overdue", days_late=66, kind="local"),
        result("REVIEW_12M", request_id="R0", plan_id="PL1", anchor=D("2024-05-01"), due=D("2025-05-01"),
               status="pending"),
    ]
    return frames, results


@pytest.fixture
def stored_caseload(engine):
    frames, results = caseload()
    store_case(engine, frames, results)
    return engine


def one_family() -> tuple[dict, list]:
    """One request received four days ago, one parent carer: exactly one email to send."""
    frames = {
        "people": [{"person_id": "P1", "date_of_birth": D("2015-06-01"), "forename": "Alice", "surname": "Smith"}],
        "requests": [{"request_id": "R1", "person_id": "P1", "received_date": D("2025-03-10"),
                      "request_outcome": "A"}],
        "contacts": [{"contact_id": "C1", "person_id": "P1", "role": "parent_carer", "name": "Carol Smith",
                      "email": "carol@example.org"}],
    }
    return frames, [result("DECIDE_6W", request_id="R1", due=D("2025-04-21"), status="pending")]


@pytest.fixture
def one_email(engine):
    from ehcp_monitor.touchpoints import plan_touchpoints

    store_case(engine, *one_family())
    assert plan_touchpoints(engine, tp_settings(), as_of=AS_OF)["pending"] == 1
    return engine


# --- a real SMTP server (aiosmtpd) on 127.0.0.1 ----------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Accepts mail, or answers DATA with the queued replies first (e.g. "451 ...")."""

    def __init__(self, replies=()):
        self.replies = list(replies)
        self.received = []  # (envelope recipients, parsed message)

    async def handle_DATA(self, server, session, envelope):
        if self.replies:
            return self.replies.pop(0)
        msg = email.message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append((list(envelope.rcpt_tos), msg))
        return "250 2.0.0 OK"


@pytest.fixture
def smtp_server():
    servers = []

    def start(replies=()):
        handler = Recorder(replies)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        servers.append(controller)
        return handler, controller.port

    yield start
    for c in servers:
        c.stop()


def smtp_settings(port, **more):
    return tp_settings(**{
        "touchpoints.transport": "smtp", "touchpoints.smtp_host": "127.0.0.1", "touchpoints.smtp_port": port,
        "touchpoints.smtp_security": "none", "touchpoints.smtp_timeout_seconds": 5,
        "touchpoints.rate_per_minute": 60000, "touchpoints.reply_to": "replies@harbourside.gov.uk", **more,
    })


@pytest.fixture(autouse=True)
def no_smtp_login(monkeypatch):
    monkeypatch.delenv("EHCP_SMTP_USERNAME", raising=False)


def held_ids(engine) -> list[int]:
    """The IDs of every held row: a release by ID, as a person releases rows held by a rule."""
    from sqlalchemy import select

    from ehcp_monitor.db.models import Touchpoint

    with engine.connect() as conn:
        return conn.execute(select(Touchpoint.id).where(Touchpoint.status == "held")
                            .order_by(Touchpoint.id)).scalars().all()
