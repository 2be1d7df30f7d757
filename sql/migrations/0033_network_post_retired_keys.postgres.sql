-- PostgreSQL only: the folded observations of migration 0033 are found by their post, as the
-- networks' post model and the cleanup's fold join them to the posts they rebuild or fold.
CREATE INDEX IF NOT EXISTS network_post_retired_post
ON staging.network_post_retired (network, page_key, post_key);
