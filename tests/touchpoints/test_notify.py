"""The Notify transport against a local HTTP server that checks what GOV.UK Notify checks."""

import contextlib
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.touchpoints import dispatch_touchpoints
from ehcp_monitor.transports import transport_for
from tests.notify_standin import API_KEY, NotifyHandler, running_notify
from tests.touchpoints.conftest import AS_OF, NOW, tp_settings

TEMPLATE_ID = "5e9a4f3c-2d1b-4c8a-9f7e-6a5b4c3d2e1f"


@pytest.fixture
def notify(monkeypatch):
    monkeypatch.setenv("EHCP_NOTIFY_API_KEY", API_KEY)
    with contextlib.ExitStack() as stack:

        def start(statuses=()):
            server = stack.enter_context(running_notify(statuses))
            settings = tp_settings().replace(**{
                "touchpoints.transport": "notify",
                "touchpoints.notify_base_url": server.base_url,
                "touchpoints.notify_templates": {"request_received": TEMPLATE_ID},
                "touchpoints.smtp_timeout_seconds": 5,
            })
            return server, settings

        yield start


def _row(engine):
    with engine.connect() as conn:
        return conn.execute(select(Touchpoint.__table__).where(Touchpoint.status != "suppressed")).one()


def test_notify_gets_a_signed_request_with_template_personalisation_and_reference(one_email, notify):
    server, settings = notify()
    assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)["sent"] == 1
    assert server.problems == []
    [body] = server.accepted
    row = _row(one_email)
    assert body["email_address"] == "carol@example.org"
    assert body["template_id"] == TEMPLATE_ID
    assert body["reference"] == f"tp-{row.id}"  # no personal data in the reference
    assert body["personalisation"]["case_ref"] == "R1"
    assert "R1" in body["personalisation"]["subject"] and "Carol" not in body["personalisation"]["subject"]
    assert "decide whether to carry out an assessment" in body["personalisation"]["body"]
    assert row.provider_ref and row.status == "sent"


@pytest.mark.parametrize("status, outcome", [(429, "retry"), (500, "retry"), (503, "retry"),
                                             (400, "failed"), (403, "failed"), (502, "unknown"), (504, "unknown")])
def test_notify_errors_are_retried_or_permanent(one_email, notify, status, outcome):
    server, settings = notify([status])
    counts = dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)
    assert counts[outcome] == 1
    later = dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW + timedelta(hours=1))
    assert later["sent"] == (1 if outcome == "retry" else 0)
    assert len(server.accepted) == later["sent"]


def test_a_stage_without_a_notify_template_fails_permanently(one_email, notify):
    server, settings = notify()
    settings = settings.replace(**{"touchpoints.notify_templates": {}})
    assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)["failed"] == 1
    assert server.accepted == []


def test_missing_api_key_is_a_configuration_error(monkeypatch):
    monkeypatch.delenv("EHCP_NOTIFY_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="notify_api_key_env"):
        transport_for(tp_settings().replace(**{"touchpoints.transport": "notify"}))


def test_notify_unreachable_is_retried(one_email, monkeypatch):
    from tests.touchpoints.conftest import free_port

    monkeypatch.setenv("EHCP_NOTIFY_API_KEY", API_KEY)
    settings = tp_settings().replace(**{
        "touchpoints.transport": "notify", "touchpoints.notify_base_url": f"http://127.0.0.1:{free_port()}",
        "touchpoints.notify_templates": {"request_received": TEMPLATE_ID},
    })
    assert dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)["retry"] == 1


def test_notify_answering_too_late_is_unknown_not_retried(one_email, notify, monkeypatch):
    import time

    _server, settings = notify()
    settings = settings.replace(**{"touchpoints.smtp_timeout_seconds": 1})
    original = NotifyHandler.do_POST

    def slow(self):
        time.sleep(2)
        original(self)

    monkeypatch.setattr(NotifyHandler, "do_POST", slow)
    counts = dispatch_touchpoints(one_email, settings, as_of=AS_OF, now=NOW)
    assert counts["unknown"] == 1 and counts["retry"] == 0


# --- the text message of each stage (reports/emails/sms/) ---------------------------------------

# The longest value each field can take: a case reference at its canonical maximum (64), the
# longest short date ("30 September 2026"), a team phone number of 16 characters.
WORST = {
    "case_ref": "R" * 64,
    "team_phone": "+44 20 7946 0000",
    "date": "2026-09-30",
}
# Stages whose text cannot fit one 160-character message at the worst case, with that length
# (docs/touchpoints.md, Text messages): each still fits two (306).
OVER_160 = {"decision_not_to_assess": 180, "decision_not_to_issue": 164, "decision_to_assess": 197,
            "draft_plan_issued": 172,  # the views' due date passed by the day it goes
            "request_received": 186}  # the decision's due date passed by the day it goes
# GSM 03.38 basic characters: anything else makes a text Unicode, and one message holds 70.
GSM = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
          "¿abcdefghijklmnopqrstuvwxyzäöñüà")


