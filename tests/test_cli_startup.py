"""The command line starts fast: `--help` imports no command, and a command imports only its own
module (ehcp_monitor/cli/__init__.py). bench/startup.py measures the times; nothing here times."""

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from ehcp_monitor.cli import COMMANDS, REPORTS, LazyGroup, cli, report

HEAVY = ("polars", "sqlalchemy", "notifications_python_client", "apscheduler", "jinja2", "weasyprint", "xlsxwriter",
         "alembic", "psycopg")


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running `code`."""
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def test_importing_the_cli_loads_no_heavy_library():
    assert _heavy(_modules_after("import ehcp_monitor.cli")) == []


def _after_main(args: list[str]) -> set[str]:
    return _modules_after(f"from ehcp_monitor.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass")


def test_help_imports_no_command_module_and_no_heavy_library():
    loaded = _after_main(["--help"])
    assert _heavy(loaded) == []
    commands = {f"ehcp_monitor.cli.{entry.module}" for entry in (*COMMANDS.values(), *REPORTS.values())}
    assert sorted(commands & loaded) == []


def test_report_help_imports_no_report_module():
    # `report --help` runs the top group, which loads and checks the settings (cron: apscheduler).
    loaded = _after_main(["report", "--help"])
    assert [m for m in _heavy(loaded) if not m.startswith("apscheduler")] == []
    assert sorted({f"ehcp_monitor.cli.{entry.module}" for entry in REPORTS.values()} & loaded) == []


def _command_paths(group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += _command_paths(command, click.Context(command, parent=ctx), (*prefix, name))
    return paths


@pytest.mark.parametrize("path", _command_paths(cli, click.Context(cli)), ids=" ".join)
def test_every_commands_help_loads_only_click_and_the_settings(path):
    # The top group loads and checks the settings first (cron: apscheduler); the command's own
    # work is imported when it runs, never for its --help.
    loaded = _after_main([*path, "--help"])
    assert [m for m in _heavy(loaded) if not m.startswith("apscheduler")] == []


@pytest.mark.parametrize("group, table, args", [(cli, COMMANDS, ["--help"]), (report, REPORTS, ["report", "--help"])])
def test_help_lists_every_command_of_the_table_with_its_help(group, table, args):
    out = CliRunner().invoke(cli, args, terminal_width=200).output
    listed = out.split("Commands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in listed if line.strip()] == sorted({*table, *group.commands})
    for name, entry in table.items():
        assert f"  {name}  " in out and entry.help in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_help_is_the_commands_own(name):
    command = cli.get_command(click.Context(cli), name)
    assert isinstance(command, click.Command)
    assert command.get_short_help_str(limit=1000) == COMMANDS[name].help


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_the_report_table_help_is_the_commands_own(name):
    command = report.get_command(click.Context(report), name)
    assert command.get_short_help_str(limit=1000) == REPORTS[name].help


def test_a_command_imports_its_own_module_only():
    loaded = _modules_after("from ehcp_monitor.cli import cli, COMMANDS\nimport click\n"
                            "cli.get_command(click.Context(cli), 'demo-data')")
    others = {f"ehcp_monitor.cli.{e.module}" for e in COMMANDS.values()} - {"ehcp_monitor.cli.demo_data"}
    assert sorted(others & loaded) == []
    assert "notifications_python_client" not in {m.split(".")[0] for m in loaded}


def test_the_groups_are_lazy():
    assert isinstance(cli, LazyGroup) and isinstance(report, LazyGroup)


@pytest.mark.parametrize("args", [["health"], ["jobs"], ["touchpoints", "list", "--limit", "1"]], ids=" ".join)
def test_the_store_reading_commands_load_no_polars(args, tmp_path):
    """`health` and `jobs` run every few minutes from a monitoring system: they read the store
    through SQLAlchemy and nothing heavier (bench/startup.py has their times)."""
    import os

    env = {**os.environ, "EHCP_DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}"}
    env.pop("EHCP_CONFIG", None)
    subprocess.run([sys.executable, "-m", "ehcp_monitor", "init-db"], env=env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)
    probe = (f"import sys, json\nfrom ehcp_monitor.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n"
             "    pass\nprint(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "ehcp_monitor.db.models" in loaded  # it did read the store
    assert sorted(m for m in loaded if m.split(".")[0] in ("polars", "holidays")) == []
