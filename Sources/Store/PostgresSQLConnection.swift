// Store's SQL on a PostgreSQL connection: `?` placeholders numbered $1, $2, ... (outside string
// literals), SQLValues bound in binary (integer int8, real float8, text, blob bytea, NULL of no
// type, which the server infers), and result cells read back as SQLValues by column name.
import Foundation
import PostgresNIO

final class PostgresSQLConnection: SQLConnection {
    let session: PostgresSession
    var dialect: SQLDialect { .postgres }

    init(session: PostgresSession) {
        self.session = session
    }

    func rows(_ sql: String, _ arguments: [any SQLValueConvertible]) throws -> [SQLRow] {
        let result = try session.result(of: Self.query(sql, arguments))
        return try Self.rows(of: result.rows, server: session.settings.description)
    }

    /// Streams through a cursor, `fetchSize` rows at a time: postgres-nio's synchronous answer
    /// holds every row of a statement, and an export's tensors must not have to fit in memory.
    /// (Only inside a transaction, where Store's queries always run; the cursor ends with it.)
    func forEachRow(_ sql: String, _ arguments: [any SQLValueConvertible], _ body: (SQLRow) throws -> Void) throws {
        cursors += 1
        let cursor = "slope_rows_\(cursors)"
        try session.result(of: Self.query("DECLARE \(cursor) NO SCROLL CURSOR FOR \(sql)", arguments))
        var columns: [String]? = nil
        while true {
            let batch = try session.result(of: PostgresQuery(unsafeSQL: "FETCH FORWARD \(Self.fetchSize) FROM \(cursor)")).rows
            for row in batch {
                if columns == nil { columns = row.map(\.columnName) }
                try body(SQLRow(columns: columns!, values: try row.map { try Self.value(of: $0, server: session.settings.description) }))
            }
            if batch.count < Self.fetchSize { break }
        }
        try session.result(of: PostgresQuery(unsafeSQL: "CLOSE \(cursor)"))
    }

    /// Rows a FETCH asks for: 32 of the largest tensors a run may store are a few hundred MB at most.
    static let fetchSize = 32
    /// Cursors opened on this connection (one transaction), for their names.
    private var cursors = 0

    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLValueConvertible]) throws -> Int {
        try session.result(of: Self.query(sql, arguments)).metadata.rows ?? 0
    }

    // MARK: - Statements

    /// The statement with numbered placeholders and its arguments bound.
    /// - Throws: `.invalidValue` when the number of arguments is not the number of `?` (a bug in Store).
    static func query(_ sql: String, _ arguments: [any SQLValueConvertible]) throws -> PostgresQuery {
        let (numbered, count) = numberedSQL(sql)
        guard count == arguments.count else {
            throw StoreError.invalidValue("a statement has \(count) placeholders but \(arguments.count) arguments: \(sql)")
        }
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments { bind(argument.sqlValue, into: &bindings) }
        return PostgresQuery(unsafeSQL: numbered, binds: bindings)
    }

    static func bind(_ value: SQLValue, into bindings: inout PostgresBindings) {
        switch value {
        case .null: bindings.appendNull()  // type 0: the server infers it from where it is used
        case let .integer(number): bindings.append(number)
        case let .real(number): bindings.append(number)
        case let .text(text): bindings.append(text)
        case let .blob(bytes): bindings.append(ByteBuffer(bytes: bytes))
        }
    }

    private static let cacheLock = NSLock()
    nonisolated(unsafe) private static var numberedCache: [String: (String, Int)] = [:]

    /// `SQLScript.numberedPlaceholders`, remembered: Store's statements are a few hundred fixed texts.
    static func numberedSQL(_ sql: String) -> (String, Int) {
        cacheLock.lock()
        if let cached = numberedCache[sql] {
            cacheLock.unlock()
            return cached
        }
        cacheLock.unlock()
        let numbered = SQLScript.numberedPlaceholders(sql)
        cacheLock.lock()
        if numberedCache.count > 4096 { numberedCache.removeAll() }  // statements spliced with values (IN lists) must not grow it forever
        numberedCache[sql] = numbered
        cacheLock.unlock()
        return numbered
    }

    // MARK: - Reading cells

    static func rows(of rows: [PostgresRow], server: String) throws -> [SQLRow] {
        guard let first = rows.first else { return [] }
        let columns = first.map(\.columnName)
        return try rows.map { row in SQLRow(columns: columns, values: try row.map { try value(of: $0, server: server) }) }
    }

    /// A cell as an SQLValue: int2/4/8 -> integer, float4/8 and numeric -> real, bool -> integer
    /// 0/1, text, varchar, name, json and jsonb -> text, bytea -> blob (the same bytes).
    /// - Throws: `.postgres` for a type Slope does not read (a bug in Store's SQL, or a foreign column).
    static func value(of cell: PostgresCell, server: String) throws -> SQLValue {
        guard let bytes = cell.bytes else { return .null }
        do {
            switch cell.dataType {
            case .int2, .int4, .int8:
                return .integer(try cell.decode(Int64.self))
            case .float4, .float8:
                // A NaN (only a hand-made UPDATE stores one) reads as SQLite's would: missing, as SQLite stores NULL for it.
                let number = try cell.decode(Double.self)
                return number.isNaN ? .null : .real(number)
            case .numeric:
                let decimal = try cell.decode(Decimal.self)
                return .real(Double("\(decimal)") ?? NSDecimalNumber(decimal: decimal).doubleValue)
            case .bool:
                return .integer(try cell.decode(Bool.self) ? 1 : 0)
            case .bytea:
                return .blob(Data(bytes.readableBytesView))
            case .text, .varchar, .bpchar, .name, .json, .jsonb, .unknown:
                return .text(try cell.decode(String.self))
            default:
                throw StoreError.postgres(server: server, message: "column \(cell.columnName) has type \(cell.dataType), which Slope does not read: cast it to text, bigint or double precision in the query")
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.postgres(server: server, message: "cannot read column \(cell.columnName) (type \(cell.dataType)): \(error)")
        }
    }
}
