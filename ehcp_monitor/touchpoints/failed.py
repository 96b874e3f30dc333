"""Failed messages that can still be told (docs/touchpoints.md, Failed messages).

A message fails for good after `max_attempts` retries (the mail relay down for a morning) or at
once on a permanent refusal (an address refused, a relay not yet letting us send). While its
event is not too old to tell (`max_event_age_days`), `health` reports it, and once the cause is
fixed an operator sends it again with `touchpoints retry`: failed -> pending, its attempts
counted afresh. Older, it stays failed: the news is stale by now.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, case, func, insert, select, update

from ehcp_monitor.config import Settings
from ehcp_monitor.db.models import OperatorAction, Touchpoint
from ehcp_monitor.logs import get_logger
from ehcp_monitor.touchpoints.hold import RELEASED_BY_ID, discard_overtaken, of_the_cases_of

log = get_logger(__name__)

FAILED = "failed"


@dataclass(frozen=True)
class Failed:
    count: int
    since: date | None = None  # the oldest event among them

    def line(self) -> str:
        return (f"touchpoints: {self.count} messages failed that can still be told (events since "
                f"{self.since}): fix the cause (`ehcp-monitor touchpoints list --status failed` shows the errors), "
                "then `ehcp-monitor touchpoints retry`")


def _recent(settings: Settings, today: date):
    return Touchpoint.event_date >= today - timedelta(days=settings.touchpoints.max_event_age_days)


def failed_now(engine: Engine, settings: Settings, today: date) -> Failed:
    """The failed messages whose event is not too old to tell on `today`."""
    with engine.connect() as conn:
        count, since = conn.execute(select(func.count(), func.min(Touchpoint.event_date))
                                    .where(Touchpoint.status == FAILED, _recent(settings, today))).one()
    return Failed(count, since)


def retry_failed(engine: Engine, settings: Settings, *, stage: str | None, today: date, now: datetime,
                 ids: Sequence[int] = ()) -> dict:
    """Failed messages (of `stage`, of `ids`, or all) whose event is not too old to tell on
    `today` -> pending, attempts from 0: sent by the next dispatch, which checks them again
    (docs/touchpoints.md, Checked again when sent). Recorded in `operator_actions`."""
    where = [Touchpoint.status == FAILED, _recent(settings, today)]
    if stage:
        where.append(Touchpoint.stage == stage)
    if ids:
        where.append(Touchpoint.id.in_(list(ids)))
    with engine.begin() as conn:
        stages = conn.execute(update(Touchpoint).where(*where)
                              .values(status="pending", attempts=0, next_attempt_at=None,
                                      # A row a person released by its ID stays theirs (dispatch).
                                      reason=case((Touchpoint.reason == RELEASED_BY_ID, RELEASED_BY_ID),
                                                  else_="sent again by an operator after it failed"))
                              .returning(Touchpoint.id, Touchpoint.stage)).all()
        # What the next dispatch would set aside first: one already running would not.
        gone = discard_overtaken(conn, among=of_the_cases_of([i for i, _ in stages]))
        by_stage = dict(sorted(Counter(stage for i, stage in stages if i not in gone).items()))
        counts = {"retried": sum(by_stage.values()), **({"overtaken": len(gone)} if gone else {}),
                  "by_stage": by_stage}
        conn.execute(insert(OperatorAction).values(at=now, action="touchpoints_retry", detail={
            "stage": stage, **({"ids": list(ids)} if ids else {}), "today": today.isoformat(), **counts}))
    log.info("touchpoints retried", stage=stage, counts=counts)
    return counts
