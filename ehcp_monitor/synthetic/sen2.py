"""Canonical frames as a SEN2 person-level "Blade" export (docs/input-formats.md, SEN2 Blade export).

The nine modules carry the example export's columns in its order; the canonical tables SEN2
lacks (advice, drafts, contacts, QA audits) are written beside it as canonical CSV. Reviews
become what SEN2 holds: the latest meeting and latest decision of each active plan.
"""

from datetime import date
from pathlib import Path

import polars as pl

from ehcp_monitor.domain.calendar import months_expr
from ehcp_monitor.domain.canonical import CANONICAL_TABLES
from ehcp_monitor.synthetic import names
from ehcp_monitor.synthetic.writers import as_text, write_csv

MODULE_COLUMNS = {
    "sen2": ["sen2tableid", "NativeId", "sen2orderseqcolumn", "sourceid", "collection", "year",
             "referencedate", "sourcelevel", "lea", "softwarecode", "release", "serialno", "datetime",
             "dmo", "dco", "dsco"],
    "person": ["persontableid", "NativeId", "personorderseqcolumn", "sourceid", "sen2tableid", "surname",
               "forename", "personbirthdate", "sex", "ethnicity", "postcode", "upn", "uniquelearnernumber",
               "upnunknown"],
    "requests": ["requeststableid", "NativeId", "requestsorderseqcolumn", "sourceid", "persontableid",
                 "receiveddate", "requestsource", "rya", "requestoutcomedate", "requestoutcome",
                 "requestmediation", "requesttribunal", "exported"],
    "assessment": ["assessmenttableid", "NativeId", "assessmentorderseqcolumn", "sourceid", "requeststableid",
                   "assessmentoutcome", "assessmentoutcomedate", "assessmentmediation", "assessmenttribunal",
                   "othermediation", "othertribunal", "week20"],
    "namedplan": ["namedplantableid", "NativeId", "namedplanorderseqcolumn", "sourceid", "assessmenttableid",
                  "startdate", "planres", "planwbp", "pb", "oa", "dp", "ceasedate", "ceasereason"],
    "plandetail": ["plandetailtableid", "NativeId", "plandetailorderseqcolumn", "sourceid", "namedplantableid",
                   "urn", "ukprn", "sensetting", "sensettingother", "placementrank", "senunitindicator",
                   "resourcedprovisionindicator"],
    "activeplans": ["activeplanstableid", "NativeId", "activeplansorderseqcolumn", "sourceid", "requeststableid",
                    "transferla", "res", "wbp", "reviewmeeting", "reviewoutcome", "reviewdraft",
                    "phasetransferduedate", "phasetransferfinaldate", "lastreview"],
    "placementdetail": ["placementdetailtableid", "NativeId", "placementdetailorderseqcolumn", "sourceid",
                        "activeplanstableid", "urn", "ukprn", "sensetting", "sensettingother", "placementrank",
                        "entrydate", "leavingdate", "attendancepattern", "senunitindicator",
                        "resourcedprovisionindicator", "res", "wbp"],
    "senneed": ["senneedtableid", "NativeId", "senneedorderseqcolumn", "sourceid", "activeplanstableid",
                "sentype", "sentyperank"],
}
EXTENSION_TABLES = ("advice", "drafts", "contacts", "qa_audits")
REVIEW_CODES = {"maintain": "M", "amend": "A", "cease": "C"}
# Integer table IDs for the modules that have no canonical ID of their own.
ASSESSMENT_ID_START, PLANDETAIL_ID_START = 30_000_001, 50_000_001
ACTIVE_ID_START, PLACEMENT_ID_START, NEED_ID_START = 60_000_001, 70_000_001, 85_000_001


def sen2_date(column: str) -> pl.Expr:
    """ISO text as SEN2 writes dates (`2022-Sep-28 00:00:00`); unreadable text stays as it is."""
    parsed = pl.col(column).str.to_date("%Y-%m-%d", strict=False)
    return pl.when(parsed.is_not_null()).then(parsed.dt.strftime("%Y-%b-%d 00:00:00")).otherwise(pl.col(column))


def write_sen2(frames: dict[str, pl.DataFrame], out_dir: Path, as_of: date | None) -> list[Path]:
    text = {name: as_text(df) for name, df in frames.items()}
    export_date = as_of or _latest_decision(text["requests"])
    modules = build_modules(text, export_date)
    stamp = export_date.strftime("%d-%m-%Y")
    paths = []
    for module, frame in modules.items():
        path = out_dir / f"Blade-Export_{stamp}_{module}.csv"
        paths.append(write_csv(frame.select(MODULE_COLUMNS[module]), path, line_terminator="\r\n"))
    for table in EXTENSION_TABLES:
        if table in text:
            paths.append(write_csv(text[table], out_dir / f"{table}.csv"))
    return paths


def _latest_decision(requests: pl.DataFrame) -> date:
    return requests["request_outcome_date"].str.to_date("%Y-%m-%d", strict=False).max()


