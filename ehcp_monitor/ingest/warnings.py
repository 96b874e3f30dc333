"""Warning codes (docs/input-formats.md, Bad input): findings that load the row as it is.

A warning costs no row and no clock; it tells the data team something the case system holds
that a person should look at. V codes (ehcp_monitor.ingest.validation) cost a row, a clock or a
value; W codes never do.
"""

# code: (title, description)
WARNINGS: dict[str, tuple[str, str]] = {
    "W001": ("Historical record's date missing or unreadable",
             "A date on a historical record (outcome H, or the request of a plan transferred in) is "
             "missing or cannot be read. Historical records carry no clocks, so the date is information "
             "only: the record, its plan and its reviews load and are monitored."),
    "W002": ("Placeholder date",
             "A date that a case system writes when it has none (1900-01-01, 9999-12-31, 1899-12-30). "
             "It is treated as empty, and whatever an empty value means for that column follows."),
    "W003": ("Historical record's dates out of order",
             "Dates on a historical record in an order that would be impossible for a new case (for "
             "example a plan transferred in from another LA that started before the request on record "
             "here, or a request dated after the as-of date). Information only: nothing is withheld."),
    "W004": ("No case officer recorded",
             "An open plan whose case has no case officer (the source records officers for other cases): "
             "its reviews cannot be allocated in the weekly list."),
}
