#!/usr/bin/env bash
# Runs once when the PostgreSQL volume is new: a separate database and owner for the warehouse,
# and the read-only role BI tools connect as (it gets USAGE/SELECT on schema mart only).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE warehouse LOGIN PASSWORD '${WAREHOUSE_PASSWORD}';
CREATE DATABASE warehouse OWNER warehouse;
CREATE ROLE bi_reader LOGIN PASSWORD '${BI_READER_PASSWORD}';
SQL
