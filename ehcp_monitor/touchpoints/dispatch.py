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

Each row goes by the channel the planner chose (docs/touchpoints.md, Channels): email through the
configured transport, a text message or a letter through GOV.UK Notify, with the same claim,
hand-over and outcomes. Nothing is sent outside the sending window (touchpoints.send_window_start
to send_window_end, on working days when send_on_working_days_only): such a run reports how many
rows wait and when the window next opens.

`now` comes from the caller (the CLI or the scheduler); this module never reads the clock.
"""

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from functools import partial

from sqlalchemy import Engine, and_, case, func, or_, select, update

from ehcp_monitor.config import Settings
from ehcp_monitor.db.models import Contact, SnapshotInfo, Touchpoint, TouchpointPlanRun
from ehcp_monitor.db.results import snapshot_ingest_id
from ehcp_monitor.domain.vocabulary import DUE_OUTBOX_STATUSES, OPTED_OUT, YOUNG_PERSON
from ehcp_monitor.errors import JobFailed
from ehcp_monitor.logs import get_logger
from ehcp_monitor.touchpoints import pace
from ehcp_monitor.touchpoints.corrections import TOO_OLD_MARK
from ehcp_monitor.touchpoints.hold import OVERTAKEN_WHEN_SENT, discard_overtaken, overtaken_now, retry_overtaken
from ehcp_monitor.touchpoints.planner import ADDRESS_LINES, EMAIL_PATTERN
from ehcp_monitor.touchpoints.readiness import example_settings, require_ready
from ehcp_monitor.touchpoints.templates import render, render_text, template_variables, without_bidi_controls
from ehcp_monitor.transports import (
    DeliveryUncertain,
    DryRunTransport,
    FileTransport,
    NotifyLetterTransport,
    NotifyTextTransport,
    OutgoingEmail,
    OutgoingLetter,
    OutgoingText,
    PermanentSendError,
    TransientSendError,
    Transport,
    addressee,
    letter_address,
    letter_transport_for,
    normalise_uk_mobile,
    text_transport_for,
    transport_for,
)
from ehcp_monitor.working_days import LONDON, in_sending_window, next_window_opens

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
            .values(status=case((Touchpoint.attempts > 0, "retry"), else_="pending"), next_attempt_at=None,
                    transport=None)
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
    `baseline`, held ones included (but a correction held as too old to send); rows still waiting
    whose event has grown older than
    `max_event_age_days` by `as_of` (the later of the run's as-of date and the day it runs: planned on
    a past as-of date, or retried for days) become `suppressed`; rows waiting whose contact was told
    later news of the case (hold.overtaken: a "request received" retried or sent again after its
    decision, or beside its apology) become `discarded`, but for rows a person released by ID."""
    from ehcp_monitor.touchpoints.golive import read_go_live

    cutoff = as_of - timedelta(days=settings.touchpoints.max_event_age_days)
    with engine.begin() as conn:
        go_live = read_go_live(conn, settings).day
        before = 0
        if go_live is not None:
            before = conn.execute(
                update(Touchpoint)
                .where(Touchpoint.status.in_((*DUE_STATUSES, "held")), Touchpoint.event_date < go_live,
                       # held as a correction too old to send: it waits for the person who tells the family
                       ~func.coalesce(Touchpoint.reason, "").contains(TOO_OLD_MARK))
                .values(status="baseline", next_attempt_at=None, reason=f"dated before go-live {go_live.isoformat()}")
            ).rowcount
        stale = conn.execute(
            update(Touchpoint)
            .where(Touchpoint.status.in_(DUE_STATUSES), Touchpoint.event_date < cutoff)
            .values(status="suppressed", next_attempt_at=None,
                    reason=f"older than {settings.touchpoints.max_event_age_days} days when it was to be sent")
        ).rowcount
        passed = len(discard_overtaken(conn))
    if before or stale or passed:
        log.warning("touchpoints set aside before sending",
                    counts={"baseline": before, "suppressed": stale, "overtaken": passed})
    return {"baseline": before, "suppressed": stale, **({"overtaken": passed} if passed else {})}


