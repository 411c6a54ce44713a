-- SPDX-License-Identifier: ISC
-- ses-feedback: what `ses-feedback migrate` needs before it can tell which
-- migrations a database has. Run first on every migrate, so it must stay
-- idempotent. checksum is the sha256 of the migration file as applied: a
-- file edited after it was applied is refused, never run a second way.

CREATE SCHEMA IF NOT EXISTS ses_feedback;

CREATE TABLE IF NOT EXISTS ses_feedback.schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    applied_at  timestamptz NOT NULL DEFAULT now()
);
