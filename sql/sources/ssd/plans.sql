-- plans: named plan -> assessment -> request -> SEND record -> person. The SSD keeps only the
-- latest review of a plan, so its review history is latest-only (docs/rules.md, Review cycles).
SELECT
    CAST(n.ehcn_named_plan_id AS VARCHAR(64)) AS plan_id,
    CAST(s.send_person_id AS VARCHAR(64)) AS person_id,
    CAST(a.ehca_ehcp_request_id AS VARCHAR(64)) AS request_id,
    n.ehcn_named_plan_start_date AS start_date,
    n.ehcn_named_plan_ceased_date AS cease_date,
    CAST(n.ehcn_named_plan_ceased_reason AS VARCHAR(10)) AS cease_reason,
    'latest_only' AS review_history
FROM ssd_ehcp_named_plan n
LEFT JOIN ssd_ehcp_assessment a ON a.ehca_ehcp_assessment_id = n.ehcn_ehcp_asmt_id
LEFT JOIN ssd_ehcp_requests r ON r.ehcr_ehcp_request_id = a.ehca_ehcp_request_id
LEFT JOIN ssd_send s ON s.send_table_id = r.ehcr_send_table_id
