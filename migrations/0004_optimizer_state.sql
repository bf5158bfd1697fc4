-- 0004_optimizer_state: the optimizers' state is stored as tensors wherever weights are (so a
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
