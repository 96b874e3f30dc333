"""Emailing the list to the senior team through the touchpoint transport.

The body is the meeting's summary (render_email_html: under the size mail clients clip at); the
whole list is the attached workbook and the HTML page in the output folder.
"""

from datetime import datetime

from ehcp_monitor.config import Settings
from ehcp_monitor.errors import ConfigError
from ehcp_monitor.late_list.build import LateListResult
from ehcp_monitor.logs import get_logger
from ehcp_monitor.transports import OutgoingEmail, SendError, transport_for

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

log = get_logger(__name__)


def subject_for(result: LateListResult) -> str:
    """Counts only: subjects never carry names."""
    # Short enough not to be folded (78 characters with "Subject: ").
    return (
        f"Late-plan list {result.as_of:%d/%m/%Y}: {result.counts['statutory_overdue']} overdue, "
        f"{result.counts['very_late']} very late"
    )


def send_late_list(result: LateListResult, settings: Settings, *, now: datetime) -> dict[str, int]:
    """Send the list to every `late_list.recipients` address; `now` is the Date header (from clock.py).

    Returns counts {recipients, sent, failed}; a failed send is logged and counted, not raised.
    """
    recipients = settings.late_list.recipients
    if not recipients:
        raise ConfigError("config: late_list.recipients is empty: nobody to send the late list to")
    if settings.touchpoints.transport == "notify":
        raise ConfigError("config: touchpoints.transport = notify cannot carry the late list (no template); "
                          "use smtp or file")
    transport = transport_for(settings)
    html = result.email_html
    attachment = (result.xlsx_path.name, result.xlsx_path.read_bytes(), XLSX_MIME)
    counts = {"recipients": len(recipients), "sent": 0, "failed": 0}
    for n, address in enumerate(recipients, start=1):
        email = OutgoingEmail(
            to=address,
            subject=subject_for(result),
            text=result.text,
            html=html,
            attachments=(attachment,),
            reference=f"late-list-{result.as_of.isoformat()}-{result.report_run_id}-{n}",
            date=now,
        )
        try:
            transport.send(email)
            counts["sent"] += 1
        except SendError as exc:
            counts["failed"] += 1
            log.warning("late list not sent", run_id=result.report_run_id, error=str(exc),
                        transport=transport.name)
    log.info("late list sent", run_id=result.report_run_id, sent=counts["sent"], failed=counts["failed"],
             transport=transport.name)
    return counts
