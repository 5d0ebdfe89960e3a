import Foundation
import GRDB
import Testing
import TelehubCore
@testable import TelehubDevice

/// The SDK against `devices/client-rules.json`, the table of rules it shares
/// with the Python client (whose tests read the same file).
@Suite struct ClientRulesTests {
    struct Rules: Decodable {
        struct BackoffRules: Decodable {
            var baseSeconds: Double
            var capSeconds: Double
            var stableAfterSeconds: Double
        }
        struct Refusal: Decodable {
            var status: Int
            var kind: String
            var permanent: Bool
            var text: String
        }
        struct State: Decodable { var name: String }
        struct Defaults: Decodable {
            var batchSize: Int
            var window: Int
            var backfillReadingsPerSecond: Double
            var heartbeatSeconds: Int64
            var bufferCapacity: Int
        }
        struct Buffer: Decodable {
            var schema: [String]
            var meta: [String: Int64]
        }
        var backoff: BackoffRules
        var defaults: Defaults
        var refusals: [Refusal]
        var states: [State]
        var buffer: Buffer
        struct Commands: Decodable {
            var maxPendingControl: Int
            var noHandler: String
            var interrupted: String
        }
        var commands: Commands

        static func load() throws -> Rules {
            let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../devices/client-rules.json")
            return try JSONDecoder().decode(Rules.self, from: Data(contentsOf: file))
        }
    }

    @Test func refusalsAreExplainedInTheTableWords() throws {
        for refusal in try Rules.load().refusals {
            let failure = ConnectionFailure.from(status: refusal.status, body: "")
            #expect(failure.detail == refusal.text)
            #expect(failure.kind.rawValue == refusal.kind)
            #expect(failure.isPermanent == refusal.permanent)
        }
    }

    @Test func defaultsAreTheTableOnes() throws {
        let rules = try Rules.load()
        let configuration = DeviceClient.Configuration(url: "ws://127.0.0.1:9/v1/ingest", token: "thd_x", bufferPath: "unused")
        #expect(configuration.batchSize == rules.defaults.batchSize)
        #expect(configuration.window == rules.defaults.window)
        #expect(configuration.readingsPerSecond == rules.defaults.backfillReadingsPerSecond)
        #expect(configuration.heartbeat == .seconds(rules.defaults.heartbeatSeconds))
        #expect(configuration.bufferCapacity == rules.defaults.bufferCapacity)
    }

    @Test func backoffDefaultsAreTheTableOnes() throws {
        let rules = try Rules.load().backoff
        let backoff = DeviceClient.Configuration(url: "ws://127.0.0.1:9/v1/ingest", token: "thd_x", bufferPath: "unused").backoff
        #expect(backoff.base == .milliseconds(Int64(rules.baseSeconds * 1000)))
        #expect(backoff.cap == .milliseconds(Int64(rules.capSeconds * 1000)))
        #expect(backoff.stableAfter == .milliseconds(Int64(rules.stableAfterSeconds * 1000)))
    }

    @Test func everyStateNameIsInTheTable() throws {
        let names = Set(try Rules.load().states.map(\.name))
        let states: [DeviceClient.State] = [
            .connecting, .connected(lastSeq: 0), .failed(ConnectionFailure(.closed, "")), .backingOff(.seconds(1)),
        ]
        for state in states { #expect(names.contains(state.name), "\(state)") }
    }

    @Test func theBufferSchemaIsTheTableOne() throws {
        let rules = try Rules.load().buffer
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try OfflineBuffer(path: path)
        let (found, meta) = try DatabaseQueue(path: path).read { db in
            (
                try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"),
                try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT key, value FROM meta").map { ($0[0] as String, $0[1] as Int64) })
            )
        }
        #expect(found.map(Self.normalized).sorted() == rules.schema.map(Self.normalized).sorted())
        #expect(meta == rules.meta)
    }

    @Test func commandAnswersAreTheTableOnes() async throws {
        let rules = try Rules.load().commands
        #expect(OfflineBuffer.maxPendingControl == rules.maxPendingControl)
        #expect(OfflineBuffer.interruptedMessage == rules.interrupted)
        let command = CommandMessage(CommandRecord(
            id: "cmd_1", device: "d", name: "reboot", args: .object([:]), status: .sent, priority: 5, createdAt: 0, expiresAt: 1))
        let answer = await CommandOutcome.answer(command, handler: nil)
        #expect(answer.message == rules.noHandler.replacingOccurrences(of: "{name}", with: "reboot"))
    }

    /// One spelling of a statement: no `IF NOT EXISTS`, single spaces, none around punctuation.
    static func normalized(_ sql: String) -> String {
        var text = sql.replacingOccurrences(of: "IF NOT EXISTS ", with: "")
        text = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for mark in ["(", ")", ","] {
            text = text.replacingOccurrences(of: " \(mark)", with: mark).replacingOccurrences(of: "\(mark) ", with: mark)
        }
        return text
    }
}
