-- mart.page_compliance_monthly: page × month, checks in the manner of «Светофор» on the month's last
-- observation of the page; the score is the weight of the checks passed (config/marts.yaml). The
-- checks read a VK community's fields: VK pages only (network 'vk'; the other networks' pages have
-- no such observation yet).
DELETE FROM mart.page_compliance_monthly WHERE month = :month_start;

INSERT INTO mart.page_compliance_monthly (
    page_id, org_id, month, observed_on, has_photo, has_cover, has_description, has_contacts_or_links,
    messages_open, wall_open, verified, posts_per_week, posts_per_week_ok, views_share, views_share_ok,
    score, failed_checks, network
)
WITH last_seen AS (
    SELECT a.page_id, a.org_id, d.dt, d.has_photo, d.has_cover, d.has_description,
           COALESCE(d.has_contacts, FALSE) OR COALESCE(d.has_links, FALSE) OR COALESCE(d.has_site, FALSE)
               AS has_contacts_or_links,
           d.can_message AS messages_open,
           d.wall IN (1, 2) AS wall_open,
           d.verified,
           a.posts * 7.0 / a.days_in_month AS posts_per_week,
           CASE WHEN a.subscribers_end > 0 THEN a.avg_views / a.subscribers_end END AS views_share
    FROM mart.page_activity_monthly AS a
    LEFT JOIN core.fct_page_daily AS d
      ON d.vk_group_id = a.vk_group_id
     AND d.dt = (SELECT MAX(x.dt) FROM core.fct_page_daily AS x
                 WHERE x.vk_group_id = a.vk_group_id AND x.dt >= :month_start AND x.dt < :month_end)
    WHERE a.month = :month_start AND a.network = 'vk'
),
checked AS (
    SELECT l.*,
           l.posts_per_week >= :posts_per_week_target AS posts_per_week_ok,
           COALESCE(l.views_share >= :views_share_target, FALSE) AS views_share_ok
    FROM last_seen AS l
)
SELECT page_id, org_id, :month_start, dt, has_photo, has_cover, has_description, has_contacts_or_links,
       messages_open, wall_open, verified, posts_per_week, posts_per_week_ok, views_share, views_share_ok,
       (CASE WHEN verified THEN :w_verified ELSE 0 END
        + CASE WHEN has_photo THEN :w_has_photo ELSE 0 END
        + CASE WHEN has_cover THEN :w_has_cover ELSE 0 END
        + CASE WHEN has_description THEN :w_has_description ELSE 0 END
        + CASE WHEN has_contacts_or_links THEN :w_has_contacts_or_links ELSE 0 END
        + CASE WHEN messages_open THEN :w_messages_open ELSE 0 END
        + CASE WHEN wall_open THEN :w_wall_open ELSE 0 END
        + CASE WHEN posts_per_week_ok THEN :w_posts_per_week ELSE 0 END
        + CASE WHEN views_share_ok THEN :w_views_share ELSE 0 END) * 100.0 / :w_total,
       COALESCE(CONCAT_WS(', ',
           CASE WHEN NOT COALESCE(verified, FALSE) THEN 'verified' END,
           CASE WHEN NOT COALESCE(has_photo, FALSE) THEN 'has_photo' END,
           CASE WHEN NOT COALESCE(has_cover, FALSE) THEN 'has_cover' END,
           CASE WHEN NOT COALESCE(has_description, FALSE) THEN 'has_description' END,
           CASE WHEN NOT has_contacts_or_links THEN 'has_contacts_or_links' END,
           CASE WHEN NOT COALESCE(messages_open, FALSE) THEN 'messages_open' END,
           CASE WHEN NOT COALESCE(wall_open, FALSE) THEN 'wall_open' END,
           CASE WHEN NOT posts_per_week_ok THEN 'posts_per_week' END,
           CASE WHEN NOT views_share_ok THEN 'views_share' END
       ), ''),
       'vk'
FROM checked;
