import Foundation
import Testing
import TelehubCore

@Suite struct ReadingEventTests {
    /// The hand-written event JSON reads back as the same event JSONEncoder
    /// would write, for awkward names and values too.
    @Test func handWrittenJSONIsTheEncodersEvent() throws {
        var random = SplitMix(seed: 5)
        let names = ["temperature", "a\"b", "back\\slash", "tab\there", "ünïcode", "x"]
        for _ in 0..<300 {
            let metrics = names.shuffled(using: &random).prefix(Int.random(in: 0...names.count, using: &random))
                .map { MetricValue(name: $0, value: Double.random(in: -1e100...1e100, using: &random) / 10e90) }
            let device = names.randomElement(using: &random) ?? "d"
            let ts = Int64.random(in: 0...IngestLimits.maxTime, using: &random)
            let json = ReadingEvent.json(device: device, ts: ts, metrics: metrics)
            let decoded = try JSONDecoder().decode(ReadingEvent.self, from: Data(json.utf8))
            let expected = ReadingEvent(device: device, ts: ts, metrics: Dictionary(uniqueKeysWithValues: metrics.map { ($0.name, $0.value) }))
            #expect(decoded == expected)
        }
    }
}

@Suite struct HistoryAnswerTests {
    @Test func rawAndBucketsAsTheContractWritesThem() throws {
        let raw = HistoryAnswer(.raw([(ts: 1000, value: 21.5), (ts: 2000, value: 3)]))
        #expect(String(decoding: try JSONEncoder.wire.encode(raw), as: UTF8.self) == #"{"points":[[1000,21.5],[2000,3]],"step":0}"#)
        let buckets = HistoryAnswer(.buckets(step: 60_000, [(start: Int64(0), aggregate: Aggregate(sum: 6, min: 1, max: 3, count: 3))]))
        let json = try JSONEncoder.wire.encode(buckets)
        #expect(String(decoding: json, as: UTF8.self) == #"{"points":[[0,2,1,3,3]],"step":60000}"#)
        #expect(try JSONDecoder().decode(HistoryAnswer.self, from: json) == buckets)
    }

    /// Values that are not finite (only in files from before values were
    /// bounded) are written as null instead of failing the whole answer.
    @Test func valuesThatAreNotFiniteAreNull() throws {
        let answer = HistoryAnswer(.raw([(ts: 1, value: .infinity), (ts: 2, value: 1)]))
        #expect(String(decoding: try JSONEncoder.wire.encode(answer), as: UTF8.self) == #"{"points":[[1,null],[2,1]],"step":0}"#)
    }
}

@Suite struct SmallAnswerTests {
    @Test func theContractsSmallBodies() throws {
        func json(_ value: some Encodable) throws -> String { String(decoding: try JSONEncoder.wire.encode(value), as: UTF8.self) }
        #expect(try json(HealthAnswer.ok) == #"{"status":"ok"}"#)
        #expect(try json(HealthAnswer.unavailable("disk full")) == #"{"reason":"disk full","status":"unavailable"}"#)
        #expect(try json(HTTPIngestAck(ack: 1236)) == #"{"ack":1236}"#)
        #expect(try json(HTTPIngestAck(ack: nil)) == #"{"ack":null}"#)
        #expect(try json(APIErrorAnswer(error: "not_found", message: nil)) == #"{"error":"not_found"}"#)
        #expect(try json(SessionState(authenticated: false)) == #"{"authenticated":false}"#)
        #expect(try json(PresenceEvent(device: "d", online: true, ts: 5)) == #"{"device":"d","online":true,"ts":5}"#)
    }
}
