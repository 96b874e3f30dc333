"""Models and migrations agree, on SQLite and on PostgreSQL."""

import pytest
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


def test_the_outbox_key_gains_the_variant_keeping_every_row(engine):
    """0003: rows recorded under the old key keep their verdicts, their variant "" for none; a
    second variant of one event and contact then has a row of its own."""
    from alembic import command
    from sqlalchemy import text

    from ehcp_monitor.db.migrate import alembic_config, upgrade_head
    from ehcp_monitor.db.views import drop_views

    row = ("INSERT INTO touchpoints (stage, case_ref, event_date, contact_id, variant, status, attempts, "
           "planned_at, planned_as_of, channel, context) VALUES (:stage, 'R1', '2025-03-12', 'C1', :variant, "
           ":status, 0, '2025-03-14 09:00:00+00:00', '2025-03-14', 'email', '{}')")
    with engine.begin() as conn:
        drop_views(conn)
        command.downgrade(alembic_config(conn), "0002")
        conn.execute(text(row), [{"stage": "request_received", "variant": None, "status": "sent"},
                                 {"stage": "review_decision", "variant": "amend", "status": "sent"}])
    upgrade_head(engine)
    assert is_current(engine)
    with engine.begin() as conn:
        conn.execute(text(row), {"stage": "review_decision", "variant": "cease", "status": "held"})
        kept = conn.execute(text("SELECT stage, variant, status FROM touchpoints ORDER BY id")).all()
    assert [tuple(r) for r in kept] == [("request_received", "", "sent"), ("review_decision", "amend", "sent"),
                                        ("review_decision", "cease", "held")]
    # Back to the old key would lose one of the two: refused.
    with engine.begin() as conn, pytest.raises(RuntimeError, match="1 outbox events have rows of two variants"):
        drop_views(conn)
        command.downgrade(alembic_config(conn), "0002")
