"""The scheduled jobs: name -> module. Each module has `run(ctx, as_of) -> dict` of counts.

The names are config.JOB_NAMES (the [schedule.<job>] sections of config.toml).
"""

from jobs import board_pack, dispatch_touchpoints, nightly, weekly_late_list

JOBS = {
    "nightly": nightly,
    "weekly_late_list": weekly_late_list,
    "board_pack": board_pack,
    "dispatch_touchpoints": dispatch_touchpoints,
}
