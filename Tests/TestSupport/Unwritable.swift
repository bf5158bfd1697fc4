// Making a file or folder unwritable for this process, for tests of read-only databases: mode
// 0444 (0555 for a folder) and, for root (whom modes do not stop), the immutable attribute.
import Foundation

public enum Unwritable {
    /// Makes `path` unwritable; returns how to undo it, or nil when neither way works here (root
    /// without CAP_LINUX_IMMUTABLE, or no chattr).
    public static func make(_ path: String) -> (() -> Void)? {
        var isFolder: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
        guard chmod(path, isFolder.boolValue ? 0o555 : 0o444) == 0 else { return nil }
        let restoreMode = { _ = chmod(path, isFolder.boolValue ? 0o755 : 0o644) }
        if !isWritable(path) { return restoreMode }
        guard chattr("+i", path) == 0 else {
            restoreMode()
            return nil
        }
        let undo = {
            _ = chattr("-i", path)
            restoreMode()
        }
        if !isWritable(path) { return undo }
        undo()
        return nil
    }

    /// Whether this process can write `path` (a file: open it for writing; a folder: access()).
    public static func isWritable(_ path: String) -> Bool {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue { return access(path, W_OK) == 0 }
        let descriptor = open(path, O_WRONLY)
        if descriptor >= 0 { close(descriptor) }
        return descriptor >= 0
    }

    /// Runs `chattr flag path`; its exit status (-1 when it cannot run).
    private static func chattr(_ flag: String, _ path: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
        process.arguments = [flag, path]
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
