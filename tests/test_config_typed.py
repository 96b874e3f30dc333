"""The settings are typed (one frozen dataclass per section) and agree with the registry, which stays
the one declaration of each setting's default and meaning."""

import dataclasses
import subprocess
import sys
import textwrap

import pytest

from ehcp_monitor import config
from ehcp_monitor.errors import ConfigError
from tests.conftest import ROOT


def test_the_typed_settings_agree_with_the_registry():
    assert config.registry_mismatches() == []
    assert [key for key, _ in config._typed_fields(config.Settings)] == [s.key for s in config.SETTINGS]


def test_defaults_are_the_registrys_by_typed_and_by_item_access():
    settings = config.defaults()
    for s in config.SETTINGS:
        node = settings
        for part in s.key.split("."):
            node = getattr(node, part)
        assert node == s.default, s.key
        assert settings[s.key] == s.default, s.key
    assert settings.rules.due_soon_days == settings["rules.due_soon_days"] == 14
    assert settings.schedule.nightly.enabled is True
    assert settings.path is None


def test_an_unknown_key_is_not_an_item():
    with pytest.raises(KeyError):
        config.defaults()["rules.due_son_days"]
    with pytest.raises(KeyError):
        config.defaults()["rules"]


def test_a_wrong_typed_value_is_still_refused_at_load(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text('[touchpoints]\nsmtp_port = "587"\n')
    with pytest.raises(ConfigError) as exc:
        config.load(bad)
    assert str(exc.value) == "config: touchpoints.smtp_port must be int, not '587'"
    bad.write_text("[schedule.nightly]\nenabled = 1\n")
    with pytest.raises(ConfigError) as exc:
        config.load(bad)
    assert str(exc.value) == "config: schedule.nightly.enabled must be bool, not 1"
    with pytest.raises(ConfigError, match="^config: rules.due_soon_days must be int"):
        config.defaults().replace(**{"rules.due_soon_days": "7"})


def test_a_loaded_file_is_typed_and_remembers_its_path(tmp_path):
    good = tmp_path / "config.toml"
    good.write_text("[rules]\ndue_soon_days = 7\n[ingest]\nmax_reject_share = 0\n")
    settings = config.load(good)
    assert settings.path == good
    assert settings.rules.due_soon_days == 7
    assert isinstance(settings.ingest.max_reject_share, float)
    changed = settings.replace(**{"rules.very_late_days": 30})
    assert (changed.rules.very_late_days, settings.rules.very_late_days) == (30, 42)
    assert changed.path == good


def test_the_settings_cannot_be_changed_in_place():
    settings = config.defaults()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.rules.due_soon_days = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.rules = settings.rules  # type: ignore[misc]


def test_the_settings_doc_lists_every_typed_setting():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    rendered = config.render_settings_doc()
    for key, _ in config._typed_fields(config.Settings):
        assert f"`{key}`" in rendered
        assert f"`{key}`" in doc


def test_mypy_catches_a_misspelt_or_mistyped_setting(tmp_path):
    snippet = tmp_path / "uses_settings.py"
    snippet.write_text(textwrap.dedent("""\
        from ehcp_monitor.config import Settings


        def due_soon(settings: Settings) -> int:
            return settings.rules.due_son_days


        def smtp_host(settings: Settings) -> int:
            return settings.touchpoints.smtp_host


        def cron(settings: Settings) -> str:
            return settings.schedule.nightly.cron
        """))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--no-incremental",
         "--cache-dir", str(tmp_path / "mypy-cache"), str(snippet)],
        capture_output=True, text=True, cwd=ROOT,
    )
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2, proc.stdout + proc.stderr
    assert ':5: error: "RulesSettings" has no attribute "due_son_days"' in errors[0]
    assert ":9: error: Incompatible return value type (got \"str\", expected \"int\")" in errors[1]
