-- Re-running a day must leave the same core rows even when the re-run observes fewer posts:
-- core rows remember the day of their last observation, and a day's load rebuilds every post
-- observed that day before or now (the keys go through a work table inside the transaction).
ALTER TABLE core.fct_post ADD COLUMN observed_dt DATE;
ALTER TABLE core.fct_comment ADD COLUMN observed_dt DATE;

CREATE TABLE IF NOT EXISTS staging.vk_rebuild_posts (
    vk_group_id  BIGINT NOT NULL,
    post_id      BIGINT NOT NULL
);
