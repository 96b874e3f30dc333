-- reviews: the latest review decision of each active plan, attached to the named plan of the
-- same request (active plan -> request -> assessment -> named plan).
SELECT
    CAST(n.ehcn_named_plan_id AS VARCHAR(64)) AS plan_id,
    ap.ehcp_active_ehcp_last_review_date AS decision_date
FROM ssd_ehcp_active_plans ap
JOIN ssd_ehcp_assessment a ON a.ehca_ehcp_request_id = ap.ehcp_ehcp_request_id
JOIN ssd_ehcp_named_plan n ON n.ehcn_ehcp_asmt_id = a.ehca_ehcp_assessment_id
WHERE ap.ehcp_active_ehcp_last_review_date IS NOT NULL
