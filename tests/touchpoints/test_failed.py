"""Failed messages that can still be told (touchpoints/failed.py; docs/touchpoints.md, Failed
messages): reported by health, sent again by `touchpoints retry` once the cause is fixed."""

from datetime import timedelta

from sqlalchemy import select

from ehcp_monitor.db.models import OperatorAction, Touchpoint
from ehcp_monitor.touchpoints import dispatch_touchpoints, plan_touchpoints
from ehcp_monitor.touchpoints.failed import failed_now, retry_failed
from tests.touchpoints.conftest import AS_OF, NOW, caseload, free_port, store_case, tp_settings


def _statuses(engine) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Touchpoint.id, Touchpoint.status)).all())


def test_messages_failed_while_the_relay_was_down_are_reported_and_sent_again_once_it_is_back(engine, tmp_path):
    store_case(engine, *caseload())
    down = tp_settings(**{"touchpoints.transport": "smtp", "touchpoints.smtp_host": "127.0.0.1",
                          "touchpoints.smtp_port": free_port(), "touchpoints.smtp_security": "none",
                          "touchpoints.max_attempts": 1})
    pending = plan_touchpoints(engine, down, as_of=AS_OF)["pending"]
    assert dispatch_touchpoints(engine, down, as_of=AS_OF, now=NOW)["failed"] == pending > 0
    failed = failed_now(engine, down, AS_OF)
    assert failed.count == pending
    assert failed.line().startswith(f"touchpoints: {pending} messages failed that can still be told")
    # Three weeks on, the events are too old to tell: nothing is reported, nothing retried.
    weeks_on = AS_OF + timedelta(days=21)
    assert failed_now(engine, down, weeks_on).count == 0
    assert retry_failed(engine, down, stage=None, today=weeks_on, now=NOW)["retried"] == 0
    # The relay back the same day: retried, then sent.
    counts = retry_failed(engine, down, stage=None, today=AS_OF, now=NOW)
    assert counts["retried"] == pending and set(_statuses(engine).values()) >= {"pending"}
    back = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path / "outbox")})
    assert dispatch_touchpoints(engine, back, as_of=AS_OF, now=NOW)["sent"] == pending
    assert failed_now(engine, back, AS_OF).count == 0
    with engine.connect() as conn:
        actions = conn.execute(select(OperatorAction.action, OperatorAction.detail)).all()
    assert [a for a, _ in actions] == ["touchpoints_retry", "touchpoints_retry"]
    assert actions[1][1]["retried"] == pending


def test_retry_by_id_sends_only_that_one(engine):
    store_case(engine, *caseload())
    down = tp_settings(**{"touchpoints.transport": "smtp", "touchpoints.smtp_host": "127.0.0.1",
                          "touchpoints.smtp_port": free_port(), "touchpoints.smtp_security": "none",
                          "touchpoints.max_attempts": 1})
    plan_touchpoints(engine, down, as_of=AS_OF)
    dispatch_touchpoints(engine, down, as_of=AS_OF, now=NOW)
    first = min(i for i, s in _statuses(engine).items() if s == "failed")
    assert retry_failed(engine, down, stage=None, today=AS_OF, now=NOW, ids=[first])["retried"] == 1
    assert _statuses(engine)[first] == "pending"


def test_health_reports_them_and_the_command_retries_them(engine, db_url, tmp_path):
    from tests.touchpoints.test_cli import STILL_FRESH, run

    store_case(engine, *caseload())
    down = tp_settings(**{"touchpoints.transport": "smtp", "touchpoints.smtp_host": "127.0.0.1",
                          "touchpoints.smtp_port": free_port(), "touchpoints.smtp_security": "none",
                          "touchpoints.max_attempts": 1})
    plan_touchpoints(engine, down, as_of=AS_OF)
    failed = dispatch_touchpoints(engine, down, as_of=AS_OF, now=NOW)["failed"]
    config = tmp_path / "config.toml"
    # The CLI reads today's date: these 2025 events are kept recent enough to tell.
    config.write_text("[touchpoints]\ngo_live = 2000-01-01\n" + STILL_FRESH)
    health = run(["health"], tmp_path, db_url, config)
    assert health.returncode == 1 and f"touchpoints: {failed} messages failed that can still be told" in health.stdout
    assert f"{failed} touchpoint messages failed" in health.stderr
    retried = run(["touchpoints", "retry"], tmp_path, db_url, config)
    assert retried.returncode == 0 and f"retried: {failed}\n" in retried.stdout
    assert "messages failed" not in run(["health"], tmp_path, db_url, config).stdout


