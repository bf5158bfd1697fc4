// Writing the executables' standard output and error: every byte, a reader that went away, a full disk.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The executables' one way to write to their standard streams (libraries never print).
public enum StandardStream {
    case output, error

    /// What starts the one error line written when standard output cannot be written to
    /// ("report: error: " for `report`); set once by the executable before it writes anything.
    nonisolated(unsafe) public static var errorPrefix = "error: "

    /// What a write does once the reader of standard output has gone away (`... | head`): nil
    /// ends the process quietly (`report`); a notice drops standard output from then on, says
    /// so once on stderr and lets the process go on (`runner`: the training is worth more than
    /// its progress lines). Set once by the executable before it writes anything.
    nonisolated(unsafe) public static var closedOutputNotice: String?

    /// Set once standard output's reader went away and `closedOutputNotice` was said.
    private static let outputClosed = ClosedFlag()

    /// Writes all of `text`. When the reader of standard output has gone away (`report ... | head`),
    /// the process ends quietly the way SIGPIPE ends it (exit 141 in the shell), on either store,
    /// or with `closedOutputNotice` goes on without its output. The executables ignore SIGPIPE
    /// (SwiftNIO, under the PostgreSQL store, does too), so the error comes back here instead
    /// (Foundation's `FileHandle.write` would crash on it). Any other error writing standard output
    /// (a full disk, /dev/full, an I/O error) ends the process with one line on stderr,
    /// "cannot write to standard output: REASON", and exit status 1: output that was cut short
    /// must not look like a success. Errors writing stderr drop the text (there is nowhere to say so).
    public func write(_ text: String) {
        write(Data(text.utf8))
    }

    /// Writes all of `data` (see `write(_:)` for a reader that went away).
    public func write(_ data: Data) {
        if self == .output && Self.outputClosed.isSet { return }
        let descriptor = self == .output ? STDOUT_FILENO : STDERR_FILENO
        guard let failure = writeAll(descriptor, data), self == .output else { return }
        if failure == EPIPE, let notice = Self.closedOutputNotice {
            if Self.outputClosed.set() { StandardStream.error.write(notice.hasSuffix("\n") ? notice : notice + "\n") }
            return
        }
        if failure == EPIPE {
            signal(SIGPIPE, SIG_DFL)
            raise(SIGPIPE)
            _exit(141)
        }
        StandardStream.error.write(StandardStream.errorPrefix + "cannot write to standard output: "
                                   + String(cString: strerror(failure)) + "\n")
        _exit(1)
    }
}

/// A flag set once, from any thread.
private final class ClosedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }

    /// Sets the flag; true for the call that set it.
    func set() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if value { return false }
        value = true
        return true
    }
}

/// Writes all of `data` to `descriptor`, again after EINTR: nil once all is written, else the
/// errno of the failure (EIO for a write that wrote nothing). The one write loop of the
/// executables' output (`StandardStream`, `OutputFile`); each caller decides what EPIPE means.
func writeAll(_ descriptor: Int32, _ data: Data) -> Int32? {
    data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Int32? in
        var offset = 0
        while offset < raw.count {
            let written = systemWrite(descriptor, raw.baseAddress! + offset, raw.count - offset)
            if written > 0 { offset += written; continue }
            if written < 0 && errno == EINTR { continue }
            return written < 0 ? errno : EIO
        }
        return nil
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif
