"""A surge is held, not sent (docs/touchpoints.md, A surge is held, not sent):
the rule, the nightly job, release and discard."""

import os
import subprocess
import sys
from datetime import date, timedelta

import pytest
from sqlalchemy import func, insert, select, update

from ehcp_monitor.db.models import OperatorAction, Touchpoint, TouchpointPlanRun
from ehcp_monitor.synthetic import generate, write_extract
from ehcp_monitor.touchpoints import dispatch_touchpoints, plan_touchpoints
from ehcp_monitor.touchpoints.hold import discard, hold_limit, release
from tests.touchpoints.conftest import AS_OF, LIVE_SINCE, NOW, held_ids, result, store_case, tp_settings
from tests.touchpoints.test_cli import sending_today

D = date.fromisoformat
LATER = D("2026-04-01")


def _by_status(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(select(Touchpoint.status, func.count()).group_by(Touchpoint.status)).all())


def _past_runs(engine, queued: list[int], held: list[int] | None = None) -> None:
    held = held or [0] * len(queued)
    with engine.begin() as conn:
        for q, h in zip(queued, held, strict=False):
            conn.execute(insert(TouchpointPlanRun).values(as_of=AS_OF, planned_at=NOW, queued=q, held=h,
                                                          baseline=0))


def _limit(engine, **settings):
    with engine.connect() as conn:
        return hold_limit(conn, tp_settings(**settings))


def test_the_hold_limit_rule(engine):
    assert (_limit(engine).limit, _limit(engine).why) == (50, "50 (the minimum; no earlier planning runs)")
    _past_runs(engine, [10] * 14)
    assert _limit(engine).limit == 50  # 3 x 10 = 30: the minimum wins
    assert _limit(engine).why == "50 (the minimum; 3 x the median of the last 14 runs is 30)"
    _past_runs(engine, [40, 41, 39, 100, 0, 40, 38, 42, 40, 45, 5, 40, 41, 40])
    assert (_limit(engine).limit, _limit(engine).why) == (120, "3 x the median of the last 14 runs (40)")
    _past_runs(engine, [1000], held=[1000])  # a run that held is not "usual"
    assert _limit(engine).limit == 120
    _past_runs(engine, [30] * 7)  # the last 14: seven of 30 and 42, 40, 45, 5, 40, 41, 40
    assert _limit(engine).limit == 90  # the median of 5, 30 x 7, 40, 40, 40, 41, 42, 45 is 30
    assert _limit(engine, **{"touchpoints.hold_above": 7}).why == "touchpoints.hold_above (7)"


def families(first: int, n: int, received: date) -> tuple[dict, list]:
    """`n` new requests received on `received`, one parent carer each."""
    ids = range(first, first + n)
    frames = {
        "people": [{"person_id": f"P{i}", "date_of_birth": D("2015-01-01")} for i in ids],
        "requests": [{"request_id": f"R{i}", "person_id": f"P{i}", "received_date": received,
                      "request_outcome": "A"} for i in ids],
        "contacts": [{"contact_id": f"C{i}", "person_id": f"P{i}", "role": "parent_carer",
                      "email": f"parent{i}@example.org"} for i in ids],
    }
    return frames, [result("DECIDE_6W", request_id=f"R{i}", person_id=f"P{i}", due=received + timedelta(days=42),
                           status="pending") for i in ids]


def _grow(engine, days: list[tuple[date, int]]) -> list[dict]:
    """One planning run a day; each day `n` more families than the day before send a request."""
    frames, results, counts, first = {"people": [], "requests": [], "contacts": []}, [], [], 0
    for day, n in days:
        more, more_results = families(first, n, day)
        first += n
        for table, rows in more.items():
            frames[table] += rows
        results += more_results
        store_case(engine, frames, results)
        counts.append(plan_touchpoints(engine, tp_settings(), as_of=day))
    return counts


