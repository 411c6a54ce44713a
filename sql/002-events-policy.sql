-- SPDX-License-Identifier: ISC
-- ses-feedback schema version 2: every SES event with typed columns, the
-- whole suppression policy in ses_feedback.policy, idempotency on the SES
-- feedback id, manual changes with history, inspection views, retention.
-- Upgrades a version 1 database in place; nothing is dropped.

-- Typed columns for what people filter on. The raw event stays in
-- notifications.message.
ALTER TABLE ses_feedback.notifications
    ADD COLUMN source_arn         text,
    ADD COLUMN sending_account    text,
    ADD COLUMN configuration_set  text,
    ADD COLUMN tags               jsonb;

ALTER TABLE ses_feedback.recipient_events
    ADD COLUMN reporting_mta      text,
    ADD COLUMN remote_mta_ip      text,
    ADD COLUMN delay_type         text,
    ADD COLUMN feedback_key       text;   -- event_type|feedback_id|email, unique

-- Backfill from the stored events, so old rows answer the new questions.
UPDATE ses_feedback.notifications n
   SET source_arn = message->'mail'->>'sourceArn',
       sending_account = message->'mail'->>'sendingAccountId',
       configuration_set = message->'mail'->'tags'->'ses:configuration-set'->>0,
       tags = message->'mail'->'tags'
 WHERE message IS NOT NULL;

UPDATE ses_feedback.recipient_events e
   SET reporting_mta = o->>'reportingMTA', remote_mta_ip = o->>'remoteMtaIp',
       delay_type = o->>'delayType'
  FROM (SELECT id, CASE event_type WHEN 'Bounce' THEN message->'bounce'
                                   WHEN 'Complaint' THEN message->'complaint'
                                   WHEN 'Delivery' THEN message->'delivery'
                                   WHEN 'DeliveryDelay' THEN message->'deliveryDelay' END AS o
          FROM ses_feedback.notifications) n
 WHERE n.id = e.notification_id AND n.o IS NOT NULL;

-- The same bounce or complaint delivered through two topics (identity
-- notifications and a configuration set) counts once. Existing duplicates
-- keep their rows; only the first of each carries the key.
UPDATE ses_feedback.recipient_events e
   SET feedback_key = e.event_type || '|' || e.feedback_id || '|' || e.email
 WHERE e.feedback_id IS NOT NULL
   AND e.id = (SELECT min(d.id) FROM ses_feedback.recipient_events d
                WHERE d.feedback_id = e.feedback_id AND d.email = e.email
                  AND d.event_type = e.event_type);
CREATE UNIQUE INDEX recipient_events_feedback_key ON ses_feedback.recipient_events (feedback_key);
CREATE INDEX recipient_events_occurred_idx ON ses_feedback.recipient_events (occurred_at);
CREATE INDEX notifications_source_idx ON ses_feedback.notifications (source, occurred_at);
CREATE INDEX notifications_configuration_set_idx
    ON ses_feedback.notifications (configuration_set, occurred_at);

-- The policy gets a kind per row, checked on every change, so that a typo
-- is refused at once instead of failing notifications later.
ALTER TABLE ses_feedback.policy ADD COLUMN kind text NOT NULL DEFAULT 'text'
    CHECK (kind IN ('integer', 'interval', 'boolean', 'list', 'text'));
ALTER TABLE ses_feedback.policy ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE ses_feedback.policy ADD COLUMN updated_by text NOT NULL DEFAULT current_user;

INSERT INTO ses_feedback.policy (name, value, description) VALUES
    ('soft_bounce_undetermined', 'on',
     'Undetermined bounces count as soft bounces'),
    ('unsubscribe_suppresses', 'on',
     'a Subscription event with unsubscribeAll true suppresses the address (reason unsubscribe)'),
    ('unsubscribe_expiry', '',
     'how long an unsubscribe suppression lasts (empty: forever)'),
    ('manual_expiry', '',
     'how long a manual suppression lasts (empty: forever)'),
    ('rate_window', '7 days',
     'window of the sending_rates view'),
    ('retention_min_age', '90 days',
     'purge_events refuses to delete events younger than this')
