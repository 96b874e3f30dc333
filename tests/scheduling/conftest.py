"""Helpers for the scheduling tests: a config file, the CLI as a real subprocess, waiting."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ehcp_monitor.config import JOB_NAMES


def toml_config(path: Path, *, source: str = "", enabled: tuple[str, ...] = JOB_NAMES,
                cron: dict[str, str] | None = None, extra: str = "") -> Path:
    """A config.toml enabling only `enabled` jobs, with optional cron overrides."""
    lines = [f'[source]\nlocation = "{source}"\n']
    for job in JOB_NAMES:
        lines.append(f"[schedule.{job}]\nenabled = {'true' if job in enabled else 'false'}\n")
        if cron and job in cron:
            lines.append(f'cron = "{cron[job]}"\n')
    lines.append(extra)
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def cli_env(tmp_path, db_url):
    """Environment for `ehcp-monitor` subprocesses on the test database, run in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EHCP_")}
    env["EHCP_DATABASE_URL"] = db_url
    env["EHCP_CONFIG"] = str(toml_config(tmp_path / "config.toml"))
    return env


def start_cli(args: list[str], env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    """Start `ehcp-monitor ARGS`; stderr (the JSON log) and stdout go to `log`."""
    handle = open(log, "wb")
    return subprocess.Popen(
        [sys.executable, "-m", "ehcp_monitor", *args], env=env, cwd=cwd,
        stdout=handle, stderr=subprocess.STDOUT,
    )


def run_cli(args: list[str], env: dict, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ehcp_monitor", *args], env=env, cwd=cwd,
        capture_output=True, text=True, timeout=timeout,
    )


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
