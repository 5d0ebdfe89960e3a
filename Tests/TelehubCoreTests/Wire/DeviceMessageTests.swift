import Foundation
import Testing
import TelehubCore

@Suite struct DeviceMessageCodingTests {
    /// What a device writes with `DeviceMessage`'s encoding is what the hub's
    /// decoding accepts, value for value.
    @Test func encodedMessagesAreAcceptedExactly() throws {
        var random = SplitMix(seed: 11)
        for _ in 0..<200 {
            let readings = (0..<Int.random(in: 1...5, using: &random)).map { index in
                Reading(
                    ts: 1_700_000_000_000 + Int64(index),
                    metrics: (0..<Int.random(in: 1...4, using: &random)).map { m in
                        MetricValue(name: "m\(m)", value: Double.random(in: -1e6...1e6, using: &random))
                    })
            }
            let message = DeviceMessage.ingest(IngestMessage(seq: Int64.random(in: 1...IngestLimits.maxSeq, using: &random), readings: readings))
            let json = try JSONEncoder.wire.encode(message)
            #expect(MessageValidator().validate(Array(json), now: 1_700_000_001_000) == .success(message))
        }
        for id in [PingID.string("x"), .integer(-3), .number(0.5), .null] {
            let json = try JSONEncoder.wire.encode(DeviceMessage.ping(id: id))
            #expect(MessageValidator().validate(Array(json), now: 0) == .success(.ping(id: id)))
        }
    }

    /// Command answers and reports, as the device SDK writes them, are read
    /// back by the hub as the same answer, with and without `seq`.
    @Test func commandAnswersAndReportsAreAcceptedExactly() throws {
        let answers = [
            CommandAnswer(id: "cmd_1", kind: .ack),
            CommandAnswer(id: "cmd_2", kind: .result(succeeded: true), result: .object(["applied": .bool(true)])),
            CommandAnswer(id: "cmd_3", kind: .result(succeeded: false), message: "sensor busy"),
        ]
        let report = StateReport(patch: .object(["interval": .number(5), "mode": .null]), applied: 9)
        let messages = answers.map { IngestMessage(seq: nil, readings: [], commands: [$0]) }
            + [IngestMessage(seq: 7, readings: [], commands: [answers[1]]), IngestMessage(seq: 8, readings: [], report: report)]
        for message in messages {
            let json = try JSONEncoder.wire.encode(DeviceMessage.ingest(message))
            #expect(MessageValidator(requiresSeq: false).validate(Array(json), now: 0) == .success(.ingest(message)), "\(String(decoding: json, as: UTF8.self))")
        }
    }
}
