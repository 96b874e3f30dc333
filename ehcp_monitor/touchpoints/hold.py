"""A surge is held, not sent (docs/touchpoints.md, A surge is held, not sent).

A planning run that would queue more new emails than the hold limit records them all `held`: a
data fault that makes every case look late must reach the data team, not the families. An
operator then runs `touchpoints release` (held -> pending, sent by the next dispatch) or
`touchpoints discard` (held -> discarded, never sent); both are recorded in `operator_actions`.

The limit: `touchpoints.hold_above` when set (> 0); else 3 x the median of the emails queued by
the last 14 planning runs that held nothing, and at least 50.
"""

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Connection, Engine, Select, and_, case, exists, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from ehcp_monitor.clock import LONDON
from ehcp_monitor.config import Settings
from ehcp_monitor.db.models import OperatorAction, Touchpoint, TouchpointPlanRun
from ehcp_monitor.domain.vocabulary import DUE_OUTBOX_STATUSES
from ehcp_monitor.logs import get_logger

log = get_logger()

HOLD_RUNS = 14
HOLD_FACTOR = 3
HOLD_MINIMUM = 50
HELD = "held"
# Ends the reason of a row superseded or skipped while held: when it can be told again, it comes
# back held (corrections.revive, unreached.reached), never pending without a person's release.
WAS_HELD = "; it was held"
CORRECTED = ("sent", "unknown")  # an earlier message a released correction can correct
# How a row held by a rule of its own is let go or not: by its ID, never by a release or discard of
# every held row (release keeps such rows held; discard would throw away every held row with it).
BY_ITS_ID = "`ehcp-monitor touchpoints release --id N` or `discard --id N`"
# Begins the reason of a row held for two outcomes of its decision (touchpoints/outcomes.py).
TWO_OUTCOMES = "held: the records hold two outcomes for "


@dataclass(frozen=True)
class HoldLimit:
    limit: int  # more new emails than this in one run are held
    why: str  # "3 x the median of the last 14 runs (12)"

    def message(self, held: int) -> str:
        return (f"held {held} new emails: more than {self.why}; check the data, then "
                "`ehcp-monitor touchpoints release` or `discard`")


def hold_limit(conn: Connection, settings: Settings) -> HoldLimit:
    fixed = settings.touchpoints.hold_above
    if fixed:
        return HoldLimit(fixed, f"touchpoints.hold_above ({fixed})")
    recent = conn.execute(
        select(TouchpointPlanRun.queued).where(TouchpointPlanRun.held == 0)
        .order_by(TouchpointPlanRun.id.desc()).limit(HOLD_RUNS)
    ).scalars().all()
    if not recent:
        return HoldLimit(HOLD_MINIMUM, f"{HOLD_MINIMUM} (the minimum; no earlier planning runs)")
    median = statistics.median(recent)
    runs = f"the last {len(recent)} runs" if len(recent) > 1 else "the last run"
    automatic = math.floor(HOLD_FACTOR * median)
    if automatic < HOLD_MINIMUM:
        return HoldLimit(HOLD_MINIMUM, f"{HOLD_MINIMUM} (the minimum; {HOLD_FACTOR} x the median of "
                                       f"{runs} is {HOLD_FACTOR * median:g})")
    return HoldLimit(automatic, f"{HOLD_FACTOR} x the median of {runs} ({median:g})")


def record_plan_run(conn: Connection, *, as_of: date, planned_at: datetime, queued: int, held: int,
                    baseline: int, ingest_id: int | None = None) -> None:
    """`held`: held as a surge (the limit's median counts runs that held none); `ingest_id`: the
    snapshot planned from (dispatch sends only what was planned from the snapshot in force)."""
    conn.execute(insert(TouchpointPlanRun).values(
        as_of=as_of, planned_at=planned_at, queued=queued, held=held, baseline=baseline, ingest_id=ingest_id,
    ))


