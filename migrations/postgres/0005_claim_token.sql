-- 0005_claim_token, PostgreSQL's dialect of migrations/0005_claim_token.sql: a fencing token for
-- each run's claim. Every claim of a run (of a queued run, a take-over by `runner resume`, a claim
-- again by the same process after a requeue) adds 1 to claim_token, and the worker keeps the value
-- its claim returned; every epoch write, heartbeat and end of the run by that worker checks it in
-- the same statement. Documented in docs/schema.md. Runs claimed before 0005 start at 0.
-- INTEGER -> BIGINT, as in 0001.

ALTER TABLE runs ADD COLUMN claim_token BIGINT NOT NULL DEFAULT 0 CHECK (claim_token >= 0);
