"""The list's HTML table cells, built by column in polars, are what the template's `cell` filter
and Jinja's autoescape make of each value one by one."""

from datetime import date

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import Environment

from ehcp_monitor.late_list.render import _display, _row_cells

SCHEMA = {"s": pl.Utf8, "i": pl.Int64, "f": pl.Float64, "b": pl.Boolean, "d": pl.Date}
text = st.text(alphabet=st.sampled_from(list("<>&\"'=;aZ1 é\n")), max_size=10)
# The row as the template wrote it value by value before the cells were built by column.
ENV = Environment(autoescape=True)
ENV.filters["cell"] = _display
ONE_BY_ONE = ENV.from_string('{% for value in row %}<td{% if numeric[loop.index0] %} class="num"{% endif %}>'
                             "{{ value | cell }}</td>{% endfor %}")


def _one_by_one(df: pl.DataFrame) -> list[str]:
    numeric = [dtype.is_numeric() for dtype in df.schema.values()]
    return [ONE_BY_ONE.render(row=row, numeric=numeric) for row in df.iter_rows()]


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(st.none() | text, st.none() | st.integers(-10**9, 10**9),
                               st.none() | st.floats(allow_nan=False, allow_infinity=False) | st.just(1e-05),
                               st.none() | st.booleans(), st.none() | st.dates(date(1900, 1, 1), date(2100, 1, 1))),
                     max_size=6))
def test_cells_match_the_filter_and_autoescape(rows):
    df = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    assert [str(row) for row in _row_cells(df)] == _one_by_one(df)


def test_markup_in_a_value_is_text():
    df = pl.DataFrame({"s": ["<script>alert('x')</script> & \"y\""]})
    assert str(_row_cells(df)[0]) == "<td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;y&#34;</td>"
