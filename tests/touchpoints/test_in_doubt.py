"""A row in doubt is resolved by a person, recorded, and then leaves `health` alone."""

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select

from ehcp_monitor.cli import cli
from ehcp_monitor.db.models import OperatorAction, Touchpoint
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.scheduling.health import rows_in_doubt
from ehcp_monitor.touchpoints.in_doubt import resolve
from tests.touchpoints.conftest import AS_OF, NOW


def _unknown(engine, n: int) -> list[int]:
    with engine.begin() as conn:
        for i in range(n):
            conn.execute(insert(Touchpoint).values(
                stage="request_received", case_ref=f"R{i}", event_date=AS_OF, contact_id=f"C{i}", status="unknown",
                attempts=1, planned_at=NOW, planned_as_of=AS_OF, context={}))
        return conn.execute(select(Touchpoint.id).order_by(Touchpoint.id)).scalars().all()


def test_resolving_rows_in_doubt(engine):
    arrived, lost = _unknown(engine, 2)
    assert resolve(engine, arrived, arrived=True, now=NOW) == "sent"
    assert resolve(engine, lost, arrived=False, now=NOW) == "pending"
    with engine.connect() as conn:
        assert conn.execute(select(OperatorAction.action)).scalars().all() == ["touchpoints_resolve"] * 2
    doubt = rows_in_doubt(engine, NOW + timedelta(hours=2))
    assert (doubt.unknown, doubt.interrupted) == (0, 0)
    with pytest.raises(ConfigError, match=f"touchpoint #{arrived} is sent, not unknown"):
        resolve(engine, arrived, arrived=False, now=NOW)
    with pytest.raises(ConfigError, match="there is no touchpoint #999"):
        resolve(engine, 999, arrived=True, now=NOW)


def test_resolve_from_the_command_line(engine, db_url, monkeypatch):
    (row,) = _unknown(engine, 1)
    monkeypatch.setenv("EHCP_DATABASE_URL", db_url)
    monkeypatch.delenv("EHCP_CONFIG", raising=False)
    done = CliRunner().invoke(cli, ["touchpoints", "resolve", str(row), "--arrived"])
    assert done.exit_code == 0 and f"touchpoint #{row}: sent" in done.output.splitlines()
    again = CliRunner().invoke(cli, ["touchpoints", "resolve", str(row), "--arrived"])
    assert isinstance(again.exception, ConfigError)  # the entry point maps it to exit 2, one line
