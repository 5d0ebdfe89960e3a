import Testing
import TelehubCore

/// The scanner is the fast path of `MessageValidator`: it must take the
/// messages devices send every second, and hand everything unusual to the
/// `Codable` decoding, agreeing with it on whatever it accepts.
@Suite struct DeviceMessageScannerTests {
    let now: Int64 = 1_732_200_000_000
    let rules = DeviceMessageRules(limits: IngestLimits(maxBatch: 3, maxMetricsPerReading: 3), requiresSeq: true, now: 1_732_200_000_000)

    func scan(_ text: String, rules: DeviceMessageRules? = nil) -> DeviceMessage? {
        var copy = text
        return copy.withUTF8 { DeviceMessageScanner.scan($0, rules: rules ?? self.rules) }
    }

    func decoded(_ text: String, rules: DeviceMessageRules? = nil) -> DeviceMessage? {
        let rules = rules ?? self.rules
        let validator = MessageValidator(limits: rules.limits, requiresSeq: rules.requiresSeq)
        return try? validator.decode(text.utf8, now: rules.now).get()
    }

    @Test(arguments: [
        #"{"type":"reading","seq":7,"ts":1732200000123,"metrics":{"temperature":21.5,"door":true,"n":3}}"#,
        #"{"type":"batch","seq":2,"readings":[{"ts":1732199999000,"metrics":{"a":1}},{"metrics":{"a":2,"b":-0.25}}]}"#,
        #"{ "seq" : 9 , "readings" : [ { "metrics" : { "z" : 1e3 , "a" : -4.5E-2 } , "ts" : 1732199999999 } ] , "type" : "batch" }"#,
        "{\n\t\"type\":\"reading\",\r\n\"seq\":1,\"metrics\":{\"off\":false}}\n",
        #"{"type":"reading","seq":9007199254740991,"metrics":{"x":1e100,"y":-1e100,"w":0}}"#,
        #"{"type":"reading","seq":3,"metrics":{"a":123456789012345678901234,"b":0.1000000000000000055511151231257827,"c":4.9e-324}}"#,
    ])
    func commonMessagesTakeTheFastPathAndAgree(_ text: String) throws {
        let fast = try #require(scan(text))
        #expect(fast == decoded(text))
    }

    @Test(arguments: [
        // Unusual but valid: the Codable decoding decides.
        #"{"type":"ping","id":1}"#,
        #"{"type":"reading","seq":1,"metrics":{"t\u0065mp":1}}"#,
        #"{"type":"reading","seq":1,"ts":1.7322e12,"metrics":{"a":1}}"#,
        #"{"type":"reading","seq":1,"ts":null,"metrics":{"a":1}}"#,
        #"{"type":"reading","seq":1,"firmware":"2.1","metrics":{"a":1}}"#,
        #"{"type":"reading","seq":1,"metrics":{"a":1,"a":2}}"#,
        #"{"type":"reading","type":"reading","seq":1,"metrics":{"a":1}}"#,
        #"{"type":"batch","seq":1,"ts":1732199999000,"readings":[{"metrics":{"a":1}}]}"#,
        // Invalid: the Codable decoding names the problem.
        #"{"type":"reading","seq":0,"metrics":{"a":1}}"#,
        #"{"type":"reading","metrics":{"a":1}}"#,
        #"{"type":"reading","seq":1,"metrics":{}}"#,
        #"{"type":"reading","seq":1,"metrics":{"a":1,"b":2,"c":3,"d":4}}"#,
        #"{"type":"batch","seq":1,"readings":[]}"#,
        #"{"type":"batch","seq":1,"readings":[{"metrics":{"a":1}},{"metrics":{"a":1}},{"metrics":{"a":1}},{"metrics":{"a":1}}]}"#,
        #"{"type":"reading","seq":1,"metrics":{"a":1e101}}"#,
        #"{"type":"reading","seq":1,"metrics":{"a":1e400}}"#,
        #"{"type":"reading","seq":1,"metrics":{"a":01}}"#,
        #"{"type":"reading","seq":1,"metrics":{"a":1.}}"#,
        #"{"type":"reading","seq":1,"metrics":{"a":.5}}"#,
        #"{"type":"reading","seq":1,"metrics":{"a":1.2.3}}"#,
        #"{"type":"reading","seq":1,"metrics":{"a":"1"}}"#,
        #"{"type":"reading","seq":1,"metrics":{"9a":1}}"#,
        #"{"type":"reading","seq":1,"ts":946684799999,"metrics":{"a":1}}"#,
        #"{"type":"reading","seq":1,"ts":1732200600001,"metrics":{"a":1}}"#,
        #"{"type":"reading","seq":1,"metrics":{"a":1}} x"#,
        #"{"type":"reading","seq":1,"metrics":{"a":1}"#,
        #"{"type":"sample","seq":1,"metrics":{"a":1}}"#,
    ])
    func everythingElseIsLeftToTheCodableDecoding(_ text: String) {
        #expect(scan(text) == nil)
    }

    /// Decimals as devices print them, random in digits and exponent: the
    /// scanner's arithmetic must give the very bits the standard parser gives.
    @Test func numbersParseToTheSameBitsAsTheStandardLibrary() throws {
        var generator = SystemRandomNumberGenerator()
        let wide = DeviceMessageRules(limits: IngestLimits(), requiresSeq: false, now: now)
        for _ in 0..<5000 {
            let digits = String(UInt64.random(in: 0...9_999_999_999_999_999, using: &generator))
            let point = Int.random(in: 0...digits.count, using: &generator)
            var text = String(digits.prefix(point)) + (point < digits.count ? "." + digits.dropFirst(point) : "")
            if text.hasPrefix(".") { text = "0" + text }
            while text.count > 1, text.hasPrefix("0"), !text.hasPrefix("0.") { text.removeFirst() }
            if Bool.random(using: &generator) { text += "e\(Int.random(in: -30...30, using: &generator))" }
            if Bool.random(using: &generator) { text = "-" + text }
            let message = #"{"type":"reading","metrics":{"v":\#(text)}}"#
            let expected = try #require(Double(text))
            guard case .ingest(let ingest) = try #require(scan(message, rules: wide), "\(text)") else {
                Issue.record("not a reading: \(text)")
                continue
            }
            #expect(ingest.readings[0].metrics[0].value.bitPattern == expected.bitPattern, "\(text)")
        }
    }
}
