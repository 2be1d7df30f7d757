-- The group role BI tools log in through (a login role that is a member of bi_reader): mart and
-- mart_ru (the Russian-named views over mart, issue 27) only. PostgreSQL only; migration
-- 0016_bi_reader_role creates the role when missing. Re-applied after every migration (and so
-- after the migrator re-creates the mart_ru views), so tables and views added later are readable
-- too. Needs no more than owning the warehouse's schemas: it works for a migrator that is not a
-- superuser.
GRANT USAGE ON SCHEMA mart, mart_ru TO bi_reader;

GRANT SELECT ON ALL TABLES IN SCHEMA mart, mart_ru TO bi_reader;

ALTER DEFAULT PRIVILEGES IN SCHEMA mart, mart_ru GRANT SELECT ON TABLES TO bi_reader;

REVOKE ALL ON SCHEMA staging, core, audit, restricted FROM bi_reader;
