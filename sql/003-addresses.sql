-- SPDX-License-Identifier: ISC
-- ses-feedback schema version 3: one definition of an email address, and
-- a verified notification is never refused for what it holds.
--
-- normalize_email() is the SQL half of src/addr.c: an RFC 5321 mailbox
-- (RFC 6531 for UTF-8) -- a dot-atom or quoted local part, "@", a domain
-- of two or more labels or an address literal -- with a display name
-- around <...> dropped, and ASCII letters lowered (nothing that depends on
-- the database's locale, so C and SQL agree on every input). NULL for
-- anything else. tests/fixtures/addresses.tsv holds the cases both must
-- agree on; ingest(), suppress(), is_suppressed() and the CSV import all
-- go through it.
CREATE OR REPLACE FUNCTION ses_feedback.normalize_email(p_email text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN octet_length(v_mailbox) <= 320 AND v_mailbox ~ (
                  '^(' ||
                  -- dot-atom: atext+ ("." atext+)*
                  '[A-Za-z0-9!#$%&''*+/=?^_`{|}~\u0080-\U0010ffff-]+'
                  '(\.[A-Za-z0-9!#$%&''*+/=?^_`{|}~\u0080-\U0010ffff-]+)*' ||
                  -- or a quoted string: qtextSMTP / quoted-pairSMTP
                  '|"([\x20\x21\x23-\x5b\x5d-\x7e\u0080-\U0010ffff]|\\[\x20-\x7e])*"' ||
                  ')@(' ||
                  -- labels: Let-dig [Ldh-str], two at least
                  '[A-Za-z0-9\u0080-\U0010ffff]([A-Za-z0-9\u0080-\U0010ffff-]*[A-Za-z0-9\u0080-\U0010ffff])?'
                  '(\.[A-Za-z0-9\u0080-\U0010ffff]([A-Za-z0-9\u0080-\U0010ffff-]*[A-Za-z0-9\u0080-\U0010ffff])?)+' ||
                  -- or [IPv4] / [tag:general] (IPv6 is tag IPv6)
                  '|\[((25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])){3}'
                  '|[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+)\]' ||
                  ')$')
           THEN translate(v_mailbox, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
           END
      FROM (SELECT CASE WHEN v_trimmed LIKE '%>'
                        THEN btrim(substring(v_trimmed FROM '^[^<>]*<([^<>]*)>$'), E' \t\r\n')
                        ELSE v_trimmed END AS v_mailbox
              FROM (SELECT btrim(p_email, E' \t\r\n') AS v_trimmed) t) m
$$;

-- The normal form is the key. Rows stored before keep their values (NOT
-- VALID); every new one is checked.
ALTER TABLE ses_feedback.suppressions DROP CONSTRAINT IF EXISTS suppressions_email_check;
ALTER TABLE ses_feedback.suppressions ADD CONSTRAINT suppressions_email_normal
    CHECK (email = ses_feedback.normalize_email(email)) NOT VALID;

-- A recipient that is no address is kept with its raw text and the
-- outcome not_an_address, never dropped with the rest of its notification.
ALTER TABLE ses_feedback.recipient_events ALTER COLUMN email DROP NOT NULL;
ALTER TABLE ses_feedback.recipient_events ADD CONSTRAINT recipient_events_email_normal
    CHECK (email = ses_feedback.normalize_email(email)) NOT VALID;
ALTER TABLE ses_feedback.recipient_events ADD CONSTRAINT recipient_events_outcome_check
    CHECK (outcome IN ('hard_bounce', 'soft_bounce', 'complaint', 'unsubscribe', 'delivery',
                       'record_only', 'not_an_address'));
ALTER TABLE ses_feedback.recipient_events ADD CONSTRAINT recipient_events_address_or_not
    CHECK ((email IS NULL) = (outcome = 'not_an_address'));

-- Version 3 of ingest: the address comes from the recipient's original
-- text through normalize_email(); one that is none is recorded as
-- not_an_address and acted on no further. Keys read from p: see
-- src/handler.c (do_notification, do_subscription).
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
    v_orig    text;
    v_email   text;
BEGIN
    INSERT INTO ses_feedback.notifications
        (sns_message_id, topic_arn, sns_type, sns_timestamp, subject, event_type,
         ses_message_id, source, occurred_at, message, message_text, source_arn,
         sending_account, configuration_set, tags)
    VALUES (p->>'sns_message_id', p->>'topic_arn', p->>'sns_type',
            (p->>'sns_timestamp')::timestamptz, p->>'subject', ev, p->>'ses_message_id',
            p->>'source', at, msg, p->>'message_text',
            CASE WHEN jsonb_typeof(msg->'mail') = 'object' THEN msg->'mail'->>'sourceArn' END,
            CASE WHEN jsonb_typeof(msg->'mail') = 'object' THEN msg->'mail'->>'sendingAccountId' END,
            CASE WHEN jsonb_typeof(msg->'mail'->'tags'->'ses:configuration-set') = 'array'
                 THEN msg->'mail'->'tags'->'ses:configuration-set'->>0 END,
            CASE WHEN jsonb_typeof(msg->'mail') = 'object'
                  AND jsonb_typeof(msg->'mail'->'tags') = 'object' THEN msg->'mail'->'tags' END)
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

    IF jsonb_typeof(msg) = 'object' THEN
        obj := CASE ev WHEN 'Bounce' THEN msg->'bounce' WHEN 'Complaint' THEN msg->'complaint'
                       WHEN 'Delivery' THEN msg->'delivery'
                       WHEN 'DeliveryDelay' THEN msg->'deliveryDelay' END;
    END IF;
    IF jsonb_typeof(obj) IS DISTINCT FROM 'object' THEN
        obj := NULL;
    END IF;

    FOR r IN SELECT value FROM jsonb_array_elements(coalesce(p->'recipients', '[]'::jsonb))
    LOOP
        v_orig := coalesce(r->>'original', r->>'email', '');
        v_email := ses_feedback.normalize_email(v_orig);
        IF v_email IS NULL THEN
            outcome := 'not_an_address';
        ELSE
            outcome := ses_feedback.classify(r, ev, at);
        END IF;
        IF outcome IN ('soft_bounce', 'delivery') THEN
            -- Soft bounces and deliveries of one address are decided
            -- together: one transaction at a time, each seeing the others.
            PERFORM pg_advisory_xact_lock(hashtext('ses_feedback.soft:' || v_email));
        END IF;
        INSERT INTO ses_feedback.recipient_events
            (notification_id, email, email_original, event_type, bounce_type, bounce_subtype,
             recipient_status, action, diagnostic_code, complaint_feedback_type,
             complaint_subtype, feedback_id, occurred_at, outcome, reporting_mta,
             remote_mta_ip, delay_type, feedback_key)
        VALUES (nid, v_email, v_orig, coalesce(ev, '(none)'), r->>'bounce_type',
                r->>'bounce_subtype', r->>'status', r->>'action', r->>'diagnostic_code',
                r->>'complaint_feedback_type', r->>'complaint_subtype', r->>'feedback_id',
                at, outcome, obj->>'reportingMTA', obj->>'remoteMtaIp', obj->>'delayType',
                ev || '|' || (r->>'feedback_id') || '|' || v_email)
        ON CONFLICT (feedback_key) DO NOTHING
        RETURNING id INTO eid;
        IF eid IS NULL THEN
            CONTINUE;  -- the same feedback through another topic: counted once
        END IF;
        IF outcome = 'hard_bounce' THEN
            PERFORM ses_feedback.apply_suppression(v_email, 'hard_bounce', at,
                at + ses_feedback.policy_interval('hard_bounce_expiry'), nid, NULL);
        ELSIF outcome = 'complaint' THEN
            PERFORM ses_feedback.apply_suppression(v_email, 'complaint', at,
                at + ses_feedback.policy_interval('complaint_expiry'), nid, NULL);
        ELSIF outcome = 'unsubscribe' THEN
            PERFORM ses_feedback.apply_suppression(v_email, 'unsubscribe', at,
                at + ses_feedback.policy_interval('unsubscribe_expiry'), nid, NULL);
        ELSIF outcome = 'soft_bounce'
           OR (outcome = 'delivery' AND EXISTS (
                   SELECT 1 FROM ses_feedback.recipient_events e
                    WHERE e.email = v_email AND e.outcome = 'soft_bounce')) THEN
            PERFORM ses_feedback.recheck_soft_bounces(v_email, nid);
        END IF;
    END LOOP;
    RETURN 'stored';
END
$$;

-- Manual suppression: the same definition of an address.
CREATE OR REPLACE FUNCTION ses_feedback.suppress(p_email text, p_note text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    e text := ses_feedback.normalize_email(p_email);
BEGIN
    IF e IS NULL THEN
        RAISE EXCEPTION 'not an email address: %', p_email USING ERRCODE = '22023';
    END IF;
    PERFORM ses_feedback.apply_suppression(e, 'manual', now(),
        now() + ses_feedback.policy_interval('manual_expiry'), NULL, p_note);
END
$$;

-- What arrived that was not understood: recipients that are no address,
-- newest first by id. The notification's raw message is beside it.
CREATE VIEW ses_feedback.recipients_not_understood AS
SELECT e.id, n.received_at, n.topic_arn, n.sns_message_id, n.ses_message_id,
       e.event_type, e.email_original, e.diagnostic_code, n.id AS notification_id
  FROM ses_feedback.recipient_events e
  JOIN ses_feedback.notifications n ON n.id = e.notification_id
 WHERE e.outcome = 'not_an_address';

-- A notification younger than SNS's retry limit (and the largest replay
-- window, SES_FEEDBACK_MAX_AGE at most one day) must stay, or a replay of
-- it would be stored again: purge_events never removes rows younger than
-- two days, whatever retention_min_age says.
CREATE OR REPLACE PROCEDURE ses_feedback.purge_events(p_older_than interval,
                                                      p_batch integer DEFAULT 5000)
LANGUAGE plpgsql AS $$
DECLARE
    n       integer;
    total   bigint := 0;
    v_floor interval := greatest(coalesce(ses_feedback.policy_interval('retention_min_age'),
                                          '90 days'), interval '2 days');
BEGIN
    IF p_older_than < v_floor THEN
        RAISE EXCEPTION 'refusing to purge events younger than % (policy retention_min_age; never under 2 days, the replay window)', v_floor
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

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ses_feedback FROM PUBLIC;
REVOKE EXECUTE ON ALL PROCEDURES IN SCHEMA ses_feedback FROM PUBLIC;
