"""Canonical frames as a SEN2 person-level XML return (docs/input-formats.md, SEN2 XML).

The records are the Blade export's modules (synthetic/sen2.py: latest review and latest phase
transfer of each active plan, invented placements and needs), nested as the XML nests them and
with ISO dates. An empty value is an absent element. The file carries no record IDs and no side
tables: advice, drafts, contacts and QA audits are what an XML source lacks (their IDs would be
the reader's derived ones). A record whose parent is missing from the frames (a bad row's
dangling reference) cannot be nested and is left out.

Fragments are built column-wise in polars and children joined into parents with a group-by, so a
national-scale file is written without a Python loop per record.
"""

from datetime import date
from pathlib import Path

import polars as pl

from ehcp_monitor.synthetic.sen2 import build_modules
from ehcp_monitor.synthetic.writers import as_text

SEN2_DATE = "%Y-%b-%d %H:%M:%S"
# (element, module column) in the order the guide lists them.
PERSON = [("Surname", "surname"), ("Forename", "forename"), ("PersonBirthDate", "personbirthdate"),
          ("Sex", "sex"), ("Ethnicity", "ethnicity"), ("PostCode", "postcode"), ("UPN", "upn"),
          ("UniqueLearnerNumber", "uniquelearnernumber"), ("UPNunknown", "upnunknown")]
REQUESTS = [("ReceivedDate", "receiveddate"), ("RequestSource", "requestsource"), ("RYA", "rya"),
            ("RequestOutcomeDate", "requestoutcomedate"), ("RequestOutcome", "requestoutcome"),
            ("RequestMediation", "requestmediation"), ("RequestTribunal", "requesttribunal"),
            ("Exported", "exported")]
ASSESSMENT = [("AssessmentOutcome", "assessmentoutcome"), ("AssessmentOutcomeDate", "assessmentoutcomedate"),
              ("AssessmentMediation", "assessmentmediation"), ("AssessmentTribunal", "assessmenttribunal"),
              ("OtherMediation", "othermediation"), ("OtherTribunal", "othertribunal"), ("Week20", "week20")]
NAMED_PLAN = [("StartDate", "startdate"), ("PlanRes", "planres"), ("PlanWPB", "planwbp"), ("PB", "pb"),
              ("OA", "oa"), ("DP", "dp"), ("CeaseDate", "ceasedate"), ("CeaseReason", "ceasereason")]
PLAN_DETAIL = [("URN", "urn"), ("UKPRN", "ukprn"), ("SENsetting", "sensetting"),
               ("SENsettingOther", "sensettingother"), ("PlacementRank", "placementrank"),
               ("SENUnitIndicator", "senunitindicator"),
               ("ResourcedProvisionIndicator", "resourcedprovisionindicator")]
ACTIVE_PLANS = [("TransferLA", "transferla"), ("RES", "res"), ("WPB", "wbp")]
ACTIVE_PLANS_AFTER = [("ReviewMeeting", "reviewmeeting"), ("ReviewOutcome", "reviewoutcome"),
                      ("ReviewDraft", "reviewdraft"), ("PhaseTransferDueDate", "phasetransferduedate"),
                      ("PhaseTransferFinalDate", "phasetransferfinaldate"), ("LastReview", "lastreview")]
PLACEMENT = [("URN", "urn"), ("UKPRN", "ukprn"), ("SENsetting", "sensetting"),
             ("SENsettingOther", "sensettingother"), ("PlacementRank", "placementrank"),
             ("EntryDate", "entrydate"), ("LeavingDate", "leavingdate"), ("AttendancePattern", "attendancepattern"),
             ("SENUnitIndicator", "senunitindicator"), ("ResourcedProvisionIndicator", "resourcedprovisionindicator"),
             ("RES", "res"), ("WPB", "wbp")]
NEED = [("SENtype", "sentype"), ("SENtypeRank", "sentyperank")]
DATE_COLUMNS = {"personbirthdate", "receiveddate", "requestoutcomedate", "assessmentoutcomedate", "startdate",
                "ceasedate", "reviewmeeting", "reviewdraft", "phasetransferduedate", "phasetransferfinaldate",
                "lastreview", "entrydate", "leavingdate"}
CHUNK = 50_000  # people written at a time


def write_sen2_xml(frames: dict[str, pl.DataFrame], out_dir: Path, as_of: date | None) -> list[Path]:
    text = {name: as_text(df) for name, df in frames.items()}
    export_date = as_of or text["requests"]["request_outcome_date"].str.to_date("%Y-%m-%d", strict=False).max()
    modules = {name: _iso_dates(frame) for name, frame in build_modules(text, export_date).items()}
    path = out_dir / f"sen2_{export_date.isoformat()}.xml"
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(_header(export_date))
        for start in range(0, modules["person"].height, CHUNK):
            fh.write("".join(_persons(_of_people(modules, start)).to_list()))
        fh.write("\n  </Persons>\n</Message>\n")
    return [path]


