-- core.fct_network_page_daily for one network (network 'ok', 'max' or 'tg') and day dt: the
-- day's last observation of each page's card: subscribers and the fields of the network's own
-- compliance checks (NULL where the network's card has no such field; migration 0030).
DELETE FROM core.fct_network_page_daily WHERE network = :network AND dt = :dt;

INSERT INTO core.fct_network_page_daily (
    network, page_key, dt, subscribers, observed_at, load_id, has_photo, has_description,
    has_contacts_or_links, page_open, verified, comments_open
)
SELECT network, page_key, dt, subscribers, observed_at, load_id, has_photo, has_description,
       has_contacts_or_links, page_open, verified, comments_open
FROM (
    SELECT o.*,
           ROW_NUMBER() OVER (PARTITION BY page_key ORDER BY observed_at DESC, load_id DESC) AS rn
    FROM staging.network_page_observations AS o
    WHERE network = :network AND dt = :dt
) AS latest
WHERE rn = 1;
