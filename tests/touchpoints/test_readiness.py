"""Nothing goes to a family while a message would carry the shipped example details
(touchpoints/readiness.py; docs/going-live.md, Before the first send)."""

import pytest
from sqlalchemy import select

from ehcp_monitor import config, logs
from ehcp_monitor.db.models import Touchpoint
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.touchpoints import dispatch_touchpoints, plan_touchpoints
from ehcp_monitor.touchpoints.readiness import example_settings, require_ready
from tests.conftest import LA_DETAILS
from tests.touchpoints.conftest import AS_OF, LIVE_SINCE, NOW, one_family, smtp_settings, store_case


def test_the_shipped_settings_are_examples_and_the_las_own_are_not():
    problems = example_settings(config.defaults())
    for key in ("la.name", "touchpoints.team_email", "touchpoints.team_phone", "touchpoints.local_offer_url",
                "touchpoints.from_address", "touchpoints.sendiass_name", "touchpoints.sendiass_phone",
                "touchpoints.sendiass_email", "touchpoints.sendiass_url"):
        assert any(p.startswith(f"{key} is still the example") for p in problems), key
    assert example_settings(config.defaults().replace(**LA_DETAILS)) == []


@pytest.mark.parametrize("changes, problem", [
    ({"touchpoints.team_phone": ""}, "touchpoints.team_phone is empty"),
    ({"touchpoints.local_offer_url": ""}, "touchpoints.local_offer_url is empty"),
    ({"touchpoints.sendiass_phone": "", "touchpoints.sendiass_email": "", "touchpoints.sendiass_url": ""},
     "no way to reach SENDIASS is set"),
    ({"touchpoints.reply_to": "replies@example.com"}, "touchpoints.reply_to is still the example"),
    ({"touchpoints.sendiass_url": "https://sendiass.example.org/advice"}, "touchpoints.sendiass_url is still"),
])
def test_a_missing_detail_or_an_example_address_is_named(changes, problem):
    problems = example_settings(config.defaults().replace(**{**LA_DETAILS, **changes}))
    assert len(problems) == 1 and problems[0].startswith(problem)
    with pytest.raises(ConfigError, match="nothing sent: .*docs/going-live.md") as refused:
        require_ready(config.defaults().replace(**{**LA_DETAILS, **changes}))
    assert refused.value.exit_code == 2 and "\n" not in str(refused.value)


def test_dispatch_by_smtp_with_the_example_details_sends_nothing_and_keeps_the_rows(engine, smtp_server):
    handler, port = smtp_server()
    store_case(engine, *one_family())
    example = smtp_settings(port).replace(**{k: config.SETTINGS_BY_KEY[k].default for k in LA_DETAILS})
    plan_touchpoints(engine, example, as_of=AS_OF)
    with pytest.raises(ConfigError, match=r"la.name is still the example 'Example Council' \(and 8 more\)"):
        dispatch_touchpoints(engine, example, as_of=AS_OF, now=NOW)
    assert handler.received == []
    with engine.connect() as conn:
        assert conn.execute(select(Touchpoint.status)).scalars().all() == ["pending"]
    # Once the LA's own details are set, the same row goes.
    assert dispatch_touchpoints(engine, smtp_settings(port), as_of=AS_OF, now=NOW)["sent"] == 1
    [(_to, message)] = handler.received
    assert "Harbourside SENDIASS" in message.get_body(("plain",)).get_content()


@pytest.fixture
def json_logs():
    logs.configure(json=True)  # to this test's stderr
    yield
    logs.configure()


def test_the_file_outbox_reaches_no_family_and_only_warns(engine, tmp_path, capsys, json_logs):
    store_case(engine, *one_family())
    settings = config.defaults().replace(**{"touchpoints.go_live": LIVE_SINCE, "touchpoints.transport": "file",
                                            "touchpoints.outbox_dir": str(tmp_path)})
    plan_touchpoints(engine, settings, as_of=AS_OF)
    assert dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)["sent"] == 1
    assert len(list(tmp_path.glob("*.eml"))) == 1
    warnings = [line for line in capsys.readouterr().err.splitlines() if "carry an example setting" in line]
    assert len(warnings) == 9 and "la.name is still the example" in warnings[0]


def test_smtp_with_the_example_details_is_refused_even_with_nothing_due(engine, smtp_server):
    """Refused before anything is claimed or counted: a row falling due while the run goes on
    cannot slip through."""
    _handler, port = smtp_server()
    example = smtp_settings(port).replace(**{"la.name": "Example Council"})
    with pytest.raises(ConfigError, match="la.name is still the example"):
        dispatch_touchpoints(engine, example, as_of=AS_OF, now=NOW)


