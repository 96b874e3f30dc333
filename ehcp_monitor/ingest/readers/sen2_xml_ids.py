"""Stable record IDs for the SEN2 XML, which carries none (docs/input-formats.md, SEN2 XML).

Each ID is a keyed hash (HMAC-SHA256) of the fields that identify the record, so the same person,
request and plan get the same ID from every file while those fields are unchanged:

- person: the UPN; else the unique learner number; else surname, forename and date of birth
  (names case- and space-folded, so a change of capitals or spacing does not re-key anyone; and
  invisible format characters, such as a zero-width space, dropped from all of them);
- request: the person's identity and `ReceivedDate`, and `RequestSource` too when the person has
  another request received the same day (two same-day requests from different sources are two
  requests; from the same source they cannot be told apart). A missing `ReceivedDate` reads as
  empty text, so the request still gets an ID and validation reports the missing date itself (V001
  on a current request, a warning W001 on a historical one). A historical request (`RequestOutcome`
  H) whose identity another request of the person shares (the same, a missing or a placeholder date)
  also gets its ordinal among the person's historical requests of that identity, in file order: its
  dates are information only (docs/input-formats.md, Bad input), so it must not be quarantined for
  them. That ID is stable while the file lists those requests in the same order;
- plan: the request's identity and the named plan's `StartDate`, a missing one read as empty text
  (a historical plan with no start date loads with its reviews, W001).

Two records whose identifying fields are equal get the same ID, and validation quarantines both
(V004): the data team sees them rather than the monitor guessing which is which. That holds for
people, plans and current (not H) requests. A person whose identifying fields are all missing gets
no ID (V001), and neither do their requests and plans.

The hash key is secret: `EHCP_ID_KEY` from the environment. A plain or publicly salted hash of a
UPN or a date of birth could be reversed by trying every candidate (UPNs and birth dates are small
spaces; LA codes and any salt in this source code are public); with a secret key it cannot.
Without the variable a built-in key is used and a warning is logged, since anyone with the source
could then run that dictionary attack. Changing the key changes every ID, so the monitor's own
history (notifications, overdue history) no longer matches: set it once and keep it like a password.
"""

import hmac
import os

import polars as pl

from ehcp_monitor.logs import get_logger

log = get_logger(__name__)

KEY_ENV = "EHCP_ID_KEY"
# Public fallback: IDs stay stable and free of personal data, but are not proof against a
# dictionary attack by someone holding this source. The warning says so.
FALLBACK_KEY = b"ehcp-monitor/sen2-xml-ids/v1 (set EHCP_ID_KEY)"
MIN_KEY_CHARS = 16
SEP = "\x1f"  # unit separator: cannot occur in XML text, so fields never run into each other
DIGEST_BYTES = 8  # 64 bits: a chance collision among a national 2 million records is about 1 in 10^7
PREFIX = {"person": "P-", "request": "R-", "plan": "PL-"}


def id_key() -> bytes:
    key = os.environ.get(KEY_ENV, "")
    if key:
        if len(key) < MIN_KEY_CHARS:
            log.warning("EHCP_ID_KEY is short: use at least 32 random characters")
        return key.encode("utf-8")
    log.warning("EHCP_ID_KEY is not set: SEN2 XML record IDs use the built-in public key")
    return FALLBACK_KEY


# Invisible format characters (zero-width space and joiners, soft hyphen, a stray BOM) pasted into a
# value: they would re-key the person while the value reads the same.
_INVISIBLE = r"\p{Cf}+"


def _folded(column: str) -> pl.Expr:
    return (pl.col(column).str.replace_all(_INVISIBLE, "").str.to_lowercase().str.replace_all(r"\s+", " ")
            .str.strip_chars())


def _squeezed(column: str) -> pl.Expr:
    return pl.col(column).str.replace_all(r"[\s\p{Cf}]+", "")


def person_identity(upn: str, uln: str, surname: str, forename: str, birth: str) -> pl.Expr:
    """The text that identifies a person (never stored or logged: it holds the UPN or name)."""
    names = [_folded(surname), _folded(forename), pl.col(birth).str.replace_all(_INVISIBLE, "").str.strip_chars()]
    return (
        pl.when(pl.col(upn).is_not_null()).then(pl.lit("upn" + SEP) + _squeezed(upn).str.to_uppercase())
        .when(pl.col(uln).is_not_null()).then(pl.lit("uln" + SEP) + _squeezed(uln))
        .when(pl.any_horizontal([n.is_not_null() for n in names]))
        .then(pl.concat_str([pl.lit("name"), *[n.fill_null("") for n in names]], separator=SEP))
    )


def request_identity(person: str, received: str, source: str, outcome: str) -> pl.Expr:
    """Person and received date (missing: empty); the request source as well only when the person has
    another request received that day (so a correction of the source does not re-key the usual single
    request); and, for a historical request (outcome H) whose identity is shared, its ordinal among the
    historical requests of that identity in file order (so its dates cannot get it quarantined)."""
    date = pl.col(received).str.strip_chars().fill_null("")
    same_day = pl.len().over(pl.col(person), date) > 1
    identity = pl.when(same_day).then(
        pl.concat_str([child_identity(person, received), pl.col(source).str.strip_chars().fill_null("")],
                      separator=SEP)
    ).otherwise(child_identity(person, received))
    historical = (_squeezed(outcome).str.to_uppercase() == "H").fill_null(False)
    shared = pl.len().over(identity) > 1
    ordinal = historical.cast(pl.Int64).cum_sum().over(identity)
    return pl.when(historical & shared).then(
        pl.concat_str([identity, pl.lit("h") + ordinal.cast(pl.Utf8)], separator=SEP)
    ).otherwise(identity)


def child_identity(parent: str, field: str) -> pl.Expr:
    """A request's (or plan's) identity: its parent's identity and its own date, a missing date read as
    empty text; missing if the parent's is."""
    return pl.concat_str([pl.col(parent), pl.col(field).str.strip_chars().fill_null("")], separator=SEP)


def derive_ids(identities: pl.Series, kind: str, key: bytes) -> pl.Series:
    # One HMAC per record: polars has no keyed hash, and hmac.digest is the C fast path (~0.5 us).
    prefix, domain = PREFIX[kind], (kind + SEP).encode()
    ids = [
        None if text is None
        else prefix + hmac.digest(key, domain + text.encode("utf-8"), "sha256")[:DIGEST_BYTES].hex()
        for text in identities.to_list()
    ]
    return pl.Series(identities.name, ids, dtype=pl.Utf8)
