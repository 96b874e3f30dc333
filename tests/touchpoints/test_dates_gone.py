"""A case whose done dates the new extract no longer has (a partial extract) has its apologies,
updates and review reminders held for a person (ingest/gone_dates.py; touchpoints/corrections.py,
_a_case_with_dates_gone; docs/touchpoints.md, When the records change).

Real nights on a real store: each extract written as CSV, ingested, checked, and planned."""

from datetime import date, datetime, timezone

from sqlalchemy import select, update

from ehcp_monitor.checks import run_check
from ehcp_monitor.db.models import GoneDate, Touchpoint
from ehcp_monitor.ingest import run_ingest
from ehcp_monitor.touchpoints import plan_touchpoints
from ehcp_monitor.touchpoints.hold import release
from tests.ingest.extract import write_csv
from tests.touchpoints.conftest import D, tp_settings

REVIEWED = {"plan_id": "PL1", "meeting_date": "2024-12-16", "decision_date": "2024-12-30", "outcome": "maintain",
            "amendment_notice_date": "", "amended_final_date": ""}
# An amendment begun at a review whose decision is not recorded: AMEND_FINAL_8W due 3 March 2025.
AMENDING = {"plan_id": "PL1", "meeting_date": "", "decision_date": "", "outcome": "amend",
            "amendment_notice_date": "2025-01-06", "amended_final_date": ""}
# Other families' plans and reviews: one review left out is a partial extract, not a table emptied.
OTHERS = 5
REASON = ("held: the extract of {day} has 1 review decision date fewer for this case than the one before it (the "
          "latest gone: 2024-12-30; left out of a partial extract, or removed?), and this message says a step is "
          "late or still to come; check the record, then `ehcp-monitor touchpoints release --id N` or "
          "`discard --id N`")


def _tables(reviews: list[dict], *, start: str = "2024-01-10", plan: dict | None = None
            ) -> dict[str, list[dict]]:
    others = range(OTHERS)
    return {
        "people": [{"person_id": "P1", "date_of_birth": "2015-06-01", "forename": "Alice", "surname": "Smith"},
                   *({"person_id": f"P{9 + i}", "date_of_birth": "2012-01-01", "forename": "", "surname": ""}
                     for i in others)],
        "requests": [{"request_id": "R0", "person_id": "P1", "received_date": "2023-08-01", "request_outcome": "Y",
                      "request_outcome_date": "2023-09-01"},
                     *({"request_id": f"R{9 + i}", "person_id": f"P{9 + i}", "received_date": "2023-08-01",
                        "request_outcome": "Y", "request_outcome_date": "2023-09-01"} for i in others)],
        "assessments": [{"request_id": f"R{i}", "assessment_outcome": "Y", "assessment_outcome_date": "2023-12-01"}
                        for i in (0, *(9 + i for i in others))],
        # `plan`: PL1's changes tonight ({} leaves it out of the extract).
        "plans": [*([{"plan_id": "PL1", "person_id": "P1", "request_id": "R0", "start_date": start, **(plan or {})}]
                    if plan != {} else []),
                  *({"plan_id": f"PL{9 + i}", "person_id": f"P{9 + i}", "request_id": f"R{9 + i}",
                     "start_date": "2024-01-10"} for i in others)],
        "reviews": [*reviews, *({**REVIEWED, "plan_id": f"PL{9 + i}"} for i in others)],
        "contacts": [{"contact_id": "C1", "person_id": "P1", "role": "parent_carer", "name": "Carol Smith",
                      "email": "carol@example.org", "opted_out": "0"}],
    }


