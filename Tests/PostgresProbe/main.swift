// PostgresProbe: a child process for the PostgreSQL store's multi-process tests. One line per
// event on stdout, flushed at once; the database URL comes from the environment, never from
// the arguments (which `ps` shows).
//   migrate START     at unix time START, connect to $SLOPE_PROBE_POSTGRES_URL and migrate;
//                     prints "applied NAME" for each migration this process applied, then "done"
import Foundation
import Store

setvbuf(stdout, nil, _IOLBF, 0)
let arguments = CommandLine.arguments
guard arguments.count == 3, arguments[1] == "migrate", let start = Double(arguments[2]),
      let url = ProcessInfo.processInfo.environment["SLOPE_PROBE_POSTGRES_URL"] else {
    FileHandle.standardError.write(Data("usage: SLOPE_PROBE_POSTGRES_URL=URL PostgresProbe migrate START\n".utf8))
    exit(2)
}
do {
    let session = try PostgresSession(settings: try PostgresSettings(url: url))
    let wait = start - Date().timeIntervalSince1970
    if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }
    for name in try session.migrate() { print("applied \(name)") }
    session.close()
    print("done")
} catch {
    print("error: \(error)")
    exit(1)
}
