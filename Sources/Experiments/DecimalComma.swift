// A number written with a decimal comma (`0,5`, a German or Turkish habit): a flag's comma list and
// a sweep file's `values: [0,5]` split it into two whole numbers, a file's `momentum: 0,9` keeps it
// as one text. One reading of the shape and one wording of the refusal for all three (hostile16 F3).
import Foundation

enum DecimalComma {
    /// One pair of neighbouring texts that a decimal comma may have split: `index` of the first,
    /// what was typed (`0,5`) and the number with a point (`0.5`).
    struct Pair {
        let index: Int
        let typed: String
        let number: String
        /// The second half has a leading zero (`0,0001`, `1,05`): no list of numbers writes 1 as 0001,
        /// so it is a decimal comma even where both halves are accepted values.
        var hasLeadingZero: Bool { typed.split(separator: ",").last.map { $0.count > 1 && $0.hasPrefix("0") } ?? false }
    }

    /// Each two neighbouring texts that are whole numbers, the second without a sign (nil: not text).
    static func pairs(_ texts: [String?]) -> [Pair] {
        guard texts.count >= 2 else { return [] }
        return (0..<texts.count - 1).compactMap { index in
            guard let whole = texts[index], let fraction = texts[index + 1],
                  whole.wholeMatch(of: #/-?[0-9]+/#) != nil, fraction.wholeMatch(of: #/[0-9]+/#) != nil else { return nil }
            return Pair(index: index, typed: "\(whole),\(fraction)", number: "\(whole).\(fraction)")
        }
    }

    /// The refusal: "'0,5' is not accepted: a decimal is written with a point (0.5)", with `comma`
    /// saying what a comma is there ("a comma separates the values of a sweep") when it split the number.
    static func reason(typed: String, number: String, comma: String? = nil) -> String {
        "'\(typed)' is not accepted: a decimal is written with a point (\(number))" + (comma.map { "; \($0)" } ?? "")
    }
}
