-- 0005_claim_token: a fencing token for each run's claim. Every claim of a run (of a queued run,
-- a take-over by `runner resume`, a claim again by the same process after a requeue) adds 1 to
-- claim_token, and the worker keeps the value its claim returned; every epoch write, heartbeat
-- and end of the run by that worker checks it in the same transaction. A worker that was cut
-- off and comes back after another took its run over holds a smaller number: its writes change
-- nothing. Documented in docs/schema.md. Runs claimed before 0005 start at 0 (a worker of an
-- older Slope still holding one is refused at its next write, and the run is taken over).

ALTER TABLE runs ADD COLUMN claim_token INTEGER NOT NULL DEFAULT 0 CHECK (claim_token >= 0);
