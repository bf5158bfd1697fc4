-- 0004_optimizer_state: the optimizer settings as typed run columns (registered in
-- Sources/Store/RunColumns.swift, backfilled from config: runs before 0004 are sgd), and the
-- optimizers' state stored as tensors wherever weights are (so a
-- killed adam, adamw or rmsprop run resumes bit for bit): new tensors.kind values
--   weight_adam_m, bias_adam_m, weight_adam_v, bias_adam_v   adam / adamw moments m and v
--   weight_rms, bias_rms                                      rmsprop's average of g squared
--   step                                                      optimizer steps so far, [1 x 1] float64 at layer 1
-- (rmsprop's momentum buffer uses weight_velocity / bias_velocity).
--
-- SQLite cannot alter a CHECK constraint, so the tensors table is rebuilt by the procedure of
-- https://www.sqlite.org/lang_altertable.html#otheralter: the view that reads it is dropped first
-- (a rename would fail on a view naming a missing table), a new table is created under another
-- name with the same columns, keys and foreign key, the rows are copied, the old table dropped,
-- the new one renamed, and the view recreated unchanged. No other table references tensors, and
-- tensors has no index or trigger of its own besides its primary key. Runs in one transaction.

DROP VIEW layer_stats;

CREATE TABLE tensors_0004 (
    run_id  INTEGER NOT NULL,
    epoch   INTEGER NOT NULL,
    layer   INTEGER NOT NULL CHECK (layer >= 1),
    -- kind: a chain of = rather than IN (...), which SQLite checks by building a temporary
    -- b-tree of the list on every INSERT (a fifth of the cost of logging a small epoch).
    kind    TEXT    NOT NULL CHECK (kind = 'weight' OR kind = 'bias' OR kind = 'weight_grad' OR kind = 'bias_grad'
                                    OR kind = 'weight_velocity' OR kind = 'bias_velocity'
                                    OR kind = 'weight_adam_m' OR kind = 'bias_adam_m'
                                    OR kind = 'weight_adam_v' OR kind = 'bias_adam_v'
                                    OR kind = 'weight_rms' OR kind = 'bias_rms' OR kind = 'step'),
    rows    INTEGER NOT NULL CHECK (rows > 0),
    cols    INTEGER NOT NULL CHECK (cols > 0),
    dtype   TEXT    NOT NULL CHECK (dtype IN ('float32', 'float64')),
    data    BLOB    NOT NULL CHECK (length(data) = rows * cols * (CASE dtype WHEN 'float32' THEN 4 ELSE 8 END)),
    l2      REAL,   -- statistics computed at write time (NULL when not finite)
    mean    REAL,
    std     REAL,
    min     REAL,
    max     REAL,
    PRIMARY KEY (run_id, epoch, layer, kind),
    FOREIGN KEY (run_id, epoch) REFERENCES epochs(run_id, epoch) ON DELETE CASCADE
);

INSERT INTO tensors_0004 (run_id, epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max)
SELECT run_id, epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max FROM tensors;

DROP TABLE tensors;

ALTER TABLE tensors_0004 RENAME TO tensors;

-- As in 0001, unchanged. For adam, adamw and rmsprop the real step is not learning_rate x gradient
-- (see docs/optimizers.md); the ratio stays the plain-SGD measure of the gradient's size.
CREATE VIEW layer_stats AS
SELECT w.run_id, w.epoch, w.layer,
       w.l2 AS weight_l2,
       g.l2 AS gradient_l2,
       CASE WHEN w.l2 > 0 THEN r.learning_rate * g.l2 / w.l2 END AS update_to_weight_ratio
FROM tensors AS w
JOIN runs AS r ON r.id = w.run_id
LEFT JOIN tensors AS g
       ON g.run_id = w.run_id AND g.epoch = w.epoch AND g.layer = w.layer AND g.kind = 'weight_grad'
WHERE w.kind = 'weight';

-- The optimizer settings (docs/optimizers.md). Runs queued before 0004 have none in config: they
-- trained with sgd. A setting is NULL where the run's optimizer does not use it (beta1 and beta2:
-- adam, adamw; epsilon: adam, adamw, rmsprop; rho: rmsprop), as for the columns of 0003.
ALTER TABLE runs ADD COLUMN optimizer TEXT NOT NULL DEFAULT 'sgd' CHECK (optimizer IN ('sgd', 'adam', 'adamw', 'rmsprop'));
ALTER TABLE runs ADD COLUMN beta1 REAL CHECK (beta1 >= 0 AND beta1 < 1);
ALTER TABLE runs ADD COLUMN beta2 REAL CHECK (beta2 >= 0 AND beta2 < 1);
ALTER TABLE runs ADD COLUMN epsilon REAL CHECK (epsilon > 0);
ALTER TABLE runs ADD COLUMN rho REAL CHECK (rho >= 0 AND rho < 1);

UPDATE runs SET
    optimizer = coalesce(json_extract(config, '$.training.optimizer'), 'sgd'),
    beta1 = CASE WHEN json_extract(config, '$.training.optimizer') IN ('adam', 'adamw')
                 THEN coalesce(json_extract(config, '$.training.beta1'), 0.9) END,
    beta2 = CASE WHEN json_extract(config, '$.training.optimizer') IN ('adam', 'adamw')
                 THEN coalesce(json_extract(config, '$.training.beta2'), 0.999) END,
    epsilon = CASE WHEN json_extract(config, '$.training.optimizer') IN ('adam', 'adamw', 'rmsprop')
                   THEN coalesce(json_extract(config, '$.training.epsilon'), 1e-8) END,
    rho = CASE WHEN json_extract(config, '$.training.optimizer') = 'rmsprop'
               THEN coalesce(json_extract(config, '$.training.rho'), 0.99) END;

-- The view keeps every column of 0003 in place and appends the new ones.
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
       r.log_tensors, r.init_weights,
       r.optimizer, r.beta1, r.beta2, r.epsilon, r.rho
FROM runs AS r;
