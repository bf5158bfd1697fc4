// Writing a command's output to the file its `--out` names (`report tensors/curves/html/evaluate`,
// `runner datasets`): one set of checks for both executables, so that no output ever destroys a
// device, a pipe, a link or a database.
import Foundation
import Reporting
import Store

public enum OutputFile {
    /// The one line every command says a file it wrote in: `wrote FILE (SIZE)`, then `: detail`
    /// when given (`runner datasets`: what the CSV holds; `report export --format sqlite`: what it
    /// copied). Nil for standard output (`-`) and for what is not a regular file (a device or a
    /// pipe, such as /dev/stderr: what was written shows there).
    public static func wroteLine(_ path: String, detail: String? = nil) -> String? {
        var info = stat()
        guard path != "-", stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return "wrote \(SlopeStore.shownPath(path)) (\(SlopeStore.describeBytes(Int64(info.st_size))))" + (detail.map { ": " + $0 } ?? "")
    }

    /// Writes `data` to `path`, or to standard output when `path` is nil or "-". A file is replaced
    /// whole (written beside it, then renamed: never half-written); through a symbolic link (even
    /// one whose file does not exist yet), the file it points to, so the link stays. Character
    /// devices, pipes and sockets (`/dev/stdout`, `/dev/null`, a named pipe with a reader) are
    /// written into, never replaced; a block device (a disk) is refused. An SQLite database (any,
    /// and its -wal and -shm files) is never replaced, and the database being read
    /// (`protecting`: nil for a PostgreSQL server, or none) never a target, not even through a
    /// descriptor or a hard link.
    /// - Parameter option: how messages name the flag (`--out`, `--predictions`).
    /// - Returns: whether the data went to this process's standard output (`-`, `/dev/stdout`...).
    /// - Throws: `ReportError.invalidArgument` (a usage error) for a target that must not be
    ///   written, `ReportError.output` when writing fails (a directory, a missing folder, a full disk).
    @discardableResult
    public static func write(_ data: Data, to path: String?, protecting database: String?, option: String = "--out") throws -> Bool {
        guard let path, path != "-" else {
            StandardStream.output.write(data)
            return true
        }
        guard !path.isEmpty else { throw ReportError.invalidArgument("\(option): give a file name (or - for standard output)") }
        // This process's own streams (`/dev/stdout`, `/dev/fd/N`): written through the descriptor, so
        // a redirection's position and append mode are kept (resolving them would replace the file).
        // SQLite names -wal and -shm after the file a database link points to.
        let realDatabase = database.map(resolvedTarget)
        let databaseFiles = realDatabase.map { [$0, $0 + "-wal", $0 + "-shm"] } ?? []
        let refusal = ReportError.invalidArgument("\(option) \(path) is the database being read (\(database ?? "")): give another file name")
        if let descriptor = streamDescriptor(path) {
            var info = stat()
            if fstat(descriptor, &info) == 0, databaseFiles.contains(where: { isFile($0, info) }) { throw refusal }
            try writeWhole(descriptor, data, shownAs: path)
            return descriptor == STDOUT_FILENO
        }
        // The database being read is told by its device and inode, whatever the path's spelling
        // (`..`, links, a hard link); a -wal or -shm not made yet, by the database it would belong to.
        let target = resolvedTarget(path)
        var info = stat()
        let exists = stat(target, &info) == 0
        if exists && databaseFiles.contains(where: { isFile($0, info) }) { throw refusal }
        if let database = SlopeStore.sqliteDatabase(owning: target) {
            if let realDatabase, isSameFile(database, realDatabase) { throw refusal }
            throw ReportError.invalidArgument("\(option) \(path) is \(database == target ? "an SQLite database" : "a file of the SQLite database \(database)"): "
                                              + "give another file name (output never replaces a database)")
        }
        let kind = info.st_mode & S_IFMT
        if exists && kind == S_IFDIR { throw ReportError.output("\(path) is a directory: give a file name") }
        if exists && kind == S_IFBLK { throw ReportError.invalidArgument("\(option) \(path) is a block device (a disk): give a file name") }
        if exists && kind != S_IFREG {
            try writeInto(target, data, shownAs: path, isPipe: kind == S_IFIFO)
            return false
        }
        if let problem = SlopeStore.folderProblem(of: target) { throw ReportError.output("\(path): \(problem)") }
        try replace(target, with: data, shownAs: path)
        return false
    }