class Nights:
    """Each night: tonight's extract (when given) ingested, then check and plan as of that day."""

    def __init__(self, engine, tmp_path):
        self.engine, self.tmp_path, self.n = engine, tmp_path, 0
        self.settings = tp_settings()

    def __call__(self, day: date, reviews: list[dict] | None = None, **table_changes) -> dict:
        if reviews is not None:
            self.n += 1
            folder = write_csv(self.tmp_path / f"extract{self.n}", _tables(reviews, **table_changes))
            run_ingest(self.engine, self.settings, str(folder), as_of=day)
        run_check(self.engine, self.settings, as_of=day)
        return plan_touchpoints(self.engine, self.settings, as_of=day)

    def rows(self, stage: str = "delay_notice") -> list[tuple]:
        """(id, event date, status, reason, the measures a notice's late steps name) of the family's rows."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(Touchpoint.id, Touchpoint.event_date, Touchpoint.status, Touchpoint.reason,
                                       Touchpoint.context)
                                .where(Touchpoint.stage == stage, Touchpoint.contact_id == "C1")
                                .order_by(Touchpoint.id)).all()
        return [(i, d, s, r, sorted(step["measure"] for step in (c or {}).get("late_steps", [])))
                for i, d, s, r, c in rows]


def test_a_review_left_out_of_the_extract_holds_the_apology_for_its_lateness(engine, tmp_path):
    night = Nights(engine, tmp_path)
    night(D("2025-03-14"), [REVIEWED])
    assert night.rows() == []
    counts = night(D("2025-03-15"), [])
    assert (counts["pending"], counts["corrections_held"]) == (0, 1)
    with engine.connect() as conn:
        assert conn.execute(select(GoneDate.table_name, GoneDate.column_name, GoneDate.plan_id, GoneDate.before,
                                   GoneDate.after, GoneDate.latest_gone)).all() == [
            ("reviews", "decision_date", "PL1", 1, 0, D("2024-12-30"))]
    # REVIEW_12M fell due on 10 January; its notice repeats every 28 days: 11 January, 8 February, 8 March.
    ((_, event_date, status, reason, late),) = night.rows()
    assert (event_date, status, late) == (D("2025-03-08"), "held", ["REVIEW_12M"])
    assert reason == REASON.format(day="2025-03-15")
    # The export run again: the review is back, and the held apology is set aside.
    night(D("2025-03-16"), [REVIEWED])
    assert [s for _, _, s, _, _ in night.rows()] == ["superseded"]


def test_a_review_left_out_before_it_was_due_holds_the_apology_when_it_falls_due(engine, tmp_path):
    """Found the night it goes, whatever the clock says then (a second review found the check's
    comparison missed it)."""
    night = Nights(engine, tmp_path)
    night(D("2025-01-02"), [REVIEWED])
    night(D("2025-01-05"), [])
    night(D("2025-01-12"), [])
    assert [(d, s, late) for _, d, s, _, late in night.rows()] == [(D("2025-01-11"), "held", ["REVIEW_12M"])]


def test_a_review_reminder_after_the_review_left_out_is_held(engine, tmp_path):
    """A review held early, in October, left out in November: its cycle is "coming up" again."""
    early = {**REVIEWED, "meeting_date": "2024-10-01", "decision_date": "2024-10-09"}
    night = Nights(engine, tmp_path)
    night(D("2024-11-04"), [early], start="2023-12-20")
    assert night.rows("review_upcoming") == []
    night(D("2024-11-05"), [], start="2023-12-20")
    ((_, event_date, status, reason, _),) = night.rows("review_upcoming")
    assert (event_date, status) == (D("2024-10-25"), "held")
    assert reason.startswith("held: the extract of 2024-11-05 has 1 review decision date fewer for this case")


def test_a_later_review_left_out_does_not_bring_back_an_old_amendments_apology_unheld(engine, tmp_path):
    """A decided review after an amendment puts the amendment's apology to rest; left out, the
    apology would come back (a second review found it)."""
    # The amended plan was due by 9 August: late since, an apology every 28 days (30 November, 28 December).
    amending = {**AMENDING, "meeting_date": "2024-06-03", "decision_date": "2024-06-10",
                "amendment_notice_date": "2024-06-14"}
    later = {**REVIEWED, "meeting_date": "2024-11-20", "decision_date": "2024-11-28"}
    night = Nights(engine, tmp_path)
    night(D("2024-12-27"), [amending, later])
    assert night.rows() == []
    night(D("2024-12-28"), [amending])
    assert [(d, s, late) for _, d, s, _, late in night.rows()] == [(D("2024-12-28"), "held", ["AMEND_FINAL_8W"])]


def test_the_next_notice_is_held_while_the_finding_is_recent_and_sent_after(engine, tmp_path):
    night = Nights(engine, tmp_path)
    night(D("2025-03-14"), [REVIEWED])
    night(D("2025-03-15"), [])
    # A person checked the case and let the first notice go (the review was removed on purpose).
    ((first, *_),) = night.rows()
    release(engine, night.settings, stage=None, as_of=D("2025-03-15"),
            now=datetime(2025, 3, 15, 10, tzinfo=timezone.utc), ids=[first])
    # The repeat of 5 April: the finding of 15 March is recent, so it waits for a person too.
    assert night(D("2025-04-05"))["corrections_held"] == 1
    # The repeat of 28 June: more than MOVED_WITHIN_DAYS (90) after the finding, it is told.
    counts = night(D("2025-06-28"))
    assert (counts["corrections_held"], counts["pending"]) == (0, 1)
    assert [(d, s) for _, d, s, _, _ in night.rows()][-1] == (D("2025-06-28"), "pending")


def test_a_notice_waiting_to_retry_that_takes_the_late_review_is_held(engine, tmp_path):
    """An apology for a late amendment waits to retry when tonight's extract leaves the review
    out: refreshed, it would tell the family the review is late too."""
    night = Nights(engine, tmp_path)
    night(D("2025-03-04"), [REVIEWED, AMENDING])
    with engine.begin() as conn:  # its send failed for a moment
        conn.execute(update(Touchpoint).where(Touchpoint.stage == "delay_notice").values(status="retry"))
    counts = night(D("2025-03-05"), [AMENDING])
    assert counts["corrections_held"] == 1
    assert [(d, s, late) for _, d, s, _, late in night.rows()] == [
        (D("2025-03-04"), "held", ["AMEND_FINAL_8W", "REVIEW_12M"])]


def test_a_notice_set_aside_and_back_with_the_late_review_is_held(engine, tmp_path):
    night = Nights(engine, tmp_path)
    night(D("2025-03-04"), [REVIEWED, AMENDING])
    amended = {**AMENDING, "amended_final_date": "2025-03-01"}
    night(D("2025-03-05"), [REVIEWED, amended])
    assert [s for _, _, s, _, _ in night.rows()] == ["superseded"]
    # Tonight's extract has neither the review nor the amended plan's date: the notice comes back.
    night(D("2025-03-06"), [AMENDING])
    assert [(d, s, late) for _, d, s, _, late in night.rows()] == [
        (D("2025-03-04"), "held", ["AMEND_FINAL_8W", "REVIEW_12M"])]


def test_a_review_never_in_the_records_is_apologised_for(engine, tmp_path):
    night = Nights(engine, tmp_path)
    night(D("2025-03-14"), [])
    night(D("2025-03-15"), [])
    assert [(d, s) for _, d, s, _, _ in night.rows()] == [(D("2025-03-08"), "pending")]


def test_a_review_date_corrected_holds_nothing(engine, tmp_path):
    """A date moved keeps the case's count: what the records say now is told as usual."""
    night = Nights(engine, tmp_path)
    night(D("2025-03-14"), [REVIEWED])
    night(D("2025-03-15"), [{**REVIEWED, "decision_date": "2024-12-31"}])
    with engine.connect() as conn:
        assert conn.execute(select(GoneDate.row_id)).all() == []


