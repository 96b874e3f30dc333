import threading

from ehcp_monitor import config
from ehcp_monitor.scheduling.service import _InFlight, build_scheduler


def test_the_scheduler_is_built_from_the_config_in_memory():
    settings = config.parse({"schedule": {
        "board_pack": {"enabled": False},
        "nightly": {"cron": "30 2 * * mon-fri", "misfire_grace_hours": 3},
    }})
    scheduler = build_scheduler(settings, threading.Event(), _InFlight())
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"nightly", "weekly_late_list", "dispatch_touchpoints"}
    nightly = jobs["nightly"]
    assert (nightly.misfire_grace_time, nightly.coalesce, nightly.max_instances) == (3 * 3600, True, 1)
    assert str(nightly.trigger.timezone) == "Europe/London"
    fields = {f.name: str(f) for f in nightly.trigger.fields}
    assert (fields["minute"], fields["hour"], fields["day_of_week"]) == ("30", "2", "mon-fri")
    assert jobs["weekly_late_list"].misfire_grace_time == 6 * 3600
