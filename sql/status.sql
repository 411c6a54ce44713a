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
RETURNS jsonb LANGUAGE plpgsql VOLATILE
-- JIT compiling its 200 expressions costs more (300 ms) than running them
-- (tens of ms): the plan's cost crosses jit_above_cost on large tables.
SET jit = off AS $$
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
    -- Fold first, in a statement of its own, so that what follows reads
    -- the rollup with what arrived until now (or, if another session is
    -- folding, reads the rest live).
    PERFORM ses_feedback.rollup_fold();
    RETURN (
    WITH days AS (
        SELECT d::date AS day FROM generate_series(v_first, v_today, interval '1 day') d
    ), ev AS (
        SELECT r.day, r.delivered, r.hard_bounces, r.complaints
          FROM ses_feedback.rollup_days r
         WHERE r.day >= v_first AND r.day <= v_today
           AND (p_scope = 'all'
                OR (p_scope = 'identity' AND coalesce(r.source, '(none)') = p_name)
                OR (p_scope = 'configuration_set'
                    AND coalesce(r.configuration_set, '(none)') = p_name))
        UNION ALL
        SELECT (u.occurred_at AT TIME ZONE 'UTC')::date, (u.event_type = 'Delivery')::int,
               (u.event_type = 'Bounce' AND u.outcome = 'hard_bounce')::int,
               (u.event_type = 'Complaint'
                AND u.complaint_feedback_type IS DISTINCT FROM 'not-spam')::int
          FROM ses_feedback.unfolded_events(v_first::timestamp AT TIME ZONE 'UTC',
                                            (v_today + 1)::timestamp AT TIME ZONE 'UTC') u
         WHERE p_scope = 'all'
            OR (p_scope = 'identity' AND coalesce(u.source, '(none)') = p_name)
            OR (p_scope = 'configuration_set' AND coalesce(u.configuration_set, '(none)') = p_name)
    ), evd AS (
        SELECT ev.day, sum(ev.delivered) AS delivered, sum(ev.hard_bounces) AS hard_bounces,
               sum(ev.complaints) AS complaints
          FROM ev GROUP BY ev.day
    ), sl AS (
        SELECT x.day, x.reason, sum(x.n) AS n
          FROM (SELECT r.day, r.reason, r.n FROM ses_feedback.rollup_suppression_days r
                 WHERE r.action = 'suppress' AND r.day >= v_first AND r.day <= v_today
                UNION ALL
                SELECT (l.at AT TIME ZONE 'UTC')::date, l.reason, 1
                  FROM ses_feedback.unfolded_suppression_log() l
                 WHERE l.action = 'suppress') x
         WHERE x.day >= v_first AND x.day <= v_today
         GROUP BY 1, 2
    ), names AS (
        -- Each kind's 200 names with the most events: an application that
        -- sends from a VERP address per user must not make the selector
        -- (and the page) grow without bound.
        SELECT x.source, x.configuration_set, sum(x.n) AS n
          FROM (SELECT r.source, r.configuration_set, r.events AS n FROM ses_feedback.rollup_days r
                UNION ALL
                SELECT u.source, u.configuration_set, 1
                  FROM ses_feedback.unfolded_events('-infinity', 'infinity') u) x
         GROUP BY 1, 2
    ), top_identities AS (
        SELECT coalesce(names.source, '(none)') AS name FROM names
         GROUP BY 1 ORDER BY sum(names.n) DESC, 1 LIMIT 200
    ), top_sets AS (
        SELECT coalesce(names.configuration_set, '(none)') AS name FROM names
         GROUP BY 1 ORDER BY sum(names.n) DESC, 1 LIMIT 200
    ), topics AS (
        SELECT x.topic_arn, max(x.at) AS at
          FROM (SELECT t.topic_arn, t.last_received_at AS at FROM ses_feedback.rollup_topics t
                UNION ALL
                SELECT u.topic_arn, u.received_at FROM ses_feedback.unfolded_notifications() u) x
         GROUP BY 1
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
                    SELECT 1, 'identity', top_identities.name FROM top_identities
                    UNION
                    SELECT 2, 'configuration_set', top_sets.name FROM top_sets) s),
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
              FROM days d LEFT JOIN evd ev ON ev.day = d.day),
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
              FROM ses_feedback.top_domains(10) t),
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
              FROM (SELECT s.*, t.at AS last_at
                      FROM ses_feedback.subscriptions s
                      LEFT JOIN topics t ON t.topic_arn = s.topic_arn) s), '[]'::jsonb),
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
    ses_feedback.status_page(integer, text, text, text), ses_feedback.rollup_fold(),
    ses_feedback.unfolded_events(timestamptz, timestamptz),
    ses_feedback.unfolded_suppression_log(), ses_feedback.unfolded_notifications(),
    ses_feedback.rate_since(), ses_feedback.rate_hours_from(), ses_feedback.rate_hours_to(),
    ses_feedback.rate_days_from(), ses_feedback.rate_days_to(), ses_feedback.top_domains(integer)
    FROM PUBLIC;

-- The status page runs as the handler's role (the writer), dashboards as
-- the reader: both read the rate views, which read the rollup and call
-- the functions of views.sql. Granted here, on every migrate, so that a
-- migrate without --roles keeps both working.
DO $$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY['ses_feedback_writer', 'ses_feedback_reader'] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v_role);
        EXECUTE format('GRANT EXECUTE ON FUNCTION ses_feedback.utc_text(timestamptz),'
            ' ses_feedback.status_page(integer, text, text, text), ses_feedback.history(text),'
            ' ses_feedback.rollup_fold(), ses_feedback.unfolded_events(timestamptz, timestamptz),'
            ' ses_feedback.unfolded_suppression_log(), ses_feedback.unfolded_notifications(),'
            ' ses_feedback.rate_since(), ses_feedback.rate_hours_from(),'
            ' ses_feedback.rate_hours_to(), ses_feedback.rate_days_from(),'
            ' ses_feedback.rate_days_to(), ses_feedback.top_domains(integer) TO %I', v_role);
        EXECUTE format('GRANT SELECT ON ses_feedback.sending_rates,'
            ' ses_feedback.top_bouncing_domains, ses_feedback.rollup_hours,'
            ' ses_feedback.rollup_days, ses_feedback.rollup_domain_hours,'
            ' ses_feedback.rollup_domain_days,'
            ' ses_feedback.rollup_suppression_days, ses_feedback.rollup_topics,'
            ' ses_feedback.rollup_state TO %I', v_role);
    END LOOP;
END
$$;

-- The first migrate after an upgrade folds every event there is (about
-- 80 s for ten million on a small machine, longer than the program's
-- statement timeout, hence none for it), 50,000 rows a call until the
-- marks stop; later ones what arrived since the last reader.
SET LOCAL statement_timeout = 0;
DO $$
DECLARE
    a ses_feedback.rollup_state;
    b ses_feedback.rollup_state;
BEGIN
    LOOP
        SELECT * INTO a FROM ses_feedback.rollup_state;
        PERFORM ses_feedback.rollup_fold();
        SELECT * INTO b FROM ses_feedback.rollup_state;
        EXIT WHEN (a.event_mark, a.log_mark, a.notification_mark)
                  IS NOT DISTINCT FROM (b.event_mark, b.log_mark, b.notification_mark);
    END LOOP;
END
$$;
RESET check_function_bodies;