def _relay_down():
    return tp_settings(**{"touchpoints.transport": "smtp", "touchpoints.smtp_host": "127.0.0.1",
                          "touchpoints.smtp_port": free_port(), "touchpoints.smtp_security": "none",
                          "touchpoints.max_attempts": 1})


def _sent_stages(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(Touchpoint.stage, Touchpoint.case_ref)
                                   .where(Touchpoint.status == "sent")).all())


def _retry_and_send(engine, tmp_path, day, now) -> None:
    back = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path / "outbox")})
    retry_failed(engine, back, stage=None, today=day, now=now)
    dispatch_touchpoints(engine, back, as_of=day, now=now + timedelta(minutes=15))


def test_a_failed_message_whose_event_left_the_records_is_set_aside_not_sent_again(engine, tmp_path):
    from tests.touchpoints.test_corrections import NEXT, NEXT_NOW, corrected, decided_family

    frames, results = decided_family("Y")
    store_case(engine, frames, results)
    plan_touchpoints(engine, _relay_down(), as_of=AS_OF)
    dispatch_touchpoints(engine, _relay_down(), as_of=AS_OF, now=NOW)  # both fail
    # Corrected the next working day: the decision was not to assess. That message goes.
    store_case(engine, corrected(frames, request_outcome="N"), results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    back = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path / "outbox")})
    dispatch_touchpoints(engine, back, as_of=NEXT, now=NEXT_NOW)
    assert failed_now(engine, back, NEXT).count == 1  # the request received
    # Retried after the family was told the decision, "we will decide by ..." would take them back
    # a step: set aside when dispatch comes to it.
    _retry_and_send(engine, tmp_path, NEXT, NEXT_NOW)
    assert _sent_stages(engine) == [("decision_not_to_assess", "R1")]
    with engine.connect() as conn:
        assert conn.execute(select(Touchpoint.status, Touchpoint.reason)
                            .where(Touchpoint.stage == "request_received")).one() == (
            "discarded", "overtaken before it was sent: its contact has been told later news of the case (or, for a "
                         "request received, is to be sent an apology for its decision); not sent")
    with engine.connect() as conn:
        (reason,) = conn.execute(select(Touchpoint.reason).where(Touchpoint.stage == "decision_to_assess")).one()
    assert reason.endswith("; it had failed")


def test_a_failed_request_re_keyed_before_it_is_sent_again_is_told_once(engine, tmp_path):
    from tests.touchpoints.test_corrections import NEXT, NEXT_NOW, corrected, decided_family

    frames, results = decided_family("A", decided=None)
    store_case(engine, frames, results)
    plan_touchpoints(engine, _relay_down(), as_of=AS_OF)
    dispatch_touchpoints(engine, _relay_down(), as_of=AS_OF, now=NOW)
    store_case(engine, corrected(frames, request_id="R2"), [{**results[0], "request_id": "R2"}], ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    back = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path / "outbox")})
    dispatch_touchpoints(engine, back, as_of=NEXT, now=NEXT_NOW)
    _retry_and_send(engine, tmp_path, NEXT, NEXT_NOW)
    assert _sent_stages(engine) == [("request_received", "R2")]


