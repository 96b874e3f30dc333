"""The store: SQLAlchemy 2.x typed models.

Three groups of tables:
- the current snapshot of the canonical case records (replaced whole by each ingest);
- what the monitor keeps itself across snapshots (ingest records, quarantine, check results and
  their overdue history, job runs, the touchpoint outbox, published benchmarks, report runs);
- nothing else: the monitor is never the system of record.

Schema changes go through Alembic (ehcp_monitor/db/migrations); a test checks they agree.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(64)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


# --- the snapshot: canonical tables (docs/input-formats.md, Canonical extracts) -------------------


class Person(Base):
    __tablename__ = "people"
    person_id: Mapped[str] = mapped_column(ID, primary_key=True)
    # Null only when the extract's value was unusable: the review clocks of that child are then
    # withheld (docs/input-formats.md, Bad input), the requests still monitored.
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    forename: Mapped[str | None] = mapped_column(String(100))
    surname: Mapped[str | None] = mapped_column(String(100))
    upn: Mapped[str | None] = mapped_column(String(13))
    postcode: Mapped[str | None] = mapped_column(String(10))


class Request(Base):
    __tablename__ = "requests"
    request_id: Mapped[str] = mapped_column(ID, primary_key=True)
    person_id: Mapped[str] = mapped_column(ID, index=True)
    # Null only on a historical (H) request, whose dates are information (docs/input-formats.md, Bad input).
    received_date: Mapped[date | None] = mapped_column(Date)
    request_outcome: Mapped[str] = mapped_column(String(1))
    request_outcome_date: Mapped[date | None] = mapped_column(Date)
    request_source: Mapped[str | None] = mapped_column(String(40))
    request_mediation: Mapped[bool | None] = mapped_column(Boolean)
    request_tribunal: Mapped[bool | None] = mapped_column(Boolean)
    case_officer: Mapped[str | None] = mapped_column(String(100))
    team: Mapped[str | None] = mapped_column(String(100))


class Assessment(Base):
    __tablename__ = "assessments"
    request_id: Mapped[str] = mapped_column(ID, primary_key=True)
    assessment_outcome: Mapped[str] = mapped_column(String(1))
    assessment_outcome_date: Mapped[date | None] = mapped_column(Date)
    week20: Mapped[bool | None] = mapped_column(Boolean)
    assessment_mediation: Mapped[bool | None] = mapped_column(Boolean)
    assessment_tribunal: Mapped[bool | None] = mapped_column(Boolean)
    exception_reason: Mapped[str | None] = mapped_column(String(500))


class Draft(Base):
    __tablename__ = "drafts"
    request_id: Mapped[str] = mapped_column(ID, primary_key=True)
    draft_plan_date: Mapped[date] = mapped_column(Date)


class Advice(Base):
    __tablename__ = "advice"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ID, index=True)
    advice_type: Mapped[str] = mapped_column(String(30))
    requested_date: Mapped[date] = mapped_column(Date)
    received_date: Mapped[date | None] = mapped_column(Date)


class Plan(Base):
    __tablename__ = "plans"
    plan_id: Mapped[str] = mapped_column(ID, primary_key=True)
    person_id: Mapped[str] = mapped_column(ID, index=True)
    request_id: Mapped[str | None] = mapped_column(ID, index=True)
    # Null only when the extract's value was unusable: the plan's review cycles are then withheld.
    start_date: Mapped[date | None] = mapped_column(Date)
    cease_date: Mapped[date | None] = mapped_column(Date)
    cease_reason: Mapped[str | None] = mapped_column(String(2))
    # Who holds the plan (its reviews); null: the request's officer and team (docs/input-formats.md).
    case_officer: Mapped[str | None] = mapped_column(String(100))
    team: Mapped[str | None] = mapped_column(String(100))
    # "full" or "latest_only" (SEN2): docs/rules.md, Review cycles.
    review_history: Mapped[str] = mapped_column(String(12), default="full")


class Review(Base):
    __tablename__ = "reviews"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ID, index=True)
    meeting_date: Mapped[date | None] = mapped_column(Date)
    decision_date: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(10))
    amendment_notice_date: Mapped[date | None] = mapped_column(Date)
    amended_final_date: Mapped[date | None] = mapped_column(Date)


class PhaseTransfer(Base):
    __tablename__ = "phase_transfers"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ID, index=True)
    transfer_kind: Mapped[str] = mapped_column(String(14))
    transfer_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    final_date: Mapped[date | None] = mapped_column(Date)


class Contact(Base):
    __tablename__ = "contacts"
    contact_id: Mapped[str] = mapped_column(ID, primary_key=True)
    person_id: Mapped[str] = mapped_column(ID, index=True)
    role: Mapped[str | None] = mapped_column(String(14))
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    opted_out: Mapped[bool | None] = mapped_column(Boolean)
    mobile: Mapped[str | None] = mapped_column(String(32))
    address_line_1: Mapped[str | None] = mapped_column(String(100))
    address_line_2: Mapped[str | None] = mapped_column(String(100))
    address_line_3: Mapped[str | None] = mapped_column(String(100))
    address_line_4: Mapped[str | None] = mapped_column(String(100))
    address_line_5: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(10))
    preferred_channel: Mapped[str | None] = mapped_column(String(6))


class QaAudit(Base):
    __tablename__ = "qa_audits"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ID, index=True)
    audit_date: Mapped[date] = mapped_column(Date)
    plan_kind: Mapped[str] = mapped_column(String(10))
    rating: Mapped[str] = mapped_column(String(24))


SNAPSHOT_MODELS = {
    m.__tablename__: m
    for m in (Person, Request, Assessment, Draft, Advice, Plan, Review, PhaseTransfer, Contact, QaAudit)
}


class SnapshotInfo(Base):
    """One row: which ingest the current snapshot came from and which tables it had."""

    __tablename__ = "snapshot_info"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ingest_id: Mapped[int] = mapped_column(Integer)
    source_kind: Mapped[str] = mapped_column(String(20))
    tables_present: Mapped[list[Any]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- kept by the monitor across snapshots --------------------------------------------------


class IngestRun(Base):
    __tablename__ = "ingest_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(Text)
    source_kind: Mapped[str] = mapped_column(String(20))
    as_of: Mapped[date] = mapped_column(Date)
    # loaded | refused
    status: Mapped[str] = mapped_column(String(12))
    message: Mapped[str | None] = mapped_column(Text)
    checksums: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {table: {read, loaded, quarantined, by_code: {code: n}, withheld_by_code, cleared_by_code,
    #  warnings_by_code}}
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The whole ingest: rows read/loaded/quarantined, findings by action and code, cases fully
    # monitored (ehcp_monitor.ingest.summary)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Operator overrides of the snapshot guards for this ingest: {"accept_missing": [...], "accept_shrink": bool}
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class QuarantinedRow(Base):
    """Every finding of an ingest: the data quality report (docs/input-formats.md, Bad input).

    `action` says what the finding cost: `quarantined` (the row was set aside), `withheld` (the row
    loaded; the clock named in `measure` was not evaluated for its case), `cleared` (the row loaded
    without this one value, which no clock needs) or `warning` (loaded as it is; W codes)."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ingest_id: Mapped[int] = mapped_column(Integer, index=True)
    table_name: Mapped[str] = mapped_column(String(40))
    source_file: Mapped[str] = mapped_column(Text)
    source_line: Mapped[int | None] = mapped_column(Integer)
    record_id: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(4))
    column_name: Mapped[str | None] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(12), default="quarantined")
    # The measure(s) a withheld finding (or a quarantined child row) keeps from evaluation, comma-joined
    measure: Mapped[str | None] = mapped_column(String(80))
    # The value as read, masked (`***`) where the column holds personal data; null when absent.
    bad_value: Mapped[str | None] = mapped_column(Text)


