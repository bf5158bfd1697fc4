// PostgreSQL connection settings: URLs parsed as libpq reads them, passwords from the URL,
// PGPASSWORD and the password file, and no password in any description or error.
import Foundation
import TestSupport
import XCTest
@testable import Store

final class PostgresSettingsTests: XCTestCase {
    private var directory: TemporaryDirectory!
    /// No PGPASSWORD, and a home folder with no .pgpass: what each test does not set is absent.
    private var environment: [String: String] = [:]

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "slope-pgsettings")
        environment = ["HOME": directory.url.path, "USER": "nobody-in-particular"]
    }

    override func tearDown() { directory.remove() }

    private func settings(_ url: String) throws -> PostgresSettings {
        try PostgresSettings(url: url, environment: environment)
    }

    /// The message of the error `url` is refused with (failing the test when it is accepted).
    private func refusal(_ url: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let parsed = try settings(url)
            XCTFail("accepted \(url) as \(parsed)", file: file, line: line)
            return ""
        } catch let error as StoreError {
            guard case .invalidDatabaseURL = error else {
                XCTFail("\(url): \(error)", file: file, line: line)
                return ""
            }
            let message = error.description
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
            XCTAssertTrue(error.isUsageError, "exit status 2 in both executables: \(message)", file: file, line: line)
            return message
        } catch {
            XCTFail("\(url): \(error)", file: file, line: line)
            return ""
        }
    }

    func testFullURL() throws {
        let parsed = try settings("postgresql://slope:s3cret@db.lab:6543/experiments?sslmode=require&connect_timeout=3")
        XCTAssertEqual(parsed.user, "slope")
        XCTAssertEqual(parsed.password?.value, "s3cret")
        XCTAssertEqual(parsed.passwordSource, .url)
        XCTAssertEqual(parsed.host, "db.lab")
        XCTAssertEqual(parsed.port, 6543)
        XCTAssertEqual(parsed.database, "experiments")
        XCTAssertEqual(parsed.sslMode, .require)
        XCTAssertNil(parsed.sslRootCertificate)
        XCTAssertEqual(parsed.connectTimeout, 3)
        XCTAssertEqual(parsed.description, "postgresql://slope@db.lab:6543/experiments?sslmode=require")
    }

    func testDefaultsFollowLibpq() throws {
        // postgres:// is the same scheme; no port 5432; no database: the user's name; sslmode prefer.
        let parsed = try settings("postgres://alice@db.lab")
        XCTAssertEqual(parsed.port, 5432)
        XCTAssertEqual(parsed.database, "alice")
        XCTAssertEqual(parsed.sslMode, .prefer)
        XCTAssertEqual(parsed.connectTimeout, 10)
        XCTAssertNil(parsed.password)
        XCTAssertEqual(parsed.passwordSource, .none)
        // No host: localhost (over TCP); no user: the system's user name.
        let bare = try settings("postgresql:///slope")
        XCTAssertEqual(bare.host, "localhost")
        XCTAssertEqual(bare.database, "slope")
        XCTAssertFalse(bare.user.isEmpty)
        XCTAssertEqual(try settings("POSTGRESQL://bob@h/d").user, "bob", "the scheme is case-insensitive")
        XCTAssertEqual(try settings("postgresql://bob@h/d?connect_timeout=0").connectTimeout, 10, "0 waits the default")
    }

    func testPercentDecoding() throws {
        // user "a@b", password "p:@/?#%", database "my db".
        // A '/' in the database name is written %2F (a second '/' in the path is refused).
        XCTAssertEqual(try settings("postgresql://u@h/a%2Fb").database, "a/b")
        // ... and so in the URL messages name, which must be valid to paste back (hostile14 F7).
        let slashed = try settings("postgresql://a%2Fb@h/db%20with%2Fodd%3Fname")
        XCTAssertEqual(slashed.description, "postgresql://a%2Fb@h:5432/db%20with%2Fodd%3Fname")
        XCTAssertEqual(try settings(slashed.description), slashed)
        let parsed = try settings("postgresql://a%40b:p%3A%40%2F%3F%23%25@h/my%20db")
        XCTAssertEqual(parsed.user, "a@b")
        XCTAssertEqual(parsed.password?.value, "p:@/?#%")
        XCTAssertEqual(parsed.database, "my db")
        XCTAssertEqual(parsed.description, "postgresql://a%40b@h:5432/my%20db")
        // An unencoded '@' in the password: the host starts after the last '@'.
        XCTAssertEqual(try settings("postgresql://u:p@ss@h/d").password?.value, "p@ss")
        XCTAssertEqual(try settings("postgresql://u:p@ss@h/d").host, "h")
        // UTF-8 in names.
        XCTAssertEqual(try settings("postgresql://u@h/r%C3%A9sultats").database, "résultats")
        XCTAssertEqual(try settings("postgresql://u@h/d?sslmode=require&sslrootcert=%2Ftmp%2Fca%20file.pem").sslRootCertificate,
                       "/tmp/ca file.pem")
    }

    func testIPv6Hosts() throws {
        let loopback = try settings("postgresql://u@[::1]:5433/d")
        XCTAssertEqual(loopback.host, "::1")
        XCTAssertEqual(loopback.port, 5433)
        XCTAssertEqual(loopback.description, "postgresql://u@[::1]:5433/d")
        let noPort = try settings("postgresql://u@[2001:db8::5]/d")
        XCTAssertEqual(noPort.host, "2001:db8::5")
        XCTAssertEqual(noPort.port, 5432)
        XCTAssertEqual(try settings("postgresql://u@127.0.0.1:5/d").host, "127.0.0.1")
        XCTAssertTrue(refusal("postgresql://u@::1:5432/d").contains("IPv6 address in brackets"))
        XCTAssertTrue(refusal("postgresql://u@[::1/d").contains("closing ']'"))
        XCTAssertTrue(refusal("postgresql://u@[db.lab]/d").contains("not an IPv6 address"))
        XCTAssertTrue(refusal("postgresql://u@[::1]x/d").contains("after the IPv6 address"))
    }

    func testSSLModes() throws {
        for mode in ["disable", "prefer", "require"] {
            XCTAssertEqual(try settings("postgresql://u@h/d?sslmode=\(mode)").sslMode.rawValue, mode)
        }
        let ca = directory.path("ca.pem")
        let full = try settings("postgresql://u@h/d?sslmode=verify-full&sslrootcert=\(ca)")
        XCTAssertEqual(full.sslMode, .verifyFull)
        XCTAssertEqual(full.sslRootCertificate, ca)
        XCTAssertEqual(try settings("postgresql://u@h/d?sslmode=verify-full&sslrootcert=system").sslRootCertificate, "system")
        // verify-full without sslrootcert: libpq's ~/.postgresql/root.crt, when it exists.
        XCTAssertTrue(refusal("postgresql://u@h/d?sslmode=verify-full").contains("sslrootcert=PATH"))
        try FileManager.default.createDirectory(atPath: directory.path(".postgresql"), withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: directory.path(".postgresql/root.crt"), contents: Data()))
        XCTAssertEqual(try settings("postgresql://u@h/d?sslmode=verify-full").sslRootCertificate,
                       directory.path(".postgresql/root.crt"))

        XCTAssertEqual(refusal("postgresql://u@h/d?sslmode=verify-ca"),
                       "bad database URL: sslmode 'verify-ca' is not supported: use one of disable, prefer, require, verify-full")
        XCTAssertTrue(refusal("postgresql://u@h/d?sslmode=allow").contains("not supported"))
        XCTAssertTrue(refusal("postgresql://u@h/d?sslmode=disable&sslrootcert=/x").contains("sslmode=disable"))
        XCTAssertTrue(refusal("postgresql://u@h/d?sslmode=require&sslrootcert=").contains("sslrootcert is empty"))
    }

    /// Only a wrong URL is bad input among the store's errors (exit status 2); the rest are runtime errors.
    func testOnlyABadURLIsAUsageError() {
        XCTAssertTrue(StoreError.invalidDatabaseURL("x").isUsageError)
        XCTAssertFalse(StoreError.notFound("run 3").isUsageError)
        XCTAssertFalse(StoreError.cannotConnect(server: "h", reason: "refused").isUsageError)
        XCTAssertFalse(StoreError.diskFull(path: "a.db").isUsageError)
    }

    func testBadURLsSayWhatIsWrong() {
        let cases: [(url: String, expected: String)] = [
            ("mysql://u@h/d", "starts with postgresql:// or postgres://"),
            ("/tmp/slope.db", "starts with postgresql://"),
            ("postgresql://u@h:abc/d", "the port 'abc' is not a number from 1 to 65535"),
            ("postgresql://u@h:0/d", "the port '0'"),
            ("postgresql://u@h:65536/d", "the port '65536'"),
            ("postgresql://u@h:-1/d", "the port '-1'"),
            ("postgresql://u@h1,h2/d", "several hosts"),
            ("postgresql://u@%2Fvar%2Frun%2Fpostgresql/d", "Unix-domain sockets are not supported"),
            ("postgresql://u@h/a/b", "has a '/'"),
            ("postgresql://u@h/d%zz", "not followed by two hex digits"),
            ("postgresql://u@h/d%4", "not followed by two hex digits"),
            ("postgresql://u@h/d%FF", "not UTF-8"),
            ("postgresql://u@h/d?sslmode", "has no value"),
            ("postgresql://u@h/d?sslmode=require&sslmode=disable", "given twice"),
            ("postgresql://u@h/d?application=x", "unknown URL parameter 'application'"),
            ("postgresql://u@h/d?host=other", "not as ?host="),
            ("postgresql://u@h/d?dbname=other", "write the database in the URL itself"),
            ("postgresql://u@h/d?connect_timeout=soon", "connect_timeout 'soon' is not a whole number"),
            ("postgresql://u@h/d?connect_timeout=-5", "connect_timeout '-5'"),
            ("postgresql://u@h/d?options=-c", "the URL's options end with -c and no setting"),
            ("postgresql://u@h/d?options=-c%20statement_timeout", "hold 'statement_timeout', not a setting: write -c name=value"),
            ("postgresql://u@h/d?options=-c%20statement_timeout%3D", "not a setting"),
            ("postgresql://u@h/d?options=--geqo%3Doff%20-d%205", "hold '-d': Slope passes only server settings"),
            ("postgresql://u@h/d?options=-c%20statement_timeout%3Dsoon", "statement_timeout 'soon' in the URL's options is not a duration"),
            ("postgresql://u@h/d?options=-c%20lock_timeout%3D-1s", "lock_timeout '-1s'"),
            // Past the server's INT_MAX milliseconds: refused, never a trap converting to Int64.
            ("postgresql://u@h/d?options=-c%20statement_timeout%3D99999999999999999999",
             "statement_timeout '99999999999999999999' in the URL's options is too large: the server takes at most 2147483647 ms (about 24.8 days); write e.g. -c statement_timeout=10min, or 0 to turn it off"),
            ("postgresql://u@h/d?options=-c%20lock_timeout%3D99999999999d", "lock_timeout '99999999999d' in the URL's options is too large"),
            ("postgresql://u@h/d?options=-c%20idle_in_transaction_session_timeout%3D2147483648", "idle_in_transaction_session_timeout '2147483648' in the URL's options is too large"),
            // Slope's text is UTF-8: another client_encoding made the server store it garbled (hostile14 F12).
            ("postgresql://u@h/d?options=-c%20client_encoding%3DLATIN1",
             "client_encoding 'LATIN1' in the URL's options: Slope reads and writes text as UTF-8 only, and the server would store it converted (garbled): remove the setting (or write client_encoding=UTF8)"),
            ("postgresql://u@h/d?options=--client-encoding%3Dsql_ascii", "client_encoding 'sql_ascii' in the URL's options: Slope reads and writes text as UTF-8 only"),
            ("postgresql://u@h/d?connect_timeout=10000000000000000", "connect_timeout '10000000000000000' is too large: write at most 2147483647 seconds"),
            // Beyond Int64 (9223372036854775807): digits only, still a whole number, too large.
            ("postgresql://u@h/d?connect_timeout=99999999999999999999", "connect_timeout '99999999999999999999' is too large: write at most 2147483647 seconds"),
            ("postgresql://u@h/d?options=-c%20lock_timeout%3D1s%20-c%20lock_timeout%3D2s", "set 'lock_timeout' twice"),
            ("postgresql://u@h/d?statement_timeout=5s", "unknown URL parameter 'statement_timeout': Slope knows sslmode, sslrootcert, connect_timeout, options"),
        ]
        for (url, expected) in cases {
            let message = refusal(url)
            XCTAssertTrue(message.hasPrefix("bad database URL: "), "\(url): \(message)")
            XCTAssertTrue(message.contains(expected), "\(url): \(message)")
        }
    }

    /// The session limits: documented defaults; `options` as libpq passes it (`-c name=value`,
    /// also `--name=value` and `-cname=value`), else PGOPTIONS; other settings passed on as given.
    func testServerOptionsAndTimeouts() throws {
        let plain = try settings("postgresql://u@h/d")
        XCTAssertEqual([plain.statementTimeout, plain.lockTimeout, plain.idleInTransactionTimeout], [300, 60, 60])
        XCTAssertEqual(plain.serverSettings, [
            .init(name: "statement_timeout", value: "300000ms"), .init(name: "lock_timeout", value: "60000ms"),
            .init(name: "idle_in_transaction_session_timeout", value: "60000ms"),
        ])
        XCTAssertEqual(plain.answerDeadline, 605)

        let given = try settings("postgresql://u@h/d?options=-c%20statement_timeout%3D1.5s%20--lock-timeout=250%20-cwork_mem%3D8MB%20-c%20idle_in_transaction_session_timeout%3D0")
        XCTAssertEqual(given.statementTimeout, 1.5)
        XCTAssertEqual(given.lockTimeout, 0.25, "a bare number is milliseconds")
        XCTAssertEqual(given.idleInTransactionTimeout, 0)
        XCTAssertEqual(given.serverSettings, [
            .init(name: "statement_timeout", value: "1500ms"), .init(name: "lock_timeout", value: "250ms"),
            .init(name: "idle_in_transaction_session_timeout", value: "0ms"), .init(name: "work_mem", value: "8MB"),
        ])
        XCTAssertEqual(given.answerDeadline, 8)
        XCTAssertNil(try settings("postgresql://u@h/d?options=-c%20statement_timeout%3D0").answerDeadline, "no limit, no deadline")
        XCTAssertEqual(try settings("postgresql://u@h/d?options=-c%20statement_timeout%3D2min").statementTimeout, 120)
        XCTAssertEqual(try settings("postgresql://u@h/d?options=-c%20statement_timeout%3D1h").statementTimeout, 3600)
        XCTAssertEqual(given.description, "postgresql://u@h:5432/d", "the settings are not part of the server's name")
        XCTAssertNotEqual(given, plain)

        environment["PGOPTIONS"] = "-c lock_timeout=5s"
        XCTAssertEqual(try settings("postgresql://u@h/d").lockTimeout, 5)
        XCTAssertEqual(try settings("postgresql://u@h/d?options=-c%20lock_timeout%3D7s").lockTimeout, 7, "the URL's options win, as in libpq")
        environment["PGOPTIONS"] = "-c lock_timeout=99999999999999999999d"
        XCTAssertTrue(refusal("postgresql://u@h/d").contains("lock_timeout '99999999999999999999d' in the options in PGOPTIONS is too large"))
        environment["PGOPTIONS"] = "-c statement_timeout=2147483647"
        XCTAssertEqual(try settings("postgresql://u@h/d").serverSettings.first, .init(name: "statement_timeout", value: "2147483647ms"), "the server's largest value is taken")
        environment["PGOPTIONS"] = "-c client_encoding=LATIN1"
        XCTAssertTrue(refusal("postgresql://u@h/d").contains("client_encoding 'LATIN1' in the options in PGOPTIONS: Slope reads and writes text as UTF-8 only"))
        for utf8 in ["UTF8", "utf-8", "Unicode"] {
            environment["PGOPTIONS"] = "-c client_encoding=\(utf8)"
            XCTAssertEqual(try settings("postgresql://u@h/d").serverSettings.last, .init(name: "client_encoding", value: utf8))
        }
        environment["PGOPTIONS"] = "-d 5"
        XCTAssertTrue(refusal("postgresql://u@h/d").contains("the options in PGOPTIONS hold '-d'"))
        environment["PGOPTIONS"] = nil
    }

    /// Whatever is wrong with a URL, its password is not in the message.
    func testNoPasswordInAnyRefusal() {
        let password = "Hunter2Secret"
        let urls = [
            "postgresql://u:\(password)@h:99999/d",
            "postgresql://u:\(password)@h/d?sslmode=\(password)",
            "postgresql://u:\(password)@h/d?\(password)=1",
            "postgresql://u:\(password)%zz@h/d",
            "postgresql://u:\(password)@h/d?password=\(password)",
            "postgresql://u@h/d?password=\(password)",
            "postgresql://u:\(password)@[::1/d",
            "postgresql://u:\(password)@h1,h2/d",
        ]
        for url in urls {
            let message = refusal(url)
            XCTAssertFalse(message.isEmpty, url)
            XCTAssertFalse(message.contains(password), message)
        }
    }

    /// The password is hidden in the pieces of the URL a message quotes, never in Slope's own
    /// words: stars there would tell the password by where they fall (a hostile tester read
    /// "require", "e" and "p" off such messages).
    func testRefusalsHideThePasswordOnlyWhereTheURLIsQuoted() throws {
        let sslmode = "bad database URL: sslmode 'bogus' is not supported: use one of disable, prefer, require, verify-full"
        for password in ["require", "e", "t", "supported", "bad", "URL"] {
            XCTAssertEqual(refusal("postgresql://owner1:\(password)@127.0.0.1:5432/slope?sslmode=bogus"), sslmode, password)
        }
        // A password typed with a '/' (and '@', '?', '#', '%'): the URL is shown with its user part hidden, the words intact.
        XCTAssertEqual(refusal("postgresql://owner1:p@ss:w/rd?#%x&y@127.0.0.1:5432/slope"),
                       "bad database URL: cannot read postgresql://***@127.0.0.1:5432/slope (*** hides what may be a password): write a '/' in the "
                       + "user name or password as %2F, '@' as %40, e.g. postgresql://USER:PASSWORD@HOST:5432/DATABASE")
        // Where the URL's own text holds the password, it is hidden there, as written or decoded.
        XCTAssertEqual(refusal("postgresql://u:Hunter2@h/d?sslmode=Hunter2"),
                       "bad database URL: sslmode '***' is not supported: use one of disable, prefer, require, verify-full")
        XCTAssertEqual(refusal("postgresql://u:Hun%2Fter@h/d?sslmode=xHun/terx"),
                       "bad database URL: sslmode 'x***x' is not supported: use one of disable, prefer, require, verify-full")
        XCTAssertEqual(refusal("postgresql://u:Hunter2@h/d?Hunter2=1"), "bad database URL: unknown URL parameter '***': Slope knows "
                       + PostgresSettings.knownParameters.joined(separator: ", "))
        XCTAssertEqual(refusal("postgresql://u:Hunter2@h/d?connect_timeout=Hunter2"),
                       "bad database URL: connect_timeout '***' is not a whole number of seconds: write e.g. connect_timeout=10 (0 waits the default "
                       + "\(Int(PostgresSettings.defaultConnectTimeout)) s)")
        XCTAssertTrue(refusal("postgresql://u:Hunter2@h/d?options=-c%20Hunter2").hasPrefix("bad database URL: the URL's options hold '***', not a setting"))
        // The marks that delimit quoted pieces cannot be smuggled in by the URL.
        XCTAssertEqual(refusal("postgresql://u:p/w@h/d\u{E000}x"),
                       "bad database URL: cannot read postgresql://***@h/dx (*** hides what may be a password): write a '/' in the "
                       + "user name or password as %2F, '@' as %40, e.g. postgresql://USER:PASSWORD@HOST:5432/DATABASE")
        XCTAssertEqual(refusal("postgresql://u:pw@h/d?sslmode=a\u{E001}pw\u{E000}b"),
                       "bad database URL: sslmode 'a***b' is not supported: use one of disable, prefer, require, verify-full")
    }

    /// Messages from outside (a server's, a TLS library's): the password goes wherever it stands
    /// inside double quotes (how PostgreSQL names what it was given), elsewhere only as a word of its own.
    func testOutsideMessagesHideThePasswordWithoutMarkingTheirWords() throws {
        let short = try settings("postgresql://bob:e@db.lab/slope")
        XCTAssertEqual(short.redacting("password authentication failed for user \"bob\""), "password authentication failed for user \"bob\"")
        XCTAssertEqual(short.redacting("database \"e\" does not exist"), "database \"***\" does not exist")
        let word = try settings("postgresql://bob:user@db.lab/slope")
        XCTAssertEqual(word.redacting("role \"myuser2\" does not exist"), "role \"my***2\" does not exist")
        XCTAssertEqual(word.redacting("no user given; users: user"), "no *** given; users: ***")
    }

    /// A password with characters a URL reserves: '?', '#' and '@' before the host are read as
    /// libpq reads them (the user part ends at the last '@' before the first '/'); one with a '/'
    /// cannot be read, and the message hides everything between "://" and the last '@'.
    func testPasswordsWithReservedCharacters() throws {
        let question = try settings("postgresql://u:Xy7?kP2q@db.lab:5432/slope")
        XCTAssertEqual([question.user, question.password?.value, question.host, question.database], ["u", "Xy7?kP2q", "db.lab", "slope"])
        XCTAssertEqual(question.port, 5432)
        let equals = try settings("postgresql://u:Xy7?kP2q=9@db.lab/slope?sslmode=require")
        XCTAssertEqual([equals.password?.value, equals.host, equals.database], ["Xy7?kP2q=9", "db.lab", "slope"])
        XCTAssertEqual(equals.sslMode, .require)
        XCTAssertEqual(try settings("postgresql://u:a#b@c@db.lab/slope").password?.value, "a#b@c")
        XCTAssertEqual(PostgresSettings.removingPassword(from: "postgresql://u:Xy7?kP2q@db.lab/slope"), "postgresql://u@db.lab/slope")
        XCTAssertEqual(PostgresSettings.displayedLocation("postgresql://u:Xy7?kP2q@db.lab/slope"), "postgresql://u@db.lab:5432/slope")

        let hidden = "bad database URL: cannot read postgresql://***@db.lab/slope (*** hides what may be a password): write a '/' in the "
            + "user name or password as %2F, '@' as %40, e.g. postgresql://USER:PASSWORD@HOST:5432/DATABASE"
        XCTAssertEqual(refusal("postgresql://u:Xy7/kP2q@db.lab/slope"), hidden)
        XCTAssertEqual(refusal("postgresql://u:Xy7/kP2q?x@db.lab/slope"), hidden)
        XCTAssertEqual(refusal("postgresql://u:Xy7/kP2q@db.lab:99/slope"), hidden.replacingOccurrences(of: "db.lab/", with: "db.lab:99/"))
        // Without an '@' after the user part, the usual messages (nothing there is a password).
        XCTAssertEqual(refusal("postgresql://u@h/a/b"),
                       "bad database URL: the database name 'a/b' has a '/': write it as %2F, or check the URL (postgresql://USER@HOST:5432/DATABASE?sslmode=require)")
    }

    /// What `--db` names is checked before anything is opened: text that looks like a URL but is
    /// not a PostgreSQL one is refused (never taken as a file name), shown without its user part.
    func testLocationsThatLookLikeURLsAreRefused() throws {
        func locationRefusal(_ location: String) -> String {
            do {
                try SlopeStore.checkLocation(location)
                XCTFail("accepted \(location)")
                return ""
            } catch {
                return "\(error)"
            }
        }
        let notPostgres = " is not a PostgreSQL URL nor a file path: Slope stores in an SQLite file (a path) or a PostgreSQL server, "
            + "written as postgresql://USER@HOST:5432/DATABASE"
        XCTAssertEqual(locationRefusal("postgres:/u:Xy7kP2q@db.lab/slope"), "bad database URL: 'postgres:/***@db.lab/slope'" + notPostgres)
        XCTAssertEqual(locationRefusal("mysql://u:pw@h/db"), "bad database URL: 'mysql://***@h/db'" + notPostgres)
        XCTAssertEqual(locationRefusal("sqlite:///tmp/x.db"), "bad database URL: 'sqlite:///tmp/x.db'" + notPostgres)
        XCTAssertEqual(locationRefusal(" postgresql://u:Xy7kP2q@db.lab/slope"), "bad database URL: 'postgresql://***@db.lab/slope' has spaces around it: remove them")
        XCTAssertTrue(locationRefusal("postgresql://u:secret@h:0/d").hasPrefix("bad database URL: the port '0'"))
        // The hostile tester's: a scheme without "//", "//" without ':', a space in the scheme, no
        // scheme at all. Everything before the last '@' is hidden when no "://" or ":/" comes first.
        let mistyped = [("postgresql:slope_worker:S3cr3tPW@db.lab", "***@db.lab"),
                        ("postgresql:slope_worker:S3cr3tPW@127.0.0.1/slope", "***@127.0.0.1/slope"),
                        ("postgresql//slope_worker:S3cr3tPW@127.0.0.1:5432/slope", "***@127.0.0.1:5432/slope"),
                        ("postgres ql://u:S3cr3tPW@h/db", "postgres ql://***@h/db"),
                        ("PG:u:S3cr3tPW@h", "***@h"), ("Postgres u:S3cr3tPW@h", "***@h"),
                        ("slope_worker:S3cr3tPW@db.lab", "***@db.lab"), ("u:S3cr3tPW@h:5432/slope", "***@h:5432/slope"),
                        ("postgresql:slope", "postgresql:slope")]
        for (location, shown) in mistyped {
            XCTAssertEqual(locationRefusal(location), "bad database URL: '\(shown)'" + notPostgres, location)
        }
        XCTAssertEqual(PostgresSettings.displayedLocation("postgresql:slope_worker:S3cr3tPW@db.lab"), "***@db.lab")
        for path in ["slope.db", "/tmp/runs/a.db", "runs:1/x.db", "a@b.db", "x:/y.db", "./postgres.db", "postgres.db", "postgresql",
                     "pg.db", "pg-backup.db", "pgdata/slope.db", "pg backup.db", "Postgres runs 2026.db", "runs@2026-12-06.db",
                     "runs@12:30.db", "a:b.db", "./a:b@c.db", "backups/u:v@w.db", "/home/pg/slope.db", "~/postgres/a.db",
                     "my postgresql:1.db", "x@y:z/a.db"] {
            XCTAssertNoThrow(try SlopeStore.checkLocation(path), path)
            XCTAssertEqual(PostgresSettings.displayedLocation(path), path)
        }
        // Messages name such text (and a URL that does not parse) without the user part.
        XCTAssertEqual(PostgresSettings.displayedLocation("postgres:/u:Xy7kP2q@db.lab/slope"), "postgres:/***@db.lab/slope")
        XCTAssertEqual(PostgresSettings.displayedLocation("postgresql://u:Xy7/kP2q@db.lab/slope"), "postgresql://***@db.lab/slope")
    }

    /// A library caller that never called `checkLocation` still cannot open a mistyped URL as a
    /// file: the store's open refuses it (one line, no password) and no file named after it appears.
    func testOpeningAMistypedURLIsRefusedWithoutCreatingAFile() throws {
        let folder = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory.url.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(folder) }
        let notPostgres = " is not a PostgreSQL URL nor a file path: Slope stores in an SQLite file (a path) or a PostgreSQL server, "
            + "written as postgresql://USER@HOST:5432/DATABASE"
        let opens: [(String, () throws -> SlopeStore)] = [
            ("location", { try SlopeStore(location: "postgresql:slope_worker:S3cr3tPW@db.lab") }),
            ("location, read-only", { try SlopeStore(location: "slope_worker:S3cr3tPW@db.lab", mode: .readOnly) }),
            ("path", { try SlopeStore(path: "u:S3cr3tPW@h:5432/slope") }),
            ("path", { try SlopeStore(path: "postgresql:slope_worker:S3cr3tPW@db.lab") }),
        ]
        for (how, open) in opens {
            XCTAssertThrowsError(try open(), how) { error in
                XCTAssertTrue(["bad database URL: '***@db.lab'" + notPostgres, "bad database URL: '***@h:5432/slope'" + notPostgres]
                                  .contains("\(error)"), "\(how): \(error)")
                XCTAssertFalse("\(error)".contains("S3cr3tPW"), "\(error)")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.url.path), [], "no file named after a URL")
        // A path is still a path.
        let store = try SlopeStore(location: "./a:b@c.db")
        try store.close()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter { $0.hasSuffix(".db") }, ["a:b@c.db"])
    }

    func testDescriptionsNeverShowThePassword() throws {
        let password = "Hunter2Secret"
        let parsed = try settings("postgresql://slope:\(password)@db.lab/slope?sslmode=require")
        XCTAssertEqual(parsed.description, "postgresql://slope@db.lab:5432/slope?sslmode=require")
        var dumped = ""
        dump(parsed, to: &dumped)
        for text in [parsed.description, parsed.debugDescription, String(reflecting: parsed), "\(parsed)", dumped,
                     String(describing: parsed.password as Any), String(reflecting: parsed.password as Any)] {
            XCTAssertFalse(text.contains(password), text)
        }
        XCTAssertTrue(dumped.contains("db.lab"), dumped)
        // Messages from outside Slope (a server's, TLS's) pass through redacting().
        XCTAssertEqual(parsed.redacting("auth failed for \(password)!"), "auth failed for ***!")
        let encoded = try settings("postgresql://slope:p%40ss%20word@db.lab/slope")
        XCTAssertEqual(encoded.redacting("a p@ss word b p%40ss%20word c"), "a *** b *** c")
    }

    func testPasswordFromEnvironment() throws {
        environment["PGPASSWORD"] = "from-env"
        let parsed = try settings("postgresql://u@h/d")
        XCTAssertEqual(parsed.password?.value, "from-env")
        XCTAssertEqual(parsed.passwordSource, .environment)
        // The URL's password comes first, as in libpq.
        XCTAssertEqual(try settings("postgresql://u:from-url@h/d").password?.value, "from-url")
        XCTAssertEqual(try settings("postgresql://u:from-url@h/d").passwordSource, .url)
    }

    private func writePasswordFile(_ text: String, mode: Int = 0o600, at path: String? = nil) throws -> String {
        let path = path ?? directory.path(".pgpass")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        XCTAssertEqual(chmod(path, mode_t(mode)), 0)
        return path
    }

    func testPasswordFileMatching() throws {
        let path = try writePasswordFile("""
            # comments and malformed lines are skipped
            not-enough:fields
            db.lab:5432:other:alice:wrong-database
            db.lab:5433:*:alice:other-port
            db.lab:5432:slope:alice:first-match
            db.lab:5432:slope:alice:second-match
            *:*:*:bob:wildcards
            ::1:5432:*:carol:ipv6 is not matched by an unescaped colon
            \\:\\:1:5432:*:carol:escaped-ipv6
            h:5432:d:dave:pass\\:with\\\\escapes:and colon

            """)
        func password(_ url: String) throws -> String? { try settings(url).password?.value }
        XCTAssertEqual(try password("postgresql://alice@db.lab/slope"), "first-match")
        XCTAssertEqual(try settings("postgresql://alice@db.lab/slope").passwordSource, .passwordFile(path: path))
        XCTAssertEqual(try password("postgresql://alice@db.lab:5433/anything"), "other-port")
        XCTAssertEqual(try password("postgresql://alice@db.lab/other"), "wrong-database")
        XCTAssertNil(try password("postgresql://alice@elsewhere/slope"))
        XCTAssertEqual(try settings("postgresql://alice@elsewhere/slope").passwordSource, .none)
        XCTAssertEqual(try password("postgresql://bob@anywhere:1/x"), "wildcards")
        XCTAssertEqual(try password("postgresql://carol@[::1]/x"), "escaped-ipv6")
        XCTAssertEqual(try password("postgresql://dave@h/d"), "pass:with\\escapes:and colon")
        // The URL's password and PGPASSWORD come before the file.
        XCTAssertEqual(try password("postgresql://alice:mine@db.lab/slope"), "mine")
        environment["PGPASSWORD"] = "env"
        XCTAssertEqual(try password("postgresql://alice@db.lab/slope"), "env")
    }

    func testPasswordFileReadableByOthersIsIgnored() throws {
        let path = try writePasswordFile("*:*:*:alice:secret-in-open-file\n", mode: 0o644)
        let parsed = try settings("postgresql://alice@db.lab/slope")
        XCTAssertNil(parsed.password)
        let note = try XCTUnwrap(parsed.passwordFileNote)
        XCTAssertEqual(note, "\(path) has a password for this connection but was ignored: its mode 644 lets others read it (run chmod 600 \(path))")
        XCTAssertFalse(note.contains("secret-in-open-file"))
        _ = try writePasswordFile("*:*:*:alice:secret\n", mode: 0o640)
        XCTAssertNil(try settings("postgresql://alice@db.lab/slope").password, "group-readable is refused too")
        _ = try writePasswordFile("*:*:*:alice:secret\n", mode: 0o400)
        XCTAssertEqual(try settings("postgresql://alice@db.lab/slope").password?.value, "secret")
    }

    /// A mistyped database name with a password file for the right one: the note says so (for the
    /// message when the server asks for a password: PostgresConnectionTests), never the password.
    func testPasswordFileWithLinesForOtherDatabasesOnlyNamesThem() throws {
        let path = try writePasswordFile("127.0.0.1:5432:slope:slope_reader:secret\n127.0.0.1:5432:other:*:secret2\n127.0.0.1:5432:x:bob:s\n")
        let parsed = try settings("postgresql://slope_reader@127.0.0.1/slpe")
        XCTAssertNil(parsed.password)
        XCTAssertEqual(parsed.passwordFileNote,
                       "\(path) has no line for 127.0.0.1:5432:slpe:slope_reader; it has lines for databases slope, other: check the database name")
        XCTAssertEqual(try settings("postgresql://bob@127.0.0.1/y").passwordFileNote,
                       "\(path) has no line for 127.0.0.1:5432:y:bob; it has lines for databases other, x: check the database name")
        // One database: said in the singular.
        XCTAssertEqual(try settings("postgresql://carol@127.0.0.1/y").passwordFileNote,
                       "\(path) has no line for 127.0.0.1:5432:y:carol; it has lines for database other: check the database name")
        // Another host or port: no such note (nothing there suggests a typo).
        XCTAssertNil(try settings("postgresql://slope_reader@127.0.0.2/slpe").passwordFileNote)
        XCTAssertNil(try settings("postgresql://carol@127.0.0.1:5433/slpe").passwordFileNote)
        // localhost in the URL, 127.0.0.1 in the file (libpq compares the host as written): said (newuser16 N3).
        XCTAssertEqual(try settings("postgresql://slope_reader@localhost/slope").passwordFileNote,
                       "\(path) has no line for localhost:5432:slope:slope_reader; it has lines for host 127.0.0.1: the host field must be "
                       + "the URL's host as written (localhost and 127.0.0.1 differ)")
        XCTAssertFalse(try settings("postgresql://slope_reader@localhost/slope").passwordFileNote?.contains("secret") ?? true)
    }

    func testPGPASSFILEChoosesTheFile() throws {
        let other = try writePasswordFile("*:*:*:*:from-pgpassfile\n", at: directory.path("elsewhere"))
        _ = try writePasswordFile("*:*:*:*:from-home\n")
        XCTAssertEqual(try settings("postgresql://u@h/d").password?.value, "from-home")
        environment["PGPASSFILE"] = other
        XCTAssertEqual(try settings("postgresql://u@h/d").password?.value, "from-pgpassfile")
        environment["PGPASSFILE"] = directory.path("missing")
        XCTAssertNil(try settings("postgresql://u@h/d").password)
    }

    func testIsPostgresURL() {
        XCTAssertTrue(PostgresSettings.isPostgresURL("postgresql://h/d"))
        XCTAssertTrue(PostgresSettings.isPostgresURL("Postgres://h/d"))
        XCTAssertFalse(PostgresSettings.isPostgresURL("slope.db"))
        XCTAssertFalse(PostgresSettings.isPostgresURL("/data/postgresql://x"))
    }
}
