import Foundation
import GRDB
public import TelehubCore
public import TelehubStore

extension SQLiteStore {
    /// Commands, a queue per device: `n` orders them (oldest first), `id` is
    /// the one the API and devices use. A deleted device takes its commands.
    static let commandSchema = """
        CREATE TABLE command (
            n INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            device_id INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            args TEXT NOT NULL,
            status TEXT NOT NULL,
            priority INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            delivered_at INTEGER,
            completed_at INTEGER,
            result TEXT,
            message TEXT
        );
        CREATE INDEX command_device ON command (device_id, status, priority DESC, n);
        CREATE INDEX command_open_expiry ON command (expires_at) WHERE status IN ('queued', 'sent', 'delivered');
        CREATE INDEX command_queued ON command (device_id) WHERE status = 'queued';
        """

    private static let commandColumns = """
        c.id, d.name AS device, c.name, c.args, c.status, c.priority, c.created_at, c.expires_at, c.attempts,
        c.delivered_at, c.completed_at, c.result, c.message
        """

    /// Command statements are prepared once per connection (cached): GRDB
    /// authorizes a statement at every prepare, which was the largest share
    /// of a command's CPU in `telehub bench --ingest --sections commands`.
    private static func deviceID(_ db: Database) throws -> Statement {
        try db.cachedStatement(sql: "SELECT id FROM device WHERE name = ?")
    }

