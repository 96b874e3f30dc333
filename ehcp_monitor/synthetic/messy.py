"""`generate_messy`: the synthetic caseload shaped like a real LA's extract
(docs/input-formats.md, Canonical extracts; Bad input).

A real extract is mostly history: plans issued years ago whose requests carry outcome `H`, some
with no received date or a placeholder the case system writes for "none" (1900-01-01,
9999-12-31, 1899-12-30), some transferred in from another LA (the request on record here is
dated after the plan started). Officers are missing, plans have no request, review outcomes are
in a supplier's own codes and codes carry stray spaces and mixed case. None of that should cost
a row or a clock. A few rows are truly broken; each is listed in the manifest with the code and
action the ingest must give it, and so is every tolerated oddity that must come back as a warning.

Frames come back as raw text (as `bad_rows` does), with the clean generator's rows first and the
broken rows appended, so a row's source line is its position + 2 in every canonical format.
"""

import json
from collections.abc import Callable
from datetime import date, timedelta
from itertools import count
from pathlib import Path

import numpy as np
import polars as pl

from ehcp_monitor.domain.canonical import TABLE_ORDER, table_spec
from ehcp_monitor.synthetic.generate import generate
from ehcp_monitor.synthetic.writers import as_text

# Canonical formats only: SEN2 cannot carry most of these faults (no case officer, no plan
# without a request, its own date and code forms).
MESSY_FORMATS = ("csv", "parquet", "xlsx")
MANIFEST_NAME = "messy-manifest.json"
# The LA's own review outcome code the messy extract uses; an ingest needs this setting for it.
REVIEW_OUTCOME_CODES = {"MAINT-NC": "maintain"}
SETTINGS = {"ingest.review_outcome_codes": REVIEW_OUTCOME_CODES}

HISTORIC_DAYS = 3 * 365  # requests received before this are history (SEN2 outcome H)
# Our own random stream, so the clean caseload underneath is exactly generate()'s for the seed.
STREAM = 0x6D657373
FIRST_LINE = 2  # header is line 1 in CSV, XLSX (sheet row) and Parquet (ingest numbering)
MESSY_ID_START = 70_000_001
MISSING_PLAN = "69999998"

# Review outcomes as suppliers write them (the ingest maps words, initials and REVIEW_OUTCOME_CODES).
SUPPLIER_OUTCOMES = {
    "maintain": ("M", "Maintained", "Maintain", "MAINT-NC"),
    "amend": ("AMEND", "A", "Amended"),
    "cease": (" c ", "C", "Ceased"),
}
# (table, column, clean value, messy spellings, share rewritten): stray spaces and mixed case.
SPELLINGS = (
    ("requests", "request_outcome", "Y", (" y", "y"), 0.04),
    ("requests", "request_outcome", "N", ("n ", "n"), 0.1),
    ("requests", "request_mediation", "0", ("n ", "N", "false"), 0.08),
    ("requests", "request_tribunal", "0", (" n", "N", "FALSE"), 0.08),
    ("requests", "request_mediation", "1", (" y", "Y"), 0.5),
    ("assessments", "assessment_outcome", "Y", (" y",), 0.03),
    ("assessments", "week20", "0", ("n ", "N"), 0.05),
    ("advice", "advice_type", "education", ("Education", "EDUCATION "), 0.1),
    ("advice", "advice_type", "social_care", ("SOCIAL_CARE", "Social_Care"), 0.1),
    ("advice", "advice_type", "health", ("Health",), 0.1),
    ("contacts", "role", "parent_carer", ("Parent_Carer",), 0.05),
    ("contacts", "opted_out", "0", ("false", "N"), 0.05),
    ("qa_audits", "rating", "good", ("Good",), 0.2),
)


def generate_messy(people: int, seed: int, as_of: date,
                   on_step: Callable[[str], None] | None = None) -> tuple[dict[str, pl.DataFrame], dict]:
    """Raw-text canonical frames and their manifest, the same for the same seed.

    The manifest's `findings` name every row the ingest must report: table, line, record ID,
    column, the code, the action (`quarantined`, `cleared` or `warning`) and the kind of fault.
    `settings` holds what the ingest needs to read the extract as an LA would configure it.
    """
    rng = np.random.default_rng([seed, STREAM])
    text = {name: as_text(df) for name, df in generate(people, seed, as_of, on_step=on_step).items()}
    mess = _Mess(text, rng, as_of)
    mess.historical()
    mess.transferred_in()
    mess.placeholders()
    mess.without_officer()
    mess.supplier_codes()
    mess.broken_rows()
    frames = {name: mess.text[name] for name in TABLE_ORDER}
    manifest = {
        "people": people, "seed": seed, "as_of": as_of.isoformat(),
        "formats": list(MESSY_FORMATS),
        "settings": SETTINGS,
        "findings": sorted(mess.findings, key=lambda f: (TABLE_ORDER.index(f["table"]), f["line"], f["code"])),
    }
    return frames, manifest


