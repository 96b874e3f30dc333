"""Going live mails nobody about the past (docs/touchpoints.md, Going live), on a real store.

The synthetic caseload goes through the real nightly job (ingest, check, plan, dispatch to the
file outbox) with pinned as-of dates.
"""

import re
import tomllib
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from ehcp_monitor import config
from ehcp_monitor.db.models import StoreSetting, Touchpoint
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.scheduling.runner import execute_job
from ehcp_monitor.synthetic import generate, write_extract
from ehcp_monitor.touchpoints import plan_touchpoints
from ehcp_monitor.touchpoints.corrections import GONE_MARK
from ehcp_monitor.touchpoints.golive import go_live_of
from tests.touchpoints.conftest import AS_OF, one_family, result, store_case

D = date.fromisoformat
GO_LIVE = D("2026-03-02")
MONTH_LATER = GO_LIVE + timedelta(days=30)


def _rows(engine):
    with engine.connect() as conn:
        return conn.execute(select(Touchpoint.id, Touchpoint.stage, Touchpoint.case_ref, Touchpoint.event_date,
                                   Touchpoint.contact_id, Touchpoint.status)).all()


def _sent_ids(outbox) -> set[int]:
    return {int(p.stem.removeprefix("tp-")) for p in outbox.glob("tp-*.eml")}


def _nightly(engine, settings, as_of, *, held: str | None = None):
    """The nightly job's counts; `held`: the one reason it may fail for (held messages)."""
    now = datetime(as_of.year, as_of.month, as_of.day, 2, 0, tzinfo=timezone.utc)
    outcome = execute_job("nightly", settings, as_of, now=now, engine=engine)
    if held and outcome.status == "failed":
        assert outcome.exit_code == 1 and held in outcome.error, outcome.error
    else:
        assert (outcome.status, outcome.exit_code) == ("success", 0), outcome.error
    return outcome.counts


def test_going_live_sends_nothing_about_the_past_and_a_month_later_only_what_happened_since(
        engine, settings, tmp_path):
    outbox = tmp_path / "outbox"
    settings = settings.replace(**{"source.location": str(tmp_path / "extract"),
                                   "touchpoints.outbox_dir": str(outbox),
                                   "touchpoints.rate_per_minute": 100000,
                                   # The nightly job runs at 02:00: open the sending window all day.
                                   "touchpoints.send_window_start": "00:00", "touchpoints.send_window_end": "24:00",
                                   "touchpoints.send_on_working_days_only": False})
    # The LA's extract on go-live day: years of history.
    write_extract(generate(people=200, seed=7, as_of=GO_LIVE), tmp_path / "extract", "csv")
    first = _nightly(engine, settings, GO_LIVE)["touchpoints_plan"]
    assert first["go_live"] == GO_LIVE.isoformat()
    live = go_live_of(engine, settings)
    assert (live.day, live.source) == (GO_LIVE, "store")
    rows = {r.id: r for r in _rows(engine)}
    before = {i for i, r in rows.items() if r.event_date < GO_LIVE}
    assert len(before) > 1000 and first["baseline"] == len(before)  # years of history...
    assert {rows[i].status for i in before} == {"baseline"}  # ...all recorded, none sent
    sent = _sent_ids(outbox)
    assert sent and all(rows[i].event_date == GO_LIVE for i in sent)  # only what happened that day
    assert {i for i, r in rows.items() if r.status == "sent"} == sent

    # A month on, the extract of that day (the generator moves the whole caseload on a month, and
    # leaves out a few plans' phase transfer dates it had: their apologies are held for a person).
    write_extract(generate(people=200, seed=7, as_of=MONTH_LATER), tmp_path / "extract", "csv")
    gone = "of cases whose done dates the extract no longer has"
    later = _nightly(engine, settings, MONTH_LATER, held=gone)["touchpoints_plan"]
    with engine.connect() as conn:
        reasons = conn.execute(select(Touchpoint.reason).where(Touchpoint.status == "held")).scalars().all()
    assert len(reasons) == later["held"] and all(r.startswith(GONE_MARK) for r in reasons)
    assert later["go_live"] == GO_LIVE.isoformat() and later["baseline"] > 1000
    rows_later = {r.id: r for r in _rows(engine)}
    assert {r.status for r in rows_later.values() if r.event_date < GO_LIVE} == {"baseline"}
    new_sent = _sent_ids(outbox) - sent
    assert len(new_sent) == later["pending"] > 10
    oldest = MONTH_LATER - timedelta(days=settings.touchpoints.max_event_age_days)
    assert all(oldest <= rows_later[i].event_date <= MONTH_LATER for i in new_sent)
    assert {rows_later[i].status for i in new_sent} == {"sent"}


