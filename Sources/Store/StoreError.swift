// The Store module's one error type: every SQLite or PostgreSQL failure is mapped to a case
// whose message says what went wrong and what to do about it (SQLite's: SQLiteBackend.swift).
import Foundation

public enum StoreError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file exists but is not a Slope database (garbage bytes, or another program's SQLite file).
    case notASlopeDatabase(path: String, reason: String)
    /// The database holds migrations this build does not know: it was written by a newer Slope.
    case newerSchema(path: String, unknown: [String])
    /// A read-only open found a database that still needs migrations this build would apply.
    case olderSchema(path: String, missing: [String])
    /// The file or its folder cannot be written.
    case readOnly(path: String)
    /// A new database cannot be created at `path`: this process may not write its `folder`.
    case folderNotWritable(path: String, folder: String)
    /// The database's -wal or -shm file cannot be written by this user (another user's, left by
    /// that user reading the database in a shared folder): `detail` names them, their owner and the fix.
    case unwritableCompanionFiles(path: String, detail: String)
    /// A database read without SQLite's locks (as immutable: see SQLiteBackend.readOnlyOpenPath)
    /// was changed by another process during the read.
    case changedWhileRead(path: String)
    /// The disk (or a quota) is full.
    case diskFull(path: String)
    /// The database file was deleted (or another file took its path) while this process had it
    /// open: what it writes goes into a file nobody can open any more.
    case databaseGone(path: String, replaced: Bool)
    /// The operating system failed a read or write of the file (SQLITE_IOERR).
    case ioError(path: String, message: String)
    /// SQLite reports the file as damaged.
    case corrupt(path: String, detail: String)
    /// A `tensors` row that Slope cannot have written (bytes that do not match its shape and
    /// dtype, an unknown kind or dtype): the database was changed outside Slope. `tensor` names it
    /// ("the weight of layer 1"), `detail` says what is wrong.
    /// `row`: the SQL condition that picks the damaged row (`run_id = 3 AND epoch = 2 AND layer = 1
    /// AND kind = 'weight'`), for the DELETE the message offers; nil when the row has no run or
    /// epoch, or a layer or kind too long to quote.
    case damagedTensor(runID: Int64?, epoch: Int?, tensor: String, detail: String, row: String?)
    /// A database, run, sweep or epoch that was asked for does not exist.
    case notFound(String)
    /// A read-only open found no database to read (no file, an empty file, no Slope tables).
    case noDatabase(path: String, reason: String)
    /// Another process held the write lock for longer than the busy timeout.
    case busy(path: String, timeout: TimeInterval)
    /// The run is not (or no longer) held by this worker: it finished, was requeued or reclaimed.
    case runNotHeld(runID: Int64, detail: String)
    /// The caller passed a value the schema refuses (shape, size, duplicate epoch...).
    case invalidValue(String)
    /// The epoch (nil: the run's end) was refused because the epoch before it (`previous`) is not
    /// stored: a write before it failed, or a PostgreSQL server with `synchronous_commit=off`
    /// crashed and lost commits it had confirmed. The run's stored epochs still end without a
    /// gap, at `lastStored`; a worker puts it back in the queue, to resume from there.
    case previousEpochNotStored(runID: Int64, epoch: Int?, previous: Int, lastStored: Int?)
    /// Any other SQLite error, with SQLite's message.
    case sqlite(path: String, message: String)
    /// `runner compact` stopped: the disk filled or the lock stayed held; whether the tensors
    /// were deleted already (then only the shrinking, VACUUM, is left).
    case compactionFailed(path: String, reason: String, tensorsDeleted: Bool)
    /// A PostgreSQL URL that cannot be used: what is wrong and how to write it (never the password).
    case invalidDatabaseURL(String)
    /// The PostgreSQL server could not be reached or refused the connection (`server` without the password).
    case cannotConnect(server: String, reason: String)
    /// Any other PostgreSQL error, with the server's message (`server` without the password).
    case postgres(server: String, message: String)
    /// The caller asked to stop (Ctrl-C, SIGTERM) before the operation finished: what was left undone.
    case interrupted(String)
    /// The PostgreSQL server cancelled a statement at one of the session's limits: `setting` is
    /// `statement_timeout` or `lock_timeout`, `seconds` its value (`PostgresSettings`).
    case timedOut(server: String, setting: String, seconds: TimeInterval)
    /// The PostgreSQL server cancelled a statement "due to user request" (SQLSTATE 57014). Slope
    /// sends no cancel request, so another session cancelled it (`pg_cancel_backend`), or the
    /// session's `statement_timeout` (`statementTimeout` seconds, 0: off) ran out as the statement
    /// began, which PostgreSQL reports in these words when its timer fires between two statements.
    case cancelled(server: String, statementTimeout: TimeInterval)

    public var description: String {
        switch self {
        case let .notASlopeDatabase(path, reason):
            return "\(path) is not a Slope database (\(reason)). Give the path of a database written by Slope, or a new file name."
        case let .newerSchema(path, unknown):
            return "\(path) was written by a newer Slope (unknown migrations: \(unknown.joined(separator: ", "))): upgrade Slope to use it."
        case let .olderSchema(path, missing):
            return "\(path) was written by an older Slope and needs migrations \(missing.joined(separator: ", ")): run `runner` once on it (it upgrades the database), then retry."
        case let .readOnly(path):
            return "cannot write \(path): the file or its folder is read-only. Check permissions, or copy the database somewhere writable."
        case let .unwritableCompanionFiles(path, detail):
            return "cannot write \(path): \(detail)"
        case let .changedWhileRead(path):
            return "\(path) was changed by another process while this one read it (without SQLite's locks, as it reads another "
                + "user's database or one it cannot write: docs/schema.md): run the command again."
        case let .diskFull(path):
            return "the disk holding \(path) is full: free some space (or log tensors less often) and resume the run."
        case let .databaseGone(path, replaced):
            return replaced
                ? "\(path) was replaced by another file while this process was writing to it: what it wrote since went into the file "
                    + "that had that path, not the one there now. Nothing more is written; start again on a new file (or restore the database from a backup)."
                : "\(path) was deleted while this process was writing to it (`rm`, or another program): what it wrote since went into the "
                    + "deleted file and is lost. Nothing more is written; start again on a new file (or restore the database from a backup)."
        case let .ioError(path, message):
            return "reading or writing \(path) failed (\(message)): check the disk and the file system, then resume the run."
        case let .corrupt(path, detail):
            return "\(path) is damaged (\(detail)). Restore it from a backup, or try `sqlite3 \(path) .recover` into a new file."
        case let .damagedTensor(runID, epoch, tensor, detail, row):
            let place = [runID.map { "run \($0)" }, epoch.map { "epoch \($0)" }].compactMap { $0 }.joined(separator: ", ")
            let remedy = row.map { ", or delete that row to read the rest without it (in sqlite3, or psql): DELETE FROM tensors WHERE \($0);" } ?? "."
            return (place.isEmpty ? "" : place + ": ") + "\(tensor) is damaged (\(detail)): the database was changed outside Slope "
                + "(the sqlite3 shell, a script); restore it from a backup" + remedy
        case let .notFound(what):
            let list = what.hasPrefix("sweep") ? " (`\(CommandHint.command("report sweeps"))` lists the sweeps)"
                : what.hasPrefix("run") ? " (`\(CommandHint.command("report runs"))` lists the runs)" : ""
            return "\(what) not found\(list)"
        case let .noDatabase(path, reason):
            return "no Slope database at \(path): \(reason)"
        case let .busy(path, timeout):
            return "\(path) stayed locked by another process\(timeout.isFinite ? String(format: " for more than %.0f s", timeout) : ""). Retry, or stop the process that holds it."
        case let .runNotHeld(runID, detail):
            return "run \(runID) is not held by this worker: \(detail)."
        case let .invalidValue(message):
            return message
        case let .sqlite(path, message):
            return "SQLite error on \(path): \(message)"
        case let .compactionFailed(path, reason, tensorsDeleted):
            return "could not compact \(path): \(reason). "
                + (tensorsDeleted ? "The tensors were deleted, but the file did not shrink; run the same command again once that is fixed (it then only shrinks the file)."
                                  : "Nothing was deleted; run the same command again once that is fixed.")
        case let .invalidDatabaseURL(message):
            return "bad database URL: \(message)"
        case let .cannotConnect(server, reason):
            return "cannot connect to \(server): \(reason)"
        case let .postgres(server, message):
            return "PostgreSQL error on \(server): \(message)"
        case let .previousEpochNotStored(runID, epoch, previous, lastStored):
            let refused = epoch.map { "epoch \($0) of run \(runID) was not stored: epoch \(previous) before it is not" }
                ?? "run \(runID) was not ended: its last epoch, \(previous), is not stored"
            return refused + " (" + (lastStored.map { "the run's stored epochs end at epoch \($0)" } ?? "the run has no epoch stored")
                + "; a PostgreSQL server with synchronous_commit=off loses its last commits when it crashes)."
                + " The run goes back to the queue and resumes from its stored epochs."
        case let .folderNotWritable(path, folder):
            return "cannot create \(path): the folder \(folder) is not writable (give a path in a folder you can write)"
        case let .interrupted(message):
            return message
        case let .timedOut(server, setting, seconds):
            let limit = "\(setting) (\(PostgresServerOptions.describe(seconds)))"
            let change = "add ?options=-c%20\(setting)%3D10min to the database URL (or set PGOPTIONS='-c \(setting)=10min'; 0 turns it off)"
            if setting == "lock_timeout" {
                return "\(server) gave up waiting for a lock after \(limit): another session holds it (see pg_locks and pg_stat_activity on the server); end that session and retry, or to wait longer \(change)."
            }
            return "\(server) cancelled a statement that ran longer than \(limit): the server is overloaded or waits for something; retry, or to allow longer \(change)."
        case let .cancelled(server, statementTimeout):
            let timeout = statementTimeout > 0
                ? " or statement_timeout (\(PostgresServerOptions.describe(statementTimeout))) ran out as it began (PostgreSQL says 'user request' then too; "
                    + "to allow longer add ?options=-c%20statement_timeout%3D10min to the database URL)"
                : ""
            return "\(server) cancelled a statement ('canceling statement due to user request'): Slope cancels none itself, so another session "
                + "cancelled it (pg_cancel_backend)\(timeout); retry."
        }
    }

    /// What Ctrl-C (or SIGTERM) while a sweep is checked or written leaves: nothing
    /// (`createSweep`'s `shouldStop` undoes the write whole).
    public static let nothingQueuedMessage = "nothing was queued (a sweep is written in one transaction, all or nothing); "
        + "run the command again to queue it"

    /// Whether the failure comes from outside the data written (a full disk, the lock held by
    /// another process past the timeout, an I/O error, a file made read-only, a PostgreSQL
    /// statement cancelled at its time limit): the same write can
    /// succeed once that is fixed, so a run that met it is left to resume rather than failed.
    public var isTransient: Bool {
        switch self {
        case .diskFull, .busy, .ioError, .readOnly, .unwritableCompanionFiles, .timedOut, .cancelled, .databaseGone: return true
        default: return false
        }
    }

    /// Bad input (exit status 2 in both executables): a database URL that is wrong as written, also
    /// when that shows only on connecting (an unreadable sslrootcert); the rest are runtime errors (1).
    public var isUsageError: Bool {
        if case .invalidDatabaseURL = self { return true } else { return false }
    }

    /// `.previousEpochNotStored`: the run is to train again from its stored epochs, nothing to fix.
    public var isPreviousEpochNotStored: Bool {
        if case .previousEpochNotStored = self { return true } else { return false }
    }

    static func isADirectory(_ path: String) -> StoreError {
        .invalidValue("\(path) is a directory: give the path of a database file (e.g. \(path)/slope.db)")
    }
}
