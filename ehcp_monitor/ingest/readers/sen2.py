"""The SEN2 person-level "Blade" CSV export (docs/input-formats.md, SEN2 Blade export).

Modules link by table IDs: person <- requests <- assessment <- namedplan, requests <- activeplans.
Canonical extension tables (advice, drafts, contacts, qa_audits, reviews) may sit beside the
export as CSV, keyed by the same IDs. Each mapped row keeps the line of the module row it came from.

`map_modules` and `add_side_tables` are shared with the SEN2 XML reader (sen2_xml.py), which
builds the same module frames (its element names, lower-cased, are the Blade column names).
"""

import re
from pathlib import Path

import polars as pl

from ehcp_monitor.domain.canonical import REVIEW_HISTORY_FULL, REVIEW_HISTORY_LATEST_ONLY, table_spec
from ehcp_monitor.errors import IngestRefused
from ehcp_monitor.ingest.placeholders import PLACEHOLDER_DATES
from ehcp_monitor.ingest.readers.canonical import folder_files, read_csv_tables
from ehcp_monitor.ingest.readers.text import read_text_csv
from ehcp_monitor.ingest.source import (
    DUPLICATED,
    EXTRA_FIELDS,
    LINE,
    SourceData,
    Unrecognised,
    make_raw_table,
    nearest_name,
    refuse_control_characters,
)
from ehcp_monitor.logs import get_logger

log = get_logger(__name__)

BLADE_FILE = re.compile(r"^Blade-Export_(\d{2})-(\d{2})-(\d{4})_([A-Za-z0-9]+)\.csv$", re.IGNORECASE)
MODULES = ("sen2", "person", "requests", "assessment", "namedplan", "plandetail", "activeplans",
           "placementdetail", "senneed")
SEN2_DATE = "%Y-%b-%d %H:%M:%S"
EXTENSION_TABLES = ("advice", "drafts", "contacts", "qa_audits", "reviews")

PEOPLE = {"persontableid": "person_id", "personbirthdate": "date_of_birth", "forename": "forename",
          "surname": "surname", "upn": "upn", "postcode": "postcode"}
REQUESTS = {"requeststableid": "request_id", "persontableid": "person_id", "receiveddate": "received_date",
            "requestoutcome": "request_outcome", "requestoutcomedate": "request_outcome_date",
            "requestsource": "request_source", "requestmediation": "request_mediation",
            "requesttribunal": "request_tribunal"}
ASSESSMENTS = {"requeststableid": "request_id", "assessmentoutcome": "assessment_outcome",
               "assessmentoutcomedate": "assessment_outcome_date", "week20": "week20",
               "assessmentmediation": "assessment_mediation", "assessmenttribunal": "assessment_tribunal"}
# Columns read into each table that the export may lack (read as empty on a first ingest; a snapshot
# guard refuses an extract that drops one the snapshot in force has values for: ingest/guards.py).
PLAN_COLUMNS = {"ceasedate": "cease_date", "ceasereason": "cease_reason"}
REVIEW_COLUMNS = {"reviewmeeting": "meeting_date", "lastreview": "decision_date", "reviewoutcome": "outcome",
                  "reviewdraft": "amendment_notice_date"}
TRANSFER_COLUMNS = {"phasetransferfinaldate": "final_date"}
# What a module file holds besides the columns read: the export's own bookkeeping, and the SEN2
# fields the clocks do not use. Any other column is named in the ingest's notes as not read.
BOOKKEEPING = re.compile(r"^(?:\w+tableid|nativeid|\w+orderseqcolumn|sourceid)$")
READ = {
    "person": tuple(PEOPLE), "requests": tuple(REQUESTS), "assessment": ("assessmenttableid", *ASSESSMENTS),
    "namedplan": ("namedplantableid", "assessmenttableid", "startdate", *PLAN_COLUMNS),
    "activeplans": ("requeststableid", *REVIEW_COLUMNS, "phasetransferduedate", *TRANSFER_COLUMNS),
}
NOT_USED = {
    "person": ("sex", "ethnicity", "uniquelearnernumber", "upnunknown"),
    "requests": ("rya", "exported"),
    "assessment": ("othermediation", "othertribunal"),
    "namedplan": ("planres", "planwbp", "planwpb", "pb", "oa", "dp"),
    "activeplans": ("transferla", "res", "wbp", "wpb"),
}
TABLES_OF = {"person": ("people",), "requests": ("requests",), "assessment": ("assessments",),
             "namedplan": ("plans",), "activeplans": ("reviews", "phase_transfers")}
# Blade headers are lower case without separators; a header written `Last Review` or
# `last_review` is read as `lastreview`.
SEPARATORS = re.compile(r"[\s_\-]+")


