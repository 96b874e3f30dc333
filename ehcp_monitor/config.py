"""Configuration: every setting is declared once here, with its type, default and meaning.

`config.toml` overrides the defaults. An unknown key or a bad value stops the program at start
with exit 2 and one line naming the key. Secrets never live here: settings ending in `_env`
name the environment variable that holds the secret.
"""

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

from ehcp_monitor.errors import ConfigError

MEASURE_CODES = (
    "DECIDE_6W",
    "ADVICE_6W",
    "DRAFT_LOCAL",
    "NOT_ISSUE_16W",
    "FINAL_20W",
    "REVIEW_12M",
    "REVIEW_EY",
    "REVIEW_DECISION_4W",
    "AMEND_FINAL_8W",
    "PHASE_TRANSFER",
)
# Rate KPIs of the board pack that can carry a target (docs/board-pack.md).
TARGET_KPIS = (
    "final_20w", "final_20w_ex", "decide_6w", "not_issue_16w", "review_decision_4w",
    "review_12m", "review_ey", "amend_8w", "phase_transfer", "qa_good",
)
JOB_NAMES = ("nightly", "weekly_late_list", "board_pack", "dispatch_touchpoints")
STAGES = (
    "request_received",
    "decision_to_assess",
    "decision_not_to_assess",
    "draft_plan_issued",
    "final_plan_issued",
    "decision_not_to_issue",
    "delay_notice",
    "review_upcoming",
    "review_decision",
    "amended_plan_issued",
)


@dataclass(frozen=True)
class Setting:
    key: str  # dotted: section.name
    type: type | tuple[type, ...]
    default: Any
    doc: str
    check: Callable[[Any], str | None] | None = None  # returns a problem, or None
    # For table-valued settings: allowed keys (None: any) and the type of each value.
    map_keys: tuple[str, ...] | None = None
    map_value_type: type | tuple[type, ...] | None = None


def _positive(v):
    return None if v > 0 else "must be greater than 0"


def _non_negative(v):
    return None if v >= 0 else "must be 0 or more"


def _share(v):
    return None if 0 <= v <= 1 else "must be a share between 0 and 1"


def _one_of(*choices):
    def check(v):
        return None if v in choices else f"must be one of {', '.join(choices)}"

    return check


def _date_format(v):
    from ehcp_monitor.domain.date_forms import DECLARABLE

    return None if v in DECLARABLE else "must be one of " + ", ".join(DECLARABLE)


def _go_live(v):
    if isinstance(v, datetime):
        return "must be a date (2026-04-01), not a date and time"
    if isinstance(v, date) or v == "":
        return None
    try:
        date.fromisoformat(v)
    except ValueError:
        return "must be a date (2026-04-01 or \"2026-04-01\") or empty"
    return None


def _env_name(v):
    return None if re.fullmatch(r"[A-Z_][A-Z0-9_]*", v) else "must be an environment variable name"


def _cron(v):
    from ehcp_monitor.scheduling.cron import cron_problem

    return cron_problem(v)


