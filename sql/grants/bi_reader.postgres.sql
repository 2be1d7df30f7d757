-- The role BI tools log in with (through a login role granted bi_reader): mart only. PostgreSQL only;
-- re-applied after every migration, so tables added to mart later are readable too.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bi_reader') THEN
        CREATE ROLE bi_reader NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA mart TO bi_reader;

GRANT SELECT ON ALL TABLES IN SCHEMA mart TO bi_reader;

ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT SELECT ON TABLES TO bi_reader;

REVOKE ALL ON SCHEMA staging, core, audit, restricted FROM bi_reader;
