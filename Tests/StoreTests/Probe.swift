// Launching StoreProbe child processes (real processes, not threads) and reading their output.
import Foundation
import XCTest

final class Probe {
    let process = Process()
    private let output = Pipe()
    private let lock = NSLock()
    private var buffer = Data()

    /// The StoreProbe executable built next to the test bundle.
    static let executable = built("StoreProbe")

    /// The executable `name` (a probe target) built next to the test bundle.
    static func built(_ name: String) -> URL {
        var candidates: [URL] = []
        for bundle in [Bundle.main] + Bundle.allBundles {
            candidates.append(bundle.bundleURL.appendingPathComponent(name))
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent(name))
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug/\(name)"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    init(_ arguments: [String], executable: URL = Probe.executable, environment: [String: String]? = nil) throws {
        process.executableURL = executable
        if let environment { process.environment = environment }
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.buffer.append(data)
            self.lock.unlock()
        }
        try process.run()
    }

    /// Output lines so far.
    var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: buffer, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Waits for the process to end; returns its exit status and all its output lines.
    func finish() -> (status: Int32, lines: [String]) {
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
        let rest = output.fileHandleForReading.readDataToEndOfFile()
        lock.lock()
        buffer.append(rest)
        lock.unlock()
        return (process.terminationStatus, lines)
    }

    /// Polls until `condition` holds on the output lines (or the process ends, or 120 s pass).
    func wait(until condition: ([String]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if condition(lines) { return true }
            if !process.isRunning { return condition(lines) }
            usleep(5_000)
        }
        return false
    }
}
