-- assessments: the SSD holds "exceptions" as a flag or a reason; either way a non-empty,
-- non-negative value means the week-20 exceptions apply (reg 13(3)).
SELECT
    CAST(a.ehca_ehcp_request_id AS VARCHAR(64)) AS request_id,
    CAST(a.ehca_ehcp_assessment_outcome AS VARCHAR(10)) AS assessment_outcome,
    a.ehca_ehcp_assessment_outcome_date AS assessment_outcome_date,
    CASE
        WHEN a.ehca_ehcp_assessment_exceptions IS NULL
          OR TRIM(CAST(a.ehca_ehcp_assessment_exceptions AS VARCHAR(500))) = ''
          OR UPPER(TRIM(CAST(a.ehca_ehcp_assessment_exceptions AS VARCHAR(500)))) IN ('N', 'NO', '0', 'FALSE')
        THEN 0 ELSE 1
    END AS week20,
    CASE
        WHEN UPPER(TRIM(CAST(a.ehca_ehcp_assessment_exceptions AS VARCHAR(500))))
             IN ('Y', 'YES', '1', 'TRUE', 'N', 'NO', '0', 'FALSE')
        THEN NULL
        ELSE CAST(a.ehca_ehcp_assessment_exceptions AS VARCHAR(500))
    END AS exception_reason
FROM ssd_ehcp_assessment a
