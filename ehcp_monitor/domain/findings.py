"""What an ingest finding costs, and how a value is shown in a report (docs/input-formats.md, Bad input)."""

# The action a finding takes on its row or value, most costly first (the report's order).
QUARANTINED, WITHHELD, CLEARED, WARNING = "quarantined", "withheld", "cleared", "warning"
ACTIONS = (QUARANTINED, WITHHELD, CLEARED, WARNING)
# A personal column's value is never stored or shown in a finding: this is shown instead.
MASKED = "***"
# Control characters, replaced before a raw value is quoted in a message.
CONTROL_CHARS = r"[\x00-\x1f\x7f-\x9f]"
