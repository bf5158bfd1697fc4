// The plain values that go into and come out of the store. Store never sees NeuralNet's
// types: callers pass hyperparameters as strings and numbers and tensors as bytes.
import Foundation

/// The status of a run (`runs.status`).
public enum RunStatus: String, CaseIterable, Codable, Sendable {
    case queued, running, completed, pruned, diverged, failed
    /// Whether the run has ended for good (it will never be claimed again).
    public var isFinished: Bool { self != .queued && self != .running }
}

/// The status of a sweep (`sweeps.status`).
public enum SweepStatus: String, CaseIterable, Codable, Sendable {
    case queued, running, completed, interrupted, failed
}

/// Who is running a run: recorded in `runs.worker/host/pid` and `boot_id/process_start/pid_namespace`,
/// so that a run whose worker died can be recognised (same host: that process no longer exists;
/// elsewhere, or when this host cannot tell: a stale heartbeat). See `WorkerLiveness`.
public struct WorkerIdentity: Sendable, Equatable {
    public var host: String
    public var pid: Int32
    /// Free text stored in `runs.worker`, e.g. "runner 12345@box" or "worker 2".
    public var label: String
    /// The boot of the machine (`/proc/sys/kernel/random/boot_id`): another value on the same host
    /// name means the machine rebooted since, so the process is gone. Nil where unknown.
    public var bootID: String?
    /// When the process started, in clock ticks after boot (`/proc/PID/stat` field 22): with the
    /// boot id it tells the process from a later one given the same pid. Nil where unknown.
    public var startTime: Int64?
    /// The PID namespace the pid is counted in (`readlink /proc/self/ns/pid`, e.g. "pid:[4026531836]"):
    /// in a container, pid 1 is the worker there, not the host's init. Nil where unknown.
    public var pidNamespace: String?

    public init(host: String, pid: Int32, label: String, bootID: String? = nil, startTime: Int64? = nil,
                pidNamespace: String? = nil) {
        self.host = host
        self.pid = pid
        self.label = label
        self.bootID = bootID
        self.startTime = startTime
        self.pidNamespace = pidNamespace
    }

    /// This process: the host name and pid from the operating system, and (on Linux) its boot id,
    /// start time and PID namespace.
    public static func current(label: String? = nil) -> WorkerIdentity {
        // gethostname, not ProcessInfo.hostName: the latter may wait on a DNS lookup.
        var buffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&buffer, buffer.count - 1) == 0 ? String(cString: buffer) : "localhost"
        let pid = getpid()
        return WorkerIdentity(host: host, pid: pid, label: label ?? "\(pid)@\(host)", bootID: WorkerLiveness.bootID,
                              startTime: WorkerLiveness.ownStartTime, pidNamespace: WorkerLiveness.ownPIDNamespace)
    }

    /// Whether `other` names this very process (not just the same pid on the same host).
    func isSameProcess(host: String?, pid: Int32?, bootID: String?, startTime: Int64?) -> Bool {
        host == self.host && pid == self.pid && bootID == self.bootID && startTime == self.startTime
    }
}

extension SlopeStore {
    /// A run to queue: the typed hyperparameter columns plus the full configuration as JSON.
    public struct NewRun: Sendable, Equatable {
        public var name: String?
        public var learningRate: Double
        public var batchSize: Int
        public var momentum: Double
        /// Planned number of training epochs.
        public var epochs: Int
        /// Stored as the signed 64-bit integer with the same bits (runner only gives 0 to 2^63 - 1, which read back as they are).
        public var seed: UInt64
        /// Layer sizes, inputs first: "64-64-10".
        public var layers: String
        public var activation: String
        public var outputActivation: String
        public var loss: String
        public var precision: DType
        public var dataset: String
        public var datasetSHA256: String?
        public var validationFraction: Double
        /// Everything needed to rebuild and resume the run (must be valid JSON).
        public var configJSON: String
        public var slopeVersion: String

