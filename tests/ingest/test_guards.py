"""Snapshot guards (docs/input-formats.md, Snapshot guards) and file-name matching
(docs/input-formats.md, File and sheet names): real extracts, the real readers and ingest, the real
command, SQLite and PostgreSQL."""

import io
import json
import os
import shutil
import subprocess
import sys

import openpyxl
import pytest
from sqlalchemy import select

from ehcp_monitor import logs
from ehcp_monitor.db.models import IngestRun, SnapshotInfo
from ehcp_monitor.db.snapshot import read_snapshot
from ehcp_monitor.errors import ConfigError, IngestRefused
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.ingest.guards import ingest_notes, rows_in_force
from tests.conftest import SEN2_EXAMPLE
from tests.ingest.extract import base_tables, write_csv, write_parquet, write_xlsx

AS_OF = "2025-03-14"


def _run(args, db_url, cwd):
    env = {**os.environ, "EHCP_DATABASE_URL": db_url}
    env.pop("EHCP_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "ehcp_monitor", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def _error_lines(done) -> list[str]:
    assert "Traceback" not in done.stderr
    return [line for line in done.stderr.splitlines() if line.startswith("ehcp-monitor:")]


def _runs(engine) -> list[IngestRun]:
    with engine.connect() as conn:
        return list(conn.execute(select(IngestRun).order_by(IngestRun.id)).all())


def _snapshot_ingest(engine) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(SnapshotInfo.ingest_id)).scalar_one_or_none()


def _cases(n_people: int, n_requests: int | None = None) -> dict[str, list[dict]]:
    """`n_people` people and `n_requests` (default as many) requests, every row valid."""
    person = base_tables()["people"][1]
    request = base_tables()["requests"][1]
    people = [{**person, "person_id": f"P{i}"} for i in range(n_people)]
    requests = [{**request, "request_id": f"R{i}", "person_id": f"P{i % n_people}"}
                for i in range(n_people if n_requests is None else n_requests)]
    return {"people": people, "requests": requests}


# --- a table that is absent ------------------------------------------------------------------


def test_a_renamed_file_is_refused_by_name_and_loads_when_accepted(engine, db_url, tmp_path):
    assert _run(["ingest", str(write_csv(tmp_path / "monday", base_tables())), "--as-of", AS_OF],
                db_url, tmp_path).returncode == 0
    before = read_snapshot(engine)
    tuesday = write_csv(tmp_path / "tuesday", base_tables())
    (tuesday / "reviews.csv").rename(tuesday / "review.csv")

    done = _run(["ingest", str(tuesday), "--as-of", AS_OF], db_url, tmp_path)
    assert done.returncode == 3
    assert _error_lines(done) == [
        "ehcp-monitor: reviews: the snapshot in force has 1 row, the new source has no reviews table; "
        "not recognised: review.csv (did you mean reviews.csv?); "
        "to load it anyway: ehcp-monitor ingest SOURCE --accept-missing reviews"]
    # The previous snapshot is still the one in force, unchanged; the refusal is on record.
    assert _snapshot_ingest(engine) == 1
    after = read_snapshot(engine)
    assert {t: after[t].rows() for t in after.tables} == {t: before[t].rows() for t in before.tables}
    refused = _runs(engine)[1]
    assert (refused.status, refused.overrides) == ("refused", {})
    assert refused.message.startswith("reviews: the snapshot in force has 1 row")
    assert refused.summary["unrecognised_files"] == [{"file": "review.csv", "nearest": "reviews.csv"}]

    done = _run(["ingest", str(tuesday), "--as-of", AS_OF, "--accept-missing", "reviews"], db_url, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-3:] == [
        "not recognised: review.csv (did you mean reviews.csv?)",
        "done dates gone since the extract before: 1 case (reviews.amended_final_date 1, "
        "reviews.amendment_notice_date 1, reviews.decision_date 1); their apologies, updates and review reminders "
        "are held for a person (`ehcp-monitor touchpoints list --status held`)",
        "snapshot guard overridden: --accept-missing reviews"]
    loaded = _runs(engine)[2]
    assert (loaded.status, loaded.overrides) == ("loaded", {"accept_missing": ["reviews"], "accept_shrink": False})
    assert _snapshot_ingest(engine) == loaded.id
    snap = read_snapshot(engine)
    assert snap["reviews"].height == 0 and "reviews" not in snap.tables_present


