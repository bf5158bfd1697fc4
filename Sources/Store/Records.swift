// The plain values that go into and come out of the store, and how rows decode into them. Store
// never sees NeuralNet's types: callers pass hyperparameters as strings and numbers and tensors as bytes.
import Foundation

/// The status of a run (`runs.status`). Shown as stored, also in string interpolation.
public enum RunStatus: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case queued, running, completed, pruned, diverged, failed
    public var description: String { rawValue }
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

/// One claim of a run: the worker and the fencing token its claim returned (`ClaimedRun.claimToken`).
/// The store's guarded writes (`writeEpoch`, `heartbeat`, `finishRun`, `requeueRun`) change
/// nothing unless the run is `running` under exactly this token and worker.
public struct RunHolder: Sendable, Equatable {
    public var worker: WorkerIdentity
    public var claimToken: Int64

    public init(worker: WorkerIdentity, claimToken: Int64) {
        self.worker = worker
        self.claimToken = claimToken
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

    /// One row of `runs` (the one read model of a run: the worker's, the runner's, the reports' and
    /// the dashboard's; only the TPE sampler reads the narrower `TrialRecord`, for speed). Typed properties for what the code uses; `run[column]` for the value of any
    /// `RunColumn` as stored (what filters, sorts and tables work with). The settings the run was
    /// queued with read through: `run.learningRate`, `run.layers`, `run.configJSON`.
    @dynamicMemberLookup
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
        /// The values of the `RunColumn`s without a property of their own here, by column, as stored:
        /// the settings Store derives from `config` on insert (weight_decay, optimizer, hidden, ...).
        public var derivedSettings: [RunColumn: RunValue]

        public init(id: Int64, sweepID: Int64?, status: RunStatus, stopReason: String?, settings: NewRun,
                    createdAt: String, startedAt: String?, finishedAt: String?, heartbeatAt: String?,
                    worker: String?, host: String?, pid: Int32?, error: String?, epochsDone: Int,
                    finalTrainLoss: Double?, finalValidationLoss: Double?, finalTrainAccuracy: Double?,
                    finalValidationAccuracy: Double?, bestTrainLoss: Double?, bestValidationLoss: Double?,
                    bestEpoch: Int?, derivedSettings: [RunColumn: RunValue] = [:]) {
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
            self.derivedSettings = derivedSettings
        }

        public subscript<Value>(dynamicMember field: KeyPath<NewRun, Value>) -> Value { settings[keyPath: field] }
    }

    /// A run handed to a worker by `claimNextRun` or `reclaimInterruptedRuns`.
    public struct ClaimedRun: Sendable, Equatable {
        public var run: RunRecord
        /// The last epoch already stored for the run (nil: nothing stored, start from scratch).
        public var lastStoredEpoch: Int?
        /// The run's fencing token (`runs.claim_token`) as this claim set it: every claim of the run
        /// adds 1, so a worker's writes with a smaller token (its run was taken over, or requeued and
        /// claimed again) are refused. Pass it to `writeEpoch`, `heartbeat`, `finishRun` and `requeueRun`.
        public var claimToken: Int64
        public var id: Int64 { run.id }