class WithheldClock(Base):
    """Clocks an ingest found unusable data for: not evaluated for that case (docs/input-formats.md, Bad input).

    A row names a measure and its case (request and/or plan); `item` and `anchor_date`, when set,
    narrow it to one instance (one advice request, one review), else every instance of the measure
    for that case is withheld. Read with the snapshot's ingest_id."""

    __tablename__ = "withheld_clocks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ingest_id: Mapped[int] = mapped_column(Integer, index=True)
    measure: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[str | None] = mapped_column(ID)
    plan_id: Mapped[str | None] = mapped_column(ID)
    item: Mapped[str | None] = mapped_column(String(30))
    anchor_date: Mapped[date | None] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(4))


class CheckRun(Base):
    __tablename__ = "check_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    ingest_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# The latest check run's rows: exactly the results contract (docs/rules.md, The results contract). A plain
# table with no key and no index: it is replaced whole every night (millions of rows at national scale)
# and every consumer reads a large share of it, so keys and indexes would cost each load far more
# than they save (bench/README.md). Core, not ORM: no row is ever addressed on its own.
check_results = Table(
    "check_results",
    Base.metadata,
    Column("run_id", Integer, nullable=False),
    Column("measure", String(20), nullable=False),
    Column("request_id", ID),
    Column("plan_id", ID),
    Column("person_id", ID),
    Column("item", String(30)),
    Column("anchor_date", Date),
    Column("due_date", Date, nullable=False),
    Column("completed_date", Date),
    Column("status", String(10), nullable=False),
    Column("days_late", Integer),
    Column("exception", Boolean, nullable=False),
    Column("very_late", Boolean, nullable=False),
    Column("stage", String(30)),
    Column("kind", String(10), nullable=False),
    Column("basis", String(40), nullable=False),
)


class OverdueHistory(Base):
    """The overdue rows of every check run, kept for movement week on week."""

    __tablename__ = "overdue_history"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, index=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    measure: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[str | None] = mapped_column(ID)
    plan_id: Mapped[str | None] = mapped_column(ID)
    person_id: Mapped[str | None] = mapped_column(ID)
    item: Mapped[str | None] = mapped_column(String(30))
    anchor_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    days_late: Mapped[int | None] = mapped_column(Integer)
    very_late: Mapped[bool] = mapped_column(Boolean)


