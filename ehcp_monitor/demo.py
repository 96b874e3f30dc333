"""`ehcp-monitor demo`: the whole product end to end on synthetic data, in an embedded SQLite store.

Generate an extract, run the nightly job through the scheduler's own code path (ingest, check,
touchpoints to a file outbox), write the weekly late list and the board pack, and say where
everything is. Nothing here is special to the demo except the settings it chooses.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path

import click

from ehcp_monitor import config as config_module
from ehcp_monitor.clock import LONDON
from ehcp_monitor.config import Settings
from ehcp_monitor.domain.vocabulary import STATUS_WORDS, TOUCHPOINT_STAGE_WORDS
from ehcp_monitor.errors import JobFailed

DEMO_SEED = 2025
# The demo compares its invented records with one real LA's published figures (DfE), so the pack
# shows England, region and neighbours; its name says the records are invented.
DEMO_LA_CODE = "E06000051"
DEMO_LA_NAME = "Shropshire Council (demo)"
DEMO_NEIGHBOURS = ["E06000019", "E06000020", "E10000028", "E10000034"]
DEMO_TARGETS = {
    "final_20w": 60, "final_20w_ex": 60, "decide_6w": 90, "not_issue_16w": 90,
    "review_decision_4w": 80, "review_12m": 90, "review_ey": 90, "amend_8w": 80,
    "phase_transfer": 95, "qa_good": 80,
}


@dataclass
class DemoPaths:
    root: Path
    extract: Path = field(init=False)
    database: Path = field(init=False)

    def __post_init__(self):
        self.extract = self.root / "extract"
        self.database = self.root / "demo.sqlite3"


def demo_settings(paths: DemoPaths) -> Settings:
    return config_module.defaults().replace(
        **{
            "database.url": f"sqlite:///{paths.database}",
            "source.location": str(paths.extract),
            "touchpoints.transport": "file",
            "touchpoints.outbox_dir": str(paths.root / "outbox"),
            "late_list.out_dir": str(paths.root / "late-list"),
            "board_pack.out_dir": str(paths.root / "board-pack"),
            "la.code": DEMO_LA_CODE,
            "la.name": DEMO_LA_NAME,
            "board_pack.statistical_neighbours": DEMO_NEIGHBOURS,
            # Illustrative targets so the pack shows RAG status; an LA sets its own.
            "board_pack.targets": DEMO_TARGETS,
            # The demo goes live on its own as-of date, so its one night is a first night: with no
            # earlier runs the surge hold's minimum (50) could hold a busy day's emails and the demo
            # would stop before showing them. A real first night should be held (docs/going-live.md).
            "touchpoints.hold_above": 1000,
            # The demo writes .eml files only and runs at any hour: its sending window never closes.
            "touchpoints.send_window_start": "00:00",
            "touchpoints.send_window_end": "24:00",
            "touchpoints.send_on_working_days_only": False,
        }
    )


def run_demo(root: Path, *, people: int, as_of: date, echo=click.echo) -> Settings:
    from ehcp_monitor.scheduling.runner import execute_job
    from ehcp_monitor.synthetic import generate, write_extract

    paths = DemoPaths(root.resolve())
    paths.root.mkdir(parents=True, exist_ok=True)
    for stale in paths.root.glob("demo.sqlite3*"):
        stale.unlink()
    settings = demo_settings(paths)

    echo(f"ehcp-monitor demo, as of {as_of.isoformat()}, in {paths.root}")
    frames = generate(people=people, seed=DEMO_SEED, as_of=as_of)
    write_extract(frames, paths.extract, "csv")
    echo(f"1. synthetic extract: {people} people, {frames['requests'].height} requests, "
         f"{frames['plans'].height} plans -> {paths.extract}")

    # The same code path as `ehcp-monitor run JOB` and the scheduler, run as on the morning of the
    # as-of day: a demo of a past day sends what was news that day.
    morning = datetime.combine(as_of, time(9), tzinfo=LONDON).astimezone(timezone.utc)
    nightly = execute_job("nightly", settings, as_of, now=morning)
    echo(f"2. nightly job (ingest, check, touchpoints): {_outcome(nightly)}")
    _print_nightly(settings, echo)

    late = execute_job("weekly_late_list", settings, as_of)
    echo(f"3. weekly late list: {_outcome(late)}")
    built = late.counts.get("late_list_build", {})
    headline = built.get("counts", {})
    if headline:
        echo(f"   statutory clocks overdue {headline.get('statutory_overdue')}, very late "
             f"{headline.get('very_late')}, very late 20-week cases {headline.get('very_late_20w')}, "
             f"open over 52 weeks {headline.get('over_52_weeks')}")
    for key in ("html_path", "xlsx_path", "csv_path"):
        if key in built:
            echo(f"   {built[key]}")

    from ehcp_monitor.board_pack.benchmarks import load_extract

    engine = _engine(settings)
    figures = load_extract(engine)
    engine.dispose()
    pack = execute_job("board_pack", settings, as_of)
    built = pack.counts.get("board_pack_build", {})
    echo(f"4. Partnership Board pack for {built.get('period', '?')}: {_outcome(pack)}, compared with "
         f"{figures} published DfE figures (England, regions, {DEMO_LA_CODE} and its neighbours)")
    for key in ("html_path", "pdf_path"):
        if key in built:
            echo(f"   {built[key]}")
    echo(f"Store: {paths.database}. Explore it, e.g.: EHCP_DATABASE_URL=sqlite:///{paths.database} "
         f"ehcp-monitor check --as-of {as_of.isoformat()}")
    failed = [o.job for o in (nightly, late, pack) if o.exit_code]
    if failed:
        raise JobFailed(f"demo: {', '.join(failed)} did not succeed (see above)")
    return settings


def _outcome(outcome) -> str:
    text = f"{outcome.status} (exit {outcome.exit_code})"
    return f"{text}: {outcome.error}" if outcome.error else text


def _engine(settings: Settings):
    from ehcp_monitor.db.connect import engine_for

    return engine_for(settings)


def _print_nightly(settings: Settings, echo) -> None:
    from sqlalchemy import func, select

    from ehcp_monitor.db.models import IngestRun, Touchpoint
    from ehcp_monitor.db.results import status_counts

    engine = _engine(settings)
    with engine.connect() as conn:
        ingest = conn.execute(
            select(IngestRun.id, IngestRun.status, IngestRun.counts).order_by(IngestRun.id.desc()).limit(1)
        ).first()
        if ingest is not None:
            read = sum(t.get("read", 0) for t in ingest.counts.values())
            quarantined = sum(t.get("quarantined", 0) for t in ingest.counts.values())
            echo(f"   ingest #{ingest.id}: {ingest.status}, {read} rows read, {quarantined} quarantined")
        by_status, very_late = status_counts(conn)
        echo("   clocks by status: " + ", ".join(f"{STATUS_WORDS.get(k, k).lower()} {v}"
                                                for k, v in sorted(by_status.items())))
        echo(f"   very late: {very_late}")
        by_stage: dict[str, dict[str, int]] = {}
        for stage, status, n in conn.execute(
            select(Touchpoint.stage, Touchpoint.status, func.count()).group_by(Touchpoint.stage, Touchpoint.status)
        ):
            by_stage.setdefault(stage, {})[status] = n
        if by_stage:
            statuses = ("sent", "skipped", "suppressed", "baseline", "held", "failed")
            echo("   touchpoints by stage (baseline: before go-live, never sent; suppressed: events already too "
                 "old when first seen)")
            echo(f"     {'stage':<30}" + "".join(f"{s:>11}" for s in statuses))
            for stage, counts in sorted(by_stage.items()):
                echo(f"     {TOUCHPOINT_STAGE_WORDS.get(stage, stage):<30}"
                     + "".join(f"{counts.get(s, 0):>11}" for s in statuses))
        echo(f"   touchpoint emails written to {settings.touchpoints.outbox_dir}")
    engine.dispose()
