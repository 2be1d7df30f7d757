-- Issue 27. What a BI tool joins without multiplying rows, and a schema of Russian-named views.
--
-- mart.dim_org_current and mart.dim_page_current: one row per org_id and per page_id (built by
-- sql/mart/012_dim_org_current.sql and 013_dim_page_current.sql: the current version, or the last
-- version of an id that has no current one). mart.dim_org keeps every version (org_id × version).
CREATE TABLE IF NOT EXISTS mart.dim_org_current (
    org_id         TEXT NOT NULL,
    version        INTEGER NOT NULL,
    name           TEXT NOT NULL,
    short_name     TEXT,
    kind           TEXT NOT NULL,
    rating_group   TEXT,
    parent_org_id  TEXT,
    region_code    TEXT NOT NULL,
    region_name    TEXT NOT NULL,
    municipality   TEXT,
    oktmo          TEXT,
    timezone       TEXT NOT NULL,
    valid_from     DATE NOT NULL,
    valid_to       DATE,
    is_current     BOOLEAN NOT NULL,
    versions       INTEGER NOT NULL,
    PRIMARY KEY (org_id)
);

CREATE TABLE IF NOT EXISTS mart.dim_page_current (
    page_id         TEXT NOT NULL,
    org_id          TEXT NOT NULL,
    org_name        TEXT,
    org_short_name  TEXT,
    network         TEXT NOT NULL,
    vk_group_id     BIGINT,
    screen_name     TEXT,
    url             TEXT NOT NULL,
    status          TEXT NOT NULL,
    valid_from      DATE NOT NULL,
    valid_to        DATE,
    is_current      BOOLEAN NOT NULL,
    PRIMARY KEY (page_id)
);

-- The views of mart_ru (Russian column names and values over every mart table) are generated from
-- config/mart_contract.yaml and re-created by the migrator after every migration
-- (gospublic.infra.mart_ru), like the marts' comments: a changed caption needs no migration.
CREATE SCHEMA IF NOT EXISTS mart_ru;
