-- SPDX-License-Identifier: ISC
-- ses-feedback schema version 4: less work per ingested notification, same behaviour.
--
-- The triggers on suppressions are called only when their function would
-- do something: each WHEN below is the function's own condition, so a
-- write that changes nothing announced (count, last_at, notification_id)
-- no longer starts PL/pgSQL at all. The functions themselves still check
-- (sql/functions.sql): the WHEN clauses only spare the call.
--
-- The index is built again below, in migrate's transaction: ingest waits
-- for it (on a big recipient_events, minutes; SNS retries the 503s). It
-- takes longer than the program's statement timeout.
SET LOCAL statement_timeout = 0;

-- suppressions_expired() acts exactly when this holds (a NULL expires_at
-- makes it NULL: no call, as the function's IF does nothing).
DROP TRIGGER suppressions_expired ON ses_feedback.suppressions;
CREATE TRIGGER suppressions_expired BEFORE INSERT OR UPDATE ON ses_feedback.suppressions
    FOR EACH ROW
    WHEN (NEW.lifted_at IS NULL AND NEW.expired_at IS NULL AND NEW.expires_at <= now())
    EXECUTE FUNCTION ses_feedback.suppressions_expired();

-- suppressions_notify() sends a NOTIFY when the row starts being in force
-- (insert), stops being in force (update, delete), or stays in force with
-- another reason or expiry (update). "In force" is lifted_at IS NULL AND
-- expired_at IS NULL, never NULL itself, so <> compares it exactly. Each
-- trigger fires for one operation only: their order does not matter.
DROP TRIGGER suppressions_notify ON ses_feedback.suppressions;
CREATE TRIGGER suppressions_notify_insert AFTER INSERT ON ses_feedback.suppressions
    FOR EACH ROW
    WHEN (NEW.lifted_at IS NULL AND NEW.expired_at IS NULL)
    EXECUTE FUNCTION ses_feedback.suppressions_notify();
CREATE TRIGGER suppressions_notify_update AFTER UPDATE ON ses_feedback.suppressions
    FOR EACH ROW
    WHEN ((OLD.lifted_at IS NULL AND OLD.expired_at IS NULL)
              <> (NEW.lifted_at IS NULL AND NEW.expired_at IS NULL)
          OR (NEW.lifted_at IS NULL AND NEW.expired_at IS NULL
              AND (NEW.reason IS DISTINCT FROM OLD.reason
                   OR NEW.expires_at IS DISTINCT FROM OLD.expires_at)))
    EXECUTE FUNCTION ses_feedback.suppressions_notify();
CREATE TRIGGER suppressions_notify_delete AFTER DELETE ON ses_feedback.suppressions
    FOR EACH ROW
    WHEN (OLD.lifted_at IS NULL AND OLD.expired_at IS NULL)
    EXECUTE FUNCTION ses_feedback.suppressions_notify();

-- Only soft bounces in this index: a delivery, most of the traffic, no
-- longer writes to it. It answers ingest()'s "has this address any soft
-- bounce" on every Delivery; recheck_soft_bounces(), which also needs the
-- address's deliveries, reads recipient_events_email_idx (email,
-- occurred_at), and runs only for an address that has soft bounces.
DROP INDEX ses_feedback.recipient_events_soft_idx;
CREATE INDEX recipient_events_soft_idx ON ses_feedback.recipient_events (email, occurred_at)
    WHERE outcome = 'soft_bounce';