def _sms(stage, variant, *, case_ref, team_phone, date_value, sent_on=None, **more):
    from ehcp_monitor.touchpoints.templates import _environment, template_variables

    settings = tp_settings().replace(**{"touchpoints.team_phone": team_phone})
    facts = {k: date_value for k in ("received_date", "decision_due", "decision_date", "final_due", "draft_date",
                                      "comments_by", "issue_date", "review_due", "meeting_date", "next_date")}
    facts |= {"advice_types": ["educational_psychology"], "case_officer": "O" * 100, "team": "T" * 100,
              "stage_20w": "awaiting_advice_requests", "next_measure": "FINAL_20W", "final_late": False,
              "late_steps": [{"measure": "FINAL_20W", "item": None, "due_date": date_value, "days_late": 300,
                              "very_late": True}]}
    facts |= more
    variables = template_variables(stage=stage, case_ref=case_ref, event_date=date_value, variant=variant,
                                   context=facts, settings=settings, contact_name="C" * 200, sent_on=sent_on)
    text = _environment(settings.touchpoints.template_dir).get_template(f"sms/{stage}.txt.j2").render(variables)
    return " ".join(text.split())  # a text is one paragraph


def _sms_cases():
    from ehcp_monitor.config import STAGES

    for stage in STAGES:
        for variant in (("maintain", "amend", "cease", None) if stage == "review_decision" else (None,)):
            yield stage, variant


@pytest.mark.parametrize("stage, variant", list(_sms_cases()))
def test_each_stage_has_a_short_text(stage, variant, record_property):
    worst = _sms(stage, variant, case_ref=WORST["case_ref"], team_phone=WORST["team_phone"],
                 date_value=WORST["date"])
    typical = _sms(stage, variant, case_ref="R-12345", team_phone="01234 567890", date_value="2026-05-04")
    # The lengths (docs/touchpoints.md, Text messages) land in a --junitxml report.
    record_property("sms_characters_worst", len(worst))
    record_property("sms_characters_typical", len(typical))
    assert "R-12345" in typical and "01234 567890" in typical and "{" not in typical
    assert "C" * 200 not in worst and "O" * 100 not in worst  # no names in a text
    assert set(worst) <= GSM
    assert len(typical) <= 160
    assert len(worst) <= OVER_160.get(stage, 160)
    assert len(worst) <= 306  # two messages at most
    # Sent after every date in it (a deadline told as passed): the same limits.
    late = _sms(stage, variant, case_ref=WORST["case_ref"], team_phone=WORST["team_phone"],
                date_value=WORST["date"], sent_on=date(2026, 12, 1))
    assert len(late) <= OVER_160.get(stage, 160) and set(late) <= GSM and "{" not in late
    # A request received whose decision is in the records (the neutral wording): the same limits.
    decided = _sms(stage, variant, case_ref=WORST["case_ref"], team_phone=WORST["team_phone"],
                   date_value=WORST["date"], decided=True)
    assert len(decided) <= OVER_160.get(stage, 160) and set(decided) <= GSM and "{" not in decided
    # A draft whose final plan, or the decision not to issue one, is in the records: the same limits.
    for final_outcome in ("issued", "not_issued"):
        ended = _sms(stage, variant, case_ref=WORST["case_ref"], team_phone=WORST["team_phone"],
                     date_value=WORST["date"], sent_on=date(2026, 12, 1), final_outcome=final_outcome)
        assert len(ended) <= OVER_160.get(stage, 160) and set(ended) <= GSM and "{" not in ended


@pytest.mark.parametrize("stage, variant", list(_sms_cases()))
def test_each_text_says_which_child_and_where_to_get_advice(stage, variant):
    """The whole text (templates.render_text): the child's reference first, the stage's words, the
    signposts in brief last; two messages (306 characters) at typical values."""
    from ehcp_monitor.touchpoints.templates import render_text, template_variables

    settings = tp_settings().replace(**{
        "touchpoints.sendiass_name": "Harbourside SENDIASS", "touchpoints.sendiass_phone": "0300 123 4567",
        "touchpoints.local_offer_url": "https://www.harbourside.gov.uk/local-offer"})
    facts = {k: "2026-05-04" for k in ("received_date", "decision_due", "decision_date", "final_due", "draft_date",
                                        "comments_by", "issue_date", "review_due", "meeting_date", "next_date")}
    facts |= {"advice_types": [], "stage_20w": "drafting", "next_measure": "FINAL_20W", "final_late": False,
              "late_steps": [], "child_name": "Sam"}
    variables = template_variables(stage=stage, case_ref="R-12345", event_date="2026-05-04", variant=variant,
                                   context=facts, settings=settings, contact_name="Carol Smith")
    text = render_text(stage, variables, settings)
    assert text.startswith("About Sam: ")
    assert text.endswith("Free advice: Harbourside SENDIASS 0300 123 4567. "
                         "Local Offer: https://www.harbourside.gov.uk/local-offer")
    assert "R-12345" in text and "Carol" not in text and "\n" not in text and ".." not in text
    assert set(text) <= GSM and len(text) <= 306
    nameless = render_text(stage, {**variables, "child_name": None, "sendiass_phone": "", "sendiass_url": "",
                                   "sendiass_email": "", "local_offer_url": ""}, settings)
    assert not nameless.startswith("About") and "Free advice" not in nameless and "Local Offer" not in nameless
