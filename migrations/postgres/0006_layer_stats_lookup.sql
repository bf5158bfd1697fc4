-- 0006_layer_stats_lookup (PostgreSQL only: SQLite already plans 0001's view as this lookup): the
-- layer_stats view with the same columns, names and values, its gradient's norm looked up by the
-- tensor's whole key (run, epoch, layer, 'weight_grad'), one primary-key probe per weight row.
-- The LEFT JOIN of 0001 left the plan to the statistics, and on a database without fresh ones
-- PostgreSQL joined the gradients by a scan per weight (seconds for one long run), so the per-run
-- readers carried a copy of this formula; they read the view again now (`WHERE run_id = ?`), one
-- definition (docs/schema.md). A LATERAL subquery with a LIMIT is never flattened into a join:
-- it is run once per weight row, by the primary key (at most one row matches it, as the join's).

-- CREATE OR REPLACE keeps the view's grants (a DROP would take the SELECT granted to a reader or
-- worker role with it); the columns are 0001's, in its order and types.
CREATE OR REPLACE VIEW layer_stats AS
SELECT w.run_id, w.epoch, w.layer,
       w.l2 AS weight_l2,
       g.l2 AS gradient_l2,
       CASE WHEN w.l2 > 0 THEN r.learning_rate * g.l2 / w.l2 END AS update_to_weight_ratio
FROM tensors AS w
JOIN runs AS r ON r.id = w.run_id
LEFT JOIN LATERAL (SELECT t.l2 FROM tensors AS t
                   WHERE t.run_id = w.run_id AND t.epoch = w.epoch AND t.layer = w.layer AND t.kind = 'weight_grad'
                   LIMIT 1) AS g ON true
WHERE w.kind = 'weight';
