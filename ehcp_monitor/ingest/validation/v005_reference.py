"""V005: a reference to a row that does not exist or was quarantined.

Runs after every other rule, parents before children (TABLE_ORDER), so the quarantine cascades:
the reviews of a plan whose person was quarantined are quarantined too, naming their parent.
"""

import polars as pl

from ehcp_monitor.domain.canonical import TABLE_ORDER, table_spec
from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.source import ROW
from ehcp_monitor.ingest.validation.base import Context, issues, shown

CODE = "V005"
TITLE, DESCRIPTION = FINDING_CODES[CODE]
RUNS_AFTER_QUARANTINE = True


def _good(ctx: Context, parent: str, column: str) -> pl.DataFrame:
    frame = ctx.parsed[parent]
    bad = ctx.bad_rows.get(parent)
    if bad is not None and bad.height:
        frame = frame.join(bad, on=ROW, how="anti")
    return frame.select(column)


def find(ctx: Context) -> list[pl.DataFrame]:
    found = []
    for name in TABLE_ORDER:
        if name not in ctx.parsed:
            continue
        new = []
        for column, parent, parent_column in table_spec(name).references:
            child = ctx.parsed[name].filter(pl.col(column).is_not_null())
            if parent in ctx.parsed:
                good = _good(ctx, parent, parent_column).rename({parent_column: column})
                broken = child.join(good, on=column, how="anti")
                known = ctx.parsed[parent].select(pl.col(parent_column).alias(column)).filter(
                    pl.col(column).is_in(broken[column].implode())).unique()
            else:
                broken, known = child, pl.DataFrame(schema={column: pl.Utf8})
            quarantined = broken.join(known, on=column, how="semi")
            missing = broken.join(known, on=column, how="anti")
            new.append(issues(name, quarantined, column, pl.format(
                f"{column} {{}} was quarantined in {parent}", shown(pl.col(column)))))
            new.append(issues(name, missing, column, pl.format(
                f"{column} {{}} not found in {parent}", shown(pl.col(column)))))
        found += new
        rows = pl.concat([f.select(ROW) for f in new] + [ctx.bad_rows.get(name, pl.DataFrame(schema={ROW: pl.UInt32}))])
        ctx.bad_rows[name] = rows.unique()
    return found
