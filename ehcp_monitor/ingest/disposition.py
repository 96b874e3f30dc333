"""What each finding costs: the row, some clocks, one value, or nothing (docs/input-formats.md, Bad input).

Bad input is set aside at the smallest grain that keeps the rest usable:
- a row is **quarantined** only when it cannot be identified (its key is missing or shared, its
  parent missing or quarantined: V001 on a key, V004, V005) or when a value every clock of it
  needs is unusable (a request's received date or outcome code, a plan's start date, any value of
  a row that carries a single clock: an advice request, a draft, a phase transfer);
- otherwise the row loads and a bad value **withholds** only the clocks that need it, for that
  case (an unreadable advice received date withholds that ADVICE_6W clock, not the request), or,
  when no clock needs it, is **cleared** (a bad postcode, a two-address email);
- on a **historical** record (outcome H: `REQUEST_H_ONLY` and `_historical_rows` say which rows)
  the dates carry no clock (docs/rules.md, Which requests get which clocks), so a
  missing, unreadable or out-of-order date is a
  **warning** (W001, W003); a plan that started before its request was transferred in (W003);
- a placeholder date (ingest.placeholders) costs what its column costs.

Each finding's effect comes from its table and column (`COLUMN_EFFECTS`) unless the rule named
one; what an effect withholds, and for which case, is `EFFECTS`.
"""

from typing import TYPE_CHECKING

import polars as pl

from ehcp_monitor.domain.findings import CLEARED, QUARANTINED, WARNING, WITHHELD
from ehcp_monitor.ingest.source import ROW

if TYPE_CHECKING:  # the validation package imports this module
    from ehcp_monitor.ingest.validation.base import Context


CYCLES = ("REVIEW_12M", "REVIEW_EY")
ASSESSMENT_CLOCKS = ("DRAFT_LOCAL", "FINAL_20W", "NOT_ISSUE_16W")
PLAN_CLOCKS = (*CYCLES, "REVIEW_DECISION_4W", "AMEND_FINAL_8W", "PHASE_TRANSFER")

# effect -> [(measures withheld, scope)]; the scope says which case, and which instance, from the
# finding's row. "review_meeting" and "review_decision" also withhold the plan's cycles when that
# date is what completes a review (rules.review_completed_by): see `_effects`.
EFFECTS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "decide": [(("DECIDE_6W",), "request")],
    "assessment": [(ASSESSMENT_CLOCKS, "request")],
    "advice": [(("ADVICE_6W",), "advice")],
    "plan_cycles": [(CYCLES, "plan")],
    # Every plan clock reads whether the plan has ceased: an unknown cease date would leave a
    # ceased plan's transfer and review decisions open and overdue.
    "plan_all": [(PLAN_CLOCKS, "plan")],
    "person_cycles": [(CYCLES, "person")],
    "review_4w": [(("REVIEW_DECISION_4W",), "review")],
    "review_meeting": [(("REVIEW_DECISION_4W",), "review")],
    "review_decision": [(("REVIEW_DECISION_4W",), "review")],
    "review_amend": [(("AMEND_FINAL_8W",), "amendment")],
}
QUARANTINE, CLEAR = "quarantine", "clear"
# A plan that started before the request on record here was transferred in from another LA (the
# request is this LA's record of the transfer): warning W003, nothing withheld.
TRANSFERRED_IN = "transferred_in"
# Marks a placeholder date's finding (ingest.placeholders): costs what its column costs, and is W002
# on a historical record.
PLACEHOLDER = "placeholder"

