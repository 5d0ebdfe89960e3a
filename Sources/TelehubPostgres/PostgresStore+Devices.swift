import PostgresNIO
public import TelehubCore
import TelehubStore

extension PostgresStore {
    public func deviceStatuses() async throws -> [DeviceStatus] {
        try await read { sql in try await Self.statuses(sql, name: nil) }
    }

    public func deviceStatus(named name: String) async throws -> DeviceStatus? {
        try await read { sql in try await Self.statuses(sql, name: name).first }
    }

    public func devices() async throws -> [DeviceRecord] {
        let now = EpochClock.nowMs()
        return try await read { sql in
            try await sql.rows(
                """
                SELECT d.id, d.name, d.created_at, d.last_seen, d.last_seq,
                       (SELECT count(*) FROM token t WHERE t.device_id = d.id AND t.revoked_at IS NULL
                          AND (t.expires_at IS NULL OR t.expires_at > \(now)))::int8
                FROM device d ORDER BY d.name COLLATE "C"
                """, as: (Int64, String, Int64, Int64?, Int64, Int64).self
            ).map { DeviceRecord(id: $0, name: $1, createdAt: $2, lastSeen: $3, lastSeq: $4, tokens: Int($5)) }
        }
    }

    public func deviceActivity() async throws -> [DeviceRecord] {
        try await read { sql in
            try await sql.rows("SELECT id, name, created_at, last_seen, last_seq FROM device", as: (Int64, String, Int64, Int64?, Int64).self)
                .map { DeviceRecord(id: $0, name: $1, createdAt: $2, lastSeen: $3, lastSeq: $4, tokens: 0) }
        }
    }

    public func ensureDevice(named name: String) async throws -> Int64 {
        let now = EpochClock.nowMs()
        return try await write { sql in try await Self.deviceID(named: name, sql, now: now) }
    }

    public func deleteDevice(named name: String) async throws -> Bool {
        try await write { sql in
            // The row lock waits for commits holding the device (FOR KEY SHARE) to end.
            guard let id = try await sql.value("SELECT id FROM device WHERE name = \(name) FOR UPDATE", as: Int64.self) else {
                return false
            }
            for table in ["reading", "latest", "rollup_minute", "rollup_hour"] {
                try await sql.run(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE device_id = $1", binds: Self.binds(id)))
            }
            try await sql.run("DELETE FROM device WHERE id = \(id)")
            return true
        }
    }

    /// Finds the device's id, creating the device when it does not exist yet.
    static func deviceID(named name: String, _ sql: SQLSession, now: Int64) async throws -> Int64 {
        guard NameRules.isValidDeviceName(name) else { throw StoreError.invalidDeviceName(name) }
        try await sql.run("INSERT INTO device (name, created_at) VALUES (\(name), \(now)) ON CONFLICT (name) DO NOTHING")
        guard let id = try await sql.value("SELECT id FROM device WHERE name = \(name)", as: Int64.self) else {
            throw StoreError.invalidDeviceName(name)
        }
        return id
    }

    static func binds(_ values: Int64...) -> PostgresBindings {
        var binds = PostgresBindings()
        for value in values { binds.append(value) }
        return binds
    }

    private static func statuses(_ sql: SQLSession, name: String?) async throws -> [DeviceStatus] {
        let filter = name == nil ? "" : "WHERE d.name = $1"
        var binds = PostgresBindings()
        if let name { binds.append(name) }
        var devices = try await sql.rows(
            PostgresQuery(unsafeSQL: "SELECT d.id, d.name, d.last_seen, d.last_seq FROM device d \(filter) ORDER BY d.name COLLATE \"C\"", binds: binds),
            as: (Int64, String, Int64?, Int64).self
        ).map { ($0, DeviceStatus(name: $1, online: false, lastSeen: $2, lastSeq: $3, metrics: [:])) }
        let index = Dictionary(uniqueKeysWithValues: devices.enumerated().map { ($1.0, $0) })
        let latest = try await sql.rows(
            PostgresQuery(
                unsafeSQL: """
                    SELECT l.device_id, m.name, l.ts, l.value FROM latest l JOIN metric m ON m.id = l.metric_id
                    \(name == nil ? "" : "WHERE l.device_id = (SELECT id FROM device d \(filter))")
                    """, binds: binds),
            as: (Int64, String, Int64, Double).self)
        let displays = MetricDisplayBook(try await metricDisplays(sql))
        for (deviceID, metric, ts, value) in latest {
            guard let position = index[deviceID] else { continue }
            let shown = displays.display(device: devices[position].1.name, metric: metric)
            devices[position].1.metrics[metric] = LatestValue(ts: ts, value: value, unit: shown.unit, label: shown.label)
        }
        return devices.map(\.1)
    }

    /// Sets (or, with both nil, removes) how a metric is shown.
    public func setMetricDisplay(_ display: MetricDisplay) async throws {
        if let problem = display.problem { throw StoreError.invalidDisplay(problem) }
        let device = display.device ?? ""
        try await write { sql in
            if display.unit == nil, display.label == nil {
                try await sql.run("DELETE FROM metric_display WHERE device = \(device) AND metric = \(display.metric)")
            } else {
                try await sql.run(
                    """
                    INSERT INTO metric_display (device, metric, unit, label) VALUES (\(device), \(display.metric), \(display.unit), \(display.label))
                    ON CONFLICT (device, metric) DO UPDATE SET unit = excluded.unit, label = excluded.label
                    """)
            }
        }
    }

    public func metricDisplays() async throws -> [MetricDisplay] {
        try await read { sql in try await Self.metricDisplays(sql) }
    }

    static func metricDisplays(_ sql: SQLSession) async throws -> [MetricDisplay] {
        try await sql.rows("SELECT device, metric, unit, label FROM metric_display ORDER BY metric COLLATE \"C\", device COLLATE \"C\"", as: (String, String, String?, String?).self)
            .map { MetricDisplay(device: $0.isEmpty ? nil : $0, metric: $1, unit: $2, label: $3) }
    }
}
