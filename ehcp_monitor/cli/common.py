"""What every command shares: the settings and the store (`App`), and the `--as-of` option."""

from datetime import date
from functools import cached_property

import click

from ehcp_monitor import config as config_module
from ehcp_monitor.clock import today_in_london


class App:
    """What every command needs: settings (loaded once, validated) and the store."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path

    @cached_property
    def settings(self) -> config_module.Settings:
        return config_module.load(self.config_path)

    @cached_property
    def engine(self):
        # Imported here, not at the top: the store brings SQLAlchemy, the ORM models and polars
        # (bench/README.md), which `rules`, `demo-data` and `--help` never need.
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