# (table, column) -> effect of a bad value there; a column not listed quarantines its row.
COLUMN_EFFECTS: dict[tuple[str, str], str] = {
    ("people", "date_of_birth"): "person_cycles",  # age picks REVIEW_12M or REVIEW_EY
    **{("people", c): CLEAR for c in ("forename", "surname", "upn", "postcode")},
    ("requests", "request_outcome_date"): "decide",
    **{("requests", c): CLEAR for c in ("request_source", "request_mediation", "request_tribunal",
                                         "case_officer", "team")},
    ("assessments", "assessment_outcome_date"): "assessment",
    **{("assessments", c): CLEAR for c in ("week20", "assessment_mediation", "assessment_tribunal",
                                            "exception_reason")},
    ("advice", "received_date"): "advice",
    ("plans", "cease_date"): "plan_all",
    ("plans", "cease_reason"): CLEAR,
    ("reviews", "meeting_date"): "review_meeting",
    ("reviews", "decision_date"): "review_decision",
    **{("reviews", c): "review_amend" for c in ("outcome", "amendment_notice_date", "amended_final_date")},
    **{("contacts", c): CLEAR for c in ("role", "name", "email", "mobile", "address_line_1", "address_line_2",
                                         "address_line_3", "address_line_4", "address_line_5", "postcode",
                                         "preferred_channel")},
    # contacts.opted_out is not listed: consent that cannot be read quarantines the contact, so
    # nobody is emailed against a refusal the monitor could not see.
}
# Codes that always quarantine: the row cannot be identified, or cannot be trusted at all.
ALWAYS_QUARANTINE = ("V004", "V005", "V011")
# A quarantined row of these tables would read as "not done yet" for its parent's clocks, so
# those clocks are withheld too (a missing draft row must not make a draft look late).
ON_QUARANTINE: dict[str, tuple[tuple[str, ...], str]] = {
    "assessments": (ASSESSMENT_CLOCKS, "request"),
    "drafts": (("DRAFT_LOCAL",), "request"),
    "reviews": (CYCLES, "plan"),
}
# (table, column) -> {code: (warning code, effect)} on a historical row (docs/input-formats.md, Bad input):
# the finding is a warning; an effect, where named, still withholds the clocks the date anchors.
HISTORICAL_DATES: dict[tuple[str, str], dict[str, tuple[str, str | None]]] = {
    ("requests", "received_date"): {"V001": ("W001", None), "V002": ("W001", None), "V006": ("W003", None),
                                    "V007": ("W003", None)},
    ("requests", "request_outcome_date"): {"V002": ("W001", None), "V006": ("W003", None), "V008": ("W001", None)},
    ("assessments", "assessment_outcome_date"): {"V002": ("W001", None), "V006": ("W003", None),
                                                 "V008": ("W001", None)},
    # A historical plan with no usable start date, or one after the as-of date (a year mistyped),
    # keeps its row and its reviews; its clocks, which all need the start, are withheld (the clock
    # engine evaluates only plans that have started).
    ("plans", "start_date"): {"V001": ("W001", "plan_all"), "V002": ("W001", "plan_all"),
                              "V007": ("W003", "plan_all")},
    ("drafts", "draft_plan_date"): {"V001": ("W001", None), "V002": ("W001", None), "V006": ("W003", None)},
    ("advice", "requested_date"): {"V001": ("W001", None), "V002": ("W001", None), "V006": ("W003", None)},
}
# Which rows are historical, by table: a request (and its advice) only when its own outcome is H
# (an H assessment removes only the assessment's clocks: docs/rules.md, Which requests get which
# clocks); an assessment, draft or plan when the request or the assessment is H.
REQUEST_H_ONLY = ("requests", "advice")
HISTORICAL_NOTE = " (historical record: kept as information)"
TRANSFER_NOTE = " (a plan transferred in from another LA: kept as information)"
FINDING_SCHEMA = {"table_name": pl.Utf8, ROW: pl.UInt32, "column_name": pl.Utf8, "message": pl.Utf8,
                  "code": pl.Utf8, "action": pl.Utf8, "measure": pl.Utf8}
WITHHELD_SCHEMA = {"measure": pl.Utf8, "request_id": pl.Utf8, "plan_id": pl.Utf8, "item": pl.Utf8,
                   "anchor_date": pl.Date, "code": pl.Utf8}
# withheld_clocks() also says whether a check has an instance to drop (`applies`): a review whose
# meeting date is unreadable has no 4-week clock at all, but its case is still not fully monitored.
APPLIES = "applies"
MAX_ID = 64  # the store's ID columns


def _effects(ctx: "Context") -> dict[str, list[tuple[tuple[str, ...], str]]]:
    completed_by = "review_meeting" if ctx.settings.rules.review_completed_by == "meeting" else "review_decision"
    return {name: spec + ([(CYCLES, "plan")] if name == completed_by else []) for name, spec in EFFECTS.items()}


def _historical_rows(ctx: "Context") -> pl.DataFrame:
    """(table_name, __row) of every historical row: a request (and its advice) whose own outcome
    is H; an assessment, draft or plan whose request or assessment outcome is H."""
    def outcome_h(table: str, column: str) -> pl.DataFrame:
        if table not in ctx.parsed:
            return pl.DataFrame(schema={"request_id": pl.Utf8})
        return ctx.parsed[table].filter(pl.col(column) == "H").select("request_id")

    h_request = outcome_h("requests", "request_outcome").unique()
    h_either = pl.concat([h_request, outcome_h("assessments", "assessment_outcome")]).unique()
    frames = [
        ctx.parsed[name].join(h_request if name in REQUEST_H_ONLY else h_either, on="request_id", how="semi")
        .select(pl.lit(name).alias("table_name"), pl.col(ROW))
        for name in ("requests", "assessments", "plans", "drafts", "advice") if name in ctx.parsed
    ]
    return pl.concat([pl.DataFrame(schema={"table_name": pl.Utf8, ROW: pl.UInt32}), *frames])


