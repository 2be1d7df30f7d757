-- PostgreSQL only: indexes for the incident loader, which replaces each file's events and texts by
-- load_id (the third key column) and would otherwise scan both growing tables once per file — 528
-- files a national month. DuckDB scans a column fast enough without them and pays for an index
-- on every insert. (The VK loader's per-day statements scan staging once a day: 30 scans a month
-- cost less than maintaining an index over every observation.)

CREATE INDEX IF NOT EXISTS fct_incident_event_load_id ON core.fct_incident_event (load_id);
CREATE INDEX IF NOT EXISTS incident_text_load_id ON restricted.incident_text (load_id);