def claim(engine: Engine, now: datetime, *, limit: int, transport: str | dict[str, str]) -> list[int]:
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
    names = (case(*((Touchpoint.channel == c, n) for c, n in transport.items() if c != "email"),
                  else_=transport["email"])
             if isinstance(transport, dict) else transport)  # a dict: the transport's name by channel
    with engine.begin() as conn:
        ids = conn.execute(
            update(Touchpoint)
            .where(Touchpoint.id == picked.c.id, _due(now))
            .values(status="claimed", transport=names, next_attempt_at=now + CLAIM_LEASE)
            .returning(Touchpoint.id)
        ).scalars().all()
    return sorted(ids)


def hand_over(engine: Engine, touchpoint_id: int, *, claimed_until: datetime, now: datetime,
              records: int | None) -> bool:
    """Record, and commit, that a claimed row goes to the transport now (status `sending`, one
    more attempt): from here a crash leaves it in doubt. False when the claim is no longer ours
    (it ran out and another dispatcher took the row), or when the snapshot in force is no longer
    `records` (the ingest the row and its contact were read from: an ingest committed while it
    waited for its pace slot, an opt-out say): then it must not be sent. False too, the row
    `discarded`, when it is a retry whose contact has been handed a later stage of its journey
    since (hold.retry_overtaken)."""
    in_force = select(SnapshotInfo.ingest_id).scalar_subquery()
    ours = (Touchpoint.id == touchpoint_id, Touchpoint.status == "claimed", Touchpoint.next_attempt_at == claimed_until)
    with engine.begin() as conn:
        if conn.execute(update(Touchpoint).where(*ours, retry_overtaken())
                        .values(status="discarded", next_attempt_at=None, reason=OVERTAKEN_WHEN_SENT)).rowcount:
            log.info("touchpoint overtaken at its hand-over", touchpoint_id=touchpoint_id)
            return False
        return conn.execute(
            update(Touchpoint).where(*ours, in_force.is_not_distinct_from(records))
            .values(status="sending", attempts=Touchpoint.attempts + 1, next_attempt_at=now + SEND_LEASE)
        ).rowcount == 1


def release(engine: Engine, ids: list[int], *, claimed_until: datetime) -> None:
    """Give back rows claimed but not handed over (the sending window closed before a row's turn
    came, or the run stopped): due again as if never claimed."""
    with engine.begin() as conn:
        conn.execute(
            update(Touchpoint)
            .where(Touchpoint.id.in_(ids), Touchpoint.status == "claimed", Touchpoint.next_attempt_at == claimed_until)
            .values(status=case((Touchpoint.attempts > 0, "retry"), else_="pending"), next_attempt_at=None,
                    transport=None)
        )


def _rows(engine: Engine, where) -> list:
    query = (
        select(Touchpoint.id, Touchpoint.stage, Touchpoint.case_ref, Touchpoint.event_date,
               Touchpoint.variant, Touchpoint.context, Touchpoint.attempts, Touchpoint.channel,
               Touchpoint.person_id, Contact.person_id.label("contact_person_id"),
               Contact.contact_id.label("found"), Contact.email, Contact.name, Contact.role, Contact.opted_out,
               Contact.mobile, *(getattr(Contact, c) for c in ADDRESS_LINES), Contact.postcode)
        .outerjoin(Contact, Contact.contact_id == Touchpoint.contact_id)
        .where(where)
        .order_by(Touchpoint.id)
    )
    with engine.connect() as conn:
        return conn.execute(query).all()


def _address(row) -> tuple[list[str | None], str | None]:
    return [getattr(row, c) for c in ADDRESS_LINES], row.postcode


def _recipient_problem(row) -> str | None:
    """Why the row's channel cannot reach its contact now (their details may have changed since
    it was planned); None when it can."""
    if row.found is None:
        return "contact no longer in the records"
    if row.person_id is not None and row.contact_person_id != row.person_id:
        # The records now link this contact to another child: the message is about a child they
        # may no longer be responsible for, and it names that child.
        return "contact no longer linked to this child"
    if row.opted_out:
        return OPTED_OUT
    if row.channel == "sms":
        return None if normalise_uk_mobile(row.mobile) else "no UK mobile number"
    if row.channel == "letter":
        return None if letter_address(*_address(row)) else "no postal address"
    if not row.email or not re.fullmatch(EMAIL_PATTERN, row.email.strip()):
        return "no valid email address"
    return None


def _london_day(now: datetime) -> date:
    """The family's calendar day at `now` (the sending window is in London time too)."""
    return now.astimezone(LONDON).date()


