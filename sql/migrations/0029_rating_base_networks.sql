-- Issue 28: mart.rating_base gains the page figures over every official page of the body — VK,
-- OK, MAX and Telegram (mart.page_activity_monthly, every network) — beside the VK figures, whose
-- meaning and values do not change (pages, posts_per_week, engagement_rate_pct,
-- photo_video_share stay VK's). A methodology indicator reads them with `networks: all`
-- (transforms/methodology.py; docs/rating.md). Months built before this migration have them
-- empty (NULL) until the month's marts are rebuilt.
--   pages_all_networks               official pages of the body with a row in the month, every network
--   posts_per_week_all_networks      posts a week, averaged over those pages (posts × 7 ÷ days of the month)
--   engagement_rate_pct_all_networks ER %, averaged over the pages that have one (a network without
--                                    likes, comments or reposts gives none: left out, not 0)
--   photo_video_share_all_networks   share of posts with photo or video, averaged over the pages that
--                                    have one (a network that does not say is left out)
ALTER TABLE mart.rating_base ADD COLUMN pages_all_networks INTEGER;
ALTER TABLE mart.rating_base ADD COLUMN posts_per_week_all_networks DOUBLE PRECISION;
ALTER TABLE mart.rating_base ADD COLUMN engagement_rate_pct_all_networks DOUBLE PRECISION;
ALTER TABLE mart.rating_base ADD COLUMN photo_video_share_all_networks DOUBLE PRECISION;
