-- core.dim_page from the registry load in staging; only pages of known bodies (the rest are quarantined).
DELETE FROM core.dim_page;

INSERT INTO core.dim_page (
    page_id, org_id, network, vk_group_id, screen_name, previous_screen_name, url, status,
    valid_from, valid_to, replaced_by, is_current, load_id
)
SELECT p.page_id, p.org_id, p.network, p.vk_group_id, p.screen_name, p.previous_screen_name, p.url,
       p.status, p.valid_from, p.valid_to, p.replaced_by, p.valid_to IS NULL, p.load_id
FROM staging.registry_page AS p
WHERE EXISTS (SELECT 1 FROM staging.registry_org AS o WHERE o.org_id = p.org_id);
