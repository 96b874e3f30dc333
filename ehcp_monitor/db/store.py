"""Opening the store for a command: engine from settings, schema brought up to date."""

from sqlalchemy import Engine

from ehcp_monitor.config import Settings
from ehcp_monitor.db.connect import engine_for
from ehcp_monitor.db.migrate import upgrade_head


def open_store(settings: Settings, *, migrate: bool = True) -> Engine:
    engine = engine_for(settings)
    if migrate:
        upgrade_head(engine)
    return engine
