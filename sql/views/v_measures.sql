-- v_measures: one row per measure (clock) the monitor evaluates, for labels and filters.
-- Columns: measure (the code, e.g. FINAL_20W), kind (statutory | guidance | local), basis (the
-- legal reference), description. The same words as `ehcp-monitor rules` and docs/rules.md; a test
-- keeps them equal to the registry (ehcp_monitor/domain/measures.py).
CREATE VIEW v_measures AS
SELECT 'DECIDE_6W' AS measure, 'statutory' AS kind, 'reg 5(1)' AS basis,
       'Decision whether to carry out an EHC needs assessment.' AS description
UNION ALL SELECT 'ADVICE_6W', 'statutory', 'reg 8', 'Advice requested for the assessment is received.'
UNION ALL SELECT 'DRAFT_LOCAL', 'local', 'none',
       'Draft plan served (local target; calendar weeks, not working days).'
UNION ALL SELECT 'NOT_ISSUE_16W', 'statutory', 'reg 10(1)', 'Decision not to issue a plan notified.'
UNION ALL SELECT 'FINAL_20W', 'statutory', 'reg 13(2)', 'Final EHC plan issued.'
UNION ALL SELECT 'REVIEW_12M', 'statutory', 'CFA s44; reg 18', 'Annual review of the plan completed.'
UNION ALL SELECT 'REVIEW_EY', 'guidance', 'CoP 9.178', 'Early-years review of the plan completed.'
UNION ALL SELECT 'REVIEW_DECISION_4W', 'statutory', 'reg 20(10)', 'LA decision after a review meeting notified.'
UNION ALL SELECT 'AMEND_FINAL_8W', 'statutory', 'reg 22(3)', 'Final amended plan issued after the amendment notice.'
UNION ALL SELECT 'PHASE_TRANSFER', 'statutory', 'reg 18',
       'Plan amended to name the new setting before a phase transfer.'
