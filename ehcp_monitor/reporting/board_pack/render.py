"""The board pack as HTML (Jinja2, autoescaped, self-contained) and PDF (WeasyPrint, A4).

Publishing (`publish=True`) applies the GSS convention: a count of 1 to 4 is shown as `c`, and so
is every rate made from one (the rates and the chart points too), so no child can be singled out.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ehcp_monitor.paths import templates_dir
from ehcp_monitor.reporting.board_pack.charts import trend_svg
from ehcp_monitor.reporting.board_pack.kpis import HEADLINE, SPECS, Figure, Kpi, PackData, Table

SUPPRESSED = "c"
NO_CASES = "no cases"
RAG_LABELS = {"green": "Green: on target", "amber": "Amber: near target", "red": "Red: below target",
              "no target": "No target set", "no data": "No cases"}
RAG_SHORT = {"green": "Green", "amber": "Amber", "red": "Red", "no target": "No target", "no data": "No cases"}


def small(n: int | None) -> bool:
    return n is not None and 1 <= n <= 4


@dataclass(frozen=True)
class Formatter:
    publish: bool

    def count(self, n: int | None) -> str:
        if n is None:
            return NO_CASES
        return SUPPRESSED if self.publish and small(n) else f"{n:,}"

    def hidden(self, fig: Figure) -> bool:
        return self.publish and (small(fig.numerator) or small(fig.denominator) or
                                 (fig.numerator is None and small(fig.value)))

    def value(self, fig: Figure, unit: str) -> str:
        if fig.value is None:
            return NO_CASES
        if self.hidden(fig):
            return SUPPRESSED
        return f"{fig.value:.1f}%" if unit == "%" else f"{int(fig.value):,}"

    def detail(self, fig: Figure, unit: str) -> str:
        if unit != "%" or fig.denominator in (None, 0):
            return ""
        return f"{self.count(fig.numerator)} of {self.count(fig.denominator)}"

    def chart_value(self, fig: Figure) -> float | None:
        if fig.value is None or self.hidden(fig):
            return None
        return fig.value

    def rag(self, kpi: Kpi) -> str:
        return "suppressed" if self.hidden(kpi.current) and kpi.rag in ("green", "amber", "red") else kpi.rag

    def table_rows(self, table: Table) -> list[list[str]]:
        out = []
        for row in table.rows:
            hide_rates = self.publish and any(small(row[i]) for i in table.count_columns if isinstance(row[i], int))
            cells = [str(row[0])]
            for i, cell in enumerate(row[1:], start=1):
                if i in table.count_columns and isinstance(cell, int):
                    cells.append(self.count(cell))
                elif isinstance(cell, float) or (cell is None and i not in table.count_columns):
                    cells.append(SUPPRESSED if hide_rates and cell is not None else
                                 (NO_CASES if cell is None else f"{cell:.1f}%"))
                else:
                    cells.append(str(cell))
            out.append(cells)
        return out


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir() / "board_pack"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render_html(data: PackData, settings, *, publish: bool) -> str:
    fmt = Formatter(publish)
    charts = {
        code: trend_svg(f"chart-{code}", kpi.spec.title,
                        [(m, fmt.chart_value(f)) for m, f in kpi.trend], kpi.spec.unit, kpi.target)
        for code, kpi in data.kpis.items()
    }
    sections: dict[str, list[Kpi]] = {}
    for kpi in sorted(data.kpis.values(), key=lambda k: list(SPECS).index(k.spec.code)):
        sections.setdefault(kpi.spec.section, []).append(kpi)
    env = _environment()
    return env.get_template("pack.html.j2").render(
        data=data,
        fmt=fmt,
        charts=charts,
        headline=[data.kpis[c] for c in HEADLINE if c in data.kpis],
        sections=sections,
        rag_labels=RAG_LABELS,
        rag_short=RAG_SHORT,
        data_margin=settings.board_pack.amber_margin,
        publish=publish,
        la_code=settings.board_pack.new_la_code,
        neighbours=list(settings.board_pack.statistical_neighbours),
        # Our own stylesheet, inlined so the HTML stands alone; it is not data, so not escaped.
        css=Markup((templates_dir() / "board_pack" / "pack.css").read_text(encoding="utf-8")),
    )


def write_pdf(html: str, path: Path) -> None:
    from weasyprint import HTML

    # WeasyPrint and fontTools log every font subset at INFO; the pack's log is ours.
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    HTML(string=html, base_url=str(templates_dir() / "board_pack")).write_pdf(path)