def test_an_override_only_covers_the_table_it_names(engine, settings, as_of, tmp_path):
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", base_tables())), as_of=as_of)
    tables = {k: v for k, v in base_tables().items() if k not in ("reviews", "contacts")}
    with pytest.raises(IngestRefused, match=r"^reviews: .* --accept-missing reviews \(the guard also trips on "
                                            r"contacts\)$"):
        run_ingest(engine, settings, str(write_csv(tmp_path / "b", tables)), as_of=as_of, accept_shrink=True)
    with pytest.raises(IngestRefused, match=r"^contacts: .*no contacts table; every file of the source was "
                                            r"recognised; .* --accept-missing contacts$"):
        run_ingest(engine, settings, str(tmp_path / "b"), as_of=as_of, accept_missing=("reviews",))
    run_ingest(engine, settings, str(tmp_path / "b"), as_of=as_of, accept_missing=("reviews", "contacts"))
    assert [(r.status, r.overrides) for r in _runs(engine)] == [
        ("loaded", {}),
        ("refused", {"accept_missing": [], "accept_shrink": True}),
        ("refused", {"accept_missing": ["reviews"], "accept_shrink": False}),
        ("loaded", {"accept_missing": ["contacts", "reviews"], "accept_shrink": False}),
    ]


def test_a_table_the_snapshot_had_no_rows_for_may_be_absent(engine, settings, as_of, tmp_path):
    tables = base_tables()
    tables["qa_audits"] = []
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", tables)), as_of=as_of)
    assert "qa_audits" in read_snapshot(engine).tables_present
    del tables["qa_audits"]
    result = run_ingest(engine, settings, str(write_csv(tmp_path / "b", tables)), as_of=as_of)
    assert result.status == "loaded"


def test_a_renamed_sen2_module_is_refused_naming_the_module_file(engine, settings, as_of, tmp_path):
    run_ingest(engine, settings, str(SEN2_EXAMPLE), as_of=as_of)
    export = tmp_path / "sen2"
    shutil.copytree(SEN2_EXAMPLE, export)
    (export / "Blade-Export_14-03-2025_activeplans.csv").rename(export / "Blade-Export_14-03-2025_activeplan.csv")
    (export / "notes.txt").write_text("not data")
    with pytest.raises(IngestRefused) as refused:
        run_ingest(engine, settings, str(export), as_of=as_of)
    assert str(refused.value) == (
        "reviews: the snapshot in force has 1 row, the new source has no reviews table; not recognised: "
        "Blade-Export_14-03-2025_activeplan.csv (did you mean Blade-Export_14-03-2025_activeplans.csv?), "
        "notes.txt; to load it anyway: ehcp-monitor ingest SOURCE --accept-missing reviews")


# --- a column that is absent -------------------------------------------------------------------


def _rewrite_header(path, old, new):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0].replace(old, new) + "".join(lines[1:]))


def test_a_column_gone_from_a_sen2_module_is_refused_naming_it_and_loads_when_accepted(engine, settings, as_of,
                                                                                     tmp_path):
    run_ingest(engine, settings, str(SEN2_EXAMPLE), as_of=as_of)
    export = tmp_path / "sen2"
    shutil.copytree(SEN2_EXAMPLE, export)
    # Review decisions read as "none" would be an apology to a family whose review was decided.
    _rewrite_header(export / "Blade-Export_14-03-2025_activeplans.csv", ",lastreview", ",LastReviewDate")
    before = _snapshot_ingest(engine)
    with pytest.raises(IngestRefused) as refused:
        run_ingest(engine, settings, str(export), as_of=as_of)
    assert str(refused.value) == (
        "reviews.decision_date: the snapshot in force has 1 value, the new source's reviews has no decision_date "
        "column (renamed or left out?); columns not read in Blade-Export_14-03-2025_activeplans.csv: "
        "LastReviewDate; to load it anyway: ehcp-monitor ingest SOURCE --accept-missing reviews.decision_date")
    assert _snapshot_ingest(engine) == before
    loaded = run_ingest(engine, settings, str(export), as_of=as_of, accept_missing=("reviews.decision_date",))
    assert loaded.status == "loaded"
    assert read_snapshot(engine)["reviews"]["decision_date"].null_count() == read_snapshot(engine)["reviews"].height


