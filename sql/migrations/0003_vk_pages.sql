-- VK page data: staging keeps every observation of a day's extraction (replaceable per day);
-- core keeps the latest picture. Commenters appear only as keyed hashes.

CREATE TABLE IF NOT EXISTS staging.vk_page_observations (
    dt               DATE NOT NULL,
    vk_group_id      BIGINT NOT NULL,
    screen_name      TEXT,
    name             TEXT,
    members_count    BIGINT,
    is_closed        INTEGER,
    deactivated      TEXT,
    verified         BOOLEAN,
    has_photo        BOOLEAN,
    has_cover        BOOLEAN,
    has_description  BOOLEAN,
    has_contacts     BOOLEAN,
    has_links        BOOLEAN,
    has_site         BOOLEAN,
    can_message      BOOLEAN,
    wall             INTEGER,
    activity         TEXT,
    observed_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    load_id          TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.vk_post_observations (
    dt                      DATE NOT NULL,
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
    observed_at             TIMESTAMP WITH TIME ZONE NOT NULL,
    load_id                 TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.vk_comment_observations (
    dt                 DATE NOT NULL,
    vk_group_id        BIGINT NOT NULL,
    post_id            BIGINT NOT NULL,
    comment_id         BIGINT NOT NULL,
    parent_comment_id  BIGINT,
    published_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    author_hash        TEXT,
    is_page_reply      BOOLEAN NOT NULL,
    text_length        INTEGER,
    observed_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    load_id            TEXT NOT NULL
);

-- Page × day: subscribers and the page-compliance fields, as observed that day.
CREATE TABLE IF NOT EXISTS core.fct_page_daily (
    vk_group_id      BIGINT NOT NULL,
    dt               DATE NOT NULL,
    members_count    BIGINT,
    is_closed        INTEGER,
    deactivated      TEXT,
    verified         BOOLEAN,
    has_photo        BOOLEAN,
    has_cover        BOOLEAN,
    has_description  BOOLEAN,
    has_contacts     BOOLEAN,
    has_links        BOOLEAN,
    has_site         BOOLEAN,
    can_message      BOOLEAN,
    wall             INTEGER,
    activity         TEXT,
    observed_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (vk_group_id, dt)
);

-- Post: the latest observation of its metrics.
CREATE TABLE IF NOT EXISTS core.fct_post (
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
    PRIMARY KEY (vk_group_id, post_id)
);

-- Comment: citizens' comments with whether and when the page replied in their thread.
CREATE TABLE IF NOT EXISTS core.fct_comment (
    vk_group_id        BIGINT NOT NULL,
    post_id            BIGINT NOT NULL,
    comment_id         BIGINT NOT NULL,
    parent_comment_id  BIGINT,
    published_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    author_hash        TEXT,
    is_page_reply      BOOLEAN NOT NULL,
    page_replied       BOOLEAN,
    first_reply_at     TIMESTAMP WITH TIME ZONE,
    reply_delay_minutes DOUBLE PRECISION,
    observed_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (vk_group_id, post_id, comment_id)
);

-- Per-page extraction failures (closed, deleted, private, invalid pages; gave-up calls).
CREATE TABLE IF NOT EXISTS audit.extract_errors (
    dt           DATE NOT NULL,
    run_id       TEXT,
    vk_group_id  BIGINT,
    method       TEXT NOT NULL,
    error_code   INTEGER NOT NULL,
    error_msg    TEXT,
    occurred_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