def _of_people(m: dict[str, pl.DataFrame], start: int) -> dict[str, pl.DataFrame]:
    """The records of CHUNK people from `start`: the text of a national file is built a part at a time."""
    def under(child: str, parent: pl.DataFrame, key: str) -> pl.DataFrame:
        return m[child].join(parent.select(key), on=key, how="semi", maintain_order="left")

    part = {"person": m["person"].slice(start, CHUNK)}
    part["requests"] = under("requests", part["person"], "persontableid")
    part["assessment"] = under("assessment", part["requests"], "requeststableid")
    part["namedplan"] = under("namedplan", part["assessment"], "assessmenttableid")
    part["plandetail"] = under("plandetail", part["namedplan"], "namedplantableid")
    part["activeplans"] = under("activeplans", part["requests"], "requeststableid")
    part["placementdetail"] = under("placementdetail", part["activeplans"], "activeplanstableid")
    part["senneed"] = under("senneed", part["activeplans"], "activeplanstableid")
    return part


def _header(export_date: date) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Message>\n  <Header>\n    <CollectionDetails>\n'
        f"      <Collection>SEN2</Collection>\n      <Year>{export_date.year}</Year>\n"
        f"      <ReferenceDate>{export_date.year}-01-16</ReferenceDate>\n    </CollectionDetails>\n"
        "    <Source>\n      <SourceLevel>L</SourceLevel>\n      <LEA>999</LEA>\n"
        "      <SoftwareCode>EHCP-MONITOR-SYNTHETIC</SoftwareCode>\n      <Release>1</Release>\n"
        f"      <SerialNo>1</SerialNo>\n      <DateTime>{export_date.isoformat()}T00:00:00</DateTime>\n"
        "    </Source>\n  </Header>\n  <Persons>"
    )


def _iso_dates(frame: pl.DataFrame) -> pl.DataFrame:
    """The Blade writer's SEN2 dates back to ISO; anything else (a bad row's text) as it is."""
    exprs = []
    for name in DATE_COLUMNS.intersection(frame.columns):
        parsed = pl.col(name).str.to_date(SEN2_DATE, strict=False)
        exprs.append(pl.when(parsed.is_not_null()).then(parsed.dt.strftime("%Y-%m-%d"))
                     .otherwise(pl.col(name)).alias(name))
    return frame.with_columns(exprs)


def _escaped(column: str) -> pl.Expr:
    # XML 1.0 cannot hold most control characters at all, not even as references: they are dropped.
    return (
        pl.col(column).str.replace_all(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "")
        .str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )


def _fields(pairs: list[tuple[str, str]]) -> pl.Expr:
    """The record's simple elements on one line; an empty value is an absent element."""
    present = [
        pl.when(pl.col(c).is_not_null() & (pl.col(c) != ""))
        .then(pl.concat_str([pl.lit(f"<{tag}>"), _escaped(c), pl.lit(f"</{tag}>")]))
        .otherwise(pl.lit(""))
        for tag, c in pairs
    ]
    return pl.concat_str(present)


def _with_children(parent: pl.DataFrame, key: str, children: pl.DataFrame, child_key: str,
                   name: str) -> pl.DataFrame:
    joined = children.group_by(child_key, maintain_order=True).agg(pl.col("xml").str.join("").alias(name))
    return parent.join(joined, left_on=key, right_on=child_key, how="left", maintain_order="left").with_columns(
        pl.col(name).fill_null(""))


def _record(tag: str, depth: int, fields: pl.Expr, *inner: str) -> pl.Expr:
    pad = "\n" + "  " * depth
    return pl.concat_str([pl.lit(f"{pad}<{tag}>{pad}  "), fields, *[pl.col(c) for c in inner],
                          pl.lit(f"{pad}</{tag}>")])


def _persons(m: dict[str, pl.DataFrame]) -> pl.Series:
    detail = m["plandetail"].with_columns(_record("PlanDetail", 6, _fields(PLAN_DETAIL)).alias("xml"))
    plans = _with_children(m["namedplan"], "namedplantableid", detail, "namedplantableid", "detail")
    plans = plans.with_columns(_record("NamedPlan", 5, _fields(NAMED_PLAN), "detail").alias("xml"))
    assessment = _with_children(m["assessment"], "assessmenttableid", plans, "assessmenttableid", "plans")
    assessment = assessment.with_columns(_record("Assessment", 4, _fields(ASSESSMENT), "plans").alias("xml"))

    placements = m["placementdetail"].with_columns(_record("PlacementDetail", 5, _fields(PLACEMENT)).alias("xml"))
    needs = m["senneed"].with_columns(_record("SENneed", 5, _fields(NEED)).alias("xml"))
    active = _with_children(m["activeplans"], "activeplanstableid", placements, "activeplanstableid", "placed")
    active = _with_children(active, "activeplanstableid", needs, "activeplanstableid", "needs")
    active = active.with_columns(
        _record("ActivePlans", 4, pl.concat_str([_fields(ACTIVE_PLANS), pl.col("placed"), pl.col("needs"),
                                                 pl.lit("\n" + "  " * 5), _fields(ACTIVE_PLANS_AFTER)]))
        .alias("xml"))

    requests = _with_children(m["requests"], "requeststableid", assessment, "requeststableid", "assessed")
    requests = _with_children(requests, "requeststableid", active, "requeststableid", "active")
    requests = requests.with_columns(_record("Requests", 3, _fields(REQUESTS), "assessed", "active").alias("xml"))
    people = _with_children(m["person"], "persontableid", requests, "persontableid", "requests")
    return people.select(_record("Person", 2, _fields(PERSON), "requests")).to_series()
