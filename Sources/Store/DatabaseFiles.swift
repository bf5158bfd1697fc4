// Paths of SQLite database files outside a store: which database a path belongs to (itself, or the
// database of its -wal, -shm or -journal file), and where a file being written waits until it is
// complete (`.NAME.PID.partial`). Used by `report export --format sqlite` and CLISupport's OutputFile.
import Foundation

extension SlopeStore {
    /// The SQLite database whose file `path` is: `path` itself when it is one, or the database
    /// (a regular file that starts with SQLite's header) whose -wal, -shm or -journal file it is,
    /// which SQLite deletes or applies at that database's next open; nil for any other path. The
    /// one check of it: `report export --format sqlite` (SQLiteExport.swift) and every `report --out` (OutputFile).
    public static func sqliteDatabase(owning path: String) -> String? {
        if startsWithSQLiteHeader(path) { return path }
        for suffix in ["-wal", "-shm", "-journal"] where path.hasSuffix(suffix) {
            let database = String(path.dropLast(suffix.count))
            if startsWithSQLiteHeader(database) { return database }
        }
        return nil
    }

    /// Whether `path` is a regular file that starts with SQLite's header.
    private static func startsWithSQLiteHeader(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 16)) == Data("SQLite format 3\u{0}".utf8)
    }

    /// Where this process writes an export to `path` until it is complete: `.NAME.PID.partial` beside it.
    /// The one spelling of such a path: `report --out` (CLISupport's OutputFile) writes its files there too.
    public static func temporaryExportPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).partial").path
    }
}
