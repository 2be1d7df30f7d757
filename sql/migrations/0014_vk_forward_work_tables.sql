-- Work tables of the forward VK load (sql/core/021_fct_post_forward.sql, 031_fct_comment_forward.sql):
-- when a day is loaded for the first time and no later day is staged, the latest observation of
-- each post or comment seen that day is that day's, so the core models read the day's rows and
-- the core rows of the posts it touches instead of every observation staged so far. These hold
-- the day's rebuilt rows inside the load's transaction; they are emptied at the start of each use.

CREATE TABLE IF NOT EXISTS staging.vk_day_posts (
    vk_group_id             BIGINT NOT NULL,
    post_id                 BIGINT NOT NULL,
    published_at            TIMESTAMP WITH TIME ZONE NOT NULL,
    text_length             INTEGER,
    photo_count             INTEGER,
    video_count             INTEGER,
    link_count              INTEGER,
    other_attachment_count  INTEGER,
    is_pinned               BOOLEAN,
    is_repost               BOOLEAN,
    views                   BIGINT,
    likes                   BIGINT,
    comments                BIGINT,
    reposts                 BIGINT,
    first_observed_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    observed_at             TIMESTAMP WITH TIME ZONE NOT NULL,
    observed_dt             DATE NOT NULL
);

-- The latest observation of each comment of the touched posts: the day's, or for a comment not
-- seen that day, its core row's.
CREATE TABLE IF NOT EXISTS staging.vk_day_comments (
    vk_group_id        BIGINT NOT NULL,
    post_id            BIGINT NOT NULL,
    comment_id         BIGINT NOT NULL,
    parent_comment_id  BIGINT,
    published_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    author_hash        TEXT,
    is_page_reply      BOOLEAN NOT NULL,
    observed_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    observed_dt        DATE NOT NULL
);
