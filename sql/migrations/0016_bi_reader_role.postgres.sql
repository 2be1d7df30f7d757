-- PostgreSQL only: the group role BI tools read the marts through. sql/grants/bi_reader.postgres.sql
-- gives it USAGE and SELECT on schema mart only, after every migration. It is a NOLOGIN group: a BI
-- tool logs in as a role of its own that is a member (README, "Connecting"). Roles belong to the
-- server, not to the database: a bi_reader that exists already (made by the DBA, by compose's
-- docker/postgres-init, or by another warehouse on the same server) is kept as it is.
-- Creating it takes CREATEROLE. On a managed PostgreSQL where the migrator has no CREATEROLE, the
-- DBA runs `CREATE ROLE bi_reader NOLOGIN;` once; everything else the migrator does as the owner of
-- the warehouse database (tests/test_bi_reader_role.py migrates as such a role).

DO $migration$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'bi_reader') THEN
        IF NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_roles
            WHERE rolname = current_user AND (rolcreaterole OR rolsuper)
        ) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'insufficient_privilege',
                MESSAGE = format(
                    'the group role bi_reader does not exist and %s may not create it (no CREATEROLE); '
                    'ask the DBA to run CREATE ROLE bi_reader NOLOGIN once (or to grant %s CREATEROLE), '
                    'then migrate again',
                    current_user, current_user
                );
        END IF;
        BEGIN
            CREATE ROLE bi_reader NOLOGIN;
            COMMENT ON ROLE bi_reader IS 'gospublic: reads schema mart only; BI tools log in as its members';
        EXCEPTION WHEN duplicate_object THEN
            NULL;  -- another warehouse's migrator on this server created it meanwhile
        END;
    END IF;
END
$migration$;
