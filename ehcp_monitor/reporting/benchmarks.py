"""DfE's published "Education, health and care plans" figures, for comparison in the board pack.

`import_benchmarks` reads the release's CSVs exactly as a user downloads them (UTF-8 with a BOM,
`x` unavailable / `z` not applicable / `c` suppressed, the `_ex` "excluding exceptions" columns, a
repeated column name in annual_reviews.csv) and keeps, in long form, the headline ("All ...") row
of each measure the pack compares against, for England, every region and every LA. A file is
recognised by its columns, not its name. Re-importing replaces that file's measures.

`comparators` gives the latest published England, region and statistical-neighbour figures.
"""

import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, delete, select

from ehcp_monitor.db.bulk import write_frame
from ehcp_monitor.db.models import BenchmarkFigure
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.logs import get_logger

SYMBOLS = ("x", "z", "c")
ID_COLUMNS = ("time_period", "geographic_level", "country_code", "region_code", "new_la_code",
              "country_name", "region_name", "la_name", "breakdown_topic", "breakdown")


@dataclass(frozen=True)
class Measure:
    """One published percentage, with the counts it is made of (denominator: sum of columns)."""

    code: str  # the board-pack KPI code it compares with
    value: str
    numerator: str
    denominator: tuple[str, ...]


# file (recognised by its first measure column) -> measures kept from it
FILES: dict[str, tuple[Measure, ...]] = {
    "timeliness_20_week.csv": (
        Measure("final_20w", "pc_plans_issued_within_20_weeks", "plans_issued_within_20_weeks",
                ("plans_issued_den",)),
        Measure("final_20w_ex", "PC_plans_issued_20_weeks_ex", "plans_issued_20_weeks_ex",
                ("plans_issued_den_ex",)),
        Measure("final_20w_band_20_52", "pc_plans_issued_gt20weeks_ltYear",
                "plans_issued_gt20weeks_ltYear", ("plans_issued_den",)),
        Measure("final_20w_band_over_52", "pc_plans_issued_gt_1_year", "plans_issued_gt_1_year",
                ("plans_issued_den",)),
    ),
    "requests.csv": (
        Measure("decide_6w", "request_outcome_six_weeks_pc", "request_outcome_six_weeks",
                ("request_outcome_six_weeks", "request_outcome_over_6_weeks")),
    ),
    "assessments.csv": (
        Measure("not_issue_16w", "outcome_decision_within_time_pc", "outcome_decision_within_time",
                ("outcome_decision_within_time", "outcome_decision_over_time")),
    ),
    "annual_reviews.csv": (
        Measure("review_decision_4w", "pc_decsion_4weeks", "number_decsion_4weeks",
                ("number_decsion_4weeks", "number_decision_gt_4weeks")),
    ),
}

FIGURE_SCHEMA = {
    "measure": pl.Utf8, "time_period": pl.Utf8, "geographic_level": pl.Utf8, "area_code": pl.Utf8,
    "area_name": pl.Utf8, "region_code": pl.Utf8, "numerator": pl.Float64,
    "denominator": pl.Float64, "value": pl.Float64, "symbol": pl.Utf8, "source_file": pl.Utf8,
}

log = get_logger()


@dataclass
class ImportResult:
    files: list[str]
    rows: int


def read_published_csv(path: Path) -> pl.DataFrame:
    """One published CSV as text columns (BOM stripped; a repeated header name kept once)."""
    text = path.read_bytes().decode("utf-8-sig")
    header, _, body = text.partition("\n")
    names, seen = [], set()
    for raw in header.strip().split(","):
        name = raw.strip().strip('"')
        names.append(name if name not in seen else f"{name}__repeat{len(names)}")
        seen.add(name)
    df = pl.read_csv(io.StringIO(body), has_header=False, new_columns=names, infer_schema=False)
    return df.select([n for n in names if "__repeat" not in n])


def _recognise(df: pl.DataFrame, path: Path) -> str | None:
    for file_name, measures in FILES.items():
        if all(m.value in df.columns and m.numerator in df.columns for m in measures):
            return file_name
    return None