def blade_files(folder: Path) -> dict[str, Path]:
    """The export's module files (the latest export date when several sit together)."""
    found: dict[str, dict[str, Path]] = {}
    for path in folder.iterdir():
        m = BLADE_FILE.match(path.name)
        if m and m.group(4).lower() in MODULES:
            stamp, module = f"{m.group(3)}{m.group(2)}{m.group(1)}", m.group(4).lower()
            other = found.setdefault(stamp, {}).get(module)
            if other is not None:  # names differing only in case: one of them would go unread
                first, second = sorted([other.name, path.name])
                raise IngestRefused(f"{folder.name}: more than one file for the {module} module of one export: "
                                    f"{first} and {second}; keep one")
            found[stamp][module] = path
    if not found:
        return {}
    if len(found) > 1:
        log.warning("several SEN2 exports in the folder, reading the latest", files=len(found))
    return found[max(found)]


def is_sen2_export(folder: Path) -> bool:
    return bool(blade_files(folder))


# A name that looks like a module file of some export: its date, its module and any suffix.
BLADE_LIKE = re.compile(r"^Blade-Export_(\d{2}-\d{2}-\d{4})_(.+?)(\.[^.]*)?$", re.IGNORECASE)


def unrecognised_beside_export(folder: Path, source: SourceData) -> list[Unrecognised]:
    """The folder's files that are neither module files nor side tables read, each with the module
    file or side table it most resembles (`..._activeplan.csv` -> `..._activeplans.csv`)."""
    read = {t.source_file for t in source.tables.values()}
    unrecognised = []
    for path in folder_files(folder):
        module = BLADE_FILE.match(path.name)
        if path.name in read or path.is_dir() or (module and module.group(4).lower() in MODULES):
            continue
        like = BLADE_LIKE.match(path.name)
        if like:
            near = nearest_name(like.group(2), MODULES)
            unrecognised.append(Unrecognised(path.name, near and f"Blade-Export_{like.group(1)}_{near}.csv"))
        else:
            near = nearest_name(path.stem, EXTENSION_TABLES)
            unrecognised.append(Unrecognised(path.name, near and f"{near}.csv"))
    return unrecognised


def blade_name(header: str) -> str:
    """A Blade header as the reader names it (DUPLICATED, polars' mark of a name met again, kept)."""
    base, mark, rest = header.strip().lower().partition(DUPLICATED)
    return SEPARATORS.sub("", base) + mark + rest


def not_read(module: str, df: pl.DataFrame, headers: dict[str, str]) -> tuple[str, ...]:
    """The module file's columns that are neither read, nor SEN2 fields left unused, nor the
    export's bookkeeping, as headed in the file."""
    known = {*READ[module], *NOT_USED[module], LINE, EXTRA_FIELDS}
    return tuple(headers[c] for c in df.columns if c not in known and not BOOKKEEPING.match(c))


def _module(files, name, source, headers: dict[str, dict[str, str]]) -> pl.DataFrame | None:
    if name not in files:
        return None
    # Lines as in the file (a quoted value may span lines); surplus fields counted for V011.
    df = read_text_csv(files[name], name, source.checksums, with_lines=True)
    refuse_control_characters(df.columns, files[name].name)
    names = {c: blade_name(c) for c in df.columns if c not in (LINE, EXTRA_FIELDS)}
    headers[name] = {lowered: " ".join(c.split())[:40] for c, lowered in names.items()}
    seen: set[str] = set()
    for lowered in names.values():
        base = lowered.split(DUPLICATED)[0]
        if base in seen or DUPLICATED in lowered:
            raise IngestRefused(f"{files[name].name}: column {base} appears more than once in the header: "
                                "keep one and load again")
        seen.add(base)
    return df.rename(names, strict=False)


def _pick(df: pl.DataFrame, mapping: dict[str, str], table: str, file_name: str) -> pl.DataFrame:
    """Renamed columns; an optional column the export lacks is empty, a required one refuses."""
    required = set(table_spec(table).required_columns)
    for src, dst in mapping.items():
        if src not in df.columns and dst in required:
            raise IngestRefused(f"{file_name}: required column {src} is missing")
    extra = [EXTRA_FIELDS] if EXTRA_FIELDS in df.columns else []
    return df.select([pl.col(src).alias(dst) for src, dst in mapping.items() if src in df.columns] + [LINE, *extra])


