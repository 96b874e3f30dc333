"""Dispatch: send the outbox's due rows, each at most once (docs/touchpoints.md, At most once, always).

A dispatcher claims only what it is about to send (status `claimed`, committed: one row at a
time for a paced transport, a few for the file outbox), and just before it calls the transport it
records the hand-over (status `sending`, committed). Then the outcome: `sent`, `retry` (certainly
not delivered: backoff from `retry_base_seconds`, doubling, up to `max_attempts`), `failed`
(refused) or `unknown` (may or may not have gone). After a crash, the next dispatch puts a row
still `claimed` past its lease back to `pending` (it never reached the transport: safe to send),
and marks a row still `sending` past its lease `unknown` for a person to check (it may have gone;
nothing here ever sends it again). So a crash leaves at most one row in doubt per dispatcher.
Sends through a paced transport share one pace across every dispatcher (touchpoints.pace).

`now` comes from the caller (the CLI or the scheduler); this module never reads the clock.
"""

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Engine, and_, case, or_, select, update

from ehcp_monitor.config import Settings
from ehcp_monitor.db.models import Contact, Touchpoint
from ehcp_monitor.domain.vocabulary import DUE_OUTBOX_STATUSES
from ehcp_monitor.logs import get_logger
from ehcp_monitor.touchpoints import pace
from ehcp_monitor.touchpoints.planner import EMAIL_PATTERN
from ehcp_monitor.touchpoints.templates import render, template_variables
from ehcp_monitor.transports import (
    DeliveryUncertain,
    DryRunTransport,
    OutgoingEmail,
    PermanentSendError,
    TransientSendError,
    Transport,
    transport_for,
)

log = get_logger()

# How long a claim stays ours before it is handed over: a claimed row waits only for its pace
# slot (a few intervals) or for the rows of its small batch to be written. Past this the dispatcher
# is taken for dead and the row goes back to `pending`.
CLAIM_LEASE = timedelta(minutes=15)
# How long a hand-over stays ours: a row still `sending` after this was interrupted mid-send.
# Shorter than any real send would let a live dispatcher's row be called unknown.
SEND_LEASE = timedelta(hours=1)
CLAIM_BATCH = 10  # rows a claim takes for a transport that is not paced (the file outbox)
DUE_STATUSES = DUE_OUTBOX_STATUSES


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
    """After a crash: rows `claimed` past their lease go back to be sent (they never reached the
    transport); rows `sending` past their lease become `unknown` (never resent automatically).
    Returns how many became unknown."""
    with engine.begin() as conn:
        returned = conn.execute(
            update(Touchpoint)
            .where(Touchpoint.status == "claimed", Touchpoint.next_attempt_at <= now)
            .values(status=case((Touchpoint.attempts > 0, "retry"), else_="pending"), next_attempt_at=None)
        ).rowcount
        unknown = conn.execute(
            update(Touchpoint)
            .where(Touchpoint.status == "sending", Touchpoint.next_attempt_at <= now)
            .values(status="unknown", next_attempt_at=None,
                    last_error="dispatch was interrupted while sending: check whether it arrived")
        ).rowcount
    if returned or unknown:
        log.warning("touchpoints recovered after a crash", counts={"returned": returned, "unknown": unknown})
    return unknown


def set_aside_unsendable(engine: Engine, settings: Settings, as_of: date) -> dict[str, int]:
    """Before anything is claimed, rows that may no longer be sent are set aside
    (docs/touchpoints.md, Checked again when sent):
    dated before the go-live in force (a go-live set or moved after they were planned) become
    `baseline`, held ones included; rows still waiting whose event has grown older than
    `max_event_age_days` (planned on a past as-of date, or retried for days) become `suppressed`."""
    from ehcp_monitor.touchpoints.golive import read_go_live

    cutoff = as_of - timedelta(days=settings.touchpoints.max_event_age_days)
    with engine.begin() as conn:
        go_live = read_go_live(conn, settings).day
        before = 0
        if go_live is not None:
            before = conn.execute(
                update(Touchpoint)
                .where(Touchpoint.status.in_((*DUE_STATUSES, "held")), Touchpoint.event_date < go_live)
                .values(status="baseline", next_attempt_at=None, reason=f"dated before go-live {go_live.isoformat()}")
            ).rowcount
        stale = conn.execute(
            update(Touchpoint)
            .where(Touchpoint.status.in_(DUE_STATUSES), Touchpoint.event_date < cutoff)
            .values(status="suppressed", next_attempt_at=None,
                    reason=f"older than {settings.touchpoints.max_event_age_days} days when it was to be sent")
        ).rowcount
    if before or stale:
        log.warning("touchpoints set aside before sending", counts={"baseline": before, "suppressed": stale})
    return {"baseline": before, "suppressed": stale}


