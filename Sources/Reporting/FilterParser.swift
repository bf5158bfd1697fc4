// The `--where` expression language: tokenizer and recursive-descent parser producing
// Store's `RunFilter`, checked against the `RunColumn` whitelist and the columns' types.
//
//   expression := or
//   or         := and ("or" and)*
//   and        := unary ("and" unary)*
//   unary      := "not" unary | primary
//   primary    := "(" expression ")" | NAME comparison
//   comparison := OP literal | ["not"] "in" "(" literal ("," literal)* ")" | ["not"] "like" STRING
//               | "is" ["not"] "null"
//   literal    := NUMBER | STRING ('' inside quotes is one ') | true | false (true/false columns)
//   NUMBER     := finite, in decimal as the flags take it (Store's DecimalNumber): not 0x10, 1_000, inf
//
// SQLite's parser has a fixed stack (a chain of 91 nested ORs or 23 NOTs overflowed it), so the
// filter handed to Store is kept shallow: a chain of `and`s or `or`s becomes a balanced tree
// (depth log2 of its terms) and `not not x` is `x`. What is still too deep or too long is refused
// with the limit named.
import Store

public enum RunFilterParser {
    /// Comparisons and listed values in one expression, at most (SQLite binds each as an argument).
    public static let maximumTerms = 10_000
    /// Nesting of and/or/not in the filter after balancing (a chain of n terms counts log2 n):
    /// the deepest the SQL may be for SQLite's parser stack (tested at this limit).
    public static let maximumDepth = 20
    /// Parentheses nested in the text, at most (the parser recurses once per level).
    public static let maximumParentheses = 100

    /// Parses `text` into a filter.
    /// - Throws: `ReportError.invalidExpression` or `.unknownColumn` naming the problem.
    public static func parse(_ text: String) throws -> RunFilter {
        var parser = Parser(tokens: try tokenize(text), source: text)
        let filter = try parser.expression()
        if let extra = parser.peek {
            // `learning_rate = 0,3`: a decimal comma (hostile16 F3), said with the number written with a point.
            if extra == .symbol(","), let typed = decimalComma(in: text, commaIndex: parser.tokens[..<parser.position].filter { $0 == .symbol(",") }.count) {
                throw ReportError.invalidExpression(text, reason: "unexpected ',' after a complete expression: '\(typed)' is not a number, "
                    + "a decimal is written with a point (\(typed.replacingOccurrences(of: ",", with: ".")))")
            }
            throw ReportError.invalidExpression(text, reason: "unexpected \(extra.description) after a complete expression")
        }
        if parser.termCount > maximumTerms {
            throw ReportError.invalidExpression(text, reason: "\(parser.termCount) terms (comparisons and listed values); "
                + "at most \(maximumTerms): split the query, or use ranges such as id >= 10 and id <= 90")
        }
        let depth = nestingDepth(filter)
        if depth > maximumDepth {
            throw ReportError.invalidExpression(text, reason: "and/or/not nest \(depth) levels deep (a chain of n terms counts "
                + "log2 n); at most \(maximumDepth): remove parentheses or use in (...) for a list of values")
        }
        return filter
    }

    /// Levels of and/or/not above the deepest comparison.
    static func nestingDepth(_ filter: RunFilter) -> Int {
        switch filter {
        case .comparison, .isIn, .like, .isNull: return 0
        case .and(let left, let right), .or(let left, let right): return 1 + max(nestingDepth(left), nestingDepth(right))
        case .not(let inner): return 1 + nestingDepth(inner)
        }
    }

    /// `filters` joined by `join` as a balanced tree: depth ceil(log2 n), not n.
    static func balanced(_ filters: ArraySlice<RunFilter>, _ join: (RunFilter, RunFilter) -> RunFilter) -> RunFilter {
        if filters.count == 1 { return filters[filters.startIndex] }
        let middle = filters.startIndex + filters.count / 2
        return join(balanced(filters[..<middle], join), balanced(filters[middle...], join))
    }

    /// The terms of an `or`, with the equalities and `in` lists of one column merged into one `in`
    /// (at the place of the first): `id = 1 or id = 2` is `id in (1, 2)`, true and NULL alike. SQLite
    /// plans a long `in` list in linear time, and a long chain of ORs in quadratic time.
    static func mergingEqualities(_ terms: [RunFilter]) -> [RunFilter] {
        var merged: [RunFilter?] = []  // nil: the place of a column's merged list
        var lists: [RunColumn: (index: Int, values: [FilterValue], isOneEquality: Bool)] = [:]
        for term in terms {
            let column: RunColumn, values: [FilterValue]
            switch term {
            case .comparison(let c, .equal, let value): (column, values) = (c, [value])
            case .isIn(let c, let list): (column, values) = (c, list)
            default:
                merged.append(term)
                continue
            }
            if lists[column] != nil {
                lists[column]!.values.append(contentsOf: values)
                lists[column]!.isOneEquality = false
            } else {
                lists[column] = (merged.count, values, values.count == 1 && term != .isIn(column, values))
                merged.append(nil)
            }
        }
        var result = merged
        for (column, list) in lists {  // a lone equality stays as written
            result[list.index] = list.isOneEquality ? .comparison(column, .equal, list.values[0]) : .isIn(column, list.values)
        }
        return result.map { $0! }
    }

