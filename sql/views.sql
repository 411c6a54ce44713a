-- SPDX-License-Identifier: ISC
-- ses-feedback: the inspection views, in one place. `ses-feedback migrate`
-- applies this file on every run, after the numbered migrations (views
-- read their tables), in the same transaction. CREATE OR REPLACE VIEW can
-- only add columns at the end: a view whose columns change or go needs a
-- DROP VIEW IF EXISTS line just above it. None ends in ORDER BY: order is
-- the query's to choose, and a view's own is lost once it is joined.
--
-- The rate views count from the rollup of sql/003 (full hours) and from
-- recipient_events (the rest): the functions that fold and read it come
-- first, since the views call them.

-- ---- the rollup --------------------------------------------------------------

-- Fold what arrived since the last fold into the rollup tables, and move
-- the marks: every id up to a mark is counted in the aggregates, none above
-- it. Readers call it (the rate views, status_page()); nothing else needs
-- to. It folds at most 50,000 rows of each table a call (so a reader's
-- statement timeout is never spent on it). Returns the number of
-- recipient events folded, or NULL when it did
-- nothing: another session is folding (its rows are locked; this reader
-- reads the rest live), or the transaction is read-only (a standby) or
-- not READ COMMITTED (the marks must be read after the lock is taken).
--
-- An id is handed out (nextval) before its row is committed, and not in
-- order of commit: a mark may only pass an id once the transaction that
-- holds it has ended. Every writer of these tables holds a RowExclusiveLock
-- on the table from before it asks for an id until it ends. So: read the
-- last id handed out, then the transactions holding such a lock, and wait
-- for them (a few ms: an ingest is short); then every id up to the one
-- read is committed or never will be. A writer that outlasts the wait (a
-- long transaction) is remembered with the ids read; a later fold moves
-- the marks there once it has ended. Sequences must keep CACHE 1 (the
-- default), or a session could hold ids handed out long ago.
CREATE OR REPLACE FUNCTION ses_feedback.rollup_fold() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_st      ses_feedback.rollup_state;
    v_ev      bigint;
    v_log     bigint;
    v_nt      bigint;
    v_to_ev   bigint;
    v_to_log  bigint;
    v_to_nt   bigint;
    v_writers text[];
    v_n       bigint := 0;
