-- The warehouse's schemas, by layer.
--   staging     raw rows as loaded from the lake, one partition per load
--   core        conformed dimensions and facts (no personal data)
--   mart        the BI contract: stable, documented, read by BI tools and the rating
--   audit       load runs, quarantine, extraction errors, schema migrations
--   restricted  citizens' personal data (message and answer texts); never exposed to BI
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS mart;
CREATE SCHEMA IF NOT EXISTS audit;
CREATE SCHEMA IF NOT EXISTS restricted;