def test_a_column_gone_from_a_canonical_table_is_refused_and_one_never_filled_may_go(engine, settings, as_of,
                                                                                   tmp_path):
    tables = base_tables()
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", tables)), as_of=as_of)
    no_officer = {**tables, "requests": [{k: v for k, v in r.items() if k != "case_officer"}
                                         for r in tables["requests"]]}
    with pytest.raises(IngestRefused, match=r"^requests\.case_officer: the snapshot in force has 3 values, "
                                            r"the new source's requests has no case_officer column"):
        run_ingest(engine, settings, str(write_csv(tmp_path / "b", no_officer)), as_of=as_of)
    # A column the snapshot holds no value in may come and go.
    no_source = {**tables, "requests": [{**r, "request_source": ""} for r in tables["requests"]]}
    run_ingest(engine, settings, str(write_csv(tmp_path / "c", no_source)), as_of=as_of)
    without = {**tables, "requests": [{k: v for k, v in r.items() if k != "request_source"}
                                      for r in tables["requests"]]}
    assert run_ingest(engine, settings, str(write_csv(tmp_path / "d", without)), as_of=as_of).status == "loaded"


def test_the_opt_out_column_gone_is_refused_and_cannot_be_accepted_missing(engine, settings, as_of, tmp_path):
    """Loaded empty, the column would read as nobody opted out: families who asked not to be
    emailed would be (a walk-through found the refusal offering the override)."""
    tables = base_tables()
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", tables)), as_of=as_of)
    without = {**tables, "contacts": [{k: v for k, v in c.items() if k != "opted_out"} for c in tables["contacts"]]}
    folder = write_csv(tmp_path / "b", without)
    with pytest.raises(IngestRefused) as refused:
        run_ingest(engine, settings, str(folder), as_of=as_of)
    assert str(refused.value).startswith("contacts.opted_out: the snapshot in force has 2 values")
    assert str(refused.value).endswith("families who opted out would be emailed; put the column back in the "
                                       "extract (blank where a contact has not opted out)")
    assert "--accept-missing" not in str(refused.value)
    with pytest.raises(ConfigError, match=r"^--accept-missing contacts\.opted_out: never accepted: without it"):
        run_ingest(engine, settings, str(folder), as_of=as_of, accept_missing=("contacts.opted_out",))
    # Still the first snapshot: C3 keeps their opt-out.
    contacts = read_snapshot(engine)["contacts"].sort("contact_id")
    assert contacts["opted_out"].to_list() == [False, True]


@pytest.mark.parametrize("reset_to", ["", "0"])
def test_opt_outs_blanked_or_reset_by_the_export_are_refused(engine, settings, as_of, tmp_path, reset_to):
    """20 families opted out, and the next extract says nobody did: an export fault, never a reason to
    email them. Fewer opt-outs going are the families' own choices, and load."""
    tables = base_tables()
    contact = tables["contacts"][1]  # P3's young person
    tables["contacts"] = [{**contact, "contact_id": f"C{i}", "opted_out": "1"} for i in range(20)]
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", tables)), as_of=as_of)
    reset = {**tables, "contacts": [{**c, "opted_out": reset_to} for c in tables["contacts"]]}
    folder = write_csv(tmp_path / "b", reset)
    with pytest.raises(IngestRefused, match=r"^contacts\.opted_out: the snapshot in force has 20 contacts opted "
                                            r"out, the new source's contacts would load none \(blanked or reset by "
                                            r"the export\?\); families who opted out would be emailed; export the "
                                            r"opt-outs again$"):
        run_ingest(engine, settings, str(folder), as_of=as_of, accept_shrink=True)
    assert read_snapshot(engine)["contacts"]["opted_out"].to_list() == [True] * 20
    # One family opting back in loads; so do 19 at once.
    one_back = {**tables, "contacts": [{**c, "opted_out": "0" if i == 0 else "1"}
                                       for i, c in enumerate(tables["contacts"])]}
    assert run_ingest(engine, settings, str(write_csv(tmp_path / "c", one_back)), as_of=as_of).status == "loaded"
    assert run_ingest(engine, settings, str(folder), as_of=as_of).status == "loaded"


