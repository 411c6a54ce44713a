-- SPDX-License-Identifier: ISC
-- ses-feedback schema version 5: serve's group commit, and cheaper writes
-- of the SES event.
--
-- ses_feedback.ingest_many(jsonb), in sql/functions.sql (applied on every
-- migrate), stores the notifications of several workers in one
-- transaction. This version is what tells a program that calls it that
-- the database has it: one left at version 4 answers 503 with "run
-- ses-feedback migrate", never a failed call.
--
-- The SES event (message, a few KiB) is compressed on the way in; lz4
-- does it in a fraction of pglz's time (pglz was 3 % of PostgreSQL's CPU
-- per notification, lz4 0.5 %). Only new rows change; rows stored before
-- stay pglz, and both read the same. A server built without lz4 keeps
-- pglz: nothing else depends on it.
DO $$
BEGIN
    ALTER TABLE ses_feedback.notifications
        ALTER COLUMN message SET COMPRESSION lz4,
        ALTER COLUMN message_text SET COMPRESSION lz4,
        ALTER COLUMN tags SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: the SES event stays compressed with pglz';
END
$$;
