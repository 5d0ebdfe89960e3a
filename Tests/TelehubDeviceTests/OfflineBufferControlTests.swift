import Foundation
import GRDB
import TelehubCore
import Testing
@testable import TelehubDevice

/// Commands and reports in the durable buffer: a command runs at most once
/// even across a restart, and its result goes out like a reading.
@Suite struct OfflineBufferControlTests {
    func path() throws -> String { try temporaryBufferPath("telehub-control") }

    static let later = EpochClock.nowMs() + 3_600_000

    @Test func aCommandBeginsOnceEvenAfterARestart() throws {
        let path = try path()
        let buffer = try OfflineBuffer(path: path)
        #expect(try buffer.begin(command: "cmd_a", expiresAt: Self.later))
        #expect(try !buffer.begin(command: "cmd_a", expiresAt: Self.later))
        try buffer.finish(command: CommandAnswer(id: "cmd_a", kind: .result(succeeded: true), result: .object([:])))
        let reopened = try OfflineBuffer(path: path)
        #expect(try !reopened.begin(command: "cmd_a", expiresAt: Self.later))
        #expect(try reopened.pendingControl() == 1)  // the result, not an "interrupted" failure
    }

    @Test func aCommandCutShortByARestartFailsAndIsNeverRunAgain() throws {
        let path = try path()
        #expect(try OfflineBuffer(path: path).begin(command: "cmd_b", expiresAt: Self.later))
        // The process died while the handler ran.
        let reopened = try OfflineBuffer(path: path)
        #expect(try !reopened.begin(command: "cmd_b", expiresAt: Self.later))
        let message = try #require(try reopened.nextMessage(limit: 10))
        let sent = try JSONValue.parse(message.json)
        #expect(sent["type"] == .string("command_result") && sent["id"] == .string("cmd_b"))
        #expect(sent["status"] == .string("failed") && sent["message"] == .string(OfflineBuffer.interruptedMessage))
        #expect(try OfflineBuffer(path: path).pendingControl() == 1)  // reopening again adds nothing
    }

    @Test func resultsGoBeforeReadingsEachInItsOwnMessageUntilAcknowledged() throws {
        let path = try path()
        let buffer = try OfflineBuffer(path: path)
        for i in 0..<3 { try buffer.append(ts: Int64(i), metrics: ["t": 1]) }
        _ = try buffer.begin(command: "cmd_c", expiresAt: Self.later)
        try buffer.finish(command: CommandAnswer(id: "cmd_c", kind: .result(succeeded: true), result: .object(["ok": .bool(true)])))
        try buffer.report(StateReport(patch: .object(["interval": .number(5)])))
        let result = try #require(try buffer.nextMessage(limit: 10))
        let report = try #require(try buffer.nextMessage(limit: 10))
        let readings = try #require(try buffer.nextMessage(limit: 10))
        #expect(result.seq == 1 && result.readingCount == 0 && result.json.hasPrefix(#"{"seq":1,"#))
        #expect(try JSONValue.parse(result.json)["result"] == .object(["ok": .bool(true)]))
        #expect(report.seq == 2)
        #expect(try JSONValue.parse(report.json)["type"] == .string("reported"))
        #expect(readings.seq == 3 && readings.readingCount == 3)
        // Resent unchanged after a restart; an ack removes them.
        let reopened = try OfflineBuffer(path: path)
        #expect(try reopened.unacknowledged(after: 0) == [1, 2, 3])
        #expect(try reopened.message(1) == result && reopened.message(2) == report)
        #expect(try reopened.acknowledge(upTo: 2) == 0)
        #expect(try reopened.pendingControl() == 0 && reopened.count() == 3)
    }

    @Test func aRefusedResultIsDropped() throws {
        let buffer = try OfflineBuffer(path: try path())
        try buffer.report(StateReport(patch: .object([:])))
        let message = try #require(try buffer.nextMessage(limit: 1))
        try buffer.drop(message: message.seq)
        #expect(try buffer.pendingControl() == 0)
    }

    @Test func aDesiredVersionIsAppliedOnceAndNeverAnOlderOne() throws {
        let path = try path()
        let buffer = try OfflineBuffer(path: path)
        #expect(try buffer.desiredApplied() == 0)
        let report = StateReport(patch: .object(["interval": .number(5)]), applied: 4)
        #expect(try buffer.applied(desired: 4, report: report))
        #expect(try !buffer.applied(desired: 4, report: report))
        #expect(try !OfflineBuffer(path: path).applied(desired: 3, report: report))
        #expect(try buffer.desiredApplied() == 4 && buffer.pendingControl() == 1)
        let sent = try JSONValue.parse(try #require(try buffer.nextMessage(limit: 1)).json)
        #expect(sent["applied"] == .number(4) && sent["state"] == .object(["interval": .number(5)]))
    }

    @Test func reportsStopPilingUpAtTheBound() throws {
        let buffer = try OfflineBuffer(path: try path())
        try buffer.queue.write { db in
            for _ in 0..<OfflineBuffer.maxPendingControl {
                try db.execute(sql: "INSERT INTO control (body) VALUES ('{\"type\":\"reported\",\"state\":{}}')")
            }
        }
        #expect(throws: OfflineBufferError.controlFull) { try buffer.report(StateReport(patch: .object([:]))) }
        // A command's result is never refused: the hub bounds commands already.
        _ = try buffer.begin(command: "cmd_d", expiresAt: Self.later)
        try buffer.finish(command: CommandAnswer(id: "cmd_d", kind: .result(succeeded: true)))
        #expect(try buffer.pendingControl() == OfflineBuffer.maxPendingControl + 1)
    }

    @Test func finishedCommandsAreForgottenAnHourAfterTheyExpire() throws {
        let buffer = try OfflineBuffer(path: try path())
        let now = EpochClock.nowMs()
        _ = try buffer.begin(command: "old", expiresAt: now - OfflineBuffer.forgetAfterExpiryMs - 1000)
        _ = try buffer.begin(command: "recent", expiresAt: now - 1000)
        try buffer.finish(command: CommandAnswer(id: "old", kind: .result(succeeded: true)))
        try buffer.finish(command: CommandAnswer(id: "recent", kind: .result(succeeded: true)))
        let kept = try buffer.queue.read { db in try String.fetchAll(db, sql: "SELECT id FROM command ORDER BY id") }
        #expect(kept == ["recent"])
    }

    /// A buffer written before commands existed opens, keeps its readings and numbering.
    @Test func aBufferFromBeforeCommandsOpens() throws {
        let path = try path()
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: """
                CREATE TABLE reading (id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, metrics TEXT NOT NULL, message INTEGER);
                CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                INSERT INTO meta VALUES ('next_seq', 41);
                INSERT INTO reading (ts, metrics) VALUES (5, '{"t":1}');
                """)
        }
        let buffer = try OfflineBuffer(path: path)
        #expect(try buffer.count() == 1 && buffer.desiredApplied() == 0)
        #expect(try buffer.nextMessage(limit: 10)?.seq == 41)
    }
}