def test_the_contacts_role_column_cannot_be_accepted_missing(engine, settings, as_of, tmp_path):
    """Loaded empty, every contact would read as a parent carer: the parent of a young person past
    school age told instead of them (a review found the override let it through)."""
    tables = base_tables()
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", tables)), as_of=as_of)
    without = {**tables, "contacts": [{k: v for k, v in c.items() if k != "role"} for c in tables["contacts"]]}
    folder = write_csv(tmp_path / "b", without)
    with pytest.raises(IngestRefused, match=r"^contacts\.role: .*every contact reads as a parent carer.*put the "
                                            r"column back in the extract$"):
        run_ingest(engine, settings, str(folder), as_of=as_of)
    with pytest.raises(ConfigError, match=r"^--accept-missing contacts\.role: never accepted: "):
        run_ingest(engine, settings, str(folder), as_of=as_of, accept_missing=("contacts.role",))


def test_the_contacts_roles_blanked_by_the_export_are_refused(engine, settings, as_of, tmp_path):
    """Every role blank reads as every contact a parent carer, as the column gone does: no override."""
    tables = base_tables()
    contact = tables["contacts"][1]
    tables["contacts"] = [{**contact, "contact_id": f"C{i}", "role": "young_person"} for i in range(20)]
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", tables)), as_of=as_of)
    blanked = {**tables, "contacts": [{**c, "role": ""} for c in tables["contacts"]]}
    folder = write_csv(tmp_path / "b", blanked)
    with pytest.raises(IngestRefused) as refused:
        run_ingest(engine, settings, str(folder), as_of=as_of)
    assert str(refused.value) == (
        "contacts.role: the snapshot in force has 20 values, every role of the new source's contacts is blank "
        "(emptied by the export?); without it every contact reads as a parent carer: the parent of a young person "
        "past compulsory school age would be told instead of them; export the roles again")
    with pytest.raises(ConfigError, match=r"^--accept-missing contacts\.role: never accepted: "):
        run_ingest(engine, settings, str(folder), as_of=as_of, accept_missing=("contacts.role",))
    assert read_snapshot(engine)["contacts"]["role"].to_list() == ["young_person"] * 20
    # One role left is not an export that emptied the column: it loads.
    one_left = {**tables, "contacts": [{**c, "role": "young_person" if i == 0 else ""}
                                       for i, c in enumerate(tables["contacts"])]}
    assert run_ingest(engine, settings, str(write_csv(tmp_path / "c", one_left)), as_of=as_of).status == "loaded"


def test_opt_outs_are_not_lost_in_two_steps_through_a_contacts_table_accepted_missing(engine, settings, as_of,
                                                                                       tmp_path):
    """Contacts left out (accepted: nobody is told), then back without the opt-out column: C3's
    opt-out must not come back as 'not opted out' (a review found it)."""
    tables = base_tables()
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", tables)), as_of=as_of)
    no_contacts = {k: v for k, v in tables.items() if k != "contacts"}
    run_ingest(engine, settings, str(write_csv(tmp_path / "b", no_contacts)), as_of=as_of,
               accept_missing=("contacts",))
    without = {**tables, "contacts": [{k: v for k, v in c.items() if k != "opted_out"} for c in tables["contacts"]]}
    with pytest.raises(IngestRefused, match=r"^contacts\.opted_out: 1 contact was opted out before the contacts "
                                            r"were left out, the new source's contacts has no opted_out column"):
        run_ingest(engine, settings, str(write_csv(tmp_path / "c", without)), as_of=as_of)
    assert run_ingest(engine, settings, str(write_csv(tmp_path / "d", tables)), as_of=as_of).status == "loaded"