def compose(row, settings: Settings, now: datetime) -> OutgoingEmail:
    variables = template_variables(
        stage=row.stage, case_ref=row.case_ref, event_date=row.event_date, variant=row.variant,
        context=row.context, settings=settings, contact_name=row.name, to_young_person=row.role == YOUNG_PERSON,
        sent_on=_london_day(now),
    )
    rendered = render(row.stage, variables, settings)
    return OutgoingEmail(
        to=(row.email or "").strip(),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        reference=f"tp-{row.id}",
        date=now,
        notify_template_id=settings.touchpoints.notify_templates.get(row.stage),
        personalisation=_personalisation(row, settings, rendered.text, rendered.subject),
    )


def _personalisation(row, settings: Settings, body: str, subject: str) -> dict[str, str]:
    tp = settings.touchpoints
    return {"subject": subject, "body": body, "case_ref": row.case_ref, "stage": row.stage,
            "la_name": settings.la.name, "team_email": tp.team_email, "team_phone": tp.team_phone}


def compose_text(row, settings: Settings, now: datetime) -> OutgoingText:
    """The stage's text message (templates.render_text) as one paragraph; Notify's template for the
    stage shows it as ((body))."""
    variables = template_variables(
        stage=row.stage, case_ref=row.case_ref, event_date=row.event_date, variant=row.variant,
        context=row.context, settings=settings, contact_name=row.name, to_young_person=row.role == YOUNG_PERSON,
        sent_on=_london_day(now),
    )
    body = render_text(row.stage, variables, settings)
    return OutgoingText(
        phone_number=row.mobile or "",
        template_id=settings.touchpoints.notify_sms_templates.get(row.stage),
        personalisation={"body": body, "case_ref": row.case_ref, "stage": row.stage},
        reference=f"tp-{row.id}",
    )


def compose_letter(row, settings: Settings, now: datetime) -> OutgoingLetter:
    """The stage's plain-text email body as a letter: Notify's template shows ((subject)) and ((body));
    Notify adds the address block from the address lines, the contact's name first (an envelope
    addressed to no one may not reach the right person in a shared house)."""
    email = compose(row, settings, now)
    lines, postcode = _address(row)
    # As in the body: an override left open in a name would print the next line reversed. Taken out
    # before the name is checked: "\u202e(Mrs) Carol" is a name Notify would refuse.
    block = [addressee(without_bidi_controls(row.name)), *without_bidi_controls(lines)]
    return OutgoingLetter(
        address_lines=tuple(line for line in block if line and line.strip()),
        postcode=postcode or "",
        template_id=settings.touchpoints.notify_letter_templates.get(row.stage),
        personalisation=_personalisation(row, settings, email.text, email.subject),
        reference=f"tp-{row.id}",
    )


class Channels:
    """The transport of each channel; the Notify ones made only when a row needs them."""

    def __init__(self, settings: Settings, email: Transport, text=None, letter=None, *, dry_run: bool = False):
        self.settings, self.email, self._text, self._letter, self.dry_run = settings, email, text, letter, dry_run

    def names(self) -> dict[str, str]:
        return {"email": self.email.name,
                "sms": self._text.name if self._text else NotifyTextTransport.name,
                "letter": self._letter.name if self._letter else NotifyLetterTransport.name}

    def paced(self, channel: str) -> bool:
        if channel == "email":
            return self.email.paced
        made = self._text if channel == "sms" else self._letter
        return made.paced if made else not self.dry_run

    def for_channel(self, channel: str):
        if channel in ("sms", "letter") and not self.dry_run:
            require_ready(self.settings)  # texts and letters always reach a family
        if channel == "sms":
            self._text = self._text or text_transport_for(self.settings, dry_run=self.dry_run)
            return self._text
        if channel == "letter":
            self._letter = self._letter or letter_transport_for(self.settings, dry_run=self.dry_run)
            return self._letter
        return self.email


def compose_for(row, settings: Settings, now: datetime) -> OutgoingEmail | OutgoingText | OutgoingLetter:
    if row.channel == "sms":
        return compose_text(row, settings, now)
    if row.channel == "letter":
        return compose_letter(row, settings, now)
    return compose(row, settings, now)


