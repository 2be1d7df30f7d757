-- Staging retention of the OK, MAX and Telegram posts (gospublic.infra.retention,
-- config/retention.yaml, docs/operations.md "Staging retention"). sql/core/060_fct_network_post.sql
-- rebuilds a post from every observation of it: before a network's day of posts is deleted, its
-- observations are folded into this table, so that the rebuild still sees what the deleted days
-- said, as staging.vk_post_retired does for VK (migration 0031). Its size follows the posts, not
-- the days.

-- Per network and post, its observations on the days retention deleted: the latest of them (latest
-- day, then time, then load, as the core model ranks) and first_seen_at, the earliest observed_at.
CREATE TABLE IF NOT EXISTS staging.network_post_retired (
    network        TEXT NOT NULL,
    page_key       TEXT NOT NULL,
    post_key       TEXT NOT NULL,
    published_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    text_length    INTEGER,
    has_photo      BOOLEAN,
    has_video      BOOLEAN,
    views          BIGINT,
    likes          BIGINT,
    comments       BIGINT,
    reposts        BIGINT,
    first_seen_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    observed_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    dt             DATE NOT NULL,
    load_id        TEXT NOT NULL
);
