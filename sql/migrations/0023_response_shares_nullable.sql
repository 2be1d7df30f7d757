-- mart.response_metrics_monthly: answered_share and overdue_share are shares of the counted
-- incidents (migration 0019: rejected ones are excluded). A body whose every incident of a source
-- was rejected has none counted, so its shares are unknown (NULL), not 0: migration 0007 declared
-- them NOT NULL, which failed the month's build (found on the sample month, three bodies).
ALTER TABLE mart.response_metrics_monthly ALTER COLUMN answered_share DROP NOT NULL;
ALTER TABLE mart.response_metrics_monthly ALTER COLUMN overdue_share DROP NOT NULL;
