// What `runner` prints: the progress display in each mode and the end-of-sweep summary table
// (Reporting's Progress*.swift), on runs recorded in a real temporary database.
import Experiments
import Foundation
@testable import Reporting
@testable import Runner
import Store
import TestSupport
import XCTest

final class RunnerProgressTests: XCTestCase {
    func testPlainModePrintsOneLinePerFinishedRun() {
        let start = Date(timeIntervalSince1970: 1000)
        let display = ProgressDisplay(mode: .plain, totalRuns: 2, now: start)
        XCTAssertEqual(display.runStarted(runID: 7, label: "lr=0.1 batch=16", epochs: 3, firstEpoch: 0, now: start), "")
        XCTAssertEqual(display.epochFinished(runID: 7, epoch: 3, trainLoss: 0.5, validationLoss: 0.25, now: start), "")
        XCTAssertEqual(display.runFinished(runID: 7, label: "lr=0.1 batch=16", status: "completed", detail: "completed all epochs", now: start),
                       "run 7  lr=0.1 batch=16  completed  epoch 3/3  val_loss 0.2500  [1/2]\n")
        _ = display.runStarted(runID: 8, label: "lr=1", epochs: 5, firstEpoch: 0, now: start)
        _ = display.epochFinished(runID: 8, epoch: 2, trainLoss: 0.9, validationLoss: nil, now: start)
        XCTAssertEqual(display.runFinished(runID: 8, label: "lr=1", status: "pruned", detail: "pruned at epoch 2", now: start),
                       "run 8  lr=1  pruned  epoch 2/5  train_loss 0.9000  (pruned at epoch 2)  [2/2]\n")
        XCTAssertEqual(display.finish(), "")
        // A run a full disk stopped: its last epoch trained may be the one whose write failed, so no epoch
        // or loss is shown as its progress (hostile17 H1: epoch 12 shown, 11 stored); the summary says what is stored.
        let disk = ProgressDisplay(mode: .plain, totalRuns: 1, now: start)
        _ = disk.runStarted(runID: 1, label: "lr=0.1", epochs: 40, firstEpoch: 0, now: start)
        _ = disk.epochFinished(runID: 1, epoch: 12, trainLoss: 0.3, validationLoss: 0.2152, now: start)
        XCTAssertEqual(disk.runFinished(runID: 1, label: "lr=0.1", status: "suspended", detail: "the disk is full (requeued)", now: start),
                       "run 1  lr=0.1  suspended  (the disk is full (requeued))  [0/1]\n")

        // Another worker shares the sweep (or finished runs before): both counts, said as such.
        let shared = ProgressDisplay(mode: .plain, totalRuns: 8, now: start)
        _ = shared.runStarted(runID: 3, label: "lr=1", epochs: 1, firstEpoch: 0, now: start)
        _ = shared.epochFinished(runID: 3, epoch: 1, trainLoss: 0.5, validationLoss: nil, now: start)
        XCTAssertEqual(shared.runFinished(runID: 3, label: "lr=1", status: "completed", detail: "completed all epochs",
                                          sweep: .init(sweepID: 2, finished: 3, total: 8), now: start),
                       "run 3  lr=1  completed  epoch 1/1  train_loss 0.5000  [1 by this worker; 3/8 in sweep 2]\n")
        // Alone on the sweep: as before.
        _ = shared.runStarted(runID: 4, label: "lr=2", epochs: 1, firstEpoch: 0, now: start)
        XCTAssertEqual(shared.runFinished(runID: 4, label: "lr=2", status: "completed", detail: "completed all epochs",
                                          sweep: .init(sweepID: 2, finished: 2, total: 8), now: start),
                       "run 4  lr=2  completed  epoch 0/1  [2/8]\n")

        // --jobs 2, alone on the sweep: two runs end at once, and when the first one's line is written
        // the database already counts both. Read with the runs this process ended, it is still the short form.
        let parallel = ProgressDisplay(mode: .plain, totalRuns: 4, now: start)
        for runID in [Int64(5), 6] { _ = parallel.runStarted(runID: runID, label: "lr=\(runID)", epochs: 1, firstEpoch: 0, now: start) }
        XCTAssertEqual(parallel.runFinished(runID: 5, label: "lr=5", status: "completed", detail: "completed all epochs",
                                            sweep: .init(sweepID: 2, finished: 2, total: 4, finishedByThisWorker: 2), now: start),
                       "run 5  lr=5  completed  epoch 0/1  [1/4]\n")
        XCTAssertEqual(parallel.runFinished(runID: 6, label: "lr=6", status: "completed", detail: "completed all epochs",
                                            sweep: .init(sweepID: 2, finished: 2, total: 4, finishedByThisWorker: 2), now: start),
                       "run 6  lr=6  completed  epoch 0/1  [2/4]\n")
        // Another worker's run among them: the long form, whatever this process's count.
        _ = parallel.runStarted(runID: 7, label: "lr=7", epochs: 1, firstEpoch: 0, now: start)
        XCTAssertEqual(parallel.runFinished(runID: 7, label: "lr=7", status: "completed", detail: "completed all epochs",
                                            sweep: .init(sweepID: 2, finished: 4, total: 4, finishedByThisWorker: 3), now: start),
                       "run 7  lr=7  completed  epoch 0/1  [3 by this worker; 4/4 in sweep 2]\n")
    }

