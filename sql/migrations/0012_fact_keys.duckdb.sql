-- DuckDB only: the large fact tables without primary keys. DuckDB keeps a primary key as an ART
-- index that every insert consults and every checkpoint writes out whole; the daily VK load and
-- the incident batches delete and re-insert many keyed rows, and three national VK days loaded in
-- 70 s with the keys and 28 s without them (docs/benchmarks.md). The models keep the keys unique
-- (each deletes the rows it rebuilds, then inserts one row per key) and the tests check it after
-- every load (tests/keys.py). PostgreSQL keeps its keys: B-tree indexes its joins use.
-- Each table is rebuilt under its name with the same columns, types and NOT NULLs.

-- core.fct_page_daily: was keyed by (vk_group_id, dt)
CREATE TABLE core.fct_page_daily__keyless (
    vk_group_id       BIGINT NOT NULL,
    dt                DATE NOT NULL,
    members_count     BIGINT,
    is_closed         INTEGER,
    deactivated       VARCHAR,
    verified          BOOLEAN,
    has_photo         BOOLEAN,
    has_cover         BOOLEAN,
    has_description   BOOLEAN,
    has_contacts      BOOLEAN,
    has_links         BOOLEAN,
    has_site          BOOLEAN,
    can_message       BOOLEAN,
    wall              INTEGER,
    activity          VARCHAR,
    observed_at       TIMESTAMP WITH TIME ZONE NOT NULL
);
INSERT INTO core.fct_page_daily__keyless SELECT vk_group_id, dt, members_count, is_closed, deactivated, verified, has_photo, has_cover, has_description, has_contacts, has_links, has_site, can_message, wall, activity, observed_at FROM core.fct_page_daily;
DROP TABLE core.fct_page_daily;
ALTER TABLE core.fct_page_daily__keyless RENAME TO fct_page_daily;

-- core.fct_post: was keyed by (vk_group_id, post_id)
CREATE TABLE core.fct_post__keyless (
    vk_group_id              BIGINT NOT NULL,
    post_id                  BIGINT NOT NULL,
    published_at             TIMESTAMP WITH TIME ZONE NOT NULL,
    text_length              INTEGER,
    photo_count              INTEGER,
    video_count              INTEGER,
    link_count               INTEGER,
    other_attachment_count   INTEGER,
    is_pinned                BOOLEAN,
    is_repost                BOOLEAN,
    "views"                  BIGINT,
    likes                    BIGINT,
    "comments"               BIGINT,
    reposts                  BIGINT,
    first_observed_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    observed_at              TIMESTAMP WITH TIME ZONE NOT NULL,
    observed_dt              DATE
);
INSERT INTO core.fct_post__keyless SELECT vk_group_id, post_id, published_at, text_length, photo_count, video_count, link_count, other_attachment_count, is_pinned, is_repost, "views", likes, "comments", reposts, first_observed_at, observed_at, observed_dt FROM core.fct_post;
DROP TABLE core.fct_post;
ALTER TABLE core.fct_post__keyless RENAME TO fct_post;

-- core.fct_comment: was keyed by (vk_group_id, post_id, comment_id)
CREATE TABLE core.fct_comment__keyless (
    vk_group_id           BIGINT NOT NULL,
    post_id               BIGINT NOT NULL,
    comment_id            BIGINT NOT NULL,
    parent_comment_id     BIGINT,
    published_at          TIMESTAMP WITH TIME ZONE NOT NULL,
    author_hash           VARCHAR,
    is_page_reply         BOOLEAN NOT NULL,
    page_replied          BOOLEAN,
    first_reply_at        TIMESTAMP WITH TIME ZONE,
    reply_delay_minutes   DOUBLE,
    observed_at           TIMESTAMP WITH TIME ZONE NOT NULL,
    observed_dt           DATE
);
INSERT INTO core.fct_comment__keyless SELECT vk_group_id, post_id, comment_id, parent_comment_id, published_at, author_hash, is_page_reply, page_replied, first_reply_at, reply_delay_minutes, observed_at, observed_dt FROM core.fct_comment;
DROP TABLE core.fct_comment;
ALTER TABLE core.fct_comment__keyless RENAME TO fct_comment;