def _col(df: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in df.columns else pl.lit(None, pl.Utf8).alias(name)


def _sen2_date(expr: pl.Expr, date_format: str) -> pl.Expr:
    return expr.str.strip_chars(" ").str.strptime(pl.Date, date_format, strict=False)


def refuse_shared_link(assessment: pl.DataFrame, file_name: str) -> None:
    """A Blade export's table IDs are unique. An `assessmenttableid` on two assessment rows could
    link a named plan to either request, and so to another child: the export is refused."""
    if "assessmenttableid" not in assessment.columns:
        return
    ids = pl.col("assessmenttableid").str.strip_chars()
    shared = assessment.filter(ids.is_not_null() & (ids != "") & ids.is_duplicated())
    if shared.height:
        first = shared.row(0, named=True)["assessmenttableid"]
        lines = shared.filter(pl.col("assessmenttableid") == first)[LINE].to_list()
        raise IngestRefused(f"{file_name}: assessmenttableid {shown_id(first)} is on {len(lines)} rows (lines "
                            f"{', '.join(map(str, lines[:5]))}): a named plan linked through it could be another "
                            "child's; a Blade export's table IDs are unique, so export it again")


def shown_id(value: str) -> str:
    return " ".join(value.split())[:40]


def _plan_of_request(assessment: pl.DataFrame | None, namedplan: pl.DataFrame | None) -> pl.DataFrame:
    """request id -> named plan id (the plan of the request's assessment)."""
    if assessment is None or namedplan is None or "assessmenttableid" not in namedplan.columns:
        return pl.DataFrame(schema={"requeststableid": pl.Utf8, "plan_id": pl.Utf8})
    links = assessment.select(_col(assessment, "assessmenttableid"), _col(assessment, "requeststableid"))
    return (
        namedplan.select(pl.col("namedplantableid").alias("plan_id"), "assessmenttableid")
        .join(links.unique("assessmenttableid", keep="first"), on="assessmenttableid", how="inner")
        .select("requeststableid", "plan_id")
        .unique("requeststableid", keep="last")
    )


def _plans(assessment, requests, namedplan) -> pl.DataFrame:
    links = pl.DataFrame(schema={"assessmenttableid": pl.Utf8, "request_id": pl.Utf8, "person_id": pl.Utf8})
    if assessment is not None and requests is not None:
        people_of = requests.select(_col(requests, "requeststableid"), _col(requests, "persontableid"))
        links = (
            assessment.select(_col(assessment, "assessmenttableid"), _col(assessment, "requeststableid"))
            .unique("assessmenttableid", keep="first")
            .join(people_of.unique("requeststableid", keep="first"), on="requeststableid", how="left")
            .select("assessmenttableid", pl.col("requeststableid").alias("request_id"),
                    pl.col("persontableid").alias("person_id"))
        )
    plans = namedplan.select(
        _col(namedplan, "namedplantableid").alias("plan_id"),
        _col(namedplan, "assessmenttableid"),
        _col(namedplan, "startdate").alias("start_date"),
        _col(namedplan, "ceasedate").alias("cease_date"),
        _col(namedplan, "ceasereason").alias("cease_reason"),
        LINE,
    )
    return plans.join(links, on="assessmenttableid", how="left", maintain_order="left").drop("assessmenttableid")


def _reviews(active: pl.DataFrame, plan_of: pl.DataFrame, date_format: str) -> pl.DataFrame:
    """One review per active-plans row; two when the latest meeting is later than the latest
    decision (one decided, one awaiting its decision), neither of them a placeholder date."""
    rows = active.select(
        _col(active, "requeststableid"),
        _col(active, "reviewmeeting").alias("meeting_date"),
        _col(active, "lastreview").alias("decision_date"),
        _col(active, "reviewoutcome").alias("outcome"),
        _col(active, "reviewdraft").alias("amendment_notice_date"),
        LINE,
    ).join(plan_of, on="requeststableid", how="left", maintain_order="left")
    content = ["meeting_date", "decision_date", "outcome", "amendment_notice_date"]
    rows = rows.filter(pl.any_horizontal([pl.col(c).str.strip_chars(" ").str.len_chars() > 0 for c in content]))
    # A placeholder date (ingest/placeholders.py) is not a date the LA recorded: it never splits a row.
    # Blanked later with its own finding, a placeholder decision is a decision on an unknown date (its
    # clock withheld), not "no decision yet" beside a meeting awaiting one.
    meeting, decision = (_sen2_date(pl.col(c), date_format) for c in ("meeting_date", "decision_date"))
    later = (meeting > decision) & ~meeting.is_in(PLACEHOLDER_DATES) & ~decision.is_in(PLACEHOLDER_DATES)
    split = rows.filter(later.fill_null(False))
    decided = split.with_columns(pl.lit(None, pl.Utf8).alias("meeting_date"))
    awaiting = split.with_columns(
        [pl.lit(None, pl.Utf8).alias(c) for c in ("decision_date", "outcome", "amendment_notice_date")]
    )
    whole = rows.filter(~later.fill_null(False))
    return pl.concat([whole, decided, awaiting]).sort(LINE, maintain_order=True).drop("requeststableid")


def _transfer_kind(due: pl.Expr, date_format: str) -> pl.Expr:
    # SEN2 carries no kind and no transfer date: infer the kind from the due month (reg 18: school
    # transfers are due by 15 February, post-16 by 31 March); anything else is post16_other.
    month = _sen2_date(due, date_format).dt.month()
    return (
        pl.when(month == 2).then(pl.lit("school"))
        .when(month == 3).then(pl.lit("post16"))
        .when(month.is_not_null()).then(pl.lit("post16_other"))
        .otherwise(None)
    )


def _phase_transfers(active: pl.DataFrame, plan_of: pl.DataFrame, date_format: str) -> pl.DataFrame:
    due = pl.col("phasetransferduedate")
    return (
        active.filter(due.str.strip_chars(" ").str.len_chars() > 0)
        .join(plan_of, on="requeststableid", how="left", maintain_order="left")
        .select(
            "plan_id",
            _transfer_kind(due, date_format).alias("transfer_kind"),
            due.alias("transfer_date"),
            due.alias("due_date"),
            _col(active, "phasetransferfinaldate").alias("final_date"),
            LINE,
        )
    )


def read_sen2_export(folder: Path, settings) -> SourceData:
    files = blade_files(folder)
    source = SourceData("sen2", review_history=REVIEW_HISTORY_LATEST_ONLY)
    for required in ("person", "requests"):
        if required not in files:
            raise IngestRefused(f"SEN2 export in {folder.name}: the {required} module file is missing")
    headers: dict[str, dict[str, str]] = {}
    modules = {m: _module(files, m, source, headers) for m in ("person", "requests", "assessment", "namedplan",
                                                                "activeplans")}
    map_modules(source, modules, {m: p.name for m, p in files.items()}, SEN2_DATE)
    for module, df in modules.items():
        unread = not_read(module, df, headers[module]) if df is not None else ()
        named = [t for t in TABLES_OF[module] if t in source.tables]
        if unread and named:  # named once, with the module's first table
            source.tables[named[0]].unknown_columns = unread
    add_side_tables(source, folder, settings)
    source.unrecognised = unrecognised_beside_export(folder, source)
    return source


def map_modules(source: SourceData, modules: dict[str, pl.DataFrame | None], file_names: dict[str, str],
                date_format: str) -> None:
    """The canonical tables of SEN2 module frames (Blade column names, each with `__line`)."""
    person, requests = modules["person"], modules["requests"]
    assessment, namedplan, active = modules["assessment"], modules["namedplan"], modules["activeplans"]

    def add(name, df, module, optional=None):
        # A column the module lacks is left out, not read as empty: the snapshot guard sees it is gone.
        lacking = [dst for src, dst in (optional or {}).items() if src not in modules[module].columns]
        source.tables[name] = make_raw_table(name, df.drop(lacking), file_names[module], date_formats=(date_format,))

    add("people", _pick(person, PEOPLE, "people", file_names["person"]), "person")
    add("requests", _pick(requests, REQUESTS, "requests", file_names["requests"]), "requests")
    if assessment is not None:
        add("assessments", _pick(assessment, ASSESSMENTS, "assessments", file_names["assessment"]), "assessment")
    if namedplan is not None and namedplan.height and assessment is None:
        # Each plan reaches its request (and child) only through its assessment: without the module
        # every plan, and every review, would be quarantined as unlinked, the file never named.
        raise IngestRefused(f"{file_names['namedplan']}: its plans are linked to their requests through the "
                            "assessment module, which is not in the export: export it too and load again")
    if namedplan is not None:
        for column in ("namedplantableid", "startdate"):
            if column not in namedplan.columns:
                raise IngestRefused(f"{file_names['namedplan']}: required column {column} is missing")
        if assessment is not None:
            refuse_shared_link(assessment, file_names["assessment"])
        add("plans", _plans(assessment, requests, namedplan), "namedplan", PLAN_COLUMNS)
    plan_of = _plan_of_request(assessment, namedplan)
    if active is not None:
        if "requeststableid" not in active.columns:  # its reviews would silently read as none
            raise IngestRefused(f"{file_names['activeplans']}: required column requeststableid is missing")
        add("reviews", _reviews(active, plan_of, date_format), "activeplans", REVIEW_COLUMNS)
        if "phasetransferduedate" in active.columns:
            add("phase_transfers", _phase_transfers(active, plan_of, date_format), "activeplans",
                TRANSFER_COLUMNS)


def add_side_tables(source: SourceData, folder: Path, settings) -> None:
    """Canonical CSV tables SEN2 lacks, read from beside the return, keyed by the same IDs."""
    read_csv_tables(source, folder, settings, names=EXTENSION_TABLES)
    if "reviews" in source.tables and source.tables["reviews"].source_file.lower() == "reviews.csv":
        # The LA's own review history replaces SEN2's latest-only view.
        source.review_history = REVIEW_HISTORY_FULL