def _number(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().str.replace_all(",", "").cast(pl.Float64, strict=False)


def _symbol(col: str) -> pl.Expr:
    v = pl.col(col).str.strip_chars().str.to_lowercase()
    return pl.when(v.is_in(SYMBOLS)).then(v).otherwise(None)


def figures_from_frame(df: pl.DataFrame, file_name: str) -> pl.DataFrame:
    """The headline rows of one published file in the long form of benchmark_figures."""
    missing = [c for c in ID_COLUMNS if c not in df.columns]
    if missing:
        raise ConfigError(f"benchmarks: {file_name} lacks the column {missing[0]}")
    level = pl.col("geographic_level")
    headline = df.filter(
        pl.col("breakdown_topic").str.starts_with("All ") & (pl.col("breakdown") == pl.col("breakdown_topic"))
    )
    area_code = (
        pl.when(level == "National").then(pl.col("country_code"))
        .when(level == "Regional").then(pl.col("region_code"))
        .otherwise(pl.col("new_la_code"))
    )
    area_name = (
        pl.when(level == "National").then(pl.col("country_name"))
        .when(level == "Regional").then(pl.col("region_name"))
        .otherwise(pl.col("la_name"))
    )
    frames = []
    for m in FILES[file_name]:
        denominator = pl.sum_horizontal([_number(c) for c in m.denominator])
        denominator_known = pl.all_horizontal([_number(c).is_not_null() for c in m.denominator])
        frames.append(
            headline.select(
                pl.lit(m.code).alias("measure"),
                pl.col("time_period"),
                level.alias("geographic_level"),
                area_code.alias("area_code"),
                area_name.alias("area_name"),
                pl.when(level == "National").then(None).otherwise(pl.col("region_code")).alias("region_code"),
                _number(m.numerator).alias("numerator"),
                pl.when(denominator_known).then(denominator).otherwise(None).alias("denominator"),
                _number(m.value).alias("value"),
                _symbol(m.value).alias("symbol"),
                pl.lit(file_name).alias("source_file"),
            )
        )
    return pl.concat(frames).cast(FIGURE_SCHEMA)


def import_benchmarks(engine: Engine, path: str | Path) -> ImportResult:
    """Load one published CSV, or every recognised CSV in a folder, into benchmark_figures."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"benchmarks: {path} does not exist")
    candidates = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    loaded: list[tuple[str, pl.DataFrame]] = []
    for csv in candidates:
        try:
            df = read_published_csv(csv)
        except (UnicodeDecodeError, pl.exceptions.PolarsError) as exc:
            raise ConfigError(f"benchmarks: {csv.name} is not a readable CSV ({type(exc).__name__})") from None
        file_name = _recognise(df, csv)
        if file_name is None:
            if not path.is_dir():
                raise ConfigError(f"benchmarks: {csv.name} is not a DfE EHC plans file the pack uses")
            continue
        loaded.append((file_name, figures_from_frame(df, file_name)))
    if not loaded:
        raise ConfigError(f"benchmarks: no DfE EHC plans file the pack uses in {path}")
    rows = 0
    with engine.begin() as conn:
        for file_name, figures in loaded:
            conn.execute(delete(BenchmarkFigure).where(BenchmarkFigure.source_file == file_name))
            rows += write_frame(conn, BenchmarkFigure.__tablename__, figures)
    log.info("benchmarks_imported", files=len(loaded), rows=rows)
    return ImportResult(files=[f for f, _ in loaded], rows=rows)


def read_figures(engine: Engine) -> pl.DataFrame:
    cols = [getattr(BenchmarkFigure, c) for c in FIGURE_SCHEMA]
    with engine.connect() as conn:
        rows = conn.execute(select(*cols)).all()
    return pl.DataFrame(rows, schema=FIGURE_SCHEMA, orient="row")


@dataclass(frozen=True)
class Comparator:
    label: str  # England / the region's name / statistical neighbours (n)
    time_period: str
    value: float | None
    symbol: str | None


def comparators(figures: pl.DataFrame, measure: str, la_code: str, neighbours: list[str]) -> list[Comparator]:
    """The latest published figures for a measure: this LA, England, its region, its neighbours.

    Neighbours: the mean of their published rates for the latest year (as DfE's LAIT does).
    """
    rows = figures.filter(pl.col("measure") == measure)
    if rows.height == 0:
        return []
    with_values = rows.filter(pl.col("value").is_not_null())
    latest = (with_values if with_values.height else rows)["time_period"].max()
    year = rows.filter(pl.col("time_period") == latest)
    out: list[Comparator] = []

    def one(df: pl.DataFrame, label: str | None = None) -> None:
        if df.height:
            r = df.row(0, named=True)
            out.append(Comparator(label or r["area_name"], latest, r["value"], r["symbol"]))

    la = year.filter(pl.col("area_code") == la_code)
    one(la, (la["area_name"][0] + " (published)") if la.height else None)
    one(year.filter(pl.col("geographic_level") == "National"))
    if la.height and la["region_code"][0]:
        one(year.filter((pl.col("geographic_level") == "Regional") & (pl.col("area_code") == la["region_code"][0])))
    if neighbours:
        sn = year.filter(pl.col("area_code").is_in(neighbours) & pl.col("value").is_not_null())
        label = f"Statistical neighbours (mean of {sn.height})"
        value = round(sn["value"].mean(), 1) if sn.height else None
        out.append(Comparator(label, latest, value, None if sn.height else "x"))
    return out
