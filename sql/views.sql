-- SPDX-License-Identifier: ISC
-- ses-feedback: the inspection views, in one place. `ses-feedback migrate`
-- applies this file on every run, after the numbered migrations (views
-- read their tables), in the same transaction. CREATE OR REPLACE VIEW can
-- only add columns at the end: a view whose columns change or go needs a
-- DROP VIEW IF EXISTS line just above it. None ends in ORDER BY: order is
-- the query's to choose, and a view's own is lost once it is joined.

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
-- thresholds.
CREATE OR REPLACE VIEW ses_feedback.sending_rates AS
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

-- Recipient domains by hard bounces within rate_window; the worst first
-- is ORDER BY hard_bounces DESC, soft_bounces DESC, domain.
CREATE OR REPLACE VIEW ses_feedback.top_bouncing_domains AS
SELECT split_part(e.email, '@', 2) AS domain,
       count(*) FILTER (WHERE e.outcome = 'hard_bounce') AS hard_bounces,
       count(*) FILTER (WHERE e.outcome = 'soft_bounce') AS soft_bounces,
       count(*) FILTER (WHERE e.event_type = 'Complaint') AS complaints,
       count(*) FILTER (WHERE e.event_type = 'Delivery') AS delivered,
       max(e.occurred_at) AS last_at
  FROM ses_feedback.recipient_events e
 WHERE e.occurred_at > now() - coalesce(ses_feedback.policy_interval('rate_window'), '7 days')
 GROUP BY 1
HAVING count(*) FILTER (WHERE e.outcome IN ('hard_bounce', 'soft_bounce')) > 0;

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
