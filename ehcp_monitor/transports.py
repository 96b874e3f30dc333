"""Sending one email: smtp, GOV.UK Notify, .eml files, or nothing (dry run), behind one interface;
and one text message or letter through GOV.UK Notify (docs/touchpoints.md, Channels).

Used by touchpoint dispatch and by the weekly late list. `transport_for(settings).send(email)`
returns a provider reference or raises:
- `TransientSendError`: certainly not delivered; safe to try again later;
- `PermanentSendError`: refused; trying again will not help;
- `DeliveryUncertain` (a PermanentSendError): the message may have gone (the connection broke
  after the body was handed over). Never retried automatically: at most once, always.

Texts and letters (`NotifyTextTransport`, `NotifyLetterTransport`) raise the same three errors,
classified the same way, so each channel keeps the same at-most-once guarantee.

Transports never read the clock: `OutgoingEmail.date` (the Date header) comes from the caller.
"""

import io
import os
import re
import smtplib
import ssl
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from ehcp_monitor.config import Settings
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.private_files import write_private


class SendError(Exception):
    pass


class TransientSendError(SendError):
    pass


class PermanentSendError(SendError):
    pass


class DeliveryUncertain(PermanentSendError):
    pass


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str | None = None
    # (filename, content, mime type such as "application/vnd.openxmlformats-...")
    attachments: tuple[tuple[str, bytes, str], ...] = ()
    # Our own reference for the message (e.g. "tp-123"): never personal data.
    reference: str = ""
    date: datetime | None = None
    notify_template_id: str | None = None
    personalisation: dict[str, str] = field(default_factory=dict)


class Transport(Protocol):
    name: str
    paced: bool  # whether sends are spaced to `rate_per_minute` (providers yes, files no)

    def send(self, email: OutgoingEmail) -> str: ...


def _header(value: str, what: str) -> str:
    # A CR or LF in a header value would start a new header (injection): refuse, never fold.
    if "\r" in value or "\n" in value:
        raise PermanentSendError(f"{what} contains a line break")
    return value


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1] or "localhost"


def build_mime(email: OutgoingEmail, *, from_address: str, reply_to: str = "") -> EmailMessage:
    """The MIME message: text part, HTML alternative, attachments, Message-ID and Date."""
    if email.date is None:
        raise ValueError("OutgoingEmail.date is required (pass the dispatch time)")
    msg = EmailMessage()
    msg["From"] = _header(from_address, "from address")
    msg["To"] = _header(email.to, "recipient")
    if reply_to:
        msg["Reply-To"] = _header(reply_to, "reply-to")
    msg["Subject"] = _header(email.subject, "subject")
    msg["Date"] = format_datetime(email.date)
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@{_domain(from_address)}>"
    if email.reference:
        msg["X-Reference"] = _header(email.reference, "reference")
    msg.set_content(email.text)
    if email.html is not None:
        msg.add_alternative(email.html, subtype="html")
    for filename, content, mime in email.attachments:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=_header(filename, "attachment name"))
    return msg


