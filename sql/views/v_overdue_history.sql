-- v_overdue_history: one row per clock that was overdue in a check run, for every check run kept
-- (week-on-week movement, trends). A clock overdue in three runs has three rows, one per
-- results_date. Case officer and team are those of the current snapshot (who holds the case now),
-- found as in v_latest_results. No names, dates of birth, UPNs or contact details.
CREATE VIEW v_overdue_history AS
SELECT
    h.run_id,
    h.as_of AS results_date,
    h.measure,
    m.description AS measure_description,
    m.kind,
    m.basis,
    h.request_id,
    h.plan_id,
    h.person_id,
    h.item,
    h.anchor_date,
    h.due_date,
    h.days_late,
    h.very_late,
    COALESCE(p.case_officer, q.case_officer) AS case_officer,
    COALESCE(p.team, q.team) AS team
FROM overdue_history h
LEFT JOIN v_measures m ON m.measure = h.measure
LEFT JOIN plans p ON p.plan_id = h.plan_id
LEFT JOIN requests q ON q.request_id = COALESCE(h.request_id, p.request_id)
