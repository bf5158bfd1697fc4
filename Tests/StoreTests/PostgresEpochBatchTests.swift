// Several epochs of a run in one statement on PostgreSQL (PostgresBackend.writeEpochs, what an
// EpochWriter does with the epochs that queued up), against the real test server: the same rows,
// bytes and summary as one writeEpoch per epoch (and as SQLite's); all or nothing (a refused epoch
// leaves none of the batch stored, a run taken over gets none); a lost answer ends with every
// epoch stored once, bit for bit. And statements sent behind one still on its way (startEpochs):
// the same rows; stored only if the one before was.
import Foundation
import PostgresNIO
import TestSupport
import XCTest
@testable import Store

final class PostgresEpochBatchTests: XCTestCase {
    private var database: TestDatabase!

    override func setUpWithError() throws { database = try PostgresTestCluster.makeDatabase() }

    override func tearDown() { database?.drop() }

    private let worker = WorkerIdentity.current(label: "test worker")
    private var holder: RunHolder { RunHolder(worker: worker, claimToken: PostgresEpochWriteTests.heldClaim) }

    private func storedEpochs(_ backend: PostgresBackend, _ runID: Int64) throws -> [Int64] {
        try backend.read { try $0.values("SELECT epoch FROM epochs WHERE run_id = ? ORDER BY epoch", [runID], as: Int64.self) }
    }

    /// The rows of a run that the comparisons cover: epochs, tensors, summary columns.
    private func rows(_ backend: PostgresBackend, _ runID: Int64) throws -> [[SQLValue]] {
        try backend.read { c in
            try c.rows("SELECT epoch, train_loss, val_loss, train_accuracy, val_accuracy, seconds FROM epochs WHERE run_id = ? ORDER BY epoch", [runID]).map(\.values)
            + c.rows("SELECT epoch, layer, kind, rows, cols, dtype, data, l2, mean, std, min, max FROM tensors WHERE run_id = ? ORDER BY epoch, layer, kind", [runID]).map(\.values)
            + c.rows("""
                SELECT epochs_done, final_train_loss, final_val_loss, final_train_accuracy, final_val_accuracy,
                       best_train_loss, best_val_loss, best_epoch FROM runs WHERE id = ?
                """, [runID]).map(\.values)
        }
    }

