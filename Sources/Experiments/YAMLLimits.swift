// Guards around Yams for sweep files: a bound on the nodes a file expands to (aliases make a
// few hundred bytes expand to billions of values), and Yams' errors as one line with a location.
import Foundation
import Store
import Yams

enum YAMLLimits {
    /// Nodes (scalars, lists, mappings, keys included) a sweep file may expand to once aliases are
    /// followed. A 100,000-run sweep file is far smaller; counting stops at the limit.
    static let maximumNodes = 100_000

    /// libyaml's nesting limit (`MAX_NESTING_LEVEL` in Yams' parser.c), said when a file goes deeper.
    static let maximumNesting = 1000

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
    /// anything is written.
    static func firstNULText(in root: Node) -> Node.Scalar? {
        firstScalar(in: root) { scalar, _ in scalar.string.unicodeScalars.contains("\u{0}") }
    }

    /// The first merge key (`<<: *base`, YAML 1.1's way to copy an anchored mapping's entries), if any:
    /// Slope reads sweep files as YAML 1.2, which has none, so it would be an unknown setting `<<`
    /// (with a "did you mean 'rho'?").
    static func firstMergeKey(in root: Node) -> Node.Scalar? {
        firstScalar(in: root) { scalar, isKey in isKey && scalar.string == "<<" && scalar.style == .plain }
    }

    /// The first scalar (a mapping key when `isKey`) that `matches`. Walks at most `maximumNodes`
    /// nodes (check `isWithinNodeLimit` first).
    private static func firstScalar(in root: Node, where matches: (Node.Scalar, _ isKey: Bool) -> Bool) -> Node.Scalar? {
        var pending = [(node: root, isKey: false)]
        while let (node, isKey) = pending.popLast() {
            switch node {
            case let .scalar(scalar):
                if matches(scalar, isKey) { return scalar }
            case .alias: break
            case let .sequence(sequence): pending.append(contentsOf: sequence.map { (node: $0, isKey: false) })
            case let .mapping(mapping):
                for (key, value) in mapping { pending.append((node: key, isKey: true)); pending.append((node: value, isKey: false)) }
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

    /// A Yams error on `yaml` as its location (line and column from 1, within the text) and a
    /// one-line reason. The error's own description holds the whole file and a snippet over
    /// several lines: never shown.
    static func describe(_ error: YamlError, in yaml: String) -> (location: (line: Int, column: Int)?, reason: String) {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            // libyaml's own words name the C function that raises its limit (and end in "())").
            if problem.hasPrefix("Maximum nesting level reached") {
                return (clamped(mark, in: yaml), "nested deeper than \(maximumNesting) levels (lists and mappings inside each other); a sweep file needs a few")
            }
            let reason = oneLine(problem)
            guard let context else { return (clamped(mark, in: yaml), reason) }
            return (clamped(mark, in: yaml), "\(reason) (\(oneLine(context.text)) at line \(context.mark.line), column \(context.mark.column))")
        case let .duplicatedKeysInMapping(duplicates, context):
            // Yams marks the key's first occurrence; the error is where it is given again.
            guard let key = duplicates.first else {
                return (clamped(context.mark, in: yaml), "a key appears twice in one mapping; give each key once")
            }
            let shown = "'\(shownText(key))'"
            let first = clamped(context.mark, in: yaml)
            guard let again = repetition(of: key, after: first, in: yaml) else {
                return (first, "\(shown) is given here and again later in the same mapping; give each key once")
            }
            return (again, "\(shown) appears twice in one mapping (first at line \(first.line)); give each key once")
        case let .reader(problem, _, _, _):
            return (nil, oneLine(problem))
        case .memory:
            return (nil, "out of memory")
        default:
            return (nil, oneLine("\(error)"))
        }
    }

    /// Where `key`, first given at `first` as a key of a block mapping, is given again in that
    /// mapping: the next line whose text starts at the same column with the key (plain or quoted)
    /// and a colon, before a line that starts further left ends the mapping. Nil when not found
    /// that way (a flow mapping, `{a: 1, a: 2}`, or a key written over several lines).
    static func repetition(of key: String, after first: (line: Int, column: Int),
                           in yaml: String) -> (line: Int, column: Int)? {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard first.line >= 1, first.line < lines.count else { return nil }
        let spellings = [key, "\"\(key)\"", "'\(key)'"]
        for index in first.line..<lines.count {
            let scalars = Array(lines[index].unicodeScalars)
            let column = scalars.prefix(while: { $0 == " " }).count  // from 0
            guard column < scalars.count, scalars[column] != "#", scalars[column] != "\r" else { continue }  // blank or comment
            if column + 1 < first.column { return nil }  // the mapping has ended (or a sequence item left of it)
            guard column + 1 == first.column else { continue }  // deeper: a value's own lines
            var rest = String(String.UnicodeScalarView(scalars[column...]))
            if rest.hasSuffix("\r") { rest.removeLast() }
            for spelling in spellings where rest.hasPrefix(spelling) {
                let after = rest.dropFirst(spelling.count).drop { $0 == " " || $0 == "\t" }
                if after.first == ":" { return (index + 1, first.column) }
            }
        }
        return nil
    }

    /// `mark`, or the end of the last line when libyaml puts the end of the text on the line after
    /// it (a file without a final newline).
    static func clamped(_ mark: Mark, in yaml: String) -> (line: Int, column: Int) {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line > lines.count, let last = lines.last else { return (mark.line, mark.column) }
        return (lines.count, last.unicodeScalars.count + 1)
    }

    /// The first line of a Yams text (which may quote the file's text), at most 200 characters,
    /// control and bidi characters shown as escapes (`shownText`).
    private static func oneLine(_ text: String) -> String { shownText(text.split(separator: "\n").first ?? "", limit: 200) }
}
