-- 0002_worker_liveness: what tells the process holding a run apart from a later one with the
-- same pid (after a reboot) and from a process of another PID namespace (a container), so that
-- `runner resume` takes over runs whose worker is gone and never those of a live one.
-- Documented in docs/schema.md. NULL for runs claimed by an older Slope (their pid alone is checked).

ALTER TABLE runs ADD COLUMN boot_id TEXT;           -- /proc/sys/kernel/random/boot_id of the worker's machine
ALTER TABLE runs ADD COLUMN process_start INTEGER;  -- the worker's start time, clock ticks after boot (/proc/PID/stat field 22)
ALTER TABLE runs ADD COLUMN pid_namespace TEXT;     -- the worker's PID namespace, e.g. 'pid:[4026531836]'