    public func enqueueCommand(_ command: NewCommand, maxQueued: Int) async throws -> CommandRecord {
        try await writeClassifyingFaults { db in
            guard let deviceID = try Int64.fetchOne(Self.deviceID(db), arguments: [command.device]) else {
                throw CommandStoreError.unknownDevice(command.device)
            }
            let open = try Int.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) FROM command WHERE device_id = ? AND status IN \(CommandStatus.openSQL)"),
                arguments: [deviceID]) ?? 0
            guard open < maxQueued else { throw CommandStoreError.queueFull(limit: maxQueued) }
            let record = command.record()
            try db.cachedStatement(sql: """
                    INSERT INTO command (id, device_id, name, args, status, priority, created_at, expires_at)
                    VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)
                    """).execute(
                arguments: [record.id, deviceID, record.name, record.args.text, record.priority, record.createdAt, record.expiresAt])
            return record
        }
    }

    public func command(id: String) async throws -> CommandRecord? {
        try await pool.read { db in try Self.command(id: id, db) }
    }

    public func commands(device: String?, statuses: [CommandStatus], limit: Int) async throws -> [CommandRecord] {
        try await pool.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let device {
                conditions.append("d.name = ?")
                arguments += [device]
            }
            if !statuses.isEmpty {
                conditions.append("c.status IN (\(statuses.map { _ in "?" }.joined(separator: ", ")))")
                arguments += StatementArguments(statuses.map(\.rawValue))
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments += [limit]
            return try GRDB.Row.fetchAll(
                db,
                sql: "SELECT \(Self.commandColumns) FROM command c JOIN device d ON d.id = c.device_id \(filter) ORDER BY c.n DESC LIMIT ?",
                arguments: arguments
            ).map(Self.commandRecord)
        }
    }

    public func takeCommandsToSend(device: String, window: Int, resend: Bool, now: Int64) async throws -> [CommandRecord] {
        // Most calls (every HTTP ingest answer) find nothing: a read says so
        // without taking the one write lock that commits need.
        let waiting = try await pool.read { db in
            try Bool.fetchOne(db.cachedStatement(sql: """
                    SELECT EXISTS (SELECT 1 FROM command c JOIN device d ON d.id = c.device_id
                                   WHERE d.name = ? AND c.status IN ('queued', 'sent'))
                    """), arguments: [device]) ?? false
        }
        guard waiting else { return [] }
        return try await writeClassifyingFaults { db in
            guard let deviceID = try Int64.fetchOne(Self.deviceID(db), arguments: [device]) else {
                return []
            }
            var taken: [String] = []
            if resend {
                taken += try String.fetchAll(
                    db.cachedStatement(sql: "SELECT id FROM command WHERE device_id = ? AND status = 'sent' AND expires_at > ? ORDER BY n"),
                    arguments: [deviceID, now])
            }
            let inFlight = try Int.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) FROM command WHERE device_id = ? AND status = 'sent' AND expires_at > ?"),
                arguments: [deviceID, now]) ?? 0
            let room = window - (resend ? 0 : inFlight) - taken.count
            if room > 0 {
                taken += try String.fetchAll(db.cachedStatement(sql: """
                        SELECT id FROM command WHERE device_id = ? AND status = 'queued' AND expires_at > ?
                        ORDER BY priority DESC, n LIMIT ?
                        """), arguments: [deviceID, now, room])
            }
            let send = try db.cachedStatement(sql: "UPDATE command SET status = 'sent', attempts = attempts + 1 WHERE id = ?")
            for id in taken { try send.execute(arguments: [id]) }
            return try taken.compactMap { try Self.command(id: $0, db) }
        }
    }

    public func changeCommand(_ change: CommandChange, now: Int64) async throws -> CommandRecord? {
        try await writeClassifyingFaults { db in try Self.change(change, now: now, db) }
    }

    public func expireCommands(now: Int64, limit: Int) async throws -> [CommandRecord] {
        try await writeClassifyingFaults { db in
            let due = try String.fetchAll(db.cachedStatement(sql: """
                    SELECT id FROM command WHERE status IN \(CommandStatus.openSQL) AND expires_at <= ?
                    ORDER BY expires_at LIMIT ?
                    """), arguments: [now, limit])
            return try due.compactMap { try Self.change(CommandChange(id: $0, device: nil, event: .expire), now: now, db) }
        }
    }

    public func devicesWithQueuedCommands() async throws -> Set<String> {
        try await pool.read { db in
            Set(try String.fetchAll(
                db, sql: "SELECT name FROM device WHERE id IN (SELECT device_id FROM command WHERE status = 'queued')"))
        }
    }

    public func nextCommandExpiry() async throws -> Int64? {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT min(expires_at) FROM command WHERE status IN \(CommandStatus.openSQL)")
        }
    }

    public func commandCounts() async throws -> [CommandStatus: Int] {
        try await pool.read { db in
            var counts: [CommandStatus: Int] = [:]
            for row in try GRDB.Row.fetchAll(db, sql: "SELECT status, count(*) FROM command GROUP BY status") {
                if let status = CommandStatus(rawValue: row[0]) { counts[status] = row[1] }
            }
            return counts
        }
    }

    /// One change in the caller's transaction, where the lifecycle allows it.
    static func change(_ change: CommandChange, now: Int64, _ db: Database) throws -> CommandRecord? {
        guard let current = try command(id: change.id, db), let next = try change.applied(to: current, now: now) else { return nil }
        try db.cachedStatement(sql: """
                UPDATE command SET status = ?, delivered_at = ?, completed_at = ?, result = ?, message = ?
                WHERE id = ? AND status = ?
                """).execute(
                arguments: [
                next.status.rawValue, next.deliveredAt, next.completedAt, next.result?.text, next.message, next.id,
                current.status.rawValue,
            ])
        return next
    }

    static func command(id: String, _ db: Database) throws -> CommandRecord? {
        try GRDB.Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(commandColumns) FROM command c JOIN device d ON d.id = c.device_id WHERE c.id = ?"),
            arguments: [id]
        ).map(commandRecord)
    }

    private static func commandRecord(_ row: GRDB.Row) -> CommandRecord {
        CommandRecord(
            id: row["id"], device: row["device"], name: row["name"],
            args: (try? JSONValue.parse(row["args"] as String)) ?? .object([:]),
            status: CommandStatus(rawValue: row["status"]) ?? .queued, priority: row["priority"], createdAt: row["created_at"],
            expiresAt: row["expires_at"], attempts: row["attempts"], deliveredAt: row["delivered_at"],
            completedAt: row["completed_at"], result: (row["result"] as String?).flatMap { try? JSONValue.parse($0) },
            message: row["message"])
    }
}
