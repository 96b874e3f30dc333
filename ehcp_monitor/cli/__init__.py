"""The `ehcp-monitor` command line (docs/commands.md).

`COMMANDS` maps each command to the module that defines it, with its one-line help. A command
imports only its own module (click's lazy group), so `ehcp-monitor rules` loads no email client
and `--help` reads the help from the table without importing any command. A command module
imports the work it calls inside the command's function, so `CMD --help` loads only click and
the settings. Expected failures
are MonitorError subclasses: they print one line and exit with their code, never a traceback.
"""

import importlib
import sys
from typing import NamedTuple

import click

from ehcp_monitor.errors import EXIT_USAGE, MonitorError, store_failure


class Lazy(NamedTuple):
    module: str  # in ehcp_monitor.cli
    attribute: str
    help: str  # the command's short help, as `--help` lists it (tests/test_cli_startup.py checks it)


COMMANDS = {
    "benchmarks": Lazy("board_pack", "benchmarks", "DfE's published figures, for comparison in the board pack."),
    "check": Lazy("checks", "check", "Evaluate every clock on the current snapshot and store the results."),
    "demo": Lazy("demo", "demo",
                 "The whole product end to end on synthetic data, in an embedded SQLite database."),
    "demo-data": Lazy("demo_data", "demo_data", "Write a deterministic synthetic caseload (invented people only)."),
    "health": Lazy("health", "health_command",
                   "Exit 1 naming each enabled job whose last success is older than its max_age_hours, or "
                   "while touchpoint emails are held or in doubt, or messages failed that can still be told."),
    "ingest": Lazy("data", "ingest",
                   "Load a snapshot from SOURCE: a folder or workbook (canonical or SEN2), or sql:NAME."),
    "init-db": Lazy("data", "init_db", "Create or migrate the store (Alembic upgrade head)."),
    "jobs": Lazy("health", "jobs_command", "Each job's schedule, next run, last run and its status."),
    "quarantine": Lazy("data", "quarantine",
                       "The data quality report of an ingest: its findings by code, table and column, with "
                       "examples."),
    "rules": Lazy("rules", "rules",
                  "List every measure: code, kind, basis, due rule and the settings in force."),
    "run": Lazy("service", "run_command",
                "Run one scheduled job once, now (for cron, Kubernetes CronJobs, or by hand)."),
    "serve": Lazy("service", "serve_command",
                  "The long-running scheduler; SIGTERM or SIGINT stops it cleanly (exit 0)."),
    "touchpoints": Lazy("touchpoints", "touchpoints",
                        "Messages to families at every stage: plan, send, list, preview, report; release or "
                        "discard a held surge."),
}
REPORTS = {
    "board-pack": Lazy("board_pack", "board_pack_command", "The Partnership Board performance pack, HTML and PDF."),
    "late-list": Lazy("late_list", "late_list",
                      "The weekly late-plan list as HTML, XLSX and CSV, from the stored check results."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when used (click's documented lazy-loading pattern)."""

    def __init__(self, *args, lazy: dict[str, Lazy], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx, cmd_name):
        entry = self.lazy.get(cmd_name)
        if entry is None:
            return super().get_command(ctx, cmd_name)
        return getattr(importlib.import_module(f"{__name__}.{entry.module}"), entry.attribute)

    def format_commands(self, ctx, formatter):
        """As click lists commands, with the help of lazy ones from the table (nothing imported)."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = (click.Command(name, help=self.lazy[name].help) if name in self.lazy
                       else super().get_command(ctx, name))
            rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="EHCP_CONFIG", type=click.Path(dir_okay=False),
              default=None, help="Config file (default ./config.toml, or $EHCP_CONFIG).")
@click.version_option(package_name="ehcp-monitor")
@click.pass_context
def cli(ctx, config_path):
    """Statutory timeliness monitor for EHC plans."""
    # Imported here, not at the top: structlog and the settings registry slow the start (bench/README.md)
    # that `--help` and `--version`, which never reach this line, do not need.
    from ehcp_monitor import logs
    from ehcp_monitor.cli.common import App

    logs.configure()
    ctx.obj = App(config_path)
    # Validate the config before any command runs: a bad key stops here with exit 2.
    if ctx.invoked_subcommand not in (None, "demo"):
        ctx.obj.settings  # noqa: B018


@cli.group(cls=LazyGroup, lazy=REPORTS)
def report():
    """The senior team's weekly list and the Partnership Board pack."""


def main(argv: list[str] | None = None) -> None:
    try:
        code = cli.main(args=argv, prog_name="ehcp-monitor", standalone_mode=False)
    except MonitorError as exc:
        click.echo(f"ehcp-monitor: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("ehcp-monitor: aborted", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except OSError as exc:
        # An output folder that cannot be written, a source that cannot be read.
        where = f": {exc.filename}" if exc.filename else ""
        click.echo(f"ehcp-monitor: {exc.strerror or type(exc).__name__}{where}", err=True)
        sys.exit(EXIT_USAGE)
    except Exception as exc:
        _store_error(exc)
        raise
    sys.exit(code if isinstance(code, int) else 0)


def _store_error(exc: Exception) -> None:
    """Exit with one line if `exc` is the store's; return if it is not.

    SQLAlchemy is looked up, not imported: a command that never opened the store (`--help`,
    `rules`) cannot have raised its errors, and importing it would slow every start (bench/README.md).
    """
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None:
        return
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        # The URL is not printed: it may carry a password, a user name and a host of the LA's network.
        failure = store_failure(exc)
        click.echo(f"ehcp-monitor: {failure}", err=True)
        sys.exit(failure.exit_code)
    if isinstance(exc, sa_exc.ArgumentError):
        # SQLAlchemy refusing the URL's options before connecting; its text may quote the URL.
        click.echo("ehcp-monitor: config: the store URL (EHCP_DATABASE_URL or database.url) has options "
                   "the database driver cannot use (ArgumentError)", err=True)
        sys.exit(EXIT_USAGE)
    if isinstance(exc, sa_exc.DBAPIError) and exc.statement is None:
        failure = store_failure(exc)  # refused at connect: a bad option in the URL
        click.echo(f"ehcp-monitor: {failure}", err=True)
        sys.exit(failure.exit_code)
    # A statement that failed is a fault of ours, not of the setup: the traceback stands.