    /// `not filter`, with `not not x` as `x`: every `not` treats a missing value as false first
    /// (`NOT coalesce(x, 0)`), and so does the WHERE clause, so the two are the same filter.
    static func negated(_ filter: RunFilter) -> RunFilter {
        if case .not(let inner) = filter { return inner }
        return .not(filter)
    }

    /// Parses a `--sort` argument: a column name, `-` prefix for descending.
    public static func parseSort(_ text: String) throws -> RunSort {
        let descending = text.hasPrefix("-")
        let name = descending ? String(text.dropFirst()) : text
        return RunSort(column: try column(named: name), descending: descending)
    }

    /// The whitelisted column called `name` (case-insensitive).
    public static func column(named name: String) throws -> RunColumn {
        let lowered = name.lowercased()
        if let column = RunColumn(rawValue: lowered) ?? RunColumn.setting(named: lowered) ?? headerAliases[lowered] { return column }
        throw ReportError.unknownColumn(name, valid: RunColumn.validNames)
    }

    /// The short titles `report runs` and `compare` print over their columns, as names too.
    static let headerAliases: [String: RunColumn] = [
        "run_id": .id, "sweep": .sweep_id, "lr": .learning_rate, "batch": .batch_size, "mom": .momentum,
        "train_loss": .final_train_loss, "val_loss": .final_val_loss, "best_train": .best_train_loss,
        "best_val": .best_val_loss, "best_ep": .best_epoch, "val_acc": .final_val_accuracy,
        "train_acc": .final_train_accuracy, "done": .epochs_done,
    ]

    enum Token: Equatable, CustomStringConvertible {
        case name(String), number(Double), integer(Int64), text(String), symbol(String)
        var description: String {
            switch self {
            case .name(let n): return "'\(n)'"
            case .number(let n): return "number \(n)"
            case .integer(let n): return "number \(n)"
            case .text(let t): return "string '\(t)'"
            case .symbol(let s): return "'\(s)'"
            }
        }
        func isKeyword(_ word: String) -> Bool {
            if case .name(let n) = self { return n.lowercased() == word }
            return false
        }
    }