        public init(run: RunRecord, lastStoredEpoch: Int?, claimToken: Int64) {
            self.run = run
            self.lastStoredEpoch = lastStoredEpoch
            self.claimToken = claimToken
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
        /// The sweep's total of runs: those made (queued ones included) plus, for a sampled (tpe)
        /// sweep, the trials not sampled yet, so that a 30-trial sweep counts 30 from its start.
        public var runCount: Int
        /// Trials of a sampled (tpe) sweep not sampled yet (its spec's `count` less the runs made); 0 for other sweeps.
        public var unsampledCount: Int
        /// The runs made so far (rows of `runs`).
        public var storedRunCount: Int { runCount - unsampledCount }

        public init(id: Int64, name: String, specJSON: String, createdAt: String, status: SweepStatus, runCount: Int = 0,
                    unsampledCount: Int = 0) {
            self.id = id
            self.name = name
            self.specJSON = specJSON
            self.createdAt = createdAt
            self.status = status
            self.runCount = runCount
            self.unsampledCount = unsampledCount
        }

        /// How many trials a sampled (`method: tpe`) sweep with `storedRuns` runs has not sampled yet,
        /// by its spec's `count`; 0 for other methods and for a spec whose `count` is not a whole
        /// number (a damaged spec: the runner refuses it, the reports count the runs there are).
        static func unsampledTrials(specJSON: String, storedRuns: Int) -> Int {
            let head = Head(specJSON: specJSON)
            guard head.method == "tpe", let count = head.count else { return 0 }
            return max(0, count - storedRuns)
        }

        /// The stored spec's head, which Store and the reports read: its method, its trial count and
        /// its metric. The spec's owner (it writes and checks the whole of it) is Experiments' SweepSpec.
        public var head: Head { Head(specJSON: specJSON) }

        /// The keys of a stored spec read outside Experiments, decoded in this one place; each nil when
        /// missing or of another type (a damaged spec: the runner refuses it, the reports do without).
        public struct Head: Decodable, Equatable, Sendable {
            /// `metric:` with both its name and its goal.
            public struct Metric: Equatable, Sendable {
                /// `val_loss`, `train_loss`, `val_accuracy` or `train_accuracy`.
                public var name: String
                /// Whether the goal is `maximize` (else `minimize`).
                public var maximize: Bool
                public init(name: String, maximize: Bool) { self.name = name; self.maximize = maximize }
            }
            /// `grid`, `random` or `tpe`.
            public var method: String?
            /// How many runs a random or tpe sweep makes.
            public var count: Int?
            public var metric: Metric?

            private enum CodingKeys: String, CodingKey { case method, count, metric }
            private enum MetricKeys: String, CodingKey { case name, goal }

            /// Decodes the head of `specJSON`; every field nil when it is not a JSON object.
            public init(specJSON: String) {
                self = (try? JSONDecoder().decode(Head.self, from: Data(specJSON.utf8))) ?? Head()
            }

            private init() {}

            public init(from decoder: Decoder) throws {
                let keys = try decoder.container(keyedBy: CodingKeys.self)
                method = try? keys.decode(String.self, forKey: .method)
                count = try? keys.decode(Int.self, forKey: .count)
                if let metricKeys = try? keys.nestedContainer(keyedBy: MetricKeys.self, forKey: .metric),
                   let name = try? metricKeys.decode(String.self, forKey: .name),
                   let goal = try? metricKeys.decode(String.self, forKey: .goal) {
                    metric = Metric(name: name, maximize: goal == "maximize")
                }
            }
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

    /// `tensors.kind`. Shown as stored ("weight_grad"), also in string interpolation.
    public enum TensorKind: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
        case weight, bias
        case weightGradient = "weight_grad", biasGradient = "bias_grad"
        case weightVelocity = "weight_velocity", biasVelocity = "bias_velocity"
        case weightAdamM = "weight_adam_m", biasAdamM = "bias_adam_m"
        case weightAdamV = "weight_adam_v", biasAdamV = "bias_adam_v"
        case weightRMS = "weight_rms", biasRMS = "bias_rms"
        /// The optimizer's step count after the epoch: [1 x 1] float64, stored with layer 1 (adam, adamw).
        case step

        public var description: String { rawValue }

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
    public enum DType: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
        case float32, float64
        public var byteCount: Int { self == .float32 ? 4 : 8 }
        public var description: String { rawValue }
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

    /// One row of `tensors` (the one read model of a stored tensor: the runner's, the reports' and
    /// the dashboard's): the tensor with the statistics computed when it was written (nil when not
    /// finite). Their fields read through: `stored.layer`, `stored.kind`, `stored.doubles`, `stored.l2`.
    @dynamicMemberLookup
    public struct StoredTensor: Sendable, Equatable {
        public var runID: Int64
        public var epoch: Int
        public var tensor: TensorRecord
        public var statistics: TensorStatistics

        public init(runID: Int64, epoch: Int, tensor: TensorRecord, statistics: TensorStatistics) {
            self.runID = runID
            self.epoch = epoch
            self.tensor = tensor
            self.statistics = statistics
        }

        public subscript<Value>(dynamicMember field: KeyPath<TensorRecord, Value>) -> Value { tensor[keyPath: field] }
        public subscript<Value>(dynamicMember field: KeyPath<TensorStatistics, Value>) -> Value { statistics[keyPath: field] }
    }
}

/// A tensor's values: float32 ones as `Float`, float64 ones as `Double`, row-major.
public enum TensorValues: Sendable {
    case float32([Float])
    case float64([Double])
}

extension SlopeStore.TensorRecord {
    /// rows * cols * dtype.byteCount: what `data` holds in a well-formed record (every one read from
    /// the store); Int.max for a shape too large to count.
    public var expectedByteCount: Int {
        let (count, countOverflows) = rows.multipliedReportingOverflow(by: cols)
        let (bytes, bytesOverflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
        return countOverflows || bytesOverflow ? Int.max : bytes
    }

    /// The values decoded from `data`: the one decoder of the tensors' little-endian layout.
    /// Always rows x cols values; values that a malformed record's `data` lacks read as 0.
    /// - Complexity: one copy of the bytes (a byte swap on big-endian hosts).
    public var values: TensorValues {
        func decode<Value: BinaryFloatingPoint>(_ type: Value.Type) -> [Value] {
            let count = expectedByteCount == Int.max ? 0 : Swift.max(0, rows) * Swift.max(0, cols)
            var result = [Value](repeating: 0, count: count)
            result.withUnsafeMutableBytes { target in
                data.withUnsafeBytes { source in
                    let width = MemoryLayout<Value>.size
                    let whole = Swift.min(target.count, source.count - source.count % width)
                    target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source.prefix(whole)))
                    #if _endian(big)
                    for start in stride(from: 0, to: whole, by: width) { target[start..<(start + width)].reverse() }
                    #endif
                }
            }
            return result
        }
        switch dtype {
        case .float32: return .float32(decode(Float.self))
        case .float64: return .float64(decode(Double.self))
        }
    }

    /// The values widened to Double (exact for float32), row-major.
    public var doubles: [Double] {
        switch values {
        case .float32(let values): return values.map(Double.init)
        case .float64(let values): return values
        }
    }
}

extension SlopeStore.RunRecord {
    /// The value of a column as stored (NULL where the row has none): a view of the typed
    /// properties, and of `derivedSettings` for the columns without one.
    public subscript(_ column: RunColumn) -> RunValue {
        if let typed = Self.typedColumns[column] { return typed(self) }
        return derivedSettings[column] ?? .null
    }

