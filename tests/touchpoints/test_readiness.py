"""Nothing goes to a family while a message would carry the shipped example details
(touchpoints/readiness.py; docs/going-live.md, Before the first send)."""

import pytest
from sqlalchemy import select

from ehcp_monitor import config
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


def test_the_file_outbox_reaches_no_family_and_only_warns(engine, tmp_path):
    store_case(engine, *one_family())
    settings = config.defaults().replace(**{"touchpoints.go_live": LIVE_SINCE, "touchpoints.transport": "file",
                                            "touchpoints.outbox_dir": str(tmp_path)})
    plan_touchpoints(engine, settings, as_of=AS_OF)
    assert dispatch_touchpoints(engine, settings, as_of=AS_OF, now=NOW)["sent"] == 1
    assert len(list(tmp_path.glob("*.eml"))) == 1
