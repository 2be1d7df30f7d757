-- core.fct_page_daily for one day (:dt): the day's last observation of each page.
DELETE FROM core.fct_page_daily WHERE dt = :dt;

INSERT INTO core.fct_page_daily (
    vk_group_id, dt, members_count, is_closed, deactivated, verified, has_photo, has_cover,
    has_description, has_contacts, has_links, has_site, can_message, wall, activity, observed_at
)
SELECT vk_group_id, dt, members_count, is_closed, deactivated, verified, has_photo, has_cover,
       has_description, has_contacts, has_links, has_site, can_message, wall, activity, observed_at
FROM (
    SELECT o.*,
           ROW_NUMBER() OVER (PARTITION BY vk_group_id ORDER BY observed_at DESC, load_id DESC) AS rn
    FROM staging.vk_page_observations AS o
    WHERE dt = :dt
) AS latest
WHERE rn = 1;
