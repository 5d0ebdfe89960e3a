/// A recursive-descent parser for the door's PromQL subset. Every refusal
/// says where (`1:12`, line and column as Prometheus counts them) and what
/// was expected, so a person typing into Grafana sees what to fix.
///
///     expr    := sum ;  sum := product (("+"|"-") product)*
///     product := unary (("*"|"/"|"%") unary)*
///     unary   := ("-"|"+") unary | power ;  power := primary ("^" unary)?
///     primary := number | "(" expr ")" | aggregation | function | selector
public struct PromParser {
    /// Longer queries are not typed by a person or sent by Grafana.
    public static let maxQueryBytes = 4096
    /// Deeper nesting is refused before it can exhaust the stack.
    public static let maxDepth = 64

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    private let text: [UInt8]
    private var position = 0
    private var depth = 0

    public static func parse(_ query: String) throws(ParseError) -> PromExpression {
        var parser = PromParser(text: Array(query.utf8))
        guard parser.text.count <= maxQueryBytes else {
            throw ParseError(message: "the query is longer than \(maxQueryBytes) bytes")
        }
        let expression = try parser.expression()
        parser.skipSpace()
        guard parser.position == parser.text.count else { throw parser.error("unexpected \(parser.describeNext())") }
        return expression
    }

    private init(text: [UInt8]) {
        self.text = text
    }

    // MARK: - Grammar

