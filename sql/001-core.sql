-- SPDX-License-Identifier: ISC
-- ses-feedback schema version 1: notifications, recipient events,
-- suppressions, subscriptions, the tunable policy, and the functions a
-- sending application calls. Applied by `ses-feedback migrate`, which runs
-- each numbered file once, in order, in its own transaction.

CREATE TABLE ses_feedback.notifications (
    id              bigserial PRIMARY KEY,
    sns_message_id  text NOT NULL UNIQUE,
    topic_arn       text NOT NULL,
    sns_type        text NOT NULL CHECK (sns_type IN
                        ('Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation')),
    sns_timestamp   timestamptz NOT NULL,
    subject         text,
    event_type      text,            -- Bounce, Complaint, Delivery, ... (NULL: not an SES event)
    ses_message_id  text,            -- mail.messageId
    source          text,            -- mail.source
    occurred_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    message         jsonb,           -- the SES event, verbatim, when it is JSON
    message_text    text,            -- the SNS Message otherwise
    CHECK (message IS NOT NULL OR message_text IS NOT NULL)
);
CREATE INDEX notifications_received_at_idx ON ses_feedback.notifications (received_at);
CREATE INDEX notifications_event_idx ON ses_feedback.notifications (event_type, occurred_at);
CREATE INDEX notifications_ses_message_idx ON ses_feedback.notifications (ses_message_id);

CREATE TABLE ses_feedback.recipient_events (
    id                       bigserial PRIMARY KEY,
    notification_id          bigint NOT NULL
                                 REFERENCES ses_feedback.notifications (id) ON DELETE CASCADE,
    email                    text NOT NULL,   -- normalised: bare address, lower case
    email_original           text NOT NULL,   -- as SES spelled it
    event_type               text NOT NULL,
    bounce_type              text,
    bounce_subtype           text,
    recipient_status         text,            -- DSN status, such as 5.1.1
    action                   text,
    diagnostic_code          text,
    complaint_feedback_type  text,
    complaint_subtype        text,
    feedback_id              text,
    occurred_at              timestamptz NOT NULL,
    outcome                  text NOT NULL    -- what the rules did with it
);
CREATE INDEX recipient_events_email_idx ON ses_feedback.recipient_events (email, occurred_at);
CREATE INDEX recipient_events_notification_idx ON ses_feedback.recipient_events (notification_id);

