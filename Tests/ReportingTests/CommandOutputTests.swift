// Whole outputs of each command on the fixture database (timestamps normalised, trailing spaces ignored).
// Values were checked by hand: e.g. grid cell (0.01, 16) = mean(0.2054, 0.1801), explain's factors below.
import Reporting
import XCTest

final class CommandOutputTests: ReportTestCase {
    func assertOutput(_ actual: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        func lines(_ text: String) -> [String] {
            text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.reversed().drop { $0 == " " }.reversed()) }
        }
        let actualLines = lines(normalized(actual)), expectedLines = lines(expected)
        XCTAssertEqual(actualLines.count, expectedLines.count, "line count", file: file, line: line)
        for (index, (a, e)) in zip(actualLines, expectedLines).enumerated() where a != e {
            XCTFail("line \(index + 1):\n  actual:   \(a)\n  expected: \(e)\nwhole output:\n\(normalized(actual))", file: file, line: line)
            break
        }
    }

    func export(_ r: Reporter, sweepID: Int64?, what: ExportSubject, format: OutputFormat) throws -> String {
        var text = ""
        try r.export(sweepID: sweepID, what: what, format: format) { text += $0 }
        return text
    }

    func test_runs() throws {
        let r = try reporter()
        // weight_decay varies within sweep 1 (with the seed): it comes next to the learning rate.
        assertOutput(try r.runs(), #"""
id  sweep  name      status       lr  batch  weight_decay  layers  epochs  train_loss  val_loss
───────────────────────────────────────────────────────────────────────────────────────────────
 1      1  lr0.01-…  completed  0.01     16             0  2-3-1   3/3         0.1429    0.2054
 2      1  lr0.01-…  completed  0.01     16         0.001  2-3-1   3/3         0.1176    0.1801
 3      1  lr0.01-…  completed  0.01     32             0  2-3-1   3/3           0.25    0.3125
 4      1  lr0.01-…  completed  0.01     32         0.001  2-3-1   3/3         0.1818    0.2443
 5      1  lr0.1-b…  completed   0.1     16             0  2-3-1   3/3        0.07692    0.1394
 6      1  lr0.1-b…  completed   0.1     16         0.001  2-3-1   3/3        0.06897    0.1315
 7      1  lr0.1-b…  completed   0.1     32             0  2-3-1   3/3            0.1    0.1625
 8      1  lr0.1-b…  running     0.1     32         0.001  2-3-1   2/3          0.125    0.1875
 9      -  <b>evil…  diverged      5      4             0  2-3-1   2/5           4096         -
10      -  xor       completed   0.5      4             0  2-2-1   2/2         0.8767         -
(10 columns hidden: best_val, best_ep, train_acc, activation, output_activation, loss, precision,
dataset, validation_fraction, seed; widen the terminal or use --format csv)

"""#)
    }

    func test_runsFiltered() throws {
        let r = try reporter()
        assertOutput(try r.runs(sweepID: 1, filter: "learning_rate > 0.05 and status = 'completed'", sort: "-best_val_loss", limit: 2), #"""
id  name           status      lr  batch  epochs  train_loss  val_loss  best_val  best_ep
─────────────────────────────────────────────────────────────────────────────────────────
 7  lr0.1-bs32-s1  completed  0.1     32  3/3            0.1    0.1625    0.1625        3
 5  lr0.1-bs16-s1  completed  0.1     16  3/3        0.07692    0.1394    0.1394        3
all runs: sweep 1, layers 2-3-1

"""#)
    }

    func test_runsJSON() throws {
        let r = try reporter()
        assertOutput(try r.runs(filter: "id = 9", format: .json), #"""
[
  {"id": 9, "sweep_id": null, "name": "<b>evil & \"co\"</b>\n'; DROP TABLE runs; --", "status": "diverged", "stop_reason": "diverged at epoch 2", "learning_rate": 5.0, "batch_size": 4, "momentum": 0.0, "epochs": 5, "seed": 0, "layers": "2-3-1", "activation": "tanh", "output_activation": "identity", "loss": "mse", "precision": "float32", "dataset": "linear", "validation_fraction": 0.0, "epochs_done": 2, "final_train_loss": 4096.0, "final_val_loss": null, "best_train_loss": 0.75, "best_val_loss": null, "best_epoch": 0, "final_train_accuracy": null, "final_val_accuracy": null, "created_at": "<time>", "started_at": "<time>", "finished_at": "<time>", "worker": "fixture", "weight_decay": 0.0, "nesterov": 0, "hidden": "3", "init": null, "bias": 1, "early_stopping_patience": null, "early_stopping_monitor": null, "min_delta": null, "target": null, "task": null, "standardize": null, "split_seed": null, "log_tensors": null, "init_weights": null, "optimizer": "sgd", "beta1": null, "beta2": null, "epsilon": null, "rho": null}
]

"""#)
    }

    func test_show1() throws {
        let r = try reporter()
        assertOutput(try r.show(runID: 1), #"""
run 1 lr0.01-bs16-s1  (sweep 1)
status:     completed (completed all epochs), 3 of 3 epochs
model:      2-3-1  relu/identity  loss mse  float32
training:   learning_rate 0.01  batch_size 16  momentum 0  seed 1
data:       linear  validation_fraction 0.25
settings:   weight_decay 0  nesterov false  hidden 3  bias true  optimizer sgd
best:       epoch 3, loss 0.2054
times:      started <time>  finished <time>  worker fixture
config:     {"training":{"weightDecay":0}}

epoch  train_loss  val_loss  seconds
────────────────────────────────────
    0           1     1.062      0.5
    1      0.3333    0.3958      0.5
    2         0.2    0.2625      0.5
    3      0.1429    0.2054      0.5

loss
     1.06 ┤⡑⠢⢄⡀                                                                                     
          ┤⠈⠑⠢⢌⠒⠤⣀                                                                                  
          ┤    ⠉⠒⠤⡑⠢⢄                                                                               
          ┤       ⠈⠑⠢⣉⠒⠤⡀                                                                           
          ┤           ⠉⠒⢌⡑⠢⢄                                                                        
          ┤              ⠈⠑⠢⣉⠒⠤⡀                                                                    
    0.561 ┤                  ⠉⠒⢌⡑⠢⣀                                                                 
          ┤                     ⠈⠑⠤⣉⠒⢄⡀                                                             
          ┤                         ⠉⠢⢌⡑⠢⠤⠤⣀⣀⣀⣀                                                     
          ┤                            ⠈⠑⠒⠒⠤⠤⠤⠤⣉⣉⣉⣉⡑⠒⠒⠒⠢⠤⠤⠤⢄⣀⣀⣀⣀                                    
          ┤                                        ⠈⠉⠉⠉⠑⠒⠒⠒⠢⠤⠤⠤⠤⣉⣉⣉⣉⠒⠒⠒⠒⠒⠒⠒⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀     
    0.143 ┤                                                         ⠉⠉⠉⠉⠉⠉⠉⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠤⠤⠤⠤⠤⠤⠤⠤⠤⠤⣉⣉⣉⣉■
          └─────────────────────────────────────────────────────────────────────────────────────────
           0                                          1.5                                          3
           epoch
  ● train_loss
  ■ val_loss

"""#)
    }

    func test_show9() throws {
        let r = try reporter()
        assertOutput(try r.show(runID: 9), #"""
run 9 <b>evil & "co"</b>↵'; DROP TABLE runs; --
status:     diverged (diverged at epoch 2), 2 of 5 epochs
model:      2-3-1  tanh/identity  loss mse  float32
training:   learning_rate 5  batch_size 4  momentum 0  seed 0
data:       linear  validation_fraction 0
settings:   weight_decay 0  nesterov false  hidden 3  bias true  optimizer sgd
best:       epoch 0, loss 0.75
times:      started <time>  finished <time>  worker fixture
config:     {}

epoch  train_loss  seconds
──────────────────────────
    0        0.75     0.25
    1        12.5     0.25
    2        4096     0.25

loss
     4096 ┤                                                                                     ⢀⡠⠔⠊
          ┤                                                                                 ⢀⡠⠔⠊⠁   
          ┤                                                                              ⣀⠤⠒⠁       
          ┤                                                                          ⣀⠤⠒⠉           
          ┤                                                                      ⢀⡠⠔⠊               
          ┤                                                                  ⢀⡠⠔⠊⠁                  
     1862 ┤                                                               ⣀⠤⠒⠁                      
          ┤                                                           ⢀⠤⠒⠉                          
          ┤                                                       ⢀⡠⠔⠊⠁                             
          ┤                                                    ⡠⠔⠊⠁                                 
          ┤                                                ⣀⠤⠒⠉                                     
     0.75 ┤⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⠤⠒⠉                                         
          └─────────────────────────────────────────────────────────────────────────────────────────
           0                                           1                                           2
           epoch
  ● train_loss

diagnosis (see docs/cli-report.md, Diagnostics):
  diverged: the loss became NaN or infinite; try a smaller --learning-rate; for regression, scale a target in the thousands or more first

"""#)
    }

    func test_show9json() throws {
        let r = try reporter()
        assertOutput(try r.show(runID: 9, format: .json), #"""
{
  "run": {"id": 9, "sweep_id": null, "name": "<b>evil & \"co\"</b>\n'; DROP TABLE runs; --", "status": "diverged", "stop_reason": "diverged at epoch 2", "learning_rate": 5.0, "batch_size": 4, "momentum": 0.0, "epochs": 5, "seed": 0, "layers": "2-3-1", "activation": "tanh", "output_activation": "identity", "loss": "mse", "precision": "float32", "dataset": "linear", "validation_fraction": 0.0, "epochs_done": 2, "final_train_loss": 4096.0, "final_val_loss": null, "best_train_loss": 0.75, "best_val_loss": null, "best_epoch": 0, "final_train_accuracy": null, "final_val_accuracy": null, "created_at": "<time>", "started_at": "<time>", "finished_at": "<time>", "worker": "fixture", "weight_decay": 0.0, "nesterov": 0, "hidden": "3", "init": null, "bias": 1, "early_stopping_patience": null, "early_stopping_monitor": null, "min_delta": null, "target": null, "task": null, "standardize": null, "split_seed": null, "log_tensors": null, "init_weights": null, "optimizer": "sgd", "beta1": null, "beta2": null, "epsilon": null, "rho": null},
  "error": null,
  "config": {},
  "epochs": [
    {"epoch": 0, "train_loss": 0.75, "seconds": 0.25},
    {"epoch": 1, "train_loss": 12.5, "seconds": 0.25},
    {"epoch": 2, "train_loss": 4096.0, "seconds": 0.25}
  ],
  "diagnosis": [{"kind": "diverged", "epochs_by_layer": {}, "detail": "the loss became NaN or infinite", "advice": "a smaller --learning-rate; for regression, scale a target in the thousands or more first"}]
}

"""#)
    }

    func test_compare() throws {
        let r = try reporter()
        assertOutput(try r.compare(runIDs: [1, 2, 5], threshold: 0.2), #"""
val_loss of 3 runs: final and best value, epoch of the best, first epoch reaching 0.2 (reach)

id  name          status     done   final    best  best_ep  reach  learning_rate  seed  weight_decay
────────────────────────────────────────────────────────────────────────────────────────────────────
 1  lr0.01-bs16…  completed     3  0.2054  0.2054        3      -           0.01     1             0
 2  lr0.01-bs16…  completed     3  0.1801  0.1801        3      3           0.01     2         0.001
 5  lr0.1-bs16-…  completed     3  0.1394  0.1394        3      2            0.1     1             0
same for all: batch_size=16  momentum=0  epochs=3  layers=2-3-1  activation=relu  output_activation=identity  loss=mse  precision=float32  dataset=linear  validation_fraction=0.25  nesterov=false  hidden=3  bias=true  optimizer=sgd

val_loss
     1.06 ┤⠑⠢⣄⡀                                                                                     
          ┤   ⠙⠶⣤⣀                                                                                  
          ┤     ⠈⠙⠷⡦⣄                                                                               
          ┤        ⠈⠚⢝⡲⣤⡀                                                                           
          ┤           ⠈⠒⢍⡳⢦⢄                                                                        
          ┤              ⠈⠢⢍⠛⢖⡤⡀                                                                    
    0.559 ┤                 ⠉⠢⢌⠙⠵⣢⣀                                                                 
          ┤                    ⠉⠢⣀⠑⠫⣒⢄⡀                                                             
          ┤                       ⠑⠢⣀⠉⠪⢕⡢⠤⠤⣀⣀⣀⣀                                                     
          ┤                          ⠑⠤⡀⠈⠉⠉⠒⠒⠒⠒⠛⠭⠭⠭⠵⠶⣒⣒⣢⣤⣤⠤⢄⣀⣀⣀⣀                                    
          ┤                            ⠈⠑⠒⠒⠒⠢⠤⠤⠤⠤⠤⠤⠤⣀⣀⣀⣀⣀⣀⣉⠉⠉⠉⠉⠒⠛⠛⠛⠛⠶⠶⠶⠶⠶⠶⠶⣤⣤⣤⣤⣤⣤⣤⣤⣤⣤⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀     
    0.139 ┤                                                ⠉⠉⠉⠉⠉⠉⠉⠑⠒⠒⠒⠒⠒⠒⠒⠒⠒⠒⠢⠤⠤⠤⠤⠤⠤⠤⠭⠭⠭⠭⠭⠭⠭⢍⣉⣉⣛⣛⣛⣛▲
          └─────────────────────────────────────────────────────────────────────────────────────────
           0                                          1.5                                          3
           epoch
  ● run 1 lr0.01-bs16-s1
  ■ run 2 lr0.01-bs16-s2
  ▲ run 5 lr0.1-bs16-s1

"""#)
    }

    func test_compareCSV() throws {
        let r = try reporter()
        assertOutput(try r.compare(sweepID: 1, format: .csv), #"""
id,name,status,epochs_done,final_val_loss,best_val_loss,best_epoch,learning_rate,batch_size,seed,weight_decay
1,lr0.01-bs16-s1,completed,3,0.20535714285714285,0.20535714285714285,3,0.01,16,1,0.0
2,lr0.01-bs16-s2,completed,3,0.1801470588235294,0.1801470588235294,3,0.01,16,2,0.001
3,lr0.01-bs32-s1,completed,3,0.3125,0.3125,3,0.01,32,1,0.0
4,lr0.01-bs32-s2,completed,3,0.24431818181818182,0.24431818181818182,3,0.01,32,2,0.001
5,lr0.1-bs16-s1,completed,3,0.13942307692307693,0.13942307692307693,3,0.1,16,1,0.0
6,lr0.1-bs16-s2,completed,3,0.1314655172413793,0.1314655172413793,3,0.1,16,2,0.001
7,lr0.1-bs32-s1,completed,3,0.1625,0.1625,3,0.1,32,1,0.0
8,lr0.1-bs32-s2,running,2,0.1875,0.1875,2,0.1,32,2,0.001

"""#)
    }

    func test_grid() throws {
        let r = try reporter()
        assertOutput(try r.grid(sweepID: 1), #"""
best_val_loss of sweep 1: mean over the other parameters ± standard deviation (runs); * best (min)

learning_rate \ batch_size                  16                 32
─────────────────────────────────────────────────────────────────
0.01                         0.1928 ±0.013 (2)  0.2784 ±0.034 (2)
0.1                         *0.1354 ±0.004 (2)   0.175 ±0.012 (2)

best: learning_rate=0.1 batch_size=16: 0.1354

"""#)
    }

    func test_gridJSON() throws {
        let r = try reporter()
        assertOutput(try r.grid(sweepID: 1, rows: "seed", columns: "learning_rate", metric: "final_train_loss", format: .json), #"""
[
  {"seed": 1, "learning_rate": 0.01, "runs": 2, "values": 2, "mean": 0.19642857142857142, "std": 0.053571428571428575, "min": 0.14285714285714285, "max": 0.25, "best": 0, "diverged": 0, "failed": 0},
  {"seed": 1, "learning_rate": 0.1, "runs": 2, "values": 2, "mean": 0.08846153846153847, "std": 0.011538461538461539, "min": 0.07692307692307693, "max": 0.1, "best": 1, "diverged": 0, "failed": 0},
  {"seed": 2, "learning_rate": 0.01, "runs": 2, "values": 2, "mean": 0.1497326203208556, "std": 0.03208556149732621, "min": 0.11764705882352941, "max": 0.18181818181818182, "best": 0, "diverged": 0, "failed": 0},
  {"seed": 2, "learning_rate": 0.1, "runs": 2, "values": 2, "mean": 0.09698275862068965, "std": 0.028017241379310345, "min": 0.06896551724137931, "max": 0.125, "best": 0, "diverged": 0, "failed": 0}
]

"""#)
    }

    func test_best() throws {
        let r = try reporter()
        assertOutput(try r.best(sweepID: 1, perRun: true), #"""
best run of sweep 1 by best_val_loss (min): run 6 lr0.1-bs16-s2, best_val_loss = 0.1315

column               value
─────────────────────────────────────────────
id                   6
sweep_id             1
name                 lr0.1-bs16-s2
status               completed
stop_reason          completed all epochs
learning_rate        0.1
batch_size           16
momentum             0
epochs               3
seed                 2
layers               2-3-1
activation           relu
output_activation    identity
loss                 mse
precision            float32
dataset              linear
validation_fraction  0.25
epochs_done          3
final_train_loss     0.06897
final_val_loss       0.1315
best_train_loss      0.06897
best_val_loss        0.1315
best_epoch           3
created_at           <time>
started_at           <time>
finished_at          <time>
worker               fixture
weight_decay         0.001
nesterov             false
hidden               3
bias                 true
optimizer            sgd
config: {"training":{"weightDecay":0.001}}

"""#)
    }

    func test_bestMax() throws {
        let r = try reporter()
        assertOutput(try r.best(sweepID: 1, metric: "final_val_loss", goal: .max, perRun: true, format: .csv), #"""
id,sweep_id,name,status,stop_reason,learning_rate,batch_size,momentum,epochs,seed,layers,activation,output_activation,loss,precision,dataset,validation_fraction,epochs_done,final_train_loss,final_val_loss,best_train_loss,best_val_loss,best_epoch,final_train_accuracy,final_val_accuracy,created_at,started_at,finished_at,worker,weight_decay,nesterov,hidden,init,bias,early_stopping_patience,early_stopping_monitor,min_delta,target,task,standardize,split_seed,log_tensors,init_weights,optimizer,beta1,beta2,epsilon,rho
3,1,lr0.01-bs32-s1,completed,completed all epochs,0.01,32,0.0,3,1,2-3-1,relu,identity,mse,float32,linear,0.25,3,0.25,0.3125,0.25,0.3125,3,,,<time>,<time>,<time>,fixture,0.0,0,3,,1,,,,,,,,,,sgd,,,,

"""#)
    }

    func test_layers9() throws {
        let r = try reporter()
        assertOutput(try r.layers(runID: 9), #"""
layers of run 9 <b>evil & "co"</b>↵'; DROP TABLE runs; --: 2-3-1, tanh hidden units
gradient_l2: norm of the epoch's mean gradient; update_ratio: learning_rate x gradient_l2 / weight_l2 (~1e-3 is healthy)

epoch  layer  weight_l2  gradient_l2  update_ratio  flags
─────────────────────────────────────────────────────────────
    0      1      2.385            -             -
    0      2      1.871            -             -
    1      1       4.77       0.9539             1  exploding
    1      2      1.871        3.742            10  exploding
    2      1      7.155         47.7         33.33  exploding
    2      2      1.871        187.1           500  exploding

flags (vanishing: gradient_l2 < 1.000e-07 or < 0.001 x the output layer's; exploding: gradient_l2 > 1000 or update_ratio > 1; dying-relu: >= 50% of units dead):
  layer 1: exploding at epochs 1-2
  layer 2: exploding at epochs 1-2

diagnosis (see docs/cli-report.md, Diagnostics):
  diverged: the loss became NaN or infinite; try a smaller --learning-rate; for regression, scale a target in the thousands or more first

"""#)
    }

    func test_layers10() throws {
        let r = try reporter()
        assertOutput(try r.layers(runID: 10, loader: xorLoader), #"""
layers of run 10 xor: 2-2-1, relu hidden units
gradient_l2: norm of the epoch's mean gradient; update_ratio: learning_rate x gradient_l2 / weight_l2 (~1e-3 is healthy)

epoch  layer  weight_l2  gradient_l2  update_ratio  dead_relu  flags
────────────────────────────────────────────────────────────────────
    0      1        2.5            -             -          0
    0      2      1.414            -             -          -
    1      1      2.443       0.2412       0.04937          0
    1      2      1.305       0.2182       0.08357          -
    2      1      2.397       0.1983       0.04137          0
    2      2      1.213        0.186       0.07668          -
gradients neither vanishing nor exploding, no dying ReLUs; what is flagged is in the diagnosis below (updates, weights, accuracy)

diagnosis (see docs/cli-report.md, Diagnostics):
  chance-accuracy at epoch 2: train_accuracy 0.25 is at chance level (1/2 = 0.5; flagged up to 0.55); try another --learning-rate (report grid over a sweep of them), more epochs, or a wider or shallower network

"""#)
    }

    func test_tensors() throws {
        let r = try reporter()
        assertOutput(String(decoding: try r.tensors(runID: 1, epoch: 2, layer: 1), as: UTF8.self), #"""
tensors of run 1 lr0.01-bs16-s1 at epoch 2

layer 1 bias [1 x 3] float32  l2 0.4677  mean 0.08333  std 0.2569  min -0.25  max 0.375
    0      0.125      -0.25      0.375

layer 1 bias_grad [1 x 3] float32  l2 0.003742  mean 6.667e-04  std 0.002055  min -0.002  max 0.003
    0      0.001     -0.002      0.003

layer 1 weight [2 x 3] float32  l2 7.155  mean -0.375  std 2.897  min -4.5  max 3.75
    0       0.75       -1.5       2.25
    1         -3       3.75       -4.5

layer 1 weight_grad [2 x 3] float32  l2 0.00477  mean -2.500e-04  std 0.001931  min -0.003  max 0.0025
    0  5.000e-04     -0.001     0.0015
    1     -0.002     0.0025     -0.003

"""#)
    }

    func test_tensorsCSV() throws {
        let r = try reporter()
        assertOutput(String(decoding: try r.tensors(runID: 1, epoch: 1, layer: 2, kind: "weight", format: .csv), as: UTF8.self), #"""
run_id,epoch,layer,kind,row,col,value
1,1,2,weight,0,0,0.5
1,1,2,weight,1,0,-1.0
1,1,2,weight,2,0,1.5

"""#)
    }

    func test_explainRow() throws {
        let r = try reporter()
        assertOutput(try r.explain(runID: 10, epoch: 0, layer: 2, from: 0, to: 0, row: 3, loader: xorLoader), #"""
run 10 xor, weights after epoch 0: layer 2 weight (0, 0) = 1
from node 0 of layer 1 to node 0 of layer 2

training row 3 (training rows count from 0 in the data's order, without the validation rows), class 0:
  value of node 0 feeding the weight        1.5
× slope of the activation at node 0         0.173105
× slope of the loss w.r.t. node 0's output  4.49034
= slope of the loss w.r.t. the weight       1.16595
  (backprop's gradient for this row: 1.16595)
a step of learning_rate 0.5 on this row alone changes the weight by -0.582975
  (with this row as a batch of one; the run's steps take the mean slope over batches of 4 rows, the whole training set)

"""#)
    }

    func test_explainAll() throws {
        let r = try reporter()
        assertOutput(try r.explain(runID: 10, epoch: 0, layer: 1, from: 1, to: 1, row: nil, loader: xorLoader), #"""
run 10 xor, weights after epoch 0: layer 1 weight (1, 1) = 2
from node 1 of the inputs to node 1 of layer 1

full training set (4 rows): mean slope of the loss w.r.t. the weight = -0.0245303
  (the mean over rows of node value × activation slope × loss slope; add --row N to see the factors of one row)
stored gradient of epoch 1: -0.0245303 (full-batch run: the same gradient)
a step of learning_rate 0.5 changes the weight by 0.0122651

"""#)
    }

    /// Without weight decay the decay term of a negative weight is 0 x w = -0.0, which JSON and CSV
    /// printed as "-0.0" (so did any factor that is 0 times a negative number): now 0.
    func test_explainJSONHasNoNegativeZero() throws {
        let r = try reporter()
        let json = try r.explain(runID: 10, epoch: 0, layer: 2, from: 1, to: 0, row: 3, loader: xorLoader, format: .json)
        let object = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])?.first)
        XCTAssertLessThan(try XCTUnwrap(object["weight"] as? Double), 0, json)
        XCTAssertTrue(json.contains(#""weight_decay_term": 0.0,"#), json)
        // Row 3 of XOR is (1, 1), class 0 (the test's loader knows no data rows: null).
        XCTAssertEqual(object["target"] as? String, "class 0", json)
        XCTAssertTrue(object["data_row"] is NSNull, json)
        let csv = try r.explain(runID: 10, epoch: 0, layer: 2, from: 1, to: 0, row: 3, loader: xorLoader, format: .csv)
        XCTAssertNil(csv.range(of: #"(^|,)-0\.0(,|\n)"#, options: .regularExpression), csv)
        // Every row and the full-data gradient of both layers' weights: no value is -0.0.
        for (layer, from, to) in [(1, 0, 0), (1, 0, 1), (1, 1, 0), (1, 1, 1), (2, 0, 0), (2, 1, 0)] {
            for row in [nil, 0, 1, 2, 3] {
                let text = try r.explain(runID: 10, epoch: 0, layer: layer, from: from, to: to, row: row, loader: xorLoader, format: .json)
                XCTAssertNil(text.range(of: #"-0\.0[,}]"#, options: .regularExpression), text)
            }
        }
    }

    func test_curves() throws {
        let r = try reporter()
        assertOutput(try r.curves(runIDs: [9], logY: true), #"""
train_loss
     4096 ┤                                                                                    ⣀⡠⠔⠒⠉
          ┤                                                                              ⢀⣀⠤⠒⠊⠉     
          ┤                                                                         ⣀⡠⠔⠒⠉⠁          
          ┤                                                                   ⢀⣀⠤⠒⠊⠉                
          ┤                                                              ⣀⡠⠔⠒⠉⠁                     
          ┤                                                        ⢀⣀⠤⠒⠊⠉                           
     37.5 ┤                                                   ⣀⡠⠔⠒⠉⠁                                
          ┤                                             ⢀⣀⠤⠒⠊⠉                                      
          ┤                                  ⢀⣀⣀⡠⠤⠤⠔⠒⠒⠊⠉⠁                                           
          ┤                      ⢀⣀⣀⡠⠤⠤⠔⠒⠒⠊⠉⠉⠁                                                      
          ┤          ⢀⣀⣀⡠⠤⠤⠔⠒⠒⠊⠉⠉⠁                                                                  
     0.75 ┤⣀⡠⠤⠤⠔⠒⠒⠊⠉⠉⠁                                                                              
          └─────────────────────────────────────────────────────────────────────────────────────────
           0                                           1                                           2
           epoch, log-scale y
  ● run 9 <b>evil & "co"</b>↵'; DROP TABLE runs; --

"""#)
    }

    func test_exportRuns() throws {
        let r = try reporter()
        assertOutput(try export(r, sweepID: 1, what: .runs, format: .csv), #"""
id,sweep_id,name,status,stop_reason,learning_rate,batch_size,momentum,epochs,seed,layers,activation,output_activation,loss,precision,dataset,validation_fraction,epochs_done,final_train_loss,final_val_loss,best_train_loss,best_val_loss,best_epoch,final_train_accuracy,final_val_accuracy,created_at,started_at,finished_at,worker,weight_decay,nesterov,hidden,init,bias,early_stopping_patience,early_stopping_monitor,min_delta,target,task,standardize,split_seed,log_tensors,init_weights,optimizer,beta1,beta2,epsilon,rho,config
1,1,lr0.01-bs16-s1,completed,completed all epochs,0.01,16,0.0,3,1,2-3-1,relu,identity,mse,float32,linear,0.25,3,0.14285714285714285,0.20535714285714285,0.14285714285714285,0.20535714285714285,3,,,<time>,<time>,<time>,fixture,0.0,0,3,,1,,,,,,,,,,sgd,,,,,"{""training"":{""weightDecay"":0}}"
2,1,lr0.01-bs16-s2,completed,completed all epochs,0.01,16,0.0,3,2,2-3-1,relu,identity,mse,float32,linear,0.25,3,0.11764705882352941,0.1801470588235294,0.11764705882352941,0.1801470588235294,3,,,<time>,<time>,<time>,fixture,0.001,0,3,,1,,,,,,,,,,sgd,,,,,"{""training"":{""weightDecay"":0.001}}"
3,1,lr0.01-bs32-s1,completed,completed all epochs,0.01,32,0.0,3,1,2-3-1,relu,identity,mse,float32,linear,0.25,3,0.25,0.3125,0.25,0.3125,3,,,<time>,<time>,<time>,fixture,0.0,0,3,,1,,,,,,,,,,sgd,,,,,"{""training"":{""weightDecay"":0}}"
4,1,lr0.01-bs32-s2,completed,completed all epochs,0.01,32,0.0,3,2,2-3-1,relu,identity,mse,float32,linear,0.25,3,0.18181818181818182,0.24431818181818182,0.18181818181818182,0.24431818181818182,3,,,<time>,<time>,<time>,fixture,0.001,0,3,,1,,,,,,,,,,sgd,,,,,"{""training"":{""weightDecay"":0.001}}"
5,1,lr0.1-bs16-s1,completed,completed all epochs,0.1,16,0.0,3,1,2-3-1,relu,identity,mse,float32,linear,0.25,3,0.07692307692307693,0.13942307692307693,0.07692307692307693,0.13942307692307693,3,,,<time>,<time>,<time>,fixture,0.0,0,3,,1,,,,,,,,,,sgd,,,,,"{""training"":{""weightDecay"":0}}"
6,1,lr0.1-bs16-s2,completed,completed all epochs,0.1,16,0.0,3,2,2-3-1,relu,identity,mse,float32,linear,0.25,3,0.06896551724137931,0.1314655172413793,0.06896551724137931,0.1314655172413793,3,,,<time>,<time>,<time>,fixture,0.001,0,3,,1,,,,,,,,,,sgd,,,,,"{""training"":{""weightDecay"":0.001}}"
7,1,lr0.1-bs32-s1,completed,completed all epochs,0.1,32,0.0,3,1,2-3-1,relu,identity,mse,float32,linear,0.25,3,0.1,0.1625,0.1,0.1625,3,,,<time>,<time>,<time>,fixture,0.0,0,3,,1,,,,,,,,,,sgd,,,,,"{""training"":{""weightDecay"":0}}"
8,1,lr0.1-bs32-s2,running,,0.1,32,0.0,3,2,2-3-1,relu,identity,mse,float32,linear,0.25,2,0.125,0.1875,0.125,0.1875,2,,,<time>,<time>,,fixture,0.001,0,3,,1,,,,,,,,,,sgd,,,,,"{""training"":{""weightDecay"":0.001}}"

"""#)
    }

    func test_sweeps() throws {
        let r = try reporter()
        assertOutput(try r.sweeps(), #"""
id  name             status   created                   runs  running  completed  tensors
─────────────────────────────────────────────────────────────────────────────────────────
 1  lr x bs <study>  running  <time>     8        1          7     3 KB

"""#)
        assertOutput(try r.sweeps(format: .csv), #"""
id,name,status,created_at,runs,queued,running,completed,pruned,diverged,failed,tensor_bytes,stalled,not_sampled
1,lr x bs <study>,running,<time>,8,0,1,7,0,0,0,2808,0,0

"""#)
    }
}
