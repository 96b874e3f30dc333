"""Build the demo's small extract of DfE's published "Education, health and care plans" figures.

    .venv/bin/python scripts/build_dfe_extract.py [RELEASE_DIR ...]

Reads each release folder (default: the June 2025 release, then the June 2026 sample, from
../shared/data/) with the importer's own reader, keeps England, every region and the demo LA with
its comparators (ehcp_monitor.demo.DEMO_LA_CODE, DEMO_NEIGHBOURS) for calendar years 2023 on, the
later release winning, and writes ehcp_monitor/board_pack/data/dfe_ehcp_extract.csv in the long form
of the benchmark_figures table. Contains public sector information licensed under the Open
Government Licence v3.0 (see ehcp_monitor/board_pack/data/README.md).
"""

import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ehcp_monitor.board_pack.benchmarks import EXTRACT, FIGURE_SCHEMA, read_release  # noqa: E402
from ehcp_monitor.demo import DEMO_LA_CODE, DEMO_NEIGHBOURS  # noqa: E402

RELEASES = (ROOT.parent / "shared" / "data" / "dfe-ehcp-2025", ROOT.parent / "shared" / "data" / "dfe-ehcp-2026-sample")
FIRST_YEAR = "2023"


def build(releases) -> pl.DataFrame:
    frames = []
    for order, folder in enumerate(releases):
        _, figures = read_release(folder)
        frames += [f.with_columns(pl.lit(order).alias("release")) for f in figures]
    areas = [DEMO_LA_CODE, *DEMO_NEIGHBOURS]
    wanted = pl.col("geographic_level").is_in(["National", "Regional"]) | pl.col("area_code").is_in(areas)
    return (
        pl.concat(frames)
        .filter(wanted & (pl.col("time_period").str.slice(0, 4) >= FIRST_YEAR))
        .sort("release")
        .unique(["measure", "time_period", "area_code"], keep="last")
        .select(list(FIGURE_SCHEMA))
        .sort("measure", "time_period", "geographic_level", "area_code")
    )


if __name__ == "__main__":
    releases = [Path(p) for p in sys.argv[1:]] or RELEASES
    extract = build(releases)
    extract.write_csv(EXTRACT)
    print(f"{extract.height} figures -> {EXTRACT.relative_to(ROOT)}")
