"""V012: a mobile number that is not a UK mobile number (no text message can be sent to it)."""

import polars as pl

from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.validation.base import Context, issues

CODE = "V012"
TITLE, DESCRIPTION = FINDING_CODES[CODE]

# The same test as ehcp_monitor.transports.normalise_uk_mobile: "(0)", spaces, dashes, dots and
# brackets dropped, then a UK prefix and 7 followed by nine digits.
UK_MOBILE = r"^(\+44|0044|44|0)7[0-9]{9}$"


def find(ctx: Context) -> list[pl.DataFrame]:
    raw = ctx.raw.get("contacts")
    if raw is None or "mobile" not in raw.frame.columns:
        return []
    compact = (pl.col("mobile").cast(pl.Utf8).str.replace_all(r"\(0\)", "", literal=False)
               .str.replace_all(r"[\s\-.()]", ""))
    blank = pl.col("mobile").cast(pl.Utf8).str.strip_chars().fill_null("") == ""
    rows = raw.frame.filter(~blank & ~compact.str.contains(UK_MOBILE))
    # The number is personal data: the message names the rule, never the value.
    return [issues("contacts", rows, "mobile", "mobile is not a UK mobile number")]
