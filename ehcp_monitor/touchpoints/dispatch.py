"""Dispatch: send the outbox's due rows, each at most once (domain.md section 6).

A row is claimed (status `sending`, committed) BEFORE it is sent, then its outcome is recorded:
`sent`, `retry` (certainly not delivered: backoff from `retry_base_seconds`, doubling, up to
`max_attempts`), `failed` (refused) or `unknown` (may or may not have gone). A row still `sending`
after its claim lease ran out was interrupted by a crash: the next dispatch marks it `unknown`
for a person to check; nothing here ever sends it again.

`now` comes from the caller (the CLI or the scheduler); this module never reads the clock.
"""

import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Engine, and_, or_, select, update

from ehcp_monitor.config import Settings
from ehcp_monitor.db.models import Contact, Touchpoint
from ehcp_monitor.logs import get_logger
from ehcp_monitor.touchpoints.planner import EMAIL_PATTERN
from ehcp_monitor.touchpoints.templates import render, template_variables
from ehcp_monitor.touchpoints.transports import (
    DeliveryUncertain,
    DryRunTransport,
    OutgoingEmail,
    PermanentSendError,
    TransientSendError,
    Transport,
    transport_for,
)

log = get_logger()

# How long a claim stays ours. A dispatch run that is still `sending` a row after this was
# interrupted; shorter than any real run would let a live dispatcher's rows be called unknown.
CLAIM_LEASE = timedelta(hours=1)
CLAIM_BATCH = 50
DUE_STATUSES = ("pending", "retry")


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(timezone.utc)


def _due(now: datetime):
    return and_(
        Touchpoint.status.in_(DUE_STATUSES),
        or_(Touchpoint.next_attempt_at.is_(None), Touchpoint.next_attempt_at <= now),
    )


def recover_interrupted(engine: Engine, now: datetime) -> int:
    """Rows left `sending` past their lease become `unknown` (never resent automatically)."""
    with engine.begin() as conn:
        return conn.execute(
            update(Touchpoint)
            .where(Touchpoint.status == "sending", Touchpoint.next_attempt_at <= now)
            .values(status="unknown", next_attempt_at=None,
                    last_error="dispatch was interrupted while sending: check whether it arrived")
        ).rowcount


def claim(engine: Engine, now: datetime, *, limit: int, transport: str) -> list[int]:
    """Mark up to `limit` due rows `sending` and commit, so no other dispatcher can take them.

    PostgreSQL: FOR UPDATE SKIP LOCKED lets concurrent dispatchers take disjoint rows. SQLite has
    one writer at a time, so the single UPDATE statement is the claim. The rows are picked in a
    materialised CTE: as `id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)` PostgreSQL may run
    the subquery once per row and claim every due row, whatever the limit.
    """
    due = select(Touchpoint.id).where(_due(now)).order_by(Touchpoint.id).limit(limit)
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    picked = due.cte("picked").prefix_with("MATERIALIZED")
    with engine.begin() as conn:
        ids = conn.execute(
            update(Touchpoint)
            .where(Touchpoint.id == picked.c.id, _due(now))
            .values(status="sending", attempts=Touchpoint.attempts + 1, transport=transport,
                    next_attempt_at=now + CLAIM_LEASE)
            .returning(Touchpoint.id)
        ).scalars().all()
    return sorted(ids)


def _rows(engine: Engine, where) -> list:
    query = (
        select(Touchpoint.id, Touchpoint.stage, Touchpoint.case_ref, Touchpoint.event_date,
               Touchpoint.variant, Touchpoint.context, Touchpoint.attempts,
               Contact.contact_id.label("found"), Contact.email, Contact.name, Contact.opted_out)
        .outerjoin(Contact, Contact.contact_id == Touchpoint.contact_id)
        .where(where)
        .order_by(Touchpoint.id)
    )
    with engine.connect() as conn:
        return conn.execute(query).all()


def _recipient_problem(row) -> str | None:
    if row.found is None:
        return "contact no longer in the records"
    if row.opted_out:
        return "opted out"
    if not row.email or not re.fullmatch(EMAIL_PATTERN, row.email.strip()):
        return "no valid email address"
    return None


def compose(row, settings: Settings, now: datetime) -> OutgoingEmail:
    variables = template_variables(
        stage=row.stage, case_ref=row.case_ref, event_date=row.event_date, variant=row.variant,
        context=row.context, settings=settings, contact_name=row.name,
    )
    rendered = render(row.stage, variables, settings)
    tp = settings.touchpoints
    return OutgoingEmail(
        to=row.email.strip(),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        reference=f"tp-{row.id}",
        date=now,
        notify_template_id=tp.notify_templates.get(row.stage),
        personalisation={
            "subject": rendered.subject,
            "body": rendered.text,
            "case_ref": row.case_ref,
            "stage": row.stage,
            "la_name": tp.la_name,
            "team_email": tp.team_email,
            "team_phone": tp.team_phone,
        },
    )


