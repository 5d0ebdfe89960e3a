import Foundation
import GRDB
import TelehubCore
import Testing
@testable import TelehubDevice

@Suite struct OfflineBufferTests {
    func path() throws -> String { try temporaryBufferPath("telehub-device") }

    @Test func messagesAreNumberedOnceAndResentUnchanged() throws {
        let path = try path()
        let buffer = try OfflineBuffer(path: path)
        for i in 0..<5 { try buffer.append(ts: 1000 + Int64(i), metrics: ["t": Double(i)]) }
        let first = try #require(try buffer.nextMessage(limit: 3))
        #expect(first.seq == 1)
        #expect(first.readingCount == 3)
        #expect(first.json.contains(#""ts":1004"#))  // newest first: live readings are not stuck behind a backlog
        let second = try #require(try buffer.nextMessage(limit: 3))
        #expect(second.seq == 2 && second.readingCount == 2)
        #expect(try buffer.nextMessage(limit: 3) == nil)
        // After a restart the same messages come back, byte for byte, and numbering goes on.
        let reopened = try OfflineBuffer(path: path)
        #expect(try reopened.unacknowledged(after: 0) == [1, 2])
        #expect(try reopened.message(1) == first)
        try reopened.append(ts: 2000, metrics: ["t": 9])
        #expect(try reopened.nextMessage(limit: 10)?.seq == 3)
    }

    @Test func acksTrimAndHelloSkipsWhatTheHubHas() throws {
        let buffer = try OfflineBuffer(path: try path())
        for i in 0..<6 {
            try buffer.append(ts: Int64(i), metrics: ["t": 1])
            _ = try buffer.nextMessage(limit: 1)
        }
        #expect(try buffer.acknowledge(upTo: 2) == 2)
        #expect(try buffer.unacknowledged(after: 4) == [5, 6])
        #expect(try buffer.count() == 4)
        #expect(try buffer.drop(message: 5) == 1)
        #expect(try buffer.count() == 3)
    }

    @Test func whenFullTheOldestUnsentReadingsGo() throws {
        let buffer = try OfflineBuffer(path: try path(), capacity: 3)
        try buffer.append(ts: 1, metrics: ["t": 1])
        _ = try buffer.nextMessage(limit: 1)  // sent: kept until acknowledged
        var dropped = 0
        for ts in Int64(2)...6 { dropped += try buffer.append(ts: ts, metrics: ["t": 1]) }
        #expect(dropped == 3)
        #expect(try buffer.count() == 3)
        let message = try #require(try buffer.nextMessage(limit: 10))
        #expect(message.json.contains(#""ts":5"#) && message.json.contains(#""ts":6"#) && !message.json.contains(#""ts":4"#))
        #expect(try buffer.message(1) != nil)
    }

    @Test func bufferedMessagesAreWhatTheHubAccepts() throws {
        let buffer = try OfflineBuffer(path: try path())
        try buffer.append(ts: 1_700_000_000_000, metrics: ["temperature": 21.37, "door": 1, "b": -1e100])
        try buffer.append(ts: 1_700_000_000_001, metrics: ["temperature": 0.1 + 0.2])
        let message = try #require(try buffer.nextMessage(limit: 10))
        let decoded = MessageValidator(requiresSeq: true).validate(message.json, now: 1_700_000_001_000)
        // Readings in the order they were taken, metrics sorted by name, every value bit for bit.
        #expect(decoded == .success(.ingest(IngestMessage(seq: 1, readings: [
            Reading(ts: 1_700_000_000_000, metrics: [
                MetricValue(name: "b", value: -1e100), MetricValue(name: "door", value: 1),
                MetricValue(name: "temperature", value: 21.37),
            ]),
            Reading(ts: 1_700_000_000_001, metrics: [MetricValue(name: "temperature", value: 0.1 + 0.2)]),
        ]))))
    }

    @Test func valuesOlderVersionsStoredAsNullAreLeftOut() throws {
        let buffer = try OfflineBuffer(path: try path())
        try buffer.queue.write { db in
            try db.execute(sql: #"INSERT INTO reading (ts, metrics) VALUES (5, '{"a":null,"b":2}')"#)
        }
        let message = try #require(try buffer.nextMessage(limit: 10))
        #expect(message.json == #"{"readings":[{"metrics":{"b":2},"ts":5}],"seq":1,"type":"batch"}"#)
    }

    @Test func advancePastAHubThatKnowsMore() throws {
        let buffer = try OfflineBuffer(path: try path())
        try buffer.advance(past: 41)
        try buffer.append(ts: 1, metrics: ["t": 1])
        #expect(try buffer.nextMessage(limit: 1)?.seq == 42)
    }
}
