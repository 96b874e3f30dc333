"""A small, realistic canonical extract for ingest tests, written by the real writers.

`base_tables()` gives fresh rows per table (all valid on tests.conftest.AS_OF); tests append or
change rows, then write the extract as CSV, Parquet or XLSX and run the real ingest on it.
"""

import csv
from datetime import date
from pathlib import Path

import polars as pl

from ehcp_monitor.domain.canonical import DATE, table_spec


def base_tables() -> dict[str, list[dict]]:
    return {
        "people": [
            {"person_id": "P1", "date_of_birth": "2015-04-01", "forename": "Ada", "surname": "Morgan",
             "upn": "A123456789012", "postcode": "SY1 1AA"},
            {"person_id": "P2", "date_of_birth": "2019-11-20", "forename": "Ben", "surname": "Ng",
             "upn": "", "postcode": "SY2 2BB"},
            {"person_id": "P3", "date_of_birth": "2010-02-03", "forename": "Cai", "surname": "Owen",
             "upn": "B123456789012", "postcode": "SY3 3CC"},
        ],
        "requests": [
            {"request_id": "R1", "person_id": "P1", "received_date": "2024-09-02", "request_outcome": "Y",
             "request_outcome_date": "2024-10-10", "request_source": "parent", "request_mediation": "0",
             "request_tribunal": "0", "case_officer": "Officer One", "team": "North"},
            {"request_id": "R2", "person_id": "P2", "received_date": "2025-01-06", "request_outcome": "a",
             "request_outcome_date": "", "request_source": "school", "request_mediation": "false",
             "request_tribunal": "N", "case_officer": "Officer Two", "team": "South"},
            {"request_id": "R3", "person_id": "P3", "received_date": "2023-03-01", "request_outcome": "Y",
             "request_outcome_date": "2023-04-05", "request_source": "", "request_mediation": "",
             "request_tribunal": "", "case_officer": "Officer Three", "team": "North"},
        ],
        "assessments": [
            {"request_id": "R1", "assessment_outcome": "Y", "assessment_outcome_date": "2025-01-20",
             "week20": "0", "assessment_mediation": "0", "assessment_tribunal": "0", "exception_reason": ""},
            {"request_id": "R3", "assessment_outcome": "Y", "assessment_outcome_date": "2023-07-01",
             "week20": "1", "assessment_mediation": "0", "assessment_tribunal": "0",
             "exception_reason": "school holidays"},
        ],
        "drafts": [{"request_id": "R1", "draft_plan_date": "2025-01-10"}],
        "advice": [
            {"request_id": "R1", "advice_type": "Education", "requested_date": "2024-10-14",
             "received_date": "2024-11-01"},
            {"request_id": "R1", "advice_type": "health", "requested_date": "2024-10-14", "received_date": ""},
        ],
        "plans": [
            {"plan_id": "PL1", "person_id": "P1", "request_id": "R1", "start_date": "2025-02-10",
             "cease_date": "", "cease_reason": ""},
            {"plan_id": "PL3", "person_id": "P3", "request_id": "R3", "start_date": "2023-07-20",
             "cease_date": "", "cease_reason": ""},
        ],
        "reviews": [
            {"plan_id": "PL3", "meeting_date": "2024-06-03", "decision_date": "2024-06-21", "outcome": "amend",
             "amendment_notice_date": "2024-06-21", "amended_final_date": "2024-08-09"},
        ],
        "phase_transfers": [
            {"plan_id": "PL3", "transfer_kind": "school", "transfer_date": "2025-09-01",
             "due_date": "2025-02-15", "final_date": "2025-02-10"},
        ],
        "contacts": [
            {"contact_id": "C1", "person_id": "P1", "role": "parent_carer", "name": "Pat Morgan",
             "email": "pat.morgan@example.org", "opted_out": "0"},
            {"contact_id": "C3", "person_id": "P3", "role": "young_person", "name": "Cai Owen",
             "email": "cai@example.org", "opted_out": "1"},
        ],
        "qa_audits": [
            {"plan_id": "PL1", "audit_date": "2025-02-20", "plan_kind": "draft", "rating": "good"},
        ],
    }


def with_more_people(tables: dict[str, list[dict]], n: int = 12) -> dict[str, list[dict]]:
    """`tables` with `n` more children, each with one request still awaiting its decision, so a
    date form shows in a column of more than a few values. Days run 13 to 24: above 12, so day and
    month can be told apart."""
    for i in range(n):
        tables["people"].append({"person_id": f"PX{i}", "date_of_birth": f"2016-05-{13 + i:02d}", "forename": "",
                                 "surname": "", "upn": "", "postcode": ""})
        tables["requests"].append({**tables["requests"][1], "request_id": f"RX{i}", "person_id": f"PX{i}",
                                   "received_date": f"2024-11-{13 + i:02d}"})
    return tables


def write_csv(folder: Path, tables: dict[str, list[dict]], *, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        columns = list(rows[0]) if rows else table_spec(name).column_names
        with open(folder / f"{name}.csv", "w", newline="", encoding=encoding) as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return folder


def typed_frame(name: str, rows: list[dict]) -> pl.DataFrame:
    """Rows as a frame with real date columns (what Parquet and XLSX carry)."""
    spec = table_spec(name)
    df = pl.DataFrame(rows, schema={c: pl.Utf8 for c in rows[0]}) if rows else spec.empty_frame()
    dates = [c.name for c in spec.columns if c.kind == DATE and c.name in df.columns]
    return df.with_columns(
        [pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).str.to_date("%Y-%m-%d").alias(c) for c in dates]
    )


def write_parquet(folder: Path, tables: dict[str, list[dict]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        typed_frame(name, rows).write_parquet(folder / f"{name}.parquet")
    return folder


def write_xlsx(path: Path, tables: dict[str, list[dict]]) -> Path:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(path)
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for name, rows in tables.items():
        sheet = workbook.add_worksheet(name)
        frame = typed_frame(name, rows)
        for col, column in enumerate(frame.columns):
            sheet.write_string(0, col, column)
            for row, value in enumerate(frame[column].to_list(), start=1):
                if isinstance(value, date):
                    sheet.write_datetime(row, col, value, date_format)
                elif value not in (None, ""):
                    sheet.write_string(row, col, value)
    workbook.close()
    return path


def ingest_csv(engine, settings, folder: Path, tables, as_of, **options):
    """Write `tables` as a CSV extract and ingest it for real (`options`: run_ingest's overrides);
    returns the IngestResult."""
    from ehcp_monitor.ingest import run_ingest

    return run_ingest(engine, settings, str(write_csv(folder, tables)), as_of=as_of, **options)


def quarantine_of(engine, code: str | None = None) -> list[dict]:
    from ehcp_monitor.data_quality.findings import quarantined_rows

    rows = quarantined_rows(engine).to_dicts()
    return [r for r in rows if code is None or r["code"] == code]


def where(row: dict) -> tuple:
    """(code, table, file, line, record id, column) of a quarantine row."""
    return (row["code"], row["table_name"], row["source_file"], row["source_line"], row["record_id"],
            row["column_name"])
