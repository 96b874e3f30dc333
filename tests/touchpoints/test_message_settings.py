"""The settings of what touchpoint messages say are checked when the config is read (exit 2, one line)."""

import pytest

from ehcp_monitor import config
from ehcp_monitor.errors import ConfigError


@pytest.mark.parametrize("key, value, words", [
    ("touchpoints.child_reference", "full_name", "must be one of first_name, initials, none"),
    ("touchpoints.update_every_days", 0, "must be greater than 0"),
    ("touchpoints.sendiass_url", "javascript:alert(1)", "must be a web address"),
    ("touchpoints.local_offer_url", "www.example.gov.uk", "must be a web address"),
    ("touchpoints.sendiass_email", "a@example.org, b@example.org", "touchpoints.sendiass_email"),
])
def test_a_bad_value_is_refused_naming_the_key(tmp_path, key, value, words):
    section, name = key.split(".")
    path = tmp_path / "config.toml"
    path.write_text(f"[{section}]\n{name} = {config._toml_value(value)}\n")
    with pytest.raises(ConfigError, match=key) as err:
        config.load(path)
    assert words in str(err.value)


def test_empty_signposts_are_allowed():
    settings = config.defaults().replace(**{"touchpoints.sendiass_url": "", "touchpoints.sendiass_email": ""})
    assert settings.touchpoints.sendiass_url == "" and settings.touchpoints.child_reference == "first_name"
