// `report export`: full-resolution runs, epochs or tensors as CSV or JSON, streamed.
import Foundation
import Store

public enum ExportSubject: String, CaseIterable, Sendable {
    case runs, epochs, tensors
}

/// How far a streamed export (`epochs`, `tensors`) has got: rows and bytes handed to `write` so far.
public struct ExportProgress: Equatable, Sendable {
    public var rows: Int
    public var bytes: Int
}

extension Reporter {
    /// `report export`: writes the chosen rows in pieces through `write`, so large sweeps stream;
    /// `onProgress` hears after each piece of `epochs` and `tensors` (about 64 KB) how far it got.
    public func export(sweepID: Int64? = nil, filter: String? = nil, what: ExportSubject = .runs, format: OutputFormat = .csv,
                       onProgress: @escaping (ExportProgress) -> Void = { _ in }, write: (String) throws -> Void) throws {
        if !queries.isSnapshot {
            // A connection lost and found again runs the snapshot again (PostgreSQL): what was
            // written the first time must not be written twice, so the export ends instead;
            // unless all of it was written (only the read's COMMIT was lost).
            var written = false, finished = false
            return try snapshot { snapshot in
                if finished { return }
                if written { throw ReportError.exportCutShort }
                try snapshot.export(sweepID: sweepID, filter: filter, what: what, format: format, onProgress: onProgress) { chunk in
                    written = true
                    try write(chunk)
                }
                finished = true
            }
        }
        let parsedFilter = try filter.map(RunFilterParser.parse)
        guard format != .table else { throw ReportError.invalidArgument("export writes csv or json, not table") }
        if let sweepID, try queries.sweepSummary(id: sweepID) == nil { throw ReportError.unknownSweep(sweepID) }
        if try queries.runCount(sweepID: nil) == 0 {
            throw ReportError.emptyDatabase
        }
        switch what {
        case .runs:
            let runs = try queries.runSummaries(sweepID: sweepID, filter: parsedFilter)
            var table = Self.runTable(runs, format: .csv)
            table.columns.append(.init("config"))
            for index in table.rows.indices { table.rows[index].append(.text(Self.compactJSON(runs[index].configJSON))) }
            try write(table.render(format))
        case .epochs:
            let stream = RowStream(columns: ["run_id", "epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy", "seconds"],
                                   format: format, onProgress: onProgress)
            try queries.forEachEpochRow(sweepID: sweepID, filter: parsedFilter) { row in
                if let chunk = stream.add([.integer(row.runID), .integer(Int64(row.epoch)), .number(row.trainLoss), .number(row.validationLoss),
                                           .number(row.trainAccuracy), .number(row.validationAccuracy), .real(row.seconds)]) {
                    try write(chunk)
                }
            }
            try write(stream.finish())
        case .tensors:
            // One row per tensor with its values as a JSON array (row-major), readable by pandas.
            let stream = RowStream(columns: ["run_id", "epoch", "layer", "kind", "rows", "cols", "dtype", "l2", "mean", "std", "min", "max", "values"],
                                   format: format, onProgress: onProgress)
            try queries.forEachTensor(sweepID: sweepID, filter: parsedFilter) { tensor in
                let values = "[" + tensor.doubles.map { Cell.real($0).json }.joined(separator: ",") + "]"
                if let chunk = stream.add([.integer(tensor.runID), .integer(Int64(tensor.epoch)), .integer(Int64(tensor.layer)), .text(tensor.kind.rawValue),
                                           .integer(Int64(tensor.rows)), .integer(Int64(tensor.cols)), .text(tensor.dtype.rawValue), .number(tensor.l2),
                                           .number(tensor.mean), .number(tensor.std), .number(tensor.min), .number(tensor.max),
                                           format == .json ? .raw(values) : .text(values)]) {
                    try write(chunk)
                }
            }
            try write(stream.finish())
        }
    }
}

/// CSV or JSON rows handed out in chunks of about 64 KB, so exports stream; each chunk handed out
/// is told to `onProgress` with the rows and bytes so far.
final class RowStream {
    let columns: [String]
    let format: OutputFormat
    private var buffer: String
    private var isFirst = true
    private let onProgress: (ExportProgress) -> Void
    private var progress = ExportProgress(rows: 0, bytes: 0)

    init(columns: [String], format: OutputFormat, onProgress: @escaping (ExportProgress) -> Void = { _ in }) {
        self.columns = columns
        self.format = format
        self.onProgress = onProgress
        buffer = format == .csv ? DataTable(columns: columns.map { .init($0) }).renderCSV() : "["
    }

    /// Adds a row; returns a chunk to write when the buffer is full.
    func add(_ cells: [ExportCell]) -> String? {
        if format == .csv {
            buffer += DataTable.csvLine(cells.map(\.cell.exact))
        } else {
            buffer += (isFirst ? "\n  {" : ",\n  {") + zip(columns, cells).map { "\(jsonStringLiteral($0)): \($1.json)" }.joined(separator: ", ") + "}"
        }
        isFirst = false
        progress.rows += 1
        guard buffer.utf8.count > 65_536 else { return nil }
        return handOut()
    }

    /// The rest of the output.
    func finish() -> String {
        if format == .json { buffer += isFirst ? "]\n" : "\n]\n" }
        return handOut()
    }

    private func handOut() -> String {
        defer { buffer = "" }
        progress.bytes += buffer.utf8.count
        onProgress(progress)
        return buffer
    }
}

/// A cell of an export row: a table cell, or JSON text included as is.
enum ExportCell {
    case value(Cell)
    case raw(String)

    static func integer(_ value: Int64) -> ExportCell { .value(.integer(value)) }
    static func real(_ value: Double) -> ExportCell { .value(.real(value)) }
    static func text(_ value: String) -> ExportCell { .value(.text(value)) }
    static func number(_ value: Double?) -> ExportCell { .value(.number(value)) }

    var cell: Cell {
        switch self {
        case .value(let cell): return cell
        case .raw(let text): return .text(text)
        }
    }

    var json: String {
        switch self {
        case .value(let cell): return cell.json
        case .raw(let text): return text
        }
    }
}