def test_a_decision_cleared_the_night_the_next_review_is_keyed_still_holds(engine, tmp_path):
    """A canonical extract keeps every review: a plan whose next meeting is keyed is not exempt
    from losing the last review's decision (a review found such a plan exempted wholesale)."""
    night = Nights(engine, tmp_path)
    night(D("2025-03-14"), [REVIEWED])
    early_next = {**REVIEWED, "meeting_date": "2025-03-12", "decision_date": "", "outcome": ""}
    night(D("2025-03-15"), [{**REVIEWED, "decision_date": "", "outcome": ""}, early_next])
    assert [(s, late) for _, _, s, _, late in night.rows()] == [("held", ["REVIEW_12M", "REVIEW_DECISION_4W"])]


def test_dates_back_the_next_night_hold_nothing_more(engine, tmp_path):
    """The export run again with the review: a true apology a few weeks on is told (a review found
    it held for the rest of the 90 days)."""
    night = Nights(engine, tmp_path)
    night(D("2025-03-14"), [REVIEWED])
    night(D("2025-03-15"), [])
    night(D("2025-03-16"), [REVIEWED])
    assert [s for _, _, s, _, _ in night.rows()] == ["superseded"]
    night(D("2025-04-05"), [REVIEWED, AMENDING])  # the amended plan, due 3 March, really is late
    assert [(s, late) for _, _, s, _, late in night.rows()][-1] == ("pending", ["AMEND_FINAL_8W"])


