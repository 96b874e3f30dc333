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


def test_the_fast_path_knows_the_head_revision():
    """upgrade_head recognises a current store without Alembic by HEAD_REVISION: it must be the head."""
    from alembic.script import ScriptDirectory

    from ehcp_monitor.db.migrate import HEAD_REVISION, alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD_REVISION]


def test_a_store_behind_the_head_or_with_stale_views_is_brought_up_to_date(engine, monkeypatch):
    """The fast path skips Alembic only for a store at HEAD_REVISION with current views."""
    from alembic import command
    from sqlalchemy import inspect, text

    from ehcp_monitor.db.migrate import upgrade_head
    from ehcp_monitor.db.views import VIEWS, views_current

    upgrades = []
    real_upgrade = command.upgrade
    monkeypatch.setattr(command, "upgrade", lambda config, revision: upgrades.append(revision)
                        or real_upgrade(config, revision))
    upgrade_head(engine)
    assert upgrades == []  # current: Alembic not asked
    with engine.begin() as conn:
        conn.execute(text("DROP VIEW v_late_list"))
        assert not views_current(conn)
    upgrade_head(engine)
    assert upgrades == ["head"]
    with engine.connect() as conn:
        assert views_current(conn) and set(VIEWS) <= set(inspect(conn).get_view_names())
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    monkeypatch.setattr(command, "upgrade", lambda config, revision: upgrades.append(revision))
    upgrade_head(engine)
    assert upgrades == ["head", "head"] and not is_current(engine)
