-- PostgreSQL only: let the daily VK load find its day's rows without scanning the month's. Each day
-- the core models collect the posts to rebuild from the rows observed on that day (staging `dt`,
-- core `observed_dt`), and the loader replaces the day's staging partition; without an index each
-- of those statements reads every day loaded so far. Staging rows arrive a day at a time, in `dt`
-- order, so a BRIN index (a few pages) is enough there: it covers the pages a VACUUM has
-- summarized, and the loader vacuums after each day. The core facts are rewritten in place, so
-- they get B-trees. DuckDB skips row groups by their min/max `dt` without any index.

CREATE INDEX IF NOT EXISTS vk_page_observations_dt ON staging.vk_page_observations USING brin (dt);
CREATE INDEX IF NOT EXISTS vk_post_observations_dt ON staging.vk_post_observations USING brin (dt);
CREATE INDEX IF NOT EXISTS vk_comment_observations_dt ON staging.vk_comment_observations USING brin (dt);
CREATE INDEX IF NOT EXISTS fct_post_observed_dt ON core.fct_post (observed_dt);
CREATE INDEX IF NOT EXISTS fct_comment_observed_dt ON core.fct_comment (observed_dt);