BEGIN
    IF current_setting('transaction_read_only') = 'on'
       OR current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN NULL;
    END IF;
    SELECT * INTO v_st FROM ses_feedback.rollup_state FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    v_to_ev := v_st.event_mark;
    v_to_log := v_st.log_mark;
    v_to_nt := v_st.notification_mark;
    IF v_st.pending_writers IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM pg_locks l WHERE l.virtualtransaction = ANY (v_st.pending_writers)) THEN
        v_to_ev := greatest(v_to_ev, v_st.pending_event);
        v_to_log := greatest(v_to_log, v_st.pending_log);
        v_to_nt := greatest(v_to_nt, v_st.pending_notification);
        v_st.pending_writers := NULL;
    END IF;
    v_ev := coalesce(pg_sequence_last_value('ses_feedback.recipient_events_id_seq'), 0);
    v_log := coalesce(pg_sequence_last_value('ses_feedback.suppression_log_id_seq'), 0);
    v_nt := coalesce(pg_sequence_last_value('ses_feedback.notifications_id_seq'), 0);
    IF v_ev > v_to_ev OR v_log > v_to_log OR v_nt > v_to_nt THEN
        SELECT array_agg(DISTINCT l.virtualtransaction) INTO v_writers
          FROM pg_locks l
         WHERE l.locktype = 'relation' AND l.mode = 'RowExclusiveLock'
           AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
           AND l.relation IN ('ses_feedback.recipient_events'::regclass,
                              'ses_feedback.suppression_log'::regclass,
                              'ses_feedback.notifications'::regclass)
           AND l.pid IS DISTINCT FROM pg_backend_pid();
        FOR i IN 1 .. 25 LOOP
            EXIT WHEN v_writers IS NULL OR NOT EXISTS (
                SELECT 1 FROM pg_locks l WHERE l.virtualtransaction = ANY (v_writers));
            PERFORM pg_sleep(0.002);
        END LOOP;
        IF v_writers IS NULL OR NOT EXISTS (
               SELECT 1 FROM pg_locks l WHERE l.virtualtransaction = ANY (v_writers)) THEN
            v_to_ev := v_ev;
            v_to_log := v_log;
            v_to_nt := v_nt;
            v_st.pending_writers := NULL;
        ELSIF v_st.pending_writers IS NULL THEN
            v_st.pending_writers := v_writers;
            v_st.pending_event := v_ev;
            v_st.pending_log := v_log;
            v_st.pending_notification := v_nt;
        END IF;
    END IF;
    -- At most LIMIT rows of each table a call: any mark below a safe one
    -- is safe, and a reader's statement (with its timeout) must end even
    -- after a long time without readers. The next reader goes on.
    v_to_ev := least(v_to_ev, v_st.event_mark + 50000);
    v_to_log := least(v_to_log, v_st.log_mark + 50000);
    v_to_nt := least(v_to_nt, v_st.notification_mark + 50000);
    IF v_to_ev > v_st.event_mark THEN
        WITH e AS MATERIALIZED (
            SELECT e.occurred_at, e.event_type, e.outcome, e.complaint_feedback_type, e.email,
                   n.source, n.configuration_set
              FROM ses_feedback.recipient_events e
              JOIN ses_feedback.notifications n ON n.id = e.notification_id
             WHERE e.id > v_st.event_mark AND e.id <= v_to_ev
        ), h AS (
            INSERT INTO ses_feedback.rollup_hours AS r
                (hour, source, configuration_set, events, delivered, hard_bounces,
                 soft_bounces, complaints)
            SELECT date_trunc('hour', e.occurred_at, 'UTC'), e.source, e.configuration_set,
                   count(*), count(*) FILTER (WHERE e.event_type = 'Delivery'),
                   count(*) FILTER (WHERE e.event_type = 'Bounce' AND e.outcome = 'hard_bounce'),
                   count(*) FILTER (WHERE e.outcome = 'soft_bounce'),
                   count(*) FILTER (WHERE e.event_type = 'Complaint'
                                      AND e.complaint_feedback_type IS DISTINCT FROM 'not-spam')
              FROM e GROUP BY 1, 2, 3 ORDER BY 1
            ON CONFLICT (hour, source, configuration_set) DO UPDATE
               SET events = r.events + excluded.events, delivered = r.delivered + excluded.delivered,
                   hard_bounces = r.hard_bounces + excluded.hard_bounces,
                   soft_bounces = r.soft_bounces + excluded.soft_bounces,
                   complaints = r.complaints + excluded.complaints
        ), d AS (
            INSERT INTO ses_feedback.rollup_days AS r
                (day, source, configuration_set, events, delivered, hard_bounces,
                 soft_bounces, complaints)
            SELECT (e.occurred_at AT TIME ZONE 'UTC')::date, e.source, e.configuration_set,
                   count(*), count(*) FILTER (WHERE e.event_type = 'Delivery'),
                   count(*) FILTER (WHERE e.event_type = 'Bounce' AND e.outcome = 'hard_bounce'),
                   count(*) FILTER (WHERE e.outcome = 'soft_bounce'),
                   count(*) FILTER (WHERE e.event_type = 'Complaint'
                                      AND e.complaint_feedback_type IS DISTINCT FROM 'not-spam')
              FROM e GROUP BY 1, 2, 3 ORDER BY 1
            ON CONFLICT (day, source, configuration_set) DO UPDATE
               SET events = r.events + excluded.events, delivered = r.delivered + excluded.delivered,
                   hard_bounces = r.hard_bounces + excluded.hard_bounces,
                   soft_bounces = r.soft_bounces + excluded.soft_bounces,
                   complaints = r.complaints + excluded.complaints
        ), dh AS (
            INSERT INTO ses_feedback.rollup_domain_hours AS r
                (hour, domain, hard_bounces, soft_bounces, complaints, delivered, last_at)
            SELECT date_trunc('hour', e.occurred_at, 'UTC'), split_part(e.email, '@', 2),
                   count(*) FILTER (WHERE e.outcome = 'hard_bounce'),
                   count(*) FILTER (WHERE e.outcome = 'soft_bounce'),
                   count(*) FILTER (WHERE e.event_type = 'Complaint'),
                   count(*) FILTER (WHERE e.event_type = 'Delivery'), max(e.occurred_at)
              FROM e WHERE e.email IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (hour, domain) DO UPDATE
               SET hard_bounces = r.hard_bounces + excluded.hard_bounces,
                   soft_bounces = r.soft_bounces + excluded.soft_bounces,
                   complaints = r.complaints + excluded.complaints,
                   delivered = r.delivered + excluded.delivered,
                   last_at = greatest(r.last_at, excluded.last_at)
        ), dd AS (
            INSERT INTO ses_feedback.rollup_domain_days AS r
                (day, domain, hard_bounces, soft_bounces, complaints, delivered, last_at)
            SELECT (e.occurred_at AT TIME ZONE 'UTC')::date, split_part(e.email, '@', 2),
                   count(*) FILTER (WHERE e.outcome = 'hard_bounce'),
                   count(*) FILTER (WHERE e.outcome = 'soft_bounce'),
                   count(*) FILTER (WHERE e.event_type = 'Complaint'),
                   count(*) FILTER (WHERE e.event_type = 'Delivery'), max(e.occurred_at)
              FROM e WHERE e.email IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (day, domain) DO UPDATE
               SET hard_bounces = r.hard_bounces + excluded.hard_bounces,
                   soft_bounces = r.soft_bounces + excluded.soft_bounces,
                   complaints = r.complaints + excluded.complaints,
                   delivered = r.delivered + excluded.delivered,
                   last_at = greatest(r.last_at, excluded.last_at)
        )
        SELECT count(*) INTO v_n FROM e;
    END IF;
    IF v_to_log > v_st.log_mark THEN
        INSERT INTO ses_feedback.rollup_suppression_days AS r (day, action, reason, n)
        SELECT (l.at AT TIME ZONE 'UTC')::date, l.action, l.reason, count(*)
          FROM ses_feedback.suppression_log l
         WHERE l.id > v_st.log_mark AND l.id <= v_to_log
         GROUP BY 1, 2, 3
        ON CONFLICT (day, action, reason) DO UPDATE SET n = r.n + excluded.n;
    END IF;
    IF v_to_nt > v_st.notification_mark THEN
        INSERT INTO ses_feedback.rollup_topics AS r (topic_arn, last_received_at, notifications)
        SELECT n.topic_arn, max(n.received_at), count(*)
          FROM ses_feedback.notifications n
         WHERE n.id > v_st.notification_mark AND n.id <= v_to_nt
         GROUP BY 1
        ON CONFLICT (topic_arn) DO UPDATE
           SET last_received_at = greatest(r.last_received_at, excluded.last_received_at),
               notifications = r.notifications + excluded.notifications;
    END IF;
    UPDATE ses_feedback.rollup_state
       SET event_mark = v_to_ev, log_mark = v_to_log, notification_mark = v_to_nt,
           pending_event = CASE WHEN v_st.pending_writers IS NOT NULL THEN v_st.pending_event END,
           pending_log = CASE WHEN v_st.pending_writers IS NOT NULL THEN v_st.pending_log END,
           pending_notification = CASE WHEN v_st.pending_writers IS NOT NULL
                                       THEN v_st.pending_notification END,
           pending_writers = v_st.pending_writers,
           folded_at = CASE WHEN v_to_ev > v_st.event_mark OR v_to_log > v_st.log_mark
                              OR v_to_nt > v_st.notification_mark THEN now()
                            ELSE folded_at END;
    RETURN v_n;
