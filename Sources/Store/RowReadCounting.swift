// How many result rows a store's reads have returned: what tests bound a report's work by (a
// 100,000-run sweep's `report best` reads a handful of rows, not every run), without timing it.
// Counted only on a store made for it (`SlopeStore.countingRowsRead()`): commands never pay for it.
import Foundation

/// A count of result rows, shared by every read of one store (any thread).
final class RowsRead: @unchecked Sendable {  // `count` is guarded by `lock`
    private let lock = NSLock()
    private var count = 0

    /// Rows returned by the store's reads since the count began.
    var total: Int { lock.withLock { count } }

    func add(_ rows: Int) { lock.withLock { count += rows } }
}

/// A read's connection that counts the rows its statements return, and passes everything else on.
final class RowCountingConnection: SQLConnection {
    private let connection: any SQLConnection
    private let rowsRead: RowsRead

    init(_ connection: any SQLConnection, counting rowsRead: RowsRead) {
        self.connection = connection
        self.rowsRead = rowsRead
    }

    var dialect: SQLDialect { connection.dialect }

    func rows(_ sql: String, _ arguments: [any SQLValueConvertible]) throws -> [SQLRow] {
        let rows = try connection.rows(sql, arguments)
        rowsRead.add(rows.count)
        return rows
    }

    func forEachRow(_ sql: String, _ arguments: [any SQLValueConvertible], _ body: (SQLRow) throws -> Void) throws {
        var count = 0
        defer { rowsRead.add(count) }
        try connection.forEachRow(sql, arguments) { row in
            count += 1
            try body(row)
        }
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLValueConvertible]) throws -> Int {
        try connection.execute(sql, arguments)
    }
}
