"""One sending pace for every dispatcher: `rate_per_minute` holds across processes and hosts.

The pace is a token in the store (`store_settings` key `touchpoints.next_send_slot`): the time the
next send may start. A dispatcher takes a slot in one short transaction (PostgreSQL: the row read
with SELECT ... FOR UPDATE; SQLite: the transaction's first statement is a write, so it holds the
single writer's lock), moves the token one interval on, and waits until its slot. Slots are one
interval apart, so no minute holds more than the rate, however many dispatchers share the store.

`now` comes from the caller; this module never reads the clock.
"""

from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ehcp_monitor.db.models import StoreSetting

PACE_KEY = "touchpoints.next_send_slot"
# A token further ahead than this means the clock went back (or a test pinned another day): the
# pace starts again from now rather than waiting for it.
STALE_AHEAD = timedelta(hours=1)


def interval(rate_per_minute: int) -> timedelta:
    return timedelta(seconds=60 / rate_per_minute)


def take_slot(engine: Engine, now: datetime, spacing: timedelta) -> datetime:
    """The time this send may start (never before `now`); the next slot is one `spacing` later."""
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    with engine.begin() as conn:
        conn.execute(insert(StoreSetting).values(key=PACE_KEY, value=now.isoformat(), set_at=now)
                     .on_conflict_do_nothing(index_elements=["key"]))
        token = select(StoreSetting.value).where(StoreSetting.key == PACE_KEY)
        if engine.dialect.name == "postgresql":
            token = token.with_for_update()
        following = datetime.fromisoformat(conn.execute(token).scalar_one())
        slot = following if now <= following <= now + STALE_AHEAD else now
        conn.execute(update(StoreSetting).where(StoreSetting.key == PACE_KEY)
                     .values(value=(slot + spacing).isoformat(), set_at=now))
    return slot