@pytest.mark.parametrize("value", [D("2025-03-12"), "2025-03-12"], ids=["toml-date", "iso-string"])
def test_go_live_from_the_config_as_a_date_or_an_iso_string(stored_caseload, value):
    settings = config.defaults().replace(**{"touchpoints.go_live": value})
    counts = plan_touchpoints(stored_caseload, settings, as_of=AS_OF)
    box = {(r.stage, r.case_ref, r.event_date, r.contact_id): r.status for r in _rows(stored_caseload)}
    assert box[("request_received", "R1", D("2025-03-10"), "C1")] == "baseline"
    assert box[("request_received", "R1", D("2025-03-10"), "C3")] == "baseline"  # before consent
    assert box[("delay_notice", "R2", D("2025-03-02"), "C1")] == "baseline"
    assert box[("review_decision", "R0", D("2025-03-12"), "C1")] == "pending"  # on go-live day: sent
    assert counts["pending"] == 2 and counts["go_live"] == "2025-03-12"
    live = go_live_of(stored_caseload, settings)
    assert (live.day, live.source) == (D("2025-03-12"), "config")
    with stored_caseload.connect() as conn:  # the config's date is not copied into the store
        assert conn.execute(select(func.count()).select_from(StoreSetting)).scalar_one() == 0


@pytest.mark.parametrize("text, problem", [
    ("go_live = 2025-03-12", None),
    ('go_live = "2025-03-12"', None),
    ('go_live = ""', None),
    ('go_live = "12/03/2025"', "touchpoints.go_live must be a date"),
    ("go_live = 2025-03-12T09:00:00", "touchpoints.go_live must be a date (2026-04-01), not a date and time"),
    ("go_live = 20250312", "touchpoints.go_live must be str or date"),
])
def test_go_live_setting_is_checked_at_start(text, problem):
    data = tomllib.loads(f"[touchpoints]\n{text}\n")
    if problem is None:
        config.parse(data)
    else:
        with pytest.raises(ConfigError, match=re.escape(problem)):
            config.parse(data)


def test_the_first_run_on_an_empty_outbox_sets_go_live_and_later_runs_keep_it(engine):
    frames, results = one_family()  # a request received on 2025-03-10
    store_case(engine, frames, results)
    settings = config.defaults()
    first = plan_touchpoints(engine, settings, as_of=AS_OF)
    assert (first["go_live"], first["baseline"], first["pending"]) == ("2025-03-14", 1, 0)
    with engine.connect() as conn:
        stored = conn.execute(select(StoreSetting.key, StoreSetting.value)).all()
    assert stored == [("touchpoints.go_live", "2025-03-14")]

    # Two days on, a new request: sent. The stored date stays (it is not today's as-of).
    frames["requests"].append({"request_id": "R2", "person_id": "P1", "received_date": D("2025-03-15"),
                               "request_outcome": "A"})
    store_case(engine, frames, results + [result("DECIDE_6W", request_id="R2", due=D("2025-04-26"),
                                                 status="pending")])
    later = plan_touchpoints(engine, settings, as_of=D("2025-03-16"))
    assert (later["go_live"], later["pending"], later["baseline"]) == ("2025-03-14", 1, 0)
    live = go_live_of(engine, settings)
    assert (live.day, live.source) == (AS_OF, "store") and live.set_at is not None
    assert "set by the monitor on" in live.describe()