def _outcome(row, settings: Settings, now: datetime, channels: Channels,
             hand_over: Callable[[], datetime | None]) -> dict | None:
    """Send one claimed row by its channel; the column values that record what happened (None: the
    row was not ours to send after all). `hand_over` waits for the pace, records the hand-over and
    gives the time of the send."""
    problem = _recipient_problem(row)
    if problem:
        return {"status": "skipped", "reason": problem, "next_attempt_at": None}
    transport = channels.for_channel(row.channel)  # a missing Notify key stops the run (ConfigError)
    try:
        message = compose_for(row, settings, now)
    except Exception as exc:  # a broken (overridden) template must not stop the run
        return {"status": "failed", "next_attempt_at": None,
                "last_error": f"template error: {type(exc).__name__}: {exc}"[:500]}
    sent_at = hand_over()
    if sent_at is None:
        return None
    now = sent_at
    if isinstance(message, OutgoingEmail):
        message = replace(message, date=sent_at)
    attempts = row.attempts + 1
    try:
        ref = transport.send(message)
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


def _dry_run(engine: Engine, settings: Settings, now: datetime, as_of: date) -> dict:
    """What a dispatch would send now: rendered and checked, nothing sent, nothing changed. It
    refuses as the real dispatch would when the records changed since planning, and leaves out
    what the real run sets aside first (set_aside_unsendable), changing nothing."""
    from ehcp_monitor.touchpoints.golive import read_go_live

    require_planned_from_records(engine)
    channels = Channels(settings, DryRunTransport(settings), dry_run=True)
    counts: Counter = Counter()
    by_stage: Counter = Counter()
    cutoff = max(as_of, _london_day(now)) - timedelta(days=settings.touchpoints.max_event_age_days)
    with engine.connect() as conn:
        go_live = read_go_live(conn, settings).day
    set_aside = [Touchpoint.event_date < cutoff, overtaken_now()]
    if go_live is not None:
        set_aside.append(and_(Touchpoint.event_date < go_live,
                              ~func.coalesce(Touchpoint.reason, "").contains(TOO_OLD_MARK)))
    for row in _rows(engine, and_(_due(now), ~or_(*set_aside))):
        problem = _recipient_problem(row)
        if problem:
            counts["skipped"] += 1
            continue
        try:
            channels.for_channel(row.channel).send(compose_for(row, settings, now))
        except Exception:
            counts["failed"] += 1
            continue
        counts["would_send"] += 1
        by_stage[row.stage] += 1
    result = {"dry_run": True, "would_send": counts["would_send"], "skipped": counts["skipped"],
              "failed": counts["failed"], "by_stage": dict(sorted(by_stage.items()))}
    problems = example_settings(settings)
    if problems:  # what the real dispatch would refuse for (or, through the file outbox, warn of)
        result["not_ready"] = "; ".join(problems)
    return result


def _totals(sent: Counter, part: int) -> dict[str, int]:
    totals: Counter = Counter()
    for key, n in sent.items():
        if n:
            totals[key[part]] += n
    return dict(sorted(totals.items()))


def count_due(engine: Engine, now: datetime) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Touchpoint).where(_due(now))).scalar_one()


def _outside_window(engine: Engine, settings: Settings, closed: datetime | None) -> dict:
    """When a run stopped at (or started outside) the sending window: the rows left waiting and
    when the window next opens."""
    if closed is None:
        return {}
    return {"outside_window": count_due(engine, closed), "next_window": next_window_opens(closed, settings).isoformat()}


def _give_back(engine: Engine, ids: list[int], lease: datetime) -> None:
    """release() on the way out of a failed run: its own failure (the store gone) must not hide
    why the run stopped; the rows then go back after their lease (recover_interrupted)."""
    try:
        release(engine, ids, claimed_until=lease)
    except Exception as exc:  # noqa: BLE001 - the original error is re-raised by the caller
        log.warning("claimed touchpoints not given back", rows=len(ids), error=type(exc).__name__)


def _send_claimed(engine: Engine, settings: Settings, ids: list[int], lease: datetime, channels: Channels,
                  handing: "_HandOver", counts: Counter, sent: Counter, records: int | None) -> None:
    """Send each claimed row by its channel and record what happened (`records`: the ingest in
    force when they were claimed)."""
    for row in _rows(engine, Touchpoint.id.in_(ids)):
        values = _outcome(row, settings, handing.moment(), channels,
                          partial(handing, row.id, row.channel, lease, records))
        if values is None:  # the window closed, or our claim ran out and another dispatcher has the row
            continue
        _record(engine, row.id, values, lease=handing.leases.pop(row.id, lease))
        counts[values["status"]] += 1
        sent[(row.stage, row.channel)] += values["status"] == "sent"
        log.debug("touchpoint dispatched", touchpoint_id=row.id, stage=row.stage, channel=row.channel,
                  status=values["status"], transport=channels.names()[row.channel], attempt=row.attempts,
                  error=values.get("last_error"), reason=values.get("reason"))


