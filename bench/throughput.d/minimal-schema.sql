-- SPDX-License-Identifier: ISC
-- bench/throughput: the scratch tables of the baseline transaction
-- (minimal.pgbench), in a schema of their own so that ses_feedback's tables
-- are not touched. Made again for every run.
DROP SCHEMA IF EXISTS bench_scratch CASCADE;
CREATE SCHEMA bench_scratch;
-- The event, kept whole as jsonb, unique by its SNS MessageId (what makes a
-- redelivery a no-op).
CREATE TABLE bench_scratch.events (
    id           bigserial PRIMARY KEY,
    message_id   text NOT NULL UNIQUE,
    received_at  timestamptz NOT NULL DEFAULT now(),
    message      jsonb NOT NULL
);
-- One row per suppressed address, upserted by every bounce.
CREATE TABLE bench_scratch.suppressions (
    email     text PRIMARY KEY,
    reason    text NOT NULL,
    first_at  timestamptz NOT NULL,
    last_at   timestamptz NOT NULL,
    events    integer NOT NULL DEFAULT 1
);
