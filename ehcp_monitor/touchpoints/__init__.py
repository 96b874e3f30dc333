"""Touchpoint emails to parent carers (docs/touchpoints.md): plan, render, send, at most once.

- `plan_touchpoints(engine, settings, *, as_of)`: every due touchpoint into the outbox.
- `dispatch_touchpoints(engine, settings, *, as_of, now, dry_run=False)`: send what is due.
- `transports`: the one way this project sends email (also used by the weekly late list).
"""

from ehcp_monitor.touchpoints.dispatch import dispatch_touchpoints
from ehcp_monitor.touchpoints.planner import plan_touchpoints

__all__ = ["plan_touchpoints", "dispatch_touchpoints"]
