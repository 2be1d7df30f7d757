-- Issue 28: audit.extract_errors holds the extraction faults of every network, not only VK's.
--
-- network: 'vk', 'ok', 'telegram' or 'max', the network whose extraction recorded the row; each
-- network's load or finish step replaces only its own rows of a day (the VK load replaced all of
-- them, so reloading a VK day deleted that day's OK and MAX rows). page_key: the network's own id of the
-- page the error was about, as text (VK group id, OK group id, MAX chat id); NULL for an error of
-- no single page. vk_group_id stays for the VK rows (audit.health_vk_page reads it).
--
-- Every row names its network: NOT NULL with no default once the rows written before have theirs
-- (DuckDB refuses SET NOT NULL after an UPDATE in the same transaction, hence the temporary default).
ALTER TABLE audit.extract_errors ADD COLUMN network TEXT NOT NULL DEFAULT 'vk';
ALTER TABLE audit.extract_errors ALTER COLUMN network DROP DEFAULT;
ALTER TABLE audit.extract_errors ADD COLUMN page_key TEXT;

-- Rows written before: OK's and MAX's were told apart by a method prefixed 'ok/' or 'max/' and named
-- their page at the start of error_msg ('group <OK group id>: <OK's message>', 'chat <MAX chat id>:
-- <MAX's message>'); every other row is VK's.
UPDATE audit.extract_errors SET network = 'ok' WHERE method LIKE 'ok/%';
UPDATE audit.extract_errors SET network = 'max' WHERE method LIKE 'max/%';
UPDATE audit.extract_errors SET page_key = CAST(vk_group_id AS TEXT)
WHERE network = 'vk' AND vk_group_id IS NOT NULL;

-- A page id is taken only where the message starts exactly 'group ', digits, ': ' (OK) or
-- 'chat ', an optional minus and digits, ': ' (MAX); the message then keeps the network's own text
-- (NULL when it had none). Other rows keep page_key NULL and their message as it was. The method
-- loses its prefix: network says what it said.
UPDATE audit.extract_errors
SET page_key = SUBSTRING(error_msg, 7, POSITION(': ' IN error_msg) - 7)
WHERE
    network = 'ok'
    AND error_msg LIKE 'group %'
    AND POSITION(': ' IN error_msg) > 7
    AND TRANSLATE(SUBSTRING(error_msg, 7, POSITION(': ' IN error_msg) - 7), '0123456789', '') = '';
UPDATE audit.extract_errors
SET page_key = SUBSTRING(error_msg, 6, POSITION(': ' IN error_msg) - 6)
WHERE
    network = 'max'
    AND error_msg LIKE 'chat %'
    AND POSITION(': ' IN error_msg) > 6
    AND SUBSTRING(error_msg, 6, POSITION(': ' IN error_msg) - 6) NOT IN ('', '-')
    AND TRANSLATE(
        CASE WHEN SUBSTRING(error_msg, 6, 1) = '-' THEN SUBSTRING(error_msg, 7, POSITION(': ' IN error_msg) - 7)
            ELSE SUBSTRING(error_msg, 6, POSITION(': ' IN error_msg) - 6) END,
        '0123456789', ''
    ) = '';
UPDATE audit.extract_errors
SET error_msg = NULLIF(SUBSTRING(error_msg, LENGTH(page_key) + 9), '')
WHERE network = 'ok' AND page_key IS NOT NULL;
UPDATE audit.extract_errors
SET error_msg = NULLIF(SUBSTRING(error_msg, LENGTH(page_key) + 8), '')
WHERE network = 'max' AND page_key IS NOT NULL;
UPDATE audit.extract_errors SET method = SUBSTRING(method, 4) WHERE network = 'ok' AND method LIKE 'ok/%';
UPDATE audit.extract_errors SET method = SUBSTRING(method, 5) WHERE network = 'max' AND method LIKE 'max/%';

-- Extraction errors per day, run, network and kind; pages: the distinct pages they hit.
DROP VIEW audit.health_extract_errors;

CREATE VIEW audit.health_extract_errors AS
SELECT
    dt,
    run_id,
    network,
    kind,
    COUNT(*) AS errors,
    COUNT(DISTINCT page_key) AS pages
FROM audit.extract_errors
GROUP BY dt, run_id, network, kind;
