// Waiting for the write lock without a timeout (`SlopeStore.LockWaiting`): the busy handler never
// gives up on its own, tells once per wait who holds the lock, and stops when asked; the holder's
// pid comes from /proc/locks.
import Foundation
import GRDB
@testable import Store
import TestSupport
import XCTest

final class LockWaitingTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(prefix: "slope-lock") }
    override func tearDown() { directory.remove() }

    final class Box<Value>: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: Value
        init(_ value: Value) { stored = value }
        var value: Value {
            get { lock.withLock { stored } }
            set { lock.withLock { stored = newValue } }
        }
    }

    func testBusyHandlerWithWaitingNoticesOnceAndStopsOnlyWhenAsked() {
        let clock = Box(100.0), notices = Box<[Int32?]>([]), giveUp = Box(false), pauses = Box<[useconds_t]>([])
        let waiting = SlopeStore.LockWaiting(noticeAfter: 5, onWait: { notices.value.append($0) }, shouldGiveUp: { giveUp.value })
        let handler = SQLiteBackend.busyHandler(timeout: 0.01, waiting: waiting, holder: { 4321 }, now: { clock.value },
                                             sleep: { pause in pauses.value.append(pause); clock.value += Double(pause) * 1e-6 })
        var tries = 0
        while clock.value < 100 + 4.9 {
            XCTAssertTrue(handler(tries), "no timeout")
            tries += 1
        }
        XCTAssertEqual(notices.value, [], "nothing said before noticeAfter")
        XCTAssertTrue(pauses.value.allSatisfy { (250...1250).contains($0) })
        while clock.value < 100 + 60 {
            XCTAssertTrue(handler(tries), "still waiting after a minute")
            tries += 1
        }
        XCTAssertEqual(notices.value, [4321], "said once per wait, with the holder")
        XCTAssertTrue((5_000...15_000).contains(pauses.value.last ?? 0), "looks less often during a long wait")
        giveUp.value = true
        XCTAssertFalse(handler(tries), "Ctrl-C ends the wait")
        giveUp.value = false
        clock.value += 10
        XCTAssertTrue(handler(0))
        clock.value += 6
        XCTAssertTrue(handler(1))
        XCTAssertEqual(notices.value, [4321, 4321], "a new wait says it again")
    }

    func testWriteLockHolderReadsProcLocks() throws {
        let path = directory.path("held.db")
        let store = try SlopeStore(path: path)  // open: its -shm file exists
        defer { try? store.close() }
        var info = stat()
        XCTAssertEqual(stat(path + "-shm", &info), 0)
        let locks = directory.path("locks")
        try """
            1: POSIX  ADVISORY  READ  777 fd:01:\(info.st_ino) 128 128
            2: POSIX  ADVISORY  WRITE 888 fd:01:\(info.st_ino + 1) 120 120
            3: POSIX  ADVISORY  WRITE 999 fd:01:\(info.st_ino) 121 121
            4: POSIX  ADVISORY  WRITE 4242 fd:01:\(info.st_ino) 120 120
            4: -> POSIX  ADVISORY  WRITE 5555 fd:01:\(info.st_ino) 120 120
            """.write(toFile: locks, atomically: true, encoding: .utf8)
        XCTAssertEqual(SlopeStore.writeLockHolder(path: path, locks: locks), 4242)
        XCTAssertNil(SlopeStore.writeLockHolder(path: directory.path("none.db"), locks: locks))
    }

    /// Another connection holds the write lock far past the busy timeout: the write waits, is told
    /// who holds it (this process, from /proc/locks), and goes through once the lock is released.
    func testAWriteWaitsPastItsTimeoutAndIsToldWhoHoldsTheLock() throws {
        #if !os(Linux)
        throw XCTSkip("reads /proc/locks")
        #endif
        let path = directory.path("wait.db")
        let holders = Box<[Int32?]>([])
        let store = try SlopeStore(path: path, busyTimeout: 0.1, lockWaiting: .init(noticeAfter: 0.2, onWait: { holders.value.append($0) }))
        var unsafe = Configuration()
        unsafe.allowsUnsafeTransactions = true  // the lock stays held between the two accesses
        let holder = try DatabaseQueue(path: path, configuration: unsafe)
        try holder.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        let done = DispatchSemaphore(value: 0)
        let result = Box<Result<Int64, Error>?>(nil)
        DispatchQueue.global().async {
            result.value = Result { try store.createRun(.example()) }
            done.signal()
        }
        for _ in 0..<30_000 where holders.value.isEmpty { usleep(10_000) }  // bounded: 300 s
        XCTAssertEqual(holders.value, [getpid()], "the holder is this process's other connection")
        XCTAssertNil(result.value, "still waiting, well past the 0.1 s busy timeout")
        try holder.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") }
        done.wait()
        XCTAssertEqual(try result.value?.get(), 1)
    }
}