def test_the_median_of_real_planning_runs_holds_a_surge(engine):
    days = [(AS_OF + timedelta(days=i), 30) for i in range(14)] + [(AS_OF + timedelta(days=14), 91)]
    counts = _grow(engine, days)
    assert [c["pending"] for c in counts[:14]] == [30] * 14 and counts[13]["hold_limit"] == 90
    surge = counts[14]
    assert (surge["pending"], surge["held"], surge["hold_limit"]) == (0, 91, 90)
    assert surge["held_reason"] == ("held 91 new emails: more than 3 x the median of the last 14 runs (30); "
                                    "check the data, then `ehcp-monitor touchpoints release` or `discard`")
    assert _by_status(engine) == {"pending": 420, "held": 91}


def test_exactly_the_limit_is_not_a_surge(engine):
    counts = _grow(engine, [(AS_OF, 50)])
    assert (counts[0]["pending"], counts[0]["held"]) == (50, 0)


def test_dispatch_never_sends_held_baseline_or_discarded_rows(engine, tmp_path):
    store_case(engine, *families(0, 4, AS_OF))
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    with engine.begin() as conn:
        ids = conn.execute(select(Touchpoint.id).order_by(Touchpoint.id)).scalars().all()
        for tid, status in zip(ids, ("held", "baseline", "discarded", "pending"), strict=False):
            conn.execute(Touchpoint.__table__.update().where(Touchpoint.id == tid).values(status=status))
    settings = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path / "outbox")})
    dry = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW, dry_run=True)
    assert dry["would_send"] == 1
    sent = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)
    assert sent["sent"] == 1 and [p.name for p in (tmp_path / "outbox").iterdir()] == [f"tp-{ids[3]}.eml"]
    assert _by_status(engine) == {"held": 1, "baseline": 1, "discarded": 1, "sent": 1}


def _actions(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(OperatorAction.action, OperatorAction.detail).order_by(OperatorAction.id)).all()


def test_release_by_stage_then_all_and_stale_ones_are_suppressed(engine):
    store_case(engine, *families(0, 60, AS_OF))
    assert plan_touchpoints(engine, tp_settings(), as_of=AS_OF)["held"] == 60
    settings = tp_settings()
    assert release(engine, settings, stage="delay_notice", as_of=AS_OF, now=NOW)["released"] == 0
    counts = release(engine, settings, stage="request_received", as_of=AS_OF + timedelta(days=3), now=NOW)
    assert counts == {"released": 60, "suppressed": 0, "by_stage": {"request_received": 60}}
    assert _by_status(engine) == {"pending": 60}
    assert _actions(engine)[-1] == ("touchpoints_release", {
        "stage": "request_received", "as_of": "2025-03-17", "released": 60, "suppressed": 0,
        "by_stage": {"request_received": 60}})

    # Held for longer than max_event_age_days: released, it would be stale news. (The first 60
    # stay in the records: a waiting row whose event is gone would be superseded.)
    first, more = families(0, 60, AS_OF), families(100, 60, AS_OF + timedelta(days=1))
    store_case(engine, {t: first[0][t] + more[0][t] for t in first[0]}, first[1] + more[1])
    assert plan_touchpoints(engine, settings, as_of=AS_OF + timedelta(days=1))["held"] == 60
    late = release(engine, settings, stage=None, as_of=AS_OF + timedelta(days=16), now=NOW)
    assert (late["released"], late["suppressed"]) == (0, 60)
    assert _by_status(engine) == {"pending": 60, "suppressed": 60}


def test_a_held_row_without_a_reason_is_released_with_the_rest(engine):
    from sqlalchemy import update

    store_case(engine, *families(0, 60, AS_OF))
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    with engine.begin() as conn:  # held by an older version, or by hand, with no reason recorded
        conn.execute(update(Touchpoint).values(reason=None))
    assert release(engine, tp_settings(), stage=None, as_of=AS_OF, now=NOW)["released"] == 60


