// SplitMix64 (standard constants), one of NeuralNet's two seeded generators, and the random-search
// draws it makes, pinned to values computed independently, so a change of either is seen.
import XCTest
import NeuralNet
@testable import Experiments

final class RandomDrawTests: XCTestCase {
    /// The reference outputs of SplitMix64 for seed 1234567 (the test vector of Vigna's splitmix64.c).
    func testSplitMix64MatchesTheReference() {
        var generator = SplitMix64(seed: 1_234_567)
        XCTAssertEqual((0..<3).map { _ in generator.next() }, [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423])
    }

    /// The draws of a random search with random_seed 42, computed with these lines of Python
    /// (the same draw order: per run, per parameter in file order; `values` take next() % count,
    /// distributions take one nextUnit()):
    ///
    ///     M = (1 << 64) - 1; state = 42
    ///     def next():
    ///         global state; state = (state + 0x9E3779B97F4A7C15) & M; z = state
    ///         z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M; z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    ///         return z ^ (z >> 31)
    ///     unit = lambda: (next() >> 11) * 2.0 ** -53
    ///     for run in range(3):
    ///         lr = math.exp(math.log(1e-4) + unit() * (math.log(1e-1) - math.log(1e-4)))
    ///         batch = [16, 32, 64][next() % 3]; momentum = unit() * 0.9
    ///
    /// Slope before this generator was unified used 0xBF58476CE5E9B62D for the second constant and
    /// drew other values from the same seed (docs/sweeps.md says so).
    func testRandomSearchDrawsArePinned() throws {
        let spec = try SweepSpec.parse(yaml: """
            method: random
            count: 3
            random_seed: 42
            parameters:
              learning_rate: {distribution: log_uniform, min: 0.0001, max: 0.1}
              batch_size: {values: [16, 32, 64]}
              momentum: {distribution: uniform, min: 0, max: 0.9}
            """, file: "s.yaml", checkingData: false)
        let settings = try spec.expand().map(\.settings)
        XCTAssertEqual(settings.map(\.learningRate), [0.016776240224815612, 0.001077884308308283, 0.0004520802985939486])
        XCTAssertEqual(settings.map(\.batchSize), [32, 32, 64])
        XCTAssertEqual(settings.map(\.momentum), [0.25074101722962483, 0.7814052688918791, 0.3059379350253185])
    }
}
