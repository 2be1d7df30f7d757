-- Operational health as data (issue 26): views over the audit rows the loads write, so they are
-- current after every load without a refresh step. Read by `python -m gospublic.cli health` and
-- the ops_check DAG (gospublic.ops), which apply the thresholds. Kept in audit beside the rows
-- they read: operational, not for BI (bi_reader reads mart only). Same SQL on both engines.

-- One row per VK page of the registry: the last day its page row was loaded, the last loaded day
-- (audit.vk_day_status) on which it had no page error, and how many loaded days in a row since
-- then it failed (an error of kind 'page' or 'gave_up' in audit.extract_errors on each).
CREATE VIEW audit.health_vk_page AS
WITH page AS (
    SELECT page_id, org_id, vk_group_id
    FROM core.dim_page
    WHERE network = 'vk' AND vk_group_id IS NOT NULL
),

failed AS (
    SELECT DISTINCT e.vk_group_id, e.dt
    FROM audit.extract_errors AS e
    INNER JOIN audit.vk_day_status AS s ON e.dt = s.dt
    WHERE e.vk_group_id IS NOT NULL
),

last_ok AS (
    SELECT
        page.vk_group_id,
        MAX(s.dt) AS last_ok_dt
    FROM page
    CROSS JOIN audit.vk_day_status AS s
    LEFT JOIN failed AS f ON page.vk_group_id = f.vk_group_id AND s.dt = f.dt
    WHERE f.dt IS NULL
    GROUP BY page.vk_group_id
)

SELECT
    page.page_id,
    page.org_id,
    page.vk_group_id,
    last_ok.last_ok_dt,
    (
        SELECT MAX(d.dt) FROM core.fct_page_daily AS d
        WHERE d.vk_group_id = page.vk_group_id
    ) AS last_loaded_dt,
    (
        SELECT MAX(f.dt) FROM failed AS f
        WHERE f.vk_group_id = page.vk_group_id
    ) AS last_failed_dt,
    (
        SELECT COUNT(*) FROM failed AS f
        WHERE
            f.vk_group_id = page.vk_group_id
            AND (last_ok.last_ok_dt IS NULL OR f.dt > last_ok.last_ok_dt)
    ) AS failing_days
FROM page
LEFT JOIN last_ok ON page.vk_group_id = last_ok.vk_group_id;

-- The last export received per source and region: loaded files only (a rejected file is not an
-- export the rating can use), their latest export date, files and rows.
CREATE VIEW audit.health_export AS
SELECT
    source,
    region_code,
    MAX(export_date) AS last_export_date,
    COUNT(*) AS files,
    SUM(rows_loaded) AS rows_loaded,
    SUM(rows_quarantined) AS rows_quarantined
FROM audit.export_file
WHERE state = 'loaded' AND region_code IS NOT NULL AND export_date IS NOT NULL
GROUP BY source, region_code;

-- Bodies that stopped appearing: a body with incidents registered in each of the three 30-day
-- windows before the latest 30 days up to its source and region's latest export, and none in those
-- latest 30 days. A body with incidents every month does not fall silent by chance: an executor no
-- longer resolved or a body dropped from the export shows here first. (30-day windows rather than
-- calendar months: an export early in a month would make every body look silent.)
CREATE VIEW audit.health_silent_body AS
WITH bucketed AS (
    SELECT
        i.source,
        i.region_code,
        i.org_id,
        e.last_export_date,
        FLOOR((e.last_export_date - CAST(i.registered_at AS DATE)) / 30.0) AS window_no
    FROM core.fct_incident AS i
    INNER JOIN audit.health_export AS e ON i.source = e.source AND i.region_code = e.region_code
    WHERE i.org_id IS NOT NULL
)

SELECT
    source,
    region_code,
    org_id,
    last_export_date
FROM bucketed
WHERE window_no BETWEEN 0 AND 3
GROUP BY source, region_code, org_id, last_export_date
HAVING
    COUNT(DISTINCT CASE WHEN window_no > 0 THEN window_no END) = 3
    AND MIN(window_no) > 0;

-- Quarantined rows per load and file, with the load's run (audit.load_runs, when recorded).
CREATE VIEW audit.health_quarantine AS
SELECT
    q.load_id,
    q.source,
    q.partition_key,
    q.file,
    r.dag_id,
    r.run_id,
    r.status,
    COUNT(*) AS rows_quarantined,
    MAX(q.quarantined_at) AS last_quarantined_at
FROM audit.quarantine AS q
LEFT JOIN audit.load_runs AS r ON q.load_id = r.load_id
GROUP BY q.load_id, q.source, q.partition_key, q.file, r.dag_id, r.run_id, r.status;

-- Extraction errors per VK run and day by kind.
CREATE VIEW audit.health_extract_errors AS
SELECT
    dt,
    run_id,
    kind,
    COUNT(*) AS errors,
    COUNT(DISTINCT vk_group_id) AS pages
FROM audit.extract_errors
GROUP BY dt, run_id, kind;