@dataclass(frozen=True)
class Held:
    count: int
    by_stage: dict[str, int] = field(default_factory=dict)
    since: date | None = None  # the as-of date of the earliest planning run still held

    def line(self) -> str:
        return (f"touchpoints: {self.count} emails held since {self.since}: read why "
                "(`ehcp-monitor touchpoints list --status held`); a surge goes by `ehcp-monitor touchpoints "
                f"release` or `discard`, a row held for a reason of its own by {BY_ITS_ID}")


def held_now(engine: Engine) -> Held:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Touchpoint.stage, func.count(), func.min(Touchpoint.planned_as_of))
            .where(Touchpoint.status == HELD).group_by(Touchpoint.stage).order_by(Touchpoint.stage)
        ).all()
    if not rows:
        return Held(0)
    return Held(sum(r[1] for r in rows), {r[0]: r[1] for r in rows}, min(r[2] for r in rows))


def _held(stage: str | None, ids: Sequence[int] = ()):
    where = [Touchpoint.status == HELD]
    if stage:
        where.append(Touchpoint.stage == stage)
    if ids:
        where.append(Touchpoint.id.in_(list(ids)))
    return where


def _update(conn: Connection, where, **values) -> dict[str, int]:
    """Update the rows and count them by stage (what was changed, even with a planner racing)."""
    stages = conn.execute(update(Touchpoint).where(*where).values(**values)
                          .returning(Touchpoint.stage)).scalars().all()
    return dict(sorted(Counter(stages).items()))


def _another_outcome_waits():
    """A held row held for two outcomes of its decision, or whose decision (stage, case, date) has,
    for the same contact, a row of another outcome (variant) held or waiting (touchpoints/outcomes.py).
    A correction (another outcome sent before) is not: released, it tells the outcome as corrected."""
    other = aliased(Touchpoint)
    return or_(
        # coalesce: a held row with no reason is not one (NULL would leave it out of a release).
        func.coalesce(Touchpoint.reason, "").startswith(TWO_OUTCOMES),
        exists().where(other.stage == Touchpoint.stage, other.case_ref == Touchpoint.case_ref,
                       other.event_date == Touchpoint.event_date, other.contact_id == Touchpoint.contact_id,
                       other.variant != Touchpoint.variant, other.status.in_((HELD, "pending", "retry"))),
    )


# Where each stage comes in a request's journey. A held message of an earlier stage, released
# after the same contact was told a later one (the surge held the "request received"; the decision
# went the next night), would take the family back a step. Not the reviews: they recur, and a
# stage and a date cannot tell this year's review from last year's (a waiting reminder of a review
# whose meeting is recorded is superseded by planning: docs/touchpoints.md).
JOURNEY = {"request_received": ("request", 1), "decision_to_assess": ("request", 2),
           "decision_not_to_assess": ("request", 2), "draft_plan_issued": ("request", 3),
           "final_plan_issued": ("request", 4), "decision_not_to_issue": ("request", 4)}
UPDATES = ("delay_notice", "progress_update")
TOLD_STATUSES = ("sent", "unknown", "claimed", "sending")  # sent, or may have been (corrections.TOLD)
OVERTAKEN_REASON = "held, then overtaken: the family has been told later news of the case since; not sent"
# Set by a release by ID: a person decided this row goes, whatever news came after it (dispatch).
RELEASED_BY_ID = "released by an operator by its ID"


def _group(column):
    return case({stage: g for stage, (g, _) in JOURNEY.items()}, value=column, else_=None)


def _rank(column):
    return case({stage: n for stage, (_, n) in JOURNEY.items()}, value=column, else_=None)


def overtaken(apologies_due: Sequence[str] = ()):
    """A row whose contact has been told (sent, or may have been), of the same case, a later stage
    of the same journey, or (for a delay notice or progress update) any stage dated after it; a
    "request received" also once an apology or progress update of its case was told or (in
    `apologies_due`) waits to go: both say the request is being dealt with, and an apology says its
    decision date, which the "request received" tells as still to come, has passed."""
    told = aliased(Touchpoint)
    return exists().where(
        # The stages first: SQLite then finds them through the outbox key's index (stage, case_ref, ...).
        told.stage.in_([*JOURNEY, *UPDATES]), told.case_ref == Touchpoint.case_ref,
        told.contact_id == Touchpoint.contact_id, told.event_date >= Touchpoint.event_date,
        or_(and_(told.status.in_(TOLD_STATUSES),
                 or_(and_(_group(told.stage) == _group(Touchpoint.stage), _rank(told.stage) > _rank(Touchpoint.stage)),
                     and_(Touchpoint.stage.in_(UPDATES), told.stage.in_(list(JOURNEY)),
                          told.event_date > Touchpoint.event_date))),
            and_(Touchpoint.stage == "request_received", told.stage.in_(UPDATES),
                 told.status.in_([*TOLD_STATUSES, *apologies_due]))))