def test_a_text_waiting_in_a_file_outbox_store_is_refused_before_anything_is_claimed(engine, tmp_path, monkeypatch):
    from tests.notify_standin import API_KEY

    monkeypatch.setenv("EHCP_NOTIFY_API_KEY", API_KEY)
    frames, results = one_family()
    frames["contacts"].append({"contact_id": "C2", "person_id": "P1", "role": "parent_carer", "name": "Dan",
                               "mobile": "07700 900123"})
    store_case(engine, frames, results)
    settings = config.defaults().replace(**{
        "touchpoints.go_live": LIVE_SINCE, "touchpoints.transport": "file", "touchpoints.outbox_dir": str(tmp_path),
        "touchpoints.notify_sms_templates": {"request_received": "0f1e2d3c-4b5a-4969-8877-665544332211"}})
    plan_touchpoints(engine, settings, as_of=AS_OF)
    with pytest.raises(ConfigError, match="nothing sent"):
        dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)
    with engine.connect() as conn:
        rows = conn.execute(select(Touchpoint.channel, Touchpoint.status, Touchpoint.transport)
                            .order_by(Touchpoint.channel)).all()
    assert [tuple(r) for r in rows] == [("email", "pending", None), ("sms", "pending", None)]
    assert list(tmp_path.glob("*.eml")) == []


def test_the_dry_run_says_what_is_not_ready(engine):
    store_case(engine, *one_family())
    settings = config.defaults().replace(**{"touchpoints.go_live": LIVE_SINCE, "touchpoints.transport": "smtp"})
    plan_touchpoints(engine, settings, as_of=AS_OF)
    counts = dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW, dry_run=True)
    assert counts["would_send"] == 1 and counts["not_ready"].startswith("la.name is still the example")
    ready = dispatch_touchpoints(engine, settings.replace(**LA_DETAILS), as_of=AS_OF, now=NOW, dry_run=True)
    assert "not_ready" not in ready


@pytest.mark.parametrize("key, value", [
    ("touchpoints.team_phone", "01234567890"),
    ("touchpoints.team_phone", "(01234) 567-890"),
    ("la.name", "example  council"),
    ("touchpoints.team_email", "send@harbourside.test"),
    ("touchpoints.local_offer_url", "https://local-offer.invalid/"),
    ("touchpoints.from_address", "send@council.example"),
    ("touchpoints.from_address", "SEN Team <send@harbourside.test>"),
    ("touchpoints.sendiass_url", "https://harbourside.test:8443/advice"),
    ("touchpoints.sendiass_url", "https://www.harbourside.test?x=1"),
    ("touchpoints.sendiass_email", "advice@harbourside.test."),
    ("touchpoints.team_phone", "+44 1234 567890"),
    ("touchpoints.team_phone", "+44 (0)1234 567890"),
    # A shipped example under another setting, and an example name of another wording.
    ("touchpoints.team_phone", str(config.SETTINGS_BY_KEY["touchpoints.sendiass_phone"].default)),
    ("touchpoints.sendiass_email", str(config.SETTINGS_BY_KEY["touchpoints.team_email"].default)),
    ("la.name", "Example County Council"),
    ("touchpoints.sendiass_name", "SENDIASS (example)"),
])
def test_an_example_written_another_way_is_still_an_example(key, value):
    [problem] = example_settings(config.defaults().replace(**{**LA_DETAILS, key: value}))
    assert problem.startswith(f"{key} is still the example")


@pytest.mark.parametrize("value", ["https://www.example-council.gov.uk/local-offer",
                                   "https://www.harbourside.gov.uk/docs/example.pdf", "send@example-council.gov.uk"])
def test_a_real_address_that_mentions_example_is_not_one(value):
    """Only names are read for the word: an address is judged by its domain."""
    assert example_settings(config.defaults().replace(**{**LA_DETAILS, "touchpoints.local_offer_url": value}
                                                      if value.startswith("https") else
                                                      {**LA_DETAILS, "touchpoints.team_email": value})) == []


@pytest.mark.parametrize("name", ["Examplesham Borough Council", "Harbourside SENDIASS"])
def test_a_real_name_is_not_an_example(name):
    assert example_settings(config.defaults().replace(**{**LA_DETAILS, "la.name": name})) == []
