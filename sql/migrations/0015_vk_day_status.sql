-- VK transport give-ups apart from page errors (issue 20, finding 5).
-- audit.extract_errors.kind: 'page' — VK answered with the page's own error (closed, private,
-- deleted, invalid: 15/18/30/100/203); 'gave_up' — the call was abandoned after its transport
-- retries (5xx, dropped connections, timeouts; error_code -1). Rows written before: by their code.
ALTER TABLE audit.extract_errors ADD COLUMN kind TEXT;
UPDATE audit.extract_errors SET kind = CASE WHEN error_code = -1 THEN 'gave_up' ELSE 'page' END;

-- One row per loaded VK day: what its run extracted and whether it is complete. A day with
-- given-up calls is incomplete; the next runs' re-read windows reach back to it until a complete
-- run's window covered it (covered_by_dt: that run's day). Replaced with the day's every load.
CREATE TABLE IF NOT EXISTS audit.vk_day_status (
    dt              DATE NOT NULL PRIMARY KEY,
    run_id          TEXT NOT NULL,
    pages           INTEGER NOT NULL,
    failed_pages    INTEGER NOT NULL,
    given_up_pages  INTEGER NOT NULL,
    given_up_calls  INTEGER NOT NULL,
    complete        BOOLEAN NOT NULL,
    covered_by_dt   DATE,
    loaded_at       TIMESTAMP WITH TIME ZONE NOT NULL
);
