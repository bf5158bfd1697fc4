// Runs the built `report` / `runner` executables as child processes for the CLI tests.
import Foundation

public enum ReportProcess {
    public struct Result {
        public var status: Int32
        public var output: String
        public var error: String
        public var outputData: Data
    }

    /// The build products folder (.build/debug): the test bundle's folder or its parent.
    public static var productsDirectory: URL {
        #if os(macOS)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        #endif
        let main = Bundle.main.bundleURL
        for candidate in [main, main.deletingLastPathComponent()] {
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("report").path) { return candidate }
        }
        return main
    }

    public static func executable(_ name: String) -> URL { productsDirectory.appendingPathComponent(name) }

    /// Runs `name arguments...` with the given extra environment; output is collected fully.
    /// `unset`: variables removed from the environment (COLUMNS is 100 unless given or unset here).
    public static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:],
                           unset: [String] = [], currentDirectory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable(name)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        merged["COLUMNS"] = "100"
        merged.removeValue(forKey: "SLOPE_DB")
        for (key, value) in environment { merged[key] = value }
        for key in unset { merged.removeValue(forKey: key) }
        process.environment = merged
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Read both pipes while the child runs, so a large output cannot block it.
        final class Box: @unchecked Sendable { var data = Data() }
        let errorBox = Box()
        let done = DispatchSemaphore(value: 0)
        let errorHandle = error.fileHandleForReading
        DispatchQueue.global().async {
            errorBox.data = errorHandle.readDataToEndOfFile()
            done.signal()
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        done.wait()
        let errorData = errorBox.data
        return Result(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                      error: String(decoding: errorData, as: UTF8.self), outputData: outputData)
    }
}
