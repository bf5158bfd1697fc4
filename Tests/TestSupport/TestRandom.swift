// The tests' random data (TestRandom: NeuralNet's SplitMix64 with helpers; not the engine's xoshiro256**,
// Xoshiro256StarStar), so every case can be replayed from the seed its failure message prints.
import NeuralNet

public struct TestRandom: RandomNumberGenerator {
    private var generator: SplitMix64

    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    public mutating func next() -> UInt64 { generator.next() }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * Double(next() >> 11) * 0x1.0p-53 }
    /// Uniform in [-1, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 52) - 1 }
    /// A whole number in 0..<bound.
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    /// A whole number in the range.
    public mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
    public mutating func pick<T>(_ choices: [T]) -> T { choices[int(0...(choices.count - 1))] }
}
