"""docs/input-formats.md lists exactly the codes and titles of the validation and warning registries."""

import re

from ehcp_monitor.domain.findings import FINDING_CODES
from ehcp_monitor.ingest.validation import REGISTRY
from tests.conftest import ROOT


def test_the_quarantine_codes_table_matches_the_registry():
    text = (ROOT / "docs" / "input-formats.md").read_text(encoding="utf-8")
    documented = {m[0]: (m[1], m[2]) for m in re.findall(r"^\| ([VW]\d{3}) \| ([^|]+?) \| ([^|]+?) \|$", text, re.M)}
    assert documented == FINDING_CODES


def test_every_rule_has_its_own_module_and_metadata():
    v_codes = sorted(c for c in REGISTRY if c.startswith("V"))
    assert v_codes == [f"V{n:03d}" for n in range(1, len(v_codes) + 1)] and len(v_codes) >= 10
    # Every rule's texts are its code's (one list of codes, domain.findings), and every V code has its rule.
    assert all((rule.TITLE, rule.DESCRIPTION) == FINDING_CODES[code] for code, rule in REGISTRY.items())
    assert {c for c in FINDING_CODES if c.startswith("V")} == set(v_codes)
    for code, rule in REGISTRY.items():
        assert rule.__name__.rsplit(".", 1)[1].startswith(code.lower() + "_")
        assert rule.TITLE and rule.DESCRIPTION and callable(rule.find)
