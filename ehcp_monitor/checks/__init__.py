"""The statutory clock engine: the rule registry, the polars engine, the per-case oracle, storing results."""

from ehcp_monitor.checks.clock_engine import evaluate
from ehcp_monitor.checks.run import CheckSummary, run_check
from ehcp_monitor.domain.results import RESULT_COLUMNS

__all__ = ["evaluate", "run_check", "RESULT_COLUMNS", "CheckSummary"]
