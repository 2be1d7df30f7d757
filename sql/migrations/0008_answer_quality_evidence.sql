-- The phrases behind each answer-quality flag (transforms.answer_quality.assess_with_evidence), for
-- report cards: formal/redirect list the stock phrases that raised the flag; no_specifics and
-- impolite list what was found instead. Quotes from answers, so restricted like the answers.
CREATE TABLE IF NOT EXISTS restricted.answer_quality_evidence (
    source       TEXT NOT NULL,
    incident_id  TEXT NOT NULL,
    month        DATE NOT NULL,
    flag         TEXT NOT NULL,
    evidence     TEXT NOT NULL
);
