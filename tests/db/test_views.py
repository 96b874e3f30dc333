"""The analysts' SQL views (sql/views/, docs/analysts.md) on a real store, SQLite and PostgreSQL.

A real ingest (with a bad row), real check runs and real late lists; then each view is read as
an analyst's tool would, with plain SQL.
"""

import re
import uuid
from datetime import date, timedelta

import polars as pl
import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import ProgrammingError

from ehcp_monitor.checks import run_check
from ehcp_monitor.db.migrate import alembic_config, upgrade_head
from ehcp_monitor.db.views import VIEWS
from ehcp_monitor.domain.canonical import CANONICAL_TABLES
from ehcp_monitor.domain.measures import MEASURES
from ehcp_monitor.late_list import build_late_list
from ehcp_monitor.late_list.content import CSV_COLUMNS
from ehcp_monitor.paths import sql_dir
from tests.conftest import AS_OF, ROOT
from tests.ingest.extract import base_tables, ingest_csv

WEEK_LATER = AS_OF + timedelta(days=7)


def rows(engine, sql: str, **params) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def as_date(value) -> date:
    """A date as the driver gives it: a date (PostgreSQL) or ISO text (SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


@pytest.fixture
def checked(engine, settings, tmp_path):
    """A store after an ingest with one quarantined and one withheld row, and a check on AS_OF."""
    tables = base_tables()
    tables["people"][1]["date_of_birth"] = "2019-02-30"  # withheld: P2's review clocks
    tables["requests"].append({**tables["requests"][1], "request_id": "R4", "received_date": "2024-13-45"})
    lenient = settings.replace(**{"ingest.max_reject_share": 1.0})
    assert ingest_csv(engine, lenient, tmp_path / "extract", tables, AS_OF).status == "loaded"
    # PL3's reviews are held by an officer of their own; PL1 has none recorded (the request's applies).
    with engine.begin() as conn:
        conn.execute(text("UPDATE plans SET case_officer = 'Plan Officer', team = 'Reviews' WHERE plan_id = 'PL3'"))
    summary = run_check(engine, settings, as_of=AS_OF)
    return summary


def test_init_db_creates_every_view_and_running_it_again_is_fine(engine):
    assert sorted(p.stem for p in (sql_dir() / "views").glob("*.sql")) == sorted(VIEWS)
    assert set(VIEWS) <= set(inspect(engine).get_view_names())
    upgrade_head(engine)
    upgrade_head(engine)
    assert set(VIEWS) <= set(inspect(engine).get_view_names())
    for view in VIEWS[1:]:
        assert rows(engine, f"SELECT * FROM {view}") == []


def test_a_missing_or_stale_view_is_made_again(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP VIEW v_quarantine")
    upgrade_head(engine)
    assert "v_quarantine" in inspect(engine).get_view_names()
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP VIEW v_late_list")
        conn.execute(text("UPDATE sql_views_version SET sha256 = 'older files'"))
    upgrade_head(engine)
    assert set(VIEWS) <= set(inspect(engine).get_view_names())
    assert rows(engine, "SELECT sha256 FROM sql_views_version")[0]["sha256"] != "older files"


def test_measures_view_has_the_registry_words(engine):
    got = {(r["measure"], r["kind"], r["basis"], r["description"]) for r in rows(engine, "SELECT * FROM v_measures")}
    assert got == {(m.code, m.kind, m.basis, m.description) for m in MEASURES}


def test_latest_results_carry_the_officer_and_team_of_the_case(engine, checked):
    results = rows(engine, "SELECT * FROM v_latest_results")
    stored = rows(engine, "SELECT COUNT(*) AS n FROM check_results")[0]["n"]
    assert len(results) == checked.results == stored
    assert {r["run_id"] for r in results} == {checked.run_id}
    assert {as_date(r["results_date"]) for r in results} == {AS_OF}
    officers = {r["request_id"]: (r["case_officer"], r["team"])
                for r in rows(engine, "SELECT request_id, case_officer, team FROM requests")}
    for r in results:
        if r["plan_id"] == "PL3":  # the plan's own officer
            assert (r["case_officer"], r["team"]) == ("Plan Officer", "Reviews"), r
        else:  # request clocks, and PL1's clocks (no officer on the plan): the request's
            assert (r["case_officer"], r["team"]) == officers[r["request_id"]], r
    health = [r for r in results if r["measure"] == "ADVICE_6W" and r["item"] == "health"]
    assert [(r["request_id"], r["status"], r["days_late"], bool(r["very_late"]), r["case_officer"], r["team"],
             r["kind"], r["basis"], r["measure_description"]) for r in health] == [
        ("R1", "overdue", 109, True, "Officer One", "North", "statutory", "reg 8",
         "Advice requested for the assessment is received.")]
    # Every result keeps its contract columns and never a name, date of birth or UPN.
    assert not {"forename", "surname", "date_of_birth", "upn", "postcode", "name", "email"} & set(results[0])


def test_overdue_history_keeps_every_run(engine, settings, checked):
    second = run_check(engine, settings, as_of=WEEK_LATER)
    history = rows(engine, "SELECT * FROM v_overdue_history ORDER BY run_id, measure, request_id")
    assert [(r["run_id"], as_date(r["results_date"]), r["measure"], r["request_id"], r["item"], r["days_late"],
             bool(r["very_late"]), r["case_officer"], r["team"]) for r in history] == [
        (checked.run_id, AS_OF, "ADVICE_6W", "R1", "health", 109, True, "Officer One", "North"),
        (checked.run_id, AS_OF, "DECIDE_6W", "R2", None, 25, False, "Officer Two", "South"),
        (second.run_id, WEEK_LATER, "ADVICE_6W", "R1", "health", 116, True, "Officer One", "North"),
        (second.run_id, WEEK_LATER, "DECIDE_6W", "R2", None, 32, False, "Officer Two", "South"),
    ]
    # The second run replaced check_results; the results view follows it.
    latest = rows(engine, "SELECT DISTINCT run_id, results_date FROM v_latest_results")
    assert [(r["run_id"], as_date(r["results_date"])) for r in latest] == [(second.run_id, WEEK_LATER)]


def test_the_latest_late_list_with_movement(engine, settings, checked, tmp_path):
    assert rows(engine, "SELECT * FROM v_late_list") == []  # no list built yet
    first = build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path / "first")
    listed = rows(engine, "SELECT * FROM v_late_list ORDER BY measure")
    assert [(r["report_run_id"], as_date(r["list_date"]), r["run_id"], r["section"], r["measure"], r["request_id"],
             r["item"], r["days_over"], bool(r["very_late"]), r["kind"], r["case_officer"], r["team"], r["movement"])
            for r in listed] == [
        (first.report_run_id, AS_OF, checked.run_id, "other_overdue", "ADVICE_6W", "R1", "health", 109, True,
         "statutory", "Officer One", "North", None),
        (first.report_run_id, AS_OF, checked.run_id, "other_overdue", "DECIDE_6W", "R2", None, 25, False,
         "statutory", "Officer Two", "South", None),
    ]

    # A week on: R2 decided (no longer overdue), R1's health advice still outstanding, a new request overdue.
    with engine.begin() as conn:
        conn.execute(text("UPDATE requests SET request_outcome = 'N', request_outcome_date = :d "
                          "WHERE request_id = 'R2'"), {"d": WEEK_LATER - timedelta(days=1)})
        conn.execute(text("INSERT INTO requests (request_id, person_id, received_date, request_outcome, case_officer, "
                          "team) VALUES ('R5', 'P2', :d, 'A', 'Officer Two', 'South')"), {"d": date(2025, 1, 20)})
    second = run_check(engine, settings, as_of=WEEK_LATER)
    built = build_late_list(engine, settings, as_of=WEEK_LATER, out_dir=tmp_path / "second")
    listed = rows(engine, "SELECT * FROM v_late_list ORDER BY measure, request_id")
    assert [(as_date(r["list_date"]), r["run_id"], as_date(r["results_date"]), r["measure"], r["request_id"],
             r["days_over"], r["movement"]) for r in listed] == [
        (WEEK_LATER, second.run_id, WEEK_LATER, "ADVICE_6W", "R1", 116, "still late"),
        (WEEK_LATER, second.run_id, WEEK_LATER, "DECIDE_6W", "R5", 18, "new"),  # due 03/03
    ]
    # The same clocks, sections and movement as the list's own CSV.
    csv = pl.read_csv(built.csv_path, infer_schema=False).rename({label: name for name, label in CSV_COLUMNS})
    assert sorted(csv.select("section", "measure", "case_ref", "movement").rows()) == sorted(
        (r["section"], r["measure"], r["request_id"], r["movement"]) for r in listed)
    # Rebuilding the first week's list does not make it the latest.
    build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path / "again")
    assert {as_date(r["list_date"]) for r in rows(engine, "SELECT list_date FROM v_late_list")} == {WEEK_LATER}


def test_a_very_late_20_week_case_is_in_its_own_section(engine, settings, tmp_path):
    tables = base_tables()
    # R2: decided to assess, no plan yet; received 2024-06-03, due 2024-10-21: very late on AS_OF.
    tables["requests"][1].update(received_date="2024-06-03", request_outcome="Y", request_outcome_date="2024-07-01")
    assert ingest_csv(engine, settings, tmp_path / "extract", tables, AS_OF).status == "loaded"
    run_check(engine, settings, as_of=AS_OF)
    build_late_list(engine, settings, as_of=AS_OF, out_dir=tmp_path / "out")
    sections = {(r["measure"], r["request_id"]): r["section"]
                for r in rows(engine, "SELECT measure, request_id, section FROM v_late_list")}
    assert sections[("FINAL_20W", "R2")] == "very_late_20w"
    assert {s for key, s in sections.items() if key != ("FINAL_20W", "R2")} == {"other_overdue"}


def test_quarantine_shows_each_finding_with_personal_values_masked(engine, settings, checked, tmp_path):
    findings = rows(engine, "SELECT * FROM v_quarantine ORDER BY finding_id")
    bad = [(r["ingest_id"], as_date(r["ingest_date"]), r["ingest_status"], bool(r["latest_ingest"]), r["table_name"],
            r["column_name"], r["source_line"], r["record_id"], r["code"], r["action"], r["measures_withheld"],
            r["bad_value"]) for r in findings if r["code"] != "W004"]
    assert bad == [
        (1, AS_OF, "loaded", True, "people", "date_of_birth", 3, "P2", "V002", "withheld", "REVIEW_12M,REVIEW_EY",
         "***"),
        (1, AS_OF, "loaded", True, "requests", "received_date", 5, "R4", "V002", "quarantined", None, "2024-13-45"),
    ]
    # Whatever the store holds, a personal column's value is shown masked.
    with engine.begin() as conn:
        personal = [(t.name, c.name) for t in CANONICAL_TABLES.values() for c in t.columns if c.personal]
        assert ("contacts", "mobile") in personal and ("people", "upn") in personal
        for n, (table, column) in enumerate(personal):
            conn.execute(text(
                "INSERT INTO quarantine (ingest_id, table_name, source_file, source_line, record_id, code, "
                "column_name, message, action, bad_value) VALUES (1, :t, 'x.csv', :n, 'X', 'V002', :c, 'bad', "
                "'quarantined', 'Jane Doe jane@example.org')"), {"t": table, "c": column, "n": 100 + n})
    values = {r["bad_value"] for r in rows(engine, "SELECT bad_value FROM v_quarantine WHERE source_line >= 100")}
    assert values == {"***"}
    # A second ingest: the first's findings stay, no longer the latest.
    # (The fixture gave PL3 an officer the extract does not have: the snapshot guard asks for leave.)
    ingest_csv(engine, settings, tmp_path / "clean", base_tables(), AS_OF,
               accept_missing=("plans.case_officer", "plans.team"))
    latest = {(r["ingest_id"], bool(r["latest_ingest"])) for r in rows(engine, "SELECT * FROM v_quarantine")}
    assert (1, False) in latest and (1, True) not in latest


def test_the_quarantine_view_masks_exactly_the_columns_marked_personal():
    sql = (sql_dir() / "views" / "v_quarantine.sql").read_text(encoding="utf-8")
    listed = set(re.findall(r"'(\w+\.\w+)'", sql.split("THEN '***'")[0]))
    marked = {f"{t.name}.{c.name}" for t in CANONICAL_TABLES.values() for c in t.columns if c.personal}
    assert listed == marked


def _documented_role_sql() -> str:
    """The read-only role of docs/analysts.md, as the DBA would run it."""
    doc = (ROOT / "docs" / "analysts.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```sql\n(.*?)```", doc, flags=re.DOTALL)
    return block


def test_the_documented_analyst_role_reads_the_views_only_and_keeps_its_grants(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    role = f"analyst_{uuid.uuid4().hex[:10]}"
    with engine.connect() as conn:
        database, schema = conn.execute(text("SELECT current_database(), current_schema()")).one()
    sql = (_documented_role_sql().replace("ehcp_analyst", role).replace("DATABASE ehcp", f'DATABASE "{database}"')
           .replace("SCHEMA public", f'SCHEMA "{schema}"'))
    try:
        with engine.begin() as conn:
            for statement in filter(str.strip, sql.split(";")):
                conn.exec_driver_sql(statement)
            conn.execute(text("UPDATE sql_views_version SET sha256 = 'older files'"))

        def granted():
            return sorted(g["table_name"] for g in rows(
                engine, "SELECT table_name FROM information_schema.table_privileges WHERE grantee = :r "
                        "AND table_schema = current_schema() AND privilege_type = 'SELECT'", r=role))

        upgrade_head(engine)  # makes every view again
        assert granted() == sorted(VIEWS)
        # A store a release behind: init-db migrates it, the views dropped first and made again.
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0002")
        upgrade_head(engine)
        assert granted() == sorted(VIEWS)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'SET LOCAL ROLE "{role}"')
            for view in VIEWS:
                conn.exec_driver_sql(f"SELECT * FROM {view}").all()
        for table in ("people", "contacts", "check_results"):
            with engine.begin() as conn:
                conn.exec_driver_sql(f'SET LOCAL ROLE "{role}"')
                with pytest.raises(ProgrammingError, match="permission denied"):
                    conn.exec_driver_sql(f"SELECT * FROM {table}")
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'REVOKE ALL ON {", ".join(VIEWS)} FROM "{role}"')
            conn.exec_driver_sql(f'REVOKE ALL ON SCHEMA "{schema}" FROM "{role}"')
            conn.exec_driver_sql(f'REVOKE ALL ON DATABASE "{database}" FROM "{role}"')
            conn.exec_driver_sql(f'DROP ROLE "{role}"')


def test_every_view_and_column_is_documented(engine):
    doc = (ROOT / "docs" / "analysts.md").read_text(encoding="utf-8")
    for view in VIEWS:
        section = doc.split(f"### `{view}`\n", 1)[1].split("\n### ", 1)[0]
        with engine.connect() as conn:
            columns = list(conn.execute(text(f"SELECT * FROM {view} WHERE 1 = 0")).keys())
        assert columns and all(f"`{c}`" in section for c in columns), (view, columns)


def test_the_files_run_on_a_plain_database_connection(engine):
    """What an analyst or DBA would do: each file, as it is, creates its view."""
    with engine.begin() as conn:
        for view in reversed(VIEWS):
            conn.exec_driver_sql(f"DROP VIEW {view}")
        for view in VIEWS:
            conn.exec_driver_sql((sql_dir() / "views" / f"{view}.sql").read_text(encoding="utf-8"))
    assert set(VIEWS) <= set(inspect(engine).get_view_names())

