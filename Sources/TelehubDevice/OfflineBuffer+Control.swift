import Foundation
import GRDB
public import TelehubCore

/// Commands and state reports in the durable buffer (the rules of
/// `devices/client-rules.json`, section `commands`).
///
/// A command is recorded as started, and committed, before its handler runs,
/// so no restart can make the device run it twice; its result, like a state
/// report, is a `control` row kept until the hub acknowledges the message
/// that carried it, so it reaches the hub at least once.
extension OfflineBuffer {
    /// Control rows waiting at most: past it `report` refuses, since a hub
    /// that is unreachable for long must not fill the device's disk.
    public static let maxPendingControl = 10_000
    /// The failure a command interrupted by a restart is answered with.
    public static let interruptedMessage = "the device restarted while the command ran; it was not run again"
    /// A finished command is remembered this long past its expiry; the hub
    /// never sends an expired command again.
    static let forgetAfterExpiryMs: Int64 = 3_600_000

    /// Records a command as started. - Returns: false when this device has
    /// started it before (it must not run again).
    public func begin(command id: String, expiresAt: Int64) throws -> Bool {
        try queue.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO command (id, expires_at) VALUES (?, ?)", arguments: [id, expiresAt])
            return db.changesCount == 1
        }
    }

    /// Records a command's result, to be sent until acknowledged, and
    /// forgets commands long expired.
    public func finish(command answer: CommandAnswer) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE command SET finished = 1 WHERE id = ?", arguments: [answer.id])
            try Self.addControl(answer, db)
            try db.execute(
                sql: "DELETE FROM command WHERE finished = 1 AND expires_at < ?",
                arguments: [EpochClock.nowMs() - Self.forgetAfterExpiryMs])
        }
    }

    /// Adds a state report. - Throws: `OfflineBufferError.controlFull` past `maxPendingControl`.
    public func report(_ report: StateReport) throws {
        try queue.write { db in
            guard try Self.pendingControl(db) < Self.maxPendingControl else { throw OfflineBufferError.controlFull }
            try Self.addControl(report, db)
        }
    }

    /// The desired version last applied; 0 before any.
    public func desiredApplied() throws -> Int64 {
        try queue.read { db in
            try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'desired_applied'") ?? 0
        }
    }

    /// Records that desired `version` was applied and queues its report, in
    /// one transaction. - Returns: false (nothing done) for a version at or
    /// below the one applied already.
    public func applied(desired version: Int64, report: StateReport) throws -> Bool {
        try queue.write { db in
            let applied = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'desired_applied'") ?? 0
            guard version > applied else { return false }
            try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'desired_applied'", arguments: [version])
            try Self.addControl(report, db)
            return true
        }
    }

    /// Command results and reports not yet acknowledged.
    public func pendingControl() throws -> Int {
        try queue.read { db in try Self.pendingControl(db) }
    }

    /// Every command still marked running was cut short by a restart: it
    /// fails, and is never run again.
    func failInterruptedCommands() throws {
        try queue.write { db in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM command WHERE finished = 0 ORDER BY rowid")
            for id in ids {
                try Self.addControl(
                    CommandAnswer(id: id, kind: .result(succeeded: false), message: Self.interruptedMessage), db)
            }
            try db.execute(sql: "UPDATE command SET finished = 1 WHERE finished = 0")
        }
    }

    // MARK: - Rows

    static func addControl(_ body: some Encodable, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO control (body) VALUES (?)", arguments: [JSONEncoder.wireText(body)])
    }

    static func pendingControl(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM control") ?? 0
    }

    /// Numbers the oldest unsent control row as a message of its own.
    static func numberControl(_ db: Database) throws -> Message? {
        guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM control WHERE message IS NULL ORDER BY id LIMIT 1")
        else { return nil }
        let seq = try takeSeq(db)
        try db.execute(sql: "UPDATE control SET message = ? WHERE id = ?", arguments: [seq, id])
        return try controlMessage(seq, db)
    }

    /// A numbered control message: its body with `seq` added.
    static func controlMessage(_ seq: Int64, _ db: Database) throws -> Message? {
        guard let body = try String.fetchOne(db, sql: "SELECT body FROM control WHERE message = ?", arguments: [seq]),
            body.hasPrefix("{"), body.count > 2
        else { return nil }
        return Message(seq: seq, json: #"{"seq":\#(seq),"# + body.dropFirst(), readingCount: 0)
    }
}

public enum OfflineBufferError: Error, Equatable, CustomStringConvertible {
    /// `OfflineBuffer.maxPendingControl` reports are waiting for the hub.
    case controlFull

    public var description: String {
        "\(OfflineBuffer.maxPendingControl) state reports and command results are waiting for the hub; not adding more"
    }
}