CREATE TABLE ses_feedback.suppressions (
    email            text PRIMARY KEY CHECK (email = lower(email)),
    reason           text NOT NULL CHECK (reason IN
                         ('hard_bounce', 'soft_bounce', 'complaint', 'unsubscribe', 'manual')),
    first_at         timestamptz NOT NULL,
    last_at          timestamptz NOT NULL,
    count            integer NOT NULL DEFAULT 1,
    expires_at       timestamptz,             -- NULL: never
    lifted_at        timestamptz,             -- set by unsuppress()
    lifted_by        text,
    lift_note        text,
    notification_id  bigint REFERENCES ses_feedback.notifications (id) ON DELETE SET NULL,
    note             text,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Every change to a suppression: who, when, why. Survives lifting.
CREATE TABLE ses_feedback.suppression_log (
    id               bigserial PRIMARY KEY,
    email            text NOT NULL,
    action           text NOT NULL CHECK (action IN ('suppress', 'unsuppress')),
    reason           text,
    actor            text NOT NULL DEFAULT current_user,
    at               timestamptz NOT NULL DEFAULT now(),
    note             text,
    notification_id  bigint
);
CREATE INDEX suppression_log_email_idx ON ses_feedback.suppression_log (email, at);

CREATE TABLE ses_feedback.subscriptions (
    topic_arn         text PRIMARY KEY,
    subscription_arn  text,
    status            text NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed')),
    subscribe_url     text,           -- kept only while pending, for an operator
    last_message_id   text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    confirmed_at      timestamptz,
    unsubscribed_at   timestamptz
);

-- The suppression rules, edited with SQL; read on every notification.
CREATE TABLE ses_feedback.policy (
    name         text PRIMARY KEY,
    value        text NOT NULL,
    description  text NOT NULL
);
INSERT INTO ses_feedback.policy (name, value, description) VALUES
    ('soft_bounce_limit', '3',
     'soft bounces within soft_bounce_window that suppress an address'),
    ('soft_bounce_window', '30 days',
     'window over which soft bounces are counted, by the events'' own timestamps'),
    ('soft_bounce_expiry', '30 days',
     'how long a soft_bounce suppression lasts'),
    ('soft_bounce_subtypes', 'General,MailboxFull',
     'Transient bounce subtypes that count (Undetermined bounces always do)'),
    ('delivery_resets_soft_bounces', 'on',
     'a delivery to the address restarts its soft-bounce count'),
    ('transient_5xx_is_permanent', 'on',
     'a counting transient or undetermined bounce with status 5.x.x is a hard bounce'),
    ('hard_bounce_expiry', '',
     'how long a hard_bounce suppression lasts (empty: forever)'),
    ('complaint_expiry', '',
     'how long a complaint suppression lasts (empty: forever)'),
    ('complaint_ignore_feedback_types', 'not-spam',
     'complaint feedback types that are recorded only'),
    ('complaint_ignore_subtypes', 'OnAccountSuppressionList',
     'complaint subtypes that are recorded only');

CREATE FUNCTION ses_feedback.policy_value(p_name text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT value FROM ses_feedback.policy WHERE name = p_name
$$;

CREATE FUNCTION ses_feedback.policy_interval(p_name text) RETURNS interval
LANGUAGE sql STABLE AS $$
    SELECT nullif(trim(ses_feedback.policy_value(p_name)), '')::interval
$$;

CREATE FUNCTION ses_feedback.policy_on(p_name text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(lower(trim(ses_feedback.policy_value(p_name))) IN ('on', 'true', 'yes', '1'),
                    false)
$$;

CREATE FUNCTION ses_feedback.policy_list(p_name text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_remove(regexp_split_to_array(
               coalesce(ses_feedback.policy_value(p_name), ''), '\s*,\s*'), ''), '{}')
$$;

-- "Jane Doe" <Jane@Example.COM>  ->  jane@example.com
CREATE FUNCTION ses_feedback.normalize_email(p_email text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT lower(btrim(regexp_replace(p_email, '^.*<([^<>]*)>\s*$', '\1'), E' \t\r\n'))
$$;

CREATE FUNCTION ses_feedback.reason_rank(p_reason text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_reason WHEN 'complaint' THEN 5 WHEN 'manual' THEN 4
        WHEN 'hard_bounce' THEN 3 WHEN 'unsubscribe' THEN 2 WHEN 'soft_bounce' THEN 1
        ELSE 0 END
$$;

-- Add or strengthen a suppression. An active one keeps the stronger
-- reason; a lifted one comes back only for an event newer than the lift.
CREATE FUNCTION ses_feedback.apply_suppression(p_email text, p_reason text,
    p_at timestamptz, p_expires timestamptz, p_notification bigint, p_note text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    s ses_feedback.suppressions;
BEGIN
    SELECT * INTO s FROM ses_feedback.suppressions WHERE email = p_email FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO ses_feedback.suppressions AS t
            (email, reason, first_at, last_at, count, expires_at, notification_id, note)
        VALUES (p_email, p_reason, p_at, p_at, 1, p_expires, p_notification, p_note)
        ON CONFLICT (email) DO NOTHING;
        IF NOT FOUND THEN
            -- a concurrent insert won; apply on top of it
            PERFORM ses_feedback.apply_suppression(p_email, p_reason, p_at, p_expires,
                                                   p_notification, p_note);
            RETURN;
        END IF;
    ELSIF s.lifted_at IS NOT NULL AND p_at <= s.lifted_at THEN
        RETURN;  -- an event older than the manual lift does not undo it
    ELSIF s.lifted_at IS NOT NULL OR (s.expires_at IS NOT NULL AND s.expires_at <= now())
          OR ses_feedback.reason_rank(p_reason) > ses_feedback.reason_rank(s.reason)
          OR (p_reason = s.reason AND s.expires_at IS NOT NULL
              AND (p_expires IS NULL OR p_expires > s.expires_at)) THEN
        UPDATE ses_feedback.suppressions
           SET reason = p_reason, expires_at = p_expires, lifted_at = NULL, lifted_by = NULL,
               lift_note = NULL, notification_id = p_notification, note = p_note,
               last_at = greatest(last_at, p_at), count = count + 1, updated_at = now()
         WHERE email = p_email;
    ELSE
        UPDATE ses_feedback.suppressions
           SET last_at = greatest(last_at, p_at), count = count + 1, updated_at = now()
         WHERE email = p_email;
        RETURN;
    END IF;
    INSERT INTO ses_feedback.suppression_log (email, action, reason, note, notification_id)
    VALUES (p_email, 'suppress', p_reason, p_note, p_notification);
END
$$;

-- Classify one recipient event by the policy and act on it. Returns the
-- outcome recorded in recipient_events.outcome.
CREATE FUNCTION ses_feedback.classify(r jsonb, p_event text, p_at timestamptz)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    btype text := r->>'bounce_type';
    bsub  text := r->>'bounce_subtype';
    st    text := coalesce(r->>'status', '');
BEGIN
    IF p_event = 'Bounce' THEN
        IF btype = 'Permanent' THEN
            RETURN 'hard_bounce';
        ELSIF btype = 'Undetermined'
           OR (btype = 'Transient' AND bsub = ANY (ses_feedback.policy_list('soft_bounce_subtypes'))) THEN
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
    END IF;
    RETURN 'record_only';
END
$$;

-- Store one verified SNS message. p carries the envelope fields, the SES
-- event (message or message_text), the affected recipients and, for
-- subscription messages, what was done. Returns 'stored', or 'duplicate'
-- (and changes nothing) when the MessageId is already known.
CREATE FUNCTION ses_feedback.ingest(p jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    nid       bigint;
    r         jsonb;
    ev        text := p->>'event_type';
    at        timestamptz := coalesce((p->>'occurred_at')::timestamptz,
                                      (p->>'sns_timestamp')::timestamptz);
    outcome   text;
    since     timestamptz;
    soft      integer;
    sub       jsonb := p->'subscription';
BEGIN
    INSERT INTO ses_feedback.notifications
        (sns_message_id, topic_arn, sns_type, sns_timestamp, subject, event_type,
         ses_message_id, source, occurred_at, message, message_text)
    VALUES (p->>'sns_message_id', p->>'topic_arn', p->>'sns_type',
            (p->>'sns_timestamp')::timestamptz, p->>'subject', ev, p->>'ses_message_id',
            p->>'source', at, p->'message', p->>'message_text')
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

    FOR r IN SELECT value FROM jsonb_array_elements(coalesce(p->'recipients', '[]'::jsonb))
    LOOP
        outcome := ses_feedback.classify(r, ev, at);
        INSERT INTO ses_feedback.recipient_events
            (notification_id, email, email_original, event_type, bounce_type, bounce_subtype,
             recipient_status, action, diagnostic_code, complaint_feedback_type,
             complaint_subtype, feedback_id, occurred_at, outcome)
        VALUES (nid, r->>'email', r->>'original', ev, r->>'bounce_type', r->>'bounce_subtype',
                r->>'status', r->>'action', r->>'diagnostic_code',
                r->>'complaint_feedback_type', r->>'complaint_subtype', r->>'feedback_id',
                at, outcome);
        IF outcome = 'hard_bounce' THEN
            PERFORM ses_feedback.apply_suppression(r->>'email', 'hard_bounce', at,
                at + ses_feedback.policy_interval('hard_bounce_expiry'), nid, NULL);
        ELSIF outcome = 'complaint' THEN
            PERFORM ses_feedback.apply_suppression(r->>'email', 'complaint', at,
                at + ses_feedback.policy_interval('complaint_expiry'), nid, NULL);
        ELSIF outcome = 'soft_bounce' THEN
            since := at - coalesce(ses_feedback.policy_interval('soft_bounce_window'), '30 days');
            IF ses_feedback.policy_on('delivery_resets_soft_bounces') THEN
                SELECT greatest(since, max(e.occurred_at)) INTO since
                  FROM ses_feedback.recipient_events e
                 WHERE e.email = r->>'email' AND e.outcome = 'delivery'
                   AND e.occurred_at <= at;
                since := coalesce(since, at - coalesce(
                    ses_feedback.policy_interval('soft_bounce_window'), '30 days'));
            END IF;
            SELECT count(*) INTO soft FROM ses_feedback.recipient_events e
             WHERE e.email = r->>'email' AND e.outcome = 'soft_bounce'
               AND e.occurred_at > since AND e.occurred_at <= at;
            IF soft >= coalesce(ses_feedback.policy_value('soft_bounce_limit')::integer, 3) THEN
                PERFORM ses_feedback.apply_suppression(r->>'email', 'soft_bounce', at,
                    at + coalesce(ses_feedback.policy_interval('soft_bounce_expiry'), '30 days'),
                    nid, format('%s soft bounces', soft));
            END IF;
        END IF;
    END LOOP;
    RETURN 'stored';
END
$$;

-- The call senders make before sending: one primary-key lookup.
CREATE FUNCTION ses_feedback.is_suppressed(p_email text) RETURNS boolean
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT EXISTS (
        SELECT 1 FROM ses_feedback.suppressions s
         WHERE s.email = ses_feedback.normalize_email(p_email)
           AND s.lifted_at IS NULL
           AND (s.expires_at IS NULL OR s.expires_at > now()))
$$;

CREATE FUNCTION ses_feedback.suppress(p_email text, p_note text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    e text := ses_feedback.normalize_email(p_email);
BEGIN
    IF e IS NULL OR e !~ '^[^@\s]+@[^@\s]+$' THEN
        RAISE EXCEPTION 'not an email address: %', p_email USING ERRCODE = '22023';
    END IF;
    PERFORM ses_feedback.apply_suppression(e, 'manual', now(), NULL, NULL, p_note);
END
$$;

CREATE FUNCTION ses_feedback.unsuppress(p_email text, p_note text DEFAULT NULL,
    p_force boolean DEFAULT false)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    e text := ses_feedback.normalize_email(p_email);
    s ses_feedback.suppressions;
BEGIN
    SELECT * INTO s FROM ses_feedback.suppressions WHERE email = e FOR UPDATE;
    IF NOT FOUND OR s.lifted_at IS NOT NULL THEN
        RETURN false;
    END IF;
    IF s.reason = 'complaint' AND NOT p_force THEN
        RAISE EXCEPTION '% is suppressed because its owner complained', e
            USING ERRCODE = '42501',
                  HINT = 'Sending again risks the complaint rate; to lift it anyway call '
                         'ses_feedback.unsuppress(email, note, true).';
    END IF;
    UPDATE ses_feedback.suppressions
       SET lifted_at = now(), lifted_by = current_user, lift_note = p_note, updated_at = now()
     WHERE email = e;
    INSERT INTO ses_feedback.suppression_log (email, action, reason, note)
    VALUES (e, 'unsuppress', s.reason, p_note);
    RETURN true;
END
$$;
