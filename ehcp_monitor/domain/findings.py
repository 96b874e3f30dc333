"""What an ingest finding costs, and how a value is shown in a report (docs/input-formats.md, Bad input)."""

# The action a finding takes on its row or value, most costly first (the report's order).
QUARANTINED, WITHHELD, CLEARED, WARNING = "quarantined", "withheld", "cleared", "warning"
ACTIONS = (QUARANTINED, WITHHELD, CLEARED, WARNING)
# A personal column's value is never stored or shown in a finding: this is shown instead.
MASKED = "***"
# Control characters, replaced before a raw value is quoted in a message.
CONTROL_CHARS = r"[\x00-\x1f\x7f-\x9f]"


# Every finding code: (title, description). V codes cost a row, a clock or a value; W codes
# (warnings) load the row as it is and tell the data team something a person should look at.
# Each rule in ehcp_monitor/ingest/validation/ is one file that takes its title from here.
FINDING_CODES: dict[str, tuple[str, str]] = {
    "V001": ('Required value missing',
             'A required value is missing (empty or blank).'),
    "V002": ('Unreadable date',
             'A date cannot be read in the declared format.'),
    "V003": ('Code not in its list',
             'A code is not in its list (outcome, advice type, review outcome, rating, flag, ...).'),
    "V004": ('Duplicate ID',
             'Several rows share one ID (key); all of them are quarantined.'),
    "V005": ('Reference not found or quarantined',
             'A reference to a row that does not exist or was quarantined (the row names its parent).'),
    "V006": ('Dates in an impossible order',
             "A decision, draft or final plan before the request, a request before the child's birth, a "
             'review decision before its meeting, a plan ceasing before it started, advice received '
             'before requested, an amended plan before its notice.'),
    "V007": ('Start date in the future',
             'A request received, or a plan started, after the as-of date.'),
    "V008": ('Outcome without its date',
             'A request outcome Y or N, or an assessment outcome N, without its date.'),
    "V009": ('Invalid email address',
             'An email address that is not a single valid address (including any CR/LF: header '
             'injection).'),
    "V010": ('Bad text value',
             "A text value with control characters, or longer than its column's limit."),
    "V011": ('Row does not fit its header',
             'A row with more fields than the header (an unquoted delimiter or quote); its values cannot'
             ' be trusted.'),
    "V012": ('Invalid mobile number',
             "A contact's mobile number that is not a UK mobile number (07xxx xxxxxx, +44 7xxx xxxxxx)."),
    "V013": ('Plan without its final plan issued',
             "A plan that has started, recorded against a request decided Y whose assessment records no final "
             "plan issued (no assessment row, outcome A, or Y without a date): the request's assessment clocks "
             "are withheld, so no plan issued long ago reads as late."),
    "W001": ("Historical record's date missing or unreadable",
             'A date on a historical record (outcome H, or the request of a plan transferred in) is '
             'missing or cannot be read. Historical records carry no clocks, so the date is information '
             'only: the record, its plan and its reviews load and are monitored.'),
    "W002": ('Placeholder date',
             'A date that a case system writes when it has none (1900-01-01, 9999-12-31, 1899-12-30). It'
             ' is treated as empty, and whatever an empty value means for that column follows.'),
    "W003": ("Historical record's dates out of order",
             'Dates on a historical record in an order that would be impossible for a new case (for '
             'example a plan transferred in from another LA that started before the request on record '
             'here, or a request dated after the as-of date). Information only: nothing is withheld, but '
             'for a historical plan starting after the as-of date (a year mistyped), which loads with its '
             'reviews and has its clocks withheld.'),
    "W004": ('No case officer recorded',
             'An open plan whose case has no case officer (the source records officers for other cases):'
             ' its reviews cannot be allocated in the weekly list.'),
    "W005": ('Step dated in the future',
             'A decision, outcome, draft, advice, review decision, amended plan, plan after a phase transfer '
             'or audit dated after the as-of date. The clocks take it as not yet known, so the step counts '
             'as not done until that date (its clock may show overdue): most often a mistyped year. The row '
             'loads as it is.'),
    "W006": ('Two requests for one child on the same day',
             'A request received on the same day as another request of the same child (not a historical record): '
             'most often the same request keyed twice, or re-keyed under a new ID beside the old one. Both load, each '
             'with its own clocks; messages repeating what the family was told of the first are held '
             '(docs/touchpoints.md).'),
}
