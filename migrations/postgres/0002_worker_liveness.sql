-- 0002_worker_liveness, PostgreSQL's dialect of migrations/0002_worker_liveness.sql: what tells
-- the process holding a run apart from a later one with the same pid (after a reboot) and from a
-- process of another PID namespace (a container). Documented in docs/schema.md. NULL for runs
-- claimed before it (their pid alone is checked). INTEGER -> BIGINT, as in 0001.

ALTER TABLE runs ADD COLUMN boot_id TEXT;            -- /proc/sys/kernel/random/boot_id of the worker's machine
ALTER TABLE runs ADD COLUMN process_start BIGINT;    -- the worker's start time, clock ticks after boot (/proc/PID/stat field 22)
ALTER TABLE runs ADD COLUMN pid_namespace TEXT;      -- the worker's PID namespace, e.g. 'pid:[4026531836]'