def _outcome(row, settings: Settings, now: datetime, transport: Transport) -> dict:
    """Send one claimed row; the column values that record what happened."""
    problem = _recipient_problem(row)
    if problem:
        return {"status": "skipped", "reason": problem, "next_attempt_at": None}
    try:
        email = compose(row, settings, now)
    except Exception as exc:  # a broken (overridden) template must not stop the run
        return {"status": "failed", "next_attempt_at": None,
                "last_error": f"template error: {type(exc).__name__}: {exc}"[:500]}
    try:
        ref = transport.send(email)
    except DeliveryUncertain as exc:
        return {"status": "unknown", "next_attempt_at": None, "last_error": str(exc)}
    except PermanentSendError as exc:
        return {"status": "failed", "next_attempt_at": None, "last_error": str(exc)}
    except TransientSendError as exc:
        tp = settings.touchpoints
        if row.attempts >= tp.max_attempts:
            return {"status": "failed", "next_attempt_at": None,
                    "last_error": f"gave up after {row.attempts} attempts: {exc}"}
        delay = timedelta(seconds=tp.retry_base_seconds * 2 ** (row.attempts - 1))
        return {"status": "retry", "next_attempt_at": now + delay, "last_error": str(exc)}
    except Exception as exc:  # we cannot tell whether it went: never risk sending twice
        return {"status": "unknown", "next_attempt_at": None,
                "last_error": f"unexpected error while sending: {type(exc).__name__}"}
    return {"status": "sent", "next_attempt_at": None, "sent_at": now, "provider_ref": ref,
            "last_error": None}


def _record(engine: Engine, touchpoint_id: int, values: dict) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(Touchpoint)
            .where(Touchpoint.id == touchpoint_id, Touchpoint.status == "sending")
            .values(**values)
        )


def _dry_run(engine: Engine, settings: Settings, now: datetime) -> dict:
    """What a dispatch would send now: rendered and checked, nothing sent, nothing changed."""
    transport = DryRunTransport(settings)
    counts: Counter = Counter()
    by_stage: Counter = Counter()
    for row in _rows(engine, _due(now)):
        problem = _recipient_problem(row)
        if problem:
            counts["skipped"] += 1
            continue
        try:
            transport.send(compose(row, settings, now))
        except Exception:
            counts["failed"] += 1
            continue
        counts["would_send"] += 1
        by_stage[row.stage] += 1
    return {"dry_run": True, "would_send": counts["would_send"], "skipped": counts["skipped"],
            "failed": counts["failed"], "by_stage": dict(sorted(by_stage.items()))}


def dispatch_touchpoints(engine: Engine, settings: Settings, *, as_of: date, now: datetime,
                         dry_run: bool = False, transport: Transport | None = None,
                         pause=time.sleep, clock: Callable[[], datetime] | None = None) -> dict:
    """Send every due row of the outbox. Returns counts by outcome (and sent by stage).

    `now` is when the run starts. `clock` gives the time as a paced run goes on (the CLI and the
    scheduler pass the real one): each claim's lease, each retry time and each `sent_at` come from
    it, so a run longer than the lease cannot have its live rows taken for crashed ones. Without
    it the whole run is stamped `now`.
    """
    now = _utc(now)
    if dry_run:
        return _dry_run(engine, settings, now)
    current = (lambda: _utc(clock())) if clock else (lambda: now)
    transport = transport or transport_for(settings)
    counts: Counter = Counter({"sent": 0, "retry": 0, "failed": 0, "unknown": 0, "skipped": 0})
    counts["unknown"] += recover_interrupted(engine, now)
    interval = 60.0 / settings.touchpoints.rate_per_minute
    sent_by_stage: Counter = Counter()
    first = True
    while ids := claim(engine, current(), limit=min(CLAIM_BATCH, settings.touchpoints.rate_per_minute),
                       transport=transport.name):
        for row in _rows(engine, Touchpoint.id.in_(ids)):
            if transport.paced and not first:
                pause(interval)  # rate_per_minute: evenly spaced sends
            first = False
            values = _outcome(row, settings, current(), transport)
            _record(engine, row.id, values)
            counts[values["status"]] += 1
            if values["status"] == "sent":
                sent_by_stage[row.stage] += 1
            log.info("touchpoint dispatched", touchpoint_id=row.id, stage=row.stage,
                     status=values["status"], transport=transport.name, attempt=row.attempts,
                     error=values.get("last_error"), reason=values.get("reason"))
    result = {**counts, "by_stage": dict(sorted(sent_by_stage.items()))}
    log.info("touchpoints dispatch finished", as_of=str(as_of), sent=counts["sent"],
             retry=counts["retry"], failed=counts["failed"], unknown=counts["unknown"],
             skipped=counts["skipped"])
    return result