    public func text(_ column: RunColumn) -> String? { if case .text(let v) = self[column] { return v }; return nil }
    public func number(_ column: RunColumn) -> Double? { self[column].double }
    /// Whether the run holds out validation rows: `RunFilter.validating`, on a run in memory.
    public var validates: Bool { (number(.validation_fraction) ?? 0) > 0 }
    /// A whole-number column as an Int (nil for NULL, text, or a real that is not a whole Int).
    public func integer(_ column: RunColumn) -> Int? {
        switch self[column] {
        case .integer(let v): return Int(v)
        case .real(let v): return Int(exactly: v)
        case .text, .null: return nil
        }
    }

    /// The columns with a typed property, and their values as the store holds them (a seed as the
    /// signed 64-bit integer with its bits; a status or precision as its text).
    static let typedColumns: [RunColumn: @Sendable (Self) -> RunValue] = [
        .id: { .integer($0.id) }, .sweep_id: { RunValue($0.sweepID) }, .name: { RunValue($0.settings.name) },
        .status: { .text($0.status.rawValue) }, .stop_reason: { RunValue($0.stopReason) },
        .learning_rate: { RunValue($0.settings.learningRate) }, .batch_size: { RunValue($0.settings.batchSize) },
        .momentum: { RunValue($0.settings.momentum) }, .epochs: { RunValue($0.settings.epochs) },
        .seed: { .integer(Int64(bitPattern: $0.settings.seed)) }, .layers: { .text($0.settings.layers) },
        .activation: { .text($0.settings.activation) }, .output_activation: { .text($0.settings.outputActivation) },
        .loss: { .text($0.settings.loss) }, .precision: { .text($0.settings.precision.rawValue) },
        .dataset: { .text($0.settings.dataset) }, .validation_fraction: { RunValue($0.settings.validationFraction) },
        .epochs_done: { RunValue($0.epochsDone) }, .final_train_loss: { RunValue($0.finalTrainLoss) },
        .final_val_loss: { RunValue($0.finalValidationLoss) }, .best_train_loss: { RunValue($0.bestTrainLoss) },
        .best_val_loss: { RunValue($0.bestValidationLoss) }, .best_epoch: { RunValue($0.bestEpoch) },
        .final_train_accuracy: { RunValue($0.finalTrainAccuracy) }, .final_val_accuracy: { RunValue($0.finalValidationAccuracy) },
        .created_at: { .text($0.createdAt) }, .started_at: { RunValue($0.startedAt) }, .finished_at: { RunValue($0.finishedAt) },
        .worker: { RunValue($0.worker) },
    ]
}

// MARK: - Decoding rows (internal: the query files reuse them)

extension SlopeStore.RunRecord {
    /// The columns `init(row:)` reads: every `RunColumn` (qualified, as filters and sorts name them),
    /// then those only the typed properties hold.
    private static let columnNames = RunColumn.allCases.map(\.rawValue)
        + ["config", "error", "dataset_sha256", "slope_version", "heartbeat_at", "host", "pid"]
    static let selectList = columnNames.map { "runs.\($0)" }.joined(separator: ", ")
    /// Each column's position in `selectList`: rows are read by position, not searched by name.
    private static let positions = Dictionary(uniqueKeysWithValues: columnNames.enumerated().map { ($1, $0) })
    /// The `RunColumn`s read into `derivedSettings` (those without a typed property), with their positions.
    private static let derivedColumns = RunColumn.allCases.enumerated().filter { typedColumns[$1] == nil }