def test_a_named_row_held_under_another_stage_is_listed_not_released(engine):
    store_case(engine, *families(0, 60, AS_OF))
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    with engine.connect() as conn:
        first = conn.execute(select(func.min(Touchpoint.id))).scalar_one()
    counts = release(engine, tp_settings(), stage="delay_notice", as_of=AS_OF, now=NOW, ids=[first])
    assert counts["released"] == 0
    assert counts["not_held"] == {first: "held, but a request_received (not delay_notice)"}


def test_discard_sends_nothing_and_is_recorded(engine, tmp_path):
    store_case(engine, *families(0, 60, AS_OF))
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert discard(engine, stage=None, now=NOW) == {"discarded": 60, "by_stage": {"request_received": 60}}
    settings = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path / "outbox")})
    assert dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)["sent"] == 0
    assert _by_status(engine) == {"discarded": 60} and not (tmp_path / "outbox").exists()
    assert _actions(engine) == [("touchpoints_discard",
                                 {"stage": None, "discarded": 60, "by_stage": {"request_received": 60}})]
    assert discard(engine, stage=None, now=NOW)["discarded"] == 0  # nothing left


@pytest.mark.parametrize("action", ["release", "discard"])
def test_without_ids_a_release_or_discard_takes_the_surge_and_keeps_a_correction_held(engine, action):
    """The surge's line says `release` or `discard`; a correction held beside it (the family was
    sent the wrong outcome) must not go with it: discarded, the family keeps the wrong message."""
    store_case(engine, *families(0, 60, AS_OF))
    plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    correction = held_ids(engine)[0]
    with engine.begin() as conn:  # as corrections.py holds one, beside the surge
        conn.execute(update(Touchpoint).where(Touchpoint.id == correction).values(
            reason="held as a correction: the family was already sent decision to assess dated 2025-03-12; "
                   "check the record, then `ehcp-monitor touchpoints release --id N` or `discard --id N`"))
    if action == "release":
        counts = release(engine, tp_settings(), stage=None, as_of=AS_OF, now=NOW)
    else:
        counts = discard(engine, stage=None, now=NOW)
    done = "released" if action == "release" else "discarded"
    assert (counts[done], counts["kept_for_review"]) == (59, 1)
    assert held_ids(engine) == [correction]
    counts = (release(engine, tp_settings(), stage=None, as_of=AS_OF, now=NOW, ids=[correction])
              if action == "release" else discard(engine, stage=None, now=NOW, ids=[correction]))
    assert (counts[done], counts.get("kept_for_review")) == (1, None)
    assert held_ids(engine) == []


# --- the nightly job and the command line ------------------------------------------------------


