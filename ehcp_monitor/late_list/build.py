"""Building the weekly list: read stored results, compose, write the files, record the run."""

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from ehcp_monitor.config import Settings
from ehcp_monitor.db.report_runs import record_report_run
from ehcp_monitor.late_list.content import DATA_QUALITY_SUFFIX, compose, file_stem
from ehcp_monitor.late_list.inputs import REPORT_KIND, load_inputs
from ehcp_monitor.late_list.recovery import list_recovery
from ehcp_monitor.late_list.render import (
    render_csv,
    render_data_quality_csv,
    render_email_html,
    render_html,
    render_text,
    render_xlsx,
)
from ehcp_monitor.logs import get_logger
from ehcp_monitor.private_files import write_private

log = get_logger(__name__)


@dataclass
class LateListResult:
    as_of: date
    html_path: Path
    xlsx_path: Path
    csv_path: Path
    data_quality_csv_path: Path
    counts: dict[str, int]
    report_run_id: int
    check_run_id: int
    results_as_of: date | None = None  # the date of the clock results the list used
    text: str = field(repr=False, default="")  # the email's plain-text part
    email_html: str = field(repr=False, default="")  # the email body: the summary for the meeting

    @property
    def paths(self) -> list[Path]:
        return [self.html_path, self.xlsx_path, self.csv_path, self.data_quality_csv_path]


def build_late_list(engine: Engine, settings: Settings, *, as_of: date, out_dir: str | Path | None = None
                    ) -> LateListResult:
    inputs = load_inputs(engine, as_of=as_of)
    content = compose(inputs)
    if inputs.recovery is not None:
        content.recovery = list_recovery(inputs.recovery, settings, content.results_as_of)
    folder = Path(out_dir or settings.late_list.out_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = file_stem(as_of)
    paths = [
        write_private(folder / f"{stem}.html", render_html(content).encode("utf-8")),
        write_private(folder / f"{stem}.xlsx", render_xlsx(content)),
        write_private(folder / f"{stem}.csv", render_csv(content)),
        write_private(folder / f"{stem}{DATA_QUALITY_SUFFIX}", render_data_quality_csv(content)),
    ]
    run_id = record_report_run(engine, kind=REPORT_KIND, as_of=content.as_of, paths=paths,
                               counts=content.counts(), check_run_id=content.check_run_id)
    log.info("late list built", run_id=run_id, check_run_id=content.check_run_id, as_of=as_of.isoformat(),
             counts=content.counts(), files=len(paths))
    return LateListResult(
        as_of=as_of,
        html_path=paths[0],
        xlsx_path=paths[1],
        csv_path=paths[2],
        data_quality_csv_path=paths[3],
        counts=content.counts(),
        report_run_id=run_id,
        check_run_id=content.check_run_id,
        results_as_of=content.results_as_of,
        text=render_text(content),
        email_html=render_email_html(content),
    )
