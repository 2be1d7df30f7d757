-- PostgreSQL only: the folded observations of migration 0031 are found by their post, as the
-- core models' full scope and the cleanup's fold join them to the posts they rebuild or fold.
CREATE INDEX IF NOT EXISTS vk_post_retired_post ON staging.vk_post_retired (vk_group_id, post_id);
CREATE INDEX IF NOT EXISTS vk_comment_retired_post ON staging.vk_comment_retired (vk_group_id, post_id);