    /// Off a terminal (nohup, Slurm) a long run printed nothing until it ended: a plain line per
    /// active run at most every 60 s (the clock passed in), with its epoch and loss.
    func testPlainModeShowsEachActiveRunAtMostEveryMinute() {
        let start = Date(timeIntervalSince1970: 1000)
        func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }
        let display = ProgressDisplay(mode: .plain, totalRuns: 2, now: start)
        _ = display.runStarted(runID: 1, label: "lr=0.1", epochs: 300, firstEpoch: 0, now: start)
        XCTAssertEqual(display.epochFinished(runID: 1, epoch: 1, trainLoss: 2, validationLoss: 1.5, now: at(30)), "")
        _ = display.runStarted(runID: 2, label: "lr=1", epochs: 300, firstEpoch: 101, now: at(40))
        XCTAssertEqual(display.epochFinished(runID: 1, epoch: 2, trainLoss: 1.9, validationLoss: 1.25, now: at(60)),
                       "run 1  lr=0.1  epoch 2/300  val_loss 1.2500\n")
        XCTAssertEqual(display.epochFinished(runID: 1, epoch: 3, trainLoss: 1.8, validationLoss: 1.2, now: at(119)), "")
        XCTAssertEqual(display.epochFinished(runID: 2, epoch: 101, trainLoss: 0.5, validationLoss: nil, now: at(99)), "", "its own minute, from its start")
        XCTAssertEqual(display.epochFinished(runID: 2, epoch: 102, trainLoss: 0.25, validationLoss: nil, now: at(100)),
                       "run 2  lr=1  epoch 102/300  train_loss 0.2500\n")
        XCTAssertEqual(display.epochFinished(runID: 1, epoch: 4, trainLoss: 1.7, validationLoss: 1.125, now: at(120)),
                       "run 1  lr=0.1  epoch 4/300  val_loss 1.1250\n")
        // Another interval given; the terminal's live mode and quiet mode write no such line.
        let often = ProgressDisplay(mode: .plain, totalRuns: 1, now: start, plainInterval: 5)
        _ = often.runStarted(runID: 3, label: "x", epochs: 9, firstEpoch: 0, now: start)
        XCTAssertEqual(often.epochFinished(runID: 3, epoch: 1, trainLoss: 1, validationLoss: nil, now: at(5)), "run 3  x  epoch 1/9  train_loss 1.0000\n")
        let quiet = ProgressDisplay(mode: .quiet, totalRuns: 1, now: start)
        _ = quiet.runStarted(runID: 4, label: "x", epochs: 9, firstEpoch: 0, now: start)
        XCTAssertEqual(quiet.epochFinished(runID: 4, epoch: 1, trainLoss: 1, validationLoss: nil, now: at(600)), "")
    }

    /// An epoch longer than a minute left a log silent until it ended (the plain line comes at an
    /// epoch's end): now a line says the epoch in progress is still running, a minute after it
    /// began and every minute after, until it ends; the epoch's own line then still comes.
    func testPlainModeSaysALongEpochIsStillRunning() {
        let start = Date(timeIntervalSince1970: 1000)
        func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }
        let display = ProgressDisplay(mode: .plain, totalRuns: 2, now: start)
        _ = display.runStarted(runID: 1, label: "lr=0.1", epochs: 300, firstEpoch: 0, now: start)
        XCTAssertEqual(display.heartbeat(now: at(59)), "")
        XCTAssertEqual(display.heartbeat(now: at(60)), "run 1  lr=0.1  epoch 1/300  still running after 1:00\n")
        XCTAssertEqual(display.heartbeat(now: at(90)), "", "at most once a minute")
        XCTAssertEqual(display.heartbeat(now: at(125)), "run 1  lr=0.1  epoch 1/300  still running after 2:05\n")
        XCTAssertEqual(display.epochFinished(runID: 1, epoch: 1, trainLoss: 2, validationLoss: 1.5, now: at(130)),
                       "run 1  lr=0.1  epoch 1/300  val_loss 1.5000\n", "the epoch's line, although a still-running line came 5 s before")
        _ = display.runStarted(runID: 2, label: "lr=1", epochs: 10, firstEpoch: 4, now: at(150))
        // Run 1's next epoch began at 130, run 2 (resumed after epoch 3) at 150: each its own minute.
        XCTAssertEqual(display.heartbeat(now: at(189)), "")
        XCTAssertEqual(display.heartbeat(now: at(190)), "run 1  lr=0.1  epoch 2/300  still running after 1:00\n")
        XCTAssertEqual(display.heartbeat(now: at(210)), "run 2  lr=1  epoch 4/10  still running after 1:00\n")
        // The long epochs' own lines; then short epochs: no still-running line (their own lines say they are alive).
        XCTAssertEqual(display.epochFinished(runID: 1, epoch: 2, trainLoss: 1.9, validationLoss: 1.25, now: at(200)),
                       "run 1  lr=0.1  epoch 2/300  val_loss 1.2500\n")
        XCTAssertEqual(display.epochFinished(runID: 2, epoch: 4, trainLoss: 0.5, validationLoss: nil, now: at(215)),
                       "run 2  lr=1  epoch 4/10  train_loss 0.5000\n")
        XCTAssertEqual(display.epochFinished(runID: 1, epoch: 3, trainLoss: 1.8, validationLoss: 1.2, now: at(230)), "")
        XCTAssertEqual(display.epochFinished(runID: 2, epoch: 5, trainLoss: 0.4, validationLoss: nil, now: at(240)), "")
        XCTAssertEqual(display.heartbeat(now: at(250)), "")
        // A finished run says nothing more; a terminal's live mode and quiet mode write no such line.
        _ = display.runFinished(runID: 1, label: "lr=0.1", status: "completed", detail: "", now: at(255))
        XCTAssertEqual(display.heartbeat(now: at(400)), "run 2  lr=1  epoch 6/10  still running after 2:40\n")
        for mode in [ProgressDisplay.Mode.live, .quiet] {
            let other = ProgressDisplay(mode: mode, totalRuns: 1, now: start)
            _ = other.runStarted(runID: 1, label: "x", epochs: 9, firstEpoch: 0, now: start)
            XCTAssertEqual(other.heartbeat(now: at(600)), "")
        }
    }

    /// `runner work` without --sweep (README's two workers on one queue): each line counts the
    /// ended run's own sweep, not the runs this process set out with (all 8 queued, shared with the
    /// other worker: both said [1/8] and neither ever 8/8).
    func testWorkWithoutSweepCountsTheEndedRunsSweep() {
        let start = Date(timeIntervalSince1970: 1000)
        let first = ProgressDisplay(mode: .plain, totalRuns: 8, now: start)
        func end(_ display: ProgressDisplay, _ runID: Int64, finished: Int, byThisWorker: Int, total: Int = 8) -> String {
            _ = display.runStarted(runID: runID, label: "lr=\(runID)", epochs: 1, firstEpoch: 0, now: start)
            return display.runFinished(runID: runID, label: "lr=\(runID)", status: "completed", detail: "completed all epochs",
                                       sweep: .init(sweepID: 1, finished: finished, total: total, finishedByThisWorker: byThisWorker, ofEndedRun: true),
                                       now: start)
        }
        // The other worker ended run 1 first: this one's first run is the sweep's second.
        XCTAssertEqual(end(first, 2, finished: 2, byThisWorker: 1), "run 2  lr=2  completed  epoch 0/1  [1 by this worker; 2/8 in sweep 1]\n")
        XCTAssertEqual(end(first, 8, finished: 8, byThisWorker: 2), "run 8  lr=8  completed  epoch 0/1  [2 by this worker; 8/8 in sweep 1]\n")
        // Alone on the queue: the sweep's count, which reaches 8/8.
        let alone = ProgressDisplay(mode: .plain, totalRuns: 8, now: start)
        for runID in Int64(1)...8 {
            XCTAssertEqual(end(alone, runID, finished: Int(runID), byThisWorker: Int(runID)), "run \(runID)  lr=\(runID)  completed  epoch 0/1  [\(runID)/8]\n")
        }
        // --jobs 2 alone: two runs end at once, the database counting both at the first line: still the short form.
        let parallel = ProgressDisplay(mode: .plain, totalRuns: 8, now: start)
        XCTAssertEqual(end(parallel, 1, finished: 2, byThisWorker: 2), "run 1  lr=1  completed  epoch 0/1  [1/8]\n")
        XCTAssertEqual(end(parallel, 2, finished: 2, byThisWorker: 2), "run 2  lr=2  completed  epoch 0/1  [2/8]\n")
        // Two sweeps queued (12 runs set out with): each line counts its own sweep, of 4 runs.
        let two = ProgressDisplay(mode: .plain, totalRuns: 12, now: start)
        XCTAssertEqual(end(two, 9, finished: 1, byThisWorker: 1, total: 4), "run 9  lr=9  completed  epoch 0/1  [1/4]\n")
    }

    /// A loss of 6.7e153 (a float64 run on values near 1e39) was printed with all of its 154
    /// digits by %.4f; the progress line now writes numbers as the summary table does.
    func testHugeAndTinyLossesAreShortInTheProgressLine() {
        let display = ProgressDisplay(mode: .plain, totalRuns: 2)
        _ = display.runStarted(runID: 1, label: "lr=1", epochs: 1, firstEpoch: 0)
        _ = display.epochFinished(runID: 1, epoch: 1, trainLoss: 1, validationLoss: 6.748e153)
        XCTAssertEqual(display.runFinished(runID: 1, label: "lr=1", status: "completed", detail: "completed all epochs"),
                       "run 1  lr=1  completed  epoch 1/1  val_loss 6.748e+153  [1/2]\n")
        _ = display.runStarted(runID: 2, label: "lr=2", epochs: 1, firstEpoch: 0)
        _ = display.epochFinished(runID: 2, epoch: 1, trainLoss: 1, validationLoss: 0.00001234)
        XCTAssertEqual(display.runFinished(runID: 2, label: "lr=2", status: "completed", detail: "completed all epochs"),
                       "run 2  lr=2  completed  epoch 1/1  val_loss 1.234e-05  [2/2]\n")
    }

    /// A label names user text (a CSV file, a target column): its control characters are shown as
    /// ? and ↵ (so is a failure's message, which may quote them), never sent to the terminal, in both modes; the live frame keeps one line per run.
    func testLabelsWithControlCharactersAreShownSafely() {
        let label = "dataset=e\u{1B}[31mred\nx.csv"
        let plain = ProgressDisplay(mode: .plain, totalRuns: 1)
        _ = plain.runStarted(runID: 1, label: label, epochs: 1, firstEpoch: 0)
        XCTAssertEqual(plain.runFinished(runID: 1, label: label, status: "failed", detail: "cannot read e\u{1B}[31mred\nx.csv"),
                       "run 1  dataset=e?[31mred↵x.csv  failed  epoch 0/1  (cannot read e?[31mred↵x.csv)  [1/1]\n")
        let live = ProgressDisplay(mode: .live, totalRuns: 2, width: 120)
        XCTAssertEqual(live.runStarted(runID: 1, label: label, epochs: 1, firstEpoch: 0),
                       "run 1  dataset=e?[31mred↵x.csv  epoch 0/1  loss -  [....................]\n"
                       + "sweep [..............................] 0/2 runs done  0:00 elapsed  ETA -\n")
        XCTAssertTrue(live.runFinished(runID: 1, label: label, status: "completed", detail: "").hasPrefix(
            "\u{1B}[2A\r\u{1B}[Jrun 1  dataset=e?[31mred↵x.csv  completed"))
    }

    func testQuietModePrintsNothing() {
        let display = ProgressDisplay(mode: .quiet, totalRuns: 1)
        XCTAssertEqual(display.runStarted(runID: 1, label: "x", epochs: 1, firstEpoch: 0), "")
        XCTAssertEqual(display.epochFinished(runID: 1, epoch: 1, trainLoss: 1, validationLoss: nil), "")
        XCTAssertEqual(display.runFinished(runID: 1, label: "x", status: "completed", detail: ""), "")
    }

    func testLiveModeRedrawsRunLinesAndTheOverallBar() {
        let start = Date(timeIntervalSince1970: 1000)
        let display = ProgressDisplay(mode: .live, totalRuns: 4, width: 120, now: start)
        let first = display.runStarted(runID: 1, label: "lr=0.1", epochs: 10, firstEpoch: 0, now: start)
        XCTAssertEqual(first, "run 1  lr=0.1  epoch 0/10  loss -  [....................]\n"
                       + "sweep [..............................] 0/4 runs done  0:00 elapsed  ETA -\n")
        // Half of run 1 done after 10 s: 0.5 of 4 runs, so 70 s to go.
        let later = display.epochFinished(runID: 1, epoch: 5, trainLoss: 0.75, validationLoss: nil, now: start.addingTimeInterval(10))
        XCTAssertEqual(later, "\u{1B}[2A\r\u{1B}[J"
                       + "run 1  lr=0.1  epoch 5/10  train_loss 0.7500  [##########..........]\n"
                       + "sweep [###...........................] 0/4 runs done  0:10 elapsed  ETA 1:10\n")
        // Redraws are throttled: an epoch 10 ms later draws nothing.
        XCTAssertEqual(display.epochFinished(runID: 1, epoch: 6, trainLoss: 0.7, validationLoss: nil, now: start.addingTimeInterval(10.01)), "")
        let finished = display.runFinished(runID: 1, label: "lr=0.1", status: "completed", detail: "", now: start.addingTimeInterval(20))
        XCTAssertEqual(finished, "\u{1B}[2A\r\u{1B}[J" + "run 1  lr=0.1  completed  epoch 6/10  train_loss 0.7000  [1/4]\n"
                       + "sweep [#######.......................] 1/4 runs done  0:20 elapsed  ETA 1:00\n")
        XCTAssertEqual(display.finish(), "\u{1B}[1A\r\u{1B}[J")
    }

    /// hostile15 F23: more active runs than the terminal has rows scrolled a new copy of the block
    /// at every redraw (the cursor-up stops at the top row). The frame keeps below the height: the
    /// first rows - 3 runs, "... and N more running", the bar.
    func testTheLiveFrameKeepsBelowTheTerminalsHeight() {
        let start = Date(timeIntervalSince1970: 1000)
        func runLine(_ id: Int) -> String { "run \(id)  seed=\(id)  epoch 0/10  loss -  [....................]\n" }
        let bar = "sweep [..............................] 0/12 runs done  0:00 elapsed  ETA -\n"

        let display = ProgressDisplay(mode: .live, totalRuns: 12, width: 100, height: 8, now: start)
        var last = ""
        for id in 1...12 { last = display.runStarted(runID: Int64(id), label: "seed=\(id)", epochs: 10, firstEpoch: 0, now: start) }
        XCTAssertEqual(last, "\u{1B}[7A\r\u{1B}[J" + (1...5).map(runLine).joined() + "... and 7 more running\n" + bar)
        // A run ends: its line goes above the frame, which shows the next runs in its place.
        let ended = display.runFinished(runID: 2, label: "seed=2", status: "completed", detail: "", now: start)
        XCTAssertEqual(ended, "\u{1B}[7A\r\u{1B}[J" + "run 2  seed=2  completed  epoch 0/10  [1/12]\n"
                       + ([1, 3, 4, 5, 6].map(runLine)).joined() + "... and 6 more running\n"
                       + "sweep [##............................] 1/12 runs done  0:00 elapsed  ETA 0:00\n")
        XCTAssertEqual(display.finish(), "\u{1B}[7A\r\u{1B}[J")

        // Rows enough: every run (12 + the bar = 13 lines on 14 rows).
        let tall = ProgressDisplay(mode: .live, totalRuns: 12, width: 100, height: 14, now: start)
        for id in 1...12 { last = tall.runStarted(runID: Int64(id), label: "seed=\(id)", epochs: 10, firstEpoch: 0, now: start) }
        XCTAssertEqual(last, "\u{1B}[12A\r\u{1B}[J" + (1...12).map(runLine).joined() + bar)
        // 3 rows: the count and the bar; 2 rows: the bar alone.
        for (height, expected) in [(3, "... and 12 more running\n" + bar), (2, bar)] {
            let short = ProgressDisplay(mode: .live, totalRuns: 12, width: 100, height: height, now: start)
            for id in 1...12 { last = short.runStarted(runID: Int64(id), label: "seed=\(id)", epochs: 10, firstEpoch: 0, now: start) }
            XCTAssertEqual(last, "\u{1B}[\(height - 1)A\r\u{1B}[J" + expected, "height \(height)")
        }
    }

    /// hostile15 F17: TERM=dumb (Emacs' M-x shell, some CI pseudo-terminals) or no TERM showed the
    /// live display's cursor escapes as text: such a terminal gets the plain lines of a pipe.
    func testTheLiveDisplayNeedsATerminalThatMovesTheCursor() {
        for (isTerminal, environment, mode) in [(true, ["TERM": "xterm-256color"], ProgressDisplay.Mode.live), (true, ["TERM": "dumb"], .plain),
                                                (true, [:], .plain), (true, ["TERM": ""], .plain), (false, ["TERM": "xterm"], .plain)] {
            XCTAssertEqual(ProgressDisplay.mode(quiet: false, isTerminal: isTerminal, environment: environment), mode, "\(isTerminal) \(environment)")
            XCTAssertEqual(TerminalStyle.movesCursor(isTerminal: isTerminal, environment: environment), mode == .live)
            XCTAssertEqual(ProgressDisplay.mode(quiet: true, isTerminal: isTerminal, environment: environment), .quiet)
        }
    }

    /// Live lines are cut to the terminal's width in screen columns (CJK takes two each), so no
    /// line wraps and the cursor-up count of the next redraw stays right.
    /// Below 40 columns too (hostile15 F3: on a 30-column terminal they were 41 wide, and wrapped).
    func testLiveLinesFitTheWidthInScreenColumns() {
        for width in [40, 30, 12] {
            let display = ProgressDisplay(mode: .live, totalRuns: 1, width: width)
            let text = display.runStarted(runID: 1, label: "dataset=日本語のデータセット", epochs: 10, firstEpoch: 0)
            let lines = text.split(separator: "\n")
            XCTAssertEqual(lines.count, 2)
            for line in lines {
                let columns = line.unicodeScalars.reduce(0) { $0 + ((0x3000...0x9FFF).contains($1.value) ? 2 : 1) }
                XCTAssertLessThanOrEqual(columns, width, String(line))
                XCTAssertGreaterThanOrEqual(columns, width - 1, "uses the width: \(line)")
            }
        }
    }

    /// A sweep over validation 0 and 0.2 (hostile15 F20): the summary ranked the first run's
    /// train_loss (0.1) against the other's val_loss (0.3) and named it "lowest final val_loss".
    /// val_loss falls back to train_loss only when no run validates, for every run at once.
    func testValLossFallsBackToTrainLossForAllRunsOrNone() throws {
        let directory = try TemporaryDirectory(prefix: "slope-summary")
        defer { directory.remove() }
        let store = try SlopeStore(path: directory.path("s.db"))
        var unvalidated = SlopeStore.NewRun.example(learningRate: 0.1, epochs: 1), validated = SlopeStore.NewRun.example(learningRate: 0.2, epochs: 1)
        unvalidated.validationFraction = 0
        validated.validationFraction = 0.2
        let (sweepID, runIDs) = try store.createSweep(name: "s", specJSON: "{}", runs: [unvalidated, validated, unvalidated])
        let worker = WorkerIdentity.current()
        for (runID, (train, validation)) in zip(runIDs, [(0.1, nil), (0.5, 0.3), (0.05, nil)] as [(Double, Double?)]) {
            let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
            try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: train, validationLoss: validation, seconds: 0), tensors: [],
                                 holder: RunHolder(worker: worker, claimToken: claimToken))
            try store.finishRun(runID: runID, status: .completed, stopReason: nil)
        }
        func summary(_ runs: [SlopeStore.RunRecord]) -> String {
            ProgressSummary.render(runs: runs, metric: "val_loss", maximize: false, sweepID: sweepID, databaseArgument: "")
        }
        let all = try store.queries.runSummaries(sweepID: sweepID)
        XCTAssertTrue(summary(all).contains("* best run: \(runIDs[1]) (lowest final val_loss)\n"), summary(all))
        // Without the validating run, train_loss for every run, and said.
        let trainOnly = all.filter { $0.id != runIDs[1] }
        XCTAssertTrue(summary(trainOnly).contains("* best run: \(runIDs[2]) (lowest final train_loss (no validation split))\n"), summary(trainOnly))
    }

    func testSummaryTableSortsByTheMetricAndMarksTheBest() throws {
        let directory = try TemporaryDirectory(prefix: "slope-summary")
        defer { directory.remove() }
        let store = try SlopeStore(path: directory.path("s.db"))
        let (sweepID, runIDs) = try store.createSweep(name: "s", specJSON: "{}", runs: [
            .example(learningRate: 0.1, batchSize: 16, epochs: 1), .example(learningRate: 0.01, batchSize: 64, epochs: 1),
            .example(learningRate: 1, batchSize: 16, epochs: 1),
        ])
        let worker = WorkerIdentity.current()
        for (runID, loss) in zip(runIDs, [0.5, 0.25, Double.nan]) {
            let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
            try store.writeEpoch(runID: runID, .init(epoch: 0, trainLoss: 2, validationLoss: 2, validationAccuracy: 0.1, seconds: 0), tensors: [], holder: RunHolder(worker: worker, claimToken: claimToken))
            try store.writeEpoch(runID: runID, .init(epoch: 1, trainLoss: loss * 2, validationLoss: loss, validationAccuracy: 0.9, seconds: 0), tensors: [], holder: RunHolder(worker: worker, claimToken: claimToken))
            try store.finishRun(runID: runID, status: loss.isNaN ? .diverged : .completed, stopReason: nil)
        }
        let table = ProgressSummary.render(runs: try store.queries.runSummaries(sweepID: sweepID), metric: "val_loss", maximize: false,
                                           sweepID: sweepID, databaseArgument: "--db s.db")
        let lines = table.split(separator: "\n").map(String.init)
        // The settings that differ between the runs (the seed does not here).
        XCTAssertEqual(lines[0], "  run status    learning_rate batch_size   layers epochs train_loss val_loss val_accuracy")
        XCTAssertEqual(lines[1], "* 2   completed          0.01         64 64-64-10    1/1        0.5     0.25          0.9")
        XCTAssertEqual(lines[2], "  1   completed           0.1         16 64-64-10    1/1          1      0.5          0.9")
        XCTAssertTrue(lines[3].hasPrefix("  3   diverged"), lines[3])
        XCTAssertEqual(lines[4], "* best run: 2 (lowest final val_loss)")
        // Digits is classification: no word of a regression target (the advice said it to every run).
        XCTAssertEqual(lines[5], "diverged: run 3 (the loss became NaN or infinite): try a smaller --learning-rate")
        XCTAssertEqual(lines[6], "Look further: report grid --sweep \(sweepID) --rows learning_rate --cols batch_size --db s.db")
    }

    /// A momentum of 0.9999999999999999 is not the refused 1: the summary's settings show as report's
    /// tables show them (`formatNumber`), never as `1` (it used %g).
    func testSummaryNeverShowsAFractionAsOne() throws {
        let directory = try TemporaryDirectory(prefix: "slope-summary-fraction")
        defer { directory.remove() }
        let store = try SlopeStore(path: directory.path("s.db"))
        let (sweepID, runIDs) = try store.createSweep(name: "s", specJSON: "{}", runs: [
            .example(momentum: 0.9999999999999999, epochs: 1), .example(momentum: 0.9, epochs: 1),
        ])
        let worker = WorkerIdentity.current()
        for (runID, loss) in zip(runIDs, [0.25, 0.5]) {
            let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
            try store.writeEpoch(runID: runID, .init(epoch: 1, trainLoss: loss, validationLoss: loss, validationAccuracy: 0.9, seconds: 0), tensors: [],
                                 holder: RunHolder(worker: worker, claimToken: claimToken))
            try store.finishRun(runID: runID, status: .completed, stopReason: nil)
        }
        let table = ProgressSummary.render(runs: try store.queries.runSummaries(sweepID: sweepID), metric: "val_loss", maximize: false,
                                           sweepID: sweepID, databaseArgument: "")
        let lines = table.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(Array(lines[0].prefix(3)), ["run", "status", "momentum"], table)
        XCTAssertEqual(lines[1].prefix(4), ["*", "1", "completed", "0.9999999999999999"], table)
        XCTAssertEqual(lines[2].prefix(3), ["2", "completed", "0.9"], table)
    }

    /// The progress bar's total: the unfinished runs in scope (single runs too without --sweep) and
    /// a TPE sweep's trials not sampled yet, counted (not every run read with its configuration).
    func testPendingRunsCountsUnfinishedRunsAndUnsampledTrials() throws {
        let directory = try TemporaryDirectory(prefix: "slope-pending")
        defer { directory.remove() }
        let store = try SlopeStore(path: directory.path("s.db"))
        let (sweepID, runIDs) = try store.createSweep(name: "s", specJSON: "{}", runs: [.example(), .example(seed: 1), .example(seed: 2)])
        let worker = WorkerIdentity.current()
        _ = try XCTUnwrap(store.claimRun(runID: runIDs[0], worker: worker))  // running
        _ = try XCTUnwrap(store.claimRun(runID: runIDs[1], worker: worker))
        try store.finishRun(runID: runIDs[1], status: .completed, stopReason: nil)
        let single = try store.createRun(.example())
        let tpe = try SweepSpec.parse(yaml: """
            method: tpe
            count: 4
            fixed: {dataset: xor, epochs: 1}
            parameters: {learning_rate: {distribution: log_uniform, min: 0.001, max: 1}}
            """, file: "t.yaml")
        let (tpeID, _) = try SweepPlan(spec: tpe).enqueue(in: store)
        XCTAssertEqual(try Worker.pendingRuns(in: store, sweepID: sweepID, runID: nil), 2, "one queued, one running")
        XCTAssertEqual(try Worker.pendingRuns(in: store, sweepID: tpeID, runID: nil), 4, "no trial sampled yet")
        XCTAssertEqual(try Worker.pendingRuns(in: store, sweepID: nil, runID: nil), 2 + 1 + 4, "the single run too")
        XCTAssertEqual(try Worker.pendingRuns(in: store, sweepID: nil, runID: single), 1)
        XCTAssertEqual(try Worker.pendingRuns(in: store, sweepID: nil, runID: runIDs[1]), 0)
    }

    /// After a random or TPE sweep the summary points at `report importance` (sampled values would
    /// give `grid` a near-empty row per run), and a pruned run gets no advice on how it trained:
    /// the search stopped it.
    func testSampledSweepPointsAtImportanceAndPrunedRunsGetNoAdvice() throws {
        let directory = try TemporaryDirectory(prefix: "slope-summary-sampled")
        defer { directory.remove() }
        let store = try SlopeStore(path: directory.path("s.db"))
        let (sweepID, runIDs) = try store.createSweep(name: "s", specJSON: "{}", runs: [
            .example(learningRate: 0.0123, batchSize: 16, epochs: 4), .example(learningRate: 0.0456, batchSize: 64, epochs: 4),
        ])
        let worker = WorkerIdentity.current()
        for (runID, status) in zip(runIDs, [RunStatus.completed, .pruned]) {
            let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
            try store.writeEpoch(runID: runID, .init(epoch: 1, trainLoss: 2.3, validationLoss: 2.3, validationAccuracy: 0.1, seconds: 0), tensors: [],
                                 holder: RunHolder(worker: worker, claimToken: claimToken))
            try store.finishRun(runID: runID, status: status, stopReason: status == .pruned ? "pruned at epoch 1" : nil)
        }
        let chance = TrainingDiagnosis(kind: .chanceAccuracy, epochsByLayer: [0: [1]], detail: "val_accuracy 0.1000, chance 0.1000",
                                       advice: "another --learning-rate, more epochs")
        let summary = ProgressSummary.render(runs: try store.queries.runSummaries(sweepID: sweepID), metric: "val_loss", maximize: false,
                                             sweepID: sweepID, databaseArgument: "--db s.db",
                                             diagnoses: [runIDs[0]: [chance], runIDs[1]: [chance]], isSampled: true)
        XCTAssertTrue(summary.contains("\n  run \(runIDs[0]) chance-accuracy at epoch 1: "), summary)
        XCTAssertFalse(summary.contains("run \(runIDs[1]) chance-accuracy"), summary)
        XCTAssertTrue(summary.hasSuffix("Look further: report importance --sweep \(sweepID) --db s.db\n"
                                        + "              report compare --sweep \(sweepID) --db s.db; report show \(runIDs[0]) --db s.db\n"), summary)
        XCTAssertFalse(summary.contains("report grid"), summary)
    }

    /// A worker that finishes first summarises a sweep whose other runs are still training on
    /// another worker: their last stored epoch is not final, so they are listed, not ranked.
    func testSummaryDoesNotRankRunsStillRunningElsewhere() throws {
        let directory = try TemporaryDirectory(prefix: "slope-summary-running")
        defer { directory.remove() }
        let store = try SlopeStore(path: directory.path("s.db"))
        let (sweepID, runIDs) = try store.createSweep(name: "s", specJSON: "{}", runs: [
            .example(learningRate: 0.1, epochs: 2), .example(learningRate: 0.01, epochs: 2), .example(learningRate: 1, epochs: 2),
        ])
        let worker = WorkerIdentity.current()
        var claimTokens: [Int64] = []
        for (runID, loss) in zip(runIDs.prefix(2), [0.5, 0.1]) {
            claimTokens.append(try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken)
            try store.writeEpoch(runID: runID, .init(epoch: 1, trainLoss: loss, validationLoss: loss, seconds: 0), tensors: [], holder: RunHolder(worker: worker, claimToken: claimTokens.last!))
        }
        try store.writeEpoch(runID: runIDs[0], .init(epoch: 2, trainLoss: 0.4, validationLoss: 0.4, seconds: 0), tensors: [], holder: RunHolder(worker: worker, claimToken: claimTokens[0]))
        try store.finishRun(runID: runIDs[0], status: .completed, stopReason: nil)
        // Run 2 (lower loss so far) is still running; run 3 is queued.
        let table = ProgressSummary.render(runs: try store.queries.runSummaries(sweepID: sweepID), metric: "val_loss", maximize: false,
                                           sweepID: sweepID, databaseArgument: "")
        let lines = table.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[1].hasPrefix("* 1   completed"), table)
        XCTAssertTrue(lines[2].hasPrefix("  2   running"), table)
        XCTAssertTrue(lines[3].hasPrefix("  3   queued"), table)
        XCTAssertEqual(lines[4], "* best run so far: 1 (lowest final val_loss)", "run 2 may yet do better")
        XCTAssertEqual(lines[5], "still queued or running (not ranked): runs 2, 3")
    }

    /// A sweep over epochs (and the learning rate): the planned epochs are in the done/planned
    /// column, so the table has one `epochs` column, not a second one with the setting.
    func testSummaryOfAnEpochsSweepHasOneEpochsColumn() throws {
        let directory = try TemporaryDirectory(prefix: "slope-summary-epochs")
        defer { directory.remove() }
        let store = try SlopeStore(path: directory.path("s.db"))
        let (sweepID, runIDs) = try store.createSweep(name: "s", specJSON: "{}", runs: [
            .example(learningRate: 0.1, epochs: 1), .example(learningRate: 0.01, epochs: 2),
        ])
        let worker = WorkerIdentity.current()
        for (runID, loss) in zip(runIDs, [0.5, 0.25]) {
            let claimToken = try XCTUnwrap(store.claimRun(runID: runID, worker: worker)).claimToken
            try store.writeEpoch(runID: runID, .init(epoch: 1, trainLoss: loss * 2, validationLoss: loss, validationAccuracy: 0.9, seconds: 0), tensors: [], holder: RunHolder(worker: worker, claimToken: claimToken))
            try store.finishRun(runID: runID, status: .completed, stopReason: nil)
        }
        let table = ProgressSummary.render(runs: try store.queries.runSummaries(sweepID: sweepID), metric: "val_loss", maximize: false,
                                           sweepID: sweepID, databaseArgument: "", variedColumns: ["learning_rate", "epochs"])
        let lines = table.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "  run status    learning_rate   layers epochs train_loss val_loss val_accuracy")
        XCTAssertEqual(lines[1], "* 2   completed          0.01 64-64-10    1/2        0.5     0.25          0.9")
        XCTAssertEqual(lines[2], "  1   completed           0.1 64-64-10    1/1          1      0.5          0.9")
        // The grid hint still offers the sweep's own axes.
        XCTAssertEqual(lines[4], "Look further: report grid --sweep \(sweepID) --rows learning_rate --cols epochs")
    }
}
