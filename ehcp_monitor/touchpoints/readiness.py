"""Ready to write to families: the details every message prints are the LA's own
(docs/going-live.md, Before the first send).

The shipped config carries example values (`Example Council`, `01234 567890`, `example.gov.uk`
addresses) so that the demo reads well. A printed detail is an example when it is any of them
(under any setting, written any usual way), is on a domain kept for examples, or, for a name, has
the word "example" in it. A message with them would send a family to a phone number
and a SENDIASS that do not exist, so dispatch through SMTP or GOV.UK Notify refuses to send (exit
2, one line) while any is left, or while a detail every message needs is empty. The file outbox
(`touchpoints.transport = "file"`, the demo's) reaches no family: there they are a warning.
"""

import re
from email.utils import parseaddr
from urllib.parse import urlsplit

from ehcp_monitor.config import SETTINGS_BY_KEY, Settings
from ehcp_monitor.errors import ConfigError

# Printed in every message: each must be set, and not to an example.
REQUIRED = ("la.name", "touchpoints.team_email", "touchpoints.team_phone", "touchpoints.local_offer_url")
# Printed when set: none may be an example. `from_address` is on every email.
PRINTED = ("touchpoints.from_address", "touchpoints.reply_to", "touchpoints.sendiass_name",
           "touchpoints.sendiass_phone", "touchpoints.sendiass_email", "touchpoints.sendiass_url")
SENDIASS_CONTACTS = ("touchpoints.sendiass_phone", "touchpoints.sendiass_email", "touchpoints.sendiass_url")
# Domains reserved for examples and tests (RFC 2606: example.com, .org and .net, and the top-level
# domains .example, .test, .invalid and .localhost), and the shipped ones (example.gov.uk,
# example.org.uk): a host with a label `example` below its top level, or one of those top levels.
RESERVED_TOP_LEVELS = frozenset({"example", "test", "invalid", "localhost"})


def _host(value: str) -> str | None:
    """The host of a web address or an email address (display name allowed), else None."""
    if "://" in value:
        return urlsplit(value).hostname
    address = parseaddr(value)[1]
    return address.rpartition("@")[2].lower() if "@" in address else None


def _on_example_domain(value: str) -> bool:
    host = _host(value)
    if not host:
        return False
    labels = host.rstrip(".").split(".")
    return labels[-1] in RESERVED_TOP_LEVELS or "example" in labels[:-1]


def _value(settings: Settings, key: str) -> str:
    section, _, name = key.rpartition(".")
    return str(getattr(getattr(settings, section), name) or "").strip()


def _comparable(value: str) -> str:
    """A phone number by its digits, anything else without case or spacing: `01234567890` is the
    shipped `01234 567890`, `example council` the shipped `Example Council`."""
    digits = re.sub(r"\D", "", value.replace("(0)", ""))
    if digits and re.fullmatch(r"[\d\s()+-]+", value):
        return re.sub(r"^(0044|44)", "0", digits) if value.lstrip().startswith(("+", "00")) else digits
    return " ".join(value.casefold().split())


# Names a family reads (the LA's, the SENDIASS's): "Example" as a word is never a real one.
NAMES = ("la.name", "touchpoints.sendiass_name")
EXAMPLE_WORD = re.compile(r"\bexample\b", re.IGNORECASE)


def _shipped_values() -> frozenset[str]:
    """Every shipped example among the printed details, whichever setting ships it: the SENDIASS
    example phone given as the team's phone is as wrong as left where it was."""
    return frozenset(_comparable(str(SETTINGS_BY_KEY[key].default)) for key in (*REQUIRED, *PRINTED)
                     if str(SETTINGS_BY_KEY[key].default).strip())


def _is_example(key: str, value: str) -> bool:
    if not value:
        return False
    return (_comparable(value) in _shipped_values() or _on_example_domain(value)
            or key in NAMES and EXAMPLE_WORD.search(value) is not None)


def example_settings(settings: Settings) -> list[str]:
    """What stops messages going to families: each a short phrase naming the setting."""
    problems = []
    for key in (*REQUIRED, *PRINTED):
        value = _value(settings, key)
        if _is_example(key, value):
            problems.append(f"{key} is still the example {value!r}")
        elif key in REQUIRED and not value:
            problems.append(f"{key} is empty")
    if not any(_value(settings, key) for key in SENDIASS_CONTACTS):
        problems.append("no way to reach SENDIASS is set (touchpoints.sendiass_phone, _email or _url)")
    return problems


def require_ready(settings: Settings) -> None:
    """Refuse (ConfigError, exit 2) while a message would carry an example or miss a detail."""
    problems = example_settings(settings)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(f"touchpoints: nothing sent: {problems[0]}{more}; set the LA's own in config.toml "
                          "(docs/going-live.md, Before the first send)")
