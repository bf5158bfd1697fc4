-- 0004_optimizer_state, PostgreSQL's dialect of migrations/0004_optimizer_state.sql: the
-- optimizer settings as typed run columns (backfilled from config: runs before 0004 are sgd), and
-- the optimizers' state stored as tensors wherever weights are: new tensors.kind values
--   weight_adam_m, bias_adam_m, weight_adam_v, bias_adam_v   adam / adamw moments m and v
--   weight_rms, bias_rms                                      rmsprop's average of g squared
--   step                                                      optimizer steps so far, [1 x 1] float64 at layer 1
--
-- Differences, all of dialect: PostgreSQL alters a CHECK constraint in place (SQLite rebuilds the
-- table, and drops and recreates layer_stats around it; here the view is untouched); REAL ->
-- DOUBLE PRECISION; json_extract -> config::jsonb #>> (see 0003).

ALTER TABLE tensors DROP CONSTRAINT tensors_kind_check;
ALTER TABLE tensors ADD CONSTRAINT tensors_kind_check
    CHECK (kind IN ('weight', 'bias', 'weight_grad', 'bias_grad', 'weight_velocity', 'bias_velocity',
                    'weight_adam_m', 'bias_adam_m', 'weight_adam_v', 'bias_adam_v',
                    'weight_rms', 'bias_rms', 'step'));

-- The optimizer settings (docs/optimizers.md). A setting is NULL where the run's optimizer does
-- not use it (beta1 and beta2: adam, adamw; epsilon: adam, adamw, rmsprop; rho: rmsprop).
ALTER TABLE runs ADD COLUMN optimizer TEXT NOT NULL DEFAULT 'sgd' CHECK (optimizer IN ('sgd', 'adam', 'adamw', 'rmsprop'));
ALTER TABLE runs ADD COLUMN beta1 DOUBLE PRECISION CHECK (beta1 >= 0 AND beta1 < 1);
ALTER TABLE runs ADD COLUMN beta2 DOUBLE PRECISION CHECK (beta2 >= 0 AND beta2 < 1);
ALTER TABLE runs ADD COLUMN epsilon DOUBLE PRECISION CHECK (epsilon > 0);
ALTER TABLE runs ADD COLUMN rho DOUBLE PRECISION CHECK (rho >= 0 AND rho < 1);

UPDATE runs SET
    optimizer = coalesce(config::jsonb #>> '{training,optimizer}', 'sgd'),
    beta1 = CASE WHEN config::jsonb #>> '{training,optimizer}' IN ('adam', 'adamw')
                 THEN coalesce((config::jsonb #>> '{training,beta1}')::double precision, 0.9) END,
    beta2 = CASE WHEN config::jsonb #>> '{training,optimizer}' IN ('adam', 'adamw')
                 THEN coalesce((config::jsonb #>> '{training,beta2}')::double precision, 0.999) END,
    epsilon = CASE WHEN config::jsonb #>> '{training,optimizer}' IN ('adam', 'adamw', 'rmsprop')
                   THEN coalesce((config::jsonb #>> '{training,epsilon}')::double precision, 1e-8) END,
    rho = CASE WHEN config::jsonb #>> '{training,optimizer}' = 'rmsprop'
               THEN coalesce((config::jsonb #>> '{training,rho}')::double precision, 0.99) END;

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
