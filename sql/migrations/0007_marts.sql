-- The BI contract (schema mart) and the per-incident timing it is computed from. Grain, meaning and
-- captions of every mart column: config/mart_contract.yaml and docs/data-dictionary.md.

-- Incident × month of registration (the region's local month): times, deadline, quality flags.
CREATE TABLE IF NOT EXISTS core.fct_incident_timing (
    source               TEXT NOT NULL,
    incident_id          TEXT NOT NULL,
    month                DATE NOT NULL,
    org_id               TEXT,
    region_code          TEXT NOT NULL,
    registered_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    is_answered          BOOLEAN NOT NULL,
    reaction_hours       DOUBLE PRECISION,
    reaction_work_hours  DOUBLE PRECISION,
    answer_hours         DOUBLE PRECISION,
    answer_work_hours    DOUBLE PRECISION,
    deadline_at          TIMESTAMP WITH TIME ZONE NOT NULL,
    deadline_rule        TEXT NOT NULL,
    is_overdue           BOOLEAN NOT NULL,
    satisfaction         INTEGER,
    satisfied            INTEGER,
    has_answer_text      BOOLEAN NOT NULL,
    formal               BOOLEAN,
    no_specifics         BOOLEAN,
    impolite             BOOLEAN,
    redirect             BOOLEAN,
    template             BOOLEAN,
    PRIMARY KEY (source, incident_id)
);

CREATE TABLE IF NOT EXISTS mart.dim_org (
    org_id         TEXT NOT NULL,
    version        INTEGER NOT NULL,
    name           TEXT NOT NULL,
    short_name     TEXT,
    kind           TEXT NOT NULL,
    rating_group   TEXT,
    parent_org_id  TEXT,
    region_code    TEXT NOT NULL,
    region_name    TEXT NOT NULL,
    timezone       TEXT NOT NULL,
    valid_from     DATE NOT NULL,
    valid_to       DATE,
    is_current     BOOLEAN NOT NULL,
    PRIMARY KEY (org_id, version)
);

CREATE TABLE IF NOT EXISTS mart.dim_page (
    page_id        TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL,
    network        TEXT NOT NULL,
    vk_group_id    BIGINT,
    screen_name    TEXT,
    url            TEXT NOT NULL,
    status         TEXT NOT NULL,
    valid_from     DATE NOT NULL,
    valid_to       DATE,
    is_current     BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS mart.subscribers_daily (
    page_id             TEXT NOT NULL,
    org_id              TEXT NOT NULL,
    vk_group_id         BIGINT NOT NULL,
    dt                  DATE NOT NULL,
    month               DATE NOT NULL,
    subscribers         BIGINT,
    change_day          BIGINT,
    change_month        BIGINT,
    PRIMARY KEY (page_id, dt)
);

CREATE TABLE IF NOT EXISTS mart.page_activity_monthly (
    page_id                     TEXT NOT NULL,
    org_id                      TEXT NOT NULL,
    vk_group_id                 BIGINT NOT NULL,
    month                       DATE NOT NULL,
    days_in_month               INTEGER NOT NULL,
    posts                       INTEGER NOT NULL,
    days_with_post              INTEGER NOT NULL,
    longest_gap_days            INTEGER NOT NULL,
    photo_video_share           DOUBLE PRECISION,
    avg_views                   DOUBLE PRECISION,
    engagement_rate_pct         DOUBLE PRECISION,
    citizen_comments            INTEGER NOT NULL,
    replied_comments            INTEGER NOT NULL,
    replied_share               DOUBLE PRECISION,
    median_reply_delay_minutes  DOUBLE PRECISION,
    subscribers_end             BIGINT,
    PRIMARY KEY (page_id, month)
);

CREATE TABLE IF NOT EXISTS mart.page_compliance_monthly (
    page_id                TEXT NOT NULL,
    org_id                 TEXT NOT NULL,
    month                  DATE NOT NULL,
    observed_on            DATE,
    has_photo              BOOLEAN,
    has_cover              BOOLEAN,
    has_description        BOOLEAN,
    has_contacts_or_links  BOOLEAN,
    messages_open          BOOLEAN,
    wall_open              BOOLEAN,
    verified               BOOLEAN,
    posts_per_week         DOUBLE PRECISION NOT NULL,
    posts_per_week_ok      BOOLEAN NOT NULL,
    views_share            DOUBLE PRECISION,
    views_share_ok         BOOLEAN NOT NULL,
    score                  DOUBLE PRECISION NOT NULL,
    failed_checks          TEXT NOT NULL,
    PRIMARY KEY (page_id, month)
);

CREATE TABLE IF NOT EXISTS mart.response_metrics_monthly (
    org_id                     TEXT NOT NULL,
    source                     TEXT NOT NULL,
    month                      DATE NOT NULL,
    region_code                TEXT NOT NULL,
    incidents                  INTEGER NOT NULL,
    answered                   INTEGER NOT NULL,
    answered_share             DOUBLE PRECISION NOT NULL,
    reaction_hours_median      DOUBLE PRECISION,
    reaction_hours_mean        DOUBLE PRECISION,
    reaction_hours_p90         DOUBLE PRECISION,
    reaction_work_hours_median DOUBLE PRECISION,
    reaction_work_hours_mean   DOUBLE PRECISION,
    reaction_work_hours_p90    DOUBLE PRECISION,
    answer_hours_median        DOUBLE PRECISION,
    answer_hours_mean          DOUBLE PRECISION,
    answer_hours_p90           DOUBLE PRECISION,
    answer_work_hours_median   DOUBLE PRECISION,
    answer_work_hours_mean     DOUBLE PRECISION,
    answer_work_hours_p90      DOUBLE PRECISION,
    overdue                    INTEGER NOT NULL,
    overdue_share              DOUBLE PRECISION NOT NULL,
    rated                      INTEGER NOT NULL,
    satisfaction_avg           DOUBLE PRECISION,
    satisfied_share            DOUBLE PRECISION,
    answers_assessed           INTEGER NOT NULL,
    formal_share               DOUBLE PRECISION,
    no_specifics_share         DOUBLE PRECISION,
    impolite_share             DOUBLE PRECISION,
    redirect_share             DOUBLE PRECISION,
    template_share             DOUBLE PRECISION,
    PRIMARY KEY (org_id, source, month)
);
