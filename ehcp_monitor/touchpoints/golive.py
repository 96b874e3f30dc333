"""Going live (docs/touchpoints.md, Going live): the day the LA began sending, before which nothing is sent.

`touchpoints.go_live` in the config wins. When it is empty, the first planning run that finds the
outbox empty fixes it to its own as-of date (or the day it runs, when later) and keeps it in
`store_settings`, so switching the monitor on never mails families about the past; later runs read
it back from there.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine, insert, select

from ehcp_monitor.clock import LONDON
from ehcp_monitor.config import Settings
from ehcp_monitor.db.models import StoreSetting, Touchpoint

GO_LIVE_KEY = "touchpoints.go_live"


@dataclass(frozen=True)
class GoLive:
    day: date | None
    source: str  # "config", "store" (set by the monitor) or "unset"
    set_at: datetime | None = None

    def describe(self) -> str:
        if self.day is None:
            return ("go-live: not set (the first planning run that finds the outbox empty sets it "
                    "to its as-of date, or the day it runs when later)")
        if self.source == "config":
            return f"go-live: {self.day.isoformat()} (touchpoints.go_live in the config)"
        when = f" on {self.set_at.date().isoformat()}" if self.set_at else ""
        return f"go-live: {self.day.isoformat()} (set by the monitor{when}: the outbox was empty)"


def configured(settings: Settings) -> date | None:
    """The config's go-live date (a TOML date or an ISO string; the config check validated it)."""
    value = settings.touchpoints.go_live
    if isinstance(value, date):
        return value
    return date.fromisoformat(value) if value else None


def read_go_live(conn: Connection, settings: Settings) -> GoLive:
    day = configured(settings)
    if day is not None:
        return GoLive(day, "config")
    row = conn.execute(select(StoreSetting.value, StoreSetting.set_at)
                       .where(StoreSetting.key == GO_LIVE_KEY)).first()
    if row is None:
        return GoLive(None, "unset")
    return GoLive(date.fromisoformat(row.value), "store", row.set_at)


def go_live_of(engine: Engine, settings: Settings) -> GoLive:
    with engine.connect() as conn:
        return read_go_live(conn, settings)


def settle_go_live(conn: Connection, settings: Settings, *, as_of: date, now: datetime) -> GoLive:
    """The go-live in force for a planning run, fixing it when unset and the outbox is empty to the
    later of `as_of` and the day the run is made (`now`, in England): a trial plan on a past as-of
    date must not make the days since then news to send once the LA goes live."""
    found = read_go_live(conn, settings)
    if found.day is not None:
        return found
    if conn.execute(select(Touchpoint.id).limit(1)).first() is not None:
        return found  # sending began before go-live existed: nothing is held back
    day = max(as_of, now.astimezone(LONDON).date())
    conn.execute(insert(StoreSetting).values(key=GO_LIVE_KEY, value=day.isoformat(), set_at=now))
    return read_go_live(conn, settings)
