// Waiting for another process's write lock without giving up: the store tells its caller (through
// a callback: libraries never print) that it is waiting and for whom, and stops waiting when the
// caller says so (Ctrl-C).
import Foundation

extension SlopeStore {
    /// How a store waits for the write lock (`SlopeStore.init(lockWaiting:)`). Without it, a write
    /// gives up with `.busy` after the busy timeout; with it, it waits for as long as it takes.
    public struct LockWaiting: Sendable {
        /// Seconds of waiting after which `onWait` is called (once per wait).
        public var noticeAfter: TimeInterval
        /// Told that a write has waited `noticeAfter` seconds, with the pid holding the lock (a
        /// process of this host; nil when it cannot be told). Called on the waiting thread.
        public var onWait: @Sendable (_ holderPID: Int32?) -> Void
        /// Asked while waiting: true ends the wait, and the write fails with `.busy`.
        public var shouldGiveUp: @Sendable () -> Bool

        public init(noticeAfter: TimeInterval, onWait: @escaping @Sendable (_ holderPID: Int32?) -> Void,
                    shouldGiveUp: @escaping @Sendable () -> Bool = { false }) {
            self.noticeAfter = noticeAfter
            self.onWait = onWait
            self.shouldGiveUp = shouldGiveUp
        }
    }

    /// The process holding the write lock of the WAL database at `path`, from /proc/locks (Linux):
    /// SQLite's writer holds a POSIX write lock on byte 120 of the -shm file (WAL_WRITE_LOCK, the
    /// first of its locks at offset 120). Read without opening the -shm: closing any descriptor of
    /// a file drops every POSIX lock this process holds on it, SQLite's own included.
    static func writeLockHolder(path: String, locks: String = "/proc/locks") -> Int32? {
        let shm = URL(fileURLWithPath: path).resolvingSymlinksInPath().path + "-shm"
        var info = stat()
        guard stat(shm, &info) == 0, let table = try? String(contentsOfFile: locks, encoding: .utf8) else { return nil }
        // "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 120 120" (a blocked waiter's line has "->").
        for line in table.split(separator: "\n") where !line.contains("->") {
            let fields = line.split(separator: " ")
            guard fields.count >= 8, fields[1] == "POSIX", fields[3] == "WRITE", fields[6] == "120",
                  fields[5].split(separator: ":").last == Substring(String(info.st_ino)) else { continue }
            return Int32(fields[4])
        }
        return nil
    }

    /// Whether a process other than this one holds a lock on the database's `-shm` file, that is,
    /// has the database open (every connection keeps a shared lock there while it is open), by
    /// `/proc/locks`. False where that cannot be read.
    static func otherProcessesHaveOpen(path: String, locks: String = "/proc/locks") -> Bool {
        let shm = URL(fileURLWithPath: path).resolvingSymlinksInPath().path + "-shm"
        var info = stat()
        guard stat(shm, &info) == 0, let table = try? String(contentsOfFile: locks, encoding: .utf8) else { return false }
        let me = String(getpid()), inode = Substring(String(info.st_ino))
        for line in table.split(separator: "\n") where !line.contains("->") {
            let fields = line.split(separator: " ")
            guard fields.count >= 8, fields[1] == "POSIX", fields[5].split(separator: ":").last == inode else { continue }
            if fields[4] != Substring(me) { return true }
        }
        return false
    }
}