# Handed over to a transport: sent, or may have been (not `claimed`: a row claimed beside it in
# the same batch has not gone, and may not).
HANDED_OVER = ("sent", "unknown", "sending")


def retry_overtaken():
    """A retry (tried before) of the journey whose contact has been handed a later stage of the
    same journey of the case since, and no person released it by its ID: checked as each row is
    handed over, since a retry comes due again in the same paced run after its case's next message
    went (a "request received" after the decision). Only this part of `overtaken`, and only for a
    retry: rows planned together go as planned (dispatch set aside what was overtaken before the
    run), where the whole rule, tried at each claim, set aside apologies still true depending on
    which rows one claim took."""
    told = aliased(Touchpoint)
    return and_(Touchpoint.attempts > 0, func.coalesce(Touchpoint.reason, "") != RELEASED_BY_ID, exists().where(
        told.stage.in_(list(JOURNEY)), told.case_ref == Touchpoint.case_ref,
        told.contact_id == Touchpoint.contact_id, told.event_date >= Touchpoint.event_date,
        told.status.in_(HANDED_OVER), _group(told.stage) == _group(Touchpoint.stage),
        _rank(told.stage) > _rank(Touchpoint.stage)))


OVERTAKEN_WHEN_SENT = ("overtaken before it was sent: its contact has been told later news of the case (or, for a "
                       "request received, is to be sent an apology for its decision); not sent")


def overtaken_now():
    """A waiting row whose contact was told later news of the case, or a "request received" whose
    apology waits beside it; not one a person released by its ID."""
    return and_(func.coalesce(Touchpoint.reason, "") != RELEASED_BY_ID, overtaken(apologies_due=DUE_OUTBOX_STATUSES))


def discard_overtaken(conn: Connection, among: Sequence[int] | Select | None = None) -> set[int]:
    """Rows waiting to go (of `among`: ids, or a query of them; or all) overtaken now -> discarded,
    and their ids: by dispatch before it claims anything, and by a release or a retry for the cases
    of the rows it makes due, which a dispatch already running would otherwise claim unchecked."""
    where = [Touchpoint.status.in_(DUE_OUTBOX_STATUSES), overtaken_now()]
    if isinstance(among, Select):
        where.append(Touchpoint.id.in_(among))
    elif among is not None:
        if not among:
            return set()
        where.append(Touchpoint.id.in_(list(among)))
    return set(conn.execute(update(Touchpoint).where(*where)
                            .values(status="discarded", next_attempt_at=None, reason=OVERTAKEN_WHEN_SENT)
                            .returning(Touchpoint.id)).scalars())


def of_the_cases_of(ids: Sequence[int]) -> Select:
    """The ids of every outbox row of the cases of the rows `ids`."""
    cases = select(Touchpoint.case_ref).where(Touchpoint.id.in_(list(ids)))
    return select(Touchpoint.id).where(Touchpoint.case_ref.in_(cases))


# What a release without IDs lets go: the rows of a surge (a whole night checked at once), and
# rows held again after being set aside. A row held by a rule of its own (a correction of what the
# family was sent, records in doubt) needs a person's decision on that row: release it by its ID
# (`--as-correction` when it corrects the earlier message) or discard it.
BULK_RELEASABLE = ("surge held", "held again")


def _for_review():
    reason = func.coalesce(Touchpoint.reason, "")
    return ~or_(reason == "", *[reason.startswith(prefix) for prefix in BULK_RELEASABLE])