def test_a_column_of_completion_dates_emptied_by_the_export_is_refused(engine, settings, as_of, tmp_path):
    import polars as pl

    from ehcp_monitor.synthetic import generate, write_extract

    write_extract(generate(people=300, seed=5, as_of=as_of), tmp_path / "a", "csv")
    run_ingest(engine, settings, str(tmp_path / "a"), as_of=as_of)
    decided = read_snapshot(engine)["reviews"]["decision_date"].drop_nulls().len()
    assert decided >= 20
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    reviews = pl.read_csv(tmp_path / "b" / "reviews.csv", infer_schema=False)
    reviews.with_columns(pl.lit("").alias("decision_date")).write_csv(tmp_path / "b" / "reviews.csv")
    with pytest.raises(IngestRefused) as refused:
        run_ingest(engine, settings, str(tmp_path / "b"), as_of=as_of)
    assert str(refused.value) == (
        f"reviews.decision_date: the snapshot in force has {decided:,} values, every decision_date of the new "
        "source's reviews is blank (emptied by the export?); to load it anyway: ehcp-monitor ingest SOURCE "
        "--accept-missing reviews.decision_date")
    loaded = run_ingest(engine, settings, str(tmp_path / "b"), as_of=as_of, accept_missing=("reviews.decision_date",))
    assert loaded.status == "loaded"


def test_a_blade_header_with_spaces_or_underscores_is_the_column_it_names(engine, settings, as_of, tmp_path):
    export = tmp_path / "sen2"
    shutil.copytree(SEN2_EXAMPLE, export)
    _rewrite_header(export / "Blade-Export_14-03-2025_activeplans.csv", ",lastreview", ",Last Review")
    _rewrite_header(export / "Blade-Export_14-03-2025_activeplans.csv", ",reviewmeeting", ",review_meeting")
    (export / "Blade-Export_14-03-2025_person.csv").write_text(
        (export / "Blade-Export_14-03-2025_person.csv").read_text().replace(",upnunknown", ",upnunknown,Notes", 1))
    loaded = run_ingest(engine, settings, str(export), as_of=as_of)
    reviews = read_snapshot(engine)["reviews"]
    assert reviews["decision_date"].drop_nulls().to_list() and reviews["meeting_date"].drop_nulls().to_list()
    # The export's bookkeeping and the SEN2 fields the clocks do not use are not news; another column is.
    assert ingest_notes(engine, loaded.ingest_id) == [
        "columns not read (not canonical): Blade-Export_14-03-2025_person.csv: Notes"]


def test_an_override_naming_no_column_of_the_table_is_bad_usage(engine, settings, as_of, tmp_path):
    folder = write_csv(tmp_path / "a", base_tables())
    with pytest.raises(ConfigError, match=r"^--accept-missing reviews\.decison_date: decison_date is not a column "
                                          r"of table reviews \(did you mean reviews\.decision_date\?\)"):
        run_ingest(engine, settings, str(folder), as_of=as_of, accept_missing=("reviews.decison_date",))


# --- a table that shrinks ---------------------------------------------------------------------


