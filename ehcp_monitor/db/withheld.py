"""Withheld clocks (docs/input-formats.md, Bad input): clocks the ingest found unusable data for.

The ingest records them with the snapshot (`withheld_clocks`, keyed by its ingest); a check drops
them from the evaluated rows, so no result, list or email is built on a date known to be wrong.
A withheld row names a measure and a case; where it also names an item or an anchor date, only
that instance (one advice request, one review) is withheld.
"""

import polars as pl
from sqlalchemy import Connection

from ehcp_monitor.db.bulk import read_frame

WITHHELD_SCHEMA = {"measure": pl.Utf8, "request_id": pl.Utf8, "plan_id": pl.Utf8, "item": pl.Utf8,
                   "anchor_date": pl.Date}
_KEYS = ("request_id", "plan_id", "item", "anchor_date")


def read_withheld(conn: Connection, ingest_id: int | None) -> pl.DataFrame:
    if ingest_id is None:
        return pl.DataFrame(schema=WITHHELD_SCHEMA)
    cols = ", ".join(f'"{c}"' for c in WITHHELD_SCHEMA)
    return read_frame(conn, f'SELECT {cols} FROM "withheld_clocks" WHERE "ingest_id" = {int(ingest_id)}',
                      WITHHELD_SCHEMA)


def withhold(results: pl.DataFrame, withheld: pl.DataFrame) -> pl.DataFrame:
    """`results` less every withheld instance, in the same order."""
    if withheld.is_empty() or results.is_empty():
        return results
    flagged = withheld.with_columns([pl.col(k).is_not_null().alias(f"has_{k}") for k in _KEYS])
    for group in flagged.partition_by([f"has_{k}" for k in _KEYS]):
        on = ["measure", *(k for k in _KEYS if group[f"has_{k}"][0])]
        results = results.join(group.select(on).unique(), on=on, how="anti", maintain_order="left")
    return results
