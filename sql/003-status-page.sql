-- SPDX-License-Identifier: ISC
-- ses-feedback schema version 3: the rollup that the rate views and the
-- status page read, so that they count thousands of rows, not millions.
--
-- Events are folded into aggregates by arrival: every recipient event (and
-- suppression_log row, and notification) with an id above the table's mark
-- in rollup_state is added once, by rollup_fold() (sql/views.sql), which
-- the readers call; what was not folded yet is read live. Nothing here is
-- written by ingest(): the rows one ingest would update for every event
-- would make concurrent ingests wait on each other's row locks. The time
-- columns are the events' own (an event arriving late is added to its own
-- hour and day); hours and days are UTC.

-- Building the indexes below on a big suppression_log takes longer than
-- the program's statement timeout.
SET LOCAL statement_timeout = 0;
--
-- purge_events() leaves the rollup alone: the rates and charts go on
-- counting what arrived after its events are deleted (retention_min_age
-- keeps them longer than any window the page shows, 90 days, by default).

-- Recipient events per UTC hour, identity (mail.source) and configuration
-- set, counted as sending_rates counts them. NULL is a name of its own.
CREATE TABLE ses_feedback.rollup_hours (
    hour               timestamptz NOT NULL,   -- start of the UTC hour of occurred_at
    source             text,
    configuration_set  text,
    events             integer NOT NULL,       -- of every type
    delivered          integer NOT NULL,       -- event_type Delivery
    hard_bounces       integer NOT NULL,       -- Bounce with outcome hard_bounce
    soft_bounces       integer NOT NULL,       -- outcome soft_bounce
    complaints         integer NOT NULL,       -- Complaint, not-spam excluded
    UNIQUE NULLS NOT DISTINCT (hour, source, configuration_set)
);

-- The same per UTC day, for the charts of up to 90 days.
CREATE TABLE ses_feedback.rollup_days (
    day                date NOT NULL,
    source             text,
    configuration_set  text,
    events             integer NOT NULL,
    delivered          integer NOT NULL,
    hard_bounces       integer NOT NULL,
    soft_bounces       integer NOT NULL,
    complaints         integer NOT NULL,
    UNIQUE NULLS NOT DISTINCT (day, source, configuration_set)
);

-- Recipient events with an address per UTC hour and recipient domain, as
-- top_bouncing_domains counts them (complaints: every Complaint); and per
-- UTC day, so that a window of days reads a row per domain and day, and
-- hours only at its two ends. The indexes hold every column: the views
-- read them alone (an index-only scan), tens of thousands of rows.
CREATE TABLE ses_feedback.rollup_domain_hours (
    hour          timestamptz NOT NULL,
    domain        text NOT NULL,
    hard_bounces  integer NOT NULL,
    soft_bounces  integer NOT NULL,
    complaints    integer NOT NULL,
    delivered     integer NOT NULL,
    last_at       timestamptz NOT NULL,
    PRIMARY KEY (hour, domain)
        INCLUDE (hard_bounces, soft_bounces, complaints, delivered, last_at)
);
CREATE TABLE ses_feedback.rollup_domain_days (
    day           date NOT NULL,
    domain        text NOT NULL,
    hard_bounces  integer NOT NULL,
    soft_bounces  integer NOT NULL,
    complaints    integer NOT NULL,
    delivered     integer NOT NULL,
    last_at       timestamptz NOT NULL,
    PRIMARY KEY (day, domain)
        INCLUDE (hard_bounces, soft_bounces, complaints, delivered, last_at)
);

-- The status page's ten worst domains: the domains that bounced (few rows)
-- ranked first, then the other counts of those ten only.
CREATE INDEX rollup_domain_days_bounced_idx ON ses_feedback.rollup_domain_days (day, domain)
    INCLUDE (hard_bounces, soft_bounces) WHERE hard_bounces + soft_bounces > 0;
CREATE INDEX rollup_domain_hours_bounced_idx ON ses_feedback.rollup_domain_hours (hour, domain)
    INCLUDE (hard_bounces, soft_bounces) WHERE hard_bounces + soft_bounces > 0;
CREATE INDEX rollup_domain_days_domain_idx ON ses_feedback.rollup_domain_days (domain, day)
    INCLUDE (complaints, delivered, last_at);
CREATE INDEX rollup_domain_hours_domain_idx ON ses_feedback.rollup_domain_hours (domain, hour)
    INCLUDE (complaints, delivered, last_at);

-- suppression_log rows per UTC day of at, action and reason.
CREATE TABLE ses_feedback.rollup_suppression_days (
    day     date NOT NULL,
    action  text NOT NULL,
    reason  text,
    n       integer NOT NULL,
    UNIQUE NULLS NOT DISTINCT (day, action, reason)
);

-- The newest notification received from each topic.
CREATE TABLE ses_feedback.rollup_topics (
    topic_arn         text PRIMARY KEY,
    last_received_at  timestamptz NOT NULL,
    notifications     bigint NOT NULL
);

-- One row: how far each table is folded (every id up to the mark is in the
-- aggregates, none above it), and a fold that could not wait for the
-- writers it saw (see rollup_fold()).
CREATE TABLE ses_feedback.rollup_state (
    one                  boolean PRIMARY KEY DEFAULT true CHECK (one),
    event_mark           bigint NOT NULL DEFAULT 0,
    log_mark             bigint NOT NULL DEFAULT 0,
    notification_mark    bigint NOT NULL DEFAULT 0,
    pending_event        bigint,
    pending_log          bigint,
    pending_notification bigint,
    pending_writers      text[],       -- virtual transaction ids to outlive
    folded_at            timestamptz
);
INSERT INTO ses_feedback.rollup_state DEFAULT VALUES;

-- The status page's latest suppressions and lifts, newest first.
CREATE INDEX suppression_log_at_idx ON ses_feedback.suppression_log (at, id);
