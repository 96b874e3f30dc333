import sys

import pytest

from ehcp_monitor.scheduling.capabilities import NotBuilt, require


def test_a_missing_module_or_function_is_not_built():
    with pytest.raises(NotBuilt, match="ehcp_monitor.nowhere.run_x is not built yet"):
        require("ehcp_monitor.nowhere", "run_x")
    with pytest.raises(NotBuilt, match="ehcp_monitor.errors.run_x is not built yet"):
        require("ehcp_monitor.errors", "run_x")


def test_a_present_function_is_returned():
    from ehcp_monitor.errors import MonitorError

    assert require("ehcp_monitor.errors", "MonitorError") is MonitorError


def test_a_module_that_exists_but_cannot_import_a_dependency_is_a_real_failure(tmp_path, monkeypatch):
    (tmp_path / "half_built_capability.py").write_text("import a_dependency_nobody_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="a_dependency_nobody_installed"):
        require("half_built_capability", "run")
    sys.modules.pop("half_built_capability", None)
