-- requests: ssd_send links each request's SEND record to the person.
SELECT
    CAST(r.ehcr_ehcp_request_id AS VARCHAR(64)) AS request_id,
    CAST(s.send_person_id AS VARCHAR(64)) AS person_id,
    r.ehcr_ehcp_req_date AS received_date,
    CAST(r.ehcr_ehcp_req_outcome AS VARCHAR(10)) AS request_outcome,
    r.ehcr_ehcp_req_outcome_date AS request_outcome_date
FROM ssd_ehcp_requests r
LEFT JOIN ssd_send s ON s.send_table_id = r.ehcr_send_table_id
