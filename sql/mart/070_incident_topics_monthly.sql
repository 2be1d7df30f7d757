-- mart.incident_topics_monthly: body × source × month of registration × rubric × channel, from
-- core.fct_incident_timing (month, body) and core.fct_incident (rubric, channel as exported). An
-- empty rubric or channel is 'не указано'. Incidents without a body are not here, as in
-- mart.response_metrics_monthly, whose incidents per body, source and month these rows add up to.
DELETE FROM mart.incident_topics_monthly WHERE month = :month_start;

INSERT INTO mart.incident_topics_monthly (
    org_id, source, month, rubric, channel, region_code, incidents, answered, overdue, rated, satisfied
)
SELECT t.org_id, t.source, t.month,
       COALESCE(NULLIF(TRIM(i.rubric), ''), 'не указано') AS rubric,
       COALESCE(NULLIF(TRIM(i.channel), ''), 'не указано') AS channel,
       MIN(t.region_code),
       COUNT(*),
       SUM(CASE WHEN t.is_answered THEN 1 ELSE 0 END),
       SUM(CASE WHEN t.is_overdue THEN 1 ELSE 0 END),
       COUNT(t.satisfied),
       COALESCE(SUM(t.satisfied), 0)
FROM core.fct_incident_timing AS t
LEFT JOIN core.fct_incident AS i ON i.source = t.source AND i.incident_id = t.incident_id
WHERE t.month = :month_start AND t.org_id IS NOT NULL
GROUP BY t.org_id, t.source, t.month,
         COALESCE(NULLIF(TRIM(i.rubric), ''), 'не указано'),
         COALESCE(NULLIF(TRIM(i.channel), ''), 'не указано');