def _only(ids: Sequence[int]) -> dict:
    return {"ids": list(ids)} if ids else {}


def _not_held(conn: Connection, ids: Sequence[int], stage: str | None) -> dict:
    """Of the `ids` an operator named, those not held (of `stage`, when given), with their status:
    `{"not_held": {id: status}}`, so the command says why nothing happened to them (empty when
    all are held)."""
    if not ids:
        return {}
    found = {row.id: row for row in conn.execute(
        select(Touchpoint.id, Touchpoint.status, Touchpoint.stage).where(Touchpoint.id.in_(list(ids))))}
    not_held = {}
    for i in ids:
        row = found.get(i)
        if row is None:
            not_held[i] = "not in the outbox"
        elif row.status != HELD:
            not_held[i] = row.status
        elif stage and row.stage != stage:
            not_held[i] = f"held, but a {row.stage} (not {stage})"
    return {"not_held": not_held} if not_held else {}


def _record(conn: Connection, action: str, now: datetime, detail: dict) -> None:
    conn.execute(insert(OperatorAction).values(at=now, action=action, detail=detail))


def _as_corrections(conn: Connection, ids: Sequence[int]) -> dict:
    """Each released row of `ids` (now pending) records in its facts the earlier message it
    corrects, `corrects`: {stage, sent_on}, so the family reads that it does (templates): the
    latest message of its case planned before it and sent, or maybe sent (CORRECTED), to its
    contact: of the same once-per-case group or stage when there is one (corrections.ONCE_PER_CASE),
    else of any; for a delay notice or progress update, of a once-per-case stage first (held after
    the final plan was told, it corrects that message).
    Counts: `as_corrections`, and `no_earlier_message` (ids with none: sent as they are)."""
    from ehcp_monitor.touchpoints.corrections import ONCE_PER_CASE  # it imports this module

    earlier = aliased(Touchpoint)
    marked, none = 0, []
    rows = conn.execute(select(Touchpoint.id, Touchpoint.stage, Touchpoint.case_ref, Touchpoint.contact_id,
                               Touchpoint.context)
                        .where(Touchpoint.id.in_(list(ids)), Touchpoint.status == "pending")).all()
    for row in rows:  # a handful, named by an operator
        told = conn.execute(
            select(earlier.stage, earlier.sent_at, earlier.planned_as_of)
            .where(earlier.case_ref == row.case_ref, earlier.contact_id == row.contact_id,
                   earlier.status.in_(CORRECTED), earlier.id < row.id).order_by(earlier.id.desc())).all()
        group = ONCE_PER_CASE.get(row.stage, row.stage)
        same = [t for t in told if ONCE_PER_CASE.get(t.stage, t.stage) == group]
        if not told:
            none.append(row.id)
            continue
        if row.stage in ("delay_notice", "progress_update"):
            # Held after a step was told done (corrections.DONE_TOLD_BY): it corrects that message.
            candidates = [t for t in told if t.stage in ONCE_PER_CASE] or same or told
        else:
            candidates = same or told
        last = candidates[0]
        sent = last.sent_at
        sent_on = (sent.replace(tzinfo=sent.tzinfo or timezone.utc).astimezone(LONDON).date() if sent
                   else last.planned_as_of)
        conn.execute(update(Touchpoint).where(Touchpoint.id == row.id).values(
            context={**(row.context or {}), "corrects": {"stage": last.stage, "sent_on": sent_on.isoformat()}}))
        marked += 1
    return {"as_corrections": marked, **({"no_earlier_message": none} if none else {})}


