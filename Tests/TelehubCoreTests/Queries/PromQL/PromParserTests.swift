import Testing
import TelehubCore

/// The door's PromQL subset: what parses into what, and where a refusal points.
@Suite struct PromParserTests {
    func selector(_ pairs: (String, PromMatcher.Kind, String)...) -> PromSelector {
        PromSelector(matchers: pairs.map { PromMatcher(label: $0.0, kind: $0.1, value: $0.2) })
    }

    @Test func arithmeticFollowsPrometheusPrecedence() throws {
        #expect(try PromParser.parse("1+1") == .binary(.add, .number(1), .number(1)))
        #expect(try PromParser.parse("2 * 3 + 4") == .binary(.add, .binary(.multiply, .number(2), .number(3)), .number(4)))
        #expect(try PromParser.parse("-2 ^ 2") == .negation(.binary(.power, .number(2), .number(2))))
        #expect(try PromParser.parse("2^3^2") == .binary(.power, .number(2), .binary(.power, .number(3), .number(2))))
        #expect(try PromParser.parse("(1 - 2) - 3") == .binary(.subtract, .binary(.subtract, .number(1), .number(2)), .number(3)))
        #expect(try PromParser.parse("1e3 + 0x10 + .5") == .binary(.add, .binary(.add, .number(1000), .number(16)), .number(0.5)))
    }

    @Test func selectorsTakeEveryMatcherAndQuoteStyle() throws {
        #expect(try PromParser.parse(#"temperature{device="a",device!='b',__name__=~"t.*",device!~`c|d`}"#) == .selector(selector(
            ("__name__", .equal, "temperature"), ("device", .equal, "a"), ("device", .notEqual, "b"), ("__name__", .matches, "t.*"),
            ("device", .notMatches, "c|d"))))
        #expect(try PromParser.parse("env.a.temp_c") == .selector(selector(("__name__", .equal, "env.a.temp_c"))))
        #expect(try PromParser.parse(#"{__name__="x"}"#) == .selector(selector(("__name__", .equal, "x"))))
    }

    @Test func rangeFunctionsAndAggregations() throws {
        let temperature = selector(("__name__", .equal, "temperature"))
        #expect(try PromParser.parse("avg_over_time(temperature[1h30m])") == .rangeFunction(.avgOverTime, temperature, rangeMs: 5_400_000))
        #expect(try PromParser.parse("sum by (device) (rate(temperature[5m]))")
            == .aggregation(.sum, grouping: .by(["device"]), .rangeFunction(.rate, temperature, rangeMs: 300_000)))
        #expect(try PromParser.parse("max(temperature) without (device)") == .aggregation(.max, grouping: .without(["device"]), .selector(temperature)))
        #expect(try PromParser.parse("count(temperature)") == .aggregation(.count, grouping: .all, .selector(temperature)))
    }

    @Test(arguments: [
        ("", "1:1: parse error: unexpected end"), ("1 +", "1:4: parse error: unexpected end"), ("foo(x)", "1:1: parse error: function \"foo\" is not supported"),
        ("x[5m]", "needs a function around it"), ("rate(x)", "1:7: parse error: expected a range"), ("rate(x[5q])", "is not a duration"),
        (#"x{device="a"#, "closing quote"), (#"{device=""}"#, "does not match the empty string"), (#"x{device=~"("}"#, "not a valid regular expression"),
        ("sum by device (x)", "expected \"(\" after by"), ("1 1", "1:3: parse error: unexpected \"1\""), ("x\n  + )", "2:5: parse error"),
    ])
    func refusalsSayWhereAndWhat(_ query: String, _ says: String) {
        do {
            let parsed = try PromParser.parse(query)
            Issue.record("accepted \(query): \(parsed)")
        } catch {
            #expect(error.message.contains(says), "\(error.message)")
        }
    }

    @Test func boundsHold() {
        #expect(throws: PromParser.ParseError.self) { try PromParser.parse(String(repeating: "(", count: 200) + "1" + String(repeating: ")", count: 200)) }
        #expect(throws: PromParser.ParseError.self) { try PromParser.parse(String(repeating: "-", count: 500) + "1") }
        #expect(throws: PromParser.ParseError.self) { try PromParser.parse("x" + String(repeating: " ", count: 5000)) }
    }

    /// Random text from the language's own alphabet: the parser never traps
    /// and a refusal always says where.
    @Test func randomQueriesParseOrSayWhere() {
        var random = SplitMix(seed: 25)
        let pieces = ["x", "sum", "rate", "(", ")", "[5m]", "{", "}", "device", "=", "=~", "!=", "\"a\"", ",", "+", "-", "*", "/", "^",
                      "1", "2.5", "by", "(device)", " ", "avg_over_time", "\n", "'", "`"]
        for _ in 0..<5000 {
            let query = (0..<Int.random(in: 0...14, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            do {
                _ = try PromParser.parse(query)
            } catch {
                #expect(error.message.contains(": parse error: ") || error.message.contains("longer than"), "\(query): \(error)")
            }
        }
    }
}

/// Regular expressions run on a backtracking engine: the shapes that take
/// exponential time are refused, the ones dashboards write are kept.
@Suite struct PromRegexTests {
    @Test(arguments: ["(a+)+$", "(a|aa)*b", "(x*)*", "(.*a){20}", #"(a)\\1"#, "((ab)+)+", "(?:a+)+"])
    func exponentialShapesAreRefused(_ pattern: String) {
        #expect(throws: PromParser.ParseError.self) { try PromParser.parse("x{device=~\"\(pattern)\"}") }
    }

    @Test(arguments: ["a|b|c", "room-.*", "(cellar|attic)", "dev-[0-9]+", "(?:ab)+", "[(+*]+", #"a\.b+"#, "(cellar|attic)-1"])
    func ordinaryShapesAreKept(_ pattern: String) throws {
        _ = try PromParser.parse("x{device=~\"\(pattern)\"}")
    }
}
