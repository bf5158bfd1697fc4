// libpq's password file (~/.pgpass or PGPASSFILE): where PostgresSettings finds a password that
// is neither in the URL nor in PGPASSWORD.
import Foundation

/// libpq's password file: lines `host:port:database:user:password`, `*` matching anything,
/// `\:` and `\\` escaping, `#` starting a comment; the first matching line wins. The file is
/// ignored when its mode lets the group or others read it (it must be 0600 or stricter).
enum PostgresPasswordFile {
    static func lookup(path: String, host: String, port: Int, database: String, user: String) -> (password: String?, note: String?) {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return (nil, nil) }
        guard let data = FileManager.default.contents(atPath: path) else { return (nil, nil) }
        let wanted = [host, String(port), database, user]
        func matches(_ field: String, _ value: String) -> Bool { field == "*" || field == value }
        var found: String?
        // Databases of the lines that would match but for the database: a mistyped name in the
        // URL then shows as such, not as a missing password.
        var otherDatabases: [String] = []
        // Hosts of the lines that would match but for the host (`127.0.0.1` for a URL's `localhost`:
        // libpq compares the host field as written): said too (newuser16 N3).
        var otherHosts: [String] = []
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            if line.hasPrefix("#") { continue }
            let fields = split(String(line))
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy(matches) {
                found = fields[4]
                break
            }
            if matches(fields[0], host), matches(fields[1], String(port)), matches(fields[3], user), !otherDatabases.contains(fields[2]) {
                otherDatabases.append(fields[2])
            }
            if matches(fields[1], String(port)), matches(fields[2], database), matches(fields[3], user), !otherHosts.contains(fields[0]) {
                otherHosts.append(fields[0])
            }
        }
        guard let found else {
            if otherDatabases.isEmpty && !otherHosts.isEmpty {
                let shown = otherHosts.prefix(3).joined(separator: ", ") + (otherHosts.count > 3 ? " and \(otherHosts.count - 3) more" : "")
                return (nil, "\(path) has no line for \(wanted.joined(separator: ":")); it has lines for host\(otherHosts.count == 1 ? "" : "s") "
                    + "\(shown): the host field must be the URL's host as written (localhost and 127.0.0.1 differ)")
            }
            guard !otherDatabases.isEmpty else { return (nil, nil) }
            let shown = otherDatabases.prefix(3).joined(separator: ", ") + (otherDatabases.count > 3 ? " and \(otherDatabases.count - 3) more" : "")
            return (nil, "\(path) has no line for \(wanted.joined(separator: ":")); it has lines for database\(otherDatabases.count == 1 ? "" : "s") "
                + "\(shown): check the database name")
        }
        if info.st_mode & 0o077 != 0 {
            let mode = String(Int(info.st_mode & 0o777), radix: 8)
            return (nil, "\(path) has a password for this connection but was ignored: its mode \(mode) lets others read it (run chmod 600 \(path))")
        }
        return (found, nil)
    }

    /// The five fields of a line, unescaped; a line with more or fewer separators gives another count.
    static func split(_ line: String) -> [String] {
        var fields: [String] = [], current = ""
        var escaped = false
        for character in line {
            if escaped { current.append(character); escaped = false }
            else if character == "\\" { escaped = true }
            else if character == ":" && fields.count < 4 { fields.append(current); current = "" }
            else { current.append(character) }
        }
        fields.append(current)
        return fields
    }
}
