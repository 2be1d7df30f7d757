-- mart.dim_page_current: one row per official page (grain: page_id) with its body's current names
-- (mart.dim_org_current), so a BI tool joins one dimension for page and body. A page has one row in
-- the registry (a renamed page is a new page_id); should it ever have more, the same rule as the
-- bodies' picks one: the current row, else the latest valid_from.
DELETE FROM mart.dim_page_current;

INSERT INTO mart.dim_page_current (
    page_id, org_id, org_name, org_short_name, network, vk_group_id, screen_name, url, status,
    valid_from, valid_to, is_current
)
SELECT p.page_id, p.org_id, o.name, o.short_name, p.network, p.vk_group_id, p.screen_name, p.url,
       p.status, p.valid_from, p.valid_to, p.is_current
FROM (
    SELECT
        d.*,
        ROW_NUMBER() OVER (PARTITION BY d.page_id ORDER BY d.is_current DESC, d.valid_from DESC) AS pick
    FROM mart.dim_page AS d
) AS p
LEFT JOIN mart.dim_org_current AS o ON p.org_id = o.org_id
WHERE p.pick = 1;
