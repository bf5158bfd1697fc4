// Under an address-space or data-size limit (`ulimit -v`, `ulimit -d`: a batch scheduler's h_vmem),
// glibc's malloc reserves 64 MB of address space for each thread's arena, up to 8 per core. A dozen
// threads (NIO's event loops, Dispatch's workers, the epoch writer, training threads) then use up a
// 0.5 GB limit in reservations alone, after which no thread can start, and Dispatch waits for one for
// ever: a PostgreSQL worker under `ulimit -v 500000` hung, deaf to Ctrl-C. Fewer arenas under a
// limit, as many as a quarter of it holds; none of this without a limit.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum MallocArenas {
    /// The address space one arena reserves (glibc's HEAP_MAX_SIZE on 64-bit systems).
    static let arenaReserve: UInt64 = 64 << 20

    /// The arenas to allow under `limit` bytes (nil: no limit, glibc's own rule stands): a quarter
    /// of the limit in reservations at most, at least 2, at most glibc's default of 8 per core.
    static func arenaCount(limit: UInt64?, processors: Int) -> Int? {
        guard let limit else { return nil }
        return max(2, min(8 * max(1, processors), Int(min(limit / (4 * arenaReserve), UInt64(Int32.max)))))
    }

    /// Caps malloc's arenas when RLIMIT_AS or RLIMIT_DATA is set; called first thing by both executables,
    /// before any thread starts.
    public static func fitToLimits() {
        #if canImport(Glibc)
        var tightest: UInt64? = nil
        for resource in [RLIMIT_AS, RLIMIT_DATA] {
            var limit = rlimit()
            guard getrlimit(Int32(resource.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { continue }  // RLIM_INFINITY
            tightest = min(tightest ?? .max, UInt64(limit.rlim_cur))
        }
        // mallopt(M_ARENA_MAX, n): Swift's Glibc module exports neither (malloc.h), so looked up by name.
        guard let arenas = arenaCount(limit: tightest, processors: ProcessInfo.processInfo.activeProcessorCount),
              let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }  // RTLD_DEFAULT
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mArenaMax: Int32 = -8
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mArenaMax, Int32(arenas))
        #endif
    }
}
