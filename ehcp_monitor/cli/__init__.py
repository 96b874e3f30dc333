"""The `ehcp-monitor` command line (outputs.md section 1).

Each area's commands live in their own module and register on `cli` here. Expected failures
are MonitorError subclasses: they print one line and exit with their code, never a traceback.
"""

import sys
from datetime import date
from functools import cached_property
from pathlib import Path

import click
import sqlalchemy.exc

from ehcp_monitor import config as config_module
from ehcp_monitor import logs
from ehcp_monitor.clock import today_in_london
from ehcp_monitor.errors import EXIT_USAGE, MonitorError, store_failure


class App:
    """What every command needs: settings (loaded once, validated) and the store."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path

    @cached_property
    def settings(self) -> config_module.Settings:
        return config_module.load(self.config_path)

    @cached_property
    def engine(self):
        from ehcp_monitor.db.store import open_store

        return open_store(self.settings)


pass_app = click.make_pass_decorator(App)


class AsOfDate(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date in the form YYYY-MM-DD", param, ctx)


AS_OF = AsOfDate()


def as_of_option(f):
    return click.option(
        "--as-of", "as_of", type=AS_OF, default=None,
        help="Evaluate as on this date (default: today in Europe/London).",
    )(f)


def resolve_as_of(as_of: date | None) -> date:
    return as_of or today_in_london()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="EHCP_CONFIG", type=click.Path(dir_okay=False),
              default=None, help="Config file (default ./config.toml, or $EHCP_CONFIG).")
@click.version_option(package_name="ehcp-monitor")
@click.pass_context
def cli(ctx, config_path):
    """Statutory timeliness monitor for EHC plans."""
    logs.configure()
    ctx.obj = App(config_path)
    # Validate the config before any command runs: a bad key stops here with exit 2.
    if ctx.invoked_subcommand not in (None, "demo"):
        ctx.obj.settings  # noqa: B018


@cli.group()
def report():
    """The senior team's weekly list and the Partnership Board pack."""


def _register() -> None:
    from ehcp_monitor.cli import board_pack, checks, data, demo, demo_data, late_list, service, touchpoints

    for module in (data, demo_data, checks, demo, touchpoints, service):
        module.register(cli)
    late_list.register(report)
    board_pack.register(cli, report)


_register()


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
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
        # The URL is not printed: it may carry a password, a user name and a host of the LA's network.
        failure = store_failure(exc)
        click.echo(f"ehcp-monitor: {failure}", err=True)
        sys.exit(failure.exit_code)
    except sqlalchemy.exc.ArgumentError:
        # SQLAlchemy refusing the URL's options before connecting; its text may quote the URL.
        click.echo("ehcp-monitor: config: the store URL (EHCP_DATABASE_URL or database.url) has options "
                   "the database driver cannot use (ArgumentError)", err=True)
        sys.exit(EXIT_USAGE)
    except sqlalchemy.exc.DBAPIError as exc:
        if exc.statement is not None:  # a statement failed: a fault of ours, not of the setup
            raise
        failure = store_failure(exc)  # refused at connect: a bad option in the URL
        click.echo(f"ehcp-monitor: {failure}", err=True)
        sys.exit(failure.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def echo_path(label: str, path: Path) -> None:
    click.echo(f"{label}: {path}")
