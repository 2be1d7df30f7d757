-- The registry of bodies and pages (docs/registry-format.md) and the quarantine of bad input rows.
-- Body versions carry their validity, so a past month is rated with the registry as it was then:
-- pick the version with valid_from <= day < COALESCE(valid_to, far future).

CREATE TABLE IF NOT EXISTS staging.registry_org (
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
    domain         TEXT,
    aliases        TEXT NOT NULL,
    valid_from     DATE NOT NULL,
    valid_to       DATE,
    source_row     INTEGER NOT NULL,
    load_id        TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.registry_org_alias (
    org_id       TEXT NOT NULL,
    version      INTEGER NOT NULL,
    region_code  TEXT NOT NULL,
    alias        TEXT NOT NULL,
    alias_key    TEXT NOT NULL,
    load_id      TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.registry_page (
    page_id               TEXT NOT NULL,
    org_id                TEXT NOT NULL,
    network               TEXT NOT NULL,
    vk_group_id           BIGINT,
    screen_name           TEXT,
    previous_screen_name  TEXT,
    url                   TEXT NOT NULL,
    status                TEXT NOT NULL,
    valid_from            DATE NOT NULL,
    valid_to              DATE,
    replaced_by           TEXT,
    source_row            INTEGER NOT NULL,
    load_id               TEXT NOT NULL
);

-- Body versions (type-2 history): one row per (org_id, version).
CREATE TABLE IF NOT EXISTS core.dim_org (
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
    domain         TEXT,
    valid_from     DATE NOT NULL,
    valid_to       DATE,
    is_current     BOOLEAN NOT NULL,
    load_id        TEXT NOT NULL,
    PRIMARY KEY (org_id, version)
);

-- The names under which exports call a body version; alias_key is the normalised form.
CREATE TABLE IF NOT EXISTS core.dim_org_alias (
    org_id       TEXT NOT NULL,
    version      INTEGER NOT NULL,
    region_code  TEXT NOT NULL,
    alias        TEXT NOT NULL,
    alias_key    TEXT NOT NULL,
    PRIMARY KEY (org_id, version, alias)
);

-- Official pages with the period they were official; replaced pages point at their successor.
CREATE TABLE IF NOT EXISTS core.dim_page (
    page_id               TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL,
    network               TEXT NOT NULL,
    vk_group_id           BIGINT,
    screen_name           TEXT,
    previous_screen_name  TEXT,
    url                   TEXT NOT NULL,
    status                TEXT NOT NULL,
    valid_from            DATE NOT NULL,
    valid_to              DATE,
    replaced_by           TEXT,
    is_current            BOOLEAN NOT NULL,
    load_id               TEXT NOT NULL
);

-- Every input row that could not be loaded, with the reason; replaced per (source, partition).
CREATE TABLE IF NOT EXISTS audit.quarantine (
    source          TEXT NOT NULL,
    partition_key   TEXT NOT NULL,
    file            TEXT NOT NULL,
    row_number      BIGINT,
    column_name     TEXT,
    reason          TEXT NOT NULL,
    value           TEXT,
    load_id         TEXT NOT NULL,
    quarantined_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
