-- PostgreSQL only: find a day's rows of core.fct_page_daily without scanning every day loaded. Its
-- key (vk_group_id, dt) starts with the page, so the VK load's statements by day alone (the page
-- count before and after the models, gospublic.vk.days; the model's DELETE of the day) read the
-- whole table, which grows by a day of pages per day (55,000 rows nationally). A day's rows are
-- inserted together, at the index's right end. DuckDB skips row groups by their min/max dt.
CREATE INDEX IF NOT EXISTS fct_page_daily_dt ON core.fct_page_daily (dt);