class _HandOver:
    """The hand-over of each claimed row: wait for its pace slot (rate_per_minute, shared by every
    dispatcher: touchpoints.pace), then record it `sending`, inside the sending window only."""

    def __init__(self, engine: Engine, settings: Settings, channels: Channels, now: datetime,
                 current: Callable[[], datetime], pause: Callable[[float], object]):
        self.engine, self.settings, self.channels, self.current, self.pause = engine, settings, channels, current, pause
        self.spacing = pace.interval(settings.touchpoints.rate_per_minute)
        self.reached = now  # the latest pace slot this run waited for: a pinned clock stands still
        self.leases: dict[int, datetime] = {}  # row -> its hand-over lease
        self.closed_at: datetime | None = None  # when a row found the window closed at its hand-over
        self.overtaken = 0  # rows discarded at their hand-over (hand_over)

    def moment(self) -> datetime:
        return max(self.current(), self.reached)

    def __call__(self, row_id: int, channel: str, claimed_until: datetime, records: int | None) -> datetime | None:
        """The time of the send; None when the row is not to be sent now (given back when the
        window closed while it waited its turn; our claim ran out). RecordsChanged, the row
        given back, when an ingest committed while it waited."""
        at = self.moment()
        turn = pace.take_slot(self.engine, at, self.spacing) if self.channels.paced(channel) else at
        if not in_sending_window(max(turn, at), self.settings):  # known before waiting for it
            release(self.engine, [row_id], claimed_until=claimed_until)
            self.closed_at = self.closed_at or max(turn, at)
            return None
        if turn > at:
            self.pause((turn - at).total_seconds())
            self.reached = at = turn
        if not hand_over(self.engine, row_id, claimed_until=claimed_until, now=at, records=records):
            with self.engine.connect() as conn:
                in_force = snapshot_ingest_id(conn)
                status = conn.execute(select(Touchpoint.status).where(Touchpoint.id == row_id)).scalar()
            self.overtaken += status == "discarded"
            if in_force != records:
                release(self.engine, [row_id], claimed_until=claimed_until)
                raise RecordsChanged(f"touchpoints dispatch: the case records changed (ingest #{in_force}) while a "
                                     "message waited its turn: run `ehcp-monitor touchpoints plan` first; "
                                     "nothing more was sent")
            return None
        self.leases[row_id] = at + SEND_LEASE
        return at


class RecordsChanged(JobFailed):
    """Messages wait, and the case records changed since they were planned (exit 1, nothing sent)."""


def require_planned_from_records(engine: Engine) -> int | None:
    """Refuse to send while messages wait and the snapshot in force is not the one the latest
    planning run read (docs/touchpoints.md, Checked again when sent): only planning checks a waiting
    message against the records (touchpoints/corrections.py), so an ingest since may have corrected
    or removed its event. Checked before every claim; returns the ingest in force, which each row
    claimed next must still find at its hand-over (hand_over)."""
    with engine.connect() as conn:
        in_force = snapshot_ingest_id(conn)
        if conn.execute(select(Touchpoint.id).where(Touchpoint.status.in_(DUE_STATUSES)).limit(1)).first() is None:
            return in_force
        planned_from = conn.execute(
            select(TouchpointPlanRun.ingest_id).order_by(TouchpointPlanRun.id.desc()).limit(1)).scalar()
    if planned_from is None and in_force is not None:
        raise RecordsChanged(
            f"touchpoints dispatch: no planning run has recorded which case records it read (ingest #{in_force} is "
            "in force; runs before this version's upgrade recorded none): run `ehcp-monitor touchpoints plan` "
            "first; nothing more was sent")
    if planned_from != in_force:
        raise RecordsChanged(
            f"touchpoints dispatch: the case records changed (ingest #{in_force}) since touchpoints were last "
            f"planned (from ingest #{planned_from}): run `ehcp-monitor touchpoints plan` first; "
            "nothing more was sent")
    return in_force


