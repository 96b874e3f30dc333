"""Touchpoint emails to parent carers (docs/touchpoints.md): plan, render, send, at most once.

- `plan_touchpoints(engine, settings, *, as_of, now=None)`: every due touchpoint into the outbox.
- `dispatch_touchpoints(engine, settings, *, as_of, now, dry_run=False)`: send what is due.

Both are imported when first used (PEP 562), so a command that only reads go-live or the held
count (`health`, `jobs`) does not load the planner, the templates and polars.
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ehcp_monitor.touchpoints.dispatch import dispatch_touchpoints
    from ehcp_monitor.touchpoints.planner import plan_touchpoints

_WHERE = {"plan_touchpoints": "planner", "dispatch_touchpoints": "dispatch"}
__all__ = ["plan_touchpoints", "dispatch_touchpoints"]


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f"ehcp_monitor.touchpoints.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
