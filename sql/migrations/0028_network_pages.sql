-- Issue 28: OK, MAX and Telegram pages in staging, core and the marts.
--
-- Staging keeps every observation of a day's extraction of the networks beyond VK, one partition
-- per network and day (network, dt), replaced whole by that network's load (gospublic.ok.load,
-- gospublic.max.load, gospublic.telegram.load). network is the registry's code (core.dim_page:
-- 'ok', 'max', 'tg'); page_key the page as the network names it and the registry keeps it in
-- core.dim_page.screen_name (OK group id, MAX chat id, Telegram username); post_key the network's
-- own id of a post (OK topic id, MAX message mid, Telegram message id), as text.
-- A metric the network does not give is NULL (docs/networks.md, "In the warehouse").
CREATE TABLE IF NOT EXISTS staging.network_page_observations (
    network      TEXT NOT NULL,
    page_key     TEXT NOT NULL,
    dt           DATE NOT NULL,
    subscribers  BIGINT,
    observed_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    load_id      TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.network_post_observations (
    network       TEXT NOT NULL,
    page_key      TEXT NOT NULL,
    dt            DATE NOT NULL,
    post_key      TEXT NOT NULL,
    published_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    text_length   INTEGER,
    has_photo     BOOLEAN,
    has_video     BOOLEAN,
    views         BIGINT,
    likes         BIGINT,
    comments      BIGINT,
    reposts       BIGINT,
    observed_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    load_id       TEXT NOT NULL
);

-- Work table of sql/core/060_fct_network_post.sql: the posts a load rebuilds (emptied by each run).
CREATE TABLE IF NOT EXISTS staging.network_rebuild_posts (
    network   TEXT NOT NULL,
    page_key  TEXT NOT NULL,
    post_key  TEXT NOT NULL
);

-- core.fct_network_page_daily: one row per network, page and day (the day's last observation).
-- core.fct_network_post: one row per network, page and post (its latest observation; its first).
-- Keys: (network, page_key, dt) and (network, page_key, post_key), primary keys on PostgreSQL
-- (0028_network_pages_keys.postgres.sql) and kept unique by the models on DuckDB, as the VK facts
-- (migration 0012).
CREATE TABLE IF NOT EXISTS core.fct_network_page_daily (
    network      TEXT NOT NULL,
    page_key     TEXT NOT NULL,
    dt           DATE NOT NULL,
    subscribers  BIGINT,
    observed_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    load_id      TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS core.fct_network_post (
    network            TEXT NOT NULL,
    page_key           TEXT NOT NULL,
    post_key           TEXT NOT NULL,
    published_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    text_length        INTEGER,
    has_photo          BOOLEAN,
    has_video          BOOLEAN,
    views              BIGINT,
    likes              BIGINT,
    comments           BIGINT,
    reposts            BIGINT,
    first_observed_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    observed_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    observed_dt        DATE NOT NULL,
    load_id            TEXT NOT NULL
);

-- The marts name each row's network; the rows built before are VK's. vk_group_id is empty for
-- the other networks' pages, and so are the comment counts of page_activity_monthly (only VK's
-- comments are read one by one). NOT NULL with no default once the existing rows have 'vk'
-- (DuckDB refuses SET NOT NULL after an UPDATE in the same transaction, hence the temporary default).
ALTER TABLE mart.subscribers_daily ADD COLUMN network TEXT NOT NULL DEFAULT 'vk';
ALTER TABLE mart.subscribers_daily ALTER COLUMN network DROP DEFAULT;
ALTER TABLE mart.subscribers_daily ALTER COLUMN vk_group_id DROP NOT NULL;

ALTER TABLE mart.page_activity_monthly ADD COLUMN network TEXT NOT NULL DEFAULT 'vk';
ALTER TABLE mart.page_activity_monthly ALTER COLUMN network DROP DEFAULT;
ALTER TABLE mart.page_activity_monthly ALTER COLUMN vk_group_id DROP NOT NULL;
ALTER TABLE mart.page_activity_monthly ALTER COLUMN citizen_comments DROP NOT NULL;
ALTER TABLE mart.page_activity_monthly ALTER COLUMN replied_comments DROP NOT NULL;

-- Compliance checks are VK's («Светофор» on a community's fields): its rows stay VK's, named so.
ALTER TABLE mart.page_compliance_monthly ADD COLUMN network TEXT NOT NULL DEFAULT 'vk';
ALTER TABLE mart.page_compliance_monthly ALTER COLUMN network DROP DEFAULT;