def _check_ready(engine: Engine, settings: Settings, transport: Transport) -> None:
    """Refuse to send while messages would carry an example setting (readiness.py), before anything
    is claimed: always through SMTP or Notify, and through the file outbox (which reaches no
    family: there it is a warning) when any row waiting is a text or a letter."""
    problems = example_settings(settings)
    if not problems:
        return
    if transport.name != FileTransport.name:
        require_ready(settings)
    with engine.connect() as conn:
        texts_or_letters = conn.execute(
            select(Touchpoint.id).where(Touchpoint.status.in_(DUE_STATUSES), Touchpoint.channel != "email").limit(1)
        ).first()
    if texts_or_letters is not None:
        require_ready(settings)
    for problem in problems:
        log.warning("touchpoint messages carry an example setting", reason=problem)


def dispatch_touchpoints(engine: Engine, settings: Settings, *, as_of: date, now: datetime,
                         dry_run: bool = False, transport: Transport | None = None,
                         text_transport=None, letter_transport=None,
                         pause=time.sleep, clock: Callable[[], datetime] | None = None,
                         stop: threading.Event | None = None) -> dict:
    """Send every due row of the outbox by its channel. Returns counts by outcome (and sent by
    stage and by channel).

    Outside the sending window nothing is sent (rows are still recovered and set aside): the counts
    are then `outside_window` (rows waiting) and `next_window` (when it opens, ISO 8601 UTC). A
    paced run that reaches the window's end stops claiming there and says so the same way.

    `now` is when the run starts. `clock` gives the time as a paced run goes on (the CLI and the
    scheduler pass the real one): each claim's lease, each retry time and each `sent_at` come from
    it, so a run longer than the lease cannot have its live rows taken for crashed ones. Without
    it the run's time moves only with the pace: each send is stamped with its slot.

    `stop` (the service's stop request: SIGTERM) ends a long paced run before its next claim, with
    `stopped` in the counts; what is left waits for the next run.
    """
    now = _utc(now)
    if dry_run:
        return _dry_run(engine, settings, now, as_of)
    current = (lambda: _utc(clock())) if clock else (lambda: now)
    transport = transport or transport_for(settings)
    channels = Channels(settings, transport, text_transport, letter_transport)
    counts: Counter = Counter({"sent": 0, "retry": 0, "failed": 0, "unknown": 0, "skipped": 0})
    counts["unknown"] += recover_interrupted(engine, now)
    # Stale by the day it goes, not only by the as-of date: a past night run again weeks later
    # (docs/operations.md, Recovery) must not send what is by now old news.
    counts.update(set_aside_unsendable(engine, settings, max(as_of, _london_day(now))))
    _check_ready(engine, settings, transport)
    handing = _HandOver(engine, settings, channels, now, current, pause)
    moment = handing.moment
    sent: Counter = Counter()  # (stage, channel) of each row sent
    window_closed: datetime | None = None
    # A paced transport claims one row at a time, right before sending it; the file outbox a few.
    # Each claim is made inside the sending window: outside it (at the start, or when a long run
    # reaches the window's end) nothing more is claimed.
    while True:
        claimed_at = moment()
        if stop is not None and stop.is_set():
            counts["stopped"] = 1
            break
        if not in_sending_window(claimed_at, settings):
            window_closed = claimed_at
            break
        # Before each claim: an ingest may commit while a paced run goes on.
        records = require_planned_from_records(engine)
        ids = claim(engine, claimed_at, limit=1 if transport.paced else CLAIM_BATCH, transport=channels.names())
        if not ids:
            break
        lease = claimed_at + CLAIM_LEASE
        try:
            _send_claimed(engine, settings, ids, lease, channels, handing, counts, sent, records)
        except BaseException:
            # Stopped part-way (a refusal, an interrupt): what was claimed and not handed over goes
            # back now, not after its lease as if this dispatcher had crashed. Only rows still
            # `claimed` under this lease: a row handed over (`sending`) may have gone.
            _give_back(engine, ids, lease)
            raise
        if handing.closed_at:
            window_closed = handing.closed_at
            break
    if handing.overtaken:
        counts["overtaken"] += handing.overtaken
    result = {**counts, "by_stage": _totals(sent, 0), "by_channel": _totals(sent, 1),
              **_outside_window(engine, settings, window_closed)}
    log.info("touchpoints dispatch finished", as_of=str(as_of), sent=counts["sent"],
             retry=counts["retry"], failed=counts["failed"], unknown=counts["unknown"],
             skipped=counts["skipped"])
    return result