        public init(name: String? = nil, learningRate: Double, batchSize: Int, momentum: Double = 0,
                    epochs: Int, seed: UInt64, layers: String, activation: String,
                    outputActivation: String, loss: String, precision: DType = .float32,
                    dataset: String, datasetSHA256: String? = nil, validationFraction: Double = 0,
                    configJSON: String, slopeVersion: String) {
            self.name = name
            self.learningRate = learningRate
            self.batchSize = batchSize
            self.momentum = momentum
            self.epochs = epochs
            self.seed = seed
            self.layers = layers
            self.activation = activation
            self.outputActivation = outputActivation
            self.loss = loss
            self.precision = precision
            self.dataset = dataset
            self.datasetSHA256 = datasetSHA256
            self.validationFraction = validationFraction
            self.configJSON = configJSON
            self.slopeVersion = slopeVersion
        }
    }

    /// One row of `runs`.
    public struct RunRecord: Sendable, Equatable {
        public var id: Int64
        public var sweepID: Int64?
        public var status: RunStatus
        public var stopReason: String?
        /// The hyperparameters and configuration the run was queued with.
        public var settings: NewRun
        public var createdAt: String
        public var startedAt: String?
        public var finishedAt: String?
        public var heartbeatAt: String?
        public var worker: String?
        public var host: String?
        public var pid: Int32?
        public var error: String?
        /// Last epoch stored (0 = only the initial state, or nothing yet).
        public var epochsDone: Int
        public var finalTrainLoss: Double?
        public var finalValidationLoss: Double?
        public var finalTrainAccuracy: Double?
        public var finalValidationAccuracy: Double?
        public var bestTrainLoss: Double?
        public var bestValidationLoss: Double?
        public var bestEpoch: Int?

        public init(id: Int64, sweepID: Int64?, status: RunStatus, stopReason: String?, settings: NewRun,
                    createdAt: String, startedAt: String?, finishedAt: String?, heartbeatAt: String?,
                    worker: String?, host: String?, pid: Int32?, error: String?, epochsDone: Int,
                    finalTrainLoss: Double?, finalValidationLoss: Double?, finalTrainAccuracy: Double?,
                    finalValidationAccuracy: Double?, bestTrainLoss: Double?, bestValidationLoss: Double?,
                    bestEpoch: Int?) {
            self.id = id
            self.sweepID = sweepID
            self.status = status
            self.stopReason = stopReason
            self.settings = settings
            self.createdAt = createdAt
            self.startedAt = startedAt
            self.finishedAt = finishedAt
            self.heartbeatAt = heartbeatAt
            self.worker = worker
            self.host = host
            self.pid = pid
            self.error = error
            self.epochsDone = epochsDone
            self.finalTrainLoss = finalTrainLoss
            self.finalValidationLoss = finalValidationLoss
            self.finalTrainAccuracy = finalTrainAccuracy
            self.finalValidationAccuracy = finalValidationAccuracy
            self.bestTrainLoss = bestTrainLoss
            self.bestValidationLoss = bestValidationLoss
            self.bestEpoch = bestEpoch
        }
    }

    /// A run handed to a worker by `claimNextRun` or `reclaimInterruptedRuns`.
    public struct ClaimedRun: Sendable, Equatable {
        public var run: RunRecord
        /// The last epoch already stored for the run (nil: nothing stored, start from scratch).
        public var lastStoredEpoch: Int?
        public var id: Int64 { run.id }

        public init(run: RunRecord, lastStoredEpoch: Int?) {
            self.run = run
            self.lastStoredEpoch = lastStoredEpoch
        }
    }

    /// One row of `sweeps`, with how many runs it has (the one read model of a sweep: the runner's
    /// and the reports').
    public struct SweepRecord: Sendable, Equatable {
        public var id: Int64
        public var name: String
        public var specJSON: String
        public var createdAt: String
        public var status: SweepStatus
        /// Runs of the sweep (queued ones included; a sampled sweep's trials made so far).
        public var runCount: Int

        public init(id: Int64, name: String, specJSON: String, createdAt: String, status: SweepStatus, runCount: Int = 0) {
            self.id = id
            self.name = name
            self.specJSON = specJSON
            self.createdAt = createdAt
            self.status = status
            self.runCount = runCount
        }

        /// The query of every sweep with its run count (append a WHERE on `s` and an ORDER BY).
        static let selectSQL = """
            SELECT s.id, s.name, s.spec, s.created_at, s.status, (SELECT count(*) FROM runs WHERE sweep_id = s.id) AS run_count
            FROM sweeps AS s
            """
    }

    /// One row of `epochs`. NaN losses are stored (and read back) as nil: SQLite has no NaN.
    public struct EpochRecord: Sendable, Equatable {
        public var epoch: Int
        public var trainLoss: Double?
        public var validationLoss: Double?
        public var trainAccuracy: Double?
        public var validationAccuracy: Double?
        public var seconds: Double

