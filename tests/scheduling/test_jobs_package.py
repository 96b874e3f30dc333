"""The jobs install inside the package, as `ehcp_monitor.jobs`: never a top-level `jobs` module."""

import tomllib
from pathlib import Path

from ehcp_monitor import config
from ehcp_monitor.scheduling.runner import job_module

ROOT = Path(__file__).resolve().parents[2]


def _wheel() -> dict:
    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]["build"]
    return build["targets"]["wheel"]


def test_the_wheel_puts_the_jobs_folder_inside_the_package():
    wheel = _wheel()
    assert wheel["packages"] == ["ehcp_monitor"]
    assert wheel["force-include"]["jobs"] == "ehcp_monitor/jobs"
    # Every file the wheel installs at the top of site-packages comes from `packages` or force-include.
    targets = [*wheel["packages"], *wheel["force-include"].values()]
    assert all(target.split("/")[0] == "ehcp_monitor" for target in targets)


def test_the_jobs_folder_is_no_package_of_its_own():
    assert (ROOT / "jobs").is_dir() and not (ROOT / "jobs" / "__init__.py").exists()
    assert (ROOT / "ehcp_monitor" / "jobs" / "__init__.py").is_file()


def test_every_job_of_the_table_is_a_module_of_ehcp_monitor_jobs():
    for name in config.JOB_NAMES:
        module = job_module(name)
        assert module.__name__ == f"ehcp_monitor.jobs.{name}"
        assert Path(module.__file__).resolve() == ROOT / "jobs" / f"{name}.py"
        assert callable(module.run)
