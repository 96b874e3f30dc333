"""The board pack as HTML (Jinja2, autoescaped, self-contained) and PDF (WeasyPrint, A4, tagged PDF/UA-1).

Publishing (`publish=True`) applies the GSS convention so that no count of 1 to 4 can be read or
worked out: such a count is shown as `c`, and so is every figure that would give it away: the rate
made from it and the other count beside it (never "c (0 of c)"), a rate whose complement is small
(99 of 100 tells that 1 was late), its change mark and chart point, every count and rate in a table
row holding one, and, where a table has a total row, a second row so the first cannot be had by
subtraction. Figures that add up to a total are judged together first (suppress.py).
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ehcp_monitor.board_pack.charts import trend_svg
from ehcp_monitor.board_pack.commentary import read_commentary
from ehcp_monitor.board_pack.dfe_year import USUAL_CAUSES
from ehcp_monitor.board_pack.kpis import HEADLINE, SPECS, Figure, Kpi, PackData, Table, pct
from ehcp_monitor.board_pack.recovery import PackRecovery
from ehcp_monitor.board_pack.suppress import small, suppress_groups, table_hidden_rows
from ehcp_monitor.paths import templates_dir

SUPPRESSED = "c"
NO_CASES = "no cases"
RAG_LABELS = {"green": "Green: on target", "amber": "Amber: near target", "red": "Red: below target",
              "no target": "No target set", "no data": "No cases"}
RAG_SHORT = {"green": "Green", "amber": "Amber", "red": "Red", "no target": "No target", "no data": "No cases"}
LOWER_IS_BETTER = {"reviews_overdue", "open_caseload"}
NEUTRAL = {"requests"}  # more requests is neither better nor worse


@dataclass(frozen=True)
class Formatter:
    publish: bool

    def count(self, n: int | None) -> str:
        if n is None:
            return NO_CASES
        return SUPPRESSED if self.publish and small(n) else f"{n:,}"

    def hidden(self, fig: Figure) -> bool:
        if not self.publish:
            return False
        if fig.suppressed:
            return True
        if fig.numerator is None:  # a count, or an average over `denominator` cases
            return small(fig.value if fig.denominator is None else fig.denominator)
        rest = None if fig.denominator is None else fig.denominator - fig.numerator
        return small(fig.numerator) or small(fig.denominator) or small(rest)

    def value(self, fig: Figure, unit: str) -> str:
        if fig.value is None:
            return NO_CASES
        if self.hidden(fig):
            return SUPPRESSED
        if unit == "%":
            return f"{fig.value:.1f}%"
        return f"{fig.value:.1f} weeks" if unit == "weeks" else f"{int(fig.value):,}"

    def detail(self, fig: Figure, unit: str) -> str:
        if unit != "%" or fig.denominator in (None, 0) or self.hidden(fig):
            return ""
        return f"{fig.numerator:,} of {fig.denominator:,}"

    def chart_value(self, fig: Figure) -> float | None:
        if fig.value is None or self.hidden(fig):
            return None
        return fig.value

    def rag(self, kpi: Kpi) -> str:
        return "suppressed" if self.hidden(kpi.current) and kpi.rag in ("green", "amber", "red") else kpi.rag

    def change(self, kpi: Kpi) -> tuple[str, str]:
        """Against the previous period: (mark, words), e.g. ("▲", "better, up 6.7 points")."""
        now, before = kpi.current, kpi.previous
        if now.value is None or before.value is None:
            return "", "no comparison"
        if self.hidden(now) or self.hidden(before):
            return "", SUPPRESSED
        delta = round(now.value - before.value, 1)
        if delta == 0:
            return "=", "no change"
        size = f"{abs(delta):.1f} points" if kpi.spec.unit == "%" else f"{abs(delta):,.0f}"
        up = delta > 0
        if kpi.spec.code in NEUTRAL:
            return ("▲" if up else "▼"), f"{'up' if up else 'down'} {size}"
        better = up != (kpi.spec.code in LOWER_IS_BETTER)
        return ("▲" if up else "▼"), f"{'better' if better else 'worse'}, {'up' if up else 'down'} {size}"

    def hidden_rows(self, table: Table) -> set[int]:
        """Rows whose counts and rates are all shown as c (docs/board-pack.md, "Publishing")."""
        return table_hidden_rows(table) | table.hide_rows if self.publish else set()

    def table_rows(self, table: Table) -> list[list[str]]:
        hidden = self.hidden_rows(table)
        out = []
        for r, row in enumerate(table.rows):
            cells = [str(row[0])]
            for i, cell in enumerate(row[1:], start=1):
                numeric = isinstance(cell, (int, float)) and not isinstance(cell, bool)
                if r in hidden and (numeric or cell is None):
                    cells.append(SUPPRESSED)
                elif i in table.count_columns and isinstance(cell, int):
                    cells.append(f"{cell:,}")
                elif isinstance(cell, float) or (cell is None and i not in table.count_columns):
                    cells.append(NO_CASES if cell is None else f"{cell:.1f}%")
                else:
                    cells.append(str(cell))
            out.append(cells)
        return out


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(templates_dir() / "board_pack"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def sources_table(data: PackData) -> Table | None:
    if data.dfe is None:
        return None
    total = sum(n for _, n in data.dfe.sources)
    rows = [[source.replace("_", " "), n, pct(n, total)] for source, n in data.dfe.sources]
    rows.append(["All sources", total, 100.0 if total else None])
    return Table(f"Requests received in {data.dfe.year}, by who made them", ["Source", "Requests", "Share"],
                 rows, count_columns={1}, total_row=True,
                 note="From the LA's own records (request_source). DfE publishes no breakdown by source to compare.")


def render_html(data: PackData, settings, *, publish: bool, recovery: "PackRecovery | None" = None) -> str:
    fmt = Formatter(publish)
    if publish:
        data = suppress_groups(data)
    charts = {}
    for code, kpi in data.kpis.items():
        charts[code] = trend_svg(f"chart-{code}", kpi.spec.title,
                                 [(m, fmt.chart_value(f)) for m, f in kpi.trend], kpi.spec.unit, kpi.target,
                                 kpi.england)
    sections: dict[str, list[Kpi]] = {}
    for kpi in sorted(data.kpis.values(), key=lambda k: list(SPECS).index(k.spec.code)):
        sections.setdefault(kpi.spec.section, []).append(kpi)
    commentary = read_commentary(settings.board_pack.commentary_dir, data.period.code, data.kpis)
    return _environment().get_template("pack.html.j2").render(
        data=data,
        fmt=fmt,
        charts=charts,
        headline=[data.kpis[c] for c in HEADLINE if c in data.kpis],
        sections=sections,
        rag_labels=RAG_LABELS,
        rag_short=RAG_SHORT,
        data_margin=settings.board_pack.amber_margin,
        publish=publish,
        la_code=settings.la.code,
        la_name=settings.la.name,
        neighbours=list(settings.board_pack.statistical_neighbours),
        commentary=commentary,
        sources=sources_table(data),
        dfe_causes=USUAL_CAUSES,
        dfe_exceptions=data.dfe.exceptions if data.dfe else None,
        recovery=recovery,
        # Our own stylesheet, inlined so the HTML stands alone; it is not data, so not escaped.
        css=Markup((templates_dir() / "board_pack" / "pack.css").read_text(encoding="utf-8")),
    )


def write_pdf(html: str, path: Path) -> None:
    from weasyprint import HTML

    # WeasyPrint and fontTools log every font subset at INFO; the pack's log is ours.
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # PDF/UA-1: tagged (headings, tables, lists, figures), title and language in the metadata.
    HTML(string=html, base_url=str(templates_dir() / "board_pack")).write_pdf(path, pdf_variant="pdf/ua-1")
