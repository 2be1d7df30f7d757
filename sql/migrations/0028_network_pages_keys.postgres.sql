-- PostgreSQL only: the keys of migration 0028's core facts (DuckDB keeps them as plain columns,
-- unique by the models, as migration 0012 explains for the VK facts).
ALTER TABLE core.fct_network_page_daily ADD PRIMARY KEY (network, page_key, dt);
ALTER TABLE core.fct_network_post ADD PRIMARY KEY (network, page_key, post_key);
CREATE INDEX IF NOT EXISTS fct_network_post_observed_dt ON core.fct_network_post (network, observed_dt);
