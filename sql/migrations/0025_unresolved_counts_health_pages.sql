-- Issue 26, the alerts' last count and the health of VK pages at national scale.

-- audit.export_file.rows_unresolved: rows a loaded file put in core.fct_incident_event whose
-- executor matched no body of the registry (org_id NULL at load; audit.unresolved_executor lists
-- the executors). Counted per file by the loader like its other counts; NULL for files loaded
-- before this migration and for rejected files. Alerts sum it over the run.
ALTER TABLE audit.export_file ADD COLUMN rows_unresolved BIGINT;

-- audit.health_vk_page, same columns and rows as 0024's, without its correlated subqueries over
-- the failed days: PostgreSQL ran them once per page over the whole CTE (55,000 pages × every
-- failed page-day), minutes at national scale (docs/benchmarks.md, "Health views"). The loaded days
-- are numbered from the latest (day_no 1); a page's failed days from its latest (failed_no 1); a
-- failed day belongs to the streak running up to the latest loaded day exactly when both numbers
-- are equal. The streak's length is failing_days, and the loaded day just before it is the last on
-- which the page did not fail (none when it failed on every loaded day).
DROP VIEW audit.health_vk_page;

CREATE VIEW audit.health_vk_page AS
WITH page AS (
    SELECT page_id, org_id, vk_group_id
    FROM core.dim_page
    WHERE network = 'vk' AND vk_group_id IS NOT NULL
),

loaded_day AS (
    SELECT
        dt,
        ROW_NUMBER() OVER (ORDER BY dt DESC) AS day_no
    FROM audit.vk_day_status
),

failed AS (
    SELECT
        e.vk_group_id,
        d.dt,
        d.day_no,
        ROW_NUMBER() OVER (PARTITION BY e.vk_group_id ORDER BY d.dt DESC) AS failed_no
    FROM (
        SELECT DISTINCT vk_group_id, dt
        FROM audit.extract_errors
        WHERE vk_group_id IS NOT NULL
    ) AS e
    INNER JOIN loaded_day AS d ON e.dt = d.dt
),

failed_page AS (
    SELECT
        vk_group_id,
        MAX(dt) AS last_failed_dt,
        COUNT(CASE WHEN day_no = failed_no THEN 1 END) AS failing_days
    FROM failed
    GROUP BY vk_group_id
)

-- Columns in 0024's order.
SELECT  -- noqa: ST06
    page.page_id,
    page.org_id,
    page.vk_group_id,
    ok.dt AS last_ok_dt,
    (
        SELECT MAX(d.dt) FROM core.fct_page_daily AS d
        WHERE d.vk_group_id = page.vk_group_id
    ) AS last_loaded_dt,
    f.last_failed_dt,
    COALESCE(f.failing_days, 0) AS failing_days
FROM page
LEFT JOIN failed_page AS f ON page.vk_group_id = f.vk_group_id
LEFT JOIN loaded_day AS ok ON COALESCE(f.failing_days, 0) + 1 = ok.day_no;

-- audit.health_silent_body, same rows as 0024's: each body's windows are made distinct first (a
-- hash aggregate) instead of counted with COUNT(DISTINCT …) over every incident (a sort of them
-- all on PostgreSQL: 17 s for 3.4 M incidents, 4–5 s now), and incidents registered before the
-- four windows are left out before their window is computed (121 days back: the windows hold 120,
-- with a day to spare for the date a time stamp falls on in the session's time zone).
DROP VIEW audit.health_silent_body;

CREATE VIEW audit.health_silent_body AS
WITH windowed AS (
    SELECT DISTINCT
        i.source,
        i.region_code,
        i.org_id,
        e.last_export_date,
        FLOOR((e.last_export_date - CAST(i.registered_at AS DATE)) / 30.0) AS window_no
    FROM core.fct_incident AS i
    INNER JOIN audit.health_export AS e ON i.source = e.source AND i.region_code = e.region_code
    WHERE i.org_id IS NOT NULL AND i.registered_at >= e.last_export_date - 121
)

SELECT
    source,
    region_code,
    org_id,
    last_export_date
FROM windowed
WHERE window_no BETWEEN 0 AND 3
GROUP BY source, region_code, org_id, last_export_date
HAVING
    COUNT(CASE WHEN window_no > 0 THEN 1 END) = 3
    AND MIN(window_no) > 0;
