"""DfE's published "Education, health and care plans" figures, for comparison in the board pack.

`import_benchmarks` reads the release's CSVs exactly as a user downloads them, from the June 2025
and the June 2026 releases alike (dfe_release.py lists what is taken from which file): columns
matched in lower case and through the known renames, `x` / `z` / `c` symbols kept, a repeated column
name kept once. Only the headline (total) row of each file is kept, for England, every region and
every LA; breakdown rows (age, sex, ethnicity...) are skipped on purpose and counted. Each file's
figures and skipped rows are reported. A recognised file that yields no figure refuses the whole
import (exit 3): a silent pass would leave the pack comparing with last year's England.

A newer release replaces the figures it publishes (same measure, year and area) and keeps the rest.
`comparators` gives the published England, region and statistical-neighbour figures.
"""

import io
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, and_, delete, select

from ehcp_monitor.board_pack.dfe_release import FILES, PHASE_YEAR, Measure, ReleaseFile, canonical_name
from ehcp_monitor.db.bulk import write_frame
from ehcp_monitor.db.models import BenchmarkFigure
from ehcp_monitor.errors import ConfigError, IngestRefused
from ehcp_monitor.logs import get_logger

SYMBOLS = ("x", "z", "c", "u", "k")
LEVELS = ("National", "Regional", "Local authority")
ID_COLUMNS = ("time_period", "geographic_level", "country_code", "region_code", "new_la_code",
              "country_name", "region_name", "la_name")
FIGURE_SCHEMA = {
    "measure": pl.Utf8, "time_period": pl.Utf8, "geographic_level": pl.Utf8, "area_code": pl.Utf8,
    "area_name": pl.Utf8, "region_code": pl.Utf8, "numerator": pl.Float64,
    "denominator": pl.Float64, "value": pl.Float64, "symbol": pl.Utf8, "source_file": pl.Utf8,
}

# The demo's extract of published figures (OGL v3; data/README.md, scripts/build_dfe_extract.py).
EXTRACT = Path(__file__).resolve().parent / "data" / "dfe_ehcp_extract.csv"

log = get_logger()


@dataclass
class FileReport:
    path: str  # the file's own name as given
    recognised_as: str | None  # the release file it is, or None (not one the pack uses)
    figures: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows

    def line(self) -> str:
        if self.recognised_as is None:
            return f"{self.path}: not a DfE EHC plans file the pack uses, skipped"
        skipped = "; ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items()))
        line = f"{self.path} ({self.recognised_as}): {self.figures} figures"
        return line + (f"; skipped {skipped}" if skipped else "")


@dataclass
class ImportResult:
    reports: list[FileReport]
    rows: int

    @property
    def files(self) -> list[str]:
        return [r.recognised_as for r in self.reports if r.recognised_as]


def read_published_csv(path: Path) -> pl.DataFrame:
    """One published CSV as text columns, names canonical (BOM stripped; a repeated name kept once)."""
    text = path.read_bytes().decode("utf-8-sig")
    header, _, body = text.partition("\n")
    raw_names = next(iter(pl.read_csv(io.StringIO(header + "\n"), has_header=False, infer_schema=False).rows()))
    names, seen = [], set()
    for raw in raw_names:
        name = canonical_name(raw or "")
        names.append(name if name not in seen else f"{name}__repeat{len(names)}")
        seen.add(name)
    df = pl.read_csv(io.StringIO(body), has_header=False, new_columns=names, infer_schema=False)
    return _phase_columns(df.select([n for n in names if "__repeat" not in n]))


def _phase_columns(df: pl.DataFrame) -> pl.DataFrame:
    """phase_transfers.csv names columns by year (due_25): take, for each row, its own year's."""
    found = [(m[1], m[2], c) for c in df.columns if (m := PHASE_YEAR.match(c))]
    if not found or "time_period" not in df.columns:
        return df
    yy = pl.col("time_period").str.strip_chars().str.slice(2, 2)
    out = []
    for kind in ("due", "final"):
        expr = pl.lit(None, pl.Utf8)
        for k, year, column in found:
            if k == kind:
                expr = pl.when(yy == year).then(pl.col(column)).otherwise(expr)
        out.append(expr.alias(f"phase_{kind}"))
    return df.with_columns(out)


def recognise(df: pl.DataFrame) -> ReleaseFile | None:
    for spec in FILES:
        if all(c in df.columns for c in spec.signature):
            return spec
    return None


