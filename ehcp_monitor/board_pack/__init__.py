"""The Partnership Board performance pack (docs/board-pack.md): aggregates only, HTML and PDF."""

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from ehcp_monitor.board_pack.kpis import Kpi, PackData, compute_pack, read_inputs
from ehcp_monitor.board_pack.period import Period, latest_full_month, parse_period
from ehcp_monitor.board_pack.recovery import pack_recovery
from ehcp_monitor.board_pack.render import render_html, write_pdf
from ehcp_monitor.db.report_runs import record_report_run
from ehcp_monitor.logs import get_logger

__all__ = ["BoardPackResult", "build_board_pack", "latest_full_month", "parse_period"]

log = get_logger()


@dataclass
class BoardPackResult:
    period: Period
    html_path: Path
    pdf_path: Path
    publish: bool
    kpis: dict[str, Kpi] = field(repr=False)
    data: PackData = field(repr=False)

    @property
    def paths(self) -> list[Path]:
        return [self.html_path, self.pdf_path]


def build_board_pack(engine: Engine, settings, *, period: str | Period, as_of: date,
                     out_dir: str | Path | None = None, publish: bool = False) -> BoardPackResult:
    """Compute every KPI for `period` as known on `as_of` and write the HTML and PDF pack."""
    if isinstance(period, str):
        period = parse_period(period)
    out = Path(out_dir or settings.board_pack.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = compute_pack(read_inputs(engine), settings, period, as_of)
    recovery = pack_recovery(engine, settings, as_of, publish=publish)
    html = render_html(data, settings, publish=publish, recovery=recovery)
    stem = f"board-pack-{period.code}" + ("-publish" if publish else "")
    html_path, pdf_path = out / f"{stem}.html", out / f"{stem}.pdf"
    html_path.write_text(html, encoding="utf-8")
    write_pdf(html, pdf_path)
    record_report_run(engine, kind="board_pack", as_of=as_of, period=period.code, paths=[html_path, pdf_path],
                      counts={"publish": publish})
    log.info("board_pack_written", period=period.code, files=2, status="publish" if publish else "internal")
    return BoardPackResult(period, html_path, pdf_path, publish, data.kpis, data)
