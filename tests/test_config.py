import tomllib

import pytest

from ehcp_monitor import config
from ehcp_monitor.errors import ConfigError
from tests.conftest import ROOT


def test_committed_config_is_the_rendered_default():
    assert (ROOT / "config.toml").read_text() == config.render_default_toml()
    # And it loads to exactly the defaults.
    assert config.load(ROOT / "config.toml")._values == config.defaults()._values


def test_every_setting_is_documented():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    assert config.render_settings_doc() in doc
    for setting in config.SETTINGS:
        assert f"`{setting.key}`" in doc


def test_every_setting_is_in_config_toml():
    data = tomllib.loads((ROOT / "config.toml").read_text())
    flat = config._flatten(data)
    assert set(flat) == set(config.SETTINGS_BY_KEY)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"rules": {"very_late_dayz": 1}}, "config: unknown key rules.very_late_dayz"),
        ({"nope": {"x": 1}}, "config: unknown key nope.x"),
        ({"rules": {"due_soon_days": "14"}}, "config: rules.due_soon_days must be int"),
        ({"rules": {"due_soon_days": -1}}, "config: rules.due_soon_days must be 0 or more"),
        ({"rules": {"review_completed_by": "review"}}, "config: rules.review_completed_by must be one of"),
        ({"rules": {"very_late_days_by_measure": {"FINAL_20": 30}}},
         "config: unknown key rules.very_late_days_by_measure.FINAL_20"),
        ({"ingest": {"max_reject_share": 5}}, "config: ingest.max_reject_share must be a share"),
        ({"schedule": {"nightly": {"cron": "30 1 * * 0"}}}, "config: schedule.nightly.cron must use day names"),
        ({"late_list": {"recipients": ["not-an-address"]}}, "config: late_list.recipients not an email"),
        ({"source": {"date_format": "%m/%d/%Y"}}, "config: source.date_format must be"),
    ],
)
def test_bad_config_names_the_key(data, message):
    with pytest.raises(ConfigError) as exc:
        config.parse(data)
    assert str(exc.value).startswith(message)
    assert "\n" not in str(exc.value)


def test_values_override_defaults_and_per_measure_very_late():
    s = config.parse({"rules": {"very_late_days": 30, "very_late_days_by_measure": {"REVIEW_12M": 10}}})
    assert s.rules.very_late_days == 30
    assert s.very_late_days("REVIEW_12M") == 10
    assert s.very_late_days("FINAL_20W") == 30


def test_integer_accepted_for_float_setting():
    assert config.parse({"ingest": {"max_reject_share": 0}}).ingest.max_reject_share == 0.0


def test_cli_exits_2_with_one_line_naming_the_key(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.toml"
    bad.write_text("[rules]\nvery_late_dayz = 3\n")
    proc = subprocess.run(
        [sys.executable, "-m", "ehcp_monitor", "--config", str(bad), "init-db"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "ehcp-monitor: config: unknown key rules.very_late_dayz"


def test_a_password_in_the_config_file_is_refused(monkeypatch):
    from ehcp_monitor.db.connect import database_url

    monkeypatch.delenv("EHCP_DATABASE_URL", raising=False)
    # Refused when the config is read, before any command runs (tests/test_config_startup.py).
    with pytest.raises(ConfigError) as exc:
        config.parse({"database": {"url": "postgresql://ehcp:s3cret@db.internal/ehcp"}})
    assert "s3cret" not in str(exc.value)
    assert str(exc.value).startswith("config: database.url must not contain a password")
    # The same URL from the environment is the supported way.
    monkeypatch.setenv("EHCP_DATABASE_URL", "postgresql://ehcp:s3cret@db.internal/ehcp")
    assert database_url(config.defaults()) == "postgresql+psycopg://ehcp:s3cret@db.internal/ehcp"


@pytest.mark.parametrize(
    "args, message",
    [
        (["check", "--as-of", "2025-03-14", "--out", "/proc/no-such-dir/results.csv"], "ehcp-monitor: "),
        (["report", "board-pack", "--period", "2025-06", "--as-of", "2025-07-10", "--out", "/proc/no-such-dir"],
         "ehcp-monitor: "),
    ],
)
def test_unwritable_output_is_one_line_not_a_traceback(tmp_path, args, message):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "ehcp_monitor", *args], capture_output=True, text=True,
                          cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (1, 2)
    # Log lines (JSON) may come first; the error itself is one plain line.
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("{")]
    assert len(errors) == 1 and errors[0].startswith(message) and "/proc/no-such-dir" in errors[0]


def test_unreachable_store_is_one_line_exit_2(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "EHCP_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2"}
    proc = subprocess.run([sys.executable, "-m", "ehcp_monitor", "init-db"], capture_output=True, text=True,
                          cwd=tmp_path, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "ehcp-monitor: the store cannot be reached (OperationalError); check EHCP_DATABASE_URL or database.url"
    ]


def test_target_settings_name_exactly_the_packs_rate_kpis():
    from ehcp_monitor.board_pack.kpis import SPECS

    assert set(config.TARGET_KPIS) == {code for code, spec in SPECS.items() if spec.unit == "%"}
