"""`ehcp-monitor report late-list [--as-of] [--out] [--send]` run through the real entry point."""

import sys

import pytest

from ehcp_monitor import logs
from tests.late_list.test_send import REFUSED, TEAM
from tests.report_data.late_list_dataset import load_dataset
from tests.report_data.smtp_inbox import running_inbox


@pytest.fixture
def smtp():
    with running_inbox(refuse=REFUSED) as server:
        yield server


@pytest.fixture(autouse=True)
def _logs_outlive_capsys():
    # The CLI configures logging on the stream it finds (capsys's); later tests must not write to it.
    yield
    logs.configure(stream=sys.__stderr__)


def _config(tmp_path, db_url, port, recipients) -> str:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{db_url}"\n'
        f'[touchpoints]\ntransport = "smtp"\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_security = "none"\n'
        f'[late_list]\nout_dir = "{tmp_path / "lists"}"\nrecipients = {recipients!r}\n'.replace("'", '"'),
        encoding="utf-8",
    )
    return str(path)


def run_cli(argv) -> int:
    from ehcp_monitor.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return exit_info.value.code


def test_cli_builds_and_sends(engine, db_url, tmp_path, smtp, capsys):
    inbox, port = smtp
    load_dataset(engine)
    config = _config(tmp_path, db_url, port, TEAM[:1])
    code = run_cli(["--config", config, "report", "late-list", "--as-of", "2025-03-14", "--send"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"html: {tmp_path / 'lists' / 'late-list-2025-03-14.html'}" in out
    assert "statutory clocks overdue: 6; very late: 4; very late 20-week cases: 2; open over 52 weeks: 1" in out
    assert "since the last list: 4 new, 1 resolved, 3 still late" in out
    assert "sent to 1 of 1 recipients" in out
    assert len(inbox.messages) == 1


def test_cli_exits_1_when_a_send_fails(engine, db_url, tmp_path, smtp, capsys):
    _, port = smtp
    load_dataset(engine)
    config = _config(tmp_path, db_url, port, [REFUSED])
    assert run_cli(["--config", config, "report", "late-list", "--as-of", "2025-03-14", "--send"]) == 1
    captured = capsys.readouterr()
    assert "1 of 1 sends failed" in captured.err
    assert "Traceback" not in captured.err


def test_cli_without_results_fails_plainly(engine, db_url, tmp_path, capsys):
    config = _config(tmp_path, db_url, 25, [])
    out_dir = tmp_path / "elsewhere"
    assert run_cli(["--config", config, "report", "late-list", "--as-of", "2025-03-14", "--out", str(out_dir)]) == 1
    assert "no stored check results" in capsys.readouterr().err
    assert not out_dir.exists()


def test_cli_warns_when_the_list_is_dated_after_the_last_check(engine, db_url, tmp_path, capsys):
    load_dataset(engine)
    config = _config(tmp_path, db_url, 25, [])
    assert run_cli(["--config", config, "report", "late-list", "--as-of", "2025-03-14"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert run_cli(["--config", config, "report", "late-list", "--as-of", "2025-03-21"]) == 0
    captured = capsys.readouterr()
    assert ("warning: the list is dated 21/03/2025 but the last check ran as of 14/03/2025: its figures are as "
            "on that date; run `ehcp-monitor check` first for current ones") in captured.err
    assert "late-list-2025-03-21.html" in captured.out