def write_manifest(manifest: dict, out_dir: Path) -> Path:
    path = Path(out_dir) / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=1, ensure_ascii=True) + "\n", encoding="utf-8")
    return path


def read_manifest(folder: Path) -> dict:
    return json.loads((Path(folder) / MANIFEST_NAME).read_text(encoding="utf-8"))


def _random(rng: np.random.Generator, n: int) -> pl.Series:
    return pl.Series(rng.random(n))


class _Mess:
    """The clean text frames, made messy step by step; `findings` collects the manifest."""

    def __init__(self, text: dict[str, pl.DataFrame], rng: np.random.Generator, as_of: date):
        self.text = text
        self.rng = rng
        self.as_of = as_of
        self.findings: list[dict] = []
        self.fresh = count(MESSY_ID_START)
        # Requests whose dates are left as generated (not yet made odd by a step).
        self.untouched = pl.Series("request_id", [], pl.Utf8)

    # --- bookkeeping ------------------------------------------------------------------------

    def lines(self, table: str, mask: pl.Expr) -> pl.DataFrame:
        """Rows of `table` matching `mask`, with their source line and record ID."""
        key = table_spec(table).key[0]
        return self.text[table].with_row_index("line", offset=FIRST_LINE).filter(mask).select(
            pl.col("line").cast(pl.Int64), pl.col(key).alias("record_id"), pl.all().exclude("line"))

    def note(self, rows: pl.DataFrame, table: str, code: str, action: str, kind: str,
             column: str | None = None, also: pl.DataFrame | None = None) -> None:
        """Add one finding per row of `rows` (line, record_id; `also`: another place it may be shown)."""
        others = also.to_dicts() if also is not None else [None] * rows.height
        for row, other in zip(rows.select("line", "record_id").to_dicts(), others, strict=True):
            finding = {"table": table, "line": row["line"], "record_id": row["record_id"], "column": column,
                       "code": code, "action": action, "kind": kind}
            if other is not None:
                finding["also"] = other
            self.findings.append(finding)

    def set_where(self, table: str, mask: pl.Expr, **values) -> None:
        self.text[table] = self.text[table].with_columns(
            **{c: pl.when(mask).then(v if isinstance(v, pl.Expr) else pl.lit(v, pl.Utf8)).otherwise(pl.col(c))
               for c, v in values.items()})

    # --- what real extracts hold --------------------------------------------------------------

    def historical(self) -> None:
        """Requests received more than three years ago are history (H); most assessments say H too.

        Their recorded dates stay, as they do in a case system. That makes most plans historical.
        """
        cutoff = (self.as_of - timedelta(days=HISTORIC_DAYS)).isoformat()
        self.set_where("requests", pl.col("received_date") < cutoff, request_outcome="H")
        historic = self.text["requests"].filter(pl.col("request_outcome") == "H")["request_id"]
        assessments = self.text["assessments"]
        to_h = pl.col("request_id").is_in(historic.implode()) & (_random(self.rng, assessments.height) < 0.75)
        self.set_where("assessments", to_h, assessment_outcome="H")
        self.untouched = historic

    def _historic_with_plan(self) -> pl.DataFrame:
        plans = self.text["plans"].select("plan_id", "request_id", "start_date", "cease_date")
        return (self.text["requests"].filter(pl.col("request_id").is_in(self.untouched.implode()))
                .select("request_id").join(plans, on="request_id"))

    def transferred_in(self) -> None:
        """About 6 % of historical plans came from another LA: the request here is dated after the
        plan started; there is no local decision, advice or draft."""
        candidates = self._historic_with_plan()
        chosen = candidates.filter(_random(self.rng, candidates.height) < 0.06)
        later = self.rng.integers(30, 400, size=chosen.height)
        latest = (self.as_of - timedelta(days=1)).isoformat()
        received = chosen.select(
            "request_id", "plan_id",
            pl.min_horizontal(pl.col("start_date").str.to_date() + pl.duration(days=pl.Series(later)),
                              pl.lit(latest).str.to_date()).dt.strftime("%Y-%m-%d").alias("moved"))
        ids = chosen["request_id"].implode()
        self.text["requests"] = self.text["requests"].join(
            received.select("request_id", "moved"), on="request_id", how="left", maintain_order="left"
        ).with_columns(
            received_date=pl.coalesce("moved", "received_date"),
            request_outcome_date=pl.when(pl.col("moved").is_null()).then("request_outcome_date"),
        ).drop("moved")
        self.set_where("assessments", pl.col("request_id").is_in(ids), assessment_outcome="H",
                       assessment_outcome_date=pl.lit(None, pl.Utf8))
        for table in ("advice", "drafts"):
            self.text[table] = self.text[table].filter(~pl.col("request_id").is_in(ids))
        rows = self.lines("requests", pl.col("request_id").is_in(ids)).sort("record_id")
        plans = self.lines("plans", pl.col("request_id").is_in(ids)).sort("request_id")
        self.note(rows, "requests", "W003", "warning", "transferred_in", "received_date",
                  also=plans.select(pl.lit("plans").alias("table"), "line", "record_id"))
        self.untouched = self.untouched.filter(~self.untouched.is_in(ids))

    def placeholders(self) -> None:
        """Historical requests with no received date or a placeholder, and placeholders in the
        other dates of historical requests and assessments."""
        requests = self.text["requests"]
        u = _random(self.rng, requests.height)
        plain = pl.col("request_id").is_in(self.untouched.implode())
        kinds = (
            ("received_date", None, 0.00, 0.04, "W001", "historical_no_received_date"),
            ("received_date", "1900-01-01", 0.04, 0.07, "W002", "placeholder_date"),
            ("received_date", "1899-12-30", 0.07, 0.075, "W002", "placeholder_date"),
            ("request_outcome_date", "9999-12-31", 0.075, 0.085, "W002", "placeholder_date"),
            ("request_outcome_date", "1900-01-01", 0.085, 0.095, "W002", "placeholder_date"),
        )
        for column, value, low, high, code, kind in kinds:
            mask = plain & pl.lit(u).is_between(low, high, closed="left")
            self.note(self.lines("requests", mask), "requests", code, "warning", kind, column)
            self.set_where("requests", mask, **{column: pl.lit(value, pl.Utf8)})
        assessments = self.text["assessments"]
        u = _random(self.rng, assessments.height)
        historic = pl.col("request_id").is_in(self.untouched.implode()) & (pl.col("assessment_outcome") == "H")
        for value, low, high in (("9999-12-31", 0.0, 0.02), ("1900-01-01", 0.02, 0.04)):
            mask = historic & pl.lit(u).is_between(low, high, closed="left")
            self.note(self.lines("assessments", mask), "assessments", "W002", "warning", "placeholder_date",
                      "assessment_outcome_date")
            self.set_where("assessments", mask, assessment_outcome_date=pl.lit(value, pl.Utf8))

    def without_officer(self) -> None:
        """About 3 % of requests with a plan have no case officer, and about 2 % of plans no request."""
        plans = self.text["plans"]
        transferred = {f["record_id"] for f in self.findings if f["kind"] == "transferred_in"}
        no_request = (_random(self.rng, plans.height) < 0.02) & ~pl.col("request_id").is_in(list(transferred))
        open_plan = pl.col("cease_date").is_null()
        self.note(self.lines("plans", no_request & open_plan), "plans", "W004", "warning", "plan_without_request")
        # A plan holds its own officer (else its request's): these plans hold none of their own.
        self.set_where("plans", no_request, request_id=pl.lit(None, pl.Utf8), case_officer=pl.lit(None, pl.Utf8))

        with_plan = self.text["plans"]["request_id"].drop_nulls().implode()
        requests = self.text["requests"]
        nobody = pl.col("request_id").is_in(with_plan) & (_random(self.rng, requests.height) < 0.03)
        affected = self.text["requests"].filter(nobody)["request_id"].implode()
        plan_rows = self.lines("plans", pl.col("request_id").is_in(affected) & open_plan).sort("request_id")
        request_rows = self.lines("requests", pl.col("request_id").is_in(plan_rows["request_id"].implode()))
        request_rows = plan_rows.select("request_id").join(
            request_rows.select(pl.col("record_id").alias("request_id"), "line"), on="request_id",
            how="left", maintain_order="left")
        self.note(plan_rows, "plans", "W004", "warning", "no_case_officer",
                  also=request_rows.select(pl.lit("requests").alias("table"), "line",
                                           pl.col("request_id").alias("record_id")))
        self.set_where("requests", nobody, case_officer=pl.lit(None, pl.Utf8))
        self.set_where("plans", pl.col("request_id").is_in(affected), case_officer=pl.lit(None, pl.Utf8))

    def supplier_codes(self) -> None:
        """Review outcomes in a supplier's codes; stray spaces and mixed case in other codes."""
        reviews = self.text["reviews"]
        n = reviews.height
        rewrite = _random(self.rng, n) < 0.6
        choice = pl.Series(self.rng.integers(0, 1 << 30, size=n))
        exprs = [pl.when(pl.col("outcome") == outcome).then(
                     pl.lit(pl.Series(spellings)).gather(choice % len(spellings)))
                 for outcome, spellings in SUPPLIER_OUTCOMES.items()]
        messy = pl.coalesce(*exprs, pl.col("outcome"))
        self.text["reviews"] = reviews.with_columns(
            outcome=pl.when(rewrite).then(messy).otherwise(pl.col("outcome")))
        for table, column, clean, spellings, share in SPELLINGS:
            frame = self.text[table]
            n = frame.height
            pick = pl.lit(pl.Series(spellings)).gather(pl.Series(self.rng.integers(0, len(spellings), size=n)))
            mask = (pl.col(column) == clean) & (_random(self.rng, n) < share)
            self.set_where(table, mask, **{column: pick})

    # --- the truly broken rows ------------------------------------------------------------------

    def broken_rows(self) -> None:
        requests = self.text["requests"]
        current = requests.filter(pl.col("request_outcome").str.strip_chars().str.to_uppercase() != "H")
        source = current.sample(n=4, seed=int(self.rng.integers(2**31)), with_replacement=current.height < 4)
        after = (self.as_of + timedelta(days=10)).isoformat()
        open_request = {"request_outcome": "A", "request_outcome_date": None}
        broken_requests = [
            ({"request_id": None}, "request_id", "V001", "no_request_id"),
            ({**open_request, "received_date": "31/12/2024"}, "received_date", "V002", "unreadable_received_date"),
            ({"request_outcome": "Q", "request_outcome_date": None}, "request_outcome", "V003", "unknown_outcome"),
            ({**open_request, "received_date": after}, "received_date", "V007", "received_after_as_of"),
        ]
        rows = []
        for i, (changes, column, code, kind) in enumerate(broken_requests):
            row = source.slice(i, 1).with_columns(request_id=pl.lit(str(next(self.fresh))))
            rows.append((row.with_columns(**{c: pl.lit(v, pl.Utf8) for c, v in changes.items()}), column, code, kind))
        self.append("requests", rows, "quarantined")

        people = self.text["people"]
        start = (self.as_of - timedelta(days=700))
        plan_id = str(next(self.fresh))
        person = people["person_id"][int(self.rng.integers(people.height))]
        twins = [
            (self._row("plans", plan_id=plan_id, person_id=person, start_date=(start + timedelta(days=d)).isoformat()),
             "plan_id", "V004", "duplicate_plan_id")
            for d in (0, 3)
        ]
        self.append("plans", twins, "quarantined")

        review = self.text["reviews"].sample(n=1, seed=int(self.rng.integers(2**31)))
        self.append("reviews", [(review.with_columns(plan_id=pl.lit(MISSING_PLAN)), "plan_id", "V005",
                                 "review_of_missing_plan")], "quarantined")

        contact = self.text["contacts"].sample(n=1, seed=int(self.rng.integers(2**31))).with_columns(
            contact_id=pl.lit(str(next(self.fresh))),
            email=pl.lit("first.parent@example.org; second.parent@example.net"))
        self.append("contacts", [(contact, "email", "V009", "two_email_addresses")], "cleared")

        # A name pasted with a tab in it: the person stays, the value is not used.
        index = int(self.rng.integers(people.height))
        row = self.lines("people", pl.int_range(pl.len()) == index)
        self.note(row, "people", "V010", "cleared", "control_character_in_name", "forename")
        self.set_where("people", pl.int_range(pl.len()) == index,
                       forename=pl.col("forename") + pl.lit("\tJo"))

    def _row(self, table: str, **values) -> pl.DataFrame:
        columns = table_spec(table).column_names
        return pl.DataFrame({c: [values.get(c)] for c in columns}, schema={c: pl.Utf8 for c in columns})

    def append(self, table: str, rows: list[tuple[pl.DataFrame, str, str, str]], action: str) -> None:
        for frame, column, code, kind in rows:
            line = self.text[table].height + FIRST_LINE
            key = table_spec(table).key[0]
            self.text[table] = pl.concat([self.text[table], frame.select(self.text[table].columns)])
            self.findings.append({"table": table, "line": line, "record_id": frame[key][0], "column": column,
                                  "code": code, "action": action, "kind": kind})
