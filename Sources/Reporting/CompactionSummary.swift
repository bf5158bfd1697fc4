// What `runner compact` prints: the tensors deleted (or that a dry run would delete), the runs
// left alone because they could still be resumed, and the file's size before and after VACUUM
// or why VACUUM was skipped (a PostgreSQL server has no file to shrink: it reuses the space itself).
import Foundation
import Store

public enum CompactionSummary {
    /// `databasePath`: the SQLite file, or nil for a PostgreSQL server.
    public static func render(_ compaction: SlopeStore.Compaction, databasePath: String?) -> String {
        let done = compaction.runs.filter { !$0.skipped }
        let epochs = done.reduce(0) { $0 + $1.deletedEpochs }
        let bytes = done.reduce(Int64(0)) { $0 + $1.deletedBytes }
        var text = compaction.isDryRun ? "dry run: would delete" : "deleted"
        text += " the tensors of \(epochs) epoch\(epochs == 1 ? "" : "s") (\(SlopeStore.describeBytes(bytes)) of values)"
            + " from \(done.count) finished run\(done.count == 1 ? "" : "s") of sweep \(compaction.sweepID)"
            + "; kept epoch 0, the multiples of \(compaction.keepEvery) and each run's last (\(done.reduce(0) { $0 + $1.keptEpochs }) epochs)\n"
        let skipped = compaction.runs.filter(\.skipped)
        if !skipped.isEmpty {
            text += "left alone: run\(skipped.count == 1 ? "" : "s") \(skipped.map { "\($0.runID) (\($0.status.rawValue))" }.joined(separator: ", "))"
                + (skipped.count == 1 ? ": it could still be resumed; compact again once it has finished\n"
                                      : ": they could still be resumed; compact again once they have finished\n")
        }
        guard let databasePath else {
            return text + (compaction.isDryRun ? "nothing was changed; run again without --dry-run to delete them\n"
                                                : "the server reuses the freed space for new rows (its autovacuum); there is no file to shrink\n")
        }
        if compaction.isDryRun {
            return text + "nothing was changed; run again without --dry-run to delete them and shrink the file (VACUUM)\n"
        }
        if !compaction.vacuumed {
            return text + "VACUUM skipped: nothing was deleted and \(terminalSafe(databasePath)) has next to no free space to give back;"
                + " the file was not written (\(SlopeStore.describeBytes(compaction.bytesAfter)))\n"
        }
        return text + "VACUUM: \(terminalSafe(databasePath)) \(SlopeStore.describeBytes(compaction.bytesBefore)) -> \(SlopeStore.describeBytes(compaction.bytesAfter))\n"
    }
}
