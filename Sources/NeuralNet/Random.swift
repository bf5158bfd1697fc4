// Seeded random numbers: every random choice in Slope goes through these two generators (SplitMix64
// and xoshiro256**), never the system generator, so the same seed gives the same bits on every machine.
// (The one exception is the dashboard's access token, which must not be predictable: DashboardServer.generateToken.)
// Experiments draws from SplitMix64 with its own Fisher-Yates (LatinHypercube.permutation, by modulo,
// where `Xoshiro256StarStar.shuffle` takes a multiply-high) and its own Box-Muller (ParzenEstimator.sample):
// they stay as written, since any change to them would change the draws of stored sweeps.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64 (Steele, Lea and Flood 2014, with its standard constants): the smaller of Slope's two
/// seeded generators. It expands seeds into `Xoshiro256StarStar`'s state (and hashes (seed, epoch) pairs
/// into independent streams), draws random, LHS and TPE sweeps' settings in Experiments, and makes
/// the tests' random cases.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A well-mixed 64-bit value from two inputs (order matters).
    public static func mix(_ first: UInt64, _ second: UInt64) -> UInt64 {
        var generator = SplitMix64(seed: first)
        let a = generator.next()
        var other = SplitMix64(seed: a ^ second)
        return other.next()
    }
}

/// Random streams of a run are derived from its seed and a purpose, so they never overlap.
enum RandomStream: UInt64 {
    case initialization = 0x696E_6974
    case shuffle = 0x7368_7566
    case split = 0x7370_6C69
    case generator = 0x6765_6E65
}

/// xoshiro256** (seeded through SplitMix64): the other generator, behind initialization, shuffles,
/// splits and synthetic data.
struct Xoshiro256StarStar {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    init(seed: UInt64) {
        var seeder = SplitMix64(seed: seed)
        s0 = seeder.next(); s1 = seeder.next(); s2 = seeder.next(); s3 = seeder.next()
    }

    /// The stream for `purpose` of run `seed`, optionally further indexed (e.g. by epoch).
    init(seed: UInt64, stream: RandomStream, index: UInt64 = 0) {
        self.init(seed: SplitMix64.mix(SplitMix64.mix(seed, stream.rawValue), index))
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in 0..<bound (multiply-high; the bias is below 2^-40 for any bound used here).
    @inline(__always)
    mutating func next(below bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform in [0, 1) with 53 random bits.
    mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * nextUnit()
    }

    /// Standard normal (Box-Muller; one value per call keeps the stream simple to reason about).
    mutating func normal() -> Double {
        var u1 = nextUnit()
        while u1 == 0 { u1 = nextUnit() }
        let u2 = nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Normal truncated at two standard deviations (Keras' truncated normal).
    mutating func truncatedNormal() -> Double {
        while true {
            let value = normal()
            if abs(value) <= 2 { return value }
        }
    }

    /// Fisher-Yates shuffle of a buffer in place.
    mutating func shuffle(_ buffer: UnsafeMutableBufferPointer<Int>) {
        var index = buffer.count - 1
        while index > 0 {
            let other = next(below: index + 1)
            buffer.swapAt(index, other)
            index -= 1
        }
    }
}
