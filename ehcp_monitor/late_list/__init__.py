"""The senior team's weekly late-plan list (docs/late-list.md)."""

from ehcp_monitor.late_list.build import LateListResult, build_late_list
from ehcp_monitor.late_list.deliver import send_late_list

__all__ = ["LateListResult", "build_late_list", "send_late_list"]
