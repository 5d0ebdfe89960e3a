import Testing
import TelehubCore

@Suite struct MessageValidatorTests {
    let now: Int64 = 1_732_200_000_000
    let validator = MessageValidator(limits: IngestLimits(maxBatch: 3, maxMetricsPerReading: 2))

    func reject(_ text: String, requiresSeq: Bool = true) -> IngestRejection? {
        var validator = self.validator
        validator.requiresSeq = requiresSeq
        if case .failure(let rejection) = validator.validate(text, now: now) { return rejection }
        return nil
    }

    @Test func readingWithAndWithoutTimestamp() throws {
        let text = #"{"type":"reading","seq":7,"ts":1732200000123,"metrics":{"temperature":21.5,"door":true,"n":3}}"#
        let strict = MessageValidator(limits: IngestLimits(maxMetricsPerReading: 5))
        guard case .success(.ingest(let message)) = strict.validate(text, now: now) else {
            Issue.record("expected a valid reading")
            return
        }
        #expect(message.seq == 7)
        #expect(message.readings == [Reading(ts: 1_732_200_000_123, metrics: [
            MetricValue(name: "door", value: 1), MetricValue(name: "n", value: 3), MetricValue(name: "temperature", value: 21.5),
        ])])
        guard case .success(.ingest(let stamped)) = strict.validate(#"{"type":"reading","seq":1,"metrics":{"a":false}}"#, now: now)
        else {
            Issue.record("expected a valid reading")
            return
        }
        #expect(stamped.readings.first?.ts == now)
        #expect(stamped.readings.first?.metrics.first?.value == 0)
    }

    @Test func batchKeepsOrder() {
        let text = #"{"type":"batch","seq":2,"readings":[{"ts":1732199999000,"metrics":{"a":1}},{"metrics":{"a":2}}]}"#
        guard case .success(.ingest(let message)) = validator.validate(text, now: now) else {
            Issue.record("expected a valid batch")
            return
        }
        #expect(message.readings.map(\.ts) == [1_732_199_999_000, now])
        #expect(message.valueCount == 2)
    }

    @Test func pingEchoesID() throws {
        let message = try validator.validate(#"{"type":"ping","id":"x1"}"#, now: now).get()
        #expect(message == .ping(id: .string("x1")))
        let longest = String(repeating: "é", count: 64)  // 128 bytes
        #expect(try validator.validate(#"{"type":"ping","id":"\#(longest)"}"#, now: now).get() == .ping(id: .string(longest)))
        #expect(try validator.validate(#"{"type":"ping","id":42}"#, now: now).get() == .ping(id: .integer(42)))
    }

    @Test func boundsAreInclusive() throws {
        let text = #"{"type":"reading","seq":9007199254740991,"metrics":{"a":1e100,"b":-1e100}}"#
        let strict = MessageValidator(limits: IngestLimits(maxMetricsPerReading: 5))
        guard case .success(.ingest(let message)) = strict.validate(text, now: now) else {
            Issue.record("expected the largest seq and values to be accepted")
            return
        }
        #expect(message.seq == IngestLimits.maxSeq)
        #expect(message.readings.first?.metrics.map(\.value) == [1e100, -1e100])
    }

    @Test func deeplyNestedJSONIsRefusedNotACrash() throws {
        let depth = 100_000
        let text = #"{"type":"reading","seq":1,"metrics":{"a":"# + String(repeating: "[", count: depth)
            + String(repeating: "]", count: depth) + "}}"
        let rejection = try #require(reject(text))
        #expect(rejection.code == .invalidJSON || rejection.code == .invalidValue)
    }

    /// Decoding time grew with the square of the depth: 500 levels in 1 KiB
    /// cost most of a second. Past 16 levels a message is refused unread.
    @Test func nestingIsBoundedBeforeDecoding() throws {
        let deep = #"{"type":"ping","id":"# + String(repeating: "[", count: 500) + String(repeating: "]", count: 500) + "}"
        let rejection = reject(deep)
        #expect(rejection?.code == .invalidJSON)
        #expect(rejection?.message.contains("nested deeper than 16") == true)
        // Brackets inside strings do not count, escaped quotes included.
        let quoted = #"{"type":"ping","id":"\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}"#
        #expect(try validator.validate(quoted, now: now).get() == .ping(id: .string(#""[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["#)))
        #expect(JSONDepth.exceeds(Array("[[[[]]]]".utf8), limit: 3))
        #expect(!JSONDepth.exceeds(Array("[[[]]]".utf8), limit: 3))
    }

    @Test(arguments: [
        ("{not json", IngestErrorCode.invalidJSON, "not valid JSON"),
        (#"[1,2]"#, .invalidMessage, "expected a JSON object"),
        (#"{"seq":1}"#, .invalidMessage, "type: required"),
        (#"{"type":"bogus","seq":1}"#, .invalidMessage, "type: unknown message type"),
        (#"{"type":"reading","metrics":{"a":1}}"#, .invalidMessage, "seq: required"),
        (#"{"type":"reading","seq":0,"metrics":{"a":1}}"#, .invalidMessage, "seq: expected an integer from 1 to 9007199254740991"),
        (#"{"type":"reading","seq":"1","metrics":{"a":1}}"#, .invalidMessage, "seq: expected an integer from 1"),
        (#"{"type":"reading","seq":9007199254740992,"metrics":{"a":1}}"#, .invalidMessage, "seq: expected an integer from 1"),
        (#"{"type":"reading","seq":9223372036854775807,"metrics":{"a":1}}"#, .invalidMessage, "seq: expected an integer from 1"),
        (#"{"type":"reading","seq":-9223372036854775808,"metrics":{"a":1}}"#, .invalidMessage, "seq: expected an integer from 1"),
        (#"{"type":"reading","seq":1,"metrics":{"a":1e308}}"#, .invalidValue, "metrics.a: magnitude above 1e100"),
        (#"{"type":"reading","seq":1,"metrics":{"a":-1.0000001e100}}"#, .invalidValue, "metrics.a: magnitude above 1e100"),
        (#"{"type":"reading","seq":1,"ts":9223372036854775807,"metrics":{"a":1}}"#, .invalidTimestamp, "in the future"),
        (#"{"type":"reading","seq":1,"ts":-9223372036854775808,"metrics":{"a":1}}"#, .invalidTimestamp, "before 2000-01-01"),
        (#"{"type":"ping","id":"\#(String(repeating: "x", count: 129))"}"#, .invalidMessage, "id: at most 128 bytes"),
        (#"{"type":"ping","id":{"a":1}}"#, .invalidMessage, "id: expected a string or a number"),
        (#"{"type":"ping","id":[1]}"#, .invalidMessage, "id: expected a string or a number"),
        (#"{"type":"reading","seq":1,"metrics":[]}"#, .invalidMessage, "metrics: expected an object"),
        (#"{"type":"reading","seq":1,"metrics":{}}"#, .invalidMessage, "metrics: at least one metric"),
        (#"{"type":"reading","seq":1,"metrics":{"a":1,"b":2,"c":3}}"#, .batchTooLarge, "metrics: 3 metrics, at most 2"),
        (#"{"type":"reading","seq":1,"metrics":{"9lives":1}}"#, .invalidName, "metrics.9lives: invalid metric name"),
        (#"{"type":"reading","seq":1,"metrics":{"a":"warm"}}"#, .invalidValue, "metrics.a: expected a finite number"),
        (#"{"type":"reading","seq":1,"metrics":{"a":null}}"#, .invalidValue, "metrics.a: expected a finite number"),
        (#"{"type":"reading","seq":1,"ts":946684799999,"metrics":{"a":1}}"#, .invalidTimestamp, "ts: 946684799999 is before 2000-01-01"),
        (#"{"type":"reading","seq":1,"ts":1732200600001,"metrics":{"a":1}}"#, .invalidTimestamp, "in the future"),
        (#"{"type":"reading","seq":1,"ts":1.5,"metrics":{"a":1}}"#, .invalidTimestamp, "ts: expected integer milliseconds"),
        (#"{"type":"batch","seq":1,"readings":{}}"#, .invalidMessage, "readings: expected an array"),
        (#"{"type":"batch","seq":1,"readings":[]}"#, .invalidMessage, "readings: at least one reading"),
        (#"{"type":"batch","seq":1,"readings":[{"metrics":{"a":1}},{"metrics":{"a":1}},{"metrics":{"a":1}},{"metrics":{"a":1}}]}"#,
         .batchTooLarge, "readings: 4 readings, at most 3"),
        (#"{"type":"batch","seq":1,"readings":[{"metrics":{"a":1}},{"metrics":{"temperature":"x"}}]}"#,
         .invalidValue, "readings[1].metrics.temperature: expected a finite number"),
        (#"{"type":"batch","seq":1,"readings":[{"metrics":{"a":1}},5]}"#, .invalidMessage, "readings[1]: expected an object"),
    ])
    func everyCodeWithItsPath(text: String, code: IngestErrorCode, message: String) throws {
        let rejection = try #require(reject(text))
        #expect(rejection.code == code)
        #expect(rejection.message.contains(message), "\(rejection.message)")
        #expect(!rejection.code.isRetryable)
    }

    /// Found by fuzzing: invalid UTF-8 inside a string was accepted (and
    /// echoed in a pong) on the HTTP path, where no frame check runs.
    @Test func invalidUTF8IsInvalidJSON() throws {
        var bytes = Array(#"{"type":"ping","id":"ab"}"#.utf8)
        bytes.insert(contentsOf: [0xFF, 0xFE], at: 21)
        guard case .failure(let rejection) = validator.validate(bytes, now: now) else {
            Issue.record("accepted invalid UTF-8")
            return
        }
        #expect(rejection.code == .invalidJSON)
        #expect(rejection.message.contains("UTF-8"))
    }

    @Test func rejectionCarriesSeqWhenReadable() throws {
        #expect(try #require(reject(#"{"type":"reading","seq":41,"metrics":{"a":"x"}}"#)).seq == 41)
        #expect(try #require(reject(#"{"type":"reading","metrics":{"a":1}}"#)).seq == nil)
    }

    @Test func httpMayLeaveSeqOut() {
        var validator = self.validator
        validator.requiresSeq = false
        guard case .success(.ingest(let message)) = validator.validate(#"{"type":"reading","metrics":{"a":1}}"#, now: now) else {
            Issue.record("expected a valid reading")
            return
        }
        #expect(message.seq == nil)
    }
}
