// Helpers for the runner's tests: finding the built `runner` binary and running it.
import Foundation

/// A built executable of this package (next to the test bundle: `.build/debug` on Linux).
public func builtExecutable(_ name: String, file: String = #filePath) -> URL {
    var candidates: [URL] = []
    for bundle in [Bundle.main] + Bundle.allBundles {
        candidates.append(bundle.bundleURL.appendingPathComponent(name))
        candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent(name))
    }
    let packageRoot = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    candidates.append(packageRoot.appendingPathComponent(".build/debug/\(name)"))
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
}

/// A child process with its output collected (stdout and stderr separately).
public final class ChildProcess: @unchecked Sendable {
    public let process = Process()
    private let outputPipe = Pipe(), errorPipe = Pipe()
    private let lock = NSLock()
    private var outputData = Data(), errorData = Data()

    public init(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
                currentDirectory: URL? = nil) throws {
        process.executableURL = executable
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        outputPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in self?.append(handle.availableData, error: false) }
        errorPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in self?.append(handle.availableData, error: true) }
        try process.run()
    }

    private func append(_ data: Data, error: Bool) {
        guard !data.isEmpty else { return }
        lock.lock()
        if error { errorData.append(data) } else { outputData.append(data) }
        lock.unlock()
    }

    public var pid: Int32 { process.processIdentifier }

    /// What the process has written to stderr so far.
    public var errorSoFar: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: errorData, as: UTF8.self)
    }

    /// The standard output received so far (the process may still be running).
    public var outputSoFar: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: outputData, as: UTF8.self)
    }

    /// Waits for the end; returns the exit status (or 128 + signal) and the whole output.
    public func finish() -> (status: Int32, output: String, error: String) {
        process.waitUntilExit()
        outputPipe.fileHandleForReading.readabilityHandler = nil
        errorPipe.fileHandleForReading.readabilityHandler = nil
        let restOut = outputPipe.fileHandleForReading.readDataToEndOfFile()
        let restErr = errorPipe.fileHandleForReading.readDataToEndOfFile()
        lock.lock()
        outputData.append(restOut)
        errorData.append(restErr)
        let result = (String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
        lock.unlock()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return (status, result.0, result.1)
    }

    /// Runs to the end with a standard output nobody reads (closed before the start, so the first
    /// write fails, as after the reader of `| head` went away); returns how it ended and its stderr.
    public static func runWithoutReader(_ executable: URL, _ arguments: [String], currentDirectory: URL? = nil) throws
        -> (reason: Process.TerminationReason, status: Int32, error: String)
    {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let output = Pipe(), error = Pipe()
        try output.fileHandleForReading.close()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationReason, process.terminationStatus, message)
    }

    /// Runs to the end.
    public static func run(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
                           currentDirectory: URL? = nil) throws -> (status: Int32, output: String, error: String) {
        try ChildProcess(executable, arguments, environment: environment, currentDirectory: currentDirectory).finish()
    }
}
