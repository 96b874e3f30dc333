"""Configuration: every setting is declared once here, with its type, default and meaning.

`config.toml` overrides the defaults. An unknown key or a bad value stops the program at start
with exit 2 and one line naming the key. Secrets never live here: settings ending in `_env`
name the environment variable that holds the secret.
"""

import dataclasses
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from pathlib import Path
from types import UnionType
from typing import Any, Callable, get_args, get_origin, get_type_hints

from ehcp_monitor.domain.measures import MEASURE_CODES
from ehcp_monitor.domain.vocabulary import TARGET_KPIS
from ehcp_monitor.domain.vocabulary import TOUCHPOINT_STAGES as STAGES
from ehcp_monitor.errors import ConfigError


@dataclass(frozen=True)
class Job:
    """A scheduled job and its default schedule (config.toml [schedule.<name>] overrides it).

    Its code is jobs/<name>.py, imported as ehcp_monitor.jobs.<name> (docs/operations.md, Jobs).
    """

    name: str
    cron: str
    misfire_grace_hours: int | float
    max_age_hours: int | float


# The one table of jobs: `run JOB`, `serve`, `jobs`, `health` and the [schedule] settings read it.
# A new job is its module in jobs/ and a row here.
JOBS = (
    Job("nightly", "30 1 * * mon-sun", misfire_grace_hours=6, max_age_hours=26),
    Job("weekly_late_list", "0 7 * * mon", misfire_grace_hours=6, max_age_hours=24 * 7 + 2),
    Job("board_pack", "0 6 2 * *", misfire_grace_hours=48, max_age_hours=24 * 32),
    Job("dispatch_touchpoints", "*/15 7-20 * * mon-sun", misfire_grace_hours=1, max_age_hours=24),
)
JOB_NAMES = tuple(job.name for job in JOBS)


# The runtime type(s) a setting's value may have (Setting.type shadows `type` inside the class).
_Types = type | tuple[type, ...]
Check = Callable[[Any], str | None]  # returns a problem, or None


@dataclass(frozen=True)
class Setting:
    key: str  # dotted: section.name
    type: _Types
    default: Any
    doc: str
    check: Check | None = None
    # For table-valued settings: allowed keys (None: any) and the type of each value.
    map_keys: tuple[str, ...] | None = None
    map_value_type: _Types | None = None


def _positive(v: Any) -> str | None:
    return None if v > 0 else "must be greater than 0"


def _non_negative(v: Any) -> str | None:
    return None if v >= 0 else "must be 0 or more"


def _share(v: Any) -> str | None:
    return None if 0 <= v <= 1 else "must be a share between 0 and 1"


def _one_of(*choices: str) -> Check:
    def check(v: Any) -> str | None:
        return None if v in choices else f"must be one of {', '.join(choices)}"

    return check


def _date_format(v: Any) -> str | None:
    from ehcp_monitor.domain.date_forms import DECLARABLE

    return None if v in DECLARABLE else "must be one of " + ", ".join(DECLARABLE)


def _go_live(v: Any) -> str | None:
    if isinstance(v, datetime):
        return "must be a date (2026-04-01), not a date and time"
    if isinstance(v, date) or v == "":
        return None
    try:
        date.fromisoformat(v)
    except ValueError:
        return "must be a date (2026-04-01 or \"2026-04-01\") or empty"
    return None


def _env_name(v: Any) -> str | None:
    return None if re.fullmatch(r"[A-Z_][A-Z0-9_]*", v) else "must be an environment variable name"


def _cron(v: Any) -> str | None:
    from ehcp_monitor.cron import cron_problem

    return cron_problem(v)