    static func tokenize(_ text: String) throws -> [Token] {
        var tokens: [Token] = []
        let characters = Array(text)
        var index = 0
        func fail(_ reason: String) -> ReportError { .invalidExpression(text, reason: reason) }
        while index < characters.count {
            let character = characters[index]
            if character.isWhitespace { index += 1; continue }
            if character == "'" {
                var value = ""
                index += 1
                var closed = false
                while index < characters.count {
                    if characters[index] == "'" {
                        if index + 1 < characters.count, characters[index + 1] == "'" {
                            value.append("'"); index += 2; continue
                        }
                        closed = true; index += 1; break
                    }
                    value.append(characters[index]); index += 1
                }
                if !closed { throw fail("unterminated string (close it with ', write '' for a quote inside)") }
                tokens.append(.text(value))
            } else if character.isNumber || character == "." ||
                        ((character == "-" || character == "+") && index + 1 < characters.count &&
                         (characters[index + 1].isNumber || characters[index + 1] == "." || characters[index + 1].isLetter)
                         && !lastIsOperand(tokens)) {
                // The whole word, letters and `_` too, is the number: `0x10` and `1_000` are refused as
                // the flags refuse them, not read as 0 followed by `x10`.
                var literal = String(character)
                index += 1
                while index < characters.count {
                    let c = characters[index]
                    if c.isNumber || c.isLetter || c == "." || c == "_" ||
                        ((c == "-" || c == "+") && (literal.last == "e" || literal.last == "E")) {
                        literal.append(c); index += 1
                    } else { break }
                }
                tokens.append(try number(literal, in: text))
            } else if character.isLetter || character == "_" {
                var name = ""
                while index < characters.count, characters[index].isLetter || characters[index].isNumber || characters[index] == "_" {
                    name.append(characters[index]); index += 1
                }
                tokens.append(.name(name))
            } else {
                let two = index + 1 < characters.count ? String(characters[index...index + 1]) : ""
                if ["<=", ">=", "!=", "<>", "=="].contains(two) {
                    tokens.append(.symbol(two == "<>" ? "!=" : two == "==" ? "=" : two)); index += 2
                } else if "=<>(),".contains(character) {
                    tokens.append(.symbol(String(character))); index += 1
                } else {
                    throw fail("unexpected character \(shownText(String(character), quote: "'")); use = != < <= > >= in like and or not, parentheses, numbers and 'quoted strings'")
                }
            }
        }
        return tokens
    }

    /// The token of a number written in `text` (`--where`), read as the flags read numbers
    /// (`DecimalNumber`): in decimal, and finite.
    static func number(_ literal: String, in text: String) throws -> Token {
        guard let value = DecimalNumber.value(of: literal) else {
            throw ReportError.invalidExpression(text, reason: "'\(literal)' is not a number: write numbers in decimal, "
                + "e.g. 16, -0.5, .5 or 1e-4 (no hexadecimal, no _ between digits)")
        }
        guard value.isFinite else { throw notFinite(literal, in: text) }
        // 1e-400 is 0 as a Double: `x > 1e-400` would quietly be `x > 0` (as a sweep file's number, refused).
        if DecimalNumber.roundsToZero(literal) {
            throw ReportError.invalidExpression(text, reason: "'\(literal)' rounds to 0 as a 64-bit float: write 0, or a number "
                + "of at least 5e-324 in size (the smallest above 0)")
        }
        if let whole = Int64(literal) { return .integer(whole) }  // exact: 9223372036854775807 is not a Double
        return .number(value)
    }

    /// The refusal of `inf`, `nan` or a number beyond a Double's range (`1e999`).
    static func notFinite(_ literal: String, in text: String) -> ReportError {
        .invalidExpression(text, reason: "'\(literal)' is not a finite number: write a decimal number of at most 1.7e308 "
            + "in size, e.g. 1e300 (and 'is null' for a missing value)")
    }

    private static func lastIsOperand(_ tokens: [Token]) -> Bool {
        switch tokens.last {
        case .number?, .integer?, .text?: return true
        case .name(let n)?: return !["and", "or", "not", "in", "like", "is"].contains(n.lowercased())
        case .symbol(let s)?: return s == ")"
        case nil: return false
        }
    }

    /// The digits around the `commaIndex`-th comma (from 0) of `text` outside quoted strings, when
    /// that comma sits between two numbers as a decimal comma does (`0,3`; not `(16, 64)`), else nil.
    static func decimalComma(in text: String, commaIndex: Int) -> String? {
        let characters = Array(text)
        var quoted = false, seen = 0
        for (index, character) in characters.enumerated() {
            if character == "'" { quoted.toggle(); continue }
            guard character == ",", !quoted else { continue }
            defer { seen += 1 }
            guard seen == commaIndex else { continue }
            var start = index, end = index + 1
            while start > 0 && characters[start - 1].isASCII && characters[start - 1].isNumber { start -= 1 }
            while end < characters.count && characters[end].isASCII && characters[end].isNumber { end += 1 }
            let before = start > 0 ? characters[start - 1] : " ", after = end < characters.count ? characters[end] : " "
            guard start < index, end > index + 1, !(before.isLetter || before == "_" || before == "."),
                  !(after.isLetter || after == "_" || after == ".") else { return nil }
            return String(characters[start..<end])
        }
        return nil
    }

    struct Parser {
        var tokens: [Token]
        var position = 0
        let source: String

        /// Comparisons and listed values so far.
        var termCount = 0
        /// Parentheses open at the current position.
        var parenthesisDepth = 0

        var peek: Token? { position < tokens.count ? tokens[position] : nil }

        mutating func advance() -> Token? {
            defer { position += 1 }
            return peek
        }

        func fail(_ reason: String) -> ReportError { .invalidExpression(source, reason: reason) }

        mutating func expect(_ symbol: String) throws {
            guard let token = advance() else { throw fail("expected '\(symbol)' but the expression ended") }
            guard token == .symbol(symbol) else { throw fail("expected '\(symbol)', found \(token.description)") }
        }

        mutating func expression() throws -> RunFilter {
            var terms = [try conjunction()]
            while peek?.isKeyword("or") == true {
                position += 1
                terms.append(try conjunction())
            }
            return RunFilterParser.balanced(RunFilterParser.mergingEqualities(terms)[...], RunFilter.or)
        }

        mutating func conjunction() throws -> RunFilter {
            var terms = [try unary()]
            while peek?.isKeyword("and") == true {
                position += 1
                terms.append(try unary())
            }
            return RunFilterParser.balanced(terms[...], RunFilter.and)
        }

        mutating func unary() throws -> RunFilter {
            var negations = 0  // counted, not recursed: a long run of nots is no deeper than one
            while peek?.isKeyword("not") == true {
                position += 1
                negations += 1
            }
            let operand = try primary()
            return negations % 2 == 0 ? operand : RunFilterParser.negated(operand)
        }

        mutating func primary() throws -> RunFilter {
            guard let token = advance() else { throw fail("expected a column name but the expression ended") }
            switch token {
            case .symbol("("):
                parenthesisDepth += 1
                guard parenthesisDepth <= RunFilterParser.maximumParentheses else {
                    throw fail("parentheses nest more than \(RunFilterParser.maximumParentheses) deep; at most \(RunFilterParser.maximumParentheses)")
                }
                let inner = try expression()
                try expect(")")
                parenthesisDepth -= 1
                return inner
            case .name(let name):
                if ["and", "or", "not", "in", "like", "is", "null"].contains(name.lowercased()) {
                    throw fail("expected a column name, found keyword '\(name)'")
                }
                return try comparison(on: try RunFilterParser.column(named: name))
            default:
                throw fail("expected a column name, found \(token.description)")
            }
        }

        mutating func comparison(on column: RunColumn) throws -> RunFilter {
            guard let token = advance() else {
                throw fail("expected an operator after '\(column.rawValue)' but the expression ended")
            }
            if token.isKeyword("not") {
                guard let next = peek, next.isKeyword("in") || next.isKeyword("like") else {
                    throw fail("expected 'in' or 'like' after 'not'")
                }
                // Like any comparison, false for a missing value (as `!=`), not true as `not (...)` would be.
                return .and(.not(.isNull(column)), .not(try comparison(on: column)))
            }
            if token.isKeyword("is") {
                let negated = peek?.isKeyword("not") == true
                if negated { position += 1 }
                guard advance()?.isKeyword("null") == true else {
                    throw fail("expected 'null' after 'is\(negated ? " not" : "")' (write \(column.rawValue) is null or \(column.rawValue) is not null)")
                }
                termCount += 1
                return negated ? .not(.isNull(column)) : .isNull(column)
            }
            if token.isKeyword("in") {
                try expect("(")
                var values = [try literal(for: column)]
                while peek == .symbol(",") {
                    position += 1
                    values.append(try literal(for: column))
                }
                try expect(")")
                return .isIn(column, values)
            }
            if token.isKeyword("like") {
                guard case .text(let pattern)? = advance() else {
                    throw fail("'like' needs a quoted pattern, e.g. name like 'lr-%'")
                }
                guard column.valueKind == .text else {
                    throw fail("'like' works on text columns; \(column.rawValue) is numeric")
                }
                termCount += 1
                return .like(column, pattern: pattern)
            }
            guard case .symbol(let symbol) = token, let comparison = ComparisonOperator(rawValue: symbol) else {
                throw fail("expected =, !=, <, <=, >, >=, in, like or is after '\(column.rawValue)', found \(token.description)")
            }
            if peek?.isKeyword("null") == true {  // SQL's rule: a comparison with null matches nothing
                let test = comparison == .notEqual ? "is not null" : comparison == .equal ? "is null" : "is null or \(column.rawValue) is not null"
                throw fail("null is not compared with \(symbol): write \(column.rawValue) \(test)")
            }
            return .comparison(column, comparison, try literal(for: column))
        }

        mutating func literal(for column: RunColumn) throws -> FilterValue {
            termCount += 1  // each value is one bound argument
            guard let token = advance() else { throw fail("expected a value but the expression ended") }
            switch token {
            case .number(let value):
                guard column.isNumeric else {
                    throw fail("\(column.rawValue) is text: quote the value, e.g. \(column.rawValue) = '\(formatLiteral(value))'")
                }
                return .number(value)
            case .integer(let value):
                guard column.isNumeric else {
                    throw fail("\(column.rawValue) is text: quote the value, e.g. \(column.rawValue) = '\(value)'")
                }
                return .integer(value)
            case .name(let name) where column.valueKind == .boolean && ["true", "false"].contains(name.lowercased()):
                return .integer(name.lowercased() == "true" ? 1 : 0)  // stored as 1 and 0
            case .text where column.valueKind == .boolean, .name where column.valueKind == .boolean:
                throw fail("\(column.rawValue) is true or false: write \(column.rawValue) = true or \(column.rawValue) = false, without quotes")
            case .text(let value):
                guard !column.isNumeric else {
                    throw fail("\(column.rawValue) is a number: write the value without quotes")
                }
                return .text(value)
            case .name(let name) where column.isNumeric && DecimalNumber.value(of: name) != nil:  // inf, nan
                throw RunFilterParser.notFinite(name, in: source)
            case .name(let name):
                throw fail("expected a number or a 'quoted string', found \(name) (quote text values: '\(name)')")
            case .symbol:
                throw fail("expected a number or a 'quoted string', found \(token.description)")
            }
        }

        private func formatLiteral(_ value: Double) -> String {
            value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        }
    }
}
