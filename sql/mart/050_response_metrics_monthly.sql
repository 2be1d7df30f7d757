-- mart.response_metrics_monthly: body × source × month of registration (the region's local month),
-- from core.fct_incident_timing. Incidents without a body are not here: audit.unresolved_executor.
-- Shares, times and ratings are over the counted incidents (is_counted: the default status rule, a
-- rejected incident is excluded); incidents counts every one registered.
DELETE FROM mart.response_metrics_monthly WHERE month = :month_start;

INSERT INTO mart.response_metrics_monthly (
    org_id, source, month, region_code, incidents, counted, excluded, answered, answered_share,
    reaction_hours_median, reaction_hours_mean, reaction_hours_p90,
    reaction_work_hours_median, reaction_work_hours_mean, reaction_work_hours_p90,
    answer_hours_median, answer_hours_mean, answer_hours_p90,
    answer_work_hours_median, answer_work_hours_mean, answer_work_hours_p90,
    answer_work_days_median, answer_work_days_mean,
    overdue, overdue_share, rated, satisfaction_avg, satisfied_share, answers_assessed,
    formal_share, no_specifics_share, impolite_share, redirect_share, template_share
)
WITH timing AS (
    SELECT org_id, source, month, region_code, is_counted, is_overdue, has_answer_text,
           formal, no_specifics, impolite, redirect, template,
           is_counted AND is_answered AS is_answered,
           CASE WHEN is_counted THEN reaction_hours END AS reaction_hours,
           CASE WHEN is_counted THEN reaction_work_hours END AS reaction_work_hours,
           CASE WHEN is_counted THEN answer_hours END AS answer_hours,
           CASE WHEN is_counted THEN answer_work_hours END AS answer_work_hours,
           CASE WHEN is_counted THEN CAST(answer_work_days AS DOUBLE PRECISION) END AS answer_work_days,
           CASE WHEN is_counted THEN satisfaction END AS satisfaction,
           CASE WHEN is_counted THEN satisfied END AS satisfied
    FROM core.fct_incident_timing
    WHERE month = :month_start AND org_id IS NOT NULL
)
SELECT org_id, source, month, MIN(region_code),
       COUNT(*),
       SUM(CASE WHEN is_counted THEN 1 ELSE 0 END),
       SUM(CASE WHEN is_counted THEN 0 ELSE 1 END),
       SUM(CASE WHEN is_answered THEN 1 ELSE 0 END),
       AVG(CASE WHEN is_counted THEN CASE WHEN is_answered THEN 1.0 ELSE 0.0 END END),
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY reaction_hours),
       AVG(reaction_hours),
       PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY reaction_hours),
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY reaction_work_hours),
       AVG(reaction_work_hours),
       PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY reaction_work_hours),
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY answer_hours),
       AVG(answer_hours),
       PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY answer_hours),
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY answer_work_hours),
       AVG(answer_work_hours),
       PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY answer_work_hours),
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY answer_work_days),
       AVG(answer_work_days),
       SUM(CASE WHEN is_overdue THEN 1 ELSE 0 END),
       AVG(CASE WHEN is_counted THEN CASE WHEN is_overdue THEN 1.0 ELSE 0.0 END END),
       COUNT(satisfied),
       AVG(CAST(satisfaction AS DOUBLE PRECISION)),
       AVG(CAST(satisfied AS DOUBLE PRECISION)),
       SUM(CASE WHEN has_answer_text THEN 1 ELSE 0 END),
       AVG(CASE WHEN has_answer_text THEN CASE WHEN formal THEN 1.0 ELSE 0.0 END END),
       AVG(CASE WHEN has_answer_text THEN CASE WHEN no_specifics THEN 1.0 ELSE 0.0 END END),
       AVG(CASE WHEN has_answer_text THEN CASE WHEN impolite THEN 1.0 ELSE 0.0 END END),
       AVG(CASE WHEN has_answer_text THEN CASE WHEN redirect THEN 1.0 ELSE 0.0 END END),
       AVG(CASE WHEN has_answer_text THEN CASE WHEN template THEN 1.0 ELSE 0.0 END END)
FROM timing
GROUP BY org_id, source, month;
