-- SPDX-License-Identifier: ISC
-- ses-feedback schema version 2: suppressions with a scope, expiry by time
-- made explicit, and a NOTIFY on every change of an address's state.
--
-- A suppression applies to all mail (global: every scope column empty) or
-- to the sends of one configuration set, one contact list, or one topic of
-- a contact list. The scope columns are '' rather than NULL so that they
-- can be part of the primary key: one row per address and scope.

ALTER TABLE ses_feedback.suppressions
    ADD COLUMN configuration_set text NOT NULL DEFAULT '',
    ADD COLUMN contact_list      text NOT NULL DEFAULT '',
    ADD COLUMN topic             text NOT NULL DEFAULT '',
    -- set when the suppression ran out (its expires_at passed, noticed by
    -- expire() or the next write, or a late delivery broke a soft-bounce
    -- run): an explicit state that a NOTIFY announced
    ADD COLUMN expired_at        timestamptz,
    ADD CONSTRAINT suppressions_topic_in_list CHECK (topic = '' OR contact_list <> ''),
    -- bounded, so that a NOTIFY payload stays far below PostgreSQL's 8000
    -- bytes (scope_of() cuts names from events to this length)
    ADD CONSTRAINT suppressions_scope_bounded CHECK (octet_length(configuration_set) <= 256
        AND octet_length(contact_list) <= 256 AND octet_length(topic) <= 256),
    -- 'global', or the scope's parts such as 'contact_list=L topic=T'
    ADD COLUMN scope text GENERATED ALWAYS AS
        (ses_feedback.scope_name(configuration_set, contact_list, topic)) STORED;
ALTER TABLE ses_feedback.suppressions DROP CONSTRAINT suppressions_pkey;
ALTER TABLE ses_feedback.suppressions
    ADD PRIMARY KEY (email, configuration_set, contact_list, topic);
-- Schema 1 kept an unsubscribeAll as a global suppression; the default
-- rule now scopes it to its contact list, and only a suppression of that
-- scope can be lifted by an opt-in. Re-scope those whose causing
-- notification names the list. The others (no causing event kept, or none
-- naming a list) stay global: nothing says which list they were for, so
-- they go on holding for all mail until lifted with unsuppress().
UPDATE ses_feedback.suppressions s
   SET contact_list = left(n.message->'subscription'->>'contactList', 256)
  FROM ses_feedback.notifications n
 WHERE s.reason = 'unsubscribe' AND s.configuration_set = '' AND s.contact_list = ''
   AND n.id = s.notification_id
   AND coalesce(n.message->'subscription'->>'contactList', '') <> '';
-- expire() looks only at suppressions in force that have an end.
CREATE INDEX suppressions_expiring_idx ON ses_feedback.suppressions (expires_at)
    WHERE lifted_at IS NULL AND expired_at IS NULL AND expires_at IS NOT NULL;

ALTER TABLE ses_feedback.suppression_log
    ADD COLUMN scope text NOT NULL DEFAULT 'global',
    DROP CONSTRAINT suppression_log_action_check,
    ADD CONSTRAINT suppression_log_action_check
        CHECK (action IN ('suppress', 'unsuppress', 'expire'));

-- A suppression's scope is a policy row of the new kind 'scope'.
ALTER TABLE ses_feedback.policy
    DROP CONSTRAINT policy_kind_check,
    ADD CONSTRAINT policy_kind_check
        CHECK (kind IN ('integer', 'interval', 'boolean', 'list', 'text', 'scope'));

INSERT INTO ses_feedback.policy (name, kind, value, description) VALUES
    ('hard_bounce_scope', 'scope', 'global',
     'scope of a hard_bounce suppression: global or configuration_set'),
    ('soft_bounce_scope', 'scope', 'global',
     'scope of a soft_bounce suppression: global or configuration_set'),
    ('complaint_scope', 'scope', 'global',
     'scope of a complaint suppression: global or configuration_set'),
    ('unsubscribe_scope', 'scope', 'contact_list',
     'scope of an unsubscribeAll: contact_list (every topic of that list), configuration_set or global'),
    ('topic_opt_out_scope', 'scope', 'topic',
     'scope of a per-topic OptOut: topic (that topic of that list), contact_list, configuration_set or global; off records it only'),
    ('opt_in_lifts', 'boolean', 'on',
     'a Subscription event that opts in again (unsubscribeAll false, a topic OptIn) lifts the unsubscribe suppression of that scope');

-- The NOTIFY: one trigger sees every change of every suppression, whoever
-- makes it (ingest, suppress, unsuppress, import, expire, an UPDATE by
-- hand). suppressions_expired() and suppressions_notify() are in
-- sql/functions.sql.
CREATE TRIGGER suppressions_expired BEFORE INSERT OR UPDATE ON ses_feedback.suppressions
    FOR EACH ROW EXECUTE FUNCTION ses_feedback.suppressions_expired();
CREATE TRIGGER suppressions_notify AFTER INSERT OR UPDATE OR DELETE ON ses_feedback.suppressions
    FOR EACH ROW EXECUTE FUNCTION ses_feedback.suppressions_notify();

-- What had expired by time before this version becomes explicit now,
-- without a NOTIFY (nobody listened before).
ALTER TABLE ses_feedback.suppressions DISABLE TRIGGER suppressions_notify;
UPDATE ses_feedback.suppressions SET expired_at = expires_at
 WHERE lifted_at IS NULL AND expires_at IS NOT NULL AND expires_at <= now();
ALTER TABLE ses_feedback.suppressions ENABLE TRIGGER suppressions_notify;
