"""Models and migrations agree, on SQLite and on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ehcp_monitor.db.migrate import is_current
from ehcp_monitor.db.models import Base


def test_migrations_match_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    assert is_current(engine)


def test_canonical_models_match_the_schema_registry():
    from ehcp_monitor.db.models import SNAPSHOT_MODELS
    from ehcp_monitor.db.snapshot import stored_schema

    for name, model in SNAPSHOT_MODELS.items():
        stored = [c.name for c in model.__table__.columns if c.name != "row_id"]
        assert stored == list(stored_schema(name)), name
