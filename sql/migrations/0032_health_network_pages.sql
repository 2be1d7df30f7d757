-- The health of OK, MAX and Telegram pages, as audit.health_vk_page (0025) is VK's: per page of
-- those networks in core.dim_page, its failed loaded days in a row up to its network's latest
-- loaded day. ops_check holds failing_days against GOSPUBLIC_OPS_NETWORK_PAGE_FAILING_DAYS (per
-- network; default VK's GOSPUBLIC_OPS_PAGE_FAILING_DAYS).
--
-- A network's loaded days are those its load recorded in audit.load_runs (source
-- '<network>/<method>', partition_key the day; loads that happened only). A page failed on a day
-- when audit.extract_errors holds an error of it (network, page_key) that day, whatever its kind.
-- The streak is counted as in 0025: the loaded days numbered from the latest (day_no 1), a page's
-- failed loaded days from its latest (failed_no 1), a failed day in the streak exactly when both
-- numbers are equal; last_ok_dt is the loaded day just before the streak (none when it failed on
-- every loaded day), last_loaded_dt its latest day in core.fct_network_page_daily.
CREATE VIEW audit.health_network_page AS
WITH page AS (
    SELECT
        page_id,
        org_id,
        network,
        screen_name AS page_key
    FROM core.dim_page
    WHERE network <> 'vk' AND screen_name IS NOT NULL
),

network_load AS (
    SELECT
        partition_key,
        SUBSTRING(source, 1, POSITION('/' IN source) - 1) AS network
    FROM audit.load_runs
    WHERE
        POSITION('/' IN source) > 1
        AND status NOT IN ('started', 'abandoned', 'failed')
),

loaded_day AS (
    SELECT
        network,
        dt,
        ROW_NUMBER() OVER (PARTITION BY network ORDER BY dt DESC) AS day_no
    FROM (
        SELECT DISTINCT
            network,
            CAST(partition_key AS DATE) AS dt
        FROM network_load
        WHERE network IN (SELECT DISTINCT p.network FROM page AS p)
    ) AS d
),

failed AS (
    SELECT
        e.network,
        e.page_key,
        d.dt,
        d.day_no,
        ROW_NUMBER() OVER (PARTITION BY e.network, e.page_key ORDER BY d.dt DESC) AS failed_no
    FROM (
        SELECT DISTINCT
            network,
            page_key,
            dt
        FROM audit.extract_errors
        WHERE network <> 'vk' AND page_key IS NOT NULL
    ) AS e
    INNER JOIN loaded_day AS d ON e.network = d.network AND e.dt = d.dt
),

failed_page AS (
    SELECT
        network,
        page_key,
        MAX(dt) AS last_failed_dt,
        COUNT(CASE WHEN day_no = failed_no THEN 1 END) AS failing_days
    FROM failed
    GROUP BY network, page_key
)

SELECT
    page.network,
    page.page_id,
    page.org_id,
    page.page_key,
    ok.dt AS last_ok_dt,
    f.last_failed_dt,
    (
        SELECT MAX(d.dt) FROM core.fct_network_page_daily AS d
        WHERE d.network = page.network AND d.page_key = page.page_key
    ) AS last_loaded_dt,
    COALESCE(f.failing_days, 0) AS failing_days
FROM page
LEFT JOIN failed_page AS f ON page.network = f.network AND page.page_key = f.page_key
LEFT JOIN loaded_day AS ok
    ON page.network = ok.network AND COALESCE(f.failing_days, 0) + 1 = ok.day_no;
