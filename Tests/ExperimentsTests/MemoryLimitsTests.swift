// The memory limits a network is checked against: the cgroup files (v1 and v2, this process's
// cgroup and its parents) read from a fake /sys/fs/cgroup, and the allocation probe.
import XCTest
@testable import Experiments

final class MemoryLimitsTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("slope-cgroup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    private func write(_ text: String, _ path: String) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    func testCgroupV2TakesTheSmallestLimitOfTheGroupAndItsParents() throws {
        try write("max\n", "memory.max")
        try write("4294967296\n", "user.slice/memory.max")
        try write("max\n", "user.slice/job/memory.max")
        XCTAssertEqual(MemoryLimits.cgroupLimit(procSelfCgroup: "0::/user.slice/job\n", root: root.path), 4_294_967_296)
        try write("1073741824\n", "user.slice/job/memory.max")
        XCTAssertEqual(MemoryLimits.cgroupLimit(procSelfCgroup: "0::/user.slice/job\n", root: root.path), 1_073_741_824)
        XCTAssertNil(MemoryLimits.cgroupLimit(procSelfCgroup: "0::/\n", root: root.path), "max is no limit")
    }

    func testCgroupV1ReadsTheMemoryController() throws {
        try write("9223372036854771712\n", "memory/memory.limit_in_bytes")  // v1's "no limit"
        try write("9223372036854771712\n", "memory/docker/abc/memory.limit_in_bytes")
        let file = "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n"
        XCTAssertNil(MemoryLimits.cgroupLimit(procSelfCgroup: file, root: root.path))
        try write("536870912\n", "memory/docker/memory.limit_in_bytes")
        XCTAssertEqual(MemoryLimits.cgroupLimit(procSelfCgroup: file, root: root.path), 536_870_912)
        // A namespaced path that does not exist under the root: the root's own limit.
        try write("268435456\n", "memory/memory.limit_in_bytes")
        XCTAssertEqual(MemoryLimits.cgroupLimit(procSelfCgroup: "4:memory:/elsewhere\n", root: root.path), 268_435_456)
    }

    func testTheTightestLimitIsNamed() {
        let limit = MemoryLimits.current()
        XCTAssertLessThanOrEqual(limit.bytes, Double(ProcessInfo.processInfo.physicalMemory))
        XCTAssertGreaterThan(limit.bytes, 0)
        XCTAssertTrue(MemoryLimits.canAllocate(bytes: 1 << 20))
        XCTAssertFalse(MemoryLimits.canAllocate(bytes: 1 << 62), "4 EiB is never given")
    }

    /// Sizes of memory in GB with one decimal; under 0.05 GB in whole MB, so that a small network's
    /// need and a limit used up do not both read "0.0 GB" (seen under ulimit -v 300000).
    func testMemorySizesReadAgainstEachOther() {
        XCTAssertEqual(MemoryLimits.memorySize(700_000_000), "0.7 GB")
        XCTAssertEqual(MemoryLimits.memorySize(1_152_100_000_000), "1152.1 GB")
        XCTAssertEqual(MemoryLimits.memorySize(3_200_000), "3 MB")
        XCTAssertEqual(MemoryLimits.memorySize(0), "0 MB")
        XCTAssertEqual(MemoryLimits.memorySize(60_000_000), "0.1 GB")
    }
}
