"""W006: two requests for one child received on the same day (a warning).

Most often the same request keyed twice, or re-keyed under a new ID beside the old one: each
would have its own clocks, and the family would be told of it twice (touchpoints hold the second:
docs/touchpoints.md, When the records change). Both rows load; the data team is told.
"""

import polars as pl

from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.validation.base import Context, issues

CODE = "W006"
TITLE, DESCRIPTION = FINDING_CODES[CODE]


def find(ctx: Context) -> list[pl.DataFrame]:
    requests = ctx.parsed.get("requests")
    if requests is None or requests.is_empty():
        return []
    # Historical records (H) carry no clocks and are not told: a pair of them is nobody's business.
    current = requests.filter(pl.col("person_id").is_not_null() & pl.col("received_date").is_not_null()
                              & (pl.col("request_outcome").fill_null("") != "H"))
    same_day = ["person_id", "received_date"]
    rows = (current.with_columns(first=pl.col("request_id").min().over(same_day),
                                 count=pl.len().over(same_day))
            .filter((pl.col("count") > 1) & (pl.col("request_id") != pl.col("first"))))
    return [issues("requests", rows, "received_date", pl.concat_str(
        pl.lit("another request of the same child, "), pl.col("first"),
        pl.lit(", was received the same day: keyed twice, or re-keyed? Messages repeating what the family was "
               "told of the first are held")))]
