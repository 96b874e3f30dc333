"""`ehcp-monitor check` and `ehcp-monitor rules` through the real command line on a real store."""

import csv
from datetime import date, datetime, timezone

import pytest
import structlog

from ehcp_monitor.cli import main
from ehcp_monitor.db.connect import make_engine
from ehcp_monitor.db.migrate import upgrade_head
from ehcp_monitor.db.snapshot import replace_snapshot
from ehcp_monitor.domain.results import RESULT_COLUMNS
from tests.checks.helpers import person, request, snapshot

D = date


@pytest.fixture(autouse=True)
def _forget_captured_log_stream():
    # the CLI configures structlog on pytest's captured stderr, which closes after the test
    yield
    structlog.reset_defaults()


def _run(capsys, *args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    return exited.value.code, capsys.readouterr().out


@pytest.fixture
def store(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("EHCP_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    engine = make_engine(db_url)
    upgrade_head(engine)
    snap = snapshot(
        people=[person("P1"), person("=P2")],
        requests=[request("R1", D(2024, 10, 1), decided=D(2024, 11, 1)),
                  request("=HYPERLINK(1)", D(2024, 12, 20), outcome="A", decided=None, person="=P2")],
        assessments=[{"request_id": "R1", "assessment_outcome": "A", "week20": True}],
        advice=[{"request_id": "R1", "advice_type": "health", "requested_date": D(2024, 11, 5)}],
    )
    snap.ingest_id = 1
    with engine.begin() as conn:
        replace_snapshot(conn, snap, loaded_at=datetime(2025, 3, 1, tzinfo=timezone.utc))
    yield engine
    engine.dispose()


def test_check_prints_counts_and_writes_the_results_csv(store, tmp_path, capsys):
    out = tmp_path / "out" / "results.csv"
    code, printed = _run(capsys, "check", "--as-of", "2025-03-14", "--out", str(out))
    assert code == 0
    assert "as of 2025-03-14: 4 clocks" in printed
    assert "  Met: 1" in printed and "  Overdue: 3" in printed
    assert "very late: 2" in printed
    raw = out.read_bytes().decode("utf-8")
    rows = list(csv.reader(raw.splitlines()))
    assert tuple(rows[0]) == RESULT_COLUMNS
    assert rows[1:] == [
        ["ADVICE_6W", "R1", "", "P1", "health", "2024-11-05", "2024-12-17", "", "overdue", "87", "false", "true", "",
         "statutory", "reg 8"],
        # the formula-like ID is written as text, never as a formula
        ["DECIDE_6W", "'=HYPERLINK(1)", "", "'=P2", "", "2024-12-20", "2025-01-31", "", "overdue", "42", "false",
         "true", "", "statutory", "reg 5(1)"],
        ["DECIDE_6W", "R1", "", "P1", "", "2024-10-01", "2024-11-12", "2024-11-01", "met", "", "false", "false", "",
         "statutory", "reg 5(1)"],
        ["FINAL_20W", "R1", "", "P1", "", "2024-10-01", "2025-02-18", "", "overdue", "24", "true", "false",
         "gathering_advice", "statutory", "reg 13(2)"],
    ]


def test_check_on_an_empty_store_says_nothing_is_loaded(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EHCP_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    code, printed = _run(capsys, "check", "--as-of", "2025-03-14")
    assert code == 0
    assert "no snapshot loaded yet" in printed and "0 clocks" in printed


def test_check_rejects_a_bad_as_of_date_without_a_traceback(store, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["check", "--as-of", "14/03/2025"])
    assert exited.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_rules_lists_every_measure_with_the_settings_in_force(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text('[rules]\ndraft_target_weeks = 12\n', encoding="utf-8")
    code, printed = _run(capsys, "rules")
    assert code == 0
    assert "FINAL_20W  (statutory; reg 13(2))" in printed
    assert "DRAFT_LOCAL  (local; none)" in printed
    assert "settings: rules.draft_target_weeks = 12" in printed
    assert "every measure: rules.due_soon_days = 14" in printed