class SmtpTransport:
    name = "smtp"
    paced = True

    def __init__(self, settings: Settings):
        tp = settings.touchpoints
        self.host, self.port, self.security = tp.smtp_host, tp.smtp_port, tp.smtp_security
        self.timeout = tp.smtp_timeout_seconds
        self.username = os.environ.get(tp.smtp_username_env) or None
        self.password = os.environ.get(tp.smtp_password_env) or ""
        self.from_address, self.reply_to = tp.from_address, tp.reply_to

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        smtp.ehlo()
        if self.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if self.username:
            smtp.login(self.username, self.password)
        return smtp

    def send(self, email: OutgoingEmail) -> str:
        msg = build_mime(email, from_address=self.from_address, reply_to=self.reply_to)
        try:
            smtp = self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            # A login problem is ours, not the recipient's: nothing was sent, try again later.
            raise TransientSendError(f"smtp login refused ({exc.smtp_code})") from None
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, "connect") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientSendError(f"smtp connect failed: {type(exc).__name__}") from None
        try:
            return self._transfer(smtp, msg, email.to)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def _transfer(self, smtp: smtplib.SMTP, msg: EmailMessage, to: str) -> str:
        try:
            code, _ = smtp.mail(self.from_address)
            if code != 250:
                raise _by_code(code, "MAIL FROM")
            code, _ = smtp.rcpt(to)
            if code not in (250, 251):
                raise _by_code(code, "RCPT TO")
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientSendError(f"smtp envelope failed: {type(exc).__name__}") from None
        except UnicodeEncodeError:
            # smtplib refuses it before a byte is sent: nothing is in doubt, and it never will go.
            raise PermanentSendError("smtp envelope: an address is not plain ASCII (internationalised "
                                     "addresses are not sent)") from None
        try:
            code, _ = smtp.data(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
        except smtplib.SMTPDataError as exc:
            raise _by_code(exc.smtp_code, "DATA") from None
        except (OSError, smtplib.SMTPException) as exc:
            # The body may have reached the server before the connection broke.
            raise DeliveryUncertain(f"smtp connection lost during DATA: {type(exc).__name__}") from None
        if code != 250:
            raise _by_code(code, "DATA")
        return msg["Message-ID"]


def _by_code(code: int, step: str) -> SendError:
    # RFC 5321: 4yz transient negative completion, 5yz permanent.
    if 400 <= code < 500:
        return TransientSendError(f"smtp {step} answered {code}")
    return PermanentSendError(f"smtp {step} answered {code}")


class NotifyTransport:
    name = "notify"
    paced = True

    def __init__(self, settings: Settings):
        self.client = _notify_client(settings)

    def send(self, email: OutgoingEmail) -> str:
        from notifications_python_client.utils import prepare_upload

        if not email.notify_template_id:
            raise PermanentSendError("no Notify template id for this email")
        personalisation = dict(email.personalisation)
        for n, (filename, content, _mime) in enumerate(email.attachments, start=1):
            personalisation[f"link_to_file_{n}"] = prepare_upload(io.BytesIO(content), filename=filename)
        return _notify_post(lambda: self.client.send_email_notification(
            email_address=_header(email.to, "recipient"),
            template_id=email.notify_template_id,
            personalisation=personalisation or None,
            reference=email.reference or None,
        ))


def _notify_client(settings: Settings) -> Any:
    tp = settings.touchpoints
    key = os.environ.get(tp.notify_api_key_env)
    if not key:
        raise ConfigError(f"config: touchpoints.notify_api_key_env: ${tp.notify_api_key_env} is not set")
    from notifications_python_client.notifications import NotificationsAPIClient

    return NotificationsAPIClient(key, base_url=tp.notify_base_url, timeout=tp.smtp_timeout_seconds)


def _notify_post(call: Callable[[], Any]) -> str:
    """Make one Notify request; its id, or the send error every channel raises alike."""
    from notifications_python_client.errors import HTTPError

    try:
        answer = call()
    except HTTPError as exc:
        cause = exc.__cause__
        if exc.response is None:
            if _never_reached(cause):
                raise TransientSendError(f"notify unreachable: {type(cause).__name__}") from None
            # The request may have arrived (a read timeout, a dropped connection).
            raise DeliveryUncertain(f"notify: no answer ({type(cause).__name__})") from None
        status = exc.status_code
        # A gateway's 502 or 504 answers for Notify, which may have taken the message before the
        # gateway gave up waiting: sending again could deliver it twice.
        if status in (502, 504):
            raise DeliveryUncertain(f"notify: a gateway answered {status}") from None
        if status == 429 or status >= 500:
            raise TransientSendError(f"notify answered {status}") from None
        raise PermanentSendError(f"notify answered {status}") from None
    return str(answer.get("id", ""))


def _never_reached(cause: BaseException | None) -> bool:
    """True when the request certainly never reached Notify (no connection was made)."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(cause, requests.ConnectTimeout):
        return True
    inner = cause.args[0] if cause is not None and cause.args else None
    return isinstance(getattr(inner, "reason", inner), NewConnectionError)


# --- text messages and letters (GOV.UK Notify) ----------------------------------------------------

Channel = Literal["email", "sms", "letter"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "letter")

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# A UK postcode (BS 7666 shapes), spaces optional: the last line Notify needs on a letter.
_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})")


def normalise_uk_mobile(value: str | None) -> str | None:
    """A UK mobile number as +447xxxxxxxxx, or None when `value` is not one.

    Accepts the usual ways of writing one: 07700 900123, +44 7700 900123, +44 (0)7700 900123,
    0044 7700 900123, 447700900123, with spaces, dashes, dots or brackets.
    """
    if not value:
        return None
    compact = re.sub(r"[\s\-.()]", "", value.replace("(0)", ""))
    for prefix in ("+44", "0044", "44", "0"):
        if compact.startswith(prefix):
            rest = compact[len(prefix):]
            break
    else:
        return None
    return f"+44{rest}" if re.fullmatch(r"7\d{9}", rest) else None


def normalise_postcode(value: str | None) -> str | None:
    """A UK postcode in capitals with one space ("SW1A 1AA"), or None when `value` is not one."""
    if not value:
        return None
    found = _POSTCODE.fullmatch(re.sub(r"\s+", "", value.upper()))
    return f"{found.group(1)} {found.group(2)}" if found else None


# Notify refuses a letter whose address line starts with one of these (its PostalAddress rules).
LETTER_LINE_REFUSED_START = tuple('@()=[]"\\/,<>~')


def addressee(name: str | None) -> str | None:
    """The contact's name as a letter's first address line, or None when there is none that Notify
    would accept ("(Mrs) Carol Smith" would sink the whole letter: it goes unnamed instead)."""
    name = (name or "").strip()
    return name if name and not name.startswith(LETTER_LINE_REFUSED_START) else None


def letter_address(lines: Sequence[str | None], postcode: str | None) -> tuple[str, ...] | None:
    """The address as Notify prints it: the non-blank lines, then the postcode as the last line.
    None when it cannot be posted (Notify needs at least 3 lines, at most 7, a UK postcode last,
    and refuses a line starting with LETTER_LINE_REFUSED_START: "(Flat 2)" is a data fault for
    the data team, not a letter to fail at Notify)."""
    kept = tuple(line.strip() for line in lines if line and line.strip())
    code = normalise_postcode(postcode)
    if code is None or not 2 <= len(kept) <= 6 or any(line.startswith(LETTER_LINE_REFUSED_START) for line in kept):
        return None
    return (*kept, code)


def choose_channel(email: str | None, mobile: str | None, address: tuple[Sequence[str | None], str | None] | None,
                   preferred: str | None) -> Channel | None:
    """How to reach a contact (docs/touchpoints.md, Channels): their `preferred_channel` when it is
    usable, else email, else text message, else letter; None when none is usable.

    Usable means: an email address of the form a@b.c; a UK mobile number (`normalise_uk_mobile`);
    an address of (lines, postcode) that `letter_address` accepts.
    """
    usable: dict[Channel, bool] = {
        "email": email is not None and _EMAIL.fullmatch(email.strip()) is not None,
        "sms": normalise_uk_mobile(mobile) is not None,
        "letter": address is not None and letter_address(*address) is not None,
    }
    for channel in CHANNELS:
        if channel == preferred and usable[channel]:
            return channel
    return next((c for c in CHANNELS if usable[c]), None)


@dataclass(frozen=True)
class OutgoingText:
    phone_number: str
    template_id: str | None
    personalisation: dict[str, str] = field(default_factory=dict)
    # Our own reference for the message (e.g. "tp-123"): never personal data.
    reference: str = ""


@dataclass(frozen=True)
class OutgoingLetter:
    address_lines: tuple[str, ...]  # without the postcode; blank lines are dropped
    postcode: str
    template_id: str | None
    personalisation: dict[str, str] = field(default_factory=dict)
    reference: str = ""


class TextTransport(Protocol):
    name: str
    paced: bool

    def send(self, text: OutgoingText) -> str: ...


class LetterTransport(Protocol):
    name: str
    paced: bool

    def send(self, letter: OutgoingLetter) -> str: ...


def _text_request(text: OutgoingText) -> tuple[str, str]:
    # Refused here, before any request: nothing can have gone, and trying again will not help.
    if not text.template_id:
        raise PermanentSendError("no Notify text message template id for this stage")
    number = normalise_uk_mobile(text.phone_number)
    if number is None:
        raise PermanentSendError("not a UK mobile number")
    return number, text.template_id


def _letter_request(letter: OutgoingLetter) -> tuple[dict[str, str], str]:
    if not letter.template_id:
        raise PermanentSendError("no Notify letter template id for this stage")
    address = letter_address(letter.address_lines, letter.postcode)
    if address is None:
        raise PermanentSendError("the address cannot be posted (two lines and a UK postcode needed, no line "
                                 "starting with one of @()=[]\"\\/,<>~)")
    lines = {f"address_line_{n}": line for n, line in enumerate(address, start=1)}
    clash = sorted(k for k in letter.personalisation if k.startswith("address_line_") or k == "postcode")
    if clash:
        raise PermanentSendError(f"personalisation must not set the address ({clash[0]})")
    return {**letter.personalisation, **lines}, letter.template_id


class NotifyTextTransport:
    name = "notify-sms"
    paced = True

    def __init__(self, settings: Settings):
        self.client = _notify_client(settings)
        self.sender_id = settings.touchpoints.sms_sender_id or None

    def send(self, text: OutgoingText) -> str:
        number, template_id = _text_request(text)
        return _notify_post(lambda: self.client.send_sms_notification(
            phone_number=number,
            template_id=template_id,
            personalisation=dict(text.personalisation) or None,
            reference=text.reference or None,
            sms_sender_id=self.sender_id,
        ))


class NotifyLetterTransport:
    name = "notify-letter"
    paced = True

    def __init__(self, settings: Settings):
        self.client = _notify_client(settings)

    def send(self, letter: OutgoingLetter) -> str:
        personalisation, template_id = _letter_request(letter)
        return _notify_post(lambda: self.client.send_letter_notification(
            template_id=template_id,
            personalisation=personalisation,
            reference=letter.reference or None,
        ))


class DryRunChannelTransport:
    """Sends no text or letter; keeps what it would have sent, after the same checks as Notify's."""

    name = "dry-run"
    paced = False

    def __init__(self) -> None:
        self.sent: list[OutgoingText | OutgoingLetter] = []

    def send(self, message: OutgoingText | OutgoingLetter) -> str:
        if isinstance(message, OutgoingText):
            _text_request(message)
        else:
            _letter_request(message)
        self.sent.append(message)
        return f"dry-run-{len(self.sent)}"


def text_transport_for(settings: Settings, *, dry_run: bool = False) -> TextTransport:
    """Texts go by GOV.UK Notify whatever `touchpoints.transport` is (no other provider yet)."""
    return DryRunChannelTransport() if dry_run else NotifyTextTransport(settings)


def letter_transport_for(settings: Settings, *, dry_run: bool = False) -> LetterTransport:
    """Letters go by GOV.UK Notify whatever `touchpoints.transport` is."""
    return DryRunChannelTransport() if dry_run else NotifyLetterTransport(settings)


class FileTransport:
    """Writes each email as an .eml file (the demo's transport; also handy for review)."""

    name = "file"
    paced = False

    def __init__(self, settings: Settings):
        self.folder = Path(settings.touchpoints.outbox_dir)
        self.from_address, self.reply_to = settings.touchpoints.from_address, settings.touchpoints.reply_to

    def send(self, email: OutgoingEmail) -> str:
        msg = build_mime(email, from_address=self.from_address, reply_to=self.reply_to)
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in email.reference) or uuid.uuid4().hex
        final = self.folder / f"{stem}.eml"
        partial = self.folder / f".{stem}.{uuid.uuid4().hex}.part"
        try:
            # An email carries case references and dates: owner-only, like the late list.
            write_private(partial, msg.as_bytes())
            os.replace(partial, final)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise TransientSendError(f"cannot write to the outbox folder: {exc.strerror}") from None
        return final.name


