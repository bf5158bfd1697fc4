// Reading an input file whole (a CSV dataset, a sweep file, initial weights), and saying why one
// cannot be: a device, a pipe or a terminal is named as such, not taken for a permissions problem.
// Also where a file a stored run names is looked for (its CSV data, its initial weights).
import Foundation
import Store

enum InputFile {
    /// The bytes of the regular file at `path` (through links).
    /// - Parameters:
    ///   - what: what the user should give instead, for the message ("a CSV file").
    ///   - error: makes the thrown error from the reason ("is a directory; give a CSV file").
    ///   - refusedFromStart: why a file beginning with these bytes (its first 4 KB) is refused, or nil:
    ///     said before the rest is read (a 3 GB file given by mistake took minutes).
    static func contents(_ path: String, what: String, refusedFromStart: ((Data) -> String?)? = nil,
                         error: (String) -> ExperimentsError) throws -> Data {
        if let reason = problem(path, what: what) { throw error(reason) }
        if let refusedFromStart, let reason = refusedFromStart(prefix(path)) { throw error(reason) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw error(access(path, R_OK) != 0 ? "permission denied (see its mode with ls -l)" : "cannot be read (an I/O error?)")
        }
        return data
    }

    /// The first `count` bytes of the file at `path` (fewer for a shorter file, none when it cannot be read).
    private static func prefix(_ path: String, count: Int = 4096) -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else { return Data() }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: count)) ?? Data()
    }

    /// Why `path` is not a regular file that can be read whole, or nil. Slope reads inputs whole and
    /// records their SHA-256, and resuming a run reads its data again: a stream cannot do that.
    static func problem(_ path: String, what: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return errno == EACCES ? "permission denied (a folder on its path cannot be searched)" : "no such file"
        }
        let stream = "; save it to a file first and give that file's path (it is read whole, hashed, and read again to resume a run)"
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            return access(path, R_OK) == 0 ? nil : "permission denied (see its mode with ls -l)"
        case S_IFDIR:
            return "is a directory; give \(what)"
        case S_IFIFO:
            return "is a pipe (or standard input from one), not \(what)" + stream
        case S_IFSOCK:
            return "is a socket, not \(what)" + stream
        case S_IFCHR where isTerminal(path):
            return "is a terminal, not \(what)" + stream
        case S_IFCHR, S_IFBLK:
            return "is a device (\(resolved(path))), not a file; give \(what)"
        default:
            return "is not a regular file; give \(what)"
        }
    }

    /// Where a file a stored run names may be: as given, then, for a relative name on an SQLite
    /// store, beside the database (a run queued from another folder) when a regular file is there.
    /// The caller reads each (`contents`) and takes the one whose sha256 is the stored one.
    static func candidates(_ name: String, databasePath: String?) -> [String] {
        guard let beside = besideDatabase(name, databasePath: databasePath) else { return [name] }
        var info = stat()
        return stat(beside, &info) == 0 && info.st_mode & S_IFMT == S_IFREG ? [name, beside] : [name]
    }

    /// `name` in the folder of the SQLite database at `databasePath`; nil for an absolute name,
    /// without a database, and for a PostgreSQL server (its URL names no folder).
    static func besideDatabase(_ name: String, databasePath: String?) -> String? {
        guard let databasePath, !name.hasPrefix("/"), !PostgresSettings.isPostgresURL(databasePath) else { return nil }
        return URL(fileURLWithPath: databasePath).deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// "no such file", and for a relative name where it was looked for (`candidates`).
    static func notFound(_ name: String, databasePath: String?) -> String {
        if name.hasPrefix("/") { return "no such file" }
        return "no such file in the current folder" + (besideDatabase(name, databasePath: databasePath) == nil ? "" : " or the database's folder")
    }

    private static func isTerminal(_ path: String) -> Bool {
        let descriptor = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return isatty(descriptor) == 1
    }

    /// The file a link leads to: `/dev/null` for `/dev/stdin` redirected from it.
    private static func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }
}
