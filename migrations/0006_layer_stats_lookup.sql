-- 0006_layer_stats_lookup: the layer_stats view with its gradient's norm looked up by the tensor's
-- whole key (run, epoch, layer, 'weight_grad'), one primary-key probe per weight row: the one
-- definition its readers use (the per-run readers had a copy of the formula, for PostgreSQL's
-- sake). SQLite has no other plan for this LEFT JOIN on the whole primary key than that probe
-- (docs/schema.md), so its view keeps 0001's text and values; it is recreated here so that both
-- dialects carry 0006 (PostgreSQL's file changes the plan: a LATERAL lookup, since its planner
-- chose a scan per weight for the join on a database without fresh statistics).

DROP VIEW layer_stats;

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