def _lookup(mapping: dict[tuple[str, str], str], name: str) -> pl.DataFrame:
    return pl.DataFrame(
        [(t, c, v) for (t, c), v in mapping.items()],
        schema={"table_name": pl.Utf8, "column_name": pl.Utf8, name: pl.Utf8}, orient="row",
    )


def decide(found: pl.DataFrame, ctx: "Context") -> pl.DataFrame:
    """Each issue with its `action`, its final `code` (W on historical rows) and the `measure`s it
    withholds (comma-joined); W-coded rule findings are warnings as they are."""
    if found.is_empty():
        return pl.DataFrame(schema={**FINDING_SCHEMA, "effect": pl.Utf8})
    if "effect" not in found.columns:
        found = found.with_columns(pl.lit(None, pl.Utf8).alias("effect"))
    effects = _effects(ctx)
    historical_codes = pl.DataFrame(
        [(t, c, v, w, e) for (t, c), codes in HISTORICAL_DATES.items() for v, (w, e) in codes.items()],
        schema={"table_name": pl.Utf8, "column_name": pl.Utf8, "code": pl.Utf8, "warning_code": pl.Utf8,
                "historical_effect": pl.Utf8},
        orient="row",
    )
    historical = _historical_rows(ctx).with_columns(pl.lit(True).alias("historical"))
    measures = pl.DataFrame(
        [(name, ",".join(m for ms, _ in spec for m in ms)) for name, spec in effects.items()],
        schema={"effect_name": pl.Utf8, "measures": pl.Utf8}, orient="row",
    )
    df = (
        found.with_columns(
            placeholder=(pl.col("effect") == PLACEHOLDER).fill_null(False),
            effect=pl.when(pl.col("effect") != PLACEHOLDER).then(pl.col("effect")),
        )
        .join(_lookup(COLUMN_EFFECTS, "column_effect"), on=["table_name", "column_name"], how="left")
        .join(historical, on=["table_name", ROW], how="left")
        .join(historical_codes, on=["table_name", "column_name", "code"], how="left")
        .with_columns(historical=pl.col("historical").fill_null(False) & pl.col("warning_code").is_not_null())
        .with_columns(
            warning_code=pl.when(pl.col("historical") & pl.col("placeholder")).then(pl.lit("W002"))
            .when(pl.col("historical")).then(pl.col("warning_code"))
            .when(pl.col("effect") == TRANSFERRED_IN).then(pl.lit("W003")),
            # No effect: a warning. A W-coded rule never costs anything; a historical date costs
            # only the clocks it anchors, where named (historical_effect).
            effect_name=pl.when(pl.col("code").is_in(ALWAYS_QUARANTINE)).then(pl.lit(QUARANTINE))
            .when(pl.col("code").str.starts_with("W")).then(None)
            .when(pl.col("historical")).then(pl.col("historical_effect"))
            .otherwise(pl.coalesce("effect", "column_effect", pl.lit(QUARANTINE))),
        )
        .join(measures, on="effect_name", how="left")
    )
    on_quarantine = pl.DataFrame({"table_name": list(ON_QUARANTINE),
                                  "q_measures": [",".join(ms) for ms, _ in ON_QUARANTINE.values()]})
    df = df.join(on_quarantine, on="table_name", how="left")
    action = (
        pl.when(pl.col("effect_name").is_null() | (pl.col("effect_name") == TRANSFERRED_IN)).then(pl.lit(WARNING))
        .when(pl.col("effect_name") == QUARANTINE).then(pl.lit(QUARANTINED))
        .when(pl.col("effect_name") == CLEAR).then(pl.lit(CLEARED))
        .otherwise(pl.lit(WITHHELD))
    )
    return df.with_columns(action=action).select(
        "table_name", ROW, "column_name",
        pl.when(pl.col("historical")).then(pl.col("message") + HISTORICAL_NOTE)
        .when(pl.col("effect_name") == TRANSFERRED_IN).then(pl.col("message") + TRANSFER_NOTE)
        .otherwise(pl.col("message")).alias("message"),
        pl.coalesce("warning_code", "code").alias("code"),
        "action",
        pl.when(pl.col("action") == WITHHELD).then(pl.col("measures"))
        .when(pl.col("action") == QUARANTINED).then(pl.col("q_measures"))
        .otherwise(None).alias("measure"),
        pl.col("effect_name").alias("effect"),
    )


def quarantined_rows(findings: pl.DataFrame, table: str) -> pl.DataFrame:
    return findings.filter((pl.col("table_name") == table) & (pl.col("action") == QUARANTINED)).select(ROW).unique()


