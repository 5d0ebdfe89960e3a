import Testing
@testable import TelehubCore

/// Line protocol as InfluxDB documents it ("Line protocol" reference: syntax,
/// data types, special characters), and the names and bounds of the
/// contract's InfluxDB door.
@Suite struct LineProtocolTests {
    func parse(_ text: String, precision: LineProtocol.Precision = .nanoseconds) throws(LineProtocol.ParseError) -> [Reading] {
        try LineProtocol.parse(Array(text.utf8), precision: precision, now: 42)
    }

    func metrics(_ text: String) throws -> [String: Double] {
        Dictionary(uniqueKeysWithValues: try parse(text).flatMap(\.metrics).map { ($0.name, $0.value) })
    }

    @Test func theDocumentedExampleBecomesOneReading() throws {
        let readings = try parse("weather,location=us-midwest temperature=82 1465839830100400200")
        #expect(readings == [Reading(ts: 1_465_839_830_100, metrics: [MetricValue(name: "weather.us-midwest.temperature", value: 82)])])
    }

    @Test func tagValuesGoBetweenInTagKeyOrder() throws {
        #expect(try metrics("cpu,host=a,cpu=cpu0 usage_idle=93,usage_user=2.5") == [
            "cpu.cpu0.a.usage_idle": 93, "cpu.cpu0.a.usage_user": 2.5,
        ])
        #expect(try metrics("cpu usage_idle=93") == ["cpu.usage_idle": 93])
    }

    @Test func everyNumericTypeIsKeptAndStringsAreSkipped() throws {
        #expect(try metrics(#"m f=1.5,e=-1.2e3,i=-3i,u=7u,t=t,T=TRUE,no=false,s="hello, world" 0"#) == [
            "m.f": 1.5, "m.e": -1200, "m.i": -3, "m.u": 7, "m.t": 1, "m.T": 1, "m.no": 0,
        ])
        #expect(try parse(#"m s="only a string""#) == [])
        #expect(try metrics("m big=18446744073709551615u,low=-9223372036854775808i") == ["m.big": 18_446_744_073_709_551_616, "m.low": -9_223_372_036_854_775_808])
    }

    @Test func escapesAreReadAndOddCharactersBecomeUnderscores() throws {
        #expect(try metrics(#"my\ measure,tag\ key=tag\,value field\=key=1"#) == ["my_measure.tag_value.field_key": 1])
        #expect(try metrics(#"m s="a \"quoted\" \\ thing, with = and spaces",v=2"#) == ["m.v": 2])
        #expect(try metrics("1m,room=Küche v=1") == ["_m.K__che.v": 1])
        #expect(try metrics("m,a=x=y v=1") == ["m.x_y.v": 1])
        // The prefix is mapped once a line; every field of the line keeps it, and only its own key is mapped.
        #expect(try metrics("1m,room=Küche v=1,w-x=2,ü=3,a\\ b=4") == [
            "_m.K__che.v": 1, "_m.K__che.w-x": 2, "_m.K__che.__": 3, "_m.K__che.a_b": 4,
        ])
        #expect(try parse("1m,room=Küche v=1\n1m,room=Küche v=5").flatMap { $0.metrics.map(\.name) } == ["_m.K__che.v", "_m.K__che.v"])
    }

    @Test func aNameLongerThan64IsRefusedWhicheverPartMakesItLong() throws {
        let long = String(repeating: "x", count: 60)
        for line in ["\(long)abcde v=1", "m,t=\(long)xx v=1", "m \(long)xxx=1", "m short=1,\(long)xxx=2"] {
            #expect(throws: LineProtocol.ParseError.self) { try parse(line) }
        }
        #expect(try metrics("m,t=\(long) v=1").keys.first?.count == 64)
    }

    @Test func blankLinesCommentsAndCRLFAreFine() throws {
        let readings = try parse("# a comment\n\n  \r\nm v=1 1000000\r\nm v=2 2000000\n")
        #expect(readings.map(\.ts) == [1, 2])
    }

    @Test func noTimestampMeansNow() throws {
        #expect(try parse("m v=1").map(\.ts) == [42])
    }

    @Test(arguments: [
        (LineProtocol.Precision.nanoseconds, Int64(1_500_000), Int64(1)), (.nanoseconds, -1, -1), (.microseconds, 2_999, 2),
        (.milliseconds, 1_700_000_000_123, 1_700_000_000_123), (.seconds, 1_700_000_000, 1_700_000_000_000), (.minutes, 2, 120_000),
        (.hours, 1, 3_600_000),
    ])
    func timestampsBecomeMilliseconds(_ precision: LineProtocol.Precision, _ given: Int64, _ ms: Int64) throws {
        #expect(try parse("m v=1 \(given)", precision: precision).map(\.ts) == [ms])
    }

    @Test func everyPrecisionNameOfBothVersionsIsKnown() {
        for name in ["n", "ns", "u", "us", "ms", "s", "m", "h"] { #expect(LineProtocol.Precision(name) != nil, "\(name)") }
        #expect(LineProtocol.Precision("d") == nil)
    }

    @Test(arguments: [
        ("m", "expected a space and fields"), ("m ", "empty field key"), ("m v", "has no value"), ("m v=abc", "not a number"),
        ("m v=1 12x", "timestamp"), ("m v=1 1 extra", "after the timestamp"), (#"m v="open"#, "closing quote"),
        ("m,t v=1", "has no value"), (",t=1 v=1", "empty measurement"), ("m v=nan", "not a number"), ("m v=1i2", "not a number"),
        ("m v=1 9223372036854775807", ""), ("m v=18446744073709551616u", "not a number"),
    ])
    func aBadLineIsNamedByNumber(_ line: String, _ says: String) {
        let body = "ok v=1\n# fine\n" + line
        do {
            let readings = try parse(body, precision: line.hasSuffix("9223372036854775807") ? .hours : .nanoseconds)
            Issue.record("accepted \(line): \(readings)")
        } catch {
            #expect(error.line == 3, "\(error)")
            #expect(error.message.contains(says), "\(error)")
            #expect(error.description.hasPrefix("line 3: "))
        }
    }

    @Test func aNameLongerThanTheRuleIsRefused() {
        #expect(throws: LineProtocol.ParseError.self) { try parse("m,t=\(String(repeating: "x", count: 61)) v=1") }
    }

    @Test func aRepeatedFieldKeepsItsLastValue() throws {
        #expect(try parse("m v=1,v=2") == [Reading(ts: 42, metrics: [MetricValue(name: "m.v", value: 2)])])
    }

    @Test func tagsSortByTheirUnescapedKeys() throws {
        #expect(try metrics(#"m,b=2,a\ z=1,a=0 v=1"#) == ["m.0.1.2.v": 1])
    }

    @Test func theHubsBoundsAreCheckedLineByLine() {
        let now: Int64 = 1_700_000_000_000
        let limits = IngestLimits(maxBatch: 2, maxMetricsPerReading: 2)
        func refusal(_ body: String) -> LineProtocol.ParseError? {
            do {
                _ = try LineProtocol.parse(Array(body.utf8), precision: .milliseconds, now: now, limits: limits)
                return nil
            } catch { return error }
        }
        #expect(refusal("m v=1 946684799999")?.message.contains("before 2000") == true)
        #expect(refusal("m v=1 \(now + 11 * 60_000)")?.message.contains("future") == true)
        let wide = refusal("m a=1,b=2,c=3")
        #expect(wide?.message.contains("at most 2") == true && wide?.isTooLarge == true)
        #expect(refusal("m v=1e101")?.isTooLarge == false)
        #expect(refusal("m v=1e101")?.message.contains("magnitude") == true)
        let tooMany = refusal("m v=1\nm s=\"x\"\n# c\nm v=2\nm v=3")
        #expect(tooMany?.isTooLarge == true && tooMany?.line == 5, "\(String(describing: tooMany))")
        #expect(refusal("m a=1,b=2\nm v=2 \(now + 60_000)") == nil)
        #expect(refusal("m v=0x1p3")?.message.contains("not a number") == true)
    }

    /// Random bodies from line protocol's own alphabet: the parser never
    /// traps, every name it gives follows the metric-name rule, every value
    /// is finite, and a refusal names a line of the body.
    @Test func randomBodiesGiveValidNamesOrNameTheirLine() {
        var random = SplitMix(seed: 24)
        let alphabet = Array(#"ab,= "\i u t f 1 2.5 -e9 # Ü"#.utf8) + [UInt8(ascii: "\n"), UInt8(ascii: "\r")]
        for _ in 0..<3000 {
            let body = (0..<Int.random(in: 0...60, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            let lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count
            do {
                for reading in try LineProtocol.parse(body, now: 0) {
                    #expect(!reading.metrics.isEmpty)
                    for metric in reading.metrics {
                        #expect(NameRules.isValidMetricName(metric.name), "\(metric.name) from \(String(decoding: body, as: UTF8.self))")
                        #expect(metric.value.isFinite)
                    }
                }
            } catch {
                #expect((1...lines).contains(error.line), "\(error) of \(lines) lines")
            }
        }
    }
}

/// The fast readings of numbers agree with the standard library's.
@Suite struct LineProtocolNumberTests {
    @Test func plainDecimalsReadAsDoubleReadsThem() {
        var random = SplitMix(seed: 26)
        for _ in 0..<20000 {
            let digits = Int.random(in: 1...15, using: &random)
            var text = (0..<digits).map { _ in String(Int.random(in: 0...9, using: &random)) }.joined()
            if Bool.random(using: &random) { text.insert(".", at: text.index(text.startIndex, offsetBy: Int.random(in: 0...digits, using: &random))) }
            if Bool.random(using: &random) { text = "-" + text }
            let fast = Array(text.utf8).withUnsafeBufferPointer { LineProtocol.Parser.plainDecimal($0) }
            let standard = Double(text)
            #expect(fast.map(\.bitPattern) == standard.map(\.bitPattern), "\(text): \(String(describing: fast)) vs \(String(describing: standard))")
        }
        for text in ["", "-", ".", "1e3", "+1", "1.2.3", "1234567890123456", "0x10"] {
            #expect(Array(text.utf8).withUnsafeBufferPointer { LineProtocol.Parser.plainDecimal($0) } == nil, "\(text)")
        }
    }

    @Test func timestampsReadAsInt64ReadsThem() {
        for text in ["0", "-1", "1465839830100400200", "9223372036854775807", "-9223372036854775807", "9223372036854775808", "12x", "", "-"] {
            #expect(Array(text.utf8).withUnsafeBufferPointer { LineProtocol.Parser.integer($0) } == Int64(text), "\(text)")
        }
    }
}
