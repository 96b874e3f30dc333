"""Every code a person may read has staff words, declared once in the vocabulary (docs/late-list.md,
"Words, not codes")."""

import pytest

from ehcp_monitor.domain import vocabulary as v
from ehcp_monitor.domain.measures import MEASURES


@pytest.mark.parametrize(("codes", "table"), [
    (v.STATUSES, v.STATUS_WORDS),
    (v.STAGES_20W, v.STAGE_WORDS_20W),
    (v.TOUCHPOINT_STAGES, v.TOUCHPOINT_STAGE_WORDS),
    (v.OUTBOX_STATUSES, v.OUTBOX_STATUS_WORDS),
    (("history", "default"), v.FORECAST_SOURCE_WORDS),
], ids=["statuses", "20-week stages", "touchpoint stages", "outbox statuses", "forecast sources"])
def test_every_code_has_words_and_no_words_are_left_over(codes, table):
    assert set(table) == set(codes)
    for code, text in table.items():
        assert text.strip() and text[0].isupper() and "_" not in text, code
        assert text != code


def test_words_of_the_same_list_are_distinct_where_a_reader_must_tell_them_apart():
    for table in (v.STATUS_WORDS, v.STAGE_WORDS_20W, v.TOUCHPOINT_STAGE_WORDS):
        assert len(set(table.values())) == len(table)


def test_every_measure_has_words_for_families_and_staff():
    for m in MEASURES:
        assert m.words and m.label and "_" not in m.label and m.code not in m.label


def test_a_code_without_words_is_shown_as_it_is():
    assert v.words("gathering_advice", v.STAGE_WORDS_20W) == "Gathering advice"
    assert v.words("something_new", v.STAGE_WORDS_20W) == "something_new"
    assert v.words(None, v.STAGE_WORDS_20W) is None