def _scoped(ctx: "Context", table: str, rows: pl.DataFrame, scope: str) -> pl.DataFrame:
    """The withheld keys (request_id, plan_id, item, anchor_date, code) of `rows` (__row, code)."""
    p = ctx.parsed[table].join(rows, on=ROW, how="inner")
    none = pl.lit(None, pl.Utf8)
    if scope == "request":
        out = p.select("request_id", none.alias("plan_id"), none.alias("item"),
                       pl.lit(None, pl.Date).alias("anchor_date"), "code")
    elif scope == "plan":
        out = p.select(none.alias("request_id"), "plan_id", none.alias("item"),
                       pl.lit(None, pl.Date).alias("anchor_date"), "code")
    elif scope == "person":
        plans = ctx.parsed.get("plans", pl.DataFrame(schema={"person_id": pl.Utf8, "plan_id": pl.Utf8}))
        out = p.select("person_id", "code").join(plans.select("person_id", "plan_id"), on="person_id").select(
            none.alias("request_id"), "plan_id", none.alias("item"), pl.lit(None, pl.Date).alias("anchor_date"),
            "code")
    elif scope == "advice":
        out = p.select("request_id", none.alias("plan_id"), pl.col("advice_type").alias("item"),
                       pl.col("requested_date").alias("anchor_date"), "code")
    else:  # one review's own clock, anchored on its meeting (4W) or its amendment notice (8W)
        anchor = "meeting_date" if scope == "review" else "amendment_notice_date"
        out = p.select(none.alias("request_id"), "plan_id", none.alias("item"), pl.col(anchor).alias("anchor_date"),
                       "code", pl.col(anchor).is_not_null().alias(APPLIES))
    if APPLIES not in out.columns:
        out = out.with_columns(pl.lit(True).alias(APPLIES))
    return out.filter(pl.col("request_id").is_not_null() | pl.col("plan_id").is_not_null())


def withheld_clocks(findings: pl.DataFrame, ctx: "Context") -> pl.DataFrame:
    """Every clock the findings withhold: measure, request_id, plan_id, item, anchor_date, code, and
    `applies` (False: that instance does not exist, as its anchor is the unusable value). Where
    `applies`, a null item or anchor_date means every instance of the measure for that case."""
    effects = _effects(ctx)
    parts = [pl.DataFrame(schema={**WITHHELD_SCHEMA, APPLIES: pl.Boolean})]
    # A row that is quarantined anyway withholds nothing more (its key may not even fit the store).
    gone = findings.filter(pl.col("action") == QUARANTINED).select("table_name", ROW).unique()
    withheld = findings.filter(pl.col("action") == WITHHELD).join(gone, on=["table_name", ROW], how="anti")
    for effect, spec in effects.items():
        mine = withheld.filter(pl.col("effect") == effect)
        for table in mine["table_name"].unique().to_list():
            rows = mine.filter(pl.col("table_name") == table).select(ROW, "code")
            for measures, scope in spec:
                keys = _scoped(ctx, table, rows, scope)
                parts += [keys.with_columns(pl.lit(m).alias("measure")) for m in measures]
    for table, (measures, scope) in ON_QUARANTINE.items():
        rows = findings.filter((pl.col("table_name") == table) & (pl.col("action") == QUARANTINED))
        if rows.height and table in ctx.parsed:
            keys = _scoped(ctx, table, rows.select(ROW, "code").unique(ROW, keep="first"), scope)
            # Only a parent that exists has clocks a missing child could make look late.
            parent, key = ("requests", "request_id") if scope == "request" else ("plans", "plan_id")
            if parent in ctx.parsed:
                keys = keys.join(ctx.parsed[parent].select(key).unique(), on=key, how="semi")
            parts += [keys.with_columns(pl.lit(m).alias("measure")) for m in measures]
    # A key longer than an ID may be (V010) belongs to no loaded case: there is nothing to withhold.
    fits = [(pl.col(c).str.len_chars() <= n).fill_null(True) for c, n in (("request_id", MAX_ID),
                                                                            ("plan_id", MAX_ID), ("item", 30))]
    return (
        pl.concat([p.select(*WITHHELD_SCHEMA, APPLIES) for p in parts], how="vertical_relaxed")
        .filter(pl.all_horizontal(fits))
        .unique(["measure", "request_id", "plan_id", "item", "anchor_date"], keep="first", maintain_order=True)
    )


def clear_values(parsed: dict[str, pl.DataFrame], findings: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The parsed tables with every cleared value set to null."""
    cleared = findings.filter(pl.col("action") == CLEARED).select("table_name", "column_name", ROW)
    out = dict(parsed)
    for (table, column), rows in cleared.group_by(["table_name", "column_name"]):
        if table in out and column in out[table].columns:
            out[table] = out[table].with_columns(
                pl.when(pl.col(ROW).is_in(rows[ROW].implode())).then(None).otherwise(pl.col(column)).alias(column))
    return out
