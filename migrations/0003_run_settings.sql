-- 0003_run_settings: every setting a sweep can vary as a typed column of `runs`, so that
-- sqlite3 and pandas users (and `report --where/--sort/grid`) see them without json_extract.
-- Until now these lived only in `config`. Old rows are backfilled from `config` (and `layers`)
-- here; Store fills them on every insert with the same expressions (Sources/Store/RunColumns.swift).
-- A column is NULL where the run's configuration has no such value (no early stopping, no
-- target column, the activation's default initialization).

ALTER TABLE runs ADD COLUMN weight_decay REAL NOT NULL DEFAULT 0 CHECK (weight_decay >= 0);
ALTER TABLE runs ADD COLUMN nesterov INTEGER NOT NULL DEFAULT 0 CHECK (nesterov IN (0, 1));
ALTER TABLE runs ADD COLUMN hidden TEXT;                    -- hidden widths: '64,64', or 'none'
ALTER TABLE runs ADD COLUMN init TEXT;                      -- NULL: he-uniform for relu, else glorot-uniform
ALTER TABLE runs ADD COLUMN bias INTEGER NOT NULL DEFAULT 1 CHECK (bias IN (0, 1));
ALTER TABLE runs ADD COLUMN early_stopping_patience INTEGER;
ALTER TABLE runs ADD COLUMN early_stopping_monitor TEXT;
ALTER TABLE runs ADD COLUMN min_delta REAL;
ALTER TABLE runs ADD COLUMN target TEXT;
ALTER TABLE runs ADD COLUMN task TEXT;
ALTER TABLE runs ADD COLUMN standardize INTEGER CHECK (standardize IN (0, 1));
ALTER TABLE runs ADD COLUMN split_seed INTEGER;
ALTER TABLE runs ADD COLUMN log_tensors TEXT;
ALTER TABLE runs ADD COLUMN init_weights TEXT;

UPDATE runs SET
    weight_decay = coalesce(json_extract(config, '$.training.weightDecay'), 0),
    nesterov = coalesce(json_extract(config, '$.training.nesterov'), 0),
    hidden = coalesce(nullif(replace(rtrim(rtrim(substr(layers, instr(layers, '-') + 1), '0123456789'), '-'), '-', ','), ''), 'none'),
    init = json_extract(config, '$.training.initialization'),
    bias = coalesce(json_extract(config, '$.training.usesBias'), 1),
    early_stopping_patience = json_extract(config, '$.training.earlyStopping.patience'),
    early_stopping_monitor = json_extract(config, '$.training.earlyStopping.monitor'),
    min_delta = json_extract(config, '$.training.earlyStopping.minDelta'),
    target = json_extract(config, '$.data.target'),
    task = json_extract(config, '$.data.taskOverride'),
    standardize = json_extract(config, '$.data.standardize'),
    split_seed = json_extract(config, '$.data.splitSeed'),
    log_tensors = json_extract(config, '$.tensorLogging'),
    init_weights = json_extract(config, '$.initialWeightsFile');

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