    private mutating func expression() throws(ParseError) -> PromExpression {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw error("the query nests deeper than \(Self.maxDepth) levels") }
        var left = try product()
        while let op = consumeOperator([.add, .subtract]) {
            left = .binary(op, left, try product())
        }
        return left
    }

    private mutating func product() throws(ParseError) -> PromExpression {
        var left = try unary()
        while let op = consumeOperator([.multiply, .divide, .modulo]) {
            left = .binary(op, left, try unary())
        }
        return left
    }

    private mutating func unary() throws(ParseError) -> PromExpression {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw error("the query nests deeper than \(Self.maxDepth) levels") }
        if consume("-") {
            let operand = try unary()
            if case .number(let value) = operand { return .number(-value) }
            return .negation(operand)
        }
        if consume("+") { return try unary() }
        let base = try primary()
        if consumeOperator([.power]) != nil { return .binary(.power, base, try unary()) }
        return base
    }

    private mutating func primary() throws(ParseError) -> PromExpression {
        skipSpace()
        guard let byte = peek else { throw error("unexpected end of the query; expected a number, a metric or a function") }
        if byte == UInt8(ascii: "(") {
            position += 1
            let inner = try expression()
            try expect(")", "a closing parenthesis")
            return inner
        }
        if let number = try numberLiteral() { return .number(number) }
        if byte == UInt8(ascii: "{") { return try plainSelector(name: nil) }
        guard Self.isIdentifierStart(byte) else { throw error("unexpected \(describeNext()); expected a number, a metric or a function") }
        let start = position
        let name = identifier()
        switch name.lowercased() {
        case "inf": return .number(.infinity)
        case "nan": return .number(.nan)
        default: break
        }
        if let aggregation = PromAggregation(rawValue: name) {
            return try self.aggregation(aggregation)
        }
        if let function = PromRangeFunction(rawValue: name) {
            return try rangeFunction(function)
        }
        skipSpace()
        if peek == UInt8(ascii: "(") {
            position = start
            throw error("function \(JSONText.quoted(name)) is not supported; functions: \(PromRangeFunction.allCases.map(\.rawValue).joined(separator: ", ")); aggregations: \(PromAggregation.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return try plainSelector(name: name)
    }

    /// A selector standing alone; a range after it belongs inside a function.
    private mutating func plainSelector(name: String?) throws(ParseError) -> PromExpression {
        let selector = try self.selector(name: name)
        skipSpace()
        if peek == UInt8(ascii: "[") {
            throw error("a range selector needs a function around it, such as avg_over_time(…[5m]) or rate(…[5m])")
        }
        return .selector(selector)
    }

    /// `sum by (device) (expr)`, `sum (expr) by (device)`, or `without`.
    private mutating func aggregation(_ aggregation: PromAggregation) throws(ParseError) -> PromExpression {
        var grouping = try groupingClause() ?? .all
        try expect("(", "\"(\" after \(aggregation.rawValue)")
        let inner = try expression()
        try expect(")", "a closing parenthesis")
        if let after = try groupingClause() {
            guard case .all = grouping else { throw error("by or without, once") }
            grouping = after
        }
        return .aggregation(aggregation, grouping: grouping, inner)
    }

    private mutating func groupingClause() throws(ParseError) -> PromGrouping? {
        skipSpace()
        let start = position
        guard let byte = peek, Self.isIdentifierStart(byte) else { return nil }
        let word = identifier()
        guard word == "by" || word == "without" else {
            position = start
            return nil
        }
        try expect("(", "\"(\" after \(word)")
        var labels: [String] = []
        skipSpace()
        while peek != UInt8(ascii: ")") {
            skipSpace()
            guard let next = peek, Self.isIdentifierStart(next) else { throw error("expected a label name, got \(describeNext())") }
            labels.append(identifier())
            skipSpace()
            if !consume(",") { break }
            skipSpace()
        }
        try expect(")", "\")\" after the label names")
        return word == "by" ? .by(labels) : .without(labels)
    }

    private mutating func rangeFunction(_ function: PromRangeFunction) throws(ParseError) -> PromExpression {
        try expect("(", "\"(\" after \(function.rawValue)")
        skipSpace()
        var name: String?
        if let byte = peek, Self.isIdentifierStart(byte) { name = identifier() }
        let selector = try self.selector(name: name)
        try expect("[", "a range such as [5m]: \(function.rawValue) takes a range selector")
        skipSpace()
        let durationStart = position
        while let byte = peek, byte != UInt8(ascii: "]") { position += 1; _ = byte }
        let durationText = String(decoding: text[durationStart..<position], as: UTF8.self).trimmingSpaces()
        guard let range = PromTime.duration(durationText), range > 0 else {
            position = durationStart
            throw error("\(JSONText.quoted(durationText)) is not a duration such as 30s, 5m, 1h or 1d")
        }
        try expect("]", "\"]\"")
        try expect(")", "a closing parenthesis")
        return .rangeFunction(function, selector, rangeMs: range)
    }

    /// `name`, `name{…}` or `{…}`; a selector must name at least one thing.
    private mutating func selector(name: String?) throws(ParseError) -> PromSelector {
        var matchers: [PromMatcher] = name.map { [PromMatcher(label: "__name__", kind: .equal, value: $0)] } ?? []
        skipSpace()
        if consume("{") {
            skipSpace()
            while peek != UInt8(ascii: "}") {
                matchers.append(try matcher())
                skipSpace()
                if !consume(",") { break }
                skipSpace()
            }
            try expect("}", "\"}\" or another label matcher")
        }
        guard !matchers.isEmpty else { throw error("expected a metric name or label matchers") }
        guard matchers.contains(where: { !$0.matchesEmpty }) else {
            throw error("a selector needs at least one matcher that does not match the empty string")
        }
        return PromSelector(matchers: matchers)
    }

    private mutating func matcher() throws(ParseError) -> PromMatcher {
        guard let byte = peek, Self.isIdentifierStart(byte) else { throw error("expected a label name, got \(describeNext())") }
        let label = identifier()
        skipSpace()
        let kind: PromMatcher.Kind
        if consume("=~") { kind = .matches }
        else if consume("!~") { kind = .notMatches }
        else if consume("!=") { kind = .notEqual }
        else if consume("=") { kind = .equal }
        else { throw error("expected =, !=, =~ or !~ after \(JSONText.quoted(label))") }
        skipSpace()
        let value = try stringLiteral()
        if kind == .matches || kind == .notMatches, PromMatcher.regex(value) == nil {
            throw error("\(JSONText.quoted(value)) is not a valid regular expression")
        }
        return PromMatcher(label: label, kind: kind, value: value)
    }

    // MARK: - Tokens

    private var peek: UInt8? { position < text.count ? text[position] : nil }

    private mutating func skipSpace() {
        while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
    }

    private mutating func consume(_ token: StaticString) -> Bool {
        skipSpace()
        let bytes = UnsafeBufferPointer(start: token.utf8Start, count: token.utf8CodeUnitCount)
        guard position + bytes.count <= text.count, text[position..<position + bytes.count].elementsEqual(bytes) else { return false }
        position += bytes.count
        return true
    }

    private mutating func expect(_ token: StaticString, _ what: String) throws(ParseError) {
        guard consume(token) else { throw error("expected \(what), got \(describeNext())") }
    }

    private mutating func consumeOperator(_ operators: [PromBinaryOperator]) -> PromBinaryOperator? {
        skipSpace()
        guard let byte = peek else { return nil }
        for op in operators where op.rawValue.utf8.first == byte {
            position += 1
            return op
        }
        return nil
    }

    /// A name; after its first character it may hold Telehub's `.` too
    /// (`env.a.count` reads as `env_a_count`), never `-`, which subtracts.
    private mutating func identifier() -> String {
        let start = position
        while let byte = peek,
            Self.isIdentifierStart(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || (byte == UInt8(ascii: ".") && position > start)
        {
            position += 1
        }
        return String(decoding: text[start..<position], as: UTF8.self)
    }

    /// Letters, `_` and `:` start a name; Telehub's own `.` and `-` are exposed as `_`.
    static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z")) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: ":")
    }

    /// A decimal or hexadecimal number with an optional exponent; nil when the next token is not one.
    private mutating func numberLiteral() throws(ParseError) -> Double? {
        guard let byte = peek, (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".") else { return nil }
        let start = position
        while let next = peek, Self.isNumberByte(next, after: position > start ? text[position - 1] : 0) { position += 1 }
        let literal = String(decoding: text[start..<position], as: UTF8.self)
        if literal.hasPrefix("0x") || literal.hasPrefix("0X"), let value = Int64(literal.dropFirst(2), radix: 16) {
            return Double(value)
        }
        guard let value = Double(literal), !literal.contains(where: { $0 == "x" || $0 == "X" }) else {
            position = start
            throw error("\(JSONText.quoted(literal)) is not a number")
        }
        return value
    }

    private static func isNumberByte(_ byte: UInt8, after previous: UInt8) -> Bool {
        let lower = byte | 0x20
        if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") || byte == UInt8(ascii: ".") { return true }
        if lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "f") || lower == UInt8(ascii: "x") { return true }
        // A sign only right after an exponent's e.
        return (byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")) && previous | 0x20 == UInt8(ascii: "e")
    }

    /// `"…"`, `'…'` with Go's escapes, or a raw `` `…` ``.
    private mutating func stringLiteral() throws(ParseError) -> String {
        guard let quote = peek, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") || quote == UInt8(ascii: "`") else {
            throw error("expected a quoted string, got \(describeNext())")
        }
        let start = position
        position += 1
        var bytes: [UInt8] = []
        while let byte = peek {
            position += 1
            if byte == quote { return String(decoding: bytes, as: UTF8.self) }
            if byte == UInt8(ascii: "\\"), quote != UInt8(ascii: "`"), let escaped = peek {
                position += 1
                switch escaped {
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                default: bytes.append(escaped)
                }
                continue
            }
            bytes.append(byte)
        }
        position = start
        throw error("a string without its closing quote")
    }

    // MARK: - Errors

    private func error(_ message: String) -> ParseError {
        var line = 1
        var column = 1
        for byte in text[..<min(position, text.count)] {
            if byte == 0x0A { line += 1; column = 1 } else { column += 1 }
        }
        return ParseError(message: "\(line):\(column): parse error: \(message)")
    }

    private func describeNext() -> String {
        guard position < text.count else { return "the end of the query" }
        let rest = String(decoding: text[position...].prefix(12), as: UTF8.self)
        return JSONText.quoted(rest)
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