    /// From a row of `selectList`; throws for a status or precision Slope does not know, or a
    /// required column that is NULL (a database written by something else).
    init(row: SQLRow) throws {
        func value(_ name: String) -> SQLValue { row[Self.positions[name]!] }
        func get<T: SQLValueConvertible>(_ name: String) -> T? { T(sqlValue: value(name)) }
        func required<T: SQLValueConvertible>(_ name: String) throws -> T {
            guard let typed = T(sqlValue: value(name)) else {
                throw StoreError.invalidValue("column \(name) holds \(value(name)), not a \(T.self)")
            }
            return typed
        }
        let id: Int64 = try required("id")
        guard let status = (get("status") as String?).flatMap(RunStatus.init(rawValue:)),
              let precision = (get("precision") as String?).flatMap(SlopeStore.DType.init(rawValue:)) else {
            throw StoreError.corrupt(path: "database", detail: "run \(id) has an unknown status or precision")
        }
        let seed: Int64 = try required("seed")
        var derivedSettings: [RunColumn: RunValue] = [:]
        for (position, column) in Self.derivedColumns { derivedSettings[column] = RunValue(row[position]) }
        self.init(
            id: id, sweepID: get("sweep_id"), status: status, stopReason: get("stop_reason"),
            settings: SlopeStore.NewRun(
                name: get("name"), learningRate: try required("learning_rate"), batchSize: try required("batch_size"),
                momentum: try required("momentum"), epochs: try required("epochs"), seed: UInt64(bitPattern: seed),
                layers: try required("layers"), activation: try required("activation"),
                outputActivation: try required("output_activation"), loss: try required("loss"), precision: precision,
                dataset: try required("dataset"), datasetSHA256: get("dataset_sha256"),
                validationFraction: try required("validation_fraction"), configJSON: try required("config"),
                slopeVersion: try required("slope_version")),
            createdAt: try required("created_at"), startedAt: get("started_at"), finishedAt: get("finished_at"),
            heartbeatAt: get("heartbeat_at"), worker: get("worker"), host: get("host"), pid: get("pid"),
            error: get("error"), epochsDone: try required("epochs_done"),
            finalTrainLoss: get("final_train_loss"), finalValidationLoss: get("final_val_loss"),
            finalTrainAccuracy: get("final_train_accuracy"), finalValidationAccuracy: get("final_val_accuracy"),
            bestTrainLoss: get("best_train_loss"), bestValidationLoss: get("best_val_loss"), bestEpoch: get("best_epoch"),
            derivedSettings: derivedSettings)
    }
}

extension SlopeStore.SweepRecord {
    init(row: SQLRow) throws {
        let id: Int64 = try row.required("id")
        guard let status = row.get("status", as: String.self).flatMap(SweepStatus.init(rawValue:)) else {
            throw StoreError.corrupt(path: "database", detail: "sweep \(id) has an unknown status")
        }
        let specJSON: String = try row.required("spec"), storedRuns: Int = try row.required("run_count")
        let unsampled = Self.unsampledTrials(specJSON: specJSON, storedRuns: storedRuns)
        self.init(id: id, name: try row.required("name"), specJSON: specJSON, createdAt: try row.required("created_at"),
                  status: status, runCount: storedRuns + unsampled, unsampledCount: unsampled)
    }
}

extension SlopeStore.StoredTensor {
    /// The tensor a `tensors` row holds, checked: a known kind and dtype, a shape of whole numbers
    /// above 0, and data (a blob) of exactly rows x cols values of the dtype. Anything else is a row
    /// Slope never writes: changed outside Slope (the sqlite3 shell, a script), and refused as
    /// `.damagedTensor` naming the run, epoch and tensor, rather than read as garbage. Every read
    /// of tensors goes through it (the runner's, report's, the dashboard's, `export --format sqlite`).
    static func checked(runID: Int64?, epoch: Int?, layer: SQLValue, kind: SQLValue, rows: SQLValue, cols: SQLValue,
                        dtype: SQLValue, data: SQLValue) throws -> SlopeStore.TensorRecord {
        let kindText = String(sqlValue: kind), layerNumber = Int(sqlValue: layer)
        let name = (kindText.map { "the \(shownText($0))" } ?? "a tensor") + (layerNumber.map { " of layer \($0)" } ?? "")
        let row = runID.flatMap { runID in epoch.flatMap { epoch in sqlCondition(layer).flatMap { layer in sqlCondition(kind).map { kind in
            "run_id = \(runID) AND epoch = \(epoch) AND layer \(layer) AND kind \(kind)"
        } } } }
        func damaged(_ detail: String) -> StoreError { .damagedTensor(runID: runID, epoch: epoch, tensor: name, detail: detail, row: row) }
        guard let layerNumber else { throw damaged("its layer is \(describe(layer)), not a whole number") }
        guard let kindText, let tensorKind = SlopeStore.TensorKind(rawValue: kindText) else {
            throw damaged("its kind is \(describe(kind)), which Slope does not write")
        }
        guard let dtypeText = String(sqlValue: dtype), let tensorType = SlopeStore.DType(rawValue: dtypeText) else {
            throw damaged("its dtype is \(describe(dtype)), not float32 or float64")
        }
        guard let rowCount = Int(sqlValue: rows), let colCount = Int(sqlValue: cols), rowCount > 0, colCount > 0 else {
            throw damaged("its shape is \(describe(rows)) x \(describe(cols)), not whole numbers above 0")
        }
        guard let bytes = Data(sqlValue: data) else { throw damaged("its data is \(describe(data)), not bytes") }
        let tensor = SlopeStore.TensorRecord(layer: layerNumber, kind: tensorKind, rows: rowCount, cols: colCount, dtype: tensorType, data: [UInt8](bytes))
        guard tensor.data.count == tensor.expectedByteCount else {
            let needed = tensor.expectedByteCount == Int.max ? "more than a file holds" : "\(tensor.expectedByteCount)"
            throw damaged("it holds \(tensor.data.count) bytes, and its shape, \(rowCount) x \(colCount) \(tensorType), needs \(needed)")
        }
        return tensor
    }

