-- mart.subscribers_daily for the month [month_start, month_end): page × day of the page's
-- subscribers, the change since the day before (null when that day was not observed) and since the
-- month's start (the last count before the month, else the month's first count). VK pages from
-- core.fct_page_daily (by vk_group_id), the other networks' from core.fct_network_page_daily (by
-- network and the page key the registry keeps in screen_name).
DELETE FROM mart.subscribers_daily WHERE dt >= :month_start AND dt < :month_end;

INSERT INTO mart.subscribers_daily (
    page_id, org_id, vk_group_id, dt, month, subscribers, change_day, change_month, network
)
SELECT p.page_id, p.org_id, d.vk_group_id, d.dt, :month_start, d.members_count,
       d.members_count - (
           SELECT b.members_count FROM core.fct_page_daily AS b
           WHERE b.vk_group_id = d.vk_group_id AND b.dt = d.dt - 1
       ),
       d.members_count - COALESCE(
           (SELECT b.members_count FROM core.fct_page_daily AS b
            WHERE b.vk_group_id = d.vk_group_id AND b.dt < :month_start AND b.members_count IS NOT NULL
            ORDER BY b.dt DESC LIMIT 1),
           (SELECT b.members_count FROM core.fct_page_daily AS b
            WHERE b.vk_group_id = d.vk_group_id AND b.dt >= :month_start AND b.members_count IS NOT NULL
            ORDER BY b.dt LIMIT 1)
       ),
       'vk'
FROM core.fct_page_daily AS d
JOIN core.dim_page AS p
  ON p.vk_group_id = d.vk_group_id AND p.valid_from <= d.dt AND (p.valid_to IS NULL OR d.dt < p.valid_to)
WHERE d.dt >= :month_start AND d.dt < :month_end
UNION ALL
SELECT p.page_id, p.org_id, CAST(NULL AS BIGINT), d.dt, :month_start, d.subscribers,
       d.subscribers - (
           SELECT b.subscribers FROM core.fct_network_page_daily AS b
           WHERE b.network = d.network AND b.page_key = d.page_key AND b.dt = d.dt - 1
       ),
       d.subscribers - COALESCE(
           (SELECT b.subscribers FROM core.fct_network_page_daily AS b
            WHERE b.network = d.network AND b.page_key = d.page_key AND b.dt < :month_start
              AND b.subscribers IS NOT NULL
            ORDER BY b.dt DESC LIMIT 1),
           (SELECT b.subscribers FROM core.fct_network_page_daily AS b
            WHERE b.network = d.network AND b.page_key = d.page_key AND b.dt >= :month_start
              AND b.subscribers IS NOT NULL
            ORDER BY b.dt LIMIT 1)
       ),
       d.network
FROM core.fct_network_page_daily AS d
JOIN core.dim_page AS p
  ON p.network = d.network AND p.screen_name = d.page_key
 AND p.valid_from <= d.dt AND (p.valid_to IS NULL OR d.dt < p.valid_to)
WHERE d.dt >= :month_start AND d.dt < :month_end;
