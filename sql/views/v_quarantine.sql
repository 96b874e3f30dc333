-- v_quarantine: one row per finding of every ingest (the data quality report, docs/input-formats.md
-- and docs/operations.md): what was wrong with which source row and what it cost (action:
-- quarantined, withheld, cleared or warning). latest_ingest is true for the findings of the most
-- recent ingest (loaded or refused), the ones `ehcp-monitor quarantine` lists. bad_value is the
-- value as read, shown as *** for the columns that hold personal data whatever the store holds.
CREATE VIEW v_quarantine AS
SELECT
    f.id AS finding_id,
    f.ingest_id,
    i.as_of AS ingest_date,
    i.source_kind,
    i.status AS ingest_status,
    f.ingest_id = (SELECT MAX(x.id) FROM ingest_runs x) AS latest_ingest,
    f.table_name,
    f.column_name,
    f.source_file,
    f.source_line,
    f.record_id,
    f.code,
    f.action,
    f.measure AS measures_withheld,
    CASE
        -- Every table.column the canonical tables mark personal (ehcp_monitor/domain/canonical.py;
        -- tests/db/test_views.py fails when this list and those marks disagree).
        WHEN f.bad_value IS NOT NULL AND f.table_name || '.' || f.column_name IN (
            'people.date_of_birth', 'people.forename', 'people.surname', 'people.upn', 'people.postcode',
            'contacts.name', 'contacts.email', 'contacts.mobile', 'contacts.address_line_1',
            'contacts.address_line_2', 'contacts.address_line_3', 'contacts.address_line_4',
            'contacts.address_line_5', 'contacts.postcode'
        )
        THEN '***'
        ELSE f.bad_value
    END AS bad_value,
    f.message
FROM quarantine f
LEFT JOIN ingest_runs i ON i.id = f.ingest_id
