-- The group role BI tools log in through (a login role that is a member of bi_reader): mart only.
-- PostgreSQL only; migration 0016_bi_reader_role creates the role when missing. Re-applied after
-- every migration, so tables added to mart later are readable too. Needs no more than owning the
-- warehouse's schemas: it works for a migrator that is not a superuser.
GRANT USAGE ON SCHEMA mart TO bi_reader;

GRANT SELECT ON ALL TABLES IN SCHEMA mart TO bi_reader;

ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT SELECT ON TABLES TO bi_reader;

REVOKE ALL ON SCHEMA staging, core, audit, restricted FROM bi_reader;
