-- SPDX-License-Identifier: ISC
-- ses-feedback schema version 1, the baseline: every table, constraint and
-- index. Functions live in sql/functions.sql and views in sql/views.sql,
-- which `ses-feedback migrate` applies again on every run; a numbered
-- file holds only what must happen once, and is never edited after a
-- release (migrate compares its checksum). The next change to a table is
-- sql/002-....sql.
--
-- functions.sql is applied before this file: the address CHECKs call
-- normalize_email() and the policy trigger calls policy_check().

CREATE TABLE ses_feedback.notifications (
    id                 bigserial PRIMARY KEY,
    sns_message_id     text NOT NULL UNIQUE,
    topic_arn          text NOT NULL,
    sns_type           text NOT NULL CHECK (sns_type IN
                           ('Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation')),
    sns_timestamp      timestamptz NOT NULL,
    subject            text,
    event_type         text,         -- Bounce, Complaint, Delivery, ... (NULL: not an SES event)
    ses_message_id     text,         -- mail.messageId
    source             text,         -- mail.source
    occurred_at        timestamptz NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    message            jsonb,        -- the SES event, verbatim, when it is JSON
    message_text       text,         -- the SNS Message otherwise
    -- Typed copies of what people filter on; the raw event stays in message.
    source_arn         text,
    sending_account    text,
    configuration_set  text,
    tags               jsonb,
    CHECK (message IS NOT NULL OR message_text IS NOT NULL)
);
CREATE INDEX notifications_received_at_idx ON ses_feedback.notifications (received_at);
CREATE INDEX notifications_event_idx ON ses_feedback.notifications (event_type, occurred_at);
CREATE INDEX notifications_ses_message_idx ON ses_feedback.notifications (ses_message_id);
CREATE INDEX notifications_source_idx ON ses_feedback.notifications (source, occurred_at);
CREATE INDEX notifications_configuration_set_idx
    ON ses_feedback.notifications (configuration_set, occurred_at);

-- A recipient that is no address is kept with its raw text and the outcome
-- not_an_address (email NULL), never dropped with the rest of its
-- notification. The rules and every view read outcome, so it is checked.
CREATE TABLE ses_feedback.recipient_events (
    id                       bigserial PRIMARY KEY,
    notification_id          bigint NOT NULL
                                 REFERENCES ses_feedback.notifications (id) ON DELETE CASCADE,
    email                    text              -- normalize_email(email_original)
                                 CONSTRAINT recipient_events_email_normal
                                 CHECK (email = ses_feedback.normalize_email(email)),
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
                                 CONSTRAINT recipient_events_outcome_check
                                 CHECK (outcome IN ('hard_bounce', 'soft_bounce', 'complaint',
                                                    'unsubscribe', 'delivery', 'record_only',
                                                    'not_an_address')),
    reporting_mta            text,
    remote_mta_ip            text,
    delay_type               text,
    CONSTRAINT recipient_events_address_or_not
        CHECK ((email IS NULL) = (outcome = 'not_an_address'))
);
CREATE INDEX recipient_events_email_idx ON ses_feedback.recipient_events (email, occurred_at);
CREATE INDEX recipient_events_notification_idx ON ses_feedback.recipient_events (notification_id);
CREATE INDEX recipient_events_occurred_idx ON ses_feedback.recipient_events (occurred_at);
-- The same bounce or complaint delivered through two topics (identity
-- notifications and a configuration set) counts once: ingest() inserts
-- with ON CONFLICT on these columns. A NULL feedback_id or email never
-- conflicts, so such events are all kept.
CREATE UNIQUE INDEX recipient_events_feedback_idx
    ON ses_feedback.recipient_events (event_type, feedback_id, email);
-- The soft-bounce rule reads only soft bounces and deliveries of one
-- address; most of an address's history is deliveries of other kinds of
-- mail or nothing at all, so this keeps the look-up on every Delivery short.
CREATE INDEX recipient_events_soft_idx ON ses_feedback.recipient_events (email, occurred_at)
    WHERE outcome IN ('soft_bounce', 'delivery');