def _email_list(v: Any) -> str | None:
    bad = [a for a in v if not isinstance(a, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", a)]
    return f"not an email address: {bad[0]!r}" if bad else None


WEEKLY_TARGETS = ("plans_per_week", "reviews_per_week")  # late_list.targets (docs/late-list.md)


def _weekly_targets(v: Any) -> str | None:
    for name, targets in v.items():
        for key, n in targets.items():
            if key not in WEEKLY_TARGETS:
                return f"for {name!r}: unknown target {key!r} (targets are {', '.join(WEEKLY_TARGETS)})"
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                return f"for {name!r}: {key} must be a whole number, 0 or more"
    return None


def _year_month(v: Any) -> str | None:
    return None if v == "" or re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", v) else "must be a month, YYYY-MM, or empty"


def _hh_mm(v: Any) -> str | None:
    return None if re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d|24:00", v) else "must be a time of day, HH:MM"


def _web_address(v: Any) -> str | None:
    if v == "" or re.fullmatch(r"https?://[^\s<>\"]+", v):
        return None
    return "must be a web address (https://...) or empty"


def _percent(v: Any) -> str | None:
    return None if 0 < v <= 100 else "must be a percentage above 0, up to 100"


SETTINGS: tuple[Setting, ...] = (
    # [database]
    Setting("database.url", str, "", "Store URL (SQLAlchemy form). Empty: the embedded SQLite file "
            "`database.sqlite_path`. `EHCP_DATABASE_URL` wins over this. Put no password here."),
    Setting("database.sqlite_path", str, "ehcp-monitor.sqlite3",
            "The embedded SQLite file used when no URL is set (relative to the working directory)."),
    # [source]
    Setting("source.location", str, "", "What the nightly job ingests: a folder or workbook "
            "(canonical or SEN2, recognised by itself) or `sql:NAME`."),
    Setting("source.date_format", str, "%Y-%m-%d", "Date format of canonical CSV extracts: "
            "`%Y-%m-%d` (ISO), `%d/%m/%Y` (UK) or another listed in docs/input-formats.md. Never guessed "
            "from the data: an extract in another form is refused naming the form that fits.", _date_format),
    Setting("source.sql_url_env", str, "EHCP_SOURCE_DATABASE_URL",
            "Environment variable holding the URL of the LA reporting database for `sql:` sources.",
            _env_name),
    # [ingest]
    Setting("ingest.max_reject_share", float, 0.05, "Refuse an ingest whose quarantined share of "
            "any table exceeds this (0.05 = 5 %). The previous snapshot is kept.", _share),
    Setting("ingest.max_shrink_share", float, 0.2, "Snapshot guard: refuse an ingest in which a table "
            "would load more than this share fewer rows than the snapshot in force (0.2 = 20 %), or "
            "none where it had some. The operator overrides it for one ingest with `--accept-shrink`.", _share),
    Setting("ingest.review_outcome_codes", dict, {}, "Extra SEN2 review outcome codes used by this "
            "LA, mapped to `maintain`, `amend` or `cease` (e.g. `R = \"amend\"`).",
            map_value_type=str),
    # [rules]
    Setting("rules.draft_target_weeks", int, 14, "Local target for the draft plan (DRAFT_LOCAL), "
            "in weeks from the request.", _positive),
    Setting("rules.early_years_age", int, 5, "Children under this age on a review cycle's anchor "
            "date get the early-years review interval (REVIEW_EY).", _positive),
    Setting("rules.early_years_review_months", int, 6, "Review interval for under-5s, in months "
            "(CoP 9.178 says 3-6).", _positive),
    Setting("rules.due_soon_days", int, 14, "An open clock due within this many days is `due_soon`.",
            _non_negative),
    Setting("rules.very_late_days", int, 42, "An overdue statutory clock at least this many days "
            "late is very late (42 = week 26 of an assessment).", _non_negative),
    Setting("rules.very_late_days_by_measure", dict, {}, "Per-measure override of "
            "`very_late_days`, e.g. `REVIEW_12M = 28`.", map_keys=MEASURE_CODES, map_value_type=int),
    Setting("rules.review_completed_by", str, "decision", "What completes a review: `decision` "
            "(the LA notified its decision; SEN2 `lastreview`) or `meeting`.",
            _one_of("decision", "meeting")),
    # [touchpoints]
    Setting("touchpoints.transport", str, "file", "How touchpoints are sent: `smtp`, `notify` or "
            "`file` (.eml files in `touchpoints.outbox_dir`).", _one_of("smtp", "notify", "file")),
    Setting("touchpoints.outbox_dir", str, "outbox", "Folder for the `file` transport."),
    Setting("touchpoints.max_event_age_days", int, 14, "An event older than this when first seen "
            "is recorded as suppressed, not sent.", _non_negative),
    Setting("touchpoints.go_live", (str, date), "", "The day the LA began sending touchpoints (a TOML date "
            "or an ISO string): every event dated before it is recorded `baseline` and never sent. Empty: "
            "the first planning run that finds the outbox empty sets it to its own as-of date, or the day it "
            "runs when that is later (a trial on a past as-of date), and keeps it in the store "
            "(docs/going-live.md).", _go_live),
    Setting("touchpoints.hold_above", int, 0, "A planning run that would queue more new emails than "
            "this holds them all for an operator (`touchpoints release` / `discard`). 0: automatic, "
            "3 x the median of the last 14 planning runs that held nothing, and at least 50.",
            _non_negative),
    Setting("touchpoints.delay_repeat_days", int, 28, "A delay notice repeats this often while a "
            "clock stays overdue.", _positive),
    Setting("touchpoints.review_notice_days", int, 56, "Days before a review is due that "
            "`review_upcoming` fires.", _positive),
    Setting("touchpoints.update_every_days", int, 14, "An open 20-week request with no message for this "
            "many days gets a `progress_update` (docs/touchpoints.md).", _positive),
    Setting("touchpoints.child_reference", str, "first_name", "How a message's body names the child: "
            "`first_name` (\"about Sam\"), `initials` (\"about S. T.\") or `none`. Subjects never name anyone.",
            _one_of("first_name", "initials", "none")),
    Setting("touchpoints.delay_next_steps", str, "We are chasing everyone who has work to do on this step.",
            "What a delay notice says is being done about a late step (one or two sentences)."),
    Setting("touchpoints.sendiass_name", str, "Example SENDIASS", "Name of the local SEND Information, "
            "Advice and Support Service, printed in every message (empty: not printed). The shipped value is an "
            "example: nothing is sent by SMTP or Notify until it is the LA's own (docs/going-live.md)."),
    Setting("touchpoints.sendiass_phone", str, "01234 567899", "SENDIASS phone number printed in every "
            "message (empty: not printed; one way to reach SENDIASS must be set)."),
    Setting("touchpoints.sendiass_email", str, "sendiass@example.org.uk", "SENDIASS email address printed "
            "in every message (empty: not printed)."),
    Setting("touchpoints.sendiass_url", str, "https://www.example.org.uk/sendiass", "SENDIASS web page "
            "printed in every message (empty: not printed).", _web_address),
    Setting("touchpoints.local_offer_url", str, "https://www.example.gov.uk/local-offer", "The LA's SEND "
            "Local Offer web page, printed in every message (required before anything is sent).", _web_address),
    Setting("touchpoints.max_attempts", int, 5, "Attempts before a send is marked failed.", _positive),
    Setting("touchpoints.retry_base_seconds", int, 300, "First retry delay; doubles each attempt.",
            _positive),
    Setting("touchpoints.rate_per_minute", int, 60, "At most this many sends a minute.", _positive),
    Setting("touchpoints.from_address", str, "send-ehc@example.gov.uk", "From address of emails."),
    Setting("touchpoints.reply_to", str, "", "Reply-To address of emails (empty: none)."),
    Setting("touchpoints.team_email", str, "sendteam@example.gov.uk",
            "SEN team contact email printed in emails when a case has no officer contact."),
    Setting("touchpoints.team_phone", str, "01234 567890", "SEN team phone number printed in emails."),
    Setting("touchpoints.template_dir", str, "", "Folder of templates overriding the built-in ones "
            "(same file names). Empty: built-in only."),
    Setting("touchpoints.smtp_host", str, "localhost", "SMTP server host."),
    Setting("touchpoints.smtp_port", int, 587, "SMTP server port.", _positive),
    Setting("touchpoints.smtp_security", str, "starttls", "`starttls`, `tls` (implicit) or `none` "
            "(only for a local relay).", _one_of("starttls", "tls", "none")),
    Setting("touchpoints.smtp_username_env", str, "EHCP_SMTP_USERNAME",
            "Environment variable holding the SMTP user name (unset: no login).", _env_name),
    Setting("touchpoints.smtp_password_env", str, "EHCP_SMTP_PASSWORD",
            "Environment variable holding the SMTP password.", _env_name),
    Setting("touchpoints.smtp_timeout_seconds", int, 30, "SMTP connection timeout.", _positive),
    Setting("touchpoints.notify_api_key_env", str, "EHCP_NOTIFY_API_KEY",
            "Environment variable holding the GOV.UK Notify API key.", _env_name),
    Setting("touchpoints.notify_base_url", str, "https://api.notifications.service.gov.uk",
            "GOV.UK Notify API base URL."),
    Setting("touchpoints.notify_templates", dict, {}, "GOV.UK Notify template ID per stage "
            "(e.g. `delay_notice = \"…uuid…\"`).", map_keys=STAGES, map_value_type=str),
    Setting("touchpoints.notify_sms_templates", dict, {}, "GOV.UK Notify text message template ID per "
            "stage, for contacts reached by text (docs/touchpoints.md, Channels).", map_keys=STAGES,
            map_value_type=str),
    Setting("touchpoints.notify_letter_templates", dict, {}, "GOV.UK Notify letter template ID per "
            "stage, for contacts reached by post (docs/touchpoints.md, Channels).", map_keys=STAGES,
            map_value_type=str),
    Setting("touchpoints.sms_sender_id", str, "", "GOV.UK Notify text message sender ID (empty: the "
            "service's default sender)."),
    Setting("touchpoints.send_window_start", str, "08:00", "Touchpoints are sent from this time of day "
            "(HH:MM, UK time: Europe/London).", _hh_mm),
    Setting("touchpoints.send_window_end", str, "20:00", "Touchpoints are sent until this time of day "
            "(HH:MM, UK time; later than the start; 24:00 for midnight).", _hh_mm),
    Setting("touchpoints.send_on_working_days_only", bool, True, "Send only on working days (not "
            "weekends or England and Wales bank holidays)."),
    # [late_list]
    Setting("late_list.out_dir", str, "reports-out/late-list", "Where the weekly list is written."),
    Setting("late_list.recipients", list, [], "Senior team email addresses the list is sent to.",
            _email_list),
    Setting("late_list.targets.teams", dict, {}, "Weekly targets of each officer in a team, by team name: "
            "`plans_per_week` (plans to issue) and `reviews_per_week` (annual reviews to complete), e.g. "
            "`North = { plans_per_week = 3, reviews_per_week = 8 }` (docs/late-list.md, Targets).",
            _weekly_targets, map_value_type=dict),
    Setting("late_list.targets.officers", dict, {}, "Per-officer overrides of the team's weekly targets, by "
            "case officer as recorded, e.g. `\"A Khan\" = { reviews_per_week = 4 }`.",
            _weekly_targets, map_value_type=dict),
    # [la]: the one identity of the local authority, on the board pack's cover and in every email
    Setting("la.name", str, "Example Council", "The council's name, as families and the board know it "
            "(emails, the board pack's cover)."),
    Setting("la.code", str, "E06000051", "The council's ONS code in DfE's published statistics "
            "(`new_la_code`; E06000051 = Shropshire): the pack compares with that LA's figures."),
    # [board_pack]
    Setting("board_pack.out_dir", str, "reports-out/board-pack", "Where the board pack is written."),
    Setting("board_pack.commentary_dir", str, "board-pack-commentary", "Folder of the officers' commentary: "
            "`PERIOD.md` (e.g. `2025-06.md`), one `## KPI code` heading per KPI (docs/board-pack.md)."),
    Setting("board_pack.statistical_neighbours", list, [], "ONS codes of the LA's statistical "
            "neighbours."),
    Setting("board_pack.targets", dict, {}, "Target percentage per KPI code (see docs/board-pack.md), "
            "e.g. `final_20w = 60`.", map_keys=TARGET_KPIS, map_value_type=(int, float)),
    Setting("board_pack.amber_margin", float, 10.0, "A KPI within this many percentage points "
            "below its target is amber; further below is red.", _non_negative),
    # [recovery]: the capacity sentence of the weekly list and the board pack (docs/late-list.md, Capacity)
    Setting("recovery.target_percent", float, 50.0, "The share of new plans to be issued within 20 weeks "
            "the capacity figure aims at, in percent.", _percent),
    Setting("recovery.target_month", str, "", "The month (YYYY-MM) by which to reach it; empty: the sixth "
            "month after the month of the list or pack.", _year_month),
    # [schedule]
    Setting("schedule.timezone", str, "Europe/London", "Timezone the cron expressions are read in."),
    *(
        s
        for job in JOBS
        for s in (
            Setting(f"schedule.{job.name}.cron", str, job.cron, f"When `{job.name}` runs (5-field cron; "
                    "day names for days of the week).", _cron),
            Setting(f"schedule.{job.name}.misfire_grace_hours", (int, float), job.misfire_grace_hours,
                    f"How late `{job.name}` may still start after a missed time.", _positive),
            Setting(f"schedule.{job.name}.max_age_hours", (int, float), job.max_age_hours,
                    f"`health` complains when `{job.name}` last succeeded longer ago than this.", _positive),
            Setting(f"schedule.{job.name}.enabled", bool, True, f"Whether `serve` schedules `{job.name}`."),
        )
    ),
)


# Checks at start that need more than a value's type (issue 15): a config that cannot work stops
# every command with exit 2 and one line naming the key, before anything runs. Kept together
# here and applied to the registry below. Each raises its own ConfigError where the usual
# "(got VALUE)" must not be printed (a URL may carry a password).
def _timezone(v: Any) -> str | None:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(v)
    except Exception:  # ZoneInfoNotFoundError, or ValueError for a name that is not a zone key
        return "must be an IANA time zone name, such as Europe/London"
    return None


_ADDRESS = r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+"


def _one_address(v: Any, *, empty_ok: bool = False) -> str | None:
    """One address fit for an email header: no line breaks (header injection), no list."""
    from email.utils import getaddresses

    if v == "" and empty_ok:
        return None
    if re.search(r"[\x00-\x1f\x7f]", v):
        return "must be one email address on one line (no line breaks or control characters)"
    found = getaddresses([v])
    if len(found) != 1 or not re.fullmatch(_ADDRESS, found[0][1]):
        return "must be a single email address"
    return None


def _review_codes(v: Any) -> str | None:
    for code, outcome in v.items():
        if not isinstance(outcome, str) or outcome.strip().lower() not in ("maintain", "amend", "cease"):
            raise ConfigError(f"config: ingest.review_outcome_codes.{code} must be maintain, amend or cease "
                              f"(got {outcome!r})")
    return None


def _store_url(v: Any) -> str | None:
    if v == "":
        return None
    from ehcp_monitor.db.connect import password_in_url, url_problem

    problem = url_problem(v)
    if problem:
        raise ConfigError(f"config: database.url {problem}")
    if password_in_url(v):
        raise ConfigError("config: database.url must not contain a password; passwords come only from the "
                          "environment (EHCP_DATABASE_URL, PGPASSWORD or ~/.pgpass)")
    return None


def _both(first: Check | None, second: Check) -> Check:
    if first is None:
        return second
    return lambda v: first(v) or second(v)


_START_CHECKS = {
    "database.url": _store_url,
    "ingest.review_outcome_codes": _review_codes,
    "schedule.timezone": _timezone,
    "touchpoints.from_address": _one_address,
    "touchpoints.reply_to": lambda v: _one_address(v, empty_ok=True),
    "touchpoints.team_email": _one_address,
    "touchpoints.sendiass_email": lambda v: _one_address(v, empty_ok=True),
}
SETTINGS = tuple(
    type(s)(**{**vars(s), "check": _both(s.check, _START_CHECKS[s.key])}) if s.key in _START_CHECKS else s
    for s in SETTINGS
)
SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and key not in SETTINGS_BY_KEY:
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def _check_value(setting: Setting, value: Any) -> None:
    types = setting.type if isinstance(setting.type, tuple) else (setting.type,)
    # TOML integers are fine where a float is expected; booleans are not numbers here.
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if not ok and float in types and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
        ok = True
    if not ok:
        names = " or ".join(t.__name__ for t in types)
        raise ConfigError(f"config: {setting.key} must be {names}, not {value!r}")
    if setting.type is dict:
        for k, v in value.items():
            if setting.map_keys is not None and k not in setting.map_keys:
                raise ConfigError(f"config: unknown key {setting.key}.{k}")
            vtypes = setting.map_value_type
            if vtypes and (not isinstance(v, vtypes) or isinstance(v, bool)):
                raise ConfigError(f"config: {setting.key}.{k} has a bad value {v!r}")
    if setting.check:
        problem = setting.check(value)
        if problem:
            raise ConfigError(f"config: {setting.key} {problem} (got {value!r})")


# Typed view of the registry: one frozen dataclass per section, so that mypy catches a misspelt or
# mistyped setting (`settings.rules.due_son_days`). The registry above stays the one declaration
# of each setting's default and meaning; these classes give only names and types, and
# tests/test_config_typed.py fails when the two disagree (registry_mismatches). A new job in JOBS
# is a new field of ScheduleSettings.
@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    sqlite_path: str


@dataclass(frozen=True)
class SourceSettings:
    location: str
    date_format: str
    sql_url_env: str


@dataclass(frozen=True)
class IngestSettings:
    max_reject_share: float
    max_shrink_share: float
    review_outcome_codes: dict[str, str]


@dataclass(frozen=True)
class RulesSettings:
    draft_target_weeks: int
    early_years_age: int
    early_years_review_months: int
    due_soon_days: int
    very_late_days: int
    very_late_days_by_measure: dict[str, int]
    review_completed_by: str


@dataclass(frozen=True)
class TouchpointsSettings:
    transport: str
    outbox_dir: str
    max_event_age_days: int
    go_live: str | date
    hold_above: int
    delay_repeat_days: int
    review_notice_days: int
    update_every_days: int
    child_reference: str
    delay_next_steps: str
    sendiass_name: str
    sendiass_phone: str
    sendiass_email: str
    sendiass_url: str
    local_offer_url: str
    max_attempts: int
    retry_base_seconds: int
    rate_per_minute: int
    from_address: str
    reply_to: str
    team_email: str
    team_phone: str
    template_dir: str
    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_username_env: str
    smtp_password_env: str
    smtp_timeout_seconds: int
    notify_api_key_env: str
    notify_base_url: str
    notify_templates: dict[str, str]
    notify_sms_templates: dict[str, str]
    notify_letter_templates: dict[str, str]
    sms_sender_id: str
    send_window_start: str
    send_window_end: str
    send_on_working_days_only: bool


@dataclass(frozen=True)
class LateListTargetsSettings:
    teams: dict[str, dict[str, int]]
    officers: dict[str, dict[str, int]]


@dataclass(frozen=True)
class LateListSettings:
    out_dir: str
    recipients: list[str]
    targets: LateListTargetsSettings


@dataclass(frozen=True)
class LaSettings:
    name: str
    code: str


@dataclass(frozen=True)
class BoardPackSettings:
    out_dir: str
    commentary_dir: str
    statistical_neighbours: list[str]
    targets: dict[str, int | float]
    amber_margin: float


@dataclass(frozen=True)
class RecoverySettings:
    target_percent: float
    target_month: str


@dataclass(frozen=True)
class JobScheduleSettings:
    cron: str
    misfire_grace_hours: int | float
    max_age_hours: int | float
    enabled: bool


@dataclass(frozen=True)
class ScheduleSettings:
    timezone: str
    nightly: JobScheduleSettings
    weekly_late_list: JobScheduleSettings
    board_pack: JobScheduleSettings
    dispatch_touchpoints: JobScheduleSettings


# eq=False: compared and hashed by identity, as before the settings were typed.
@dataclass(frozen=True, eq=False)
class Settings:
    """Resolved settings: `settings.rules.very_late_days` (typed, preferred), or
    `settings["rules.very_late_days"]` where the key is built at run time."""

    database: DatabaseSettings
    source: SourceSettings
    ingest: IngestSettings
    rules: RulesSettings
    touchpoints: TouchpointsSettings
    late_list: LateListSettings
    la: LaSettings
    board_pack: BoardPackSettings
    recovery: RecoverySettings
    schedule: ScheduleSettings
    # The file the settings were read from (None: the defaults); not a setting.
    path: Path | None = field(default=None, metadata={"setting": False})

    def __getitem__(self, key: str) -> Any:
        if key not in SETTINGS_BY_KEY:
            raise KeyError(key)
        node: Any = self
        for part in key.split("."):
            node = getattr(node, part)
        return node

    @property
    def _values(self) -> dict[str, Any]:
        """Every setting by dotted key, in registry order."""
        return {key: self[key] for key in SETTINGS_BY_KEY}

    def very_late_days(self, measure: str) -> int:
        return self.rules.very_late_days_by_measure.get(measure, self.rules.very_late_days)

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some dotted keys changed (`replace(**{"rules.due_soon_days": 7})`)."""
        values = self._values
        for key, value in changes.items():
            if key not in SETTINGS_BY_KEY:
                raise ConfigError(f"config: unknown key {key}")
            _check_value(SETTINGS_BY_KEY[key], value)
            values[key] = value
        return _build(values, self.path)


def _typed_fields(cls: type, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, annotation) of every setting in a settings class, sections walked in order."""
    hints = get_type_hints(cls)
    for f in fields(cls):
        if not f.metadata.get("setting", True):
            continue
        hint = hints[f.name]
        if isinstance(hint, type) and is_dataclass(hint):
            yield from _typed_fields(hint, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", hint


def _make(cls: type, values: dict[str, Any], prefix: str) -> Any:
    hints = get_type_hints(cls)
    kwargs = {}
    for f in fields(cls):
        if not f.metadata.get("setting", True):
            continue
        hint = hints[f.name]
        if isinstance(hint, type) and is_dataclass(hint):
            kwargs[f.name] = _make(hint, values, f"{prefix}{f.name}.")
        else:
            kwargs[f.name] = values[f"{prefix}{f.name}"]
    return cls(**kwargs)


def _build(values: dict[str, Any], path: Path | None = None) -> Settings:
    settings: Settings = _make(Settings, values, "")
    return dataclasses.replace(settings, path=path) if path is not None else settings


def _runtime_types(annotation: Any) -> tuple[type, ...]:
    if isinstance(annotation, UnionType):
        return tuple(t for arg in get_args(annotation) for t in _runtime_types(arg))
    return (get_origin(annotation) or annotation,)


def registry_mismatches() -> list[str]:
    """Where the typed settings and the registry disagree (names, order, types); empty when they agree."""
    typed = dict(_typed_fields(Settings))
    problems = []
    if list(typed) != list(SETTINGS_BY_KEY):
        missing = [k for k in SETTINGS_BY_KEY if k not in typed]
        extra = [k for k in typed if k not in SETTINGS_BY_KEY]
        problems.append(f"keys differ: not typed {missing}, not in the registry {extra}"
                        if missing or extra else "keys in another order")
    for key, annotation in typed.items():
        setting = SETTINGS_BY_KEY.get(key)
        if setting is None:
            continue
        declared = setting.type if isinstance(setting.type, tuple) else (setting.type,)
        if set(_runtime_types(annotation)) != set(declared):
            problems.append(f"{key}: typed {annotation}, registry {setting.type}")
        args = get_args(annotation)
        if setting.map_value_type is not None and args:
            values = setting.map_value_type if isinstance(setting.map_value_type, tuple) else (
                setting.map_value_type,)
            if set(_runtime_types(args[-1])) != set(values):
                problems.append(f"{key}: typed values {args[-1]}, registry {setting.map_value_type}")
    return problems


def defaults() -> Settings:
    return _build({s.key: s.default for s in SETTINGS})


def parse(data: dict[str, Any], source: Path | None = None) -> Settings:
    values = {s.key: s.default for s in SETTINGS}
    for key, value in _flatten(data).items():
        setting = SETTINGS_BY_KEY.get(key)
        if setting is None:
            raise ConfigError(f"config: unknown key {key}")
        _check_value(setting, value)
        values[key] = float(value) if setting.type is float else value
    _check_together(values)
    return _build(values, source)


def _check_together(values: dict[str, Any]) -> None:
    """Rules that join two settings. HH:MM strings order as the times do ("24:00" last)."""
    start, end = values["touchpoints.send_window_start"], values["touchpoints.send_window_end"]
    if end <= start:
        raise ConfigError(f"config: touchpoints.send_window_end ({end}) must be after "
                          f"touchpoints.send_window_start ({start})")


def load(path: str | Path | None = None) -> Settings:
    """Load the config: the given path, else `$EHCP_CONFIG`, else ./config.toml, else defaults."""
    explicit = path or os.environ.get("EHCP_CONFIG")
    candidate = Path(explicit) if explicit else Path("config.toml")
    if not candidate.exists():
        if explicit:
            raise ConfigError(f"config: file not found: {candidate}")
        return defaults()
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config: {candidate} is not valid TOML: {exc}") from None
    return parse(data, candidate)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)


def render_default_toml() -> str:
    """The commented default config.toml, from the registry (the committed file is this text)."""
    import textwrap

    lines = [
        "# ehcp-monitor configuration. Every setting, its default and meaning: docs/configuration.md.",
        "# Secrets never go here: settings ending in _env name the environment variable holding one.",
        "# The store URL may also come from EHCP_DATABASE_URL, which wins over database.url.",
    ]
    section = None
    for s in SETTINGS:
        head, name = s.key.rsplit(".", 1)
        if head != section:
            section = head
            lines += ["", f"[{head}]"]
        lines += ["# " + line for line in textwrap.wrap(s.doc.replace("`", ""), 96)]
        lines.append(f"{name} = {_toml_value(s.default)}")
    return "\n".join(lines) + "\n"


def render_settings_doc() -> str:
    """The settings table of docs/configuration.md (a test keeps the doc equal to this)."""
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        rows.append(f"| `{s.key}` | `{_toml_value(s.default)}` | {s.doc} |")
    return "\n".join(rows) + "\n"