class DryRunTransport:
    """Sends nothing; keeps what it would have sent (for `dispatch --dry-run` and tests)."""

    name = "dry-run"
    paced = False

    def __init__(self, settings: Settings | None = None):
        self.from_address = settings.touchpoints.from_address if settings else "dry-run@localhost"
        self.sent: list[OutgoingEmail] = []

    def send(self, email: OutgoingEmail) -> str:
        if email.date is not None:
            build_mime(email, from_address=self.from_address)  # same checks as a real send
        self.sent.append(email)
        return f"dry-run-{len(self.sent)}"


def transport_for(settings: Settings, *, dry_run: bool = False) -> Transport:
    """The configured transport (`touchpoints.transport`), or the dry-run one."""
    if dry_run:
        return DryRunTransport(settings)
    kinds = {"smtp": SmtpTransport, "notify": NotifyTransport, "file": FileTransport}
    return kinds[settings.touchpoints.transport](settings)


__all__ = [
    "CHANNELS",
    "Channel",
    "DeliveryUncertain",
    "DryRunChannelTransport",
    "DryRunTransport",
    "FileTransport",
    "LetterTransport",
    "NotifyLetterTransport",
    "NotifyTextTransport",
    "NotifyTransport",
    "OutgoingEmail",
    "OutgoingLetter",
    "OutgoingText",
    "PermanentSendError",
    "SendError",
    "SmtpTransport",
    "TextTransport",
    "TransientSendError",
    "Transport",
    "build_mime",
    "choose_channel",
    "letter_address",
    "letter_transport_for",
    "normalise_postcode",
    "normalise_uk_mobile",
    "text_transport_for",
    "transport_for",
]
