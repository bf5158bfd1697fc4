-- 0003_run_settings, PostgreSQL's dialect of migrations/0003_run_settings.sql: every setting a
-- sweep can vary as a typed column of `runs`, backfilled from `config` (and `layers`) for rows
-- written before it; Store fills them on every insert (Sources/Store/RunColumns.swift).
-- A column is NULL where the run's configuration has no such value.
--
-- Differences, all of dialect: INTEGER -> BIGINT, REAL -> DOUBLE PRECISION;
-- json_extract(config, '$.a.b') -> (config::jsonb #>> '{a,b}') cast to the column's type (#>>
-- gives SQL NULL for a missing key or a JSON null; a JSON boolean becomes 0/1 through ::boolean,
-- as SQLite's json_extract gives 0/1); instr -> strpos.

ALTER TABLE runs ADD COLUMN weight_decay DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (weight_decay >= 0);
ALTER TABLE runs ADD COLUMN nesterov BIGINT NOT NULL DEFAULT 0 CHECK (nesterov IN (0, 1));
ALTER TABLE runs ADD COLUMN hidden TEXT;                    -- hidden widths: '64,64', or 'none'
ALTER TABLE runs ADD COLUMN init TEXT;                      -- NULL: he-uniform for relu, else glorot-uniform
ALTER TABLE runs ADD COLUMN bias BIGINT NOT NULL DEFAULT 1 CHECK (bias IN (0, 1));
ALTER TABLE runs ADD COLUMN early_stopping_patience BIGINT;
ALTER TABLE runs ADD COLUMN early_stopping_monitor TEXT;
ALTER TABLE runs ADD COLUMN min_delta DOUBLE PRECISION;
ALTER TABLE runs ADD COLUMN target TEXT;
ALTER TABLE runs ADD COLUMN task TEXT;
ALTER TABLE runs ADD COLUMN standardize BIGINT CHECK (standardize IN (0, 1));
ALTER TABLE runs ADD COLUMN split_seed BIGINT;
ALTER TABLE runs ADD COLUMN log_tensors TEXT;
ALTER TABLE runs ADD COLUMN init_weights TEXT;

UPDATE runs SET
    weight_decay = coalesce((config::jsonb #>> '{training,weightDecay}')::double precision, 0),
    nesterov = coalesce((config::jsonb #>> '{training,nesterov}')::boolean::int, 0),
    hidden = coalesce(nullif(replace(rtrim(rtrim(substr(layers, strpos(layers, '-') + 1), '0123456789'), '-'), '-', ','), ''), 'none'),
    init = config::jsonb #>> '{training,initialization}',
    bias = coalesce((config::jsonb #>> '{training,usesBias}')::boolean::int, 1),
    early_stopping_patience = (config::jsonb #>> '{training,earlyStopping,patience}')::bigint,
    early_stopping_monitor = config::jsonb #>> '{training,earlyStopping,monitor}',
    min_delta = (config::jsonb #>> '{training,earlyStopping,minDelta}')::double precision,
    target = config::jsonb #>> '{data,target}',
    task = config::jsonb #>> '{data,taskOverride}',
    standardize = (config::jsonb #>> '{data,standardize}')::boolean::int,
    split_seed = (config::jsonb #>> '{data,splitSeed}')::bigint,
    log_tensors = config::jsonb #>> '{tensorLogging}',
    init_weights = config::jsonb #>> '{initialWeightsFile}';

-- The view keeps every column of 0001 in place and appends the new ones.
DROP VIEW run_summary;
CREATE VIEW run_summary AS
SELECT r.id AS run_id, r.sweep_id, r.name, r.status, r.stop_reason,
       r.learning_rate, r.batch_size, r.momentum, r.epochs, r.seed, r.layers,
       r.activation, r.output_activation, r.loss, r.precision, r.dataset, r.validation_fraction,
       r.epochs_done, r.final_train_loss, r.final_val_loss, r.best_train_loss, r.best_val_loss,
       r.best_epoch, r.final_train_accuracy, r.final_val_accuracy,
       r.dataset_sha256, r.created_at, r.started_at, r.finished_at, r.heartbeat_at, r.worker, r.error,
       r.weight_decay, r.nesterov, r.hidden, r.init, r.bias, r.early_stopping_patience,
       r.early_stopping_monitor, r.min_delta, r.target, r.task, r.standardize, r.split_seed,
       r.log_tensors, r.init_weights
FROM runs AS r;
