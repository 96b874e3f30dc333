from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ehcp_monitor import config
from ehcp_monitor.cron import trigger_from
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.jobs.board_pack import latest_full_month
from ehcp_monitor.scheduling.runner import job_module
from ehcp_monitor.scheduling.schedule import job_schedules

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")


def test_every_job_in_the_table_imports_and_every_job_module_is_in_the_table():
    assert config.JOB_NAMES == tuple(job.name for job in config.JOBS)
    assert all(callable(job_module(name).run) for name in config.JOB_NAMES)
    folder = Path(__file__).resolve().parents[2] / "jobs"
    helpers = {"counts"}  # shared by the jobs, not a job
    assert {p.stem for p in folder.glob("*.py")} - helpers == set(config.JOB_NAMES)


def test_an_unknown_job_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown job 'nightlie'"):
        job_module("nightlie")


def test_each_job_is_scheduled_from_its_row_in_the_table():
    by_job = {s.job: s for s in job_schedules(config.defaults())}
    assert list(by_job) == list(config.JOB_NAMES)
    for job in config.JOBS:
        assert (by_job[job.name].cron, by_job[job.name].misfire_grace_hours, by_job[job.name].max_age_hours) == (
            job.cron, job.misfire_grace_hours, job.max_age_hours)


def test_schedule_comes_from_config():
    settings = config.parse({"schedule": {"board_pack": {"cron": "0 9 3 * *", "misfire_grace_hours": 12,
                                                         "enabled": False}}})
    by_job = {s.job: s for s in job_schedules(settings)}
    assert by_job["board_pack"].cron == "0 9 3 * *"
    assert by_job["board_pack"].misfire_grace_seconds == 12 * 3600
    assert by_job["board_pack"].enabled is False
    assert by_job["board_pack"].next_run(datetime(2026, 1, 1, tzinfo=UTC)) is None
    assert by_job["nightly"].cron == "30 1 * * mon-sun"
    assert by_job["nightly"].max_age_hours == 26


def test_day_names_only_in_the_day_of_week_field():
    with pytest.raises(ConfigError, match="schedule.weekly_late_list.cron"):
        config.parse({"schedule": {"weekly_late_list": {"cron": "0 7 * * 1"}}})
    # Monday 7:00 after Sunday 2026-03-01
    weekly = job_schedules(config.defaults())[1]
    assert weekly.job == "weekly_late_list"
    assert weekly.next_run(datetime(2026, 3, 1, 12, tzinfo=UTC)) == datetime(2026, 3, 2, 7, tzinfo=LONDON)


def test_unknown_timezone_is_a_config_error():
    with pytest.raises(ConfigError, match="schedule.timezone"):
        job_schedules(config.parse({"schedule": {"timezone": "Europe/Atlantis"}}))


@pytest.mark.parametrize(
    "as_of, period",
    [(date(2026, 3, 2), "2026-02"), (date(2026, 1, 31), "2025-12"), (date(2024, 3, 1), "2024-02")],
)
def test_board_pack_is_for_the_latest_full_month_before_as_of(as_of, period):
    assert latest_full_month(as_of) == period


def _fires(expression: str, after: datetime, n: int) -> list[datetime]:
    trigger = trigger_from(expression, "Europe/London")
    fires, previous, now = [], None, after
    for _ in range(n):
        previous = trigger.get_next_fire_time(previous, now)
        fires.append(previous.astimezone(UTC))
        now = previous
    return fires


# Europe/London: on 2026-03-29 clocks go from 01:00 GMT to 02:00 BST (01:00-01:59 never happens);
# on 2026-10-25 from 02:00 BST back to 01:00 GMT (01:00-01:59 happens twice). What APScheduler
# 3.11's CronTrigger does, pinned (docs/operations.md, "Clock changes"):

def test_0130_in_march_runs_once_an_hour_late_on_the_wall_clock():
    fires = _fires("30 1 * * mon-sun", datetime(2026, 3, 28, 12, tzinfo=LONDON), 3)
    assert fires == [
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),   # = 02:30 BST: the missing 01:30 runs at 02:30
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),   # = 01:30 BST
        datetime(2026, 3, 31, 0, 30, tzinfo=UTC),
    ]


def test_0130_in_october_runs_twice():
    fires = _fires("30 1 * * mon-sun", datetime(2026, 10, 24, 12, tzinfo=LONDON), 3)
    assert fires == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 01:30 BST
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 01:30 GMT, an hour later: the same day again
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
    ]


def test_0230_runs_exactly_once_on_both_change_days():
    march = _fires("30 2 * * mon-sun", datetime(2026, 3, 28, 12, tzinfo=LONDON), 2)
    assert march == [datetime(2026, 3, 29, 1, 30, tzinfo=UTC), datetime(2026, 3, 30, 1, 30, tzinfo=UTC)]
    october = _fires("30 2 * * mon-sun", datetime(2026, 10, 24, 12, tzinfo=LONDON), 2)
    assert october == [datetime(2026, 10, 25, 2, 30, tzinfo=UTC), datetime(2026, 10, 26, 2, 30, tzinfo=UTC)]
