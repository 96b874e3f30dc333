"""`ehcp-monitor demo-data`: write a synthetic extract to try the monitor on."""

import sys
from contextlib import nullcontext
from pathlib import Path

import click

from ehcp_monitor.cli.common import as_of_option, resolve_as_of
from ehcp_monitor.logs import get_logger

# Every bad-row kind needs at least one row; below this many people they pass 5 % of a small table
# (ingest.max_reject_share) and the ingest would refuse the extract whole.
BAD_ROWS_MIN_PEOPLE = 200


@click.command("demo-data")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the extract into (created if missing).")
@click.option("--people", type=click.IntRange(min=1), default=2000, show_default=True,
              help="How many invented children and young people.")
@click.option("--seed", type=int, default=1, show_default=True, help="The same seed gives the same extract.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "xlsx", "sen2", "sen2-xml"]), default="csv",
              show_default=True, help="Canonical CSV / Parquet / XLSX workbook, a SEN2 Blade export or SEN2 XML.")
@click.option("--bad-rows", is_flag=True, help="Add a small share of invalid rows (every code V001-V010).")
@click.option("--messy", is_flag=True,
              help="Shape it like a real LA's extract (history, placeholder dates, transfers in, supplier "
                   "codes, a few broken rows) and write messy-manifest.json beside it. csv, parquet, xlsx.")
@as_of_option
def demo_data(out_dir, people, seed, fmt, bad_rows, messy, as_of):
    """Write a deterministic synthetic caseload (invented people only)."""
    from ehcp_monitor.synthetic import generate, write_extract
    from ehcp_monitor.synthetic.generate import STEPS
    from ehcp_monitor.synthetic.messy import MESSY_FORMATS, generate_messy, write_manifest

    as_of = resolve_as_of(as_of)
    if messy and (bad_rows or fmt not in MESSY_FORMATS):
        raise click.UsageError(f"--messy writes {', '.join(MESSY_FORMATS)} only, and not with --bad-rows")
    if (bad_rows or messy) and people < BAD_ROWS_MIN_PEOPLE:
        click.echo(f"warning: with fewer than {BAD_ROWS_MIN_PEOPLE} people the bad rows can pass 5 % of a "
                   "table, and an ingest would refuse the extract", err=True)
    # Progress only for a person at a terminal; cron and pipes get the summary alone.
    bar = (click.progressbar(length=STEPS + 1, label="generating") if sys.stdout.isatty() else nullcontext())
    with bar as progress:
        on_step = (lambda _t: progress.update(1)) if progress is not None else None
        if messy:
            frames, manifest = generate_messy(people, seed, as_of, on_step=on_step)
        else:
            frames = generate(people, seed, as_of, bad_rows=bad_rows, on_step=on_step)
        paths = write_extract(frames, out_dir, fmt, as_of=as_of)
        if progress is not None:
            progress.update(1)
    counts = {name: df.height for name, df in frames.items()}
    get_logger().info("demo_data_written", rows=counts, files=len(paths), as_of=as_of.isoformat())
    click.echo(f"wrote {len(paths)} {fmt} file(s) to {out_dir} as of {as_of.isoformat()}: "
               + ", ".join(f"{n} {name}" for name, n in counts.items()))
    if messy:
        click.echo(f"manifest of what the ingest must report: {write_manifest(manifest, out_dir)}")
