"""Configuration: every setting is declared once here, with its type, default and meaning.

`config.toml` overrides the defaults. An unknown key or a bad value stops the program at start
with exit 2 and one line naming the key. Secrets never live here: settings ending in `_env`
name the environment variable that holds the secret.
"""

import os
import re
import tomllib
from dataclasses import dataclass
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
    return None if v in ("%Y-%m-%d", "%d/%m/%Y") else "must be %Y-%m-%d or %d/%m/%Y"


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
            "`%Y-%m-%d` (ISO) or `%d/%m/%Y` (UK). Never guessed from the data.", _date_format),
    Setting("source.sql_url_env", str, "EHCP_SOURCE_DATABASE_URL",
            "Environment variable holding the URL of the LA reporting database for `sql:` sources.",
            _env_name),
    # [ingest]
    Setting("ingest.max_reject_share", float, 0.05, "Refuse an ingest whose quarantined share of "
            "any table exceeds this (0.05 = 5 %). The previous snapshot is kept.", _share),
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
    Setting("touchpoints.la_name", str, "Example Council", "The council's name, used in emails."),
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
    # [board_pack]
    Setting("board_pack.out_dir", str, "reports-out/board-pack", "Where the board pack is written."),
    Setting("board_pack.new_la_code", str, "E06000051", "This LA's ONS code in DfE's published "
            "statistics (E06000051 = Shropshire)."),
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