CREATE TABLE ses_feedback.suppressions (
    email            text PRIMARY KEY
                         CONSTRAINT suppressions_email_normal
                         CHECK (email = ses_feedback.normalize_email(email)),
    reason           text NOT NULL CHECK (reason IN
                         ('hard_bounce', 'soft_bounce', 'complaint', 'unsubscribe', 'manual')),
    first_at         timestamptz NOT NULL,
    last_at          timestamptz NOT NULL,
    count            integer NOT NULL DEFAULT 1 CHECK (count > 0),
    expires_at       timestamptz,             -- NULL: never
    lifted_at        timestamptz,             -- set by unsuppress()
    lifted_by        text,
    lift_note        text,
    notification_id  bigint REFERENCES ses_feedback.notifications (id) ON DELETE SET NULL,
    note             text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (last_at >= first_at)
);
CREATE INDEX suppressions_notification_idx ON ses_feedback.suppressions (notification_id);

-- Every change to a suppression: who, when, why. Survives lifting, and
-- purge_events(): notification_id has no foreign key so that the history
-- outlives the notifications it names.
CREATE TABLE ses_feedback.suppression_log (
    id               bigserial PRIMARY KEY,
    email            text NOT NULL,
    action           text NOT NULL CHECK (action IN ('suppress', 'unsuppress')),
    reason           text,
    actor            text NOT NULL DEFAULT current_user,
    at               timestamptz NOT NULL DEFAULT now(),
    note             text,
    notification_id  bigint,
    expires_at       timestamptz              -- what a lift replaced
);
CREATE INDEX suppression_log_email_idx ON ses_feedback.suppression_log (email, at);
-- ingest() counts and purge_events() finds log rows by notification.
CREATE INDEX suppression_log_notification_idx ON ses_feedback.suppression_log (notification_id);

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

-- The suppression rules, edited with SQL; read on every notification. Each
-- row has a kind, checked on every change by policy_check(), so that a typo
-- is refused at once instead of failing notifications later.
CREATE TABLE ses_feedback.policy (
    name         text PRIMARY KEY,
    value        text NOT NULL,
    description  text NOT NULL,
    kind         text NOT NULL DEFAULT 'text'
                     CHECK (kind IN ('integer', 'interval', 'boolean', 'list', 'text')),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   text NOT NULL DEFAULT current_user
);
CREATE TRIGGER policy_check BEFORE INSERT OR UPDATE ON ses_feedback.policy
    FOR EACH ROW EXECUTE FUNCTION ses_feedback.policy_check();

INSERT INTO ses_feedback.policy (name, kind, value, description) VALUES
    ('soft_bounce_limit', 'integer', '3',
     'soft bounces within soft_bounce_window that suppress an address'),
    ('soft_bounce_window', 'interval', '30 days',
     'window over which soft bounces are counted, by the events'' own timestamps'),
    ('soft_bounce_expiry', 'interval', '30 days',
     'how long a soft_bounce suppression lasts'),
    ('soft_bounce_subtypes', 'list', 'General,MailboxFull',
     'Transient bounce subtypes that count (Undetermined bounces always do)'),
    ('soft_bounce_undetermined', 'boolean', 'on',
     'Undetermined bounces count as soft bounces'),
    ('delivery_resets_soft_bounces', 'boolean', 'on',
     'a delivery to the address restarts its soft-bounce count'),
    ('transient_5xx_is_permanent', 'boolean', 'on',
     'a counting transient or undetermined bounce with status 5.x.x is a hard bounce'),
    ('hard_bounce_expiry', 'interval', '',
     'how long a hard_bounce suppression lasts (empty: forever)'),
    ('complaint_expiry', 'interval', '',
     'how long a complaint suppression lasts (empty: forever)'),
    ('complaint_ignore_feedback_types', 'list', 'not-spam',
     'complaint feedback types that are recorded only'),
    ('complaint_ignore_subtypes', 'list', 'OnAccountSuppressionList',
     'complaint subtypes that are recorded only'),
    ('unsubscribe_suppresses', 'boolean', 'on',
     'a Subscription event with unsubscribeAll true suppresses the address (reason unsubscribe)'),
    ('unsubscribe_expiry', 'interval', '',
     'how long an unsubscribe suppression lasts (empty: forever)'),
    ('manual_expiry', 'interval', '',
     'how long a manual suppression lasts (empty: forever)'),
    ('rate_window', 'interval', '7 days',
     'window of the sending_rates view'),
    ('retention_min_age', 'interval', '90 days',
     'purge_events refuses to delete events younger than this');
