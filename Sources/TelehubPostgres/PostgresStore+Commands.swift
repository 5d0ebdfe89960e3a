import PostgresNIO
public import TelehubCore
public import TelehubStore

extension PostgresStore {
    private static let commandColumns = """
        c.id, d.name, c.name, c.args, c.status, c.priority, c.created_at, c.expires_at, c.attempts,
        c.delivered_at, c.completed_at, c.result, c.message
        """

    private typealias CommandRow = (
        String, String, String, String, String, Int64, Int64, Int64, Int64, Int64?, Int64?, String?, String?
    )

    public func enqueueCommand(_ command: NewCommand, maxQueued: Int) async throws -> CommandRecord {
        try await write { sql in
            // The device's row lock makes the count and the insert one step for every hub.
            guard let deviceID = try await sql.value("SELECT id FROM device WHERE name = \(command.device) FOR UPDATE", as: Int64.self)
            else { throw CommandStoreError.unknownDevice(command.device) }
            let open = try await sql.value(
                "SELECT count(*) FROM command WHERE device_id = \(deviceID) AND status IN \(unescaped: CommandStatus.openSQL)",
                as: Int64.self) ?? 0
            guard open < maxQueued else { throw CommandStoreError.queueFull(limit: maxQueued) }
            let record = command.record()
            try await sql.run(
                """
                INSERT INTO command (id, device_id, name, args, status, priority, created_at, expires_at)
                VALUES (\(record.id), \(deviceID), \(record.name), \(record.args.text), 'queued', \(Int64(record.priority)),
                        \(record.createdAt), \(record.expiresAt))
                """)
            return record
        }
    }

    public func command(id: String) async throws -> CommandRecord? {
        try await read { sql in try await Self.command(id: id, sql) }
    }

    public func commands(device: String?, statuses: [CommandStatus], limit: Int) async throws -> [CommandRecord] {
        let names = statuses.map(\.rawValue)
        return try await read { sql in
            try await sql.rows(
                """
                SELECT \(unescaped: Self.commandColumns) FROM command c JOIN device d ON d.id = c.device_id
                WHERE (\(device)::text IS NULL OR d.name = \(device)) AND (cardinality(\(names)::text[]) = 0 OR c.status = ANY(\(names)::text[]))
                ORDER BY c.n DESC LIMIT \(Int64(limit))
                """, as: CommandRow.self
            ).map(Self.commandRecord)
        }
    }

    public func takeCommandsToSend(device: String, window: Int, resend: Bool, now: Int64) async throws -> [CommandRecord] {
        // Most calls (every HTTP ingest answer) find nothing: a plain read says so.
        let waiting = try await read { sql in
            try await sql.value(
                """
                SELECT EXISTS (SELECT 1 FROM command c JOIN device d ON d.id = c.device_id
                               WHERE d.name = \(device) AND c.status IN ('queued', 'sent'))
                """, as: Bool.self) ?? false
        }
        guard waiting else { return [] }
        return try await write { sql in
            guard let deviceID = try await sql.value("SELECT id FROM device WHERE name = \(device) FOR UPDATE", as: Int64.self) else {
                return []
            }
            var taken: [String] = []
            if resend {
                taken += try await sql.column(
                    "SELECT id FROM command WHERE device_id = \(deviceID) AND status = 'sent' AND expires_at > \(now) ORDER BY n",
                    as: String.self)
            }
            let inFlight = try await sql.value(
                "SELECT count(*) FROM command WHERE device_id = \(deviceID) AND status = 'sent' AND expires_at > \(now)",
                as: Int64.self) ?? 0
            let room = window - (resend ? 0 : Int(inFlight)) - taken.count
            if room > 0 {
                taken += try await sql.column(
                    """
                    SELECT id FROM command WHERE device_id = \(deviceID) AND status = 'queued' AND expires_at > \(now)
                    ORDER BY priority DESC, n LIMIT \(Int64(room))
                    """, as: String.self)
            }
            guard !taken.isEmpty else { return [] }
            try await sql.run("UPDATE command SET status = 'sent', attempts = attempts + 1 WHERE id = ANY(\(taken)::text[])")
            var records: [CommandRecord] = []
            for id in taken { if let record = try await Self.command(id: id, sql) { records.append(record) } }
            return records
        }
    }

    public func changeCommand(_ change: CommandChange, now: Int64) async throws -> CommandRecord? {
        try await write { sql in try await Self.change(change, now: now, sql) }
    }

    public func expireCommands(now: Int64, limit: Int) async throws -> [CommandRecord] {
        try await write { sql in
            let due = try await sql.column(
                """
                SELECT id FROM command WHERE status IN \(unescaped: CommandStatus.openSQL) AND expires_at <= \(now)
                ORDER BY expires_at LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED
                """, as: String.self)
            var expired: [CommandRecord] = []
            for id in due {
                if let record = try await Self.change(CommandChange(id: id, device: nil, event: .expire), now: now, sql) {
                    expired.append(record)
                }
            }
            return expired
        }
    }

    public func devicesWithQueuedCommands() async throws -> Set<String> {
        try await read { sql in
            Set(try await sql.column(
                "SELECT name FROM device WHERE id IN (SELECT device_id FROM command WHERE status = 'queued')", as: String.self))
        }
    }

    public func nextCommandExpiry() async throws -> Int64? {
        try await read { sql in
            try await sql.value("SELECT min(expires_at) FROM command WHERE status IN \(unescaped: CommandStatus.openSQL)", as: Int64.self)
        }
    }

    public func commandCounts() async throws -> [CommandStatus: Int] {
        try await read { sql in
            var counts: [CommandStatus: Int] = [:]
            for (status, count) in try await sql.rows("SELECT status, count(*) FROM command GROUP BY status", as: (String, Int64).self) {
                if let status = CommandStatus(rawValue: status) { counts[status] = Int(count) }
            }
            return counts
        }
    }

    /// One change in the caller's transaction, where the lifecycle allows it;
    /// the row is locked first, so two hubs apply their changes in turn.
    static func change(_ change: CommandChange, now: Int64, _ sql: SQLSession) async throws -> CommandRecord? {
        guard let current = try await command(id: change.id, sql, lock: true), let next = try change.applied(to: current, now: now)
        else { return nil }
        try await sql.run(
            """
            UPDATE command SET status = \(next.status.rawValue), delivered_at = \(next.deliveredAt), completed_at = \(next.completedAt),
                result = \(next.result?.text), message = \(next.message)
            WHERE id = \(next.id)
            """)
        return next
    }

    static func command(id: String, _ sql: SQLSession, lock: Bool = false) async throws -> CommandRecord? {
        try await sql.rows(
            """
            SELECT \(unescaped: commandColumns) FROM command c JOIN device d ON d.id = c.device_id WHERE c.id = \(id)
            \(unescaped: lock ? "FOR UPDATE OF c" : "")
            """, as: CommandRow.self
        ).first.map(commandRecord)
    }

    private static func commandRecord(_ row: CommandRow) -> CommandRecord {
        let (id, device, name, args, status, priority, createdAt, expiresAt, attempts, deliveredAt, completedAt, result, message) = row
        return CommandRecord(
            id: id, device: device, name: name, args: (try? JSONValue.parse(args)) ?? .object([:]),
            status: CommandStatus(rawValue: status) ?? .queued, priority: Int(priority), createdAt: createdAt, expiresAt: expiresAt,
            attempts: Int(attempts), deliveredAt: deliveredAt, completedAt: completedAt,
            result: result.flatMap { try? JSONValue.parse($0) }, message: message)
    }
}
