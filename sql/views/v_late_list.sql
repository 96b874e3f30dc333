-- v_late_list: one row per clock on the latest weekly late list (docs/late-list.md): every clock
-- overdue in the check run that list used. The latest list is the one with the latest list date
-- (report_runs of kind late_list; the last built of that date). Empty until a list is built.
-- section: very_late_20w (FINAL_20W, very late) or other_overdue, as in the list's CSV. movement:
-- 'new' or 'still late' against the list dated before it, empty when there is none. The clocks'
-- columns, case officer and team are v_overdue_history's (the current snapshot's officer). No
-- names, dates of birth, UPNs or contact details.
CREATE VIEW v_late_list AS
WITH latest AS (
    SELECT l.id, l.as_of, l.check_run_id
    FROM report_runs l
    WHERE l.kind = 'late_list'
    ORDER BY l.as_of DESC, l.id DESC
    LIMIT 1
),
previous AS (
    SELECT e.check_run_id
    FROM report_runs e
    JOIN check_runs ec ON ec.id = e.check_run_id
    JOIN latest ON e.as_of < latest.as_of
    WHERE e.kind = 'late_list'
    ORDER BY e.as_of DESC, e.id DESC
    LIMIT 1
),
-- The clocks overdue on the previous list; a key of null-free parts so the join can hash.
seen AS (
    SELECT DISTINCT
        o.measure,
        COALESCE(o.request_id, '') AS request_key,
        COALESCE(o.plan_id, '') AS plan_key,
        COALESCE(o.item, '') AS item_key,
        COALESCE(o.anchor_date, '0001-01-01') AS anchor_key
    FROM overdue_history o
    JOIN previous ON o.run_id = previous.check_run_id
)
SELECT
    latest.id AS report_run_id,
    latest.as_of AS list_date,
    h.run_id,
    h.results_date,
    CASE WHEN h.measure = 'FINAL_20W' AND h.very_late THEN 'very_late_20w' ELSE 'other_overdue' END
        AS section,
    h.measure,
    h.measure_description,
    h.kind,
    h.basis,
    h.request_id,
    h.plan_id,
    h.person_id,
    h.item,
    h.anchor_date,
    h.due_date,
    h.days_late AS days_over,
    h.very_late,
    h.case_officer,
    h.team,
    CASE
        WHEN NOT EXISTS (SELECT 1 FROM previous) THEN NULL
        WHEN s.measure IS NULL THEN 'new'
        ELSE 'still late'
    END AS movement
FROM latest
JOIN v_overdue_history h ON h.run_id = latest.check_run_id
LEFT JOIN seen s
    ON s.measure = h.measure
    AND s.request_key = COALESCE(h.request_id, '')
    AND s.plan_key = COALESCE(h.plan_id, '')
    AND s.item_key = COALESCE(h.item, '')
    AND s.anchor_key = COALESCE(h.anchor_date, '0001-01-01')