class GoneDate(Base):
    """A case's done dates of one column gone from the records at an ingest: the snapshot in force
    had more of them than the new one (a review, decision, draft or advice record left out of a
    partial extract, a date cleared). The planner holds the case's apologies, updates, review
    reminders and drafts' messages for a person (docs/touchpoints.md, When the records change).
    Kept for every ingest."""

    __tablename__ = "gone_dates"
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ingest_id: Mapped[int] = mapped_column(Integer, index=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    table_name: Mapped[str] = mapped_column(String(20))
    column_name: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[str | None] = mapped_column(ID)
    plan_id: Mapped[str | None] = mapped_column(ID)
    before: Mapped[int] = mapped_column(Integer)  # the case's dates in the column, in the snapshot in force
    after: Mapped[int] = mapped_column(Integer)  # ... and in the new one
    latest_gone: Mapped[date] = mapped_column(Date)  # the latest date of the snapshot in force not in the new one


class JobRun(Base):
    __tablename__ = "job_runs"
    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job: Mapped[str] = mapped_column(String(40), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # running | success | failed | interrupted | abandoned
    status: Mapped[str] = mapped_column(String(12), index=True)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer)
    hostname: Mapped[str | None] = mapped_column(String(255))


# The outbox's unique key: one message per event (its stage, case, date and variant) and contact.
OUTBOX_KEY = ("stage", "case_ref", "event_date", "contact_id", "variant")


class Touchpoint(Base):
    """The outbox. The unique key is the at-most-once guarantee (docs/touchpoints.md, At most once, always).

    `variant` is in the key: a review decision whose outcome is corrected on the same date is
    another event, held as a correction when the family was told the first (corrections.py)."""

    __tablename__ = "touchpoints"
    __table_args__ = (
        UniqueConstraint(*OUTBOX_KEY, name="uq_touchpoint_once"),
        Index("ix_touchpoints_status_next", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stage: Mapped[str] = mapped_column(String(30))
    case_ref: Mapped[str] = mapped_column(ID)
    event_date: Mapped[date] = mapped_column(Date)
    contact_id: Mapped[str] = mapped_column(ID)
    person_id: Mapped[str | None] = mapped_column(ID)
    request_id: Mapped[str | None] = mapped_column(ID)
    plan_id: Mapped[str | None] = mapped_column(ID)
    # The outcome told (a review decision's maintain, amend or cease); "" for a stage without one,
    # never NULL, so the unique key compares it.
    variant: Mapped[str] = mapped_column(String(30), default="", server_default="")
    # pending | claimed | sending | sent | retry | failed | unknown | suppressed | skipped | baseline | held |
    # discarded (claimed and sending: touchpoints.dispatch)
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    planned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    planned_as_of: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    transport: Mapped[str | None] = mapped_column(String(20))
    # email | sms | letter: how this contact is reached, chosen when planned (touchpoints.planner).
    channel: Mapped[str] = mapped_column(String(6), default="email", server_default="email")
    provider_ref: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class StoreSetting(Base):
    """Facts the monitor fixes once and keeps (e.g. `touchpoints.go_live` when it set it itself)."""

    __tablename__ = "store_settings"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SqlViewsVersion(Base):
    """The fingerprint of the analysts' views as last created (db/views.py): one row."""

    __tablename__ = "sql_views_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))


class TouchpointPlanRun(Base):
    """One touchpoint planning run: how many emails it queued and held (the surge rule's median)."""

    __tablename__ = "touchpoint_plan_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    as_of: Mapped[date] = mapped_column(Date)
    planned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    queued: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)
    baseline: Mapped[int] = mapped_column(Integer, default=0)
    ingest_id: Mapped[int | None] = mapped_column(Integer)  # the snapshot it planned from


class OperatorAction(Base):
    """What an operator did by hand: `touchpoints release` / `discard` (guard overrides are kept
    with their ingest, `ingest_runs.overrides`)."""

    __tablename__ = "operator_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class BenchmarkFigure(Base):
    """DfE published 'Education, health and care plans' figures, long format."""

    __tablename__ = "benchmark_figures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    measure: Mapped[str] = mapped_column(String(40), index=True)
    time_period: Mapped[str] = mapped_column(String(10))
    geographic_level: Mapped[str] = mapped_column(String(20))
    area_code: Mapped[str | None] = mapped_column(String(12), index=True)
    area_name: Mapped[str | None] = mapped_column(String(100))
    # The region an LA row belongs to (its own code on a regional row), to find its comparator.
    region_code: Mapped[str | None] = mapped_column(String(12))
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    # x unavailable, z not applicable, c suppressed, or empty
    symbol: Mapped[str | None] = mapped_column(String(2))
    source_file: Mapped[str] = mapped_column(String(100))


class ReportRun(Base):
    __tablename__ = "report_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    as_of: Mapped[date] = mapped_column(Date)
    period: Mapped[str | None] = mapped_column(String(10))
    check_run_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    paths: Mapped[list[Any]] = mapped_column(JSON, default=list)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
