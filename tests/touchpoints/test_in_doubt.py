"""A row in doubt is resolved by a person, recorded, and then leaves `health` alone."""

from datetime import date, timedelta

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
    assert resolve(engine, lost, arrived=False, now=NOW) == "superseded"
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


def test_a_message_that_did_not_arrive_goes_again_only_while_the_records_still_have_its_event(engine, tmp_path):
    """Its decision corrected (Y to N) while the first message was in doubt: found not to have
    arrived, "we decided to assess" must not go after all."""
    from ehcp_monitor.touchpoints import dispatch_touchpoints, plan_touchpoints
    from tests.touchpoints.conftest import result, store_case, tp_settings

    frames = {
        "people": [{"person_id": f"P{i}", "date_of_birth": date(2015, 6, 1)} for i in (1, 2)],
        "requests": [{"request_id": f"R{i}", "person_id": f"P{i}", "received_date": date(2025, 2, 3),
                      "request_outcome": "Y", "request_outcome_date": AS_OF} for i in (1, 2)],
        "contacts": [{"contact_id": f"C{i}", "person_id": f"P{i}", "role": "parent_carer",
                      "email": f"parent{i}@example.org"} for i in (1, 2)],
    }
    results = [result("DECIDE_6W", request_id=f"R{i}", person_id=f"P{i}", due=date(2025, 3, 17), completed=AS_OF,
                      status="met") for i in (1, 2)]
    store_case(engine, frames, results)
    settings = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path / "outbox")})
    plan_touchpoints(engine, settings, as_of=AS_OF)
    with engine.begin() as conn:  # the relay dropped both after DATA
        conn.execute(Touchpoint.__table__.update().where(Touchpoint.stage == "decision_to_assess")
                     .values(status="unknown", attempts=1))
        ids = dict(conn.execute(select(Touchpoint.case_ref, Touchpoint.id)
                                .where(Touchpoint.stage == "decision_to_assess")).all())
    later = AS_OF + timedelta(days=3)
    frames["requests"][1].update(request_outcome="N")  # R2's decision corrected
    store_case(engine, frames, results)
    plan_touchpoints(engine, settings, as_of=later)
    assert [resolve(engine, ids[c], arrived=False, now=NOW + timedelta(days=3)) for c in ("R1", "R2")] == [
        "superseded", "superseded"]
    plan_touchpoints(engine, settings, as_of=later)
    sent = dispatch_touchpoints(engine, settings, as_of=later, now=NOW + timedelta(days=3))
    with engine.connect() as conn:
        status = dict(conn.execute(select(Touchpoint.case_ref, Touchpoint.status)
                                   .where(Touchpoint.stage == "decision_to_assess")).all())
    assert status == {"R1": "sent", "R2": "superseded"} and sent["sent"] >= 1
