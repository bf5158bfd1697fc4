"""The reference of TPESamplerTests.testNextTrialMatchesOptunaAfterARealHistory: Optuna 5.1.0's
TPESampler (its defaults) given the first K trials of a real run of the search workload
(../../../shared/bench/optuna_search.py, Optuna TPE, sampler seed 0: each trial's settings and the
final val_loss that `runner train` gave; none diverged), asked for the next trial with
sampler seeds 0..N-1. Prints, for K = 12 and 29, the mean and standard deviation of each numeric
parameter (log of learning rate and weight decay) and the share of each batch size and width.

usage: pip install optuna==5.1.0 && python3 tpe_history_reference.py [N, default 4000]
"""
import math, statistics, sys
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

optuna.logging.set_verbosity(optuna.logging.WARNING)
BATCH = [8, 16, 32, 64, 128, 256]
HIDDEN = [16, 32, 64, 128]
SPACE = {"learning_rate": FloatDistribution(1e-4, 1, log=True), "batch_size": CategoricalDistribution(BATCH),
         "momentum": FloatDistribution(0, 0.95), "weight_decay": FloatDistribution(1e-6, 1e-2, log=True),
         "hidden": CategoricalDistribution(HIDDEN)}
# learning_rate, batch_size, momentum, weight_decay, hidden, final val_loss (the same rows as the Swift test)
HISTORY = [
    [0.01567667719550607, 8, 0.8471843507429757, 0.0071556821617548725, 32, 0.18415977982259393],
    [0.503948959867121, 256, 0.9296874251211258, 0.0015726578854179517, 32, 0.11371297833398192],
    [0.0003744666535741568, 8, 0.540012251425216, 1.1889379831773014e-06, 128, 1.378956542705759],
    [0.0533680330275671, 32, 0.19986343302014883, 3.2787264983352796e-06, 64, 0.16071553914327807],
    [0.898452977392254, 64, 0.2322043124015226, 4.323926814280044e-06, 32, 0.11890814635996035],
    [0.0029846999797850868, 128, 0.9279230337808202, 0.0002626528266326433, 16, 1.385969713537806],
    [0.0015295398277813735, 128, 0.2521200163924731, 0.0001238774377294076, 64, 2.2289920165346193],
    [0.04673492174823726, 16, 0.7874930277564949, 1.044195710380448e-06, 128, 0.09673500181406654],
    [0.0009885817165390827, 128, 0.8040882388475714, 0.0006279384856082844, 128, 1.917190907061266],
    [0.02113934324402315, 128, 0.40266229613027066, 0.0002664237007197918, 64, 0.7176405095124311],
    [0.0023235924337612897, 16, 0.850150203642598, 3.375457814875817e-05, 128, 0.2345977875515611],
    [0.3151478982447651, 256, 0.7211471059435653, 1.4123276335630509e-05, 32, 0.13648914603884837],
    [0.18513119496868344, 16, 0.6646233921732921, 0.0001499460035339446, 128, 0.0901982196526275],
    [0.275592765610012, 16, 0.6717637350060983, 0.0002996311807785661, 128, 0.08360219202043287],
    [0.4852471502634142, 16, 0.691465868986223, 2.089655589850099e-05, 128, 0.1083378287390248],
    [0.8072657765475401, 16, 0.6917471888235196, 0.0036559236921772536, 128, 2.3554363722256633],
    [0.04392486629672279, 16, 0.46791650248498873, 0.0037566986907263847, 128, 0.14258380682521543],
    [0.10111470277917553, 256, 0.7680618322570703, 0.0005117952155135298, 128, 0.16918535393592707],
    [0.024162618883822113, 16, 0.5560113070715688, 0.0001434749403463626, 128, 0.12968179220359638],
    [0.32258753991713596, 16, 0.6944285856094891, 0.0004045037612647347, 64, 0.08691826068425244],
    [0.12330977368913293, 16, 0.8861561277313912, 0.0010634086056294113, 16, 0.12813780070762448],
    [0.23917364005044525, 16, 0.5146211881511031, 0.00014019857080609351, 64, 0.09936424491091692],
    [0.9399911839089553, 16, 0.4969196936226055, 0.0010604838341136315, 128, 2.3390764114252374],
    [0.27596465409334975, 16, 0.6727303794881135, 0.0001483818911581894, 128, 0.08087402193036584],
    [0.0928157811812805, 8, 0.4917474420315726, 3.227133926836548e-05, 128, 0.09264469590857832],
    [0.6543375019380244, 32, 0.8211736054346119, 0.0003525254754350146, 128, 0.2219309792296136],
    [0.38726411557618157, 8, 0.6061086786886916, 0.0010077394179425056, 64, 0.22981063515196937],
    [0.29918997185328156, 16, 0.9360483840537599, 0.0002628718451462787, 64, 1.8471451287150051],
    [0.8634093116439447, 256, 0.7039396069726259, 0.00011765604628470452, 64, 0.0940313526016756],
]


def next_trials(count, seeds):
    study = optuna.create_study(direction="minimize")
    for learning_rate, batch_size, momentum, weight_decay, hidden, value in HISTORY[:count]:
        params = {"learning_rate": learning_rate, "batch_size": batch_size, "momentum": momentum,
                  "weight_decay": weight_decay, "hidden": hidden}
        study.add_trial(create_trial(params=params, distributions=SPACE, value=value))
    points = []
    for seed in range(seeds):
        study.sampler = optuna.samplers.TPESampler(seed=seed)
        trial = study.ask()
        point = {name: (trial.suggest_categorical(name, d.choices) if isinstance(d, CategoricalDistribution)
                        else trial.suggest_float(name, d.low, d.high, log=d.log)) for name, d in SPACE.items()}
        study.tell(trial, state=TrialState.FAIL)  # failed trials are not seen by TPE
        points.append(point)
    return points


seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
print("optuna", optuna.__version__, "seeds", seeds)
for count in (12, 29):
    points = next_trials(count, seeds)
    numbers = {"log learning_rate": [math.log(p["learning_rate"]) for p in points],
               "momentum": [p["momentum"] for p in points],
               "log weight_decay": [math.log(p["weight_decay"]) for p in points]}
    print(f"after {count} trials")
    for name, values in numbers.items():
        print(f"  {name}: mean {statistics.fmean(values)!r}, sd {statistics.stdev(values)!r}")
    for name, choices in (("batch_size", BATCH), ("hidden", HIDDEN)):
        print(f"  {name} shares: [{', '.join(repr(sum(p[name] == c for p in points) / seeds) for c in choices)}]")
