// `runner work` and `runner resume` on a TPE sweep whose stored spec was damaged by hand: one error
// line naming the sweep and the field, exit 1 (as for a damaged runs.config), never "nothing to do".
import Foundation
@testable import Store
import TestSupport
import XCTest

final class DamagedSweepSpecCLITests: CLITestCase {
    func testWorkAndResumeRefuseADamagedTPESpec() throws {
        try write("tpe.yaml", """
            method: tpe
            count: 3
            metric: {name: train_loss}
            fixed: {dataset: xor, hidden: [4], epochs: 1, validation: 0}
            parameters:
              learning_rate: {distribution: log_uniform, min: 0.01, max: 1}
            """)
        try run("runner", ["sweep", "tpe.yaml", "--queue-only", "--quiet"])
        let store = try SlopeStore(path: directory.path(databaseName))
        let text = try store.sweep(id: 1).specJSON
        try store.write { c in _ = try c.execute("UPDATE sweeps SET spec = ? WHERE id = 1", [text.replacingOccurrences(of: #""count":3"#, with: #""count":-5"#)]) }
        try store.close()
        let expected = "error: sweep 1 cannot be used: its stored spec is not valid: sweeps.spec: count: expected a whole number from 1 to 100000 "
            + "(runs to draw); correct it in the database (docs/sweeps.md, How it is stored) or queue the sweep again\n"
        for arguments in [["work", "--sweep", "1"], ["work"], ["resume"], ["resume", "--sweep", "1"]] {
            let (output, error) = try run("runner", arguments, expect: 1)
            XCTAssertEqual(error, expected, arguments.joined(separator: " "))
            XCTAssertFalse(output.contains("nothing to do") || output.contains("No runs"), output)
        }
    }
}
