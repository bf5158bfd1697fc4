"""The reference values of ParzenEstimatorTests.testMatchesOptunaOnRampedObservations: Optuna's own
Parzen estimator (optuna.samplers._tpe, Optuna 5.1.0, TPESampler's defaults: prior weight 1, magic
clip, endpoints not considered, default_weights) on 27 observations of a log-scale, a linear and a
categorical parameter, so that the oldest two weigh less (the ramp starts above 25 observations).

usage: pip install optuna==5.1.0 && python3 parzen_reference.py
"""
import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import default_weights

N = 27
# The same formulas as the Swift test: distinct values, unevenly spaced, in a scrambled order.
learning_rates = np.array([10 ** (-4 + 4 * (((i * 7) % N) / (N - 1)) ** 2) for i in range(N)])
momenta = np.array([0.95 * (((i * 11) % N) / (N - 1)) ** 1.5 for i in range(N)])
choices = np.array([float((i * 5) % 4) for i in range(N)])

space = {
    "learning_rate": FloatDistribution(1e-4, 1, log=True),
    "momentum": FloatDistribution(0, 0.95),
    "hidden": CategoricalDistribution([16, 32, 64, 128]),
}
parameters = _ParzenEstimatorParameters(prior_weight=1.0, consider_magic_clip=True, consider_endpoints=False,
                                        weights=default_weights, multivariate=True)
estimator = _ParzenEstimator({"learning_rate": learning_rates, "momentum": momenta, "hidden": choices}, space, parameters)
mixture = estimator._mixture_distribution


def swift(values):
    return "[" + ", ".join(repr(float(v)) for v in values) + "]"


print("optuna", optuna.__version__)
print("weights", swift(mixture.weights))
print("learning_rate sigmas", swift(mixture.distributions[0].sigma))
print("momentum sigmas", swift(mixture.distributions[1].sigma))
print("hidden kernel 0", swift(mixture.distributions[2].weights[0]))
points = {"learning_rate": np.array([0.003, 0.2, 1e-4]), "momentum": np.array([0.5, 0.9, 0.0]), "hidden": np.array([1.0, 3.0, 0.0])}
print("log densities", swift(estimator.log_pdf(points)))
