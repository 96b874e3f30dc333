"""Rows in doubt (`unknown`: dispatch was interrupted while handing one over, or the server did not
say): only a person can tell whether the family got it. `resolve` records what they found, so
`health` stops reporting the row: arrived -> `sent`; did not arrive -> `superseded`, which the next
planning run brings back (`pending`, sent by the dispatch after it) while the records still have its
event, with every rule a message coming back meets (docs/touchpoints.md, When the records change)."""

from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from ehcp_monitor.db.models import OperatorAction, Touchpoint
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.logs import get_logger

log = get_logger(__name__)

SUPERSEDED = "superseded"  # corrections.SUPERSEDED, without loading the planner for one command
NOT_ARRIVED = ("an operator confirmed it did not arrive: the next planning run brings it back while its event is "
               "in the records")


def resolve(engine: Engine, touchpoint_id: int, *, arrived: bool, now: datetime) -> str:
    """The row's new status; a row that is not `unknown` is refused in one line (exit 2)."""
    with engine.begin() as conn:
        status = conn.execute(select(Touchpoint.status).where(Touchpoint.id == touchpoint_id)).scalar()
        if status is None:
            raise ConfigError(f"touchpoints resolve: there is no touchpoint #{touchpoint_id}")
        if status != "unknown":
            raise ConfigError(f"touchpoints resolve: touchpoint #{touchpoint_id} is {status}, not unknown: "
                              "nothing to resolve")
        # Not arrived: set aside (superseded) for the next planning run to bring back while the
        # records still have its event, checked as any message coming back is (corrections.revive).
        # Sent again at once, it could tell what the records no longer say.
        new = "sent" if arrived else SUPERSEDED
        reason = "an operator confirmed it arrived" if arrived else NOT_ARRIVED
        conn.execute(update(Touchpoint).where(Touchpoint.id == touchpoint_id, Touchpoint.status == "unknown")
                     .values(status=new, next_attempt_at=None, reason=reason))
        conn.execute(insert(OperatorAction).values(at=now, action="touchpoints_resolve",
                                                   detail={"touchpoint_id": touchpoint_id, "arrived": arrived}))
    log.info("touchpoint resolved", touchpoint_id=touchpoint_id, status=new)
    return new