def _number(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().str.replace_all(",", "").cast(pl.Float64, strict=False)


def _symbol(col: str) -> pl.Expr:
    v = pl.col(col).str.strip_chars().str.to_lowercase()
    # Any other text where a number belongs ("no data", "low") is unavailable: x.
    return pl.when(v.is_in(SYMBOLS)).then(v).when(_number(col).is_null() & (v != "")).then(pl.lit("x"))


def _round1(expr: pl.Expr) -> pl.Expr:
    """One decimal place, half up (as DfE rounds), for the non-negative rates computed here."""
    return (((expr * 10) + 0.5).floor() / 10).round(1)


def _measure_frame(rows: pl.DataFrame, m: Measure, spec: ReleaseFile) -> pl.DataFrame:
    level = pl.col("geographic_level")
    area_code = (pl.when(level == "National").then(pl.col("country_code"))
                 .when(level == "Regional").then(pl.col("region_code")).otherwise(pl.col("new_la_code")))
    area_name = (pl.when(level == "National").then(pl.col("country_name"))
                 .when(level == "Regional").then(pl.col("region_name")).otherwise(pl.col("la_name")))
    if m.denominator:
        denominator = pl.when(pl.all_horizontal([_number(c).is_not_null() for c in m.denominator])).then(
            pl.sum_horizontal([_number(c) for c in m.denominator]))
    else:
        denominator = pl.lit(None, pl.Float64)
    numerator = _number(m.numerator) if m.numerator else pl.lit(None, pl.Float64)
    if m.value:
        value, symbol = _number(m.value), _symbol(m.value)
    else:  # DfE publishes the counts only: the rate is theirs, computed the same way
        sym_cols = [_symbol(c) for c in m.columns()]
        computed = pl.when(denominator > 0).then(_round1(100 * numerator / denominator))
        # A count above its total (phase transfers finalised in a year they were not due) is no rate.
        value = pl.when(numerator <= denominator).then(computed)
        symbol = pl.coalesce(*sym_cols, pl.when(value.is_null()).then(pl.lit("z")))
    return rows.select(
        pl.lit(m.code).alias("measure"),
        pl.col("time_period").str.strip_chars(),
        level.alias("geographic_level"),
        area_code.alias("area_code"),
        area_name.alias("area_name"),
        pl.when(level == "National").then(None).otherwise(pl.col("region_code")).alias("region_code"),
        numerator.alias("numerator"),
        denominator.alias("denominator"),
        value.alias("value"),
        symbol.alias("symbol"),
        pl.lit(spec.name).alias("source_file"),
    )


def figures_from_frame(df: pl.DataFrame, spec: ReleaseFile, report: FileReport) -> pl.DataFrame:
    """The headline rows of one published file in the long form of benchmark_figures."""
    missing = [c for c in ID_COLUMNS if c not in df.columns]
    if missing:
        raise IngestRefused(f"benchmarks: {report.path} lacks the column {missing[0]}")
    df = df.with_columns(pl.col("geographic_level").str.strip_chars())
    known_level = pl.col("geographic_level").is_in(LEVELS)
    if spec.has_breakdown:
        topic = pl.col("breakdown_topic").str.strip_chars().str.to_lowercase()
        label = pl.col("breakdown").str.strip_chars().str.to_lowercase()
        # The release's own total labels, or any future "All ..." label that is its own breakdown.
        total = (topic.is_in(spec.totals) & label.is_in(spec.totals)) | (
            (topic == label) & topic.str.starts_with("all "))
    else:
        total = pl.lit(True)
    tagged = df.select(
        pl.when(~known_level).then(pl.lit("rows of another geographic level"))
        .when(~total).then(pl.lit("breakdown rows (age, sex, ethnicity and the like: not compared)"))
        .alias("reason")
    )
    report.skipped = {r: n for r, n in tagged.drop_nulls().group_by("reason").len().iter_rows()}
    headline = df.filter(known_level & total)
    measures = [m for m in spec.measures if all(c in df.columns for c in m.columns())]
    absent = [m.code for m in spec.measures if m not in measures and not m.optional]
    if absent:
        raise IngestRefused(f"benchmarks: {report.path} ({spec.name}) lacks the columns of {absent[0]}")
    frames = [_measure_frame(headline, m, spec) for m in measures]
    out = pl.concat(frames).cast(FIGURE_SCHEMA) if frames else pl.DataFrame(schema=FIGURE_SCHEMA)
    report.figures = out.height
    return out


def read_release_file(csv: Path) -> tuple[FileReport, pl.DataFrame | None]:
    try:
        df = read_published_csv(csv)
    except (UnicodeDecodeError, StopIteration, pl.exceptions.PolarsError) as exc:
        raise IngestRefused(f"benchmarks: {csv.name} is not a readable CSV ({type(exc).__name__})") from None
    spec = recognise(df)
    report = FileReport(csv.name, spec.name if spec else None)
    if spec is None:
        return report, None
    figures = figures_from_frame(df, spec, report)
    if figures.height == 0:
        raise IngestRefused(f"benchmarks: {csv.name} is DfE's {spec.name} but gave no figures (no headline "
                            f"row for England, a region or an LA); nothing was imported")
    return report, figures


def read_release(path: str | Path) -> tuple[list[FileReport], list[pl.DataFrame]]:
    """Every file of a release folder (or one file): its report and its figures, nothing stored."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"benchmarks: {path} does not exist")
    candidates = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    reports, frames = [], []
    for csv in candidates:
        report, figures = read_release_file(csv)
        if figures is None and not path.is_dir():
            raise ConfigError(f"benchmarks: {csv.name} is not a DfE EHC plans file the pack uses")
        reports.append(report)
        if figures is not None:
            frames.append(figures)
    if not frames:
        raise ConfigError(f"benchmarks: no DfE EHC plans file the pack uses in {path}")
    return reports, frames


def store_figures(engine: Engine, figures: pl.DataFrame) -> int:
    """Replace the stored figures for the same measure, year and area; keep every other."""
    figures = figures.cast(FIGURE_SCHEMA).unique(["measure", "time_period", "area_code"], keep="last")
    keys = figures.group_by("measure", "time_period").agg(pl.col("area_code").drop_nulls().unique())
    with engine.begin() as conn:
        for measure, period, areas in keys.iter_rows():
            for i in range(0, len(areas), 500):
                conn.execute(delete(BenchmarkFigure).where(and_(
                    BenchmarkFigure.measure == measure, BenchmarkFigure.time_period == period,
                    BenchmarkFigure.area_code.in_(areas[i:i + 500]))))
        return write_frame(conn, BenchmarkFigure.__tablename__, figures)


def import_benchmarks(engine: Engine, path: str | Path) -> ImportResult:
    """Load one published CSV, or every recognised CSV in a folder, into benchmark_figures."""
    reports, frames = read_release(path)
    rows = store_figures(engine, pl.concat(frames))
    skipped = sum(n for r in reports for n in r.skipped.values())
    log.info("benchmarks_imported", files=len(frames), rows=rows, skipped=skipped)
    return ImportResult(reports, rows)


def load_extract(engine: Engine, path: Path = EXTRACT) -> int:
    """Store a long-form extract written by scripts/build_dfe_extract.py (the demo's)."""
    figures = pl.read_csv(path, schema=FIGURE_SCHEMA)
    rows = store_figures(engine, figures)
    log.info("benchmarks_imported", files=1, rows=rows, skipped=0)
    return rows


def read_figures(engine: Engine) -> pl.DataFrame:
    cols = [getattr(BenchmarkFigure, c) for c in FIGURE_SCHEMA]
    with engine.connect() as conn:
        rows = conn.execute(select(*cols)).all()
    return pl.DataFrame(rows, schema=FIGURE_SCHEMA, orient="row")


@dataclass(frozen=True)
class Comparator:
    label: str  # this LA (published) / England / the region's name / statistical neighbours (n)
    time_period: str
    value: float | None
    symbol: str | None
    kind: str = ""  # la | england | region | neighbours


def comparators(figures: pl.DataFrame, measure: str, la_code: str, neighbours: list[str],
                year: str | None = None) -> list[Comparator]:
    """The published figures for a measure in `year` (default: the latest with a value): this LA,
    England, its region, and the mean of its neighbours' published rates (as DfE's LAIT does)."""
    rows = figures.filter(pl.col("measure") == measure)
    if year is not None:
        rows = rows.filter(pl.col("time_period") == year)
    if rows.height == 0:
        return []
    with_values = rows.filter(pl.col("value").is_not_null())
    latest = (with_values if with_values.height else rows)["time_period"].max()
    year_rows = rows.filter(pl.col("time_period") == latest)
    out: list[Comparator] = []

    def one(df: pl.DataFrame, kind: str, label: str | None = None) -> None:
        if df.height:
            r = df.row(0, named=True)
            out.append(Comparator(label or r["area_name"], latest, r["value"], r["symbol"], kind))

    la = year_rows.filter(pl.col("area_code") == la_code)
    one(la, "la", (la["area_name"][0] + " (published)") if la.height else None)
    one(year_rows.filter(pl.col("geographic_level") == "National"), "england")
    region = la["region_code"][0] if la.height else None
    if region:
        one(year_rows.filter((pl.col("geographic_level") == "Regional") & (pl.col("area_code") == region)), "region")
    if neighbours:
        sn = year_rows.filter(pl.col("area_code").is_in(neighbours) & pl.col("value").is_not_null())
        value = round(sn["value"].mean(), 1) if sn.height else None
        out.append(Comparator(f"Statistical neighbours (mean of {sn.height})", latest, value,
                              None if sn.height else "x", "neighbours"))
    return out
