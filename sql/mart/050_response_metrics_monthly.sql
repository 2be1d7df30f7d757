-- mart.response_metrics_monthly: body × source × month of registration (the region's local month),
-- from core.fct_incident_timing. Incidents without a body are not here: audit.unresolved_executor.
DELETE FROM mart.response_metrics_monthly WHERE month = :month_start;

INSERT INTO mart.response_metrics_monthly (
    org_id, source, month, region_code, incidents, answered, answered_share,
    reaction_hours_median, reaction_hours_mean, reaction_hours_p90,
    reaction_work_hours_median, reaction_work_hours_mean, reaction_work_hours_p90,
    answer_hours_median, answer_hours_mean, answer_hours_p90,
    answer_work_hours_median, answer_work_hours_mean, answer_work_hours_p90,
    overdue, overdue_share, rated, satisfaction_avg, satisfied_share, answers_assessed,
    formal_share, no_specifics_share, impolite_share, redirect_share, template_share
)
SELECT org_id, source, month, MIN(region_code),
       COUNT(*),
       SUM(CASE WHEN is_answered THEN 1 ELSE 0 END),
       AVG(CASE WHEN is_answered THEN 1.0 ELSE 0.0 END),
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
       SUM(CASE WHEN is_overdue THEN 1 ELSE 0 END),
       AVG(CASE WHEN is_overdue THEN 1.0 ELSE 0.0 END),
       COUNT(satisfied),
       AVG(CAST(satisfaction AS DOUBLE PRECISION)),
       AVG(CAST(satisfied AS DOUBLE PRECISION)),
       SUM(CASE WHEN has_answer_text THEN 1 ELSE 0 END),
       AVG(CASE WHEN has_answer_text THEN CASE WHEN formal THEN 1.0 ELSE 0.0 END END),
       AVG(CASE WHEN has_answer_text THEN CASE WHEN no_specifics THEN 1.0 ELSE 0.0 END END),
       AVG(CASE WHEN has_answer_text THEN CASE WHEN impolite THEN 1.0 ELSE 0.0 END END),
       AVG(CASE WHEN has_answer_text THEN CASE WHEN redirect THEN 1.0 ELSE 0.0 END END),
       AVG(CASE WHEN has_answer_text THEN CASE WHEN template THEN 1.0 ELSE 0.0 END END)
FROM core.fct_incident_timing
WHERE month = :month_start AND org_id IS NOT NULL
GROUP BY org_id, source, month;
