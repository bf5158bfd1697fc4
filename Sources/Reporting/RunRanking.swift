// The one order of runs by a metric, which runner's end-of-sweep summary, `report best`,
// `report compare`'s highlighted run and `report grid`'s best cell all follow.
import Store

public enum RunRanking {
    /// Whether a run (its id and metric value) ranks before another: a finite value before none,
    /// then the better value, and on a tie the lower id (the run queued first).
    public static func ranksBefore(_ lhs: (id: Int64, value: Double?), _ rhs: (id: Int64, value: Double?), goal: Goal) -> Bool {
        switch (lhs.value.flatMap { $0.isFinite ? $0 : nil }, rhs.value.flatMap { $0.isFinite ? $0 : nil }) {
        case let (left?, right?): return left == right ? lhs.id < rhs.id : goal.isBetter(left, than: right)
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return lhs.id < rhs.id
        }
    }

    /// `runs` best first by `value` (`ranksBefore`).
    public static func ranked(_ runs: [SlopeStore.RunRecord], goal: Goal, value: (SlopeStore.RunRecord) -> Double?) -> [SlopeStore.RunRecord] {
        runs.map { (run: $0, value: value($0)) }
            .sorted { ranksBefore(($0.run.id, $0.value), ($1.run.id, $1.value), goal: goal) }
            .map(\.run)
    }
}