def release(engine: Engine, settings: Settings, *, stage: str | None, as_of: date, now: datetime,
            ids: Sequence[int] = (), as_correction: bool = False) -> dict:
    """Held rows (of `stage`, of `ids`, or all) -> pending (sent by the next dispatch). A row whose
    event is by now older than `max_event_age_days` is suppressed instead: a release never sends
    stale news; nor one overtaken by later news told to its contact, or a "request received"
    beside its apology waiting or released with it (discarded, as dispatch would). Without `ids`,
    only a surge's rows (and rows held again) go: a row held by a rule of its own is kept
    (`kept_for_review`) for a person to release by its ID. `as_correction` (with `ids` only): each
    says it corrects the family's earlier message (_as_corrections)."""
    if as_correction and not ids:
        raise ValueError("as_correction needs the ids of the rows that correct an earlier message")
    oldest = as_of - timedelta(days=settings.touchpoints.max_event_age_days)
    held = _held(stage, ids)
    with engine.begin() as conn:
        not_held = _not_held(conn, ids, stage)
        stale_where = [*held, Touchpoint.event_date < oldest]
        stale = _update(conn, stale_where, status="suppressed", context={},
                        reason=f"held, then older than {settings.touchpoints.max_event_age_days} days "
                               "when released")
        # Never sent, and not superseded (planning would bring a superseded row back: its event is there).
        # Only a surge's rows: a row held by a rule of its own is a person's call, whatever came since
        # (a correction may correct the very news told after it).
        passed = _update(conn, [*held, ~_for_review(), overtaken()], status="discarded", context={},
                         reason=OVERTAKEN_REASON)
        # Two outcomes of one decision for one contact go only by their IDs: released together
        # they would tell the family both.
        conflict = _another_outcome_waits()
        kept = 0 if ids else conn.execute(
            select(func.count()).select_from(Touchpoint).where(*held, conflict)).scalar_one()
        review = 0 if ids else conn.execute(
            select(func.count()).select_from(Touchpoint).where(*held, ~conflict, _for_review())).scalar_one()
        # Only the rows this release sends: not one already pending, sent or suppressed as stale.
        releasing = conn.execute(select(Touchpoint.id).where(*held)).scalars().all() if as_correction else []
        released_ids = conn.execute(
            update(Touchpoint).where(*(held if ids else [*held, ~conflict, ~_for_review()]))
            .values(status="pending", reason=RELEASED_BY_ID if ids else None)
            .returning(Touchpoint.id, Touchpoint.stage)).all()
        # What the next dispatch would set aside first, one already running would not: of the
        # released rows' cases (a "request received" waiting beside an apology released).
        gone = discard_overtaken(conn, among=of_the_cases_of([i for i, _ in released_ids]))
        released = dict(sorted(Counter(stage for i, stage in released_ids if i not in gone).items()))
        corrected = _as_corrections(conn, releasing) if as_correction else {}
        passed_count = sum(passed.values()) + len(gone)
        counts = {"released": sum(released.values()), "suppressed": sum(stale.values()),
                  **({"overtaken": passed_count} if passed_count else {}),
                  **({"two_outcomes_kept": kept} if kept else {}), **({"kept_for_review": review} if review else {}),
                  **not_held, **corrected, "by_stage": released}
        _record(conn, "touchpoints_release", now, {"stage": stage, **_only(ids), "as_of": as_of.isoformat(),
                                                   **({"as_correction": True} if as_correction else {}), **counts})
    log.info("touchpoints released", stage=stage, counts=counts)
    return counts


def discard(engine: Engine, *, stage: str | None, now: datetime, ids: Sequence[int] = ()) -> dict:
    """Held rows (of `stage`, of `ids`, or all) -> discarded: never sent. Without `ids`, only a
    surge's rows (and rows held again), as a release: a row held by a rule of its own (a correction
    of what the family was sent) is kept (`kept_for_review`); discarded with the surge, the family
    would keep the message it corrects."""
    held = _held(stage, ids)
    with engine.begin() as conn:
        not_held = _not_held(conn, ids, stage)
        review = 0 if ids else conn.execute(
            select(func.count()).select_from(Touchpoint).where(*held, _for_review())).scalar_one()
        by_stage = _update(conn, held if ids else [*held, ~_for_review()], status="discarded", context={},
                           reason="discarded by an operator after it was held")
        counts = {"discarded": sum(by_stage.values()), **({"kept_for_review": review} if review else {}),
                  **not_held, "by_stage": by_stage}
        _record(conn, "touchpoints_discard", now, {"stage": stage, **_only(ids), **counts})
    log.info("touchpoints discarded", stage=stage, counts=counts)
    return counts