def _common(frame: pl.DataFrame, id_column: str, module: str) -> pl.DataFrame:
    """The columns every Blade module starts with, in its own naming."""
    return frame.with_columns(
        pl.col(id_column).alias(f"{module}tableid"),
        pl.lit(None, pl.Utf8).alias("NativeId"),
        pl.int_range(1, pl.len() + 1).cast(pl.Utf8).alias(f"{module}orderseqcolumn"),
        pl.lit("1").alias("sourceid"),
    )


def _pick(id_column: str, options: tuple[str, ...]) -> pl.Expr:
    """A stable invented value chosen by the row's integer ID."""
    index = pl.col(id_column).cast(pl.Int64, strict=False).fill_null(0) % len(options)
    return pl.lit(pl.Series(options)).gather(index)


def _zeros(*columns: str) -> list[pl.Expr]:
    return [pl.lit("0").alias(c) for c in columns]


def _blanks(*columns: str) -> list[pl.Expr]:
    return [pl.lit(None, pl.Utf8).alias(c) for c in columns]


def build_modules(text: dict[str, pl.DataFrame], export_date: date) -> dict[str, pl.DataFrame]:
    people, requests = text["people"], text["requests"]
    assessments, plans = _table(text, "assessments"), _table(text, "plans")
    reviews, transfers = _table(text, "reviews"), _table(text, "phase_transfers")

    sen2 = pl.DataFrame({
        "sen2tableid": ["1"], "NativeId": [None], "sen2orderseqcolumn": ["1"], "sourceid": ["1"],
        "collection": ["SEN2"], "year": [str(export_date.year)],
        "referencedate": [date(export_date.year, 1, 16).strftime("%Y-%b-%d 00:00:00")],
        "sourcelevel": ["L"], "lea": ["999"], "softwarecode": ["EHCP-MONITOR-SYNTHETIC"], "release": ["1"],
        "serialno": ["1"], "datetime": [export_date.strftime("%Y-%b-%d 00:00:00")],
        "dmo": [None], "dco": [None], "dsco": [None],
    })
    person = _common(people, "person_id", "person").with_columns(
        pl.lit("1").alias("sen2tableid"),
        sen2_date("date_of_birth").alias("personbirthdate"),
        _pick("person_id", ("M", "F")).alias("sex"),
        _pick("person_id", names.SEN2_ETHNICITIES).alias("ethnicity"),
        pl.lit(None, pl.Utf8).alias("uniquelearnernumber"),
        pl.when(pl.col("upn").is_null()).then(pl.lit("UN1")).alias("upnunknown"),
    )
    request_rows = _common(requests, "request_id", "requests").with_columns(
        pl.col("person_id").alias("persontableid"),
        sen2_date("received_date").alias("receiveddate"),
        pl.col("request_source").alias("requestsource"),
        sen2_date("request_outcome_date").alias("requestoutcomedate"),
        pl.col("request_outcome").alias("requestoutcome"),
        pl.col("request_mediation").fill_null("0").alias("requestmediation"),
        pl.col("request_tribunal").fill_null("0").alias("requesttribunal"),
        *_zeros("rya", "exported"),
    )
    assessment = assessments.with_columns(
        (pl.int_range(0, pl.len()) + ASSESSMENT_ID_START).cast(pl.Utf8).alias("assessment_id")
    )
    assessment = _common(assessment, "assessment_id", "assessment").with_columns(
        pl.col("request_id").alias("requeststableid"),
        pl.col("assessment_outcome").alias("assessmentoutcome"),
        sen2_date("assessment_outcome_date").alias("assessmentoutcomedate"),
        pl.col("assessment_mediation").fill_null("0").alias("assessmentmediation"),
        pl.col("assessment_tribunal").fill_null("0").alias("assessmenttribunal"),
        pl.col("week20").fill_null("0"),
        *_zeros("othermediation", "othertribunal"),
    )
    modules = {"sen2": sen2, "person": person, "requests": request_rows, "assessment": assessment}
    named = plans.join(
        assessment.select(pl.col("requeststableid").alias("request_id"), "assessmenttableid"),
        on="request_id", how="left",
    )
    modules["namedplan"] = _common(named, "plan_id", "namedplan").with_columns(
        sen2_date("start_date").alias("startdate"),
        sen2_date("cease_date").alias("ceasedate"),
        pl.col("cease_reason").alias("ceasereason"),
        *_zeros("planres", "planwbp", "pb", "oa", "dp"),
    )
    modules["plandetail"] = _common(
        plans.with_columns((pl.int_range(0, pl.len()) + PLANDETAIL_ID_START).cast(pl.Utf8).alias("pd_id")),
        "pd_id", "plandetail",
    ).with_columns(
        pl.col("plan_id").alias("namedplantableid"),
        _urn("plan_id"),
        pl.lit("1").alias("placementrank"),
        *_blanks("ukprn", "sensetting", "sensettingother"),
        *_zeros("senunitindicator", "resourcedprovisionindicator"),
    )
    active = _active_plans(plans, reviews, transfers)
    modules["activeplans"] = active
    modules["placementdetail"] = _common(
        active.with_columns((pl.int_range(0, pl.len()) + PLACEMENT_ID_START).cast(pl.Utf8).alias("pl_id")),
        "pl_id", "placementdetail",
    ).with_columns(
        _urn("plan_id"),
        pl.lit("1").alias("placementrank"),
        sen2_date("start_date").alias("entrydate"),
        *_blanks("ukprn", "sensetting", "sensettingother", "leavingdate", "attendancepattern"),
        *_zeros("senunitindicator", "resourcedprovisionindicator", "res", "wbp"),
    )
    modules["senneed"] = _needs(active)
    return modules