def _draft_tables(assessed: str) -> dict[str, list[dict]]:
    others = range(OTHERS)
    return {
        "people": [{"person_id": "P1", "date_of_birth": "2015-06-01", "forename": "Alice", "surname": "Smith"},
                   *({"person_id": f"P{9 + i}", "date_of_birth": "2012-01-01"} for i in others)],
        "requests": [{"request_id": f"R{i}", "person_id": f"P{i}", "received_date": "2024-10-01",
                      "request_outcome": "Y", "request_outcome_date": "2024-11-08"}
                     for i in (1, *(9 + i for i in others))],
        "assessments": [{"request_id": "R1", "assessment_outcome": "Y", "assessment_outcome_date": assessed},
                        *({"request_id": f"R{9 + i}", "assessment_outcome": "Y",
                           "assessment_outcome_date": "2025-02-10"} for i in others)],
        "drafts": [{"request_id": "R1", "draft_plan_date": "2025-03-10"},
                   *({"request_id": f"R{9 + i}", "draft_plan_date": "2025-01-20"} for i in others)],
        # The plan left out with the final plan's date (else V013 holds the draft's clocks back).
        "plans": [*([{"plan_id": "PL1", "person_id": "P1", "request_id": "R1", "start_date": "2025-03-13"}]
                    if assessed else []),
                  *({"plan_id": f"PL{9 + i}", "person_id": f"P{9 + i}", "request_id": f"R{9 + i}",
                     "start_date": "2025-02-10"} for i in others)],
        "contacts": [{"contact_id": "C1", "person_id": "P1", "role": "parent_carer", "name": "Carol Smith",
                      "email": "carol@example.org", "opted_out": "0"}],
    }


def test_a_drafts_message_waiting_when_the_final_plans_date_goes_is_held(engine, tmp_path):
    """Refreshed without the final plan, the draft's message would invite comments on a plan
    already issued (a review found it)."""
    settings = tp_settings()
    for n, (day, assessed) in enumerate([(D("2025-03-13"), "2025-03-13"), (D("2025-03-14"), "")]):
        run_ingest(engine, settings, str(write_csv(tmp_path / f"x{n}", _draft_tables(assessed))), as_of=day)
        run_check(engine, settings, as_of=day)
        plan_touchpoints(engine, settings, as_of=day)
    with engine.connect() as conn:
        rows = dict(conn.execute(select(Touchpoint.stage, Touchpoint.status).where(Touchpoint.contact_id == "C1")
                                 .where(Touchpoint.stage.in_(["draft_plan_issued", "final_plan_issued"]))).all())
    assert rows == {"draft_plan_issued": "held", "final_plan_issued": "superseded"}


def test_a_plan_left_out_one_night_and_back_without_its_review_holds_the_apology(engine, tmp_path):
    night = Nights(engine, tmp_path)
    night(D("2025-03-14"), [REVIEWED])
    night(D("2025-03-15"), [], plan={})  # the plan and its review left out
    night(D("2025-03-16"), [])  # the plan back, its review not
    assert [(s, late) for _, _, s, _, late in night.rows()] == [("held", ["REVIEW_12M"])]


def test_a_plan_given_a_cease_date_ahead_with_its_review_left_out_holds_the_apology(engine, tmp_path):
    night = Nights(engine, tmp_path)
    night(D("2025-03-14"), [REVIEWED])
    night(D("2025-03-15"), [], plan={"cease_date": "2025-07-31", "cease_reason": "moved"})
    assert [(s, late) for _, _, s, _, late in night.rows()] == [("held", ["REVIEW_12M"])]


def test_another_review_decided_does_not_bring_back_the_one_gone(engine, tmp_path):
    """The December decision cleared; a new review decided in March brings the count back, not
    that decision: the apology for the December decision stays held (a review found it sent)."""
    night = Nights(engine, tmp_path)
    night(D("2025-03-14"), [REVIEWED])
    cleared = {**REVIEWED, "decision_date": "", "outcome": ""}
    night(D("2025-03-15"), [cleared])
    march = {**REVIEWED, "meeting_date": "2025-03-10", "decision_date": "2025-03-18"}
    night(D("2025-03-20"), [cleared, march])
    night(D("2025-04-08"), [cleared, march])
    assert [(d, s) for _, d, s, _, late in night.rows() if "REVIEW_DECISION_4W" in late and s != "superseded"] == [
        (D("2025-04-08"), "held")]
