"""ehcp-monitor: statutory timeliness monitor for EHC plans."""

__version__ = "0.1.0"
