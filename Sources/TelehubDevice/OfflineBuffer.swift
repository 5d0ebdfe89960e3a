import Foundation
import GRDB
import TelehubCore

/// Readings kept on disk until the hub has acknowledged them, so a reboot,
/// a dead link or a day offline loses nothing.
///
/// A reading belongs to no message until it is first sent; then it belongs to
/// exactly one numbered message for good, which is resent unchanged until
/// acknowledged. The next `seq` is persisted before a message is first sent,
/// so numbers never repeat, even across restarts.
///
/// When full, the oldest readings not yet sent are dropped (and counted): on a
/// long outage a device keeps its most recent history.
///
/// Command results and state reports are kept the same way, one per message
/// (see `OfflineBuffer+Control.swift`); the schema is `devices/client-rules.json`'s.
public final class OfflineBuffer: Sendable {
    /// One numbered message, ready to send.
    public struct Message: Sendable, Equatable {
        public var seq: Int64
        /// The `batch` message text.
        public var json: String
        /// Zero for a command result or a state report.
        public var readingCount: Int
    }

    let queue: DatabaseQueue
    public let capacity: Int

    /// - Parameter syncEveryWrite: fsync each reading (survives power loss, at
    ///   a few hundred readings a second on an SD card). Off by default: WAL
    ///   with `synchronous=NORMAL` survives any crash of the process, and a
    ///   power cut loses at most the last moments of readings.
    public init(path: String, capacity: Int = 1_000_000, syncEveryWrite: Bool = false) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.journalMode = .wal
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(syncEveryWrite ? "FULL" : "NORMAL")")
        }
        queue = try DatabaseQueue(path: path, configuration: configuration)
        self.capacity = max(1, capacity)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS reading (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    ts INTEGER NOT NULL,
                    metrics TEXT NOT NULL,
                    message INTEGER
                );
                CREATE INDEX IF NOT EXISTS reading_unsent ON reading (id) WHERE message IS NULL;
                CREATE INDEX IF NOT EXISTS reading_message ON reading (message) WHERE message IS NOT NULL;
                CREATE TABLE IF NOT EXISTS control (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    body TEXT NOT NULL,
                    message INTEGER
                );
                CREATE TABLE IF NOT EXISTS command (
                    id TEXT PRIMARY KEY,
                    expires_at INTEGER NOT NULL,
                    finished INTEGER NOT NULL DEFAULT 0
                );
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                INSERT OR IGNORE INTO meta VALUES ('next_seq', 1);
                INSERT OR IGNORE INTO meta VALUES ('desired_applied', 0);
                """)
        }
        try failInterruptedCommands()
    }

    /// Adds a reading. - Returns: how many old readings were dropped to make room.
    @discardableResult
    public func append(ts: Int64, metrics: [String: Double]) throws -> Int {
        let metricsJSON = String(decoding: try JSONEncoder.wire.encode(metrics), as: UTF8.self)
        return try queue.write { db in
            try db.execute(sql: "INSERT INTO reading (ts, metrics) VALUES (?, ?)", arguments: [ts, metricsJSON])
            let excess = try Int.fetchOne(db, sql: "SELECT count(*) FROM reading")! - capacity
            guard excess > 0 else { return 0 }
            try db.execute(
                sql: "DELETE FROM reading WHERE id IN (SELECT id FROM reading WHERE message IS NULL ORDER BY id LIMIT ?)",
                arguments: [excess])
            return db.changesCount
        }
    }

    /// Numbers a new message: the oldest waiting command result or report
    /// alone, else up to `limit` of the newest unsent readings (live readings
    /// first, backlog after). - Returns: nil when nothing is waiting.
    public func nextMessage(limit: Int) throws -> Message? {
        try queue.write { db in
            if let control = try Self.numberControl(db) { return control }
            let ids = try Int64.fetchAll(
                db, sql: "SELECT id FROM reading WHERE message IS NULL ORDER BY id DESC LIMIT ?", arguments: [max(1, limit)])
            guard !ids.isEmpty else { return nil }
            let seq = try Self.takeSeq(db)
            try db.execute(
                sql: "UPDATE reading SET message = ? WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ",")))",
                arguments: StatementArguments([seq] + ids))
            return try Self.message(seq, db)
        }
    }

    /// A numbered message as it was first sent.
    public func message(_ seq: Int64) throws -> Message? {
        try queue.read { db in try Self.message(seq, db) ?? Self.controlMessage(seq, db) }
    }

    /// The next `seq`, persisted before the message goes out, so none repeats.
    static func takeSeq(_ db: Database) throws -> Int64 {
        let seq = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'next_seq'")!
        try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'next_seq'", arguments: [seq + 1])
        return seq
    }

    /// Numbered messages the hub has not acknowledged: those above `lastSeq`, to resend.
    public func unacknowledged(after lastSeq: Int64) throws -> [Int64] {
        try queue.read { db in
            try Int64.fetchAll(
                db,
                sql: """
                    SELECT message FROM reading WHERE message > ?1
                    UNION SELECT message FROM control WHERE message > ?1 ORDER BY 1
                    """,
                arguments: [lastSeq])
        }
    }

    /// The hub has every message up to `seq`. - Returns: readings removed.
    @discardableResult
    public func acknowledge(upTo seq: Int64) throws -> Int {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM control WHERE message <= ?", arguments: [seq])
            try db.execute(sql: "DELETE FROM reading WHERE message <= ?", arguments: [seq])
            return db.changesCount
        }
    }

    /// The hub refused a message for good. - Returns: readings removed.
    @discardableResult
    public func drop(message seq: Int64) throws -> Int {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM control WHERE message = ?", arguments: [seq])
            try db.execute(sql: "DELETE FROM reading WHERE message = ?", arguments: [seq])
            return db.changesCount
        }
    }

    /// Readings not yet acknowledged.
    public func count() throws -> Int {
        try queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM reading") ?? 0 }
    }

    /// Raises the next `seq` above `lastSeq` (a device whose buffer was lost
    /// learns from `hello` where the hub is).
    public func advance(past lastSeq: Int64) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE meta SET value = max(value, ?) WHERE key = 'next_seq'", arguments: [lastSeq + 1])
        }
    }

    private static func message(_ seq: Int64, _ db: Database) throws -> Message? {
        let rows = try Row.fetchAll(db, sql: "SELECT ts, metrics FROM reading WHERE message = ? ORDER BY id", arguments: [seq])
        guard !rows.isEmpty else { return nil }
        let readings = rows.map { row in Reading(ts: row[0], metrics: metrics(row[1])) }
        let message = DeviceMessage.ingest(IngestMessage(seq: seq, readings: readings))
        return Message(seq: seq, json: String(decoding: try JSONEncoder.wire.encode(message), as: UTF8.self), readingCount: rows.count)
    }

    /// A stored metrics object. Buffers written by earlier versions may hold
    /// `null` for a value that was not finite: such values are left out (the
    /// hub would refuse them), and a reading left empty gets its message
    /// refused for good and dropped, as before.
    private static func metrics(_ json: String) -> [MetricValue] {
        let decoded = (try? JSONDecoder().decode([String: Double?].self, from: Data(json.utf8))) ?? [:]
        return decoded.compactMap { name, value in value.map { MetricValue(name: name, value: $0) } }
            .sorted { $0.name < $1.name }
    }
}
