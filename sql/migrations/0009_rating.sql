-- The monthly rating (issue 7): what methodologies score (mart.rating_base, rebuilt with the marts),
-- and immutable snapshots: a published snapshot never changes; a new revision is a new snapshot.
CREATE TABLE IF NOT EXISTS mart.rating_base (
    org_id                         TEXT NOT NULL,
    month                          DATE NOT NULL,
    region_code                    TEXT NOT NULL,
    rating_group                   TEXT,
    incidents                      INTEGER NOT NULL,
    incidents_im                   INTEGER NOT NULL,
    incidents_pos                  INTEGER NOT NULL,
    answered_share                 DOUBLE PRECISION,
    overdue_share                  DOUBLE PRECISION,
    im_overdue_share               DOUBLE PRECISION,
    pos_overdue_share              DOUBLE PRECISION,
    answer_hours_mean              DOUBLE PRECISION,
    im_answer_work_hours_median    DOUBLE PRECISION,
    im_reaction_work_hours_median  DOUBLE PRECISION,
    pos_answer_hours_mean          DOUBLE PRECISION,
    satisfaction_avg               DOUBLE PRECISION,
    satisfied_share                DOUBLE PRECISION,
    pos_satisfaction_avg           DOUBLE PRECISION,
    pos_satisfied_share            DOUBLE PRECISION,
    answers_assessed               INTEGER NOT NULL,
    formal_share                   DOUBLE PRECISION,
    no_specifics_share             DOUBLE PRECISION,
    impolite_share                 DOUBLE PRECISION,
    redirect_share                 DOUBLE PRECISION,
    template_share                 DOUBLE PRECISION,
    pages                          INTEGER NOT NULL,
    posts_per_week                 DOUBLE PRECISION,
    compliance_score               DOUBLE PRECISION,
    engagement_rate_pct            DOUBLE PRECISION,
    replied_share                  DOUBLE PRECISION,
    photo_video_share              DOUBLE PRECISION,
    PRIMARY KEY (org_id, month)
);

CREATE TABLE IF NOT EXISTS mart.rating_snapshot (
    snapshot_id          TEXT PRIMARY KEY,
    month                DATE NOT NULL,
    methodology_id       TEXT NOT NULL,
    methodology_version  INTEGER NOT NULL,
    methodology_hash     TEXT NOT NULL,
    input_fingerprint    TEXT NOT NULL,
    revision             INTEGER NOT NULL,
    status               TEXT NOT NULL,
    created_at           TIMESTAMP WITH TIME ZONE NOT NULL,
    published_at         TIMESTAMP WITH TIME ZONE,
    publish_path         TEXT
);

CREATE TABLE IF NOT EXISTS mart.rating_indicator (
    snapshot_id      TEXT NOT NULL,
    org_id           TEXT NOT NULL,
    month            DATE NOT NULL,
    indicator_id     TEXT NOT NULL,
    raw_value        DOUBLE PRECISION,
    points           DOUBLE PRECISION NOT NULL,
    weight           DOUBLE PRECISION NOT NULL,
    weighted_points  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (snapshot_id, org_id, indicator_id)
);

CREATE TABLE IF NOT EXISTS mart.rating_monthly (
    snapshot_id       TEXT NOT NULL,
    org_id            TEXT NOT NULL,
    month             DATE NOT NULL,
    rating_group      TEXT NOT NULL,
    incidents         INTEGER NOT NULL,
    is_rated          BOOLEAN NOT NULL,
    not_rated_reason  TEXT,
    score             DOUBLE PRECISION,
    rank              INTEGER,
    ranked_in_group   INTEGER,
    zone              TEXT,
    score_change      DOUBLE PRECISION,
    rank_change       INTEGER,
    PRIMARY KEY (snapshot_id, org_id)
);
