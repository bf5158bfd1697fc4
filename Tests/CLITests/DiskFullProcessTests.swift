// The built `runner` on a file system that fills up mid-run (a 2 MiB tmpfs, mounted in a mount
// namespace of its own so that nothing leaks): the run is left to resume, not failed; once the
// file system has room again, `runner resume` finishes it with the same bits as a run that never
// stopped.
import Foundation
import Store
import TestSupport
import XCTest

final class DiskFullProcessTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private let runner = builtExecutable("runner")
    private let unshare = URL(fileURLWithPath: "/usr/bin/unshare")

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-disk-full") }
    override func tearDown() { directory.remove() }

    /// Skips unless this (Linux, root) process can mount a tmpfs in a mount namespace of its own.
    private func requireMountNamespace() throws {
        #if !os(Linux)
        throw XCTSkip("mounts a tmpfs in a Linux mount namespace")
        #endif
        let probe = try ChildProcess.run(unshare, ["-m", "/bin/true"])
        try XCTSkipUnless(probe.status == 0 && getuid() == 0, "needs root for a mount namespace: \(probe.error)")
    }

    func testAFullFileSystemLeavesTheRunToResumeBitIdentically() throws {
        try requireMountNamespace()

        // digits 64-64-10: ~40 KB of tensors an epoch, ~2.4 MB for the whole run: more than the tmpfs holds.
        let flags = ["train", "--dataset", "digits", "--hidden", "64", "--epochs", "60", "--batch-size", "64", "--momentum", "0.5"]
        let reference = directory.path("reference.db")
        let referenceRun = try ChildProcess.run(runner, flags + ["--quiet", "--db", reference])
        XCTAssertEqual(referenceRun.status, 0, referenceRun.error)

        let mount = directory.path("small"), copy = directory.path("resumed.db")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let quoted = flags.joined(separator: " ")
        // The whole story inside one mount namespace (the tmpfs vanishes with it).
        let script = """
            mount -t tmpfs -o size=2m tmpfs '\(mount)' || exit 90
            '\(runner.path)' \(quoted) --db '\(mount)/full.db' > /dev/null 2> '\(directory.path("train.err"))'
            echo "train $?"
            mount -o remount,size=64m '\(mount)' || exit 92
            '\(runner.path)' resume --run 1 --db '\(mount)/full.db' > /dev/null 2> '\(directory.path("resume.err"))'
            echo "resume $?"
            cp '\(mount)/full.db' '\(copy)'
            """
        let result = try ChildProcess.run(unshare, ["-m", "/bin/sh", "-c", script])
        let trainError = (try? String(contentsOfFile: directory.path("train.err"), encoding: .utf8)) ?? ""
        let resumeError = (try? String(contentsOfFile: directory.path("resume.err"), encoding: .utf8)) ?? ""
        XCTAssertEqual(result.output.split(separator: "\n"), ["train 1", "resume 0"], "\(result.output)\(result.error)\(trainError)\(resumeError)")
        XCTAssertTrue(trainError.hasPrefix("error: run 1 stopped: "), trainError)
        XCTAssertTrue(trainError.contains("is full"), trainError)
        XCTAssertTrue(trainError.contains("continue with: runner resume --run 1"), trainError)
        XCTAssertEqual(trainError.split(separator: "\n").count, 1, trainError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: mount + "/full.db"), "the tmpfs did not leak out of its namespace")

        let store = try SlopeStore(path: copy, mode: .readOnly), expected = try SlopeStore(path: reference, mode: .readOnly)
        XCTAssertEqual(try store.run(id: 1).status, .completed)
        XCTAssertEqual(try store.run(id: 1).stopReason, "completed all epochs")
        XCTAssertEqual(try store.epochs(runID: 1).map { $0.trainLoss?.bitPattern }, try expected.epochs(runID: 1).map { $0.trainLoss?.bitPattern })
        XCTAssertEqual(try store.tensors(runID: 1, epoch: 60).map(\.tensor), try expected.tensors(runID: 1, epoch: 60).map(\.tensor))
        XCTAssertEqual(try store.tensors(runID: 1, epoch: 60).count, 12)
    }

    /// `report export --format sqlite` onto a file system too small for the copy: one line that
    /// names --out's file (not the temporary one) and says nothing of resuming a run; exit 1,
    /// nothing left behind.
    func testAnExportToAFullDiskNamesItsFileAndLeavesNothing() throws {
        try requireMountNamespace()
        // digits 64-64-10, 6 stored epochs: ~240 KB of tensors, more than the 128 KB tmpfs holds.
        let source = directory.path("source.db")
        let trained = try ChildProcess.run(runner, ["train", "--dataset", "digits", "--hidden", "64", "--epochs", "5", "--quiet", "--db", source])
        XCTAssertEqual(trained.status, 0, trained.error)

        let mount = directory.path("small")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let script = """
            mount -t tmpfs -o size=128k tmpfs '\(mount)' || exit 90
            '\(builtExecutable("report").path)' export --db '\(source)' --format sqlite --out '\(mount)/copy.db' 2> '\(directory.path("export.err"))'
            echo "export $?"
            ls -A '\(mount)'
            """
        let result = try ChildProcess.run(unshare, ["-m", "/bin/sh", "-c", script])
        let error = (try? String(contentsOfFile: directory.path("export.err"), encoding: .utf8)) ?? ""
        XCTAssertEqual(result.output, "export 1\n", "nothing left in the folder: \(result.output)\(result.error)\(error)")
        XCTAssertEqual(error, "report: error: cannot write \(mount)/copy.db: the disk holding it is full; nothing was written "
                       + "(free some space, or export to another disk)\n")
    }
}
