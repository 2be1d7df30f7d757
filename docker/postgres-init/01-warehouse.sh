#!/usr/bin/env bash
# Runs once, when the PostgreSQL volume is new, as the superuser POSTGRES_USER. It creates only
# what the warehouse's migrator cannot:
#   warehouse  the owner of database `warehouse`, the role gospublic's migrator and DAGs connect as.
#              An ordinary role (no superuser, no CREATEROLE), as on a managed PostgreSQL.
#   BI_USER    the login BI tools connect as, a member of the group role bi_reader: it reads schemas
#              mart and mart_ru only (the migrator grants bi_reader that after every migration).
# bi_reader itself is the warehouse's: migration 0016_bi_reader_role creates it when missing. It is
# created here, as that migration would (NOLOGIN), only because BI_USER must be its member before
# the first migration runs; the migration then keeps it.
# Values travel as psql variables (:'name' quotes them), never spliced into the SQL text.
set -euo pipefail
: "${WAREHOUSE_PASSWORD:?}" "${BI_USER:?}" "${BI_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v warehouse_password="$WAREHOUSE_PASSWORD" -v bi_user="$BI_USER" -v bi_password="$BI_PASSWORD" <<'SQL'
CREATE ROLE warehouse LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD :'warehouse_password';
CREATE DATABASE warehouse OWNER warehouse;
CREATE ROLE bi_reader NOLOGIN;
COMMENT ON ROLE bi_reader IS 'gospublic: reads schemas mart and mart_ru only; BI tools log in as its members';
CREATE ROLE :"bi_user" LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD :'bi_password' IN ROLE bi_reader;
SQL