def test_an_11_row_extract_after_a_large_one_is_refused_unless_accepted(engine, db_url, tmp_path):
    assert _run(["ingest", str(write_csv(tmp_path / "large", _cases(1000))), "--as-of", AS_OF],
                db_url, tmp_path).returncode == 0
    small = write_csv(tmp_path / "small", _cases(6, 5))

    done = _run(["ingest", str(small), "--as-of", AS_OF], db_url, tmp_path)
    assert done.returncode == 3
    assert _error_lines(done) == [
        "ehcp-monitor: people: the snapshot in force has 1,000 rows, the new source would load 6 (99.4% fewer, "
        "more than ingest.max_shrink_share 20%); to load it anyway: ehcp-monitor ingest SOURCE --accept-shrink "
        "(the guard also trips on requests)"]
    assert _snapshot_ingest(engine) == 1
    assert read_snapshot(engine)["people"].height == 1000

    done = _run(["ingest", str(small), "--as-of", AS_OF, "--accept-shrink"], db_url, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "snapshot guard overridden: --accept-shrink"
    assert [(r.status, r.overrides) for r in _runs(engine)] == [
        ("loaded", {}), ("refused", {}), ("loaded", {"accept_missing": [], "accept_shrink": True})]
    assert read_snapshot(engine)["people"].height == 6


def test_the_shrink_share_is_a_boundary(engine, settings, as_of, tmp_path):
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", _cases(100))), as_of=as_of)
    # 20 % fewer is allowed; 21 % is not.
    assert run_ingest(engine, settings, str(write_csv(tmp_path / "b", _cases(100, 80))), as_of=as_of).status == "loaded"
    run_ingest(engine, settings, str(write_csv(tmp_path / "c", _cases(100))), as_of=as_of)
    with pytest.raises(IngestRefused, match=r"^requests: the snapshot in force has 100 rows, the new source would "
                                            r"load 79 \(21.0% fewer"):
        run_ingest(engine, settings, str(write_csv(tmp_path / "d", _cases(100, 79))), as_of=as_of)
    looser = settings.replace(**{"ingest.max_shrink_share": 0.25})
    assert run_ingest(engine, looser, str(tmp_path / "d"), as_of=as_of).status == "loaded"


def test_none_where_it_had_some_is_refused_whatever_the_share(engine, settings, as_of, tmp_path):
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", base_tables())), as_of=as_of)
    tables = base_tables()
    tables["contacts"] = []  # header only: the table is there, with no rows
    anything = settings.replace(**{"ingest.max_shrink_share": 1.0})
    with pytest.raises(IngestRefused, match=r"^contacts: the snapshot in force has 2 rows, the new source would "
                                            r"load none; to load it anyway: ehcp-monitor ingest SOURCE "
                                            r"--accept-shrink$"):
        run_ingest(engine, anything, str(write_csv(tmp_path / "b", tables)), as_of=as_of)


def test_the_guard_compares_the_rows_that_would_load(engine, settings, as_of, tmp_path):
    run_ingest(engine, settings, str(write_csv(tmp_path / "a", _cases(100))), as_of=as_of)
    tables = _cases(100)
    tables["requests"] = [{**r, "received_date": "not a date"} if i < 25 else r
                          for i, r in enumerate(tables["requests"])]
    lenient = settings.replace(**{"ingest.max_reject_share": 1.0})
    with pytest.raises(IngestRefused, match=r"^requests: the snapshot in force has 100 rows, the new source would "
                                            r"load 75 \(25.0% fewer"):
        run_ingest(engine, lenient, str(write_csv(tmp_path / "b", tables)), as_of=as_of)


def test_the_first_ingest_into_an_empty_store_is_not_guarded(engine, settings, as_of, tmp_path):
    with engine.connect() as conn:
        assert rows_in_force(conn) is None
    # A refused ingest leaves the store without a snapshot: the next one is still the first.
    with pytest.raises(IngestRefused):
        run_ingest(engine, settings, str(write_csv(tmp_path / "a", {"people": base_tables()["people"]})), as_of=as_of)
    result = run_ingest(engine, settings, str(write_csv(tmp_path / "b", _cases(2))), as_of=as_of)
    assert result.status == "loaded"
    with engine.connect() as conn:
        assert rows_in_force(conn) == {"people": 2, "requests": 2}


def test_an_override_naming_no_canonical_table_is_bad_usage(engine, db_url, settings, as_of, tmp_path):
    folder = write_csv(tmp_path / "a", base_tables())
    done = _run(["ingest", str(folder), "--as-of", AS_OF, "--accept-missing", "review"], db_url, tmp_path)
    assert done.returncode == 2
    assert _error_lines(done) == [
        "ehcp-monitor: --accept-missing review: not a canonical table (did you mean reviews?); the tables are "
        "people, requests, assessments, drafts, advice, plans, reviews, phase_transfers, contacts, qa_audits"]
    assert _runs(engine) == []
    with pytest.raises(ConfigError, match="^--accept-missing shoes: not a canonical table; the tables are"):
        run_ingest(engine, settings, str(folder), as_of=as_of, accept_missing=("shoes",))


# --- file names ---------------------------------------------------------------------------------


def test_file_names_are_matched_ignoring_case(engine, settings, as_of, tmp_path):
    folder = write_csv(tmp_path / "a", base_tables())
    (folder / "people.csv").rename(folder / "People.csv")
    (folder / "requests.csv").rename(folder / "REQUESTS.CSV")
    result = run_ingest(engine, settings, str(folder), as_of=as_of)
    assert (result.counts["people"]["loaded"], result.counts["requests"]["loaded"]) == (3, 3)
    assert _runs(engine)[0].summary["unrecognised_files"] == []


@pytest.mark.parametrize("second", ["People.csv", "people.parquet"])
def test_two_files_for_one_table_are_refused_naming_both(engine, settings, as_of, tmp_path, second):
    folder = write_csv(tmp_path / "a", base_tables())
    if second.endswith(".csv"):
        shutil.copy(folder / "people.csv", folder / second)
    else:
        write_parquet(tmp_path / "pq", {"people": base_tables()["people"]})
        shutil.copy(tmp_path / "pq" / "people.parquet", folder / second)
    with pytest.raises(IngestRefused) as refused:
        run_ingest(engine, settings, str(folder), as_of=as_of)
    first, other = sorted(["people.csv", second])
    assert str(refused.value) == f"a: more than one file for table people: {first} and {other}; keep one"
    assert [(r.status, r.message) for r in _runs(engine)] == [("refused", str(refused.value))]


def test_a_parquet_table_beside_csv_tables_is_refused_naming_the_formats(engine, settings, as_of, tmp_path):
    tables = base_tables()
    folder = write_csv(tmp_path / "a", {k: v for k, v in tables.items() if k != "plans"})
    write_parquet(folder, {"plans": tables["plans"]})
    with pytest.raises(IngestRefused) as refused:
        run_ingest(engine, settings, str(folder), as_of=as_of)
    assert str(refused.value) == (
        "a: the folder mixes CSV (people.csv, requests.csv, assessments.csv, drafts.csv, advice.csv, reviews.csv, "
        "phase_transfers.csv, contacts.csv, qa_audits.csv) and Parquet (plans.parquet) tables; keep one format")


def test_unrecognised_files_are_named_stored_and_logged(engine, settings, as_of, tmp_path):
    folder = write_parquet(tmp_path / "a", base_tables())
    (folder / "plans.parquet").rename(folder / "Plan.parquet")
    (folder / "reviews.parquet").rename(folder / "reviews.txt")
    (folder / "notes.md").write_text("# notes")
    (folder / ".DS_Store").write_bytes(b"\0")
    (folder / "archive").mkdir()
    stream = io.StringIO()
    logs.configure(stream=stream, json=True)
    try:
        run_ingest(engine, settings.replace(**{"ingest.max_reject_share": 1.0}), str(folder), as_of=as_of)
    finally:
        logs.configure()
    expected = [{"file": "Plan.parquet", "nearest": "plans.parquet"}, {"file": "notes.md", "nearest": None},
                {"file": "reviews.txt", "nearest": "reviews.parquet"}]
    assert _runs(engine)[0].summary["unrecognised_files"] == expected
    events = {e["event"]: e for e in map(json.loads, stream.getvalue().splitlines())}
    assert events["files not recognised"]["unrecognised_files"] == [
        "Plan.parquet (did you mean plans.parquet?)", "notes.md", "reviews.txt (did you mean reviews.parquet?)"]


def test_workbook_sheets_are_matched_ignoring_case_and_the_others_named(engine, settings, as_of, tmp_path):
    book = write_xlsx(tmp_path / "extract.xlsx", base_tables())
    wb = openpyxl.load_workbook(book)
    wb["people"].title = "tmp"  # openpyxl would make "people" -> "People" into "People1"
    wb["tmp"].title = "People"
    wb["reviews"].title = "Review"
    wb.create_sheet("Notes")
    wb.save(book)
    result = run_ingest(engine, settings, str(book), as_of=as_of)
    assert result.counts["people"]["loaded"] == 3 and "reviews" not in result.counts
    assert _runs(engine)[0].summary["unrecognised_files"] == [
        {"file": "extract.xlsx[Review]", "nearest": "reviews"}, {"file": "extract.xlsx[Notes]", "nearest": None}]

    wb.create_sheet("people ")
    wb.save(book)
    with pytest.raises(IngestRefused, match=r"^extract.xlsx: more than one sheet for table people: \[People\] and "
                                            r"\[people \]; keep one$"):
        run_ingest(engine, settings, str(book), as_of=as_of)


def test_a_first_extract_missing_a_required_table_names_the_file_it_did_not_recognise(
        engine, settings, as_of, tmp_path):
    from ehcp_monitor.ingest import run_ingest
    from tests.ingest.extract import base_tables, write_csv

    folder = write_csv(tmp_path / "x", {k: v for k, v in base_tables().items() if k in ("people", "requests")})
    (folder / "people.csv").rename(folder / "peoples.csv")
    with pytest.raises(IngestRefused, match=r"^required table people is missing from the source; not recognised: "
                                            r"peoples.csv \(did you mean people.csv\?\)$"):
        run_ingest(engine, settings, str(folder), as_of=as_of)
