-- SPDX-License-Identifier: ISC
-- ses-feedback schema version 5: serve's group commit.
--
-- ses_feedback.ingest_many(jsonb), in sql/functions.sql (which migrate
-- applies on every run), stores the notifications of several workers in
-- one transaction. This version changes no table: it is what tells a
-- program that calls ingest_many() that the database has it, and a
-- database left at version 4 gets a 503 saying to run migrate, never a
-- failed call.
SELECT 1;
