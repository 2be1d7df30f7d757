-- mart.dim_page: official pages with the period they were official (grain: page_id).
DELETE FROM mart.dim_page;

INSERT INTO mart.dim_page (
    page_id, org_id, network, vk_group_id, screen_name, url, status, valid_from, valid_to, is_current
)
SELECT page_id, org_id, network, vk_group_id, screen_name, url, status, valid_from, valid_to, is_current
FROM core.dim_page;
