// Issue 10 item 11: the README's set-up command and its tour, taken from README.md and run as
// written with /bin/sh in an empty folder against a fresh database. The folder's
// .build/release is a link to this test build's products, standing in for `swift build -c
// release` (building inside a test would take minutes); examples/ links to the repository's.
import Foundation
import Store
import TestSupport
import XCTest

final class ReadmeTourTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(prefix: "slope-readme")
        let build = directory.url.appendingPathComponent(".build")
        try FileManager.default.createDirectory(at: build, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: build.appendingPathComponent("release"),
                                                   withDestinationURL: ReportProcess.productsDirectory)
        try FileManager.default.createSymbolicLink(at: directory.url.appendingPathComponent("examples"),
                                                   withDestinationURL: Self.repository.appendingPathComponent("examples"))
    }

    override func tearDown() { directory.remove() }

    /// The command lines of the first ```sh block after `heading` (comments and blank lines dropped).
    static func commands(underHeading heading: String, in readme: String) throws -> [String] {
        let section = try XCTUnwrap(readme.range(of: "\n" + heading + "\n"), "README has no \(heading)")
        let rest = readme[section.upperBound...]
        let open = try XCTUnwrap(rest.range(of: "```sh\n"), "no sh block under \(heading)")
        let close = try XCTUnwrap(rest[open.upperBound...].range(of: "\n```"))
        return rest[open.upperBound..<close.lowerBound].split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// Runs `script` with /bin/sh in the folder, without SLOPE_DB or COLUMNS from the test's environment.
    private func shell(_ script: String) throws -> (status: Int32, output: String, error: String) {
        try ChildProcess.run(URL(fileURLWithPath: "/bin/sh"), ["-c", "unset SLOPE_DB COLUMNS\n" + script],
                             currentDirectory: directory.url)
    }

    private func file(_ name: String) -> String {
        (try? String(contentsOfFile: directory.path(name), encoding: .utf8)) ?? ""
    }

    func testTheSetUpAndTheTourWorkAsWritten() throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)

        // The main job builds every product (runner and report), then runs the sweep with the built runner.
        let setUp = try Self.commands(underHeading: "## The two commands", in: readme)
        XCTAssertEqual(setUp.count, 2, "the main job and the tests: \(setUp)")
        let build = "swift build -c release && "
        XCTAssertTrue(setUp[0].hasPrefix(build), "the main job must build both tools first: \(setUp[0])")
        XCTAssertEqual(setUp[1], "swift test")
        let mainJob = try shell(String(setUp[0].dropFirst(build.count)))
        XCTAssertEqual(mainJob.status, 0, mainJob.error)
        XCTAssertTrue(mainJob.output.contains("* best run: "), mainJob.output)
        XCTAssertEqual(mainJob.output.split(separator: "\n").filter { $0.range(of: #"^[* ] [0-9]+ +completed"#, options: .regularExpression) != nil }.count,
                       12, mainJob.output)
        // The hint runner prints works before the tools are on PATH: it names report by its path.
        let hint = try XCTUnwrap(mainJob.output.split(separator: "\n").first { $0.hasPrefix("Look further: ") }, mainJob.output)
        let hinted = String(hint.dropFirst("Look further: ".count))
        XCTAssertTrue(hinted.hasPrefix(".build/release/report grid --sweep 1 --rows learning_rate --cols batch_size"), hinted)
        let hintRun = try shell(hinted)
        XCTAssertEqual(hintRun.status, 0, hintRun.error)

        // The tour, in order, each command in a shell that has run the tour's `export` lines.
        let tour = try Self.commands(underHeading: "## A 5-minute tour", in: readme)
        let exports = tour.filter { $0.hasPrefix("export ") }
        XCTAssertEqual(exports, [#"export PATH="$PWD/.build/release:$PATH""#])
        let commands = tour.filter { !$0.hasPrefix("export ") }
        XCTAssertGreaterThanOrEqual(commands.count, 10, "the tour's commands were found: \(commands)")
        // What each command must show beyond exit 0 and a quiet standard error (a check for every one).
        let expectations: [(prefix: String, check: (String) -> Bool)] = [
            ("report grid", { $0.contains("learning_rate \\ batch_size") && $0.contains("*") && $0.contains("best: learning_rate=") }),
            ("report runs", { $0.contains("completed") && !$0.contains("no runs match") && $0.contains("best_val") }),
            ("report show 10", { $0.hasPrefix("run 10") && $0.contains("status:     completed") && $0.contains("val_loss") }),
            ("report compare 4 7 10", { $0.contains("of 3 runs") && $0.contains("run 4 ") && $0.contains("run 10 ") }),
            ("report curves", { _ in self.file("curves.svg").contains("<svg") }),
            ("report layers 10", { $0.contains("layer") && $0.contains("ratio") }),
            ("report explain 10", { $0.contains("layer 2") }),
            ("report tensors 10 --epoch 15 --layer 1 --kind weight", { $0.contains("layer 1 weight [64 x 64]") }),
            ("report tensors 10 --epoch 15 --format json > epoch15.json", { _ in
                (try? JSONSerialization.jsonObject(with: Data(self.file("epoch15.json").utf8))) != nil }),
            ("runner train", { $0.contains("completed") && $0.contains("5/5") }),
            // Hostile finding 15: the file the tour's evaluate reads is made by Slope itself.
            ("runner datasets --csv digits --out test.csv", { output in
                let lines = self.file("test.csv").split(separator: "\n")
                let size = SlopeStore.describeBytes(Int64(self.file("test.csv").utf8.count))
                return output == "wrote test.csv (\(size)): digits, 1797 rows and a header\n" && lines.count == 1798
                    && lines[0].hasPrefix("x0,x1,") && lines[0].hasSuffix(",x63,label") }),
            ("report evaluate 10 --data test.csv --predictions predicted.csv", { output in
                output.contains("1797 rows") && output.contains("accuracy") && self.file("predicted.csv").split(separator: "\n").count == 1798 }),
            ("report html", { _ in self.file("sweep1.html").contains("<h2>learning_rate × batch_size</h2>") }),
        ]
        for command in commands {
            let result = try shell(exports.joined(separator: "\n") + "\n" + command)
            XCTAssertEqual(result.status, 0, "\(command): \(result.error)")
            XCTAssertFalse(result.error.contains("error") || result.error.contains("not found"), "\(command): \(result.error)")
            let matching = expectations.filter { command.hasPrefix($0.prefix) }
            XCTAssertFalse(matching.isEmpty, "no expectation for the tour's command \(command): add one here")
            for expectation in matching {
                XCTAssertTrue(expectation.check(result.output), "\(command) printed:\n\(result.output)")
            }
        }
    }
}
