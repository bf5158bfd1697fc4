-- 0001_initial: Slope's first schema. Documented in docs/schema.md; the names
-- here are a public interface (sqlite3, pandas). Append-only: never edit a
-- migration once it has landed, add 0002_*.sql instead.
--
-- Timestamps are ISO-8601 UTC text ('2026-11-29T12:34:56.789Z'), so they sort
-- and compare as text and read well in the sqlite3 shell.

PRAGMA application_id = 1399615344; -- 0x536C6F70, 'Slop': marks the file as Slope's

CREATE TABLE sweeps (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    spec        TEXT NOT NULL CHECK (json_valid(spec)),     -- the sweep spec as JSON
    created_at  TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'completed', 'interrupted', 'failed'))
);

CREATE TABLE runs (
    id                   INTEGER PRIMARY KEY,
    sweep_id             INTEGER REFERENCES sweeps(id) ON DELETE CASCADE,  -- NULL for single runs
    name                 TEXT,
    status               TEXT NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued', 'running', 'completed', 'pruned', 'diverged', 'failed')),
    stop_reason          TEXT,   -- e.g. 'completed all epochs', 'early stopping', 'interrupted', 'pruned at epoch 5'

    -- typed hyperparameters (everything else is in config)
    learning_rate        REAL    NOT NULL CHECK (learning_rate > 0),
    batch_size           INTEGER NOT NULL CHECK (batch_size > 0),
    momentum             REAL    NOT NULL DEFAULT 0 CHECK (momentum >= 0 AND momentum < 1),
    epochs               INTEGER NOT NULL CHECK (epochs >= 0),      -- planned
    seed                 INTEGER NOT NULL,
    layers               TEXT    NOT NULL,                          -- '64-64-10': inputs, hidden..., outputs
    activation           TEXT    NOT NULL CHECK (activation IN ('relu', 'tanh', 'sigmoid', 'identity')),
    output_activation    TEXT    NOT NULL CHECK (output_activation IN ('identity', 'sigmoid', 'relu', 'tanh', 'softmax')),
    loss                 TEXT    NOT NULL CHECK (loss IN ('mse', 'binary-cross-entropy', 'cross-entropy')),
    precision            TEXT    NOT NULL CHECK (precision IN ('float32', 'float64')),
    dataset              TEXT    NOT NULL,                          -- built-in name or CSV path
    dataset_sha256       TEXT,
    validation_fraction  REAL    NOT NULL DEFAULT 0 CHECK (validation_fraction >= 0 AND validation_fraction < 1),

    created_at           TEXT NOT NULL,
    started_at           TEXT,
    finished_at          TEXT,
    heartbeat_at         TEXT,
    worker               TEXT,      -- who holds the run: 'pid@host'
    host                 TEXT,
    pid                  INTEGER,
    slope_version        TEXT NOT NULL,
    config               TEXT NOT NULL CHECK (json_valid(config)),  -- enough to rebuild and resume the run
    error                TEXT,      -- for failed runs

    -- summary, maintained in the same transaction as each epoch write
    epochs_done          INTEGER NOT NULL DEFAULT 0,   -- last epoch stored (epoch 0 = initial state)
    final_train_loss     REAL,
    final_val_loss       REAL,
    final_train_accuracy REAL,
    final_val_accuracy   REAL,
    best_train_loss      REAL,
    best_val_loss        REAL,
    best_epoch           INTEGER   -- epoch of best_val_loss, or of best_train_loss without validation
);

CREATE INDEX runs_by_sweep_status ON runs(sweep_id, status);
CREATE INDEX runs_by_status ON runs(status);
CREATE INDEX runs_by_best_val_loss ON runs(best_val_loss);
CREATE INDEX runs_by_final_val_loss ON runs(final_val_loss);

CREATE TABLE epochs (
    run_id          INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch           INTEGER NOT NULL CHECK (epoch >= 0),
    train_loss      REAL,
    val_loss        REAL,
    train_accuracy  REAL,
    val_accuracy    REAL,
    seconds         REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, epoch)
) WITHOUT ROWID;

-- One row per tensor per logged epoch. data holds rows x cols little-endian
-- IEEE-754 values, row-major: numpy.frombuffer(data, '<f4').reshape(rows, cols).
-- Layer l's weight has shape [inputs x outputs]; entry (i, j) connects node i of
-- the layer below to node j of layer l. Biases are [1 x outputs].
CREATE TABLE tensors (
    run_id  INTEGER NOT NULL,
    epoch   INTEGER NOT NULL,
    layer   INTEGER NOT NULL CHECK (layer >= 1),
    -- kind: a chain of = rather than IN (...), which SQLite checks by building a temporary
    -- b-tree of the list on every INSERT (a fifth of the cost of logging a small epoch).
    kind    TEXT    NOT NULL CHECK (kind = 'weight' OR kind = 'bias' OR kind = 'weight_grad' OR kind = 'bias_grad'
                                    OR kind = 'weight_velocity' OR kind = 'bias_velocity'),
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

CREATE VIEW run_summary AS
SELECT r.id AS run_id, r.sweep_id, r.name, r.status, r.stop_reason,
       r.learning_rate, r.batch_size, r.momentum, r.epochs, r.seed, r.layers,
       r.activation, r.output_activation, r.loss, r.precision, r.dataset, r.validation_fraction,
       r.epochs_done, r.final_train_loss, r.final_val_loss, r.best_train_loss, r.best_val_loss,
       r.best_epoch, r.final_train_accuracy, r.final_val_accuracy,
       r.dataset_sha256, r.created_at, r.started_at, r.finished_at, r.heartbeat_at, r.worker, r.error
FROM runs AS r;

-- update_to_weight_ratio: learning_rate x L2 of the epoch's mean gradient / L2 of
-- the weights, the typical size of one step relative to the weights (~1e-3 is healthy).
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
