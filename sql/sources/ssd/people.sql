-- people from the Standard Safeguarding Dataset (input-format.md section 3).
SELECT
    CAST(p.pers_person_id AS VARCHAR(64)) AS person_id,
    p.pers_dob AS date_of_birth
FROM ssd_person p
