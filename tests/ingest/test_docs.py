"""docs/input-formats.md lists exactly the codes and titles of the validation and warning registries."""

import re

from ehcp_monitor.ingest.validation import REGISTRY
from ehcp_monitor.ingest.warnings import WARNINGS
from tests.conftest import ROOT


def test_the_quarantine_codes_table_matches_the_registry():
    text = (ROOT / "docs" / "input-formats.md").read_text(encoding="utf-8")
    documented = {m[0]: (m[1], m[2]) for m in re.findall(r"^\| ([VW]\d{3}) \| ([^|]+?) \| ([^|]+?) \|$", text, re.M)}
    assert documented == {
        **{code: (rule.TITLE, rule.DESCRIPTION) for code, rule in REGISTRY.items()},
        **{code: (title, description) for code, (title, description) in WARNINGS.items()},
    }


def test_every_rule_has_its_own_module_and_metadata():
    v_codes = sorted(c for c in REGISTRY if c.startswith("V"))
    assert v_codes == [f"V{n:03d}" for n in range(1, len(v_codes) + 1)] and len(v_codes) >= 10
    # A warning rule's texts are the warning registry's.
    assert all((REGISTRY[c].TITLE, REGISTRY[c].DESCRIPTION) == WARNINGS[c] for c in REGISTRY if c.startswith("W"))
    for code, rule in REGISTRY.items():
        assert rule.__name__.rsplit(".", 1)[1].startswith(code.lower() + "_")
        assert rule.TITLE and rule.DESCRIPTION and callable(rule.find)
