// Ctrl-C and SIGTERM as requests to stop (StopSignal.swift): a signal delivered twice is one
// request, and the process ends once, by its work or by a signal's handler, never by both.
import Experiments
import XCTest

final class StopSignalTests: XCTestCase {
    /// The first signal again within half a second is that one delivered twice (`timeout` signals the
    /// process and then its group); the other signal, or the first half a second or more later, is a
    /// second request.
    func testTheFirstSignalAgainWithinHalfASecondIsTheSameRequest() {
        let (interrupt, terminate) = (Int32(2), Int32(15))  // SIGINT, SIGTERM
        let stop = StopSignal()
        XCTAssertFalse(stop.isRequested)
        XCTAssertNil(stop.signal)
        XCTAssertEqual(stop.request(signal: terminate, at: 100), .first)
        XCTAssertTrue(stop.isRequested)
        XCTAssertEqual(stop.request(signal: terminate, at: 100), .repeated)
        XCTAssertEqual(stop.request(signal: terminate, at: 100.499), .repeated)
        XCTAssertEqual(stop.request(signal: interrupt, at: 100.001), .second, "the other signal")
        XCTAssertEqual(stop.request(signal: terminate, at: 100.5), .second, "half a second later")
        XCTAssertEqual(stop.signal, terminate, "the first one stays the one that stopped the process")

        let plain = StopSignal()
        plain.request()  // from code, not a signal: the first signal after it still only stops
        XCTAssertEqual(plain.request(signal: interrupt, at: 5), .first)
        XCTAssertEqual(plain.request(signal: interrupt, at: 7), .second)
    }

    /// The first to end the process ends it: the work (its last line on the main thread) or a
    /// signal's handler (after its grace period), never both; the work may ask again.
    func testTheProcessEndsOnceByWhoeverAskedFirst() {
        let byWork = StopSignal()
        XCTAssertTrue(byWork.mayEnd(.work))
        XCTAssertFalse(byWork.mayEnd(.signal), "the command is ending: the signal's end leaves it be")
        XCTAssertTrue(byWork.mayEnd(.work), "asked again on the same way out")

        let bySignal = StopSignal()
        XCTAssertTrue(bySignal.mayEnd(.signal))
        XCTAssertFalse(bySignal.mayEnd(.work), "the signal's end has begun: the command's error or result waits for it")
        XCTAssertFalse(bySignal.mayEnd(.signal), "a second signal's end after the grace period's: one end")

        // Whichever of many threads asks first, exactly one end.
        for _ in 0..<100 {
            let stop = StopSignal()
            let granted = Granted()
            DispatchQueue.concurrentPerform(iterations: 8) { index in
                if stop.mayEnd(index % 2 == 0 ? .work : .signal) { granted.add(index % 2 == 0 ? .work : .signal) }
            }
            let enders = granted.enders
            XCTAssertTrue(enders.count == 1 || (enders.count > 1 && Set(enders) == [.work]), "\(enders)")
        }
    }
}

/// Who was allowed to end, from several threads.
private final class Granted: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [StopSignal.Ender] = []
    func add(_ ender: StopSignal.Ender) { lock.lock(); list.append(ender); lock.unlock() }
    var enders: [StopSignal.Ender] { lock.lock(); defer { lock.unlock() }; return list }
}