-- core.fct_incident_event: was keyed by (source, incident_id, load_id)
CREATE TABLE core.fct_incident_event__keyless (
    "source"            VARCHAR NOT NULL,
    incident_id         VARCHAR NOT NULL,
    load_id             VARCHAR NOT NULL,
    file                VARCHAR NOT NULL,
    row_number          BIGINT NOT NULL,
    export_date         DATE NOT NULL,
    exported_at         TIMESTAMP WITH TIME ZONE NOT NULL,
    processed_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    region_code         VARCHAR NOT NULL,
    org_id              VARCHAR,
    executor            VARCHAR NOT NULL,
    status              VARCHAR NOT NULL,
    channel             VARCHAR,
    message_type        VARCHAR,
    rubric              VARCHAR,
    subcategory         VARCHAR,
    registered_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    first_reaction_at   TIMESTAMP WITH TIME ZONE,
    answered_at         TIMESTAMP WITH TIME ZONE,
    due_at              TIMESTAMP WITH TIME ZONE NOT NULL,
    satisfaction        INTEGER,
    satisfied           INTEGER,
    author_key          VARCHAR
);
INSERT INTO core.fct_incident_event__keyless SELECT "source", incident_id, load_id, file, row_number, export_date, exported_at, processed_at, region_code, org_id, executor, status, channel, message_type, rubric, subcategory, registered_at, first_reaction_at, answered_at, due_at, satisfaction, satisfied, author_key FROM core.fct_incident_event;
DROP TABLE core.fct_incident_event;
ALTER TABLE core.fct_incident_event__keyless RENAME TO fct_incident_event;

-- core.fct_incident: was keyed by (source, incident_id)
CREATE TABLE core.fct_incident__keyless (
    "source"            VARCHAR NOT NULL,
    incident_id         VARCHAR NOT NULL,
    region_code         VARCHAR NOT NULL,
    org_id              VARCHAR,
    executor            VARCHAR NOT NULL,
    status              VARCHAR NOT NULL,
    channel             VARCHAR,
    message_type        VARCHAR,
    rubric              VARCHAR,
    subcategory         VARCHAR,
    registered_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    first_reaction_at   TIMESTAMP WITH TIME ZONE,
    answered_at         TIMESTAMP WITH TIME ZONE,
    due_at              TIMESTAMP WITH TIME ZONE NOT NULL,
    satisfaction        INTEGER,
    satisfied           INTEGER,
    is_answered         BOOLEAN NOT NULL,
    is_overdue          BOOLEAN NOT NULL,
    author_key          VARCHAR,
    observations        INTEGER NOT NULL,
    first_export_date   DATE NOT NULL,
    last_export_date    DATE NOT NULL,
    last_exported_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    last_file           VARCHAR NOT NULL,
    load_id             VARCHAR NOT NULL
);
INSERT INTO core.fct_incident__keyless SELECT "source", incident_id, region_code, org_id, executor, status, channel, message_type, rubric, subcategory, registered_at, first_reaction_at, answered_at, due_at, satisfaction, satisfied, is_answered, is_overdue, author_key, observations, first_export_date, last_export_date, last_exported_at, last_file, load_id FROM core.fct_incident;
DROP TABLE core.fct_incident;
ALTER TABLE core.fct_incident__keyless RENAME TO fct_incident;

-- restricted.incident_text: was keyed by (source, incident_id, load_id)
CREATE TABLE restricted.incident_text__keyless (
    "source"       VARCHAR NOT NULL,
    incident_id    VARCHAR NOT NULL,
    load_id        VARCHAR NOT NULL,
    url            VARCHAR,
    message_text   VARCHAR,
    answer_text    VARCHAR
);
INSERT INTO restricted.incident_text__keyless SELECT "source", incident_id, load_id, url, message_text, answer_text FROM restricted.incident_text;
DROP TABLE restricted.incident_text;
ALTER TABLE restricted.incident_text__keyless RENAME TO incident_text;

-- core.fct_incident_timing: was keyed by (source, incident_id)
CREATE TABLE core.fct_incident_timing__keyless (
    "source"              VARCHAR NOT NULL,
    incident_id           VARCHAR NOT NULL,
    "month"               DATE NOT NULL,
    org_id                VARCHAR,
    region_code           VARCHAR NOT NULL,
    registered_at         TIMESTAMP WITH TIME ZONE NOT NULL,
    is_answered           BOOLEAN NOT NULL,
    reaction_hours        DOUBLE,
    reaction_work_hours   DOUBLE,
    answer_hours          DOUBLE,
    answer_work_hours     DOUBLE,
    deadline_at           TIMESTAMP WITH TIME ZONE NOT NULL,
    deadline_rule         VARCHAR NOT NULL,
    is_overdue            BOOLEAN NOT NULL,
    satisfaction          INTEGER,
    satisfied             INTEGER,
    has_answer_text       BOOLEAN NOT NULL,
    formal                BOOLEAN,
    no_specifics          BOOLEAN,
    impolite              BOOLEAN,
    redirect              BOOLEAN,
    "template"            BOOLEAN
);
INSERT INTO core.fct_incident_timing__keyless SELECT "source", incident_id, "month", org_id, region_code, registered_at, is_answered, reaction_hours, reaction_work_hours, answer_hours, answer_work_hours, deadline_at, deadline_rule, is_overdue, satisfaction, satisfied, has_answer_text, formal, no_specifics, impolite, redirect, "template" FROM core.fct_incident_timing;
DROP TABLE core.fct_incident_timing;
ALTER TABLE core.fct_incident_timing__keyless RENAME TO fct_incident_timing;