ON CONFLICT (name) DO NOTHING;

UPDATE ses_feedback.policy SET kind = CASE
    WHEN name IN ('soft_bounce_limit') THEN 'integer'
    WHEN name LIKE '%\_window' OR name LIKE '%\_expiry' OR name = 'retention_min_age'
        THEN 'interval'
    WHEN name IN ('delivery_resets_soft_bounces', 'transient_5xx_is_permanent',
                  'soft_bounce_undetermined', 'unsubscribe_suppresses') THEN 'boolean'
    WHEN name IN ('soft_bounce_subtypes', 'complaint_ignore_feedback_types',
                  'complaint_ignore_subtypes') THEN 'list'
    ELSE 'text' END;

CREATE FUNCTION ses_feedback.policy_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.value := btrim(NEW.value);
    IF NEW.kind = 'integer' AND NEW.value !~ '^[0-9]{1,9}$' THEN
        RAISE EXCEPTION 'policy %: "%" is not a whole number', NEW.name, NEW.value
            USING ERRCODE = '22023';
    ELSIF NEW.kind = 'interval' AND NEW.value <> '' THEN
        BEGIN
            PERFORM NEW.value::interval;
        EXCEPTION WHEN others THEN
            RAISE EXCEPTION 'policy %: "%" is not an interval such as ''30 days''',
                NEW.name, NEW.value USING ERRCODE = '22023';
        END;
    ELSIF NEW.kind = 'boolean' AND lower(NEW.value) NOT IN ('on', 'off', 'true', 'false') THEN
        RAISE EXCEPTION 'policy %: "%" is not on or off', NEW.name, NEW.value
            USING ERRCODE = '22023';
    END IF;
    NEW.updated_at := now();
    NEW.updated_by := current_user;
    RETURN NEW;
END
$$;
CREATE TRIGGER policy_check BEFORE INSERT OR UPDATE ON ses_feedback.policy
    FOR EACH ROW EXECUTE FUNCTION ses_feedback.policy_check();

