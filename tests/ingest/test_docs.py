"""docs/input-formats.md lists exactly the codes and titles of the validation registry."""

import re

from ehcp_monitor.ingest.validation import REGISTRY
from tests.conftest import ROOT


def test_the_quarantine_codes_table_matches_the_registry():
    text = (ROOT / "docs" / "input-formats.md").read_text(encoding="utf-8")
    documented = {m[0]: (m[1], m[2]) for m in re.findall(r"^\| (V\d{3}) \| ([^|]+?) \| ([^|]+?) \|$", text, re.M)}
    assert documented == {code: (rule.TITLE, rule.DESCRIPTION) for code, rule in REGISTRY.items()}


def test_every_rule_has_its_own_module_and_metadata():
    assert sorted(REGISTRY) == [f"V{n:03d}" for n in range(1, 11)]
    for code, rule in REGISTRY.items():
        assert rule.__name__.rsplit(".", 1)[1].startswith(code.lower() + "_")
        assert rule.TITLE and rule.DESCRIPTION and callable(rule.find)
