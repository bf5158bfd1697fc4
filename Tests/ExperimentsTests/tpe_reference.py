"""The reference of TPESamplerTests.testMatchesOptunaOnTheSearchSpace: Optuna 5.1.0's TPESampler
(its defaults: multivariate, 10 random trials, gamma 0.1, 24 candidates) and RandomSampler on the
search workload's space (../../../shared/WORKLOADS.md) with a cheap stand-in for the trained loss,
30 trials, sampler seeds 0..N-1; prints the median, quartiles and mean of the best value.

usage: pip install optuna==5.1.0 && python3 tpe_reference.py [N, default 100]
"""
import math, statistics, sys, optuna, json
optuna.logging.set_verbosity(optuna.logging.WARNING)
BATCH=[8,16,32,64,128,256]; HIDDEN=[16,32,64,128]
def f(lr, b, m, wd, h):
    eff = lr / (1 - m)
    if eff > 4: return float('inf')
    best = 0.3 * math.sqrt(b / 32)
    return 0.08 + 0.05 * (math.log10(eff) - math.log10(best)) ** 2 + 0.004 * (math.log10(wd) + 4) ** 2 + {16: 0.02, 32: 0.008, 64: 0.0, 128: 0.003}[h]
def run(kind, seed, trials):
    s = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}[kind](seed=seed)
    st = optuna.create_study(sampler=s)
    best = float('inf')
    for _ in range(trials):
        t = st.ask()
        lr = t.suggest_float("learning_rate", 1e-4, 1, log=True)
        b = t.suggest_categorical("batch_size", BATCH)
        m = t.suggest_float("momentum", 0, 0.95)
        wd = t.suggest_float("weight_decay", 1e-6, 1e-2, log=True)
        h = t.suggest_categorical("hidden", HIDDEN)
        v = f(lr, b, m, wd, h); best = min(best, v); st.tell(t, v)
    return best
seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 100
for kind in ["tpe", "random"]:
    bests = [run(kind, s, 30) for s in range(seeds)]
    q = statistics.quantiles(bests, n=4)
    print(kind, "median %.5f q1 %.5f q3 %.5f mean %.5f" % (statistics.median(bests), q[0], q[2], statistics.fmean(bests)))
