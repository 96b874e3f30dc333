"""The ingest: every source format onto the canonical tables, validated, quarantined, snapshotted."""

from ehcp_monitor.ingest.ingest import IngestResult, run_ingest

__all__ = ["IngestResult", "run_ingest"]