def test_a_first_run_on_a_past_as_of_date_sets_go_live_to_the_day_it_runs(engine):
    """A trial plan on last week's data must not make the days since news to send once the LA goes
    live (a walk-through found four past events sent)."""
    frames, results = one_family()  # a request received on 2025-03-10
    store_case(engine, frames, results)
    settings = config.defaults()
    ran = datetime(2025, 3, 30, 23, 30, tzinfo=timezone.utc)  # 00:30 on 31 March in England (BST)
    first = plan_touchpoints(engine, settings, as_of=AS_OF, now=ran)
    assert (first["go_live"], first["baseline"], first["pending"]) == ("2025-03-31", 1, 0)
    # A request received between the trial's as-of date and the day it ran: before go-live.
    frames["requests"].append({"request_id": "R2", "person_id": "P1", "received_date": D("2025-03-28"),
                               "request_outcome": "A"})
    store_case(engine, frames, results + [result("DECIDE_6W", request_id="R2", due=D("2025-05-09"),
                                                 status="pending")])
    later = plan_touchpoints(engine, settings, as_of=D("2025-03-31"), now=ran)
    assert (later["go_live"], later["baseline"], later["pending"]) == ("2025-03-31", 1, 0)
    assert go_live_of(engine, settings).describe() == "go-live: 2025-03-31 (set by the monitor on 2025-03-30: " \
                                                      "the outbox was empty)"


def test_an_outbox_that_already_has_rows_never_gets_a_go_live_of_its_own(stored_caseload):
    # Live before go-live existed: the config named a date, then the setting was emptied.
    plan_touchpoints(stored_caseload, config.defaults().replace(**{"touchpoints.go_live": "2000-01-01"}),
                     as_of=AS_OF)
    counts = plan_touchpoints(stored_caseload, config.defaults(), as_of=D("2025-03-15"))
    assert counts["go_live"] is None and counts["baseline"] == 0
    assert go_live_of(stored_caseload, config.defaults()).source == "unset"


def test_a_step_overdue_at_go_live_gets_its_apology_at_its_next_repeat_date(engine):
    """Three cases overdue since before go-live: no apology on go-live day, then one each on its
    own next repeat date, spread over delay_repeat_days."""
    frames = {
        "people": [{"person_id": f"P{i}", "date_of_birth": D("2015-01-01")} for i in range(3)],
        "requests": [{"request_id": f"R{i}", "person_id": f"P{i}", "received_date": D("2024-10-01"),
                      "request_outcome": "A"} for i in range(3)],
        "contacts": [{"contact_id": f"C{i}", "person_id": f"P{i}", "role": "parent_carer",
                      "email": f"parent{i}@example.org"} for i in range(3)],
    }
    dues = [D("2025-01-10"), D("2025-01-20"), D("2025-02-25")]  # first overdue the next day
    go_live = AS_OF
    day = go_live
    while day <= go_live + timedelta(days=28):
        store_case(engine, frames, [
            result("DECIDE_6W", request_id=f"R{i}", person_id=f"P{i}", due=due, status="overdue",
                   days_late=(day - due).days) for i, due in enumerate(dues)])
        plan_touchpoints(engine, config.defaults(), as_of=day)
        day += timedelta(days=1)
    with engine.connect() as conn:
        notices = conn.execute(select(Touchpoint.case_ref, Touchpoint.event_date, Touchpoint.status)
                               .where(Touchpoint.stage == "delay_notice")
                               .order_by(Touchpoint.case_ref, Touchpoint.event_date)).all()
    # On go-live day each case's latest notice date had passed: recorded baseline, never sent.
    # R0: overdue from 01-11, repeats 02-08, 03-08 (< go-live), 04-05; R1: 01-21, 02-18, 03-18;
    # R2: 02-26, 03-26.
    assert [tuple(n) for n in notices] == [
        ("R0", D("2025-03-08"), "baseline"), ("R0", D("2025-04-05"), "pending"),
        ("R1", D("2025-02-18"), "baseline"), ("R1", D("2025-03-18"), "pending"),
        ("R2", D("2025-02-26"), "baseline"), ("R2", D("2025-03-26"), "pending"),
    ]


def test_a_go_live_in_the_future_holds_everything_back_until_then(stored_caseload):
    settings = config.defaults().replace(**{"touchpoints.go_live": "2025-04-01"})
    counts = plan_touchpoints(stored_caseload, settings, as_of=AS_OF)
    assert counts["pending"] == 0 and counts["baseline"] == counts["planned"] > 0
    assert {r.status for r in _rows(stored_caseload)} == {"baseline"}
