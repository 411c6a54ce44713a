-- SPDX-License-Identifier: ISC
-- ses-feedback: roles for the three kinds of user. Applied by
-- `ses-feedback migrate --roles` (as the schema's owner or a superuser),
-- after the schema, functions and views and in the same transaction, so
-- the grants always cover what that migrate created. Then grant the roles
-- to login roles, for example:
--
--   CREATE ROLE "ses-feedback" LOGIN IN ROLE ses_feedback_writer;  -- the handler
--   CREATE ROLE grafana LOGIN PASSWORD '...' IN ROLE ses_feedback_reader;
--   CREATE ROLE mailer  LOGIN PASSWORD '...' IN ROLE ses_feedback_sender;
--
-- Idempotent: every `migrate --roles` applies it again.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ses_feedback_writer') THEN
        CREATE ROLE ses_feedback_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ses_feedback_reader') THEN
        CREATE ROLE ses_feedback_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ses_feedback_sender') THEN
        CREATE ROLE ses_feedback_sender NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA ses_feedback
    TO ses_feedback_writer, ses_feedback_reader, ses_feedback_sender;

-- The handler: read the schema version and the policy, check a MessageId,
-- and store notifications through ingest(). No DELETE, no DDL, no manual
-- suppression functions.
GRANT SELECT ON ses_feedback.schema_migrations, ses_feedback.policy TO ses_feedback_writer;
-- The metrics location reads the rates (and the subscriptions) once a minute.
GRANT SELECT ON ses_feedback.sending_rates TO ses_feedback_writer;
GRANT SELECT, INSERT ON ses_feedback.notifications, ses_feedback.recipient_events,
    ses_feedback.suppression_log TO ses_feedback_writer;
GRANT SELECT, INSERT, UPDATE ON ses_feedback.suppressions, ses_feedback.subscriptions
    TO ses_feedback_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA ses_feedback TO ses_feedback_writer;
GRANT EXECUTE ON FUNCTION
    ses_feedback.ingest(jsonb), ses_feedback.ingest_many(jsonb), ses_feedback.classify(jsonb, text),
    ses_feedback.apply_suppression(text, text, timestamptz, timestamptz, bigint, text, text[]),
    ses_feedback.lift_unsubscribe(text, text[], timestamptz, bigint, text),
    ses_feedback.apply_subscription(text, jsonb, boolean, text, timestamptz, bigint),
    ses_feedback.scope_name(text, text, text), ses_feedback.scope_part(text),
    ses_feedback.scope_of(text, text, text, text),
    ses_feedback.suppressions_expired(), ses_feedback.suppressions_notify(),
    ses_feedback.recheck_soft_bounces(text, bigint),
    ses_feedback.policy_value(text), ses_feedback.policy_interval(text),
    ses_feedback.policy_on(text), ses_feedback.policy_list(text),
    ses_feedback.normalize_email(text), ses_feedback.reason_rank(text),
    ses_feedback.is_suppressed(text, text, text, text)
    TO ses_feedback_writer;
-- Expiry by time (CALL ses_feedback.expire() from cron or pg_cron).
GRANT EXECUTE ON PROCEDURE ses_feedback.expire() TO ses_feedback_writer;

-- Dashboards: read everything, change nothing.
GRANT SELECT ON ALL TABLES IN SCHEMA ses_feedback TO ses_feedback_reader;
GRANT EXECUTE ON FUNCTION
    ses_feedback.is_suppressed(text, text, text, text),
    ses_feedback.is_suppressed(text[], text, text, text),
    ses_feedback.history(text), ses_feedback.normalize_email(text),
    ses_feedback.scope_name(text, text, text),
    ses_feedback.policy_value(text), ses_feedback.policy_interval(text),
    ses_feedback.policy_on(text), ses_feedback.policy_list(text)
    TO ses_feedback_reader;

-- The sending application: one question, nothing else.
GRANT EXECUTE ON FUNCTION ses_feedback.is_suppressed(text, text, text, text),
    ses_feedback.is_suppressed(text[], text, text, text)
    TO ses_feedback_sender;
