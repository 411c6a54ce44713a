-- SPDX-License-Identifier: ISC
-- ses-feedback: what the status page shows, in one call. `ses-feedback
-- migrate` applies this file on every run, after views.sql (and roles.sql),
-- in the same transaction; it must stay idempotent.
--
-- status_page(days, scope, name, search) answers one jsonb document; its
-- shape is the contract with src/status.c, which renders it and computes
-- no number of its own. Every count is the one the views give: "current"
-- is the sending_rates row, "domains" the top_bouncing_domains rows.

SET LOCAL check_function_bodies = off;

-- An ISO 8601 UTC timestamp, whatever the session's TimeZone.
CREATE OR REPLACE FUNCTION ses_feedback.utc_text(p_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

CREATE OR REPLACE FUNCTION ses_feedback.status_page(p_days integer, p_scope text, p_name text,
                                                    p_search text)
RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_today date := (now() AT TIME ZONE 'UTC')::date;
    v_first date;
    v_email text := ses_feedback.normalize_email(p_search);
BEGIN
    IF p_days IS NULL OR p_days NOT IN (7, 30, 90) THEN
        RAISE EXCEPTION 'status_page: days must be 7, 30 or 90' USING ERRCODE = '22023';
    END IF;
    IF p_scope IS NULL OR p_scope NOT IN ('all', 'identity', 'configuration_set') THEN
        RAISE EXCEPTION 'status_page: scope must be all, identity or configuration_set'
            USING ERRCODE = '22023';
    END IF;
    IF p_scope = 'all' THEN
        p_name := '(all)';
    END IF;
    v_first := v_today - (p_days - 1);
    RETURN (
    WITH days AS (
        SELECT d::date AS day FROM generate_series(v_first, v_today, interval '1 day') d
    ), ev AS (
        SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
               count(*) FILTER (WHERE e.event_type = 'Delivery') AS delivered,
               count(*) FILTER (WHERE e.event_type = 'Bounce' AND e.outcome = 'hard_bounce')
                   AS hard_bounces,
               count(*) FILTER (WHERE e.event_type = 'Complaint'
                                  AND e.complaint_feedback_type IS DISTINCT FROM 'not-spam')
                   AS complaints
          FROM ses_feedback.recipient_events e
          JOIN ses_feedback.notifications n ON n.id = e.notification_id
         WHERE e.occurred_at >= v_first::timestamp AT TIME ZONE 'UTC'
           AND e.occurred_at < (v_today + 1)::timestamp AT TIME ZONE 'UTC'
           AND (p_scope = 'all'
                OR (p_scope = 'identity' AND coalesce(n.source, '(none)') = p_name)
                OR (p_scope = 'configuration_set'
                    AND coalesce(n.configuration_set, '(none)') = p_name))
         GROUP BY 1
    ), sl AS (
        SELECT (l.at AT TIME ZONE 'UTC')::date AS day, l.reason, count(*) AS n
          FROM ses_feedback.suppression_log l
         WHERE l.action = 'suppress'
           AND l.at >= v_first::timestamp AT TIME ZONE 'UTC'
           AND l.at < (v_today + 1)::timestamp AT TIME ZONE 'UTC'
         GROUP BY 1, 2
    ), r AS (
        SELECT * FROM ses_feedback.sending_rates s WHERE s.scope = p_scope AND s.name = p_name
    )
    SELECT jsonb_build_object(
        'generated_at', ses_feedback.utc_text(now()),
        'days', p_days, 'scope', p_scope, 'name', p_name,
        'rate_window', coalesce(ses_feedback.policy_interval('rate_window'), '7 days')::text,
        'selector', (
            SELECT jsonb_agg(jsonb_build_object('scope', s.scope, 'name', s.name)
                             ORDER BY s.o, s.name)
              FROM (SELECT 0 AS o, 'all' AS scope, '(all)' AS name
                    UNION
                    SELECT 1, 'identity', coalesce(n.source, '(none)')
                      FROM ses_feedback.notifications n
                     WHERE n.event_type IS NOT NULL
                    UNION
                    SELECT 2, 'configuration_set', coalesce(n.configuration_set, '(none)')
                      FROM ses_feedback.notifications n
                     WHERE n.event_type IS NOT NULL) s),
        'current', (
            SELECT jsonb_build_object(
                'delivered', coalesce(r.delivered, 0), 'hard_bounces', coalesce(r.hard_bounces, 0),
                'complaints', coalesce(r.complaints, 0),
                'bounce_rate_pct', r.bounce_rate_pct::text,
                'bounce_status', coalesce(r.bounce_status, 'no data'),
                'complaint_rate_pct', r.complaint_rate_pct::text,
                'complaint_status', coalesce(r.complaint_status, 'no data'))
              FROM (SELECT 1) one LEFT JOIN r ON true),
        'daily', (
            SELECT jsonb_agg(jsonb_build_object(
                       'day', d.day::text,
                       'delivered', coalesce(ev.delivered, 0),
                       'hard_bounces', coalesce(ev.hard_bounces, 0),
                       'complaints', coalesce(ev.complaints, 0),
                       'bounce_rate_pct', round(100.0 * ev.hard_bounces
                           / nullif(ev.delivered + ev.hard_bounces, 0), 3)::text,
                       'complaint_rate_pct', round(100.0 * ev.complaints
                           / nullif(ev.delivered, 0), 3)::text)
                   ORDER BY d.day)
              FROM days d LEFT JOIN ev ON ev.day = d.day),
        'suppressions_daily', (
            SELECT jsonb_agg(jsonb_build_object(
                       'day', d.day::text,
                       'hard_bounce', coalesce(x.hard_bounce, 0),
                       'soft_bounce', coalesce(x.soft_bounce, 0),
                       'complaint', coalesce(x.complaint, 0),
                       'unsubscribe', coalesce(x.unsubscribe, 0),
                       'manual', coalesce(x.manual, 0))
                   ORDER BY d.day)
              FROM days d
              LEFT JOIN (SELECT sl.day,
                                sum(sl.n) FILTER (WHERE sl.reason = 'hard_bounce') AS hard_bounce,
                                sum(sl.n) FILTER (WHERE sl.reason = 'soft_bounce') AS soft_bounce,
                                sum(sl.n) FILTER (WHERE sl.reason = 'complaint') AS complaint,
                                sum(sl.n) FILTER (WHERE sl.reason = 'unsubscribe') AS unsubscribe,
                                sum(sl.n) FILTER (WHERE sl.reason = 'manual') AS manual
                           FROM sl GROUP BY sl.day) x ON x.day = d.day),
        'latest', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'at', ses_feedback.utc_text(l.at), 'email', l.email, 'action', l.action,
                       'reason', l.reason, 'scope', l.scope, 'actor', l.actor, 'note', l.note)
                   ORDER BY l.at DESC, l.id DESC)
              FROM (SELECT * FROM ses_feedback.suppression_log l
                     WHERE l.action IN ('suppress', 'unsuppress')
                     ORDER BY l.at DESC, l.id DESC LIMIT 20) l), '[]'::jsonb),
        'domains', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'domain', t.domain, 'hard_bounces', t.hard_bounces,
                       'soft_bounces', t.soft_bounces, 'complaints', t.complaints,
                       'delivered', t.delivered, 'last_at', ses_feedback.utc_text(t.last_at))
                   ORDER BY t.hard_bounces DESC, t.soft_bounces DESC, t.domain)
              FROM (SELECT * FROM ses_feedback.top_bouncing_domains
                     ORDER BY hard_bounces DESC, soft_bounces DESC, domain LIMIT 10) t),
            '[]'::jsonb),
        'subscriptions', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'topic_arn', s.topic_arn, 'status', s.status,
                       'updated_at', ses_feedback.utc_text(s.updated_at),
                       'last_notification_at', ses_feedback.utc_text(s.last_at),
                       'warning', CASE WHEN s.status <> 'confirmed' THEN s.status
                                       WHEN s.last_at IS NULL
                                         OR s.last_at < now() - interval '24 hours'
                                       THEN 'silent' END)
                   ORDER BY s.topic_arn)
              FROM (SELECT s.*, (SELECT max(n.received_at) FROM ses_feedback.notifications n
                                  WHERE n.topic_arn = s.topic_arn) AS last_at
                      FROM ses_feedback.subscriptions s) s), '[]'::jsonb),
        'search', CASE WHEN p_search IS NOT NULL THEN jsonb_build_object(
            'query', p_search, 'email', v_email,
            'suppressions', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                           'scope', s.scope,
                           'configuration_set', nullif(s.configuration_set, ''),
                           'contact_list', nullif(s.contact_list, ''),
                           'topic', nullif(s.topic, ''),
                           'reason', s.reason,
                           'state', CASE WHEN s.lifted_at IS NOT NULL THEN 'lifted'
                                         WHEN s.expired_at IS NOT NULL
                                           OR s.expires_at <= now() THEN 'expired'
                                         ELSE 'active' END,
                           'first_at', ses_feedback.utc_text(s.first_at),
                           'last_at', ses_feedback.utc_text(s.last_at),
                           'count', s.count,
                           'expires_at', ses_feedback.utc_text(s.expires_at),
                           'lifted_at', ses_feedback.utc_text(s.lifted_at))
                       ORDER BY s.scope)
                  FROM ses_feedback.suppressions s WHERE s.email = v_email), '[]'::jsonb),
            'history', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                           'at', ses_feedback.utc_text(h.at), 'what', h.what,
                           'detail', h.detail, 'actor', h.actor, 'note', h.note,
                           'ses_message_id', h.ses_message_id, 'scope', h.scope)
                       ORDER BY h.at DESC, h.what DESC)
                  FROM (SELECT * FROM ses_feedback.history(v_email) h
                         ORDER BY h.at DESC, h.what DESC LIMIT 50) h),
                '[]'::jsonb)) END)
      FROM (SELECT 1) one);
END
$$;

REVOKE EXECUTE ON FUNCTION ses_feedback.utc_text(timestamptz),
    ses_feedback.status_page(integer, text, text, text) FROM PUBLIC;

-- The status page runs as the handler's role (the writer) and dashboards
-- as the reader; a migrate without --roles keeps both working.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ses_feedback_writer') THEN
        GRANT EXECUTE ON FUNCTION ses_feedback.utc_text(timestamptz),
            ses_feedback.status_page(integer, text, text, text),
            ses_feedback.history(text) TO ses_feedback_writer;
        GRANT SELECT ON ses_feedback.sending_rates, ses_feedback.top_bouncing_domains
            TO ses_feedback_writer;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ses_feedback_reader') THEN
        GRANT EXECUTE ON FUNCTION ses_feedback.utc_text(timestamptz),
            ses_feedback.status_page(integer, text, text, text) TO ses_feedback_reader;
    END IF;
END
$$;
RESET check_function_bodies;
