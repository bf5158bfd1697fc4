// How a command that a message suggests names the database the user gave with --db, so that the
// copied command opens the same one: `runner` and `report` both word their hints through here.
import Foundation

public enum CommandHint {
    /// `--db X` as this process was given it (see `databaseArgument(given:)`); "" without --db
    /// ($SLOPE_DB or ./slope.db: the suggested command finds the database the same way). Set once by
    /// the executable while it validates its options, before anything is opened.
    nonisolated(unsafe) public static var databaseArgument = ""

    /// "--db q.db" for `--db q.db`: shell-quoted, a URL without its password (the suggested command
    /// takes it from PGPASSWORD or ~/.pgpass); "" when --db was not given.
    public static func databaseArgument(given db: String?) -> String {
        db.map { "--db \(shellQuoted(PostgresSettings.removingPassword(from: $0)))" } ?? ""
    }

    /// `command` as a message suggests it: "report sweeps --db q.db".
    public static func command(_ command: String) -> String {
        databaseArgument.isEmpty ? command : command + " " + databaseArgument
    }

    /// Where a suggested `runner` command works when the role connected may only read
    /// (`RunQueries.readOnlyRoleName`): the command then goes without the reader's --db.
    public static func readOnlyNote(role: String) -> String {
        "with the worker role's URL in SLOPE_DB or --db (role \(role) may only read; docs/distributed.md, Roles)"
    }

    /// `text` as one shell word: as it is when it holds only letters, digits and -_./, else in single quotes.
    public static func shellQuoted(_ text: String) -> String {
        text.allSatisfy({ $0.isLetter || $0.isNumber || "-_./".contains($0) }) ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