    /// Writes into a device, pipe or socket. A named pipe nobody reads would make open() wait for
    /// ever: it is opened without waiting, and refused when there is no reader.
    private static func writeInto(_ target: String, _ data: Data, shownAs path: String, isPipe: Bool) throws {
        let descriptor = open(target, O_WRONLY | O_CLOEXEC | (isPipe ? O_NONBLOCK : 0))
        guard descriptor >= 0 else {
            if isPipe && errno == ENXIO { throw ReportError.output("\(path) is a named pipe that nobody reads: start its reader first, or give a file name") }
            throw ReportError.output("\(path): cannot open it for writing (\(String(cString: strerror(errno))))")
        }
        defer { close(descriptor) }
        if isPipe { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK) }
        try writeWhole(descriptor, data, shownAs: path)
    }

    /// Replaces the regular file `target` (or creates it) whole: written to a temporary file beside
    /// it, flushed, then renamed over it. On any error the temporary file goes and `target` is as it was.
    private static func replace(_ target: String, with data: Data, shownAs path: String) throws {
        let temporary = SlopeStore.temporaryExportPath(for: target)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { throw ReportError.output("\(path): \(String(cString: strerror(errno)))") }
        do {
            try writeWhole(descriptor, data, shownAs: path)
            guard fsync(descriptor) == 0 else { throw ReportError.output("\(path): \(String(cString: strerror(errno)))") }
            guard close(descriptor) == 0 else {
                throw ReportError.output("\(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ReportError.output("\(path): \(reason)")
        }
    }

    /// Writes all of `data` (a full disk: "No space left on device").
    private static func writeWhole(_ descriptor: Int32, _ data: Data, shownAs path: String) throws {
        guard let failure = writeAll(descriptor, data) else { return }
        if failure == EPIPE {  // a pipe's reader went away (`--out /dev/stdout | head`): end as SIGPIPE would
            signal(SIGPIPE, SIG_DFL)
            raise(SIGPIPE)
        }
        throw ReportError.output("\(path): \(String(cString: strerror(failure)))")
    }

    /// The file a path writes to: itself, or where its chain of symbolic links ends (a link's
    /// destination is relative to the link's folder), whether or not that file exists yet.
    public static func resolvedTarget(_ path: String) -> String {
        var current = path
        for _ in 0..<32 {  // a loop of links ends here; the write then fails with the system's error
            guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { return current }
            current = destination.hasPrefix("/") ? destination
                : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(destination).path
        }
        return current
    }

    /// The descriptor of this process that `path` names: /dev/stdout, /dev/stderr, /dev/fd/N,
    /// /proc/self/fd/N or /proc/PID/fd/N (this PID), however spelled (`//dev/./stdout`) and
    /// whether given directly or reached through symbolic links.
    static func streamDescriptor(_ path: String) -> Int32? {
        var current = path
        for _ in 0..<32 {
            let normal = URL(fileURLWithPath: current).standardized.path
            switch normal {
            case "/dev/stdout": return STDOUT_FILENO
            case "/dev/stderr": return STDERR_FILENO
            case "/dev/stdin": return nil
            default:
                for prefix in ["/dev/fd/", "/proc/self/fd/", "/proc/\(getpid())/fd/", "/proc/thread-self/fd/"] where normal.hasPrefix(prefix) {
                    return Int32(normal.dropFirst(prefix.count))
                }
            }
            guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: normal) else { return nil }
            current = destination.hasPrefix("/") ? destination
                : URL(fileURLWithPath: normal).deletingLastPathComponent().appendingPathComponent(destination).path
        }
        return nil
    }

    /// Whether `path` names the file `info` describes (device and inode: also through hard links).
    static func isFile(_ path: String, _ info: stat) -> Bool {
        var other = stat()
        return stat(path, &other) == 0 && other.st_dev == info.st_dev && other.st_ino == info.st_ino
    }

    /// Whether two paths name the same existing file (hard and symbolic links included).
    public static func isSameFile(_ first: String, _ second: String) -> Bool {
        var info = stat()
        return stat(second, &info) == 0 && isFile(first, info)
    }
}
