"""V009: an email address that is not a single valid address (CR/LF would be header injection)."""

import polars as pl

from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.validation.base import Context, issues

CODE = "V009"
TITLE, DESCRIPTION = FINDING_CODES[CODE]

# One address, no display name, no spaces or line breaks; dotted domain labels.
ADDRESS = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def find(ctx: Context) -> list[pl.DataFrame]:
    raw = ctx.raw.get("contacts")
    if raw is None or "email" not in raw.frame.columns:
        return []
    email = pl.col("email").cast(pl.Utf8)
    rows = raw.frame.filter(email.is_not_null() & ~email.str.contains(ADDRESS))
    return [issues("contacts", rows, "email", "email is not a single valid address")]