def test_a_failed_message_whose_event_is_set_aside_for_a_night_comes_back_failed_and_is_sent_on_retry(
        engine, tmp_path):
    from ehcp_monitor.touchpoints.corrections import FAILED_AGAIN
    from tests.touchpoints.test_corrections import NEXT, NEXT_NOW, corrected, decided_family

    frames, results = decided_family()
    store_case(engine, frames, results)
    plan_touchpoints(engine, _relay_down(), as_of=AS_OF)
    dispatch_touchpoints(engine, _relay_down(), as_of=AS_OF, now=NOW)  # both fail
    # Saturday: the decision missing from one night's extract; Monday: back as it was.
    store_case(engine, corrected(frames, request_outcome="A", request_outcome_date=None), results, ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF + timedelta(days=1))
    store_case(engine, frames, results, ingest_id=3)
    assert plan_touchpoints(engine, tp_settings(), as_of=NEXT)["pending"] == 0  # not sent without a retry
    with engine.connect() as conn:
        assert conn.execute(select(Touchpoint.status, Touchpoint.reason)
                            .where(Touchpoint.stage == "decision_to_assess")).one() == ("failed", FAILED_AGAIN)
    _retry_and_send(engine, tmp_path, NEXT, NEXT_NOW)
    assert _sent_stages(engine) == [("decision_to_assess", "R1"), ("request_received", "R1")]


def test_a_failed_outcome_is_held_with_the_other_when_the_records_hold_two(engine, tmp_path):
    from tests.touchpoints.test_corrections import NEXT, NEXT_NOW
    from tests.touchpoints.test_outcomes import AMEND, review_rows, reviewed

    store_case(engine, *reviewed(AMEND))
    plan_touchpoints(engine, _relay_down(), as_of=AS_OF)
    dispatch_touchpoints(engine, _relay_down(), as_of=AS_OF, now=NOW)  # amend fails
    cease = {**AMEND, "meeting_date": AMEND["meeting_date"] + timedelta(days=2), "outcome": "cease"}
    store_case(engine, *reviewed(AMEND, cease), ingest_id=2)
    plan_touchpoints(engine, tp_settings(), as_of=NEXT)
    _retry_and_send(engine, tmp_path, NEXT, NEXT_NOW)
    assert [r[:2] for r in review_rows(engine)] == [("amend", "held"), ("cease", "held")]


def test_a_failed_request_received_retried_beside_its_waiting_apology_is_discarded_by_the_retry(engine):
    """Made due again by a retry, it would be claimed unchecked by a dispatch already running:
    "we will decide by" beside the apology saying that date has passed (a review found it)."""
    from tests.touchpoints.conftest import result
    from tests.touchpoints.test_hold import families

    frames, results = families(0, 2, AS_OF)
    store_case(engine, frames, results)
    down = tp_settings(**{"touchpoints.transport": "smtp", "touchpoints.smtp_host": "127.0.0.1",
                          "touchpoints.smtp_port": free_port(), "touchpoints.smtp_security": "none",
                          "touchpoints.max_attempts": 1, "touchpoints.max_event_age_days": 60})
    plan_touchpoints(engine, down, as_of=AS_OF)
    assert dispatch_touchpoints(engine, down, as_of=AS_OF, now=NOW)["failed"] == 2
    late = AS_OF + timedelta(days=45)
    results[0] = result("DECIDE_6W", request_id="R0", person_id="P0", due=AS_OF + timedelta(days=42),
                        status="overdue", days_late=3)
    store_case(engine, frames, results)
    assert plan_touchpoints(engine, down, as_of=late)["pending"] == 1  # R0's apology
    counts = retry_failed(engine, down, stage=None, today=late, now=NOW + timedelta(days=45))
    assert (counts["retried"], counts["overtaken"]) == (1, 1)
    with engine.connect() as conn:
        rows = conn.execute(select(Touchpoint.case_ref, Touchpoint.stage, Touchpoint.status)
                            .order_by(Touchpoint.id)).all()
    assert [tuple(r) for r in rows] == [("R0", "request_received", "discarded"), ("R1", "request_received", "pending"),
                                        ("R0", "delay_notice", "pending")]
