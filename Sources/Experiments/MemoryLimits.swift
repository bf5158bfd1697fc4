// How much more memory this process may use (for a network, a dataset): the least of physical
// memory, the address-space limit (`ulimit -v`, RLIMIT_AS, minus what the process already maps),
// the data-size limit (`ulimit -d`, RLIMIT_DATA, minus the process's data already) and the
// cgroup memory limit (v2 memory.max, v1 memory.limit_in_bytes, of this process's cgroup and
// its parents), each named, and a probe that asks the allocator for the bytes before training.
import Foundation

enum MemoryLimits {
    /// Memory in GB with one decimal ("0.7 GB", "1152.1 GB"), the one way Experiments says a size of
    /// memory: a need and the limit it meets are said in the same unit, so that they read against each
    /// other (Store's `describeBytes`, for files, picks the unit by the size). Under 0.05 GB in whole MB
    /// ("12 MB"): a small network's need and a used-up limit both read "0.0 GB" otherwise.
    static func memorySize(_ bytes: Double) -> String {
        bytes < 0.05e9 ? String(format: "%.0f MB", bytes / 1e6) : String(format: "%.1f GB", bytes / 1e9)
    }

    /// The tightest limit and how to say it ("this machine has 24.0 GB").
    struct Limit: Equatable {
        var bytes: Double
        var description: String
    }

    /// The least of the limits that apply to this process now.
    static func current() -> Limit {
        var limits = [Limit(bytes: Double(ProcessInfo.processInfo.physicalMemory),
                            description: "this machine has " + memorySize(Double(ProcessInfo.processInfo.physicalMemory)))]
        // Each rlimit less what the process already counts against it (its loaded data among it).
        for (resource, field, name) in [(RLIMIT_AS, "VmSize:", "the address-space limit (ulimit -v"),
                                         (RLIMIT_DATA, "VmData:", "the data-size limit (ulimit -d")] {
            var limit = rlimit()
            guard getrlimit(Int32(resource.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { continue }  // RLIM_INFINITY
            let left = max(0, Double(limit.rlim_cur) - statusBytes(field))
            limits.append(Limit(bytes: left, description: "\(name), \(memorySize(Double(limit.rlim_cur)))) leaves \(memorySize(left))"))
        }
        if let bytes = currentCgroupLimit() {
            limits.append(Limit(bytes: bytes, description: "the cgroup memory limit is " + memorySize(bytes)))
        }
        return limits.min { $0.bytes < $1.bytes }!
    }

    /// A size of /proc/self/status: `VmSize:` (the mapped address space, which counts against
    /// RLIMIT_AS) or `VmData:` (private writable memory, which counts against RLIMIT_DATA); 0 where unknown.
    static func statusBytes(_ field: String) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kilobytes * 1024
    }

    /// Refuses `bytes` more than this process may use (a usage error, `badSetting(field:)`: `needs`
    /// says what needs them, e.g. "a 2-3000-2 network (...) needs about 0.7 GB of memory to train"),
    /// or that the allocator refuses now (a runtime error). Said before allocating, never as a crash.
    static func require(bytes: Double, field: String, needs: String) throws {
        let limit = current()
        if bytes > limit.bytes {
            throw ExperimentsError.badSetting(field: field, reason: needs + "; " + limit.description)
        }
        if !canAllocate(bytes: Int(bytes)) {
            throw ExperimentsError.outOfMemory(needs + ", and the system refused to allocate it (" + limit.description + ")")
        }
    }

    /// This process's cgroup limit, read again when the last reading is a second old: queueing a
    /// sweep checks each of its (up to 100,000) runs, and the files of a cgroup and its parents are
    /// most of a check's time.
    private static func currentCgroupLimit() -> Double? {
        let now = Date()
        if let last = lastCgroupLimit.value, now.timeIntervalSince(last.at) < 1 { return last.bytes }
        let cgroupFile = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        let bytes = cgroupLimit(procSelfCgroup: cgroupFile, root: "/sys/fs/cgroup")
        lastCgroupLimit.update { $0 = (bytes, now) }
        return bytes
    }

    private static let lastCgroupLimit = Locked<(bytes: Double?, at: Date)?>(nil)

    /// The smallest memory limit of the cgroup named in `procSelfCgroup` (the text of
    /// /proc/self/cgroup) and of its parents, under `root`; nil when none is set. cgroup v2: the
    /// `0::/path` line and memory.max ("max" is no limit); v1: the `N:memory:/path` line and
    /// memory.limit_in_bytes (about 2^63 is no limit). A namespaced path that is not under `root`
    /// falls back to the root's own file.
    static func cgroupLimit(procSelfCgroup: String, root: String) -> Double? {
        var candidates: [String] = []
        for line in procSelfCgroup.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            if parts[0] == "0" && parts[1].isEmpty {
                candidates += directories(root, path).map { $0 + "/memory.max" }
            } else if parts[1].split(separator: ",").contains("memory") {
                candidates += directories(root + "/memory", path).map { $0 + "/memory.limit_in_bytes" }
            }
        }
        let limits = candidates.compactMap { file -> Double? in
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let bytes = Double(trimmed), bytes > 0, bytes < 0x1p62 else { return nil }  // "max", or v1's 2^63 - 4096
            return bytes
        }
        return limits.min()
    }

    /// `base/path` and each of its parents up to `base`.
    private static func directories(_ base: String, _ path: String) -> [String] {
        var components = path.split(separator: "/").map(String.init)
        var result: [String] = []
        while true {
            result.append(([base] + components).joined(separator: "/"))
            if components.isEmpty { return result }
            components.removeLast()
        }
    }

    /// True when the allocator gives `bytes` now (asked for and given back untouched, so no page is
    /// used): what the limits above cannot see (another limit, fragmentation) shows here as a
    /// clear error rather than as a crash inside the engine.
    static func canAllocate(bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        guard let block = malloc(bytes) else { return false }
        free(block)
        return true
    }
}