def claim(engine: Engine, now: datetime, *, limit: int, transport: str) -> list[int]:
    """Mark up to `limit` due rows `claimed` and commit, so no other dispatcher can take them.

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
            .values(status="claimed", transport=transport, next_attempt_at=now + CLAIM_LEASE)
            .returning(Touchpoint.id)
        ).scalars().all()
    return sorted(ids)


def hand_over(engine: Engine, touchpoint_id: int, *, claimed_until: datetime, now: datetime) -> bool:
    """Record, and commit, that a claimed row goes to the transport now (status `sending`, one
    more attempt): from here a crash leaves it in doubt. False when the claim is no longer ours
    (it ran out and another dispatcher took the row): then it must not be sent."""
    with engine.begin() as conn:
        return conn.execute(
            update(Touchpoint)
            .where(Touchpoint.id == touchpoint_id, Touchpoint.status == "claimed",
                   Touchpoint.next_attempt_at == claimed_until)
            .values(status="sending", attempts=Touchpoint.attempts + 1, next_attempt_at=now + SEND_LEASE)
        ).rowcount == 1


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
            "la_name": settings.la.name,
            "team_email": tp.team_email,
            "team_phone": tp.team_phone,
        },
    )


def _outcome(row, settings: Settings, now: datetime, transport: Transport,
             hand_over: Callable[[], datetime | None]) -> dict | None:
    """Send one claimed row; the column values that record what happened (None: the row was not
    ours to send after all). `hand_over` waits for the pace, records the hand-over and gives the
    time of the send."""
    problem = _recipient_problem(row)
    if problem:
        return {"status": "skipped", "reason": problem, "next_attempt_at": None}
    try:
        email = compose(row, settings, now)
    except Exception as exc:  # a broken (overridden) template must not stop the run
        return {"status": "failed", "next_attempt_at": None,
                "last_error": f"template error: {type(exc).__name__}: {exc}"[:500]}
    sent_at = hand_over()
    if sent_at is None:
        return None
    now, email = sent_at, replace(email, date=sent_at)
    attempts = row.attempts + 1
    try:
        ref = transport.send(email)
    except DeliveryUncertain as exc:
        return {"status": "unknown", "next_attempt_at": None, "last_error": str(exc)}
    except PermanentSendError as exc:
        return {"status": "failed", "next_attempt_at": None, "last_error": str(exc)}
    except TransientSendError as exc:
        tp = settings.touchpoints
        if attempts >= tp.max_attempts:
            return {"status": "failed", "next_attempt_at": None,
                    "last_error": f"gave up after {attempts} attempts: {exc}"}
        delay = timedelta(seconds=tp.retry_base_seconds * 2 ** (attempts - 1))
        return {"status": "retry", "next_attempt_at": now + delay, "last_error": str(exc)}
    except Exception as exc:  # we cannot tell whether it went: never risk sending twice
        return {"status": "unknown", "next_attempt_at": None,
                "last_error": f"unexpected error while sending: {type(exc).__name__}"}
    return {"status": "sent", "next_attempt_at": None, "sent_at": now, "provider_ref": ref,
            "last_error": None}


def _record(engine: Engine, touchpoint_id: int, values: dict, *, lease: datetime) -> None:
    """Record the outcome of a row this dispatcher still holds (`lease`: its claim's or hand-over's)."""
    with engine.begin() as conn:
        conn.execute(
            update(Touchpoint)
            .where(Touchpoint.id == touchpoint_id, Touchpoint.status.in_(("claimed", "sending")),
                   Touchpoint.next_attempt_at == lease)
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
    it the run's time moves only with the pace: each send is stamped with its slot.
    """
    now = _utc(now)
    if dry_run:
        return _dry_run(engine, settings, now)
    current = (lambda: _utc(clock())) if clock else (lambda: now)
    transport = transport or transport_for(settings)
    counts: Counter = Counter({"sent": 0, "retry": 0, "failed": 0, "unknown": 0, "skipped": 0})
    counts["unknown"] += recover_interrupted(engine, now)
    counts.update(set_aside_unsendable(engine, settings, as_of))
    spacing = pace.interval(settings.touchpoints.rate_per_minute)
    reached = [now]  # the latest pace slot this run waited for: a pinned clock stands still
    handed_over: dict[int, datetime] = {}  # row -> its hand-over lease

    def moment() -> datetime:
        return max(current(), reached[0])

    def hand_over_after_pace(row_id: int, claimed_until: datetime) -> datetime | None:
        at = moment()
        if transport.paced:  # rate_per_minute, shared by every dispatcher (touchpoints.pace)
            slot = pace.take_slot(engine, at, spacing)
            if slot > at:
                pause((slot - at).total_seconds())
            reached[0] = at = max(slot, at)
        if not hand_over(engine, row_id, claimed_until=claimed_until, now=at):
            return None
        handed_over[row_id] = at + SEND_LEASE
        return at

    sent_by_stage: Counter = Counter()
    # A paced transport claims one row at a time, right before sending it; the file outbox a few.
    while ids := claim(engine, claimed_at := moment(), limit=1 if transport.paced else CLAIM_BATCH,
                       transport=transport.name):
        for row in _rows(engine, Touchpoint.id.in_(ids)):
            values = _outcome(row, settings, moment(), transport,
                              lambda: hand_over_after_pace(row.id, claimed_at + CLAIM_LEASE))
            if values is None:  # our claim ran out and another dispatcher has the row
                continue
            _record(engine, row.id, values, lease=handed_over.pop(row.id, claimed_at + CLAIM_LEASE))
            counts[values["status"]] += 1
            if values["status"] == "sent":
                sent_by_stage[row.stage] += 1
            log.debug("touchpoint dispatched", touchpoint_id=row.id, stage=row.stage,
                     status=values["status"], transport=transport.name, attempt=row.attempts,
                     error=values.get("last_error"), reason=values.get("reason"))
    result = {**counts, "by_stage": dict(sorted(sent_by_stage.items()))}
    log.info("touchpoints dispatch finished", as_of=str(as_of), sent=counts["sent"],
             retry=counts["retry"], failed=counts["failed"], unknown=counts["unknown"],
             skipped=counts["skipped"])
    return result
