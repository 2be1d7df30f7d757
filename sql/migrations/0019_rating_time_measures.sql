-- Time measures that reflect waiting and statuses that count as the methodology says (issue 24).
-- core.fct_incident_timing, per incident:
--   status              the normalised status as last exported (config/incident_exports.yaml)
--   is_counted          counts in the marts' shares under the default status rule (a rejected
--                       incident does not; transforms.methodology.DEFAULT_STATUSES)
--   answer_work_days    working days from the day after registration to the answer's day
--   reaction_work_days  the same to the first reaction
ALTER TABLE core.fct_incident_timing ADD COLUMN status TEXT;
ALTER TABLE core.fct_incident_timing ADD COLUMN is_counted BOOLEAN;
ALTER TABLE core.fct_incident_timing ADD COLUMN answer_work_days INTEGER;
ALTER TABLE core.fct_incident_timing ADD COLUMN reaction_work_days INTEGER;

-- mart.response_metrics_monthly: incidents counted in the shares, those excluded, working days.
ALTER TABLE mart.response_metrics_monthly ADD COLUMN counted INTEGER;
ALTER TABLE mart.response_metrics_monthly ADD COLUMN excluded INTEGER;
ALTER TABLE mart.response_metrics_monthly ADD COLUMN answer_work_days_median DOUBLE PRECISION;
ALTER TABLE mart.response_metrics_monthly ADD COLUMN answer_work_days_mean DOUBLE PRECISION;

-- mart.rating_base: the registry kind, and every time, share and rating count per source, so no
-- indicator mixes IM hours with ПОС days.
ALTER TABLE mart.rating_base ADD COLUMN kind TEXT;
ALTER TABLE mart.rating_base ADD COLUMN im_answered_share DOUBLE PRECISION;
ALTER TABLE mart.rating_base ADD COLUMN pos_answered_share DOUBLE PRECISION;
ALTER TABLE mart.rating_base ADD COLUMN im_answer_hours_median DOUBLE PRECISION;
ALTER TABLE mart.rating_base ADD COLUMN im_answer_hours_mean DOUBLE PRECISION;
ALTER TABLE mart.rating_base ADD COLUMN im_answer_work_hours_mean DOUBLE PRECISION;
ALTER TABLE mart.rating_base ADD COLUMN pos_answer_hours_median DOUBLE PRECISION;
ALTER TABLE mart.rating_base ADD COLUMN pos_answer_work_days_median DOUBLE PRECISION;
ALTER TABLE mart.rating_base ADD COLUMN pos_answer_work_days_mean DOUBLE PRECISION;
ALTER TABLE mart.rating_base ADD COLUMN im_satisfaction_avg DOUBLE PRECISION;
ALTER TABLE mart.rating_base ADD COLUMN im_satisfied_share DOUBLE PRECISION;
ALTER TABLE mart.rating_base ADD COLUMN rated INTEGER;
ALTER TABLE mart.rating_base ADD COLUMN im_rated INTEGER;
ALTER TABLE mart.rating_base ADD COLUMN pos_rated INTEGER;

-- mart.rating_indicator: every rated body × indicator, a missing one too (an optional indicator
-- without enough data has weight 0; a required one 0 points), and why it is missing (Russian).
ALTER TABLE mart.rating_indicator ADD COLUMN missing BOOLEAN;
ALTER TABLE mart.rating_indicator ADD COLUMN missing_reason TEXT;
