// Guards around Yams for sweep files: a bound on the nodes a file expands to (aliases make a
// few hundred bytes expand to billions of values), and Yams' errors as one line with a location.
import Foundation
import Yams

enum YAMLLimits {
    /// Nodes (scalars, lists, mappings, keys included) a sweep file may expand to once aliases are
    /// followed. A 100,000-run sweep file is far smaller; counting stops at the limit.
    static let maximumNodes = 100_000

    /// True when `root` has at most `maximumNodes` nodes, aliases expanded.
    /// - Complexity: O(min(nodes, maximumNodes)): the walk stops at the limit. Yams shares an
    ///   aliased node rather than copying it, so composing the file did not expand it either.
    static func isWithinNodeLimit(_ root: Node) -> Bool {
        var pending = [root]
        var count = 0
        while let node = pending.popLast() {
            count += 1
            if count > maximumNodes { return false }
            switch node {
            case .scalar, .alias: break
            case let .sequence(sequence): pending.append(contentsOf: sequence)
            case let .mapping(mapping):
                for (key, value) in mapping { pending.append(key); pending.append(value) }
            }
        }
        return true
    }

    /// The first text holding a NUL character (a `"\\0"` escape), if any: SQLite would
    /// store it cut short and PostgreSQL refuses it, so a sweep file with one is refused before
    /// anything is written. Walks at most `maximumNodes` nodes (check `isWithinNodeLimit` first).
    static func firstNULText(in root: Node) -> Node.Scalar? {
        var pending = [root]
        while let node = pending.popLast() {
            switch node {
            case let .scalar(scalar):
                if scalar.string.unicodeScalars.contains("\u{0}") { return scalar }
            case .alias: break
            case let .sequence(sequence): pending.append(contentsOf: sequence)
            case let .mapping(mapping):
                for (key, value) in mapping { pending.append(key); pending.append(value) }
            }
        }
        return nil
    }

    /// Where an alias (`*name`) is used as a mapping key, if anywhere: Yams hashes every key to find
    /// duplicates, and hashing an alias of a nested-alias list walks all of its expansion, so such a
    /// file is refused before it is composed. Only files that define an anchor (`&`) are looked at.
    static func aliasUsedAsKey(in yaml: String) -> (line: Int, column: Int)? {
        guard yaml.contains("&"), yaml.contains("*") else { return nil }
        // `*a: x`, `- *a : x`, `{*a: x}`, `? *a` (the start of an explicit key).
        let pattern = #"(^|[\s,{\[-])\*[^\s,\[\]{}]+\s*:(\s|$|[,}])|(^|\s)\?\s+\*"#
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines]) else { return nil }
        var lineNumber = 0
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let text = String(line)
            guard text.contains("*") else { continue }
            if let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
               let range = Range(match.range, in: text) {
                let star = text[range].firstIndex(of: "*") ?? range.lowerBound
                return (lineNumber, text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: star) + 1)
            }
        }
        return nil
    }

    /// A Yams error as its location (line and column from 1) and a one-line reason. The error's
    /// own description holds the whole file and a snippet over several lines: never shown.
    static func describe(_ error: YamlError) -> (location: Mark?, reason: String) {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            let reason = oneLine(problem)
            guard let context else { return (mark, reason) }
            return (mark, "\(reason) (\(oneLine(context.text)) at line \(context.mark.line), column \(context.mark.column))")
        case let .duplicatedKeysInMapping(duplicates, context):
            let key = duplicates.first.map { "'\(CSVTable.shown($0))'" } ?? "a key"
            return (context.mark, "\(key) appears twice in one mapping; give each key once")
        case let .reader(problem, _, _, _):
            return (nil, oneLine(problem))
        case .memory:
            return (nil, "out of memory")
        default:
            return (nil, oneLine("\(error)"))
        }
    }

    /// `mark`, or the end of the last line when libyaml puts the end of the text on the line after
    /// it (a file without a final newline).
    static func clamped(_ mark: Mark, in yaml: String) -> (line: Int, column: Int) {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line > lines.count, let last = lines.last else { return (mark.line, mark.column) }
        return (lines.count, last.unicodeScalars.count + 1)
    }

    /// The first line of a Yams text, at most 200 characters.
    private static func oneLine(_ text: String) -> String {
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        return line.count <= 200 ? line : String(line.prefix(200)) + "..."
    }
}
