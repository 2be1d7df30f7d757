-- Issue 28: each network's own page checks, and the comment counts of OK and Telegram posts in the
-- page activity (docs/networks.md, "Compliance checks per network").
--
-- The page card fields the checks read, as each network's card answers them (NULL where the network
-- gives no such field: a check the network does not have), kept in staging and core beside the
-- day's subscribers:
--   has_photo               OK pic_avatar, MAX icon, Telegram chat_photo (a Photo, not PhotoEmpty)
--   has_description         OK description, MAX description, Telegram about (not empty)
--   has_contacts_or_links   OK homepage_url or phone
--   page_open               OK access_type OPEN (not a closed group), MAX is_public
--   verified                Telegram Channel.verified
--   comments_open           Telegram linked_chat_id (a discussion group: posts take comments)
ALTER TABLE staging.network_page_observations ADD COLUMN has_photo BOOLEAN;
ALTER TABLE staging.network_page_observations ADD COLUMN has_description BOOLEAN;
ALTER TABLE staging.network_page_observations ADD COLUMN has_contacts_or_links BOOLEAN;
ALTER TABLE staging.network_page_observations ADD COLUMN page_open BOOLEAN;
ALTER TABLE staging.network_page_observations ADD COLUMN verified BOOLEAN;
ALTER TABLE staging.network_page_observations ADD COLUMN comments_open BOOLEAN;

ALTER TABLE core.fct_network_page_daily ADD COLUMN has_photo BOOLEAN;
ALTER TABLE core.fct_network_page_daily ADD COLUMN has_description BOOLEAN;
ALTER TABLE core.fct_network_page_daily ADD COLUMN has_contacts_or_links BOOLEAN;
ALTER TABLE core.fct_network_page_daily ADD COLUMN page_open BOOLEAN;
ALTER TABLE core.fct_network_page_daily ADD COLUMN verified BOOLEAN;
ALTER TABLE core.fct_network_page_daily ADD COLUMN comments_open BOOLEAN;

-- mart.page_compliance_monthly gains the rows of OK, MAX and Telegram pages, each scored on its
-- network's own checks (config/marts.yaml, compliance.networks); two checks VK has no column for.
-- VK's rows leave them NULL, and a network's row leaves NULL the checks it does not have.
ALTER TABLE mart.page_compliance_monthly ADD COLUMN page_open BOOLEAN;
ALTER TABLE mart.page_compliance_monthly ADD COLUMN comments_open BOOLEAN;
-- views_share_ok is NULL where the network gives no views (OK): a check it does not have.
ALTER TABLE mart.page_compliance_monthly ALTER COLUMN views_share_ok DROP NOT NULL;

-- mart.page_activity_monthly: comments on the month's posts as the network counts them on each post
-- (every author, the page's own replies included): VK's comments count, OK's
-- discussion_summary.comments_count, Telegram's replies.replies; NULL for MAX (no count) and for a
-- page whose posts carry none. Rows built before this migration have it NULL until the month's
-- marts are rebuilt.
ALTER TABLE mart.page_activity_monthly ADD COLUMN post_comments BIGINT;
