-- people from the Standard Safeguarding Dataset (docs/input-formats.md, SQL sources).
SELECT
    CAST(p.pers_person_id AS VARCHAR(64)) AS person_id,
    p.pers_dob AS date_of_birth
FROM ssd_person p
