// The dashboard's database threads answer every request within their time: a request whose reads
// had begun (the database answered) but take longer says it asked for too much and how to ask for
// less (a 503 that does not call the database down); one whose read never began says the database
// did not answer, as before.
import Foundation
import XCTest
@testable import Dashboard

final class DatabaseThreadsTests: XCTestCase {
    /// Waits until `seconds` have passed (the work goes on after its request was answered, its result dropped).
    private static func pause(_ seconds: TimeInterval) { Thread.sleep(forTimeInterval: seconds) }

    func testWorkThatReadsTooLongSaysSoAndHowToAskForLess() async throws {
        let threads = DatabaseThreads(answerWithin: 0.3)
        do {
            _ = try await threads.run(narrowing: "narrow the runs with the filter (where=)") { readBegun in
                readBegun()
                Self.pause(1.5)
                return 1
            }
            XCTFail("answered after its time")
        } catch let error as DashboardError {
            XCTAssertEqual(error, .tooLong("no answer within 0.3 s: the database answers, but this request reads more of it than fits in "
                                           + "that time (a large sweep or a long run): narrow the runs with the filter (where=)"))
            XCTAssertEqual(error.status, .serviceUnavailable)
            XCTAssertTrue(error.description.hasPrefix("the request took too long: no answer within 0.3 s"), error.description)
            XCTAssertFalse(error.description.contains("cannot read the database"), error.description)
        }
    }

    func testWorkWhoseReadNeverBeganSaysTheDatabaseDidNotAnswer() async throws {
        let threads = DatabaseThreads(answerWithin: 0.3)
        do {
            _ = try await threads.run(narrowing: "ask for less") { _ in
                Self.pause(1.5)  // a server that does not answer, a file locked by another process
                return 1
            }
            XCTFail("answered after its time")
        } catch let error as DashboardError {
            guard case .database(let detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.hasPrefix("no answer within 0.3 s (a PostgreSQL server that is down or does not answer"), detail)
            XCTAssertFalse(detail.contains("ask for less"), detail)
        }
    }

    func testWorkWithinItsTimeIsAnswered() async throws {
        let threads = DatabaseThreads(answerWithin: 5)
        let answer = try await threads.run { readBegun in
            readBegun()
            return 42
        }
        XCTAssertEqual(answer, 42)
    }
}
