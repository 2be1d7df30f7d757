-- mart.rating_base: body × month, every value a methodology may score (its indicators are columns of
-- this table or arithmetic over them). Bodies of the month with incidents or with an official page.
-- Page figures: pages … photo_video_share are the body's VK pages (page activity joined with VK's
-- compliance checks); the *_all_networks figures are over every official page of the body with a row
-- in mart.page_activity_monthly (VK, OK, MAX, Telegram), each averaged per page as the VK figure is,
-- a page whose network lacks a measure's metrics left out of that measure's average.
DELETE FROM mart.rating_base WHERE month = :month_start;

INSERT INTO mart.rating_base (
    org_id, month, region_code, rating_group, incidents, incidents_im, incidents_pos, answered_share,
    overdue_share, im_overdue_share, pos_overdue_share, answer_hours_mean, im_answer_work_hours_median,
    im_reaction_work_hours_median, pos_answer_hours_mean, satisfaction_avg, satisfied_share,
    pos_satisfaction_avg, pos_satisfied_share, answers_assessed, formal_share, no_specifics_share,
    impolite_share, redirect_share, template_share, pages, posts_per_week, compliance_score,
    engagement_rate_pct, replied_share, photo_video_share, kind, im_answered_share, pos_answered_share,
    im_answer_hours_median, im_answer_hours_mean, im_answer_work_hours_mean, pos_answer_hours_median,
    pos_answer_work_days_median, pos_answer_work_days_mean, im_satisfaction_avg, im_satisfied_share, rated,
    im_rated, pos_rated, pages_all_networks, posts_per_week_all_networks, engagement_rate_pct_all_networks,
    photo_video_share_all_networks
)
WITH orgs AS (
    SELECT o.org_id, o.region_code, o.rating_group, o.kind
    FROM core.dim_org AS o
    WHERE o.valid_from < :month_end AND (o.valid_to IS NULL OR o.valid_to > :month_start)
      AND o.version = (
          SELECT MAX(v.version) FROM core.dim_org AS v
          WHERE v.org_id = o.org_id AND v.valid_from < :month_end
      )
),
responses AS (
    SELECT org_id,
           SUM(incidents) AS incidents,
           SUM(CASE WHEN source = 'im' THEN incidents ELSE 0 END) AS incidents_im,
           SUM(CASE WHEN source = 'pos' THEN incidents ELSE 0 END) AS incidents_pos,
           1.0 * SUM(answered) / NULLIF(SUM(counted), 0) AS answered_share,
           1.0 * SUM(overdue) / NULLIF(SUM(counted), 0) AS overdue_share,
           MAX(CASE WHEN source = 'im' THEN overdue_share END) AS im_overdue_share,
           MAX(CASE WHEN source = 'pos' THEN overdue_share END) AS pos_overdue_share,
           SUM(answer_hours_mean * answered) / NULLIF(SUM(CASE WHEN answer_hours_mean IS NOT NULL
                                                         THEN answered END), 0) AS answer_hours_mean,
           MAX(CASE WHEN source = 'im' THEN answer_work_hours_median END) AS im_answer_work_hours_median,
           MAX(CASE WHEN source = 'im' THEN reaction_work_hours_median END) AS im_reaction_work_hours_median,
           MAX(CASE WHEN source = 'pos' THEN answer_hours_mean END) AS pos_answer_hours_mean,
           SUM(satisfaction_avg * rated) / NULLIF(SUM(CASE WHEN satisfaction_avg IS NOT NULL THEN rated END), 0)
               AS satisfaction_avg,
           SUM(satisfied_share * rated) / NULLIF(SUM(CASE WHEN satisfied_share IS NOT NULL THEN rated END), 0)
               AS satisfied_share,
           MAX(CASE WHEN source = 'pos' THEN satisfaction_avg END) AS pos_satisfaction_avg,
           MAX(CASE WHEN source = 'pos' THEN satisfied_share END) AS pos_satisfied_share,
           SUM(answers_assessed) AS answers_assessed,
           SUM(formal_share * answers_assessed) / NULLIF(SUM(answers_assessed), 0) AS formal_share,
           SUM(no_specifics_share * answers_assessed) / NULLIF(SUM(answers_assessed), 0) AS no_specifics_share,
           SUM(impolite_share * answers_assessed) / NULLIF(SUM(answers_assessed), 0) AS impolite_share,
           SUM(redirect_share * answers_assessed) / NULLIF(SUM(answers_assessed), 0) AS redirect_share,
           SUM(template_share * answers_assessed) / NULLIF(SUM(answers_assessed), 0) AS template_share,
           MAX(CASE WHEN source = 'im' THEN answered_share END) AS im_answered_share,
           MAX(CASE WHEN source = 'pos' THEN answered_share END) AS pos_answered_share,
           MAX(CASE WHEN source = 'im' THEN answer_hours_median END) AS im_answer_hours_median,
           MAX(CASE WHEN source = 'im' THEN answer_hours_mean END) AS im_answer_hours_mean,
           MAX(CASE WHEN source = 'im' THEN answer_work_hours_mean END) AS im_answer_work_hours_mean,
           MAX(CASE WHEN source = 'pos' THEN answer_hours_median END) AS pos_answer_hours_median,
           MAX(CASE WHEN source = 'pos' THEN answer_work_days_median END) AS pos_answer_work_days_median,
           MAX(CASE WHEN source = 'pos' THEN answer_work_days_mean END) AS pos_answer_work_days_mean,
           MAX(CASE WHEN source = 'im' THEN satisfaction_avg END) AS im_satisfaction_avg,
           MAX(CASE WHEN source = 'im' THEN satisfied_share END) AS im_satisfied_share,
           SUM(rated) AS rated,
           SUM(CASE WHEN source = 'im' THEN rated ELSE 0 END) AS im_rated,
           SUM(CASE WHEN source = 'pos' THEN rated ELSE 0 END) AS pos_rated
    FROM mart.response_metrics_monthly
    WHERE month = :month_start
    GROUP BY org_id
),
page_stats AS (
    SELECT a.org_id,
           COUNT(*) AS pages,
           AVG(c.posts_per_week) AS posts_per_week,
           AVG(c.score) AS compliance_score,
           AVG(a.engagement_rate_pct) AS engagement_rate_pct,
           1.0 * SUM(a.replied_comments) / NULLIF(SUM(a.citizen_comments), 0) AS replied_share,
           AVG(a.photo_video_share) AS photo_video_share
    FROM mart.page_activity_monthly AS a
    JOIN mart.page_compliance_monthly AS c ON c.page_id = a.page_id AND c.month = a.month
    WHERE a.month = :month_start AND a.network = 'vk' AND c.network = 'vk'
    GROUP BY a.org_id
),
all_networks AS (
    SELECT a.org_id,
           COUNT(*) AS pages_all,
           AVG(a.posts * 7.0 / a.days_in_month) AS posts_per_week_all,
           AVG(a.engagement_rate_pct) AS engagement_rate_pct_all,
           AVG(a.photo_video_share) AS photo_video_share_all
    FROM mart.page_activity_monthly AS a
    WHERE a.month = :month_start
    GROUP BY a.org_id
)
SELECT o.org_id, :month_start, o.region_code, o.rating_group,
       COALESCE(r.incidents, 0), COALESCE(r.incidents_im, 0), COALESCE(r.incidents_pos, 0),
       r.answered_share, r.overdue_share, r.im_overdue_share, r.pos_overdue_share, r.answer_hours_mean,
       r.im_answer_work_hours_median, r.im_reaction_work_hours_median, r.pos_answer_hours_mean,
       r.satisfaction_avg, r.satisfied_share, r.pos_satisfaction_avg, r.pos_satisfied_share,
       COALESCE(r.answers_assessed, 0), r.formal_share, r.no_specifics_share, r.impolite_share,
       r.redirect_share, r.template_share,
       COALESCE(p.pages, 0), p.posts_per_week, p.compliance_score, p.engagement_rate_pct, p.replied_share,
       p.photo_video_share, o.kind, r.im_answered_share, r.pos_answered_share, r.im_answer_hours_median,
       r.im_answer_hours_mean, r.im_answer_work_hours_mean, r.pos_answer_hours_median,
       r.pos_answer_work_days_median, r.pos_answer_work_days_mean, r.im_satisfaction_avg, r.im_satisfied_share,
       COALESCE(r.rated, 0), COALESCE(r.im_rated, 0), COALESCE(r.pos_rated, 0),
       COALESCE(n.pages_all, 0), n.posts_per_week_all, n.engagement_rate_pct_all, n.photo_video_share_all
FROM orgs AS o
LEFT JOIN responses AS r ON r.org_id = o.org_id
LEFT JOIN page_stats AS p ON p.org_id = o.org_id
LEFT JOIN all_networks AS n ON n.org_id = o.org_id
WHERE r.org_id IS NOT NULL OR p.org_id IS NOT NULL OR n.org_id IS NOT NULL;
