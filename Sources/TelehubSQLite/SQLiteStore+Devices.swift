import GRDB
public import TelehubCore
import TelehubStore

extension SQLiteStore {
    public func deviceStatuses() async throws -> [DeviceStatus] {
        try await pool.read { db in try Self.statuses(db, name: nil) }
    }

    public func deviceStatus(named name: String) async throws -> DeviceStatus? {
        try await pool.read { db in try Self.statuses(db, name: name).first }
    }

    public func devices() async throws -> [DeviceRecord] {
        let now = EpochClock.nowMs()
        return try await pool.read { db in
            try GRDB.Row.fetchAll(
                db,
                sql: """
                    SELECT d.id, d.name, d.created_at, d.last_seen, d.last_seq,
                           (SELECT count(*) FROM token t WHERE t.device_id = d.id AND t.revoked_at IS NULL
                              AND (t.expires_at IS NULL OR t.expires_at > ?)) AS tokens
                    FROM device d ORDER BY d.name
                    """, arguments: [now]
            ).map { row in
                DeviceRecord(
                    id: row["id"], name: row["name"], createdAt: row["created_at"], lastSeen: row["last_seen"],
                    lastSeq: row["last_seq"], tokens: row["tokens"])
            }
        }
    }

    public func ensureDevice(named name: String) async throws -> Int64 {
        let now = EpochClock.nowMs()
        return try await pool.write { db in try Self.deviceID(named: name, db, now: now) }
    }

    public func deleteDevice(named name: String) async throws -> Bool {
        try await pool.write { db in
            self.chunksChangedElsewhere()
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM device WHERE name = ?", arguments: [name]) else {
                return false
            }
            for table in ["chunk", "latest", "rollup", "token"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE device_id = ?", arguments: [id])
            }
            if try LegacyRows.present(db) {
                for table in ["reading", "rollup_1m", "rollup_1h"] {
                    try db.execute(sql: "DELETE FROM \(table) WHERE device_id = ?", arguments: [id])
                }
            }
            try db.execute(sql: "DELETE FROM device WHERE id = ?", arguments: [id])
            return true
        }
    }

    /// Finds the device's id, creating the device when it does not exist yet.
    static func deviceID(named name: String, _ db: Database, now: Int64) throws -> Int64 {
        guard NameRules.isValidDeviceName(name) else { throw StoreError.invalidDeviceName(name) }
        try db.execute(
            sql: "INSERT INTO device (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            arguments: [name, now])
        guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM device WHERE name = ?", arguments: [name]) else {
            throw StoreError.invalidDeviceName(name)
        }
        return id
    }

    private static func statuses(_ db: Database, name: String?) throws -> [DeviceStatus] {
        let filter = name == nil ? "" : "WHERE d.name = ?"
        let arguments: StatementArguments = name.map { [$0] } ?? []
        var devices = try GRDB.Row.fetchAll(
            db, sql: "SELECT d.id, d.name, d.last_seen, d.last_seq FROM device d \(filter) ORDER BY d.name",
            arguments: arguments
        ).map { row -> (Int64, DeviceStatus) in
            (row["id"], DeviceStatus(name: row["name"], online: false, lastSeen: row["last_seen"], lastSeq: row["last_seq"], metrics: [:]))
        }
        let index = Dictionary(uniqueKeysWithValues: devices.enumerated().map { ($1.0, $0) })
        let latest = try GRDB.Row.fetchCursor(
            db,
            sql: """
                SELECT l.device_id, m.name, l.ts, l.value FROM latest l JOIN metric m ON m.id = l.metric_id
                \(name == nil ? "" : "WHERE l.device_id = (SELECT id FROM device WHERE name = ?)")
                """, arguments: arguments)
        let displays = MetricDisplayBook(try metricDisplays(db))
        while let row = try latest.next() {
            guard let position = index[row[0]] else { continue }
            let metric: String = row[1]
            let shown = displays.display(device: devices[position].1.name, metric: metric)
            devices[position].1.metrics[metric] = LatestValue(ts: row[2], value: row[3], unit: shown.unit, label: shown.label)
        }
        return devices.map(\.1)
    }
}

extension SQLiteStore {
    /// Units and labels (`telehub metric set`); device `''` stands for every device.
    static let metricDisplaySchema = """
        CREATE TABLE metric_display (
            device TEXT NOT NULL,
            metric TEXT NOT NULL,
            unit TEXT,
            label TEXT,
            PRIMARY KEY (device, metric)
        ) WITHOUT ROWID;
        """

    /// Sets (or, with both nil, removes) how a metric is shown.
    public func setMetricDisplay(_ display: MetricDisplay) async throws {
        if let problem = display.problem { throw StoreError.invalidDisplay(problem) }
        try await pool.write { db in
            if display.unit == nil, display.label == nil {
                try db.execute(
                    sql: "DELETE FROM metric_display WHERE device = ? AND metric = ?", arguments: [display.device ?? "", display.metric])
            } else {
                try db.execute(
                    sql: """
                        INSERT INTO metric_display (device, metric, unit, label) VALUES (?, ?, ?, ?)
                        ON CONFLICT (device, metric) DO UPDATE SET unit = excluded.unit, label = excluded.label
                        """, arguments: [display.device ?? "", display.metric, display.unit, display.label])
            }
        }
    }

    public func metricDisplays() async throws -> [MetricDisplay] {
        try await pool.read { db in try Self.metricDisplays(db) }
    }

    static func metricDisplays(_ db: Database) throws -> [MetricDisplay] {
        try GRDB.Row.fetchAll(db, sql: "SELECT device, metric, unit, label FROM metric_display ORDER BY metric, device").map { row in
            let device: String = row[0]
            return MetricDisplay(device: device.isEmpty ? nil : device, metric: row[1], unit: row[2], label: row[3])
        }
    }
}