CREATE OR REPLACE FUNCTION ses_feedback.policy_on(p_name text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(lower(btrim(ses_feedback.policy_value(p_name))) IN ('on', 'true', 'yes', '1'),
                    false)
$$;

-- Suppression history keeps what a lift replaced.
ALTER TABLE ses_feedback.suppression_log ADD COLUMN expires_at timestamptz;
-- ingest_counted() and purge_events() look rows up by notification.
CREATE INDEX suppression_log_notification_idx ON ses_feedback.suppression_log (notification_id);
CREATE INDEX suppressions_notification_idx ON ses_feedback.suppressions (notification_id);

-- Classify one recipient event by the policy. Returns the outcome kept in
-- recipient_events.outcome: hard_bounce, soft_bounce, complaint,
-- unsubscribe, delivery, or record_only.
CREATE OR REPLACE FUNCTION ses_feedback.classify(r jsonb, p_event text, p_at timestamptz)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    btype text := r->>'bounce_type';
    bsub  text := r->>'bounce_subtype';
    st    text := coalesce(r->>'status', '');
BEGIN
    IF p_event = 'Bounce' THEN
        IF btype = 'Permanent' THEN
            RETURN 'hard_bounce';
        ELSIF (btype = 'Undetermined' AND ses_feedback.policy_on('soft_bounce_undetermined'))
           OR (btype = 'Transient'
               AND bsub = ANY (ses_feedback.policy_list('soft_bounce_subtypes'))) THEN
            IF ses_feedback.policy_on('transient_5xx_is_permanent') AND st ~ '^5\.' THEN
                RETURN 'hard_bounce';
            END IF;
            RETURN 'soft_bounce';
        END IF;
        RETURN 'record_only';
    ELSIF p_event = 'Complaint' THEN
        IF r->>'complaint_feedback_type' = ANY (ses_feedback.policy_list('complaint_ignore_feedback_types'))
           OR r->>'complaint_subtype' = ANY (ses_feedback.policy_list('complaint_ignore_subtypes')) THEN
            RETURN 'record_only';
        END IF;
        RETURN 'complaint';
    ELSIF p_event = 'Delivery' THEN
        RETURN 'delivery';
    ELSIF p_event = 'Subscription' THEN
        IF (r->>'unsubscribe_all')::boolean IS TRUE
           AND ses_feedback.policy_on('unsubscribe_suppresses') THEN
            RETURN 'unsubscribe';
        END IF;
        RETURN 'record_only';
    END IF;
    RETURN 'record_only';
END
$$;

-- The soft-bounce rule, by the events' own timestamps and whatever order
-- SNS delivers them in: an address is suppressed when soft_bounce_limit
-- soft bounces fall within soft_bounce_window with no delivery between them
-- (when delivery_resets_soft_bounces). Run after every soft bounce, and
-- after a delivery to an address that has soft bounces: a delivery that
-- arrives late and breaks the run withdraws the soft_bounce suppression it
-- caused (by expiring it, logged). ingest() takes the same per-address lock
-- before it writes a soft bounce or a delivery, so concurrent notifications
-- of one address are decided one after the other, each seeing the others.
CREATE FUNCTION ses_feedback.recheck_soft_bounces(p_email text, p_notification bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lim     integer := coalesce(ses_feedback.policy_value('soft_bounce_limit')::integer, 3);
    win     interval := coalesce(ses_feedback.policy_interval('soft_bounce_window'), '30 days');
    resets  boolean := ses_feedback.policy_on('delivery_resets_soft_bounces');
    hit     timestamptz;
    s       ses_feedback.suppressions;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ses_feedback.soft:' || p_email));
    WITH ev AS (
        SELECT e.occurred_at, e.outcome,
               CASE WHEN resets THEN count(*) FILTER (WHERE e.outcome = 'delivery')
                                     OVER (ORDER BY e.occurred_at, e.id) ELSE 0 END AS run
          FROM ses_feedback.recipient_events e
         WHERE e.email = p_email AND e.outcome IN ('soft_bounce', 'delivery')
    ), sb AS (
        SELECT occurred_at,
               lag(occurred_at, greatest(lim, 1) - 1) OVER (PARTITION BY run
                                                            ORDER BY occurred_at) AS first
          FROM ev WHERE outcome = 'soft_bounce'
    )
    SELECT max(occurred_at) INTO hit FROM sb
     WHERE first IS NOT NULL AND occurred_at - first < win;
    IF hit IS NOT NULL THEN
        PERFORM ses_feedback.apply_suppression(p_email, 'soft_bounce', hit,
            hit + coalesce(ses_feedback.policy_interval('soft_bounce_expiry'), '30 days'),
            p_notification, format('%s soft bounces within %s', lim, win));
        RETURN;
    END IF;
    SELECT * INTO s FROM ses_feedback.suppressions WHERE email = p_email FOR UPDATE;
    IF FOUND AND s.reason = 'soft_bounce' AND s.lifted_at IS NULL
       AND (s.expires_at IS NULL OR s.expires_at > now()) THEN
        UPDATE ses_feedback.suppressions SET expires_at = now(), updated_at = now()
         WHERE email = p_email;
        INSERT INTO ses_feedback.suppression_log
            (email, action, reason, actor, note, notification_id, expires_at)
        VALUES (p_email, 'unsuppress', 'soft_bounce', 'ses-feedback',
                'the soft bounces no longer make a run (a delivery between them arrived)',
                p_notification, now());
    END IF;
END
$$;

-- Version 2 of ingest: typed columns, the feedback-id key, unsubscribes,
-- per-reason expiry. Same contract: 'stored' or 'duplicate'.
CREATE OR REPLACE FUNCTION ses_feedback.ingest(p jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    nid       bigint;
    eid       bigint;
    r         jsonb;
    ev        text := p->>'event_type';
    msg       jsonb := p->'message';
    obj       jsonb;
    at        timestamptz := coalesce((p->>'occurred_at')::timestamptz,
                                      (p->>'sns_timestamp')::timestamptz);
    outcome   text;
    sub       jsonb := p->'subscription';
BEGIN
    INSERT INTO ses_feedback.notifications
        (sns_message_id, topic_arn, sns_type, sns_timestamp, subject, event_type,
         ses_message_id, source, occurred_at, message, message_text, source_arn,
         sending_account, configuration_set, tags)
    VALUES (p->>'sns_message_id', p->>'topic_arn', p->>'sns_type',
            (p->>'sns_timestamp')::timestamptz, p->>'subject', ev, p->>'ses_message_id',
            p->>'source', at, msg, p->>'message_text', msg->'mail'->>'sourceArn',
            msg->'mail'->>'sendingAccountId',
            msg->'mail'->'tags'->'ses:configuration-set'->>0,
            CASE WHEN jsonb_typeof(msg->'mail'->'tags') = 'object' THEN msg->'mail'->'tags' END)
    ON CONFLICT (sns_message_id) DO NOTHING
    RETURNING id INTO nid;
    IF nid IS NULL THEN
        RETURN 'duplicate';
    END IF;

    IF sub IS NOT NULL THEN
        INSERT INTO ses_feedback.subscriptions AS s
            (topic_arn, subscription_arn, status, subscribe_url, last_message_id,
             confirmed_at, unsubscribed_at)
        VALUES (p->>'topic_arn', sub->>'subscription_arn', sub->>'status',
                sub->>'subscribe_url', p->>'sns_message_id',
                CASE WHEN sub->>'status' = 'confirmed' THEN now() END,
                CASE WHEN sub->>'status' = 'unsubscribed' THEN now() END)
        ON CONFLICT (topic_arn) DO UPDATE
           SET subscription_arn = coalesce(excluded.subscription_arn, s.subscription_arn),
               status = excluded.status, subscribe_url = excluded.subscribe_url,
               last_message_id = excluded.last_message_id, updated_at = now(),
               confirmed_at = coalesce(excluded.confirmed_at, s.confirmed_at),
               unsubscribed_at = coalesce(excluded.unsubscribed_at, s.unsubscribed_at);
    END IF;

    obj := CASE ev WHEN 'Bounce' THEN msg->'bounce' WHEN 'Complaint' THEN msg->'complaint'
                   WHEN 'Delivery' THEN msg->'delivery'
                   WHEN 'DeliveryDelay' THEN msg->'deliveryDelay' END;

    FOR r IN SELECT value FROM jsonb_array_elements(coalesce(p->'recipients', '[]'::jsonb))
    LOOP
        outcome := ses_feedback.classify(r, ev, at);
        IF outcome IN ('soft_bounce', 'delivery') THEN
            -- Soft bounces and deliveries of one address are decided
            -- together: one transaction at a time, each seeing the others.
            PERFORM pg_advisory_xact_lock(hashtext('ses_feedback.soft:' || (r->>'email')));
        END IF;
        INSERT INTO ses_feedback.recipient_events
            (notification_id, email, email_original, event_type, bounce_type, bounce_subtype,
             recipient_status, action, diagnostic_code, complaint_feedback_type,
             complaint_subtype, feedback_id, occurred_at, outcome, reporting_mta,
             remote_mta_ip, delay_type, feedback_key)
        VALUES (nid, r->>'email', r->>'original', ev, r->>'bounce_type', r->>'bounce_subtype',
                r->>'status', r->>'action', r->>'diagnostic_code',
                r->>'complaint_feedback_type', r->>'complaint_subtype', r->>'feedback_id',
                at, outcome, obj->>'reportingMTA', obj->>'remoteMtaIp', obj->>'delayType',
                ev || '|' || (r->>'feedback_id') || '|' || (r->>'email'))
        ON CONFLICT (feedback_key) DO NOTHING
        RETURNING id INTO eid;
        IF eid IS NULL THEN
            CONTINUE;  -- the same feedback through another topic: counted once
        END IF;
        IF outcome = 'hard_bounce' THEN
            PERFORM ses_feedback.apply_suppression(r->>'email', 'hard_bounce', at,
                at + ses_feedback.policy_interval('hard_bounce_expiry'), nid, NULL);
        ELSIF outcome = 'complaint' THEN
            PERFORM ses_feedback.apply_suppression(r->>'email', 'complaint', at,
                at + ses_feedback.policy_interval('complaint_expiry'), nid, NULL);
        ELSIF outcome = 'unsubscribe' THEN
            PERFORM ses_feedback.apply_suppression(r->>'email', 'unsubscribe', at,
                at + ses_feedback.policy_interval('unsubscribe_expiry'), nid, NULL);
        ELSIF outcome = 'soft_bounce'
           OR (outcome = 'delivery' AND EXISTS (
                   SELECT 1 FROM ses_feedback.recipient_events e
                    WHERE e.email = r->>'email' AND e.outcome = 'soft_bounce')) THEN
            PERFORM ses_feedback.recheck_soft_bounces(r->>'email', nid);
        END IF;
    END LOOP;
    RETURN 'stored';
END
$$;

-- What the handler calls: ingest(), plus how many suppressions the
-- notification added or strengthened (for the metrics). One round trip.
CREATE FUNCTION ses_feedback.ingest_counted(p jsonb)
RETURNS TABLE (result text, suppressed integer)
LANGUAGE plpgsql AS $$
BEGIN
    result := ses_feedback.ingest(p);
    suppressed := 0;
    IF result = 'stored' THEN
        SELECT count(*) INTO suppressed
          FROM ses_feedback.suppression_log l
          JOIN ses_feedback.notifications n ON n.id = l.notification_id
         WHERE n.sns_message_id = p->>'sns_message_id' AND l.action = 'suppress';
    END IF;
    RETURN NEXT;
END
$$;

-- Manual suppression honours manual_expiry.
CREATE OR REPLACE FUNCTION ses_feedback.suppress(p_email text, p_note text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    e text := ses_feedback.normalize_email(p_email);
BEGIN
    IF e IS NULL OR e !~ '^[^@\s<>,"]+@[^@\s<>,"]+\.[^@\s<>,"]+$' OR length(e) > 320 THEN
        RAISE EXCEPTION 'not an email address: %', p_email USING ERRCODE = '22023';
    END IF;
    PERFORM ses_feedback.apply_suppression(e, 'manual', now(),
        now() + ses_feedback.policy_interval('manual_expiry'), NULL, p_note);
END
$$;

-- Many addresses at once: one row per address given, in the order given.
CREATE FUNCTION ses_feedback.is_suppressed(p_emails text[])
RETURNS TABLE (email text, suppressed boolean, reason text, expires_at timestamptz)
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT a.e, s.email IS NOT NULL, s.reason, s.expires_at
      FROM unnest(p_emails) WITH ORDINALITY AS a(e, n)
      LEFT JOIN ses_feedback.suppressions s
        ON s.email = ses_feedback.normalize_email(a.e)
       AND s.lifted_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > now())
     ORDER BY a.n
$$;

-- ---- inspection -------------------------------------------------------

-- Suppressions in force, with the event that caused each.
CREATE VIEW ses_feedback.active_suppressions AS
SELECT s.email, s.reason, s.first_at, s.last_at, s.count, s.expires_at, s.note,
       n.event_type AS cause_event, n.occurred_at AS cause_at, n.ses_message_id AS cause_ses_message_id,
       n.sns_message_id AS cause_sns_message_id, n.source AS cause_source,
       e.bounce_type AS cause_bounce_type, e.bounce_subtype AS cause_bounce_subtype,
       e.recipient_status AS cause_status, e.diagnostic_code AS cause_diagnostic_code,
       e.complaint_feedback_type AS cause_complaint_feedback_type
  FROM ses_feedback.suppressions s
  LEFT JOIN ses_feedback.notifications n ON n.id = s.notification_id
  LEFT JOIN LATERAL (SELECT * FROM ses_feedback.recipient_events x
                      WHERE x.notification_id = s.notification_id AND x.email = s.email
                      ORDER BY x.id LIMIT 1) e ON true
 WHERE s.lifted_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > now());

-- Everything that happened to one address, oldest first.
CREATE FUNCTION ses_feedback.history(p_email text)
RETURNS TABLE (at timestamptz, what text, detail text, actor text, note text,
               ses_message_id text)
LANGUAGE sql STABLE AS $$
    SELECT e.occurred_at, e.event_type,
           concat_ws(' ', e.bounce_type, e.bounce_subtype, e.recipient_status,
                     e.complaint_feedback_type, e.delay_type, '-> ' || e.outcome),
           NULL::text, e.diagnostic_code, n.ses_message_id
      FROM ses_feedback.recipient_events e
      JOIN ses_feedback.notifications n ON n.id = e.notification_id
     WHERE e.email = ses_feedback.normalize_email(p_email)
    UNION ALL
    SELECT l.at, l.action, l.reason, l.actor, l.note, NULL
      FROM ses_feedback.suppression_log l
     WHERE l.email = ses_feedback.normalize_email(p_email)
     ORDER BY 1, 2
$$;

CREATE VIEW ses_feedback.address_events AS
SELECT e.email, e.occurred_at, e.event_type, e.bounce_type, e.bounce_subtype,
       e.recipient_status, e.diagnostic_code, e.complaint_feedback_type, e.delay_type,
       e.outcome, n.source, n.configuration_set, n.ses_message_id, n.topic_arn
  FROM ses_feedback.recipient_events e
  JOIN ses_feedback.notifications n ON n.id = e.notification_id;

-- Notifications and affected recipients per day and event type.
CREATE VIEW ses_feedback.daily_counts AS
SELECT date_trunc('day', n.occurred_at)::date AS day,
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
-- thresholds.
CREATE VIEW ses_feedback.sending_rates AS
WITH w AS (
    SELECT coalesce(ses_feedback.policy_interval('rate_window'), '7 days') AS span
), ev AS (
    SELECT n.source, n.configuration_set, e.outcome, e.event_type, e.complaint_feedback_type
      FROM ses_feedback.recipient_events e
      JOIN ses_feedback.notifications n ON n.id = e.notification_id, w
     WHERE e.occurred_at > now() - w.span
), agg AS (
    SELECT CASE WHEN grouping(source) = 0 THEN 'identity'
                WHEN grouping(configuration_set) = 0 THEN 'configuration_set'
                ELSE 'all' END AS scope,
           coalesce(CASE WHEN grouping(source) = 0 THEN source
                         WHEN grouping(configuration_set) = 0 THEN configuration_set END,
                    CASE WHEN grouping(source) = 0 OR grouping(configuration_set) = 0
                         THEN '(none)' ELSE '(all)' END) AS name,
           count(*) FILTER (WHERE event_type = 'Delivery') AS delivered,
           count(*) FILTER (WHERE event_type = 'Bounce' AND outcome = 'hard_bounce') AS hard_bounces,
           count(*) FILTER (WHERE event_type = 'Complaint'
                              AND complaint_feedback_type IS DISTINCT FROM 'not-spam') AS complaints
      FROM ev
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

-- Recipient domains by hard bounces within rate_window.
CREATE VIEW ses_feedback.top_bouncing_domains AS
SELECT split_part(e.email, '@', 2) AS domain,
       count(*) FILTER (WHERE e.outcome = 'hard_bounce') AS hard_bounces,
       count(*) FILTER (WHERE e.outcome = 'soft_bounce') AS soft_bounces,
       count(*) FILTER (WHERE e.event_type = 'Complaint') AS complaints,
       count(*) FILTER (WHERE e.event_type = 'Delivery') AS delivered,
       max(e.occurred_at) AS last_at
  FROM ses_feedback.recipient_events e
 WHERE e.occurred_at > now() - coalesce(ses_feedback.policy_interval('rate_window'), '7 days')
 GROUP BY 1
HAVING count(*) FILTER (WHERE e.outcome IN ('hard_bounce', 'soft_bounce')) > 0
 ORDER BY 2 DESC, 3 DESC, 1;

-- Subscriptions waiting for an operator, or gone.
CREATE VIEW ses_feedback.subscriptions_needing_attention AS
SELECT topic_arn, status, subscribe_url, updated_at
  FROM ses_feedback.subscriptions
 WHERE status <> 'confirmed';

-- ---- retention --------------------------------------------------------

-- Delete notifications (and their recipient events) received before
-- now() - p_older_than, p_batch rows per transaction, so no lock is held
-- for long. Suppressions are never deleted, nor the event that caused an
-- active one. Run it from cron or pg_cron:
--   CALL ses_feedback.purge_events('400 days');
CREATE PROCEDURE ses_feedback.purge_events(p_older_than interval, p_batch integer DEFAULT 5000)
LANGUAGE plpgsql AS $$
DECLARE
    n     integer;
    total bigint := 0;
    floor interval := coalesce(ses_feedback.policy_interval('retention_min_age'), '90 days');
BEGIN
    IF p_older_than < floor THEN
        RAISE EXCEPTION 'refusing to purge events younger than % (policy retention_min_age)', floor
            USING ERRCODE = '22023';
    END IF;
    LOOP
        DELETE FROM ses_feedback.notifications
         WHERE id IN (SELECT n.id FROM ses_feedback.notifications n
                       WHERE n.received_at < now() - p_older_than
                         AND NOT EXISTS (SELECT 1 FROM ses_feedback.suppressions s
                                          WHERE s.notification_id = n.id)
                       ORDER BY n.id LIMIT p_batch);
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
        COMMIT;
        EXIT WHEN n < p_batch;
    END LOOP;
    RAISE NOTICE 'purged % notifications', total;
END
$$;

-- ---- import and export (used by `ses-feedback suppressions ...`) ----------

-- Load rows staged by the CLI into a temporary table as manual
-- suppressions. Returns (added, already_suppressed).
CREATE FUNCTION ses_feedback.import_suppressions(p_note text)
RETURNS TABLE (added bigint, already bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r   record;
    a   bigint := 0;
    b   bigint := 0;
BEGIN
    FOR r IN SELECT DISTINCT ON (ses_feedback.normalize_email(email))
                    ses_feedback.normalize_email(email) AS email, reason
               FROM pg_temp.ses_feedback_import ORDER BY 1 LOOP
        IF ses_feedback.is_suppressed(r.email) THEN
            b := b + 1;
        ELSE
            PERFORM ses_feedback.suppress(r.email, p_note || ' (' || r.reason || ')');
            a := a + 1;
        END IF;
    END LOOP;
    RETURN QUERY SELECT a, b;
END
$$;

-- ---- privileges (see sql/roles.sql) --------------------------------------

-- Senders may ask about an address without reading the table: the
-- question runs with the schema owner's rights, on a fixed search_path.
-- PL/pgSQL, because it keeps its plan for the session: a SQL-language
-- function called once per query is planned again on every call (about
-- four times slower when each send asks once; see bench/is_suppressed.sh).
CREATE OR REPLACE FUNCTION ses_feedback.is_suppressed(p_email text) RETURNS boolean
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM ses_feedback.suppressions s
         WHERE s.email = ses_feedback.normalize_email(p_email)
           AND s.lifted_at IS NULL
           AND (s.expires_at IS NULL OR s.expires_at > now()));
END
$$;
ALTER FUNCTION ses_feedback.is_suppressed(text[])
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ses_feedback FROM PUBLIC;
REVOKE EXECUTE ON ALL PROCEDURES IN SCHEMA ses_feedback FROM PUBLIC;
