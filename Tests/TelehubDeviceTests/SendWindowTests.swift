import Foundation
import TelehubCore
import Testing
@testable import TelehubDevice

@Suite struct BackoffTests {
    @Test func boundsGrowToTheCapAndResetWhenStable() {
        var backoff = Backoff(base: .milliseconds(100), cap: .seconds(2), stableAfter: .seconds(10))
        var generator = SystemRandomNumberGenerator()
        var bounds: [Duration] = []
        for _ in 0..<8 {
            bounds.append(backoff.bound)
            let delay = backoff.next(using: &generator)
            #expect(delay >= .zero && delay <= bounds.last!)
        }
        #expect(bounds == [100, 200, 400, 800, 1600, 2000, 2000, 2000].map { .milliseconds($0) })
        backoff.connectionEnded(after: .seconds(3))
        #expect(backoff.bound == .seconds(2))  // not stable yet
        backoff.connectionEnded(after: .seconds(10))
        #expect(backoff.bound == .milliseconds(100))
    }

    @Test func fullJitterSpreadsOverTheWholeRange() {
        var generator = SplitMix(seed: 42)
        var delays: [Double] = []
        for _ in 0..<2000 {
            var backoff = Backoff(base: .seconds(1), cap: .seconds(8))
            for _ in 0..<3 { _ = backoff.next(using: &generator) }  // bound is now 8 s
            delays.append(backoff.next(using: &generator) / .seconds(1))
        }
        #expect(delays.allSatisfy { $0 >= 0 && $0 <= 8 })
        // Uniform over 0...8: mean near 4, every quarter of the range well used.
        let mean = delays.reduce(0, +) / Double(delays.count)
        #expect(abs(mean - 4) < 0.3)
        for quarter in 0..<4 {
            let share = Double(delays.filter { $0 >= Double(quarter) * 2 && $0 < Double(quarter + 1) * 2 }.count) / 2000
            #expect(share > 0.2 && share < 0.3, "quarter \(quarter): \(share)")
        }
    }
}

@Suite struct SendWindowTests {
    let now = ContinuousClock.now

    @Test func windowLimitsMessagesInFlightAndAcksAreCumulative() {
        var window = SendWindow(limit: 2)
        window.sent(1)
        window.sent(2)
        #expect(!window.hasRoom)
        window.acknowledged(upTo: 1)
        #expect(window.inFlight == [2])
        #expect(window.canSend(at: now))
    }

    @Test func retryableRefusalGoesBackInOrderAfterTheWait() {
        var window = SendWindow(limit: 8)
        for seq in Int64(1)...5 { window.sent(seq) }
        window.acknowledged(upTo: 2)
        window.refused(3, retryable: true, retryAfter: .milliseconds(400), now: now)
        #expect(window.inFlight.isEmpty)
        #expect(window.queued == [3, 4, 5])
        #expect(!window.canSend(at: now + .milliseconds(399)))
        #expect(window.canSend(at: now + .milliseconds(400)))
        // The hub holds 4 and 5 with the same error: nothing more to do for them.
        window.refused(4, retryable: true, retryAfter: .milliseconds(400), now: now)
        #expect(window.queued == [3, 4, 5])
        #expect(window.nextQueued() == 3)
    }

    @Test func permanentRefusalForgetsOnlyThatMessage() {
        var window = SendWindow(limit: 8)
        for seq in Int64(1)...3 { window.sent(seq) }
        window.refused(2, retryable: false, retryAfter: .zero, now: now)
        #expect(window.inFlight == [1, 3])
        #expect(window.canSend(at: now))
    }

    @Test func resendAfterReconnectStartsWithTheUnacknowledged() {
        var window = SendWindow(limit: 4, resend: [9, 7, 8])
        #expect(window.nextQueued() == 7)
        window.sent(7)
        window.acknowledged(upTo: 8)
        #expect(window.queued == [9])
    }
}

@Suite struct OfflineBufferTests {
    func path() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("telehub-device-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("buffer.sqlite").path
    }

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
