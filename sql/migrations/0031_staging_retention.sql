-- Staging retention (issue 29; gospublic.infra.retention, config/retention.yaml, docs/operations.md
-- "Staging retention"). The cleanup deletes the staged days older than the rule keeps, one table
-- partition per transaction. The VK load's full scope (sql/core/020_fct_post.sql,
-- 030_fct_comment.sql) reads every observation of the posts it rebuilds: before a day of posts or
-- comments is deleted, its observations are folded into these tables, so that the full scope still
-- sees what the deleted days said. Their size follows the posts and comments, not the days.

-- Per post, its observations on the days retention deleted: the latest of them (latest day, then
-- time, then load, as the core models rank) and first_seen_at, the earliest observed_at of them.
CREATE TABLE IF NOT EXISTS staging.vk_post_retired (
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
    first_seen_at           TIMESTAMP WITH TIME ZONE NOT NULL,
    observed_at             TIMESTAMP WITH TIME ZONE NOT NULL,
    dt                      DATE NOT NULL,
    load_id                 TEXT NOT NULL
);

-- Per comment, its latest observation on the days retention deleted.
CREATE TABLE IF NOT EXISTS staging.vk_comment_retired (
    vk_group_id        BIGINT NOT NULL,
    post_id            BIGINT NOT NULL,
    comment_id         BIGINT NOT NULL,
    parent_comment_id  BIGINT,
    published_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    author_hash        TEXT,
    is_page_reply      BOOLEAN NOT NULL,
    observed_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    dt                 DATE NOT NULL,
    load_id            TEXT NOT NULL
);

-- One row per staging partition the cleanup deleted: the table, the day (and the network for a
-- table of several networks' rows), the rows deleted and folded, the horizon of the rule it
-- applied (days before it could go) and when. A day replayed from the lake and cleaned again gets
-- a second row.
CREATE TABLE IF NOT EXISTS audit.staging_retention (
    table_name    TEXT NOT NULL,
    dt            DATE NOT NULL,
    network       TEXT,
    rows_deleted  BIGINT NOT NULL,
    rows_folded   BIGINT NOT NULL,
    horizon       DATE NOT NULL,
    cleaned_at    TIMESTAMP WITH TIME ZONE NOT NULL
);