        public init(epoch: Int, trainLoss: Double?, validationLoss: Double? = nil,
                    trainAccuracy: Double? = nil, validationAccuracy: Double? = nil, seconds: Double = 0) {
            self.epoch = epoch
            self.trainLoss = trainLoss
            self.validationLoss = validationLoss
            self.trainAccuracy = trainAccuracy
            self.validationAccuracy = validationAccuracy
            self.seconds = seconds
        }

        static let selectList = "epoch, train_loss, val_loss, train_accuracy, val_accuracy, seconds"

        /// From a row holding the columns of `selectList`.
        init(row: SQLRow) throws {
            self.init(epoch: try row.required("epoch"), trainLoss: row.get("train_loss"), validationLoss: row.get("val_loss"),
                      trainAccuracy: row.get("train_accuracy"), validationAccuracy: row.get("val_accuracy"),
                      seconds: row.get("seconds") ?? 0)
        }
    }

    /// `tensors.kind`.
    public enum TensorKind: String, CaseIterable, Codable, Sendable {
        case weight, bias
        case weightGradient = "weight_grad", biasGradient = "bias_grad"
        case weightVelocity = "weight_velocity", biasVelocity = "bias_velocity"
        case weightAdamM = "weight_adam_m", biasAdamM = "bias_adam_m"
        case weightAdamV = "weight_adam_v", biasAdamV = "bias_adam_v"
        case weightRMS = "weight_rms", biasRMS = "bias_rms"
        /// The optimizer's step count after the epoch: [1 x 1] float64, stored with layer 1 (adam, adamw).
        case step

        /// `rawValue` as static text, bound without a copy.
        var sqlText: StaticString {
            switch self {
            case .weight: return "weight"
            case .bias: return "bias"
            case .weightGradient: return "weight_grad"
            case .biasGradient: return "bias_grad"
            case .weightVelocity: return "weight_velocity"
            case .biasVelocity: return "bias_velocity"
            case .weightAdamM: return "weight_adam_m"
            case .biasAdamM: return "bias_adam_m"
            case .weightAdamV: return "weight_adam_v"
            case .biasAdamV: return "bias_adam_v"
            case .weightRMS: return "weight_rms"
            case .biasRMS: return "bias_rms"
            case .step: return "step"
            }
        }
    }

    /// `tensors.dtype` (and `runs.precision`).
    public enum DType: String, CaseIterable, Codable, Sendable {
        case float32, float64
        public var byteCount: Int { self == .float32 ? 4 : 8 }
        /// `rawValue` as static text, bound without a copy.
        var sqlText: StaticString { self == .float32 ? "float32" : "float64" }
    }

    /// A tensor to store: rows x cols little-endian IEEE-754 values, row-major.
    public struct TensorRecord: Sendable, Equatable {
        public var layer: Int
        public var kind: TensorKind
        public var rows: Int
        public var cols: Int
        public var dtype: DType
        /// rows * cols * dtype.byteCount bytes.
        public var data: [UInt8]

        public init(layer: Int, kind: TensorKind, rows: Int, cols: Int, dtype: DType, data: [UInt8]) {
            self.layer = layer
            self.kind = kind
            self.rows = rows
            self.cols = cols
            self.dtype = dtype
            self.data = data
        }
    }

    /// A stored tensor with the statistics computed when it was written (nil when not finite).
    public struct StoredTensor: Sendable, Equatable {
        public var epoch: Int
        public var tensor: TensorRecord
        public var statistics: TensorStatistics

        public init(epoch: Int, tensor: TensorRecord, statistics: TensorStatistics) {
            self.epoch = epoch
            self.tensor = tensor
            self.statistics = statistics
        }
    }
}

/// `tensors.l2/mean/std/min/max`: nil where the value is not finite.
public struct TensorStatistics: Sendable, Equatable {
    public var l2: Double?
    public var mean: Double?
    /// Population standard deviation (numpy's default, ddof = 0).
    public var std: Double?
    public var min: Double?
    public var max: Double?

    public init(l2: Double?, mean: Double?, std: Double?, min: Double?, max: Double?) {
        self.l2 = l2
        self.mean = mean
        self.std = std
        self.min = min
        self.max = max
    }
}
