-- mart.page_compliance_monthly: page × month, checks in the manner of «Светофор» on the month's last
-- observation of the page; the score is the weight of the checks passed (config/marts.yaml). VK
-- pages first, on a VK community's fields (network 'vk'), then the pages of OK, MAX and Telegram,
-- each on its network's own checks (compliance.networks of config/marts.yaml; docs/networks.md,
-- "Compliance checks per network"): the fields its page card gives (core.fct_network_page_daily,
-- the month's last day observed) and the month's posts a week and views share as VK's. A check the
-- network does not have is NULL in its row, out of its score and of failed_checks; the score is the
-- weight passed × 100 ÷ the network's total weight.
DELETE FROM mart.page_compliance_monthly WHERE month = :month_start;

INSERT INTO mart.page_compliance_monthly (
    page_id, org_id, month, observed_on, has_photo, has_cover, has_description, has_contacts_or_links,
    messages_open, wall_open, verified, posts_per_week, posts_per_week_ok, views_share, views_share_ok,
    score, failed_checks, network, page_open, comments_open
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
       'vk', CAST(NULL AS BOOLEAN), CAST(NULL AS BOOLEAN)
FROM checked;

INSERT INTO mart.page_compliance_monthly (
    page_id, org_id, month, observed_on, has_photo, has_cover, has_description, has_contacts_or_links,
    messages_open, wall_open, verified, posts_per_week, posts_per_week_ok, views_share, views_share_ok,
    score, failed_checks, network, page_open, comments_open
)
WITH weights AS (  -- (network, check, its order in failed_checks, weight): config/marts.yaml
    SELECT w.network, w.check_name, w.ordinal, w.weight
    FROM (
        VALUES
        ('ok', 'has_photo', 1, CAST(:w_ok_has_photo AS DOUBLE PRECISION)),
        ('ok', 'has_description', 2, CAST(:w_ok_has_description AS DOUBLE PRECISION)),
        ('ok', 'has_contacts_or_links', 3, CAST(:w_ok_has_contacts_or_links AS DOUBLE PRECISION)),
        ('ok', 'page_open', 4, CAST(:w_ok_page_open AS DOUBLE PRECISION)),
        ('ok', 'posts_per_week', 7, CAST(:w_ok_posts_per_week AS DOUBLE PRECISION)),
        ('max', 'has_photo', 1, CAST(:w_max_has_photo AS DOUBLE PRECISION)),
        ('max', 'has_description', 2, CAST(:w_max_has_description AS DOUBLE PRECISION)),
        ('max', 'page_open', 4, CAST(:w_max_page_open AS DOUBLE PRECISION)),
        ('max', 'posts_per_week', 7, CAST(:w_max_posts_per_week AS DOUBLE PRECISION)),
        ('max', 'views_share', 8, CAST(:w_max_views_share AS DOUBLE PRECISION)),
        ('tg', 'verified', 0, CAST(:w_tg_verified AS DOUBLE PRECISION)),
        ('tg', 'has_photo', 1, CAST(:w_tg_has_photo AS DOUBLE PRECISION)),
        ('tg', 'has_description', 2, CAST(:w_tg_has_description AS DOUBLE PRECISION)),
        ('tg', 'comments_open', 5, CAST(:w_tg_comments_open AS DOUBLE PRECISION)),
        ('tg', 'posts_per_week', 7, CAST(:w_tg_posts_per_week AS DOUBLE PRECISION)),
        ('tg', 'views_share', 8, CAST(:w_tg_views_share AS DOUBLE PRECISION))
    ) AS w (network, check_name, ordinal, weight)
),
last_seen AS (
    SELECT a.page_id, a.org_id, a.network, d.dt, d.has_photo, d.has_description, d.has_contacts_or_links,
           d.page_open, d.verified, d.comments_open,
           a.posts * 7.0 / a.days_in_month AS posts_per_week,
           CASE WHEN a.subscribers_end > 0 THEN a.avg_views / a.subscribers_end END AS views_share
    FROM mart.page_activity_monthly AS a
    JOIN core.dim_page AS p ON p.page_id = a.page_id
    LEFT JOIN core.fct_network_page_daily AS d
      ON d.network = a.network
     AND d.page_key = p.screen_name
     AND d.dt = (SELECT MAX(x.dt) FROM core.fct_network_page_daily AS x
                 WHERE x.network = a.network AND x.page_key = p.screen_name
                   AND x.dt >= :month_start AND x.dt < :month_end)
    WHERE a.month = :month_start AND a.network IN ('ok', 'max', 'tg')
),
checked AS (
    SELECT l.*,
           l.posts_per_week >= :posts_per_week_target AS posts_per_week_ok,
           CASE WHEN EXISTS (SELECT 1 FROM weights AS w WHERE w.network = l.network AND w.check_name = 'views_share')
                THEN COALESCE(l.views_share >= :views_share_target, FALSE)
           END AS views_share_ok
    FROM last_seen AS l
),
results AS (  -- every check of the page's network: passed or not (a missing field fails)
    SELECT c.page_id, w.check_name, w.ordinal, w.weight,
           COALESCE(CASE w.check_name
                        WHEN 'verified' THEN c.verified
                        WHEN 'has_photo' THEN c.has_photo
                        WHEN 'has_description' THEN c.has_description
                        WHEN 'has_contacts_or_links' THEN c.has_contacts_or_links
                        WHEN 'page_open' THEN c.page_open
                        WHEN 'comments_open' THEN c.comments_open
                        WHEN 'posts_per_week' THEN c.posts_per_week_ok
                        WHEN 'views_share' THEN c.views_share_ok
                    END, FALSE) AS passed
    FROM checked AS c
    JOIN weights AS w ON w.network = c.network
),
scored AS (
    SELECT page_id,
           SUM(CASE WHEN passed THEN weight ELSE 0 END) * 100.0 / SUM(weight) AS score,
           STRING_AGG(CASE WHEN NOT passed THEN check_name END, ', ' ORDER BY ordinal) AS failed_checks
    FROM results
    GROUP BY page_id
)
SELECT c.page_id, c.org_id, :month_start, c.dt, c.has_photo, CAST(NULL AS BOOLEAN), c.has_description,
       c.has_contacts_or_links, CAST(NULL AS BOOLEAN), CAST(NULL AS BOOLEAN), c.verified, c.posts_per_week,
       c.posts_per_week_ok, c.views_share, c.views_share_ok, s.score, COALESCE(s.failed_checks, ''),
       c.network, c.page_open, c.comments_open
FROM checked AS c
JOIN scored AS s ON s.page_id = c.page_id;