    /// `= value` (or `IS NULL`) as SQL that both dialects read, for the DELETE a damaged row's
    /// message offers: a number (an infinity as 9e999, which SQLite reads as one), 'text' with its
    /// quotes doubled, X'hex' for a blob; nil for text or a blob too long to put in a message.
    private static func sqlCondition(_ value: SQLValue) -> String? {
        switch value {
        case .null: return "IS NULL"
        case let .integer(number): return "= \(number)"
        case let .real(number): return number.isInfinite ? (number > 0 ? "= 9e999" : "= -9e999") : "= \(number)"
        case let .text(text): return text.utf8.count > 100 ? nil : "= '" + text.replacingOccurrences(of: "'", with: "''") + "'"
        case let .blob(bytes): return bytes.count > 50 ? nil : "= X'" + bytes.map { String(format: "%02X", $0) }.joined() + "'"
        }
    }

    /// A stored value as a message shows it: NULL, a number, 'text' (cut short), or a blob's size.
    private static func describe(_ value: SQLValue) -> String {
        switch value {
        case .null: return "NULL"
        case let .integer(number): return String(number)
        case let .real(number): return String(number)
        case let .text(text): return shownText(text, quote: "'")
        case let .blob(bytes): return "a blob of \(bytes.count) bytes"
        }
    }

    /// The columns `init(row:)` reads, in its order.
    static let selectList = "run_id, epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max"

    /// From a row of `selectList`; throws `.damagedTensor` for a row Slope cannot have written
    /// (`checked`).
    init(row: SQLRow) throws {
        let (runID, epoch) = (Int64(sqlValue: row[0]), Int(sqlValue: row[1]))
        let tensor = try Self.checked(runID: runID, epoch: epoch, layer: row[2], kind: row[3], rows: row[4], cols: row[5], dtype: row[6], data: row[7])
        guard let runID, let epoch else { throw StoreError.damagedTensor(runID: runID, epoch: epoch, tensor: "a tensor", detail: "no run or epoch", row: nil) }
        self.init(runID: runID, epoch: epoch, tensor: tensor,
                  statistics: TensorStatistics(l2: Double(sqlValue: row[8]), mean: Double(sqlValue: row[9]),
                                               std: Double(sqlValue: row[10]), min: Double(sqlValue: row[11]),
                                               max: Double(sqlValue: row[12])))
    }
}
