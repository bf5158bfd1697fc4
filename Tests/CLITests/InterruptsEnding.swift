// What an `Interrupts` under test wrote, and the status it ended the process with: the handlers of
// SecondSignalTests and CompactSignalTests are called directly (none installed), and their end
// parks the calling thread instead of ending the process.
import Foundation

final class InterruptsEnding: @unchecked Sendable {  // lines and status under lock
    private let lock = NSLock()
    private var written: [String] = []
    private var endedWith: Int32?
    let ended = DispatchSemaphore(value: 0)

    var lines: [String] { lock.withLock { written } }
    var status: Int32? { lock.withLock { endedWith } }
    func write(_ line: String) { lock.withLock { written.append(line.hasPrefix("\n") ? String(line.dropFirst()) : line) } }
    func end(_ status: Int32) -> Never {
        lock.withLock { endedWith = status }
        ended.signal()
        // `_exit` never returns: nor does this thread, which keeps what the handler held.
        while true { sleep(3600) }
    }
}