    /// Stores an epoch of the run through another store (another connection), as an earlier
    /// writer would have.
    private func storeElsewhere(_ runID: Int64, _ epoch: (SlopeStore.EpochRecord, [SlopeStore.TensorRecord])) throws {
        let other = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? other.close() }
        try other.writeEpoch(runID: runID, epoch.0, tensors: epoch.1, holder: holder)
    }

    /// A store whose connections go through `proxy` (plain TCP).
    private func backendThrough(_ proxy: LoopbackProxy, maximumConnections: Int = 4,
                                reconnection: SlopeStore.PostgresReconnection = .init()) throws -> PostgresBackend {
        let url = try PostgresTestCluster.url(host: "127.0.0.1", port: proxy.port, database: database.name, query: "sslmode=disable")
        return try PostgresBackend(settings: try PostgresSettings(url: url, environment: [:]), mode: .readWrite,
                                   maximumConnections: maximumConnections, reconnection: reconnection)
    }

    /// Each epoch's tensors are stored once, bit for bit.
    private func assertTensorsStored(_ backend: PostgresBackend, _ runID: Int64,
                                     _ epochs: [(SlopeStore.EpochRecord, [SlopeStore.TensorRecord])]) throws {
        for (epoch, tensors) in epochs {
            let stored = try backend.read { try $0.rows("SELECT layer, kind, data FROM tensors WHERE run_id = ? AND epoch = ? ORDER BY layer, kind",
                                                        [runID, Int64(epoch.epoch)]) }
            XCTAssertEqual(stored.map(\.values), tensors.sorted { ($0.layer, $0.kind.rawValue) < ($1.layer, $1.kind.rawValue) }
                .map { [SQLValue.integer(Int64($0.layer)), .text($0.kind.rawValue), .blob(Data($0.data))] }, "epoch \(epoch.epoch), bit for bit")
        }
    }

    private func batch(_ epochs: [(SlopeStore.EpochRecord, [SlopeStore.TensorRecord])]) -> [SlopeStore.PendingEpoch] {
        epochs.map { (record: $0.0, tensors: $0.1) }
    }

    func testEpochsCommittedTogetherAreStoredAsOneByOne() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        // Losses whose best epoch moves inside a batch, with ties, with no validation loss for the
        // first epochs (the best epoch follows the training loss until there is one), and an
        // epoch with no training loss.
        var epochs = PostgresEpochWriteTests.epochs(seed: 4, count: 7)
        for index in 0..<3 { epochs[index].0.validationLoss = nil }
        epochs[1].0.trainLoss = nil
        epochs[5].0.validationLoss = epochs[4].0.validationLoss
        epochs[6].0.trainLoss = epochs[3].0.trainLoss
        let oneByOne = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        for (epoch, tensors) in epochs { try backend.writeEpoch(runID: oneByOne, epoch, tensors: tensors, holder: holder) }
        for split in [[0..<1, 1..<4, 4..<7], [0..<3, 3..<4, 4..<6, 6..<7], [0..<7]] {
            let together = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
            for range in split { try backend.writeEpochs(runID: together, batch(Array(epochs[range])), holder: holder) }
            XCTAssertEqual(try storedEpochs(backend, together), [0, 1, 2, 3, 4, 5, 6], "\(split)")
            XCTAssertEqual(try rows(backend, together), try rows(backend, oneByOne), "the same rows, bytes and summary as writeEpoch's: \(split)")
        }
        // Through SQLite's writeEpoch, one by one: the same summary.
        let directory = try TemporaryDirectory(prefix: "slope-pgbatch")
        defer { directory.remove() }
        let store = try SlopeStore(path: directory.path("slope.db"))
        let runID = try store.createRun(.example(layers: "2-3-1"))
        let sqliteHolder = RunHolder(worker: worker, claimToken: try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken)
        for (epoch, tensors) in epochs { try store.writeEpoch(runID: runID, epoch, tensors: tensors, holder: sqliteHolder) }
        let sqliteRun = try store.run(id: runID)
        let summary = try XCTUnwrap(try rows(backend, oneByOne).last)
        XCTAssertEqual(summary, [.integer(Int64(sqliteRun.epochsDone)), sqliteRun.finalTrainLoss.map(SQLValue.real) ?? .null,
                                 sqliteRun.finalValidationLoss.map(SQLValue.real) ?? .null,
                                 sqliteRun.finalTrainAccuracy.map(SQLValue.real) ?? .null,
                                 sqliteRun.finalValidationAccuracy.map(SQLValue.real) ?? .null,
                                 sqliteRun.bestTrainLoss.map(SQLValue.real) ?? .null,
                                 sqliteRun.bestValidationLoss.map(SQLValue.real) ?? .null,
                                 sqliteRun.bestEpoch.map { SQLValue.integer(Int64($0)) } ?? .null])
        XCTAssertEqual(sqliteRun.bestEpoch, 4, "the first epoch of the lowest validation loss (tied by epoch 5)")
    }

    /// The statement binds the first `EpochStatement.tensorParameters` tensors' bytes as
    /// parameters of their own and the rest in one array: batches that fill those parameters
    /// exactly, and that pass them by one and by more, store the same bytes as one by one.
    func testTensorsPastTheStatementsOwnParametersAreStoredAsOneByOne() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        let perEpoch = PostgresEpochWriteTests.epochs(seed: 9, count: 1)[0].1.count
        let parameters = EpochStatement.tensorParameters
        for total in [parameters, parameters + 1, 2 * parameters + 3] {
            // Whole epochs, then the last one's first tensors, to `total` tensors in all.
            var epochs = PostgresEpochWriteTests.epochs(seed: UInt64(total), count: (total + perEpoch - 1) / perEpoch)
            epochs[epochs.count - 1].1 = Array(epochs[epochs.count - 1].1.prefix(total - perEpoch * (epochs.count - 1)))
            XCTAssertEqual(epochs.reduce(0) { $0 + $1.1.count }, total)
            let oneByOne = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
            for (epoch, tensors) in epochs { try backend.writeEpoch(runID: oneByOne, epoch, tensors: tensors, holder: holder) }
            let together = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
            try backend.writeEpochs(runID: together, batch(epochs), holder: holder)
            XCTAssertEqual(try rows(backend, together), try rows(backend, oneByOne), "\(total) tensors in one statement")
            try assertTensorsStored(backend, together, epochs)
        }
    }

    /// A batch whose third epoch is refused (already stored) is rolled back whole: none of its
    /// epochs is stored, and the error says which epoch and why.
    func testABatchIsAllOrNothing() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let epochs = PostgresEpochWriteTests.epochs(seed: 5, count: 4)
        try storeElsewhere(runID, epochs[2])
        let before = try rows(backend, runID)
        XCTAssertThrowsError(try backend.writeEpochs(runID: runID, batch(epochs), holder: holder)) { error in
            XCTAssertTrue("\(error)".contains("epoch 2 of run \(runID) is already stored"), "\(error)")
        }
        XCTAssertEqual(try storedEpochs(backend, runID), [2], "nothing of the batch")
        XCTAssertEqual(try rows(backend, runID), before, "rows and summary unchanged")
        // The store goes on: the connection that failed was replaced.
        try backend.writeEpochs(runID: runID, batch(Array(epochs[0..<2])), holder: holder)
        XCTAssertEqual(try storedEpochs(backend, runID), [0, 1, 2])
    }

    func testARunTakenOverGetsNothingOfTheBatch() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        _ = try backend.write { try $0.execute("UPDATE runs SET claim_token = claim_token + 1, worker = 'other worker', host = 'elsewhere' WHERE id = ?", [runID]) }
        XCTAssertThrowsError(try backend.writeEpochs(runID: runID, batch(PostgresEpochWriteTests.epochs(seed: 6, count: 3)), holder: holder)) { error in
            guard case StoreError.runNotHeld(runID, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("held by other worker"), detail)
        }
        XCTAssertEqual(try storedEpochs(backend, runID), [])
    }

    /// Through a loopback proxy that cuts the connection right after the server received the
    /// batch's statement (it commits; its answer is lost): found stored, not sent again; every
    /// epoch stored once, bit for bit, and the outage said once.
    func testABatchWhoseAnswerIsLostIsStoredOnce() throws {
        let proxy = try LoopbackProxy(targetPort: try PostgresTestCluster.admin().port)
        defer { proxy.close() }
        let notices = PostgresReconnectionTests.Notices()
        let backend = try backendThrough(proxy, reconnection: notices.reconnection)
        defer { try? backend.close() }
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let epochs = PostgresEpochWriteTests.epochs(seed: 9, count: 4)
        try backend.writeEpochs(runID: runID, batch(Array(epochs[0..<1])), holder: holder)  // prepares the statement
        proxy.arm(.dropAnswerAndCut, after: EpochStatement.name + "\0")  // later ones send only its name (Bind)
        try backend.writeEpochs(runID: runID, batch(Array(epochs[1...])), holder: holder)
        XCTAssertEqual(proxy.faults, [.dropAnswerAndCut])
        XCTAssertEqual(notices.lost.count, 1, "\(notices.lost)")
        XCTAssertEqual(notices.reconnected, 1)
        XCTAssertEqual(try storedEpochs(backend, runID), [0, 1, 2, 3], "every epoch once")
        try assertTensorsStored(backend, runID, epochs)
        XCTAssertEqual(try backend.read { try $0.value("SELECT epochs_done FROM runs WHERE id = ?", [runID], as: Int64.self) }, 3)
    }

    /// Starts the writes as an EpochWriter does (each one sent before the last one's answer is
    /// awaited) and waits for them all; returns whether each went behind the one before on its
    /// connection, and each write's error.
    private func startOneBehindAnother(_ backend: PostgresBackend, _ runID: Int64,
                                       _ batches: [[SlopeStore.PendingEpoch]]) -> (behind: [Bool], errors: [Error?]) {
        var behind: [Bool] = [], errors: [Error?] = [], last: PostgresEpochsInFlight?
        for epochs in batches {
            var started: PostgresEpochsInFlight?
            do {
                started = try backend.startEpochs(runID: runID, epochs, holder: holder, after: last) as? PostgresEpochsInFlight
            } catch {
                errors.append(error)  // refused before sending
            }
            behind.append(started?.wentBehind ?? false)
            if let last { errors.append(Result { try last.wait() }.failure) }
            last = started
        }
        if let last { errors.append(Result { try last.wait() }.failure) }
        return (behind, errors)
    }

    func testEpochsSentBehindOthersAreStoredAsOneByOne() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        var epochs = PostgresEpochWriteTests.epochs(seed: 7, count: 8)
        for index in 0..<2 { epochs[index].0.validationLoss = nil }
        epochs[6].0.validationLoss = epochs[3].0.validationLoss
        let oneByOne = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        for (epoch, tensors) in epochs { try backend.writeEpoch(runID: oneByOne, epoch, tensors: tensors, holder: holder) }
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let (behind, errors) = startOneBehindAnother(backend, runID, [0..<1, 1..<2, 2..<4, 4..<5, 5..<8].map { batch(Array(epochs[$0])) })
        XCTAssertEqual(errors.map { $0.map { "\($0)" } }, [String?](repeating: nil, count: 5))
        // The connection has the statement prepared (by the writes above): from the second on,
        // each write goes behind the one before.
        XCTAssertEqual(behind, [false, true, true, true, true])
        XCTAssertEqual(try storedEpochs(backend, runID), [0, 1, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(try rows(backend, runID), try rows(backend, oneByOne), "the same rows, bytes and summary as writeEpoch's")
    }

    /// A write sent behind one that the server refuses stores nothing: its epochs would follow a
    /// gap. The refusal counts; the one behind it says why it stored nothing.
    func testAWriteBehindARefusedOneStoresNothing() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let epochs = PostgresEpochWriteTests.epochs(seed: 8, count: 5)
        try storeElsewhere(runID, epochs[1])
        let (behind, errors) = startOneBehindAnother(backend, runID, [batch([epochs[0]]), batch(Array(epochs[1...2])), batch(Array(epochs[3...4]))])
        // A fresh connection: the first write prepares the statement, the second waits for it.
        XCTAssertEqual(behind, [false, false, true])
        XCTAssertNil(errors[0])
        XCTAssertTrue("\(errors[1].map { "\($0)" } ?? "stored")".contains("epoch 1 of run \(runID) is already stored"), "\(String(describing: errors[1]))")
        XCTAssertEqual(errors[2].map { "\($0)" }, "\(StoreError.previousEpochNotStored(runID: runID, epoch: 3, previous: 2, lastStored: 1))")
        XCTAssertEqual(try storedEpochs(backend, runID), [0, 1], "nothing after the refused write")
    }

    func testARunTakenOverGetsNothingOfWritesSentBehindOthers() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let epochs = PostgresEpochWriteTests.epochs(seed: 10, count: 4)
        try backend.writeEpochs(runID: runID, batch([epochs[0]]), holder: holder)  // prepares the statement
        _ = try backend.write { try $0.execute("UPDATE runs SET claim_token = claim_token + 1, worker = 'other worker', host = 'elsewhere' WHERE id = ?", [runID]) }
        let (behind, errors) = startOneBehindAnother(backend, runID, [batch([epochs[1]]), batch([epochs[2]]), batch([epochs[3]])])
        XCTAssertEqual(behind, [false, true, true])
        for error in errors {
            guard case StoreError.runNotHeld(runID, let detail)? = error else { return XCTFail("\(String(describing: error))") }
            XCTAssertTrue(detail.contains("held by other worker"), detail)
        }
        XCTAssertEqual(try storedEpochs(backend, runID), [0])
    }

    /// The answer of a write is lost (the proxy cuts the connection right after the server
    /// received its statement) while the next one waits behind it: the first is found stored, the
    /// second sent again on a new connection; every epoch stored once, bit for bit.
    func testWritesBehindOneWhoseAnswerIsLostAreStoredOnce() throws {
        let proxy = try LoopbackProxy(targetPort: try PostgresTestCluster.admin().port)
        defer { proxy.close() }
        let notices = PostgresReconnectionTests.Notices()
        let backend = try backendThrough(proxy, reconnection: notices.reconnection)
        defer { try? backend.close() }
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let epochs = PostgresEpochWriteTests.epochs(seed: 11, count: 5)
        try backend.writeEpochs(runID: runID, batch([epochs[0]]), holder: holder)  // prepares the statement
        proxy.arm(.dropAnswerAndCut, after: EpochStatement.name + "\0")  // the first's statement (later ones send only its name)
        let first = try XCTUnwrap(try backend.startEpochs(runID: runID, batch(Array(epochs[1...2])), holder: holder, after: nil) as? PostgresEpochsInFlight)
        // Sent behind the first as a rule (the cut comes once the server has run the first);
        // should the cut come before, it is sent once the first is found stored: the same outcome.
        let second = try XCTUnwrap(try backend.startEpochs(runID: runID, batch(Array(epochs[3...4])), holder: holder, after: first) as? PostgresEpochsInFlight)
        try first.wait()
        try second.wait()
        XCTAssertEqual(proxy.faults, [.dropAnswerAndCut])
        XCTAssertEqual(notices.lost.count, 1, "one outage, said once: \(notices.lost)")
        XCTAssertEqual(notices.reconnected, 1)
        XCTAssertEqual(try storedEpochs(backend, runID), [0, 1, 2, 3, 4], "every epoch once")
        try assertTensorsStored(backend, runID, epochs)
        XCTAssertEqual(try backend.read { try $0.value("SELECT epochs_done FROM runs WHERE id = ?", [runID], as: Int64.self) }, 4)
    }

    /// The server commits an epoch statement (its own transaction) only after it has sent the
    /// statement's completion. A commit that fails then (here a deferred trigger that refuses the
    /// first commit once; in life a connection cut or a server crash at that moment) must not be
    /// taken as stored: the write looks, finds the epochs missing, and sends them again. Also for
    /// a write that has another sent behind it.
    func testACommitThatFailsAfterTheStatementCompletedIsSentAgain() throws {
        // One connection: the write behind needs the statement prepared on the connection the
        // first write takes, which a pool of several may not give it.
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite, maximumConnections: 1)
        defer { try? backend.close() }
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let epochs = PostgresEpochWriteTests.epochs(seed: 12, count: 4)
        try backend.writeEpochs(runID: runID, batch([epochs[0]]), holder: holder)
        _ = try backend.write { c in
            try c.execute("CREATE SEQUENCE commits_refused", [])
            try c.execute("""
                CREATE FUNCTION refuse_a_commit_once() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF nextval('commits_refused') = 1 THEN RAISE EXCEPTION 'this commit is refused once'; END IF;
                    RETURN NULL;
                END $$
                """, [])
            try c.execute("""
                CREATE CONSTRAINT TRIGGER refuse_a_commit_once AFTER INSERT ON epochs DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION refuse_a_commit_once()
                """, [])
        }
        try backend.writeEpochs(runID: runID, batch([epochs[1]]), holder: holder)
        XCTAssertEqual(try storedEpochs(backend, runID), [0, 1], "refused once, sent again")
        _ = try backend.write { try $0.execute("ALTER SEQUENCE commits_refused RESTART", []) }
        let (behind, errors) = startOneBehindAnother(backend, runID, [batch([epochs[2]]), batch([epochs[3]])])
        XCTAssertEqual(errors.map { $0.map { "\($0)" } }, [nil, nil])
        XCTAssertEqual(behind, [false, true])
        XCTAssertEqual(try storedEpochs(backend, runID), [0, 1, 2, 3], "every epoch once")
        XCTAssertEqual(try backend.read { try $0.value("SELECT last_value FROM commits_refused", as: Int64.self) }, 3,
                       "the refused commit, then one commit for each of the two writes")
    }

    /// `epochs_done` is 0 both before any epoch and after epoch 0: a write sent behind a refused
    /// epoch 0 must still store nothing (the guard also asks for the previous epoch's row).
    func testAWriteBehindARefusedEpochZeroStoresNothing() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        let epochs = PostgresEpochWriteTests.epochs(seed: 13, count: 2)
        let other = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        try backend.writeEpochs(runID: other, batch([epochs[0]]), holder: holder)  // prepares the statement
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        _ = try backend.write { c in
            try c.execute("""
                CREATE FUNCTION refuse_epoch_zero() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.run_id = \(runID) AND NEW.epoch = 0 THEN RAISE EXCEPTION 'epoch 0 is refused here'; END IF;
                    RETURN NEW;
                END $$
                """, [])
            try c.execute("CREATE TRIGGER refuse_epoch_zero BEFORE INSERT ON epochs FOR EACH ROW EXECUTE FUNCTION refuse_epoch_zero()", [])
        }
        let (behind, errors) = startOneBehindAnother(backend, runID, [batch([epochs[0]]), batch([epochs[1]])])
        XCTAssertEqual(behind, [false, true])
        XCTAssertTrue("\(errors[0].map { "\($0)" } ?? "stored")".contains("epoch 0 is refused here"), "\(String(describing: errors[0]))")
        XCTAssertEqual(errors[1].map { "\($0)" }, "\(StoreError.previousEpochNotStored(runID: runID, epoch: 1, previous: 0, lastStored: nil))")
        XCTAssertEqual(try storedEpochs(backend, runID), [], "no epoch 1 without epoch 0")
    }

    /// With one connection in the pool, writes that find the run taken over, and writes whose
    /// connection is lost, must not wait for a second one while holding the first: they end.
    func testWritesBehindOthersNeedNoSecondConnection() throws {
        let proxy = try LoopbackProxy(targetPort: try PostgresTestCluster.admin().port)
        defer { proxy.close() }
        let backend = try backendThrough(proxy, maximumConnections: 1)
        defer { try? backend.close() }
        let epochs = PostgresEpochWriteTests.epochs(seed: 14, count: 5)
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let taken = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        try backend.writeEpochs(runID: runID, batch([epochs[0]]), holder: holder)  // prepares the statement
        _ = try backend.write { try $0.execute("UPDATE runs SET claim_token = claim_token + 1, worker = 'other worker', host = 'elsewhere' WHERE id = ?", [taken]) }
        let finished = DispatchSemaphore(value: 0)
        let outcome = OutcomeBox()
        Thread.detachNewThread { [self] in
            let fenced = startOneBehindAnother(backend, taken, [batch([epochs[0]]), batch([epochs[1]])])
            proxy.arm(.dropAnswerAndCut, after: EpochStatement.name + "\0")
            let lost = startOneBehindAnother(backend, runID, [batch([epochs[1]]), batch(Array(epochs[2...3])), batch([epochs[4]])])
            outcome.set(fenced.errors.map { $0.map { "\($0)" } } + lost.errors.map { $0.map { "\($0)" } })
            finished.signal()
        }
        // A watchdog, not a timing: the writes take well under a second; a hang waits for ever.
        XCTAssertEqual(finished.wait(timeout: .now() + 120), .success, "the writes end (no wait for a second connection)")
        let errors = outcome.value ?? []
        XCTAssertEqual(errors.count, 5)
        for error in errors.prefix(2) { XCTAssertTrue(error?.contains("held by other worker") ?? false, "\(String(describing: error))") }
        XCTAssertEqual(Array(errors.dropFirst(2)), [nil, nil, nil])
        XCTAssertEqual(try storedEpochs(backend, taken), [])
        XCTAssertEqual(try storedEpochs(backend, runID), [0, 1, 2, 3, 4])
    }

    /// A server with synchronous_commit=off that crashes loses the last commits it had
    /// confirmed. A write that follows them (no write on its way any more) is still guarded by
    /// the epoch before it, so it stores nothing rather than leave a gap, and its error (on which a
    /// worker requeues the run) says where the run's stored epochs end; the run's end is refused
    /// too. The loss is simulated by deleting the last epoch behind the writer's back.
    func testAWriteAfterConfirmedEpochsTheServerLostStoresNothing() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let epochs = PostgresEpochWriteTests.epochs(seed: 21, count: 5)
        for epoch in epochs[0...2] { try backend.startEpochs(runID: runID, batch([epoch]), holder: holder, after: nil).wait() }
        _ = try backend.write { c in
            try c.execute("DELETE FROM epochs WHERE run_id = ? AND epoch = 2", [runID])
            try c.execute("UPDATE runs SET epochs_done = 1 WHERE id = ?", [runID])
        }
        XCTAssertThrowsError(try backend.startEpochs(runID: runID, batch(Array(epochs[3...4])), holder: holder, after: nil).wait()) { error in
            XCTAssertEqual(error as? StoreError, .previousEpochNotStored(runID: runID, epoch: 3, previous: 2, lastStored: 1))
            XCTAssertEqual("\(error)", "epoch 3 of run \(runID) was not stored: epoch 2 before it is not (the run's stored epochs end at epoch 1; "
                           + "a PostgreSQL server with synchronous_commit=off loses its last commits when it crashes)."
                           + " The run goes back to the queue and resumes from its stored epochs.")
        }
        XCTAssertEqual(try storedEpochs(backend, runID), [0, 1], "no gap")
        // Nor does the run end without the epoch its worker stored last.
        let store = try SlopeStore(location: database.url)
        defer { try? store.close() }
        XCTAssertThrowsError(try store.finishRun(runID: runID, status: .completed, stopReason: "completed all epochs", holder: holder,
                                                 lastEpoch: 2)) { error in
            XCTAssertEqual(error as? StoreError, .previousEpochNotStored(runID: runID, epoch: nil, previous: 2, lastStored: 1))
            XCTAssertTrue("\(error)".hasPrefix("run \(runID) was not ended: its last epoch, 2, is not stored (the run's stored epochs end at epoch 1;"), "\(error)")
        }
        XCTAssertEqual(try backend.read { try $0.value("SELECT status FROM runs WHERE id = ?", [runID], as: String.self) }, "running")
        // A run's epoch 0 needs nothing before it; a resumed run's first epoch follows its last stored one.
        let fresh = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        try backend.startEpochs(runID: fresh, batch([epochs[0]]), holder: holder, after: nil).wait()
        try backend.startEpochs(runID: runID, batch([epochs[2]]), holder: holder, after: nil).wait()
        XCTAssertEqual(try storedEpochs(backend, fresh), [0])
        XCTAssertEqual(try storedEpochs(backend, runID), [0, 1, 2])
    }

    func testEpochsOutOfOrderAreRefusedBeforeAnythingIsSent() throws {
        let backend = try PostgresBackend(settings: try database.settings(), mode: .readWrite)
        defer { try? backend.close() }
        let runID = try PostgresEpochWriteTests.insertHeldRun(backend, worker: worker)
        let epochs = PostgresEpochWriteTests.epochs(seed: 2, count: 3)
        XCTAssertThrowsError(try backend.writeEpochs(runID: runID, batch([epochs[0], epochs[2], epochs[1]]), holder: holder)) { error in
            XCTAssertTrue("\(error)".contains("increasing order, not 2 then 1"), "\(error)")
        }
        XCTAssertEqual(try storedEpochs(backend, runID), [])
    }
}

private extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

private final class OutcomeBox: @unchecked Sendable {  // under its lock
    private let lock = NSLock()
    private var errors: [String?]?
    func set(_ errors: [String?]) { lock.withLock { self.errors = errors } }
    var value: [String?]? { lock.withLock { errors } }
}
