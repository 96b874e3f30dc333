-- v_latest_results: one row per clock of the latest check run (the results contract,
-- docs/rules.md), with the words for its measure and the case officer and team of its case.
-- Officer and team come from the current snapshot: for a plan clock the plan's own (each falling
-- back to the request's when blank), else the clock's request's (for a plan clock with no request
-- on the row, the plan's request). No names, dates of birth, UPNs or contact details.
CREATE VIEW v_latest_results AS
SELECT
    r.run_id,
    c.as_of AS results_date,
    r.measure,
    m.description AS measure_description,
    r.kind,
    r.basis,
    r.request_id,
    r.plan_id,
    r.person_id,
    r.item,
    r.anchor_date,
    r.due_date,
    r.completed_date,
    r.status,
    r.days_late,
    r.very_late,
    r.exception,
    r.stage,
    COALESCE(p.case_officer, q.case_officer) AS case_officer,
    COALESCE(p.team, q.team) AS team
FROM check_results r
JOIN check_runs c ON c.id = r.run_id
LEFT JOIN v_measures m ON m.measure = r.measure
LEFT JOIN plans p ON p.plan_id = r.plan_id
LEFT JOIN requests q ON q.request_id = COALESCE(r.request_id, p.request_id)