def _table(text: dict[str, pl.DataFrame], name: str) -> pl.DataFrame:
    """A table as text, or no rows when the frames lack it."""
    if name in text:
        return text[name]
    return pl.DataFrame(schema={c: pl.Utf8 for c in CANONICAL_TABLES[name].column_names})


def _urn(id_column: str) -> pl.Expr:
    return (pl.col(id_column).cast(pl.Int64, strict=False).fill_null(0) % 40_000 + 100_000).cast(pl.Utf8).alias("urn")


def _active_plans(plans: pl.DataFrame, reviews: pl.DataFrame, transfers: pl.DataFrame) -> pl.DataFrame:
    """One row per plan not ceased, with its latest review and latest phase transfer."""
    live = plans.filter(pl.col("cease_date").is_null() & pl.col("request_id").is_not_null())
    live = live.with_columns((pl.int_range(0, pl.len()) + ACTIVE_ID_START).cast(pl.Utf8).alias("ap_id"))
    if reviews.height:
        dated = reviews.with_columns(
            pl.col("meeting_date").str.to_date("%Y-%m-%d", strict=False).alias("m"),
            pl.col("decision_date").str.to_date("%Y-%m-%d", strict=False).alias("d"),
        )
        meetings = dated.group_by("plan_id").agg(pl.col("meeting_date").sort_by("m").last().alias("reviewmeeting"))
        decided = dated.filter(pl.col("d").is_not_null()).sort("d").group_by("plan_id").agg(
            pl.col("decision_date").last().alias("lastreview"),
            pl.col("outcome").last().alias("outcome"),
            pl.col("amendment_notice_date").last().alias("reviewdraft"),
        )
        live = live.join(meetings, on="plan_id", how="left").join(decided, on="plan_id", how="left")
    else:
        live = live.with_columns(_blanks("reviewmeeting", "lastreview", "outcome", "reviewdraft"))
    if transfers.height:
        latest = transfers.with_columns(
            pl.col("transfer_date").str.to_date("%Y-%m-%d", strict=False).alias("t")
        ).sort("t").group_by("plan_id").agg(
            pl.all().last()
        ).select(
            "plan_id", pl.coalesce(pl.col("due_date").str.to_date("%Y-%m-%d", strict=False), _rule_due())
            .dt.strftime("%Y-%m-%d").alias("ptdue"), pl.col("final_date").alias("ptfinal"),
        )
        live = live.join(latest, on="plan_id", how="left")
    else:
        live = live.with_columns(_blanks("ptdue", "ptfinal"))
    return _common(live, "ap_id", "activeplans").with_columns(
        pl.col("request_id").alias("requeststableid"),
        sen2_date("reviewmeeting"),
        pl.col("outcome").replace(REVIEW_CODES).alias("reviewoutcome"),
        sen2_date("reviewdraft"),
        sen2_date("ptdue").alias("phasetransferduedate"),
        sen2_date("ptfinal").alias("phasetransferfinaldate"),
        sen2_date("lastreview"),
        *_blanks("transferla"),
        *_zeros("res", "wbp"),
    )


def _rule_due() -> pl.Expr:
    """The reg 18 due date: 15 February (school), 31 March (post-16), else 5 months before."""
    t = pl.col("t")
    return (
        pl.when(pl.col("transfer_kind") == "school").then(pl.date(t.dt.year(), 2, 15))
        .when(pl.col("transfer_kind") == "post16").then(pl.date(t.dt.year(), 3, 31))
        .otherwise(months_expr(t, -5))
    )


def _needs(active: pl.DataFrame) -> pl.DataFrame:
    """A primary need for every active plan and a secondary one for about a third."""
    first = active.select("activeplanstableid", _pick("activeplanstableid", names.SEN2_NEEDS).alias("sentype"),
                          pl.lit("1").alias("sentyperank"))
    second = active.filter(pl.col("activeplanstableid").cast(pl.Int64) % 3 == 0).select(
        "activeplanstableid",
        _pick_shifted("activeplanstableid", names.SEN2_NEEDS).alias("sentype"),
        pl.lit("2").alias("sentyperank"),
    )
    needs = pl.concat([first, second]).sort("activeplanstableid", "sentyperank")
    needs = needs.with_columns((pl.int_range(0, pl.len()) + NEED_ID_START).cast(pl.Utf8).alias("need_id"))
    return _common(needs, "need_id", "senneed")


def _pick_shifted(id_column: str, options: tuple[str, ...]) -> pl.Expr:
    index = (pl.col(id_column).cast(pl.Int64, strict=False).fill_null(0) + 1) % len(options)
    return pl.lit(pl.Series(options)).gather(index)
