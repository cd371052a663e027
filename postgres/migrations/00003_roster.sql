-- The roster version of each thread: a random value that every change to
-- the thread's participants replaces (Tx.PutParticipant), returned by
-- Tx.NextSeq under the thread's lock. The service caches each thread's
-- recipients by it, so a send to a large thread does not read every
-- participant; a roster value names one membership state, because a
-- rolled-back change's value is never committed (random, not a counter).
-- 0 (threads from before this migration) is a state like any other.

-- +goose Up
ALTER TABLE threads ADD COLUMN roster BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE threads DROP COLUMN roster;
