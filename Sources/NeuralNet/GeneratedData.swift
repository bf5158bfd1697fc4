// Seeded synthetic datasets: the same arguments give the same bits on every machine.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum GeneratedData {
    /// The four XOR rows: (0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0 (labels, 2 classes).
    public static func xor() -> Dataset {
        Dataset(features: [0, 0, 0, 1, 1, 0, 1, 1], rowCount: 4, featureCount: 2,
                targets: .labels([0, 1, 1, 0], classCount: 2))
    }

    /// x1, x2 ~ U(0, 1); y = 3 x1 + 2 x2 + noise * N(0, 1) (one target column).
    public static func linear(rows: Int, noise: Double = 0.1, seed: UInt64 = 0) -> Dataset {
        var generator = Xoshiro256StarStar(seed: seed, stream: .generator, index: 1)
        var features = [Double](), targets = [Double]()
        features.reserveCapacity(rows * 2)
        targets.reserveCapacity(rows)
        for _ in 0..<max(rows, 0) {
            let x1 = generator.nextUnit(), x2 = generator.nextUnit()
            features += [x1, x2]
            targets.append(3 * x1 + 2 * x2 + noise * generator.normal())
        }
        return Dataset(features: features, rowCount: max(rows, 0), featureCount: 2, targets: .values(targets, columns: 1))
    }

    /// Interleaved spirals (one arm per class), 2 features; rows are dealt round-robin to the classes.
    public static func spirals(rows: Int, classes: Int = 3, noise: Double = 0.2, seed: UInt64 = 0) -> Dataset {
        precondition(classes >= 1, "spirals needs at least one class")
        var generator = Xoshiro256StarStar(seed: seed, stream: .generator, index: 2)
        let count = max(rows, 0)
        var features = [Double](), labels = [Int]()
        features.reserveCapacity(count * 2)
        labels.reserveCapacity(count)
        let perClass = max((count + classes - 1) / classes, 1)
        for row in 0..<count {
            let label = row % classes
            let position = Double(row / classes) / Double(max(perClass - 1, 1))   // 0...1 along the arm
            let angle = Double(label) * 2 * Double.pi / Double(classes) + 4 * position + noise * generator.normal()
            features += [position * sin(angle), position * cos(angle)]
            labels.append(label)
        }
        return Dataset(features: features, rowCount: count, featureCount: 2, targets: .labels(labels, classCount: classes))
    }

    /// Two interleaving half circles (as scikit-learn's make_moons), Gaussian noise of the given scale.
    public static func moons(rows: Int, noise: Double = 0.1, seed: UInt64 = 0) -> Dataset {
        var generator = Xoshiro256StarStar(seed: seed, stream: .generator, index: 3)
        let count = max(rows, 0)
        let outer = (count + 1) / 2, inner = count - outer
        var features = [Double](), labels = [Int]()
        features.reserveCapacity(count * 2)
        labels.reserveCapacity(count)
        for row in 0..<count {
            let isOuter = row % 2 == 0
            let index = row / 2, total = isOuter ? outer : inner
            let angle = Double.pi * Double(index) / Double(max(total - 1, 1))
            let x = isOuter ? cos(angle) : 1 - cos(angle)
            let y = isOuter ? sin(angle) : 0.5 - sin(angle)
            features += [x + noise * generator.normal(), y + noise * generator.normal()]
            labels.append(isOuter ? 0 : 1)
        }
        return Dataset(features: features, rowCount: count, featureCount: 2, targets: .labels(labels, classCount: 2))
    }

    /// Gaussian blobs (as scikit-learn's make_blobs): centers ~ U(-10, 10)^features, standard
    /// deviation 1, rows dealt round-robin to the classes.
    public static func blobs(rows: Int, features featureCount: Int = 2, classes: Int = 3, seed: UInt64 = 0) -> Dataset {
        precondition(classes >= 1 && featureCount >= 1, "blobs needs at least one class and one feature")
        var generator = Xoshiro256StarStar(seed: seed, stream: .generator, index: 4)
        let centers = (0..<(classes * featureCount)).map { _ in generator.uniform(-10, 10) }
        let count = max(rows, 0)
        var features = [Double](), labels = [Int]()
        features.reserveCapacity(count * featureCount)
        labels.reserveCapacity(count)
        for row in 0..<count {
            let label = row % classes
            for feature in 0..<featureCount {
                features.append(centers[label * featureCount + feature] + generator.normal())
            }
            labels.append(label)
        }
        return Dataset(features: features, rowCount: count, featureCount: featureCount, targets: .labels(labels, classCount: classes))
    }
}