def cli(args, tmp_path, db_url, config):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EHCP_")}
    env.update(EHCP_DATABASE_URL=db_url, EHCP_CONFIG=str(config))
    return subprocess.run([sys.executable, "-m", "ehcp_monitor", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def surge(engine, db_url, tmp_path):
    """A nightly run whose extract brings far more new emails than the last 14 runs (4 each)."""
    write_extract(generate(people=400, seed=3, as_of=LATER), tmp_path / "extract", "csv")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[source]\nlocation = "{tmp_path / "extract"}"\n'
        f'[touchpoints]\noutbox_dir = "{tmp_path / "outbox"}"\nrate_per_minute = 100000\n'
        f'go_live = "{LIVE_SINCE}"\n'
        # The CLI reads the real clock: open the sending window at any hour and day.
        'send_window_start = "00:00"\nsend_window_end = "24:00"\nsend_on_working_days_only = false\n',
        encoding="utf-8")
    _past_runs(engine, [4] * 14)
    run = cli(["run", "nightly", "--as-of", LATER.isoformat()], tmp_path, db_url, config)
    return run, config


def test_a_surge_in_the_nightly_job_is_held_and_reported(engine, db_url, tmp_path, surge):
    run, config = surge
    held = _by_status(engine).get("held", 0)
    assert held > 50 and "pending" not in _by_status(engine) and "sent" not in _by_status(engine)
    assert run.returncode == 1, run.stderr
    line = (f"nightly: failed (run {{}}): held {held} new emails: more than 50 (the minimum; 3 x the median "
            "of the last 14 runs is 12); check the data, then `ehcp-monitor touchpoints release` or `discard`")
    [said] = [s for s in run.stderr.splitlines() if s.startswith("nightly: ")]
    run_id = said.split("(run ", 1)[1].split(")", 1)[0]
    assert said == line.format(run_id)
    assert not (tmp_path / "outbox").exists()  # nothing sent

    health = cli(["health"], tmp_path, db_url, config)
    assert health.returncode == 1 and "Traceback" not in health.stderr
    assert (f"touchpoints: {held} emails held since {LATER.isoformat()}: read why (`ehcp-monitor touchpoints list "
            "--status held`); a surge goes by `ehcp-monitor touchpoints release` or `discard`, a row held for a "
            "reason of its own by `ehcp-monitor touchpoints release --id N` or `discard --id N`") in health.stdout
    assert f"{held} touchpoint emails held" in health.stderr

    listed = cli(["touchpoints", "list", "--status", "held"], tmp_path, db_url, config)
    assert listed.returncode == 0 and listed.stdout.count("\tHeld\t") == min(held, 100)
    assert "go-live: 2000-01-01 (touchpoints.go_live in the config)" in listed.stdout

    released = cli(["touchpoints", "release", "--as-of", LATER.isoformat()], tmp_path, db_url, config)
    assert released.returncode == 0 and f"released: {held}" in released.stdout
    sent = cli(["touchpoints", "dispatch", "--as-of", LATER.isoformat()], tmp_path, db_url, sending_today(config))
    assert sent.returncode == 0 and f"sent: {held}" in sent.stdout
    assert len(list((tmp_path / "outbox").glob("tp-*.eml"))) == held
    assert cli(["health"], tmp_path, db_url, config).stdout.count("emails held") == 0
    [(action, detail)] = _actions(engine)
    assert action == "touchpoints_release" and detail["released"] == held


def test_a_discarded_surge_is_never_sent(engine, db_url, tmp_path, surge):
    _run, config = surge
    held = _by_status(engine)["held"]
    out = cli(["touchpoints", "discard"], tmp_path, db_url, config)
    assert out.returncode == 0 and f"discarded: {held}" in out.stdout
    sent = cli(["touchpoints", "dispatch", "--as-of", LATER.isoformat()], tmp_path, db_url, config)
    assert sent.returncode == 0 and "sent: 0" in sent.stdout
    assert not (tmp_path / "outbox").exists()
    assert _by_status(engine)["discarded"] == held and "held" not in _by_status(engine)
    # The next night nothing of it comes back: the once key keeps the discarded rows.
    again = cli(["touchpoints", "plan", "--as-of", LATER.isoformat()], tmp_path, db_url, config)
    assert again.returncode == 0 and "pending: 0" in again.stdout and "held: 0" in again.stdout


def _second_contact(frames: dict, contact_id: str) -> dict:
    return {**frames, "contacts": [*frames["contacts"], {"contact_id": contact_id, "person_id": "P1",
                                                         "role": "parent_carer", "email": f"{contact_id}@example.org"}]}


def test_a_contact_added_while_the_event_is_held_or_discarded_is_not_told_it(engine, tmp_path):
    from tests.touchpoints.test_corrections import decided_family, send

    frames, results = decided_family()
    store_case(engine, frames, results)
    assert plan_touchpoints(engine, tp_settings(**{"touchpoints.hold_above": 1}), as_of=AS_OF)["held"] == 2
    # A second parent carer keyed the next night, the surge still held: not told before the first.
    store_case(engine, _second_contact(frames, "C2"), results, ingest_id=2)
    counts = plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert (counts["pending"], counts["corrections_held"]) == (0, 2)
    with engine.connect() as conn:
        reasons = set(conn.execute(select(Touchpoint.reason).where(Touchpoint.contact_id == "C2")).scalars())
    assert reasons == {"held: the message of this event to contact C1 is held; release or discard this one as you "
                       "did that one (`ehcp-monitor touchpoints release --id N` or `discard --id N`)"}
    assert send(engine, tmp_path)["sent"] == 0
    # The person discards them; a third contact keyed later is not told what was discarded.
    discard(engine, stage=None, now=NOW, ids=held_ids(engine))
    store_case(engine, _second_contact(_second_contact(frames, "C2"), "C3"), results, ingest_id=3)
    counts = plan_touchpoints(engine, tp_settings(), as_of=AS_OF)
    assert (counts["pending"], counts["corrections_held"]) == (0, 2)
    assert send(engine, tmp_path)["sent"] == 0


def _rows_of(engine, case_ref: str) -> list[tuple]:
    """(stage, status, reason) of the case's outbox rows, in the order planned."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Touchpoint.stage, Touchpoint.status, Touchpoint.reason)
                                               .where(Touchpoint.case_ref == case_ref).order_by(Touchpoint.id))]


def _surge_held_then_one_decision_late(engine, tmp_path):
    """60 requests held as a surge (events kept for 60 days); 45 days on, a Monday, R0's decision
    is late and its apology planned. (settings, that day)"""
    frames, results = families(0, 60, AS_OF)
    store_case(engine, frames, results)
    settings = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path / "outbox"),
                              "touchpoints.max_event_age_days": 60})
    assert plan_touchpoints(engine, settings, as_of=AS_OF)["held"] == 60
    late = AS_OF + timedelta(days=45)
    results[0] = {**results[0], "status": "overdue", "days_late": 3}
    store_case(engine, frames, results)
    assert plan_touchpoints(engine, settings, as_of=late)["pending"] == 1
    return settings, late


def test_a_held_request_received_is_discarded_once_its_family_was_sent_a_delay_notice(engine, tmp_path):
    """Events kept for 60 days: a surge held a week; the decision goes late and the family is sent its
    apology. Released after that, "we have your request, we will decide by ..." would come after
    "the decision is late"."""
    settings, late = _surge_held_then_one_decision_late(engine, tmp_path)
    assert dispatch_touchpoints(engine, settings, as_of=late, now=NOW + timedelta(days=45))["sent"] == 1

    counts = release(engine, settings, stage=None, as_of=late, now=NOW + timedelta(days=45))
    assert (counts["released"], counts["overtaken"]) == (59, 1)
    assert _rows_of(engine, "R0") == [
        ("request_received", "discarded",
         "held, then overtaken: the family has been told later news of the case since; not sent"),
        ("delay_notice", "sent", None)]


def test_a_request_received_released_beside_its_waiting_apology_is_not_sent(engine, tmp_path):
    """Released after the night planned the apology but before it went: "we will decide by" a date
    the apology beside it says has passed."""
    settings, late = _surge_held_then_one_decision_late(engine, tmp_path)
    counts = release(engine, settings, stage=None, as_of=late, now=NOW + timedelta(days=45))
    # Discarded by the release itself: a dispatch already running would claim it unchecked.
    assert (counts["released"], counts["overtaken"]) == (59, 1)
    dry = dispatch_touchpoints(engine, settings, as_of=late, now=NOW + timedelta(days=45), dry_run=True)
    assert dry["would_send"] == 60  # the 59 requests and the apology: what the real run sends
    counts = dispatch_touchpoints(engine, settings, as_of=late, now=NOW + timedelta(days=45))
    assert counts["sent"] == 60 and "overtaken" not in counts
    assert [r[:2] for r in _rows_of(engine, "R0")] == [("request_received", "discarded"), ("delay_notice", "sent")]


def test_a_surge_released_while_a_paced_dispatch_runs_does_not_send_a_request_received_beside_its_apology(
        engine, tmp_path, smtp_server):
    """The dispatch set aside what it must not send when it started; a release while it paces makes
    rows due that it then claims (a review found the request received and its apology both sent)."""
    from tests.touchpoints.conftest import smtp_settings

    frames, results = families(0, 60, AS_OF)
    store_case(engine, frames, results)
    handler, port = smtp_server()
    settings = smtp_settings(port, **{"touchpoints.rate_per_minute": 60, "touchpoints.max_event_age_days": 60})
    assert plan_touchpoints(engine, settings, as_of=AS_OF)["held"] == 60
    late = AS_OF + timedelta(days=45)
    more, more_results = families(60, 3, late - timedelta(days=1))  # planned first: sent first
    frames = {n: frames[n] + more[n] for n in frames}
    store_case(engine, frames, results + more_results)
    assert plan_touchpoints(engine, settings, as_of=late - timedelta(days=1))["pending"] == 3
    results[0] = {**results[0], "status": "overdue", "days_late": 3}
    store_case(engine, frames, results + more_results)
    assert plan_touchpoints(engine, settings, as_of=late)["pending"] == 1  # R0's apology, still waiting
    released = []

    def pause(seconds):  # an operator releases the surge while the nightly dispatch paces
        if not released:
            released.append(release(engine, settings, stage=None, as_of=late, now=NOW + timedelta(days=45)))

    counts = dispatch_touchpoints(engine, settings, as_of=late, now=NOW + timedelta(days=45), pause=pause)
    assert released and (released[0]["released"], released[0]["overtaken"]) == (59, 1)
    assert counts["sent"] == 3 + 59 + 1  # the new requests, then the 59 released and the apology
    assert [r[:2] for r in _rows_of(engine, "R0")] == [("request_received", "discarded"), ("delay_notice", "sent")]


def test_apologies_released_while_a_paced_dispatch_runs_overtake_their_waiting_request_received(
        engine, smtp_server):
    """The release makes the apologies due; the request received already waiting is next in line
    for the running dispatch, so the release sets it aside as dispatch would at its start (a review
    found both sent)."""
    from tests.touchpoints.conftest import smtp_settings

    handler, port = smtp_server()
    settings = smtp_settings(port, **{"touchpoints.rate_per_minute": 60, "touchpoints.max_event_age_days": 60})
    pad, pad_results = families(60, 3, AS_OF - timedelta(days=1))  # planned first: sent first
    store_case(engine, pad, pad_results)
    assert plan_touchpoints(engine, settings, as_of=AS_OF - timedelta(days=1))["pending"] == 3
    frames, results = families(0, 2, AS_OF)
    frames = {n: frames[n] + pad[n] for n in frames}
    store_case(engine, frames, results + pad_results)
    assert plan_touchpoints(engine, settings, as_of=AS_OF)["pending"] == 2  # R0's and R1's request received
    late = AS_OF + timedelta(days=45)
    store_case(engine, frames, [{**r, "status": "overdue", "days_late": 3} for r in results] + pad_results)
    surge = settings.replace(**{"touchpoints.hold_above": 1})
    assert plan_touchpoints(engine, surge, as_of=late)["held"] == 2  # both apologies, held as a surge
    released = []

    def pause(seconds):  # an operator releases the surge while the dispatch paces
        if not released:
            released.append(release(engine, surge, stage=None, as_of=late, now=NOW + timedelta(days=45)))

    counts = dispatch_touchpoints(engine, surge, as_of=late, now=NOW + timedelta(days=45), pause=pause)
    assert (released[0]["released"], released[0]["overtaken"]) == (2, 2) and counts["sent"] == 3 + 2
    for case_ref in ("R0", "R1"):
        assert [r[:2] for r in _rows_of(engine, case_ref)] == [("request_received", "discarded"),
                                                              ("delay_notice", "sent")]


def test_a_held_message_overtaken_by_later_news_is_discarded_when_the_rest_are_released(engine, tmp_path):
    """A surge of new requests held; one request is decided the next day and the family told. Released
    after that, its "request received, we will decide by ..." would take the family back a step."""
    frames, results = families(0, 60, AS_OF)
    store_case(engine, frames, results)
    assert plan_touchpoints(engine, tp_settings(), as_of=AS_OF)["held"] == 60
    nxt = AS_OF + timedelta(days=3)  # the Monday
    frames["requests"][0].update(request_outcome="Y", request_outcome_date=nxt)
    results[0] = result("DECIDE_6W", request_id="R0", person_id="P0", due=AS_OF + timedelta(days=42),
                        completed=nxt, status="met")
    store_case(engine, frames, results)
    settings = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path / "outbox")})
    assert plan_touchpoints(engine, settings, as_of=nxt)["pending"] == 1
    assert dispatch_touchpoints(engine, settings, as_of=nxt, now=NOW + timedelta(days=3))["sent"] == 1

    counts = release(engine, settings, stage=None, as_of=nxt, now=NOW + timedelta(days=3))
    assert (counts["released"], counts["overtaken"]) == (59, 1)
    assert _rows_of(engine, "R0") == [
        ("request_received", "discarded",
         "held, then overtaken: the family has been told later news of the case since; not sent"),
        ("decision_to_assess", "sent", None)]


def _late_twice(received: date, night: date) -> tuple[dict, list]:
    """Three families, each request's decision late since the day before AS_OF and its health advice
    due three days later: as of `night`, the advice is late too once that day is past."""
    frames, _ = families(0, 3, received)
    decide_due, advice_due = AS_OF - timedelta(days=1), AS_OF + timedelta(days=2)
    results = []
    for i in range(3):
        results += [
            result("DECIDE_6W", request_id=f"R{i}", person_id=f"P{i}", due=decide_due, status="overdue",
                   days_late=(night - decide_due).days),
            result("ADVICE_6W", request_id=f"R{i}", person_id=f"P{i}", item="health", due=advice_due,
                   status="overdue" if night > advice_due else "pending",
                   days_late=(night - advice_due).days if night > advice_due else None),
        ]
    return frames, results


def test_a_held_apologys_next_notice_is_held_with_it_until_a_person_decides(engine, tmp_path):
    """Night 1 holds three apologies as a surge (a data fault, perhaps); three days on, the advice of
    each case goes late too, so each case's notice is dated anew and the held one is set aside. The
    new notice lists the same steps a person was asked to check: it waits for the same decision."""
    received = AS_OF - timedelta(days=50)
    settings = tp_settings(**{"touchpoints.outbox_dir": str(tmp_path / "outbox")})
    store_case(engine, *_late_twice(received, AS_OF))
    night1 = plan_touchpoints(engine, tp_settings(**{"touchpoints.hold_above": 2}), as_of=AS_OF)
    assert (night1["held"], night1["pending"]) == (3, 0)

    night = AS_OF + timedelta(days=3)
    store_case(engine, *_late_twice(received, night), ingest_id=2)
    counts = plan_touchpoints(engine, settings, as_of=night)
    assert (counts["pending"], counts["successors_held"], counts["held"], counts["superseded"]) == (0, 3, 3, 3)
    assert counts["held_reason"] == ("held 3 after a held message of their stage; check the data, then "
                                    "`ehcp-monitor touchpoints release` or `discard`")
    with engine.connect() as conn:
        rows = conn.execute(select(Touchpoint.id, Touchpoint.event_date, Touchpoint.reason)
                            .where(Touchpoint.status == "held").order_by(Touchpoint.id)).all()
    assert [r.event_date for r in rows] == [night] * 3
    assert all(r.reason.startswith("surge held: another message of this stage to this contact (row ")
               and f"dated {AS_OF.isoformat()}) was held; check the data" in r.reason for r in rows)
    assert dispatch_touchpoints(engine, settings, as_of=night, now=NOW + timedelta(days=3))["sent"] == 0
    with engine.connect() as conn:  # not a surge of that night's: the hold limit's median keeps the night
        assert conn.execute(select(TouchpointPlanRun.held).order_by(TouchpointPlanRun.id.desc())).first() == (0,)
    # As the surge it follows, it goes with a release of every held row.
    released = release(engine, settings, stage=None, as_of=night, now=NOW + timedelta(days=3))
    assert released["released"] == 3
    assert dispatch_touchpoints(engine, settings, as_of=night, now=NOW + timedelta(days=3))["sent"] == 3


def test_a_successor_is_held_only_after_a_surge_or_a_row_held_again():
    import polars as pl

    from ehcp_monitor.touchpoints.corrections import ROW_SCHEMA, hold_successors

    def row(i, date_, reason, *, stage="delay_notice", contact="C1", status="held"):
        return {"id": i, "stage": stage, "case_ref": "R1", "event_date": date_, "variant": None,
                "contact_id": contact, "person_id": "P1", "status": status, "reason": reason}

    rows = pl.DataFrame([row(7, D("2025-03-01"), "surge held: 80 new emails in one run, more than 50"),
                         row(8, D("2025-03-02"), "held again: it was held when its event left the records"),
                         row(9, D("2025-03-01"), None, status="sent", contact="C2")], schema=ROW_SCHEMA)
    fresh = pl.DataFrame([
        {"stage": "delay_notice", "case_ref": "R1", "event_date": D("2025-03-04"), "variant": None,
         "contact_id": c, "status": s, "reason": None}
        for c, s in (("C1", "pending"), ("C2", "pending"), ("C1", "suppressed"))])
    got = hold_successors(fresh, rows)
    assert got["status"].to_list() == ["held", "pending", "suppressed"]
    # The latest held one speaks for it, and its reason begins as that one's (a bulk release takes it).
    assert got["reason"][0] == ("held again: another message of this stage to this contact (row 8, dated "
                                "2025-03-02) was held; check the data, then `ehcp-monitor touchpoints release` "
                                "or `discard`, as for that one")
    assert hold_successors(fresh, rows.filter(pl.col("id") != 8))["reason"][0].startswith(
        "surge held: another message of this stage to this contact (row 7, dated 2025-03-01) was held")
    # Dated before the held one (a date corrected back), or on its date with another outcome, is held the same.
    earlier = fresh.with_columns(event_date=pl.lit(D("2025-02-20")))
    assert hold_successors(earlier, rows)["status"].to_list() == ["held", "pending", "suppressed"]
    reoutcomed = fresh.with_columns(stage=pl.lit("review_decision"), event_date=pl.lit(D("2025-03-01")),
                                    variant=pl.lit("cease"))
    amend = rows.filter(pl.col("id") == 7).with_columns(stage=pl.lit("review_decision"), variant=pl.lit("amend"))
    assert hold_successors(reoutcomed, amend)["status"].to_list() == ["held", "pending", "suppressed"]
    # A row held with no reason recorded goes with a bulk release: so does its successor.
    no_reason = rows.filter(pl.col("id") == 7).with_columns(reason=pl.lit(None, pl.Utf8))
    assert hold_successors(fresh, no_reason)["reason"][0].startswith(
        "surge held: another message of this stage to this contact (row 7, dated 2025-03-01) was held")
    # Not after a row held by a rule of its own (its rules judge the new row), nor another stage.
    correction = rows.with_columns(reason=pl.lit("held as a correction: the family was already sent ..."))
    assert hold_successors(fresh, correction)["status"].to_list() == ["pending", "pending", "suppressed"]
    other = rows.with_columns(stage=pl.lit("progress_update"))
    assert hold_successors(fresh, other)["status"].to_list() == ["pending", "pending", "suppressed"]