def _email_list(v):
    bad = [a for a in v if not isinstance(a, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", a)]
    return f"not an email address: {bad[0]!r}" if bad else None


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
            "the first planning run that finds the outbox empty sets it to its own as-of date and keeps "
            "it in the store (docs/going-live.md).", _go_live),
    Setting("touchpoints.hold_above", int, 0, "A planning run that would queue more new emails than "
            "this holds them all for an operator (`touchpoints release` / `discard`). 0: automatic, "
            "3 x the median of the last 14 planning runs that held nothing, and at least 50.",
            _non_negative),
    Setting("touchpoints.delay_repeat_days", int, 28, "A delay notice repeats this often while a "
            "clock stays overdue.", _positive),
    Setting("touchpoints.review_notice_days", int, 56, "Days before a review is due that "
            "`review_upcoming` fires.", _positive),
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
    # [late_list]
    Setting("late_list.out_dir", str, "reports-out/late-list", "Where the weekly list is written."),
    Setting("late_list.recipients", list, [], "Senior team email addresses the list is sent to.",
            _email_list),
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
    # [schedule]
    Setting("schedule.timezone", str, "Europe/London", "Timezone the cron expressions are read in."),
    *(
        s
        for job, cron, grace, max_age in (
            ("nightly", "30 1 * * mon-sun", 6, 26),
            ("weekly_late_list", "0 7 * * mon", 6, 24 * 7 + 2),
            ("board_pack", "0 6 2 * *", 48, 24 * 32),
            ("dispatch_touchpoints", "*/15 7-20 * * mon-sun", 1, 24),
        )
        for s in (
            Setting(f"schedule.{job}.cron", str, cron, f"When `{job}` runs (5-field cron; day names "
                    "for days of the week).", _cron),
            Setting(f"schedule.{job}.misfire_grace_hours", (int, float), grace,
                    f"How late `{job}` may still start after a missed time.", _positive),
            Setting(f"schedule.{job}.max_age_hours", (int, float), max_age,
                    f"`health` complains when `{job}` last succeeded longer ago than this.", _positive),
            Setting(f"schedule.{job}.enabled", bool, True, f"Whether `serve` schedules `{job}`."),
        )
    ),
)


# Checks at start that need more than a value's type (issue 15): a config that cannot work stops
# every command with exit 2 and one line naming the key, before anything runs. Kept together
# here and applied to the registry below. Each raises its own ConfigError where the usual
# "(got VALUE)" must not be printed (a URL may carry a password).
def _timezone(v):
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(v)
    except Exception:  # ZoneInfoNotFoundError, or ValueError for a name that is not a zone key
        return "must be an IANA time zone name, such as Europe/London"
    return None


_ADDRESS = r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+"


def _one_address(v, *, empty_ok=False):
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


def _review_codes(v):
    for code, outcome in v.items():
        if not isinstance(outcome, str) or outcome.strip().lower() not in ("maintain", "amend", "cease"):
            raise ConfigError(f"config: ingest.review_outcome_codes.{code} must be maintain, amend or cease "
                              f"(got {outcome!r})")
    return None


def _store_url(v):
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


def _both(first, second):
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
}
SETTINGS = tuple(
    type(s)(**{**vars(s), "check": _both(s.check, _START_CHECKS[s.key])}) if s.key in _START_CHECKS else s
    for s in SETTINGS
)
SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}


def _flatten(data: dict, prefix: str = "") -> dict[str, Any]:
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


class Settings:
    """Resolved settings: `settings.rules.very_late_days`, or `settings["rules.very_late_days"]`."""

    def __init__(self, values: dict[str, Any], source: Path | None = None):
        self._values = values
        self.source = source
        tree: dict[str, Any] = {}
        for key, value in values.items():
            node = tree
            *parents, leaf = key.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value
        for name, section in tree.items():
            setattr(self, name, _namespace(section))

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def very_late_days(self, measure: str) -> int:
        return self._values["rules.very_late_days_by_measure"].get(
            measure, self._values["rules.very_late_days"]
        )

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some dotted keys changed (`replace(**{"rules.due_soon_days": 7})`)."""
        values = dict(self._values)
        for key, value in changes.items():
            if key not in SETTINGS_BY_KEY:
                raise ConfigError(f"config: unknown key {key}")
            _check_value(SETTINGS_BY_KEY[key], value)
            values[key] = value
        return Settings(values, self.source)


def _namespace(tree: dict) -> SimpleNamespace:
    return SimpleNamespace(**{k: _namespace(v) if isinstance(v, dict) and k not in (
        "review_outcome_codes", "very_late_days_by_measure", "notify_templates", "targets"
    ) else v for k, v in tree.items()})


def defaults() -> Settings:
    return Settings({s.key: s.default for s in SETTINGS})


def parse(data: dict, source: Path | None = None) -> Settings:
    values = {s.key: s.default for s in SETTINGS}
    for key, value in _flatten(data).items():
        setting = SETTINGS_BY_KEY.get(key)
        if setting is None:
            raise ConfigError(f"config: unknown key {key}")
        _check_value(setting, value)
        values[key] = float(value) if setting.type is float else value
    return Settings(values, source)


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
