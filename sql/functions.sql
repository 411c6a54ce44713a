-- SPDX-License-Identifier: ISC
-- ses-feedback: every function and procedure, in one place. `ses-feedback
-- migrate` applies this file on every run, in the same transaction as the
-- numbered migrations and before them (their CHECKs and triggers call these
-- functions), so it must stay idempotent: CREATE OR REPLACE, and a DROP
-- FUNCTION IF EXISTS just above a function whose result type or parameter
-- names change (or, for one that roles other than ours may have been
-- granted, a row in the carry-over of grants above is_suppressed()).
-- Parameters are p_..., PL/pgSQL locals v_..., except the scope arguments
-- of is_suppressed(), which senders pass by name.

-- Bodies are checked when first called, not here: on a new database the
-- tables a SQL function names are created after this file (as in a
-- pg_dump restore).
SET LOCAL check_function_bodies = off;

-- A function created later by the role that runs migrate is not
-- executable by PUBLIC either; roles.sql grants what each role needs. (The
-- IN SCHEMA form cannot take away the built-in EXECUTE for PUBLIC, so this
-- applies to the role's functions in this database.)
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- ---- addresses -------------------------------------------------------------

-- normalize_email() is the SQL half of src/addr.c: an RFC 5321 mailbox
-- (RFC 6531 for UTF-8) -- a dot-atom or quoted local part, "@", a domain
-- of two or more labels or an address literal -- with a display name
-- around <...> dropped, and ASCII letters lowered (nothing that depends on
-- the database's locale, so C and SQL agree on every input). NULL for
-- anything else. tests/fixtures/addresses.tsv holds the cases both must
-- agree on; ingest(), suppress(), is_suppressed() and the CSV import all
-- go through it, and the email columns are CHECKed against it.
-- PL/pgSQL, not SQL: a SQL function that is not inlined is parsed and
-- planned again in every statement that calls it, and each insert into
-- recipient_events or suppressions calls it in a CHECK (most of ingest()'s
-- cost before).
CREATE OR REPLACE FUNCTION ses_feedback.normalize_email(p_email text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    v_mailbox text := btrim(p_email, E' \t\r\n');
BEGIN
    IF v_mailbox LIKE '%>' THEN
        v_mailbox := btrim(substring(v_mailbox FROM '^[^<>]*<([^<>]*)>$'), E' \t\r\n');
    END IF;
    IF octet_length(v_mailbox) <= 320 AND v_mailbox ~ (
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
                  ')$') THEN
        RETURN translate(v_mailbox, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
    END IF;
    RETURN NULL;
END
$$;

-- ---- policy ----------------------------------------------------------------

-- The trigger on ses_feedback.policy: a value must parse as its kind.
CREATE OR REPLACE FUNCTION ses_feedback.policy_check() RETURNS trigger
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
    ELSIF NEW.kind = 'scope'
          AND NEW.value NOT IN ('global', 'configuration_set', 'contact_list', 'topic', 'off') THEN
        RAISE EXCEPTION 'policy %: "%" is not a scope (global, configuration_set, contact_list, topic or off)',
            NEW.name, NEW.value USING ERRCODE = '22023';
    END IF;
    NEW.updated_at := now();
    NEW.updated_by := current_user;
    RETURN NEW;
END
$$;

-- PL/pgSQL, so that the look-up's plan is kept for the session (see
-- normalize_email()).
CREATE OR REPLACE FUNCTION ses_feedback.policy_value(p_name text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT value FROM ses_feedback.policy WHERE name = p_name);
END
$$;

CREATE OR REPLACE FUNCTION ses_feedback.policy_interval(p_name text) RETURNS interval
LANGUAGE sql STABLE AS $$
    SELECT nullif(btrim(ses_feedback.policy_value(p_name)), '')::interval
$$;

CREATE OR REPLACE FUNCTION ses_feedback.policy_on(p_name text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(lower(btrim(ses_feedback.policy_value(p_name))) IN ('on', 'true', 'yes', '1'),
                    false)
$$;

CREATE OR REPLACE FUNCTION ses_feedback.policy_list(p_name text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_remove(regexp_split_to_array(
               coalesce(ses_feedback.policy_value(p_name), ''), '\s*,\s*'), ''), '{}')
$$;

-- ---- the rules -------------------------------------------------------------

CREATE OR REPLACE FUNCTION ses_feedback.reason_rank(p_reason text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_reason WHEN 'complaint' THEN 5 WHEN 'manual' THEN 4
        WHEN 'hard_bounce' THEN 3 WHEN 'unsubscribe' THEN 2 WHEN 'soft_bounce' THEN 1
        ELSE 0 END
$$;

-- ---- scopes ----------------------------------------------------------------

-- A suppression applies to all mail (global) or to sends in one scope: a
-- configuration set, a contact list (every topic of it), or one topic of a
-- contact list. The scope columns hold '' for "any", so that a row applies
-- to a send when each of its non-empty parts equals the send's. The name
-- is what views, history(), the log and the NOTIFY show.
-- PL/pgSQL: the generated column suppressions.scope calls it on every
-- write, and a SQL-language function there is not inlined; it was
-- parsed from its stored body and set up again on each call (36 us a
-- call, ~40 us a notification), where PL/pgSQL keeps it compiled for the
-- session.
CREATE OR REPLACE FUNCTION ses_feedback.scope_name(p_configuration_set text,
    p_contact_list text, p_topic text)
RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN CASE WHEN coalesce(p_configuration_set, '') = '' AND coalesce(p_contact_list, '') = ''
                     AND coalesce(p_topic, '') = '' THEN 'global'
               ELSE concat_ws(' ',
                    'configuration_set=' || nullif(p_configuration_set, ''),
                    'contact_list=' || nullif(p_contact_list, ''),
                    'topic=' || nullif(p_topic, '')) END;
END
$$;

-- A name from an event as a scope part: '' for none, at most 256 bytes
-- (the CHECK of suppressions; a longer one is cut at a character).
CREATE OR REPLACE FUNCTION ses_feedback.scope_part(p_name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    v text := coalesce(p_name, '');
BEGIN
    IF octet_length(v) <= 256 THEN
        RETURN v;
    END IF;
    RETURN (SELECT left(v, n) FROM generate_series(256, 1, -1) n
             WHERE octet_length(left(v, n)) <= 256 LIMIT 1);
END
$$;

-- The scope a policy row (kind scope) gives an event seen in configuration
-- set p_cs, contact list p_cl, topic p_topic (each NULL or '' when the
-- event has none): {configuration_set, contact_list, topic}, or NULL when
-- the row says off. A scope the event cannot fill falls back to the next
-- wider one, global at the end: a reason is never dropped for want of a
-- name.
CREATE OR REPLACE FUNCTION ses_feedback.scope_of(p_policy text, p_cs text, p_cl text,
    p_topic text)
RETURNS text[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_kind text := coalesce(ses_feedback.policy_value(p_policy), 'global');
    v_cs   text := ses_feedback.scope_part(p_cs);
    v_cl   text := ses_feedback.scope_part(p_cl);
    v_t    text := ses_feedback.scope_part(p_topic);
BEGIN
    RETURN CASE v_kind
        WHEN 'off' THEN NULL
        WHEN 'topic' THEN CASE WHEN v_cl = '' THEN ARRAY['', '', '']
                               ELSE ARRAY['', v_cl, v_t] END
        WHEN 'contact_list' THEN CASE WHEN v_cl = '' THEN ARRAY['', '', '']
                                      ELSE ARRAY['', v_cl, ''] END
        WHEN 'configuration_set' THEN ARRAY[v_cs, '', '']
        ELSE ARRAY['', '', ''] END;
END
$$;

-- The NOTIFY (channel ses_feedback_suppressions), from the triggers of
-- sql/002 (since sql/004, called only when it sends): one JSON payload
-- per change of what senders must know, sent at COMMIT (nothing for a
-- transaction rolled back). state is suppressed (was not in force, now
-- is), strengthened (in force; a stronger reason, a later or no expiry),
-- changed (in force; weaker, by hand), lifted (unsuppress, an opt-in, a
-- DELETE) or expired (its time passed, or a late
-- delivery broke the soft-bounce run). A change of count or last_at alone
-- sends nothing. Every part is bounded (an address is at most 320 bytes,
-- a scope name 256), far below NOTIFY's 8000.
CREATE OR REPLACE FUNCTION ses_feedback.suppressions_expired() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A write to a suppression whose time has passed makes that explicit.
    IF NEW.lifted_at IS NULL AND NEW.expired_at IS NULL AND NEW.expires_at <= now() THEN
        NEW.expired_at := NEW.expires_at;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION ses_feedback.suppressions_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    -- announced in force before (time alone does not end it: expire() does)
    v_was   boolean := TG_OP <> 'INSERT' AND OLD.lifted_at IS NULL AND OLD.expired_at IS NULL;
    v_is    boolean := TG_OP <> 'DELETE' AND NEW.lifted_at IS NULL AND NEW.expired_at IS NULL;
    v_row   ses_feedback.suppressions;
    v_state text;
    v_payload text;
    -- the time of the change itself, not of the transaction's start: it
    -- also keeps two payloads of one transaction distinct, which NOTIFY
    -- would otherwise fold into one (suppressed, lifted, suppressed again)
    v_at    timestamptz := clock_timestamp();
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_row := OLD;
    ELSE
        v_row := NEW;
    END IF;
    IF v_is AND NOT v_was THEN
        v_state := 'suppressed';
    ELSIF v_was AND NOT v_is THEN
        IF TG_OP = 'DELETE' OR NEW.lifted_at IS NOT NULL THEN
            v_state := 'lifted';
        ELSE
            v_state := 'expired';
            v_at := least(NEW.expired_at, v_at);
        END IF;
    ELSIF v_is AND (NEW.reason IS DISTINCT FROM OLD.reason
                    OR NEW.expires_at IS DISTINCT FROM OLD.expires_at) THEN
        IF ses_feedback.reason_rank(NEW.reason) > ses_feedback.reason_rank(OLD.reason)
           OR (NEW.reason = OLD.reason AND OLD.expires_at IS NOT NULL
               AND (NEW.expires_at IS NULL OR NEW.expires_at > OLD.expires_at)) THEN
            v_state := 'strengthened';
        ELSE
            v_state := 'changed';
        END IF;
    ELSE
        RETURN NULL;
    END IF;
    v_payload := json_build_object(
        'email', v_row.email, 'state', v_state, 'reason', v_row.reason,
        'scope', v_row.scope, 'configuration_set', nullif(v_row.configuration_set, ''),
        'contact_list', nullif(v_row.contact_list, ''), 'topic', nullif(v_row.topic, ''),
        'at', v_at, 'expires_at', v_row.expires_at)::text;
    -- NOTIFY takes under 8000 bytes; scope parts escaped as \u00XX can
    -- make more. The change must still commit and be announced: without
    -- its long scope parts (truncated says so; the row holds them).
    IF octet_length(v_payload) >= 7900 THEN
        v_payload := json_build_object(
            'email', v_row.email, 'state', v_state, 'reason', v_row.reason,
            'scope', left(v_row.scope, 200), 'truncated', true,
            'at', v_at, 'expires_at', v_row.expires_at)::text;
    END IF;
    PERFORM pg_notify('ses_feedback_suppressions', v_payload);
    RETURN NULL;
END
$$;

-- Add or strengthen a suppression. An active one keeps the stronger
-- reason; a lifted one comes back only for an event newer than the lift.
-- True when it added or strengthened one (and logged it), which is what
-- ingest() counts.
-- p_scope is {configuration_set, contact_list, topic} as scope_of()
-- gives it ('' parts: any); NULL is global.
CREATE OR REPLACE FUNCTION ses_feedback.apply_suppression(p_email text, p_reason text,
    p_at timestamptz, p_expires timestamptz, p_notification bigint, p_note text,
    p_scope text[])
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_sup ses_feedback.suppressions;
    v_cs  text := coalesce(p_scope[1], '');
    v_cl  text := coalesce(p_scope[2], '');
    v_t   text := coalesce(p_scope[3], '');
BEGIN
    SELECT * INTO v_sup FROM ses_feedback.suppressions
     WHERE email = p_email AND configuration_set = v_cs AND contact_list = v_cl AND topic = v_t
       FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO ses_feedback.suppressions AS t
            (email, configuration_set, contact_list, topic, reason, first_at, last_at, count,
             expires_at, notification_id, note)
        VALUES (p_email, v_cs, v_cl, v_t, p_reason, p_at, p_at, 1, p_expires, p_notification,
                p_note)
        ON CONFLICT (email, configuration_set, contact_list, topic) DO NOTHING;
        IF NOT FOUND THEN
            -- a concurrent insert won; apply on top of it
            RETURN ses_feedback.apply_suppression(p_email, p_reason, p_at, p_expires,
                                                  p_notification, p_note, p_scope);
        END IF;
        IF p_expires <= now() THEN
            RETURN false;  -- over before it began (old events): nothing in force
        END IF;
    ELSIF v_sup.lifted_at IS NOT NULL AND p_at <= v_sup.lifted_at THEN
        RETURN false;  -- an event older than the lift does not undo it
    ELSIF v_sup.lifted_at IS NOT NULL OR v_sup.expired_at IS NOT NULL
          OR (v_sup.expires_at IS NOT NULL AND v_sup.expires_at <= now())
          OR ses_feedback.reason_rank(p_reason) > ses_feedback.reason_rank(v_sup.reason)
          OR (p_reason = v_sup.reason AND v_sup.expires_at IS NOT NULL
              AND (p_expires IS NULL OR p_expires > v_sup.expires_at)) THEN
        UPDATE ses_feedback.suppressions
           SET reason = p_reason, expires_at = p_expires, lifted_at = NULL, lifted_by = NULL,
               lift_note = NULL, expired_at = NULL, notification_id = p_notification,
               note = p_note, last_at = greatest(last_at, p_at), count = count + 1,
               updated_at = now()
         WHERE email = p_email AND configuration_set = v_cs AND contact_list = v_cl
           AND topic = v_t;
    ELSE
        UPDATE ses_feedback.suppressions
           SET last_at = greatest(last_at, p_at), count = count + 1, updated_at = now()
         WHERE email = p_email AND configuration_set = v_cs AND contact_list = v_cl
           AND topic = v_t;
        RETURN false;
    END IF;
    INSERT INTO ses_feedback.suppression_log (email, action, reason, note, notification_id, scope)
    VALUES (p_email, 'suppress', p_reason, p_note, p_notification,
            ses_feedback.scope_name(v_cs, v_cl, v_t));
    RETURN true;
END
$$;

-- Lift the unsubscribe suppression of p_scope when a Subscription event
-- newer than it says the contact opted in again. Never a bounce, a
-- complaint or a manual suppression. lifted_at is the event's time, so
-- that a later opt-out suppresses again and an older one does not. True
-- when it lifted one.
CREATE OR REPLACE FUNCTION ses_feedback.lift_unsubscribe(p_email text, p_scope text[],
    p_at timestamptz, p_notification bigint, p_note text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_sup ses_feedback.suppressions;
BEGIN
    SELECT * INTO v_sup FROM ses_feedback.suppressions
     WHERE email = p_email AND configuration_set = p_scope[1] AND contact_list = p_scope[2]
       AND topic = p_scope[3]
       FOR UPDATE;
    IF NOT FOUND OR v_sup.reason <> 'unsubscribe' OR v_sup.lifted_at IS NOT NULL
       OR v_sup.expired_at IS NOT NULL OR p_at <= v_sup.last_at THEN
        RETURN false;
    END IF;
    UPDATE ses_feedback.suppressions
       SET lifted_at = p_at, lifted_by = 'ses-feedback', lift_note = p_note, updated_at = now()
     WHERE email = p_email AND configuration_set = p_scope[1] AND contact_list = p_scope[2]
       AND topic = p_scope[3];
    INSERT INTO ses_feedback.suppression_log
        (email, action, reason, actor, note, notification_id, scope)
    VALUES (p_email, 'unsuppress', 'unsubscribe', 'ses-feedback', p_note, p_notification,
            v_sup.scope);
    RETURN true;
END
$$;

-- A Subscription event (SES's subscription object: contactList,
-- newTopicPreferences {unsubscribeAll, topicSubscriptionStatus [{topicName,
-- subscriptionStatus OptIn|OptOut}]}, oldTopicPreferences) for address
-- p_email: unsubscribeAll suppresses in unsubscribe_scope; otherwise an
-- opt-in again lifts that, and each topic's status suppresses (OptOut) or
-- lifts (OptIn) in topic_opt_out_scope. Several topics that the policy puts
-- in one scope: suppressed if any is OptOut. How many suppressions it
-- added or strengthened.
-- p_all is what the handler read (src/record.h unsubscribe_all), used
-- when the message holds no subscription object.
CREATE OR REPLACE FUNCTION ses_feedback.apply_subscription(p_email text, p_msg jsonb,
    p_all boolean, p_cs text, p_at timestamptz, p_notification bigint)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_sub   jsonb := CASE WHEN jsonb_typeof(p_msg->'subscription') = 'object'
                          THEN p_msg->'subscription' END;
    v_cl    text := v_sub->>'contactList';
    v_new   jsonb := CASE WHEN jsonb_typeof(v_sub->'newTopicPreferences') = 'object'
                          THEN v_sub->'newTopicPreferences' END;
    v_lifts boolean := ses_feedback.policy_on('opt_in_lifts');
    v_exp   timestamptz := p_at + ses_feedback.policy_interval('unsubscribe_expiry');
    v_scope text[];
    v_n     integer := 0;
    v_r     record;
BEGIN
    IF coalesce(v_new->'unsubscribeAll' = 'true'::jsonb, p_all) THEN
        v_scope := ses_feedback.scope_of('unsubscribe_scope', p_cs, v_cl, NULL);
        IF v_scope IS NOT NULL AND ses_feedback.policy_on('unsubscribe_suppresses')
           AND ses_feedback.apply_suppression(p_email, 'unsubscribe', p_at, v_exp,
                   p_notification, NULL, v_scope) THEN
            v_n := v_n + 1;
        END IF;
        RETURN v_n;  -- every topic of the list is covered
    END IF;
    IF v_new IS NULL THEN
        RETURN 0;
    END IF;
    v_scope := ses_feedback.scope_of('unsubscribe_scope', p_cs, v_cl, NULL);
    -- No lift of a scope this same event opts out of (a topic OptOut maps
    -- to the list's scope when topic_opt_out_scope says contact_list).
    IF v_lifts AND v_scope IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM jsonb_array_elements(
                    CASE WHEN jsonb_typeof(v_new->'topicSubscriptionStatus') = 'array'
                         THEN v_new->'topicSubscriptionStatus' ELSE '[]'::jsonb END) t
            WHERE jsonb_typeof(t) = 'object' AND t->>'subscriptionStatus' = 'OptOut'
              AND ses_feedback.scope_of('topic_opt_out_scope', p_cs, v_cl, t->>'topicName')
                  = v_scope) THEN
        PERFORM ses_feedback.lift_unsubscribe(p_email, v_scope, p_at, p_notification,
            'opted in again to contact list ' || coalesce(v_cl, '(none)'));
    END IF;
    IF jsonb_typeof(v_new->'topicSubscriptionStatus') IS DISTINCT FROM 'array' THEN
        RETURN v_n;
    END IF;
    FOR v_r IN
        SELECT s.sc, bool_or(t->>'subscriptionStatus' = 'OptOut') AS out,
               bool_or(t->>'subscriptionStatus' = 'OptIn') AS opt_in,
               string_agg(DISTINCT left(t->>'topicName', 256), ', ') AS names
          FROM jsonb_array_elements(v_new->'topicSubscriptionStatus') t
         CROSS JOIN LATERAL (SELECT ses_feedback.scope_of('topic_opt_out_scope', p_cs, v_cl,
                                                          t->>'topicName') AS sc) s
         WHERE jsonb_typeof(t) = 'object' AND s.sc IS NOT NULL
         GROUP BY s.sc
    LOOP
        IF v_r.out THEN
            IF ses_feedback.policy_on('unsubscribe_suppresses')
               AND ses_feedback.apply_suppression(p_email, 'unsubscribe', p_at, v_exp,
                       p_notification, 'opted out of topic ' || v_r.names, v_r.sc) THEN
                v_n := v_n + 1;
            END IF;
        ELSIF v_r.opt_in AND v_lifts THEN
            PERFORM ses_feedback.lift_unsubscribe(p_email, v_r.sc, p_at, p_notification,
                'opted in again to topic ' || v_r.names);
        END IF;
    END LOOP;
    RETURN v_n;
END
$$;

-- Classify one recipient event by the policy. Returns the outcome kept in
-- recipient_events.outcome: hard_bounce, soft_bounce, complaint,
-- unsubscribe, delivery, or record_only.
CREATE OR REPLACE FUNCTION ses_feedback.classify(p_recipient jsonb, p_event text)
RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_btype  text := p_recipient->>'bounce_type';
    v_bsub   text := p_recipient->>'bounce_subtype';
    v_status text := coalesce(p_recipient->>'status', '');
BEGIN
    IF p_event = 'Bounce' THEN
        IF v_btype = 'Permanent' THEN
            RETURN 'hard_bounce';
        ELSIF (v_btype = 'Undetermined' AND ses_feedback.policy_on('soft_bounce_undetermined'))
           OR (v_btype = 'Transient'
               AND v_bsub = ANY (ses_feedback.policy_list('soft_bounce_subtypes'))) THEN
            IF ses_feedback.policy_on('transient_5xx_is_permanent') AND v_status ~ '^5\.' THEN
                RETURN 'hard_bounce';
            END IF;
            RETURN 'soft_bounce';
        END IF;
        RETURN 'record_only';
    ELSIF p_event = 'Complaint' THEN
        IF p_recipient->>'complaint_feedback_type'
               = ANY (ses_feedback.policy_list('complaint_ignore_feedback_types'))
           OR p_recipient->>'complaint_subtype'
               = ANY (ses_feedback.policy_list('complaint_ignore_subtypes')) THEN
            RETURN 'record_only';
        END IF;
        RETURN 'complaint';
    ELSIF p_event = 'Delivery' THEN
        RETURN 'delivery';
    ELSIF p_event = 'Subscription' THEN
        IF (p_recipient->>'unsubscribe_all')::boolean IS TRUE
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
-- True when it added or strengthened a suppression.
CREATE OR REPLACE FUNCTION ses_feedback.recheck_soft_bounces(p_email text, p_notification bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_limit   integer := coalesce(ses_feedback.policy_value('soft_bounce_limit')::integer, 3);
    v_window  interval := coalesce(ses_feedback.policy_interval('soft_bounce_window'), '30 days');
    v_resets  boolean := ses_feedback.policy_on('delivery_resets_soft_bounces');
    v_hit     timestamptz;
    v_sup     ses_feedback.suppressions;
    v_cs      text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ses_feedback.soft:' || p_email));
    WITH ev AS (
        SELECT e.occurred_at, e.outcome,
               CASE WHEN v_resets THEN count(*) FILTER (WHERE e.outcome = 'delivery')
                                       OVER (ORDER BY e.occurred_at, e.id) ELSE 0 END AS run
          FROM ses_feedback.recipient_events e
         WHERE e.email = p_email AND e.outcome IN ('soft_bounce', 'delivery')
    ), sb AS (
        SELECT occurred_at,
               lag(occurred_at, greatest(v_limit, 1) - 1) OVER (PARTITION BY run
                                                                ORDER BY occurred_at) AS first
          FROM ev WHERE outcome = 'soft_bounce'
    )
    SELECT max(occurred_at) INTO v_hit FROM sb
     WHERE first IS NOT NULL AND occurred_at - first < v_window;
    IF v_hit IS NOT NULL THEN
        -- A delivery that leaves the run whole keeps what is there; it never
        -- creates a suppression, least of all one scoped to its own set.
        IF EXISTS (SELECT 1 FROM ses_feedback.recipient_events e
                    WHERE e.notification_id = p_notification AND e.email = p_email
                      AND e.outcome = 'delivery') THEN
            RETURN false;
        END IF;
        -- The scope is that of the soft bounce that completed the run.
        SELECT n.configuration_set INTO v_cs
          FROM ses_feedback.recipient_events e
          JOIN ses_feedback.notifications n ON n.id = e.notification_id
         WHERE e.email = p_email AND e.outcome = 'soft_bounce' AND e.occurred_at = v_hit
         ORDER BY e.id DESC LIMIT 1;
        RETURN ses_feedback.apply_suppression(p_email, 'soft_bounce', v_hit,
            v_hit + coalesce(ses_feedback.policy_interval('soft_bounce_expiry'), '30 days'),
            p_notification, format('%s soft bounces within %s', v_limit, v_window),
            ses_feedback.scope_of('soft_bounce_scope', v_cs, NULL, NULL));
    END IF;
    -- The run is broken: every soft_bounce suppression of the address in
    -- force ends now (whatever its scope; the run counts all mail).
    FOR v_sup IN SELECT * FROM ses_feedback.suppressions
                  WHERE email = p_email AND reason = 'soft_bounce' AND lifted_at IS NULL
                    AND expired_at IS NULL AND (expires_at IS NULL OR expires_at > now())
                    FOR UPDATE
    LOOP
        UPDATE ses_feedback.suppressions SET expires_at = now(), updated_at = now()
         WHERE email = p_email AND configuration_set = v_sup.configuration_set
           AND contact_list = v_sup.contact_list AND topic = v_sup.topic;
        INSERT INTO ses_feedback.suppression_log
            (email, action, reason, actor, note, notification_id, expires_at, scope)
        VALUES (p_email, 'expire', 'soft_bounce', 'ses-feedback',
                'the soft bounces no longer make a run (a delivery between them arrived)',
                p_notification, now(), v_sup.scope);
    END LOOP;
    RETURN false;
END
$$;

-- Store one verified SNS message: what the handler calls, once per
-- notification, in one round trip. p_doc carries the envelope fields, the
-- SES event (message or message_text), the affected recipients and, for
-- subscription messages, what was done; every key, its type and meaning:
-- src/record.h, which builds it (a key changed there is changed here too).
-- The address comes from each recipient's original text through
-- normalize_email(); one that is none is recorded as not_an_address and
-- acted on no further.
-- result is 'stored', or 'duplicate' (and nothing changed) when the
-- MessageId is already known; suppressed counts the suppressions the
-- notification added or strengthened (for the metrics).
CREATE OR REPLACE FUNCTION ses_feedback.ingest(p_doc jsonb)
RETURNS TABLE (result text, suppressed integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_nid      bigint;
    v_eid      bigint;
    v_rcpt     jsonb;
    v_event    text := p_doc->>'event_type';
    v_msg      jsonb := p_doc->'message';
    v_obj      jsonb;
    v_at       timestamptz := coalesce((p_doc->>'occurred_at')::timestamptz,
                                       (p_doc->>'sns_timestamp')::timestamptz);
    v_outcome  text;
    v_sub      jsonb := p_doc->'subscription';
    v_orig     text;
    v_email    text;
    v_changed  boolean;
    v_cs       text := CASE WHEN jsonb_typeof(v_msg->'mail'->'tags'->'ses:configuration-set')
                                 = 'array'
                            THEN v_msg->'mail'->'tags'->'ses:configuration-set'->>0 END;
    v_topic_out boolean := v_event = 'Subscription' AND jsonb_typeof(v_msg) = 'object'
        AND ses_feedback.policy_value('topic_opt_out_scope') IS DISTINCT FROM 'off'
        AND jsonb_typeof(v_msg->'subscription'->'newTopicPreferences'->'topicSubscriptionStatus')
            = 'array'
        AND EXISTS (SELECT 1 FROM jsonb_array_elements(
                        v_msg->'subscription'->'newTopicPreferences'->'topicSubscriptionStatus') t
                     WHERE t->>'subscriptionStatus' = 'OptOut');
BEGIN
    result := 'duplicate';
    suppressed := 0;
    INSERT INTO ses_feedback.notifications
        (sns_message_id, topic_arn, sns_type, sns_timestamp, subject, event_type,
         ses_message_id, source, occurred_at, message, message_text, source_arn,
         sending_account, configuration_set, tags)
    VALUES (p_doc->>'sns_message_id', p_doc->>'topic_arn', p_doc->>'sns_type',
            (p_doc->>'sns_timestamp')::timestamptz, p_doc->>'subject', v_event,
            p_doc->>'ses_message_id', p_doc->>'source', v_at, v_msg, p_doc->>'message_text',
            CASE WHEN jsonb_typeof(v_msg->'mail') = 'object' THEN v_msg->'mail'->>'sourceArn' END,
            CASE WHEN jsonb_typeof(v_msg->'mail') = 'object'
                 THEN v_msg->'mail'->>'sendingAccountId' END,
            v_cs,
            CASE WHEN jsonb_typeof(v_msg->'mail') = 'object'
                  AND jsonb_typeof(v_msg->'mail'->'tags') = 'object' THEN v_msg->'mail'->'tags' END)
    ON CONFLICT (sns_message_id) DO NOTHING
    RETURNING id INTO v_nid;
    IF v_nid IS NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;
    result := 'stored';

    IF v_sub IS NOT NULL THEN
        INSERT INTO ses_feedback.subscriptions AS s
            (topic_arn, subscription_arn, status, subscribe_url, last_message_id,
             confirmed_at, unsubscribed_at)
        VALUES (p_doc->>'topic_arn', v_sub->>'subscription_arn', v_sub->>'status',
                v_sub->>'subscribe_url', p_doc->>'sns_message_id',
                CASE WHEN v_sub->>'status' = 'confirmed' THEN now() END,
                CASE WHEN v_sub->>'status' = 'unsubscribed' THEN now() END)
        ON CONFLICT (topic_arn) DO UPDATE
           SET subscription_arn = coalesce(excluded.subscription_arn, s.subscription_arn),
               status = excluded.status, subscribe_url = excluded.subscribe_url,
               last_message_id = excluded.last_message_id, updated_at = now(),
               confirmed_at = coalesce(excluded.confirmed_at, s.confirmed_at),
               unsubscribed_at = coalesce(excluded.unsubscribed_at, s.unsubscribed_at);
    END IF;

    IF jsonb_typeof(v_msg) = 'object' THEN
        v_obj := CASE v_event WHEN 'Bounce' THEN v_msg->'bounce'
                              WHEN 'Complaint' THEN v_msg->'complaint'
                              WHEN 'Delivery' THEN v_msg->'delivery'
                              WHEN 'DeliveryDelay' THEN v_msg->'deliveryDelay' END;
    END IF;
    IF jsonb_typeof(v_obj) IS DISTINCT FROM 'object' THEN
        v_obj := NULL;
    END IF;

    FOR v_rcpt IN SELECT value FROM jsonb_array_elements(coalesce(p_doc->'recipients', '[]'::jsonb))
    LOOP
        v_orig := coalesce(v_rcpt->>'original', v_rcpt->>'email', '');
        v_email := ses_feedback.normalize_email(v_orig);
        IF v_email IS NULL THEN
            v_outcome := 'not_an_address';
        ELSE
            v_outcome := ses_feedback.classify(v_rcpt, v_event);
            IF v_outcome = 'record_only' AND v_topic_out
               AND ses_feedback.policy_on('unsubscribe_suppresses') THEN
                v_outcome := 'unsubscribe';  -- a per-topic OptOut
            END IF;
        END IF;
        IF v_outcome IN ('soft_bounce', 'delivery') THEN
            -- Soft bounces and deliveries of one address are decided
            -- together: one transaction at a time, each seeing the others.
            PERFORM pg_advisory_xact_lock(hashtext('ses_feedback.soft:' || v_email));
        END IF;
        INSERT INTO ses_feedback.recipient_events
            (notification_id, email, email_original, event_type, bounce_type, bounce_subtype,
             recipient_status, action, diagnostic_code, complaint_feedback_type,
             complaint_subtype, feedback_id, occurred_at, outcome, reporting_mta,
             remote_mta_ip, delay_type)
        VALUES (v_nid, v_email, v_orig, coalesce(v_event, '(none)'), v_rcpt->>'bounce_type',
                v_rcpt->>'bounce_subtype', v_rcpt->>'status', v_rcpt->>'action',
                v_rcpt->>'diagnostic_code', v_rcpt->>'complaint_feedback_type',
                v_rcpt->>'complaint_subtype', v_rcpt->>'feedback_id', v_at, v_outcome,
                v_obj->>'reportingMTA', v_obj->>'remoteMtaIp', v_obj->>'delayType')
        ON CONFLICT (event_type, feedback_id, email) DO NOTHING
        RETURNING id INTO v_eid;
        IF v_eid IS NULL THEN
            CONTINUE;  -- the same feedback through another topic: counted once
        END IF;
        v_changed := false;
        IF v_outcome = 'hard_bounce' THEN
            v_changed := ses_feedback.apply_suppression(v_email, 'hard_bounce', v_at,
                v_at + ses_feedback.policy_interval('hard_bounce_expiry'), v_nid, NULL,
                ses_feedback.scope_of('hard_bounce_scope', v_cs, NULL, NULL));
        ELSIF v_outcome = 'complaint' THEN
            v_changed := ses_feedback.apply_suppression(v_email, 'complaint', v_at,
                v_at + ses_feedback.policy_interval('complaint_expiry'), v_nid, NULL,
                ses_feedback.scope_of('complaint_scope', v_cs, NULL, NULL));
        ELSIF v_event = 'Subscription' THEN
            -- the scope comes from the event's contact list and topics;
            -- an opt-in again (outcome record_only) may lift one
            IF ses_feedback.apply_subscription(v_email, v_msg,
                   (v_rcpt->>'unsubscribe_all')::boolean IS TRUE, v_cs, v_at, v_nid) > 0 THEN
                v_changed := true;
            END IF;
        ELSIF v_outcome = 'soft_bounce'
           OR (v_outcome = 'delivery' AND EXISTS (
                   SELECT 1 FROM ses_feedback.recipient_events e
                    WHERE e.email = v_email AND e.outcome = 'soft_bounce')) THEN
            v_changed := ses_feedback.recheck_soft_bounces(v_email, v_nid);
        END IF;
        IF v_changed THEN
            suppressed := suppressed + 1;
        END IF;
    END LOOP;
    RETURN NEXT;
END
$$;

-- Store several verified SNS messages in one transaction: what serve's
-- group commit calls (src/gcommit.h), one row per document of the array
-- p_docs, idx its position from 0, with ingest()'s result and suppressed.
-- One statement, so one COMMIT for all: should any document fail, the
-- whole call fails and nothing is stored; the program then stores each
-- document alone. The same MessageId twice in one call is stored once
-- and answered duplicate the second time, as in two calls.
CREATE OR REPLACE FUNCTION ses_feedback.ingest_many(p_docs jsonb)
RETURNS TABLE (idx integer, result text, suppressed integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_doc jsonb;
    v_r   record;
BEGIN
    idx := 0;
    FOR v_doc IN SELECT value FROM jsonb_array_elements(p_docs) LOOP
        SELECT * INTO v_r FROM ses_feedback.ingest(v_doc);
        result := v_r.result;
        suppressed := v_r.suppressed;
        RETURN NEXT;
        idx := idx + 1;
    END LOOP;
END
$$;

-- ---- what senders and operators call ---------------------------------------

-- Senders may ask about an address without reading the table: the
-- question runs with the schema owner's rights, on a fixed search_path.
-- PL/pgSQL, because it keeps its plan for the session: a SQL-language
-- function called once per query is planned again on every call (about
-- four times slower when each send asks once; see bench/is_suppressed.sh).
--
-- is_suppressed(email): suppressed for all mail (a global suppression).
-- With configuration_set, contact_list and/or topic (named: the send's
-- scope), also by a suppression of that scope: one whose every non-empty
-- part equals the send's (a contact-list-wide unsubscribe covers each of
-- its topics). Both questions read the primary key's first column.
--
-- Version 2 replaced is_suppressed(text) and is_suppressed(text[]) by these
-- forms (one argument still works); the grants carry over (below).
CREATE TEMP TABLE IF NOT EXISTS ses_feedback_regrant (fn text, grantee text) ON COMMIT DROP;
DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT * FROM (VALUES
        ('ses_feedback.is_suppressed(text)',
         'ses_feedback.is_suppressed(text, text, text, text)'),
        ('ses_feedback.is_suppressed(text[])',
         'ses_feedback.is_suppressed(text[], text, text, text)'),
        ('ses_feedback.apply_suppression(text, text, timestamptz, timestamptz, bigint, text)',
         'ses_feedback.apply_suppression(text, text, timestamptz, timestamptz, bigint, text, text[])'),
        ('ses_feedback.history(text)', 'ses_feedback.history(text)')) AS t(old, new)
    LOOP
        CONTINUE WHEN to_regprocedure(v.old) IS NULL;
        -- history(text) keeps its signature; only the old result goes
        CONTINUE WHEN v.old = v.new AND EXISTS (
            SELECT 1 FROM pg_proc p WHERE p.oid = to_regprocedure(v.old)
               AND 'scope' = ANY (p.proargnames));
        INSERT INTO pg_temp.ses_feedback_regrant
        SELECT v.new, a.grantee::regrole::text
          FROM pg_proc p, aclexplode(p.proacl) a
         WHERE p.oid = to_regprocedure(v.old) AND a.privilege_type = 'EXECUTE'
           AND a.grantee <> 0 AND a.grantee <> p.proowner;
        EXECUTE 'DROP FUNCTION ' || v.old;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION ses_feedback.is_suppressed(p_email text,
    configuration_set text DEFAULT NULL, contact_list text DEFAULT NULL,
    topic text DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_email IS NULL THEN
        RETURN NULL;
    END IF;
    IF is_suppressed.configuration_set IS NULL AND is_suppressed.contact_list IS NULL
       AND is_suppressed.topic IS NULL THEN
        RETURN EXISTS (
            SELECT 1 FROM ses_feedback.suppressions s
             WHERE s.email = ses_feedback.normalize_email(p_email)
               AND s.configuration_set = '' AND s.contact_list = '' AND s.topic = ''
               AND s.lifted_at IS NULL AND s.expired_at IS NULL
               AND (s.expires_at IS NULL OR s.expires_at > now()));
    END IF;
    RETURN EXISTS (
        SELECT 1 FROM ses_feedback.suppressions s
         WHERE s.email = ses_feedback.normalize_email(p_email)
           AND (s.configuration_set = ''
                OR s.configuration_set = is_suppressed.configuration_set)
           AND (s.contact_list = '' OR s.contact_list = is_suppressed.contact_list)
           AND (s.topic = '' OR s.topic = is_suppressed.topic)
           AND s.lifted_at IS NULL AND s.expired_at IS NULL
           AND (s.expires_at IS NULL OR s.expires_at > now()));
END
$$;

-- Many addresses at once: one row per address given, in the order given,
-- for a send in the scope given (none: all mail, as above). reason,
-- expires_at and scope are those of the suppression that applies (the
-- global one first, then the strongest reason).
CREATE OR REPLACE FUNCTION ses_feedback.is_suppressed(p_emails text[],
    configuration_set text DEFAULT NULL, contact_list text DEFAULT NULL,
    topic text DEFAULT NULL)
RETURNS TABLE (email text, suppressed boolean, reason text, expires_at timestamptz,
               scope text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    IF is_suppressed.configuration_set IS NULL AND is_suppressed.contact_list IS NULL
       AND is_suppressed.topic IS NULL THEN
        -- No scope: the global row only, one primary-key lookup an address
        -- (as fast as before scopes existed).
        RETURN QUERY
        SELECT a.e, s.email IS NOT NULL, s.reason, s.expires_at, s.scope
          FROM unnest(p_emails) WITH ORDINALITY AS a(e, n)
          LEFT JOIN ses_feedback.suppressions s
            ON s.email = ses_feedback.normalize_email(a.e)
           AND s.configuration_set = '' AND s.contact_list = '' AND s.topic = ''
           AND s.lifted_at IS NULL AND s.expired_at IS NULL
           AND (s.expires_at IS NULL OR s.expires_at > now())
         ORDER BY a.n;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT a.e, s.email IS NOT NULL, s.reason, s.expires_at, s.scope
      FROM unnest(p_emails) WITH ORDINALITY AS a(e, n)
      LEFT JOIN LATERAL (
          SELECT x.email, x.reason, x.expires_at, x.scope
            FROM ses_feedback.suppressions x
           WHERE x.email = ses_feedback.normalize_email(a.e)
             AND (x.configuration_set = ''
                  OR x.configuration_set = is_suppressed.configuration_set)
             AND (x.contact_list = '' OR x.contact_list = is_suppressed.contact_list)
             AND (x.topic = '' OR x.topic = is_suppressed.topic)
             AND x.lifted_at IS NULL AND x.expired_at IS NULL
             AND (x.expires_at IS NULL OR x.expires_at > now())
           ORDER BY x.scope <> 'global', ses_feedback.reason_rank(x.reason) DESC
           LIMIT 1) s ON true
     ORDER BY a.n;
END
$$;

-- Manual suppression: the same definition of an address; honours
-- manual_expiry.
CREATE OR REPLACE FUNCTION ses_feedback.suppress(p_email text, p_note text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_email text := ses_feedback.normalize_email(p_email);
BEGIN
    IF v_email IS NULL THEN
        RAISE EXCEPTION 'not an email address: %', p_email USING ERRCODE = '22023';
    END IF;
    PERFORM ses_feedback.apply_suppression(v_email, 'manual', now(),
        now() + ses_feedback.policy_interval('manual_expiry'), NULL, p_note, NULL);
END
$$;

-- Lift every suppression of the address in force, whatever its scope
-- (one row per scope in the log). A complaint only with p_force.
CREATE OR REPLACE FUNCTION ses_feedback.unsuppress(p_email text, p_note text DEFAULT NULL,
    p_force boolean DEFAULT false)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_email text := ses_feedback.normalize_email(p_email);
    v_sup   ses_feedback.suppressions;
    v_any   boolean := false;
BEGIN
    FOR v_sup IN SELECT * FROM ses_feedback.suppressions
                  WHERE email = v_email AND lifted_at IS NULL AND expired_at IS NULL
                    AND (expires_at IS NULL OR expires_at > now())
                  ORDER BY ses_feedback.reason_rank(reason) DESC FOR UPDATE
    LOOP
        IF v_sup.reason = 'complaint' AND NOT p_force THEN
            RAISE EXCEPTION '% is suppressed because its owner complained', v_email
                USING ERRCODE = '42501',
                      HINT = 'Sending again risks the complaint rate; to lift it anyway call '
                             'ses_feedback.unsuppress(email, note, true).';
        END IF;
        UPDATE ses_feedback.suppressions
           SET lifted_at = now(), lifted_by = current_user, lift_note = p_note,
               updated_at = now()
         WHERE email = v_email AND configuration_set = v_sup.configuration_set
           AND contact_list = v_sup.contact_list AND topic = v_sup.topic;
        INSERT INTO ses_feedback.suppression_log (email, action, reason, note, scope)
        VALUES (v_email, 'unsuppress', v_sup.reason, p_note, v_sup.scope);
        v_any := true;
    END LOOP;
    RETURN v_any;
END
$$;

-- Expiry by time, made explicit: every suppression whose expires_at has
-- passed gets expired_at, a log row and a NOTIFY (state expired). Senders
-- that cache what the NOTIFYs say are right within the interval this is
-- called at; is_suppressed() honours expires_at by itself. Run it from
-- cron or pg_cron, for example every minute:
--   CALL ses_feedback.expire();
CREATE OR REPLACE PROCEDURE ses_feedback.expire()
LANGUAGE plpgsql AS $$
DECLARE
    v_n bigint;
BEGIN
    WITH x AS (
        UPDATE ses_feedback.suppressions s
           SET expired_at = s.expires_at, updated_at = now()
         WHERE s.lifted_at IS NULL AND s.expired_at IS NULL AND s.expires_at <= now()
        RETURNING s.email, s.reason, s.scope, s.expires_at
    ), l AS (
        INSERT INTO ses_feedback.suppression_log
            (email, action, reason, actor, note, expires_at, scope)
        SELECT x.email, 'expire', x.reason, 'ses-feedback', 'its time passed', x.expires_at,
               x.scope FROM x
        RETURNING 1
    )
    SELECT count(*) INTO v_n FROM l;
    RAISE NOTICE 'expired % suppressions', v_n;
END
$$;

-- Everything that happened to one address, oldest first.
-- scope: for a suppression's change, the scope it changed (global, or
-- such as contact_list=L topic=T); for an event, the configuration set it
-- was sent through, if any.
CREATE OR REPLACE FUNCTION ses_feedback.history(p_email text)
RETURNS TABLE (at timestamptz, what text, detail text, actor text, note text,
               ses_message_id text, scope text)
LANGUAGE sql STABLE AS $$
    SELECT e.occurred_at, e.event_type,
           concat_ws(' ', e.bounce_type, e.bounce_subtype, e.recipient_status,
                     e.complaint_feedback_type, e.delay_type, '-> ' || e.outcome),
           NULL::text, e.diagnostic_code, n.ses_message_id,
           'configuration_set=' || n.configuration_set
      FROM ses_feedback.recipient_events e
      JOIN ses_feedback.notifications n ON n.id = e.notification_id
     WHERE e.email = ses_feedback.normalize_email(p_email)
    UNION ALL
    SELECT l.at, l.action, l.reason, l.actor, l.note, NULL, l.scope
      FROM ses_feedback.suppression_log l
     WHERE l.email = ses_feedback.normalize_email(p_email)
     ORDER BY 1, 2
$$;

-- ---- retention -------------------------------------------------------------

-- Delete notifications (and their recipient events) received before
-- now() - p_older_than, p_batch rows per transaction, so no lock is held
-- for long. Suppressions are never deleted, nor the event that caused an
-- active one. Run it from cron or pg_cron:
--   CALL ses_feedback.purge_events('400 days');
-- A notification younger than SNS's retry limit (and the largest replay
-- window, SES_FEEDBACK_MAX_AGE at most one day) must stay, or a replay of
-- it would be stored again: purge_events never removes rows younger than
-- two days, whatever retention_min_age says.
CREATE OR REPLACE PROCEDURE ses_feedback.purge_events(p_older_than interval,
                                                      p_batch integer DEFAULT 5000)
LANGUAGE plpgsql AS $$
DECLARE
    v_deleted integer;
    v_total   bigint := 0;
    v_floor   interval := greatest(coalesce(ses_feedback.policy_interval('retention_min_age'),
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
        GET DIAGNOSTICS v_deleted = ROW_COUNT;
        v_total := v_total + v_deleted;
        COMMIT;
        EXIT WHEN v_deleted < p_batch;
    END LOOP;
    RAISE NOTICE 'purged % notifications', v_total;
END
$$;

-- ---- import (used by `ses-feedback suppressions import`) -------------------

-- Load rows staged by the CLI into a temporary table as manual
-- suppressions. Returns (added, already_suppressed). One statement over
-- the distinct addresses; apply_suppression() still decides each one, so
-- the import follows the same rules as suppress().
CREATE OR REPLACE FUNCTION ses_feedback.import_suppressions(p_note text)
RETURNS TABLE (added bigint, already bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_bad text;
BEGIN
    SELECT i.email INTO v_bad FROM pg_temp.ses_feedback_import i
     WHERE ses_feedback.normalize_email(i.email) IS NULL LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'not an email address: %', v_bad USING ERRCODE = '22023';
    END IF;
    WITH v_in AS (
        SELECT DISTINCT ON (n.email) n.email, i.reason
          FROM pg_temp.ses_feedback_import i
         CROSS JOIN LATERAL (SELECT ses_feedback.normalize_email(i.email) AS email) n
         ORDER BY n.email, i.reason
    ), v_state AS (
        SELECT v_in.*, EXISTS (
                   SELECT 1 FROM ses_feedback.suppressions s
                    WHERE s.email = v_in.email AND s.configuration_set = ''
                      AND s.contact_list = '' AND s.topic = '' AND s.lifted_at IS NULL
                      AND s.expired_at IS NULL
                      AND (s.expires_at IS NULL OR s.expires_at > now())) AS active
          FROM v_in
    )
    -- CASE, not AND: only CASE promises that an address already
    -- suppressed never reaches apply_suppression().
    SELECT count(*) FILTER (WHERE CASE WHEN v_state.active THEN false
                                  ELSE ses_feedback.apply_suppression(v_state.email, 'manual',
                                      now(), now() + ses_feedback.policy_interval('manual_expiry'),
                                      NULL, p_note || ' (' || v_state.reason || ')', NULL) END),
           count(*) FILTER (WHERE v_state.active)
      INTO added, already
      FROM v_state;
    RETURN NEXT;
END
$$;

-- CREATE OR REPLACE keeps a function's grants, and a role other than the
-- one that ran migrate before may have created some: nothing here is for
-- PUBLIC.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ses_feedback FROM PUBLIC;
REVOKE EXECUTE ON ALL PROCEDURES IN SCHEMA ses_feedback FROM PUBLIC;

-- What a replaced function could do, its successor can (see is_suppressed
-- above); and what ingest() calls since version 2 the writer may call, so
-- that a migrate without --roles keeps a running service working.
DO $$
DECLARE
    v record;
BEGIN
    FOR v IN SELECT DISTINCT fn, grantee FROM pg_temp.ses_feedback_regrant LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s', v.fn, v.grantee);
    END LOOP;
    DELETE FROM pg_temp.ses_feedback_regrant;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ses_feedback_writer') THEN
        GRANT EXECUTE ON FUNCTION
            ses_feedback.ingest_many(jsonb),
            ses_feedback.scope_name(text, text, text),
            ses_feedback.scope_part(text),
            ses_feedback.scope_of(text, text, text, text),
            ses_feedback.apply_suppression(text, text, timestamptz, timestamptz, bigint, text,
                                           text[]),
            ses_feedback.lift_unsubscribe(text, text[], timestamptz, bigint, text),
            ses_feedback.apply_subscription(text, jsonb, boolean, text, timestamptz, bigint),
            ses_feedback.suppressions_expired(), ses_feedback.suppressions_notify()
            TO ses_feedback_writer;
        GRANT EXECUTE ON PROCEDURE ses_feedback.expire() TO ses_feedback_writer;
    END IF;
END
$$;
RESET check_function_bodies;
