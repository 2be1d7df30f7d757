-- mart.subscribers_daily for the month [month_start, month_end): page × day of the page's
-- subscribers, the change since the day before (null when that day was not observed) and since the
-- month's start (the last count before the month, else the month's first count).
DELETE FROM mart.subscribers_daily WHERE dt >= :month_start AND dt < :month_end;

INSERT INTO mart.subscribers_daily (page_id, org_id, vk_group_id, dt, month, subscribers, change_day, change_month)
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
       )
FROM core.fct_page_daily AS d
JOIN core.dim_page AS p
  ON p.vk_group_id = d.vk_group_id AND p.valid_from <= d.dt AND (p.valid_to IS NULL OR d.dt < p.valid_to)
WHERE d.dt >= :month_start AND d.dt < :month_end;
