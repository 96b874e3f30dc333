from ehcp_monitor.schema.canonical import (
    ADVICE_TYPES,
    CANONICAL_TABLES,
    OUTCOME_CODES,
    REQUIRED_TABLES,
    Column,
    TableSpec,
    table_spec,
)

__all__ = [
    "ADVICE_TYPES",
    "CANONICAL_TABLES",
    "OUTCOME_CODES",
    "REQUIRED_TABLES",
    "Column",
    "TableSpec",
    "table_spec",
]
