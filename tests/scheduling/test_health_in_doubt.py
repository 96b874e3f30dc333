"""`health` names the touchpoint emails in doubt after a crash, in one line, and exits 1."""

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import insert

from ehcp_monitor import clock
from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.scheduling.health import rows_in_doubt
from ehcp_monitor.touchpoints.dispatch import CLAIM_LEASE, SEND_LEASE
from tests.scheduling.conftest import run_cli

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=timezone.utc)


def outbox(engine, now, *rows: tuple[str, datetime | None]) -> None:
    with engine.begin() as conn:
        for n, (status, lease) in enumerate(rows):
            conn.execute(insert(Touchpoint).values(
                stage="request_received", case_ref=f"R{n}", event_date=date(2026, 3, 1), contact_id=f"C{n}",
                status=status, attempts=1, next_attempt_at=lease, planned_at=now, planned_as_of=date(2026, 3, 2),
                context={}))


def test_rows_in_doubt_are_unknown_ones_and_sends_interrupted_past_their_lease(engine):
    outbox(engine, NOW,
           ("unknown", None),
           ("sending", NOW - timedelta(minutes=1)),  # its dispatcher died mid-send
           ("sending", NOW + SEND_LEASE),  # a live dispatcher is sending it
           ("claimed", NOW - CLAIM_LEASE),  # never handed over: goes back to pending, not in doubt
           ("sent", None), ("pending", None))
    doubt = rows_in_doubt(engine, NOW)
    assert (doubt.unknown, doubt.interrupted, doubt.count) == (1, 1, 2)
    assert rows_in_doubt(engine, NOW + SEND_LEASE).interrupted == 2


def test_health_says_how_many_are_in_doubt_in_one_line_and_exits_1(engine, tmp_path, cli_env):
    now = clock.now_utc()
    outbox(engine, now, ("unknown", None), ("sending", now - timedelta(hours=2)))
    result = run_cli(["health"], cli_env, tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if "in doubt" in line]
    assert lines == ["touchpoints: 2 emails in doubt (1 unknown, 1 interrupted while sending): check each, "
                     "see `ehcp-monitor touchpoints list --status unknown` (and `--status sending`: the next "
                     "dispatch records those unknown)"]
    assert "2 touchpoint emails in doubt" in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