END
$$;

-- The recipient events not folded yet (id above the mark) that occurred
-- in [p_from, p_to), with their notification's identity and configuration
-- set. STABLE: it reads the mark in its caller's snapshot, the one the
-- caller reads the rollup in, so an event is in exactly one of the two.
-- The mark goes into the query as a literal, so that the plan is a range
-- of the primary key, however many events there are.
CREATE OR REPLACE FUNCTION ses_feedback.unfolded_events(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (occurred_at timestamptz, event_type text, outcome text,
               complaint_feedback_type text, email text, source text, configuration_set text)
LANGUAGE plpgsql STABLE ROWS 1000 AS $$
DECLARE
    v_mark bigint;
BEGIN
    SELECT s.event_mark INTO v_mark FROM ses_feedback.rollup_state s;
    RETURN QUERY EXECUTE format(
        'SELECT e.occurred_at, e.event_type, e.outcome, e.complaint_feedback_type, e.email,'
        '       n.source, n.configuration_set'
        '  FROM ses_feedback.recipient_events e'
        '  JOIN ses_feedback.notifications n ON n.id = e.notification_id'
        ' WHERE e.id > %s AND e.occurred_at >= $1 AND e.occurred_at < $2',
        coalesce(v_mark, 0)) USING p_from, p_to;
END
$$;

-- The same for suppression_log and notifications (the status page).
CREATE OR REPLACE FUNCTION ses_feedback.unfolded_suppression_log()
RETURNS TABLE (at timestamptz, action text, reason text)
LANGUAGE plpgsql STABLE ROWS 100 AS $$
DECLARE
    v_mark bigint;
BEGIN
    SELECT s.log_mark INTO v_mark FROM ses_feedback.rollup_state s;
    RETURN QUERY EXECUTE format(
        'SELECT l.at, l.action, l.reason FROM ses_feedback.suppression_log l WHERE l.id > %s',
        coalesce(v_mark, 0));
END
$$;

CREATE OR REPLACE FUNCTION ses_feedback.unfolded_notifications()
RETURNS TABLE (topic_arn text, received_at timestamptz)
LANGUAGE plpgsql STABLE ROWS 1000 AS $$
DECLARE
    v_mark bigint;
BEGIN
    SELECT s.notification_mark INTO v_mark FROM ses_feedback.rollup_state s;
    RETURN QUERY EXECUTE format(
        'SELECT n.topic_arn, n.received_at FROM ses_feedback.notifications n WHERE n.id > %s',
        coalesce(v_mark, 0));
END
$$;

-- The rate window (now() - rate_window, now()] in three parts: the full
-- UTC hours [rate_hours_from(), rate_hours_to()), read from the rollup,
-- and the partial hours before and after them (together one hour), read
-- from recipient_events by occurred_at. Functions, so that the planner
-- sees their values (and picks the occurred_at index for the edges).
CREATE OR REPLACE FUNCTION ses_feedback.rate_since() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT now() - coalesce(ses_feedback.policy_interval('rate_window'), '7 days')
$$;

CREATE OR REPLACE FUNCTION ses_feedback.rate_hours_from() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT date_trunc('hour', ses_feedback.rate_since(), 'UTC') + interval '1 hour'
$$;

CREATE OR REPLACE FUNCTION ses_feedback.rate_hours_to() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT greatest(date_trunc('hour', now(), 'UTC'), ses_feedback.rate_hours_from())
$$;

-- Of the full hours, the whole UTC days [rate_days_from(), rate_days_to())
-- (top_bouncing_domains reads those per day and the hours around them per
-- hour); an empty range when the window holds no whole day.
CREATE OR REPLACE FUNCTION ses_feedback.rate_days_from() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT least(date_trunc('day', ses_feedback.rate_hours_from() - interval '1 microsecond',
                            'UTC') + interval '1 day', ses_feedback.rate_hours_to())
$$;

CREATE OR REPLACE FUNCTION ses_feedback.rate_days_to() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT greatest(date_trunc('day', ses_feedback.rate_hours_to(), 'UTC'),
                    ses_feedback.rate_days_from())
$$;


-- Suppressions in force, with the event that caused each and the scope
-- (global, or the configuration set, contact list and topic it holds for).
CREATE OR REPLACE VIEW ses_feedback.active_suppressions AS
SELECT s.email, s.reason, s.first_at, s.last_at, s.count, s.expires_at, s.note,
       n.event_type AS cause_event, n.occurred_at AS cause_at, n.ses_message_id AS cause_ses_message_id,
       n.sns_message_id AS cause_sns_message_id, n.source AS cause_source,
       e.bounce_type AS cause_bounce_type, e.bounce_subtype AS cause_bounce_subtype,
       e.recipient_status AS cause_status, e.diagnostic_code AS cause_diagnostic_code,
       e.complaint_feedback_type AS cause_complaint_feedback_type,
       s.scope, s.configuration_set, s.contact_list, s.topic
  FROM ses_feedback.suppressions s
  LEFT JOIN ses_feedback.notifications n ON n.id = s.notification_id
  LEFT JOIN LATERAL (SELECT * FROM ses_feedback.recipient_events x
                      WHERE x.notification_id = s.notification_id AND x.email = s.email
                      ORDER BY x.id LIMIT 1) e ON true
 WHERE s.lifted_at IS NULL AND s.expired_at IS NULL
   AND (s.expires_at IS NULL OR s.expires_at > now());

CREATE OR REPLACE VIEW ses_feedback.address_events AS
SELECT e.email, e.occurred_at, e.event_type, e.bounce_type, e.bounce_subtype,
       e.recipient_status, e.diagnostic_code, e.complaint_feedback_type, e.delay_type,
       e.outcome, n.source, n.configuration_set, n.ses_message_id, n.topic_arn
  FROM ses_feedback.recipient_events e
  JOIN ses_feedback.notifications n ON n.id = e.notification_id;

-- Notifications and affected recipients per UTC day and event type: the
-- day must not move with the TimeZone of whoever asks.
CREATE OR REPLACE VIEW ses_feedback.daily_counts AS
SELECT (n.occurred_at AT TIME ZONE 'UTC')::date AS day,
       coalesce(n.event_type, '(not SES)') AS event_type,
       count(*) AS notifications,
       coalesce(sum(r.n), 0)::bigint AS recipients
  FROM ses_feedback.notifications n
  LEFT JOIN LATERAL (SELECT count(*) AS n FROM ses_feedback.recipient_events e
                      WHERE e.notification_id = n.id) r ON true
 WHERE n.sns_type = 'Notification'
 GROUP BY 1, 2;

-- Bounce and complaint rates the way SES computes them: hard bounces over
-- messages sent (delivered + hard bounced, as SNS sees them), complaints
-- (a "not-spam" report is none) over delivered, within policy rate_window;
-- overall, per sending identity and per configuration set, beside AWS's
-- thresholds. The full hours of the window come from rollup_hours, the
-- partial hours at its ends from recipient_events: the same counts, a few
-- thousand rows read instead of every event of the window. Reading it
-- folds new events into the rollup for the next reader (rollup_fold()).
CREATE OR REPLACE VIEW ses_feedback.sending_rates AS
WITH fold AS MATERIALIZED (
    SELECT ses_feedback.rollup_fold() AS folded   -- for the next reader (see rollup_fold)
), ev AS (
    SELECT r.source, r.configuration_set, r.events, r.delivered, r.hard_bounces, r.complaints
      FROM ses_feedback.rollup_hours r
     WHERE r.hour >= ses_feedback.rate_hours_from() AND r.hour < ses_feedback.rate_hours_to()
    UNION ALL
    SELECT u.source, u.configuration_set, 1, (u.event_type = 'Delivery')::int,
           (u.event_type = 'Bounce' AND u.outcome = 'hard_bounce')::int,
           (u.event_type = 'Complaint' AND u.complaint_feedback_type IS DISTINCT FROM 'not-spam')::int
      FROM ses_feedback.unfolded_events(ses_feedback.rate_hours_from(),
                                        ses_feedback.rate_hours_to()) u
    UNION ALL
    SELECT n.source, n.configuration_set, 1, (e.event_type = 'Delivery')::int,
           (e.event_type = 'Bounce' AND e.outcome = 'hard_bounce')::int,
           (e.event_type = 'Complaint' AND e.complaint_feedback_type IS DISTINCT FROM 'not-spam')::int
      FROM ses_feedback.recipient_events e
      JOIN ses_feedback.notifications n ON n.id = e.notification_id
     WHERE (e.occurred_at > ses_feedback.rate_since()
            AND e.occurred_at < ses_feedback.rate_hours_from())
        OR e.occurred_at >= ses_feedback.rate_hours_to()
), agg AS (
    SELECT CASE WHEN grouping(source) = 0 THEN 'identity'
                WHEN grouping(configuration_set) = 0 THEN 'configuration_set'
                ELSE 'all' END AS scope,
           coalesce(CASE WHEN grouping(source) = 0 THEN source
                         WHEN grouping(configuration_set) = 0 THEN configuration_set END,
                    CASE WHEN grouping(source) = 0 OR grouping(configuration_set) = 0
                         THEN '(none)' ELSE '(all)' END) AS name,
           coalesce(sum(delivered), 0)::bigint AS delivered,
           coalesce(sum(hard_bounces), 0)::bigint AS hard_bounces,
           coalesce(sum(complaints), 0)::bigint AS complaints
      FROM ev
     WHERE (SELECT count(*) FROM fold) >= 0
     GROUP BY GROUPING SETS ((), (source), (configuration_set))
)
SELECT scope, name, delivered, hard_bounces, complaints,
       round(100.0 * hard_bounces / nullif(delivered + hard_bounces, 0), 3) AS bounce_rate_pct,
       CASE WHEN delivered + hard_bounces = 0 THEN 'no data'
            WHEN hard_bounces * 100.0 / (delivered + hard_bounces) >= 10 THEN 'pause (>= 10%)'
            WHEN hard_bounces * 100.0 / (delivered + hard_bounces) >= 5 THEN 'review (>= 5%)'
            WHEN hard_bounces * 100.0 / (delivered + hard_bounces) >= 2 THEN 'above aim (>= 2%)'
            ELSE 'ok (< 2%)' END AS bounce_status,
       round(100.0 * complaints / nullif(delivered, 0), 3) AS complaint_rate_pct,
       CASE WHEN delivered = 0 THEN 'no data'
            WHEN complaints * 100.0 / delivered >= 0.5 THEN 'pause (>= 0.5%)'
            WHEN complaints * 100.0 / delivered >= 0.1 THEN 'review (>= 0.1%)'
            ELSE 'ok (< 0.1%)' END AS complaint_status
  FROM agg
 WHERE scope = 'all' OR name <> '(none)' OR delivered + hard_bounces + complaints > 0;

-- Recipient domains by hard bounces within rate_window; the worst first
-- is ORDER BY hard_bounces DESC, soft_bounces DESC, domain (top_domains(n)
-- gives the first n faster). Whole days from rollup_domain_days, the other
-- full hours from rollup_domain_hours, the partial ones from the events.
CREATE OR REPLACE VIEW ses_feedback.top_bouncing_domains AS
WITH fold AS MATERIALIZED (
    SELECT ses_feedback.rollup_fold() AS folded
), ev AS (
    SELECT r.domain, r.hard_bounces, r.soft_bounces, r.complaints, r.delivered, r.last_at
      FROM ses_feedback.rollup_domain_days r
     WHERE r.day >= (ses_feedback.rate_days_from() AT TIME ZONE 'UTC')::date
       AND r.day < (ses_feedback.rate_days_to() AT TIME ZONE 'UTC')::date
    UNION ALL
    SELECT r.domain, r.hard_bounces, r.soft_bounces, r.complaints, r.delivered, r.last_at
      FROM ses_feedback.rollup_domain_hours r
     WHERE r.hour >= ses_feedback.rate_hours_from() AND r.hour < ses_feedback.rate_days_from()
    UNION ALL
    SELECT r.domain, r.hard_bounces, r.soft_bounces, r.complaints, r.delivered, r.last_at
      FROM ses_feedback.rollup_domain_hours r
     WHERE r.hour >= ses_feedback.rate_days_to() AND r.hour < ses_feedback.rate_hours_to()
    UNION ALL
    SELECT split_part(u.email, '@', 2), (u.outcome = 'hard_bounce')::int,
           (u.outcome = 'soft_bounce')::int, (u.event_type = 'Complaint')::int,
           (u.event_type = 'Delivery')::int, u.occurred_at
      FROM ses_feedback.unfolded_events(ses_feedback.rate_hours_from(),
                                        ses_feedback.rate_hours_to()) u
     WHERE u.email IS NOT NULL
    UNION ALL
    SELECT split_part(e.email, '@', 2), (e.outcome = 'hard_bounce')::int,
           (e.outcome = 'soft_bounce')::int, (e.event_type = 'Complaint')::int,
           (e.event_type = 'Delivery')::int, e.occurred_at
      FROM ses_feedback.recipient_events e
     WHERE ((e.occurred_at > ses_feedback.rate_since()
             AND e.occurred_at < ses_feedback.rate_hours_from())
            OR e.occurred_at >= ses_feedback.rate_hours_to())
       AND e.email IS NOT NULL
)
SELECT domain, sum(hard_bounces)::bigint AS hard_bounces, sum(soft_bounces)::bigint AS soft_bounces,
       sum(complaints)::bigint AS complaints, sum(delivered)::bigint AS delivered,
       max(last_at) AS last_at
  FROM ev
 WHERE (SELECT count(*) FROM fold) >= 0
 GROUP BY 1
HAVING sum(hard_bounces) + sum(soft_bounces) > 0;

-- The first p_limit rows of top_bouncing_domains in its order (hard
-- bounces, soft bounces, domain), the same numbers, read the short way:
-- the domains that bounced are ranked from the rollup rows that hold a
-- bounce, and only the chosen ones are summed in full. The status page's.
CREATE OR REPLACE FUNCTION ses_feedback.top_domains(p_limit integer)
RETURNS TABLE (domain text, hard_bounces bigint, soft_bounces bigint, complaints bigint,
               delivered bigint, last_at timestamptz)
LANGUAGE sql STABLE AS $$
    WITH live AS MATERIALIZED (   -- the partial hours at the edges and what is not folded
        SELECT split_part(e.email, '@', 2) AS domain, (e.outcome = 'hard_bounce')::int AS h,
               (e.outcome = 'soft_bounce')::int AS s, (e.event_type = 'Complaint')::int AS c,
               (e.event_type = 'Delivery')::int AS d, e.occurred_at AS at
          FROM ses_feedback.recipient_events e
         WHERE ((e.occurred_at > ses_feedback.rate_since()
                 AND e.occurred_at < ses_feedback.rate_hours_from())
                OR e.occurred_at >= ses_feedback.rate_hours_to())
           AND e.email IS NOT NULL
        UNION ALL
        SELECT split_part(u.email, '@', 2), (u.outcome = 'hard_bounce')::int,
               (u.outcome = 'soft_bounce')::int, (u.event_type = 'Complaint')::int,
               (u.event_type = 'Delivery')::int, u.occurred_at
          FROM ses_feedback.unfolded_events(ses_feedback.rate_hours_from(),
                                            ses_feedback.rate_hours_to()) u
         WHERE u.email IS NOT NULL
    ), ranked AS (
        SELECT b.domain, sum(b.h)::bigint AS hard_bounces, sum(b.s)::bigint AS soft_bounces
          FROM (SELECT r.domain, r.hard_bounces AS h, r.soft_bounces AS s
                  FROM ses_feedback.rollup_domain_days r
                 WHERE r.day >= (ses_feedback.rate_days_from() AT TIME ZONE 'UTC')::date
                   AND r.day < (ses_feedback.rate_days_to() AT TIME ZONE 'UTC')::date
                   AND r.hard_bounces + r.soft_bounces > 0
                UNION ALL
                SELECT r.domain, r.hard_bounces, r.soft_bounces
                  FROM ses_feedback.rollup_domain_hours r
                 WHERE r.hour >= ses_feedback.rate_hours_from()
                   AND r.hour < ses_feedback.rate_days_from()
                   AND r.hard_bounces + r.soft_bounces > 0
                UNION ALL
                SELECT r.domain, r.hard_bounces, r.soft_bounces
                  FROM ses_feedback.rollup_domain_hours r
                 WHERE r.hour >= ses_feedback.rate_days_to()
                   AND r.hour < ses_feedback.rate_hours_to()
                   AND r.hard_bounces + r.soft_bounces > 0
                UNION ALL
                SELECT l.domain, l.h, l.s FROM live l WHERE l.h + l.s > 0) b
         GROUP BY b.domain
         ORDER BY 2 DESC, 3 DESC, 1
         LIMIT p_limit
    )
    SELECT k.domain, k.hard_bounces, k.soft_bounces, o.complaints, o.delivered, o.last_at
      FROM ranked k
     CROSS JOIN LATERAL (
        SELECT coalesce(sum(x.c), 0)::bigint AS complaints,
               coalesce(sum(x.d), 0)::bigint AS delivered, max(x.at) AS last_at
          FROM (SELECT r.complaints AS c, r.delivered AS d, r.last_at AS at
                  FROM ses_feedback.rollup_domain_days r
                 WHERE r.domain = k.domain
                   AND r.day >= (ses_feedback.rate_days_from() AT TIME ZONE 'UTC')::date
                   AND r.day < (ses_feedback.rate_days_to() AT TIME ZONE 'UTC')::date
                UNION ALL
                SELECT r.complaints, r.delivered, r.last_at
                  FROM ses_feedback.rollup_domain_hours r
                 WHERE r.domain = k.domain AND r.hour >= ses_feedback.rate_hours_from()
                   AND r.hour < ses_feedback.rate_days_from()
                UNION ALL
                SELECT r.complaints, r.delivered, r.last_at
                  FROM ses_feedback.rollup_domain_hours r
                 WHERE r.domain = k.domain AND r.hour >= ses_feedback.rate_days_to()
                   AND r.hour < ses_feedback.rate_hours_to()
                UNION ALL
                SELECT l.c, l.d, l.at FROM live l WHERE l.domain = k.domain) x) o
     ORDER BY 2 DESC, 3 DESC, 1
$$;

-- Subscriptions waiting for an operator, or gone.
CREATE OR REPLACE VIEW ses_feedback.subscriptions_needing_attention AS
SELECT topic_arn, status, subscribe_url, updated_at
  FROM ses_feedback.subscriptions
 WHERE status <> 'confirmed';

-- What arrived that was not understood: recipients that are no address.
-- The notification's raw message is beside it.
CREATE OR REPLACE VIEW ses_feedback.recipients_not_understood AS
SELECT e.id, n.received_at, n.topic_arn, n.sns_message_id, n.ses_message_id,
       e.event_type, e.email_original, e.diagnostic_code, n.id AS notification_id
  FROM ses_feedback.recipient_events e
  JOIN ses_feedback.notifications n ON n.id = e.notification_id
 WHERE e.outcome = 'not_an_address';
