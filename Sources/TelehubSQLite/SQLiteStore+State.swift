import Foundation
import GRDB
public import TelehubCore
public import TelehubStore

extension SQLiteStore {
    /// Desired and reported state, a row per device that ever had either.
    static let stateSchema = """
        CREATE TABLE device_state (
            device_id INTEGER PRIMARY KEY REFERENCES device(id) ON DELETE CASCADE,
            desired TEXT NOT NULL DEFAULT '{}',
            desired_version INTEGER NOT NULL DEFAULT 0,
            desired_at INTEGER,
            reported TEXT NOT NULL DEFAULT '{}',
            reported_version INTEGER NOT NULL DEFAULT 0,
            reported_at INTEGER,
            applied INTEGER
        );
        """

    public func deviceState(device: String) async throws -> DeviceState? {
        try await pool.read { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM device WHERE name = ?", arguments: [device]) else { return nil }
            return try Self.state(deviceID: id, db)
        }
    }

    public func changeDesired(device: String, _ change: DesiredChange, ifVersion: Int64?, now: Int64) async throws -> DeviceState {
        try await writeClassifyingFaults { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM device WHERE name = ?", arguments: [device]) else {
                throw StateStoreError.unknownDevice(device)
            }
            let current = try Self.state(deviceID: id, db)
            let next = try change.applied(to: current.desired, ifVersion: ifVersion)
            try db.execute(
                sql: """
                    INSERT INTO device_state (device_id, desired, desired_version, desired_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (device_id) DO UPDATE SET desired = excluded.desired, desired_version = excluded.desired_version,
                        desired_at = excluded.desired_at
                    """,
                arguments: [id, next.text, current.desired.version + 1, now])
            return try Self.state(deviceID: id, db)
        }
    }

    public func stateVersions() async throws -> [String: StateVersions] {
        try await pool.read { db in
            var versions: [String: StateVersions] = [:]
            let rows = try GRDB.Row.fetchAll(
                db,
                sql: """
                    SELECT d.name, s.desired_version, s.reported_version, s.applied
                    FROM device_state s JOIN device d ON d.id = s.device_id
                    """)
            for row in rows { versions[row[0]] = StateVersions(desired: row[1], reported: row[2], applied: row[3]) }
            return versions
        }
    }

    /// Asked four times a second with every device connected here: the rows
    /// that have a desired object are read and matched in memory, so the cost
    /// follows the devices that have one, not the connected ones (passing
    /// 10,000 connected names as a JSON array for `json_each` was 2.8% of a
    /// busy hub's CPU).
    public func desiredVersions(devices: Set<String>) async throws -> [String: Int64] {
        guard !devices.isEmpty else { return [:] }
        return try await pool.read { db in
            var versions: [String: Int64] = [:]
            let rows = try GRDB.Row.fetchCursor(
                db,
                sql: """
                    SELECT d.name, s.desired_version FROM device_state s JOIN device d ON d.id = s.device_id
                    WHERE s.desired_version > 0
                    """)
            while let row = try rows.next() {
                let name: String = row[0]
                if devices.contains(name) { versions[name] = row[1] }
            }
            return versions
        }
    }

    /// A device's report, in the commit's transaction. A report whose merged
    /// state would break the bounds is not stored (the device was told of the
    /// bounds: its patch alone was checked when it arrived).
    static func applyReport(_ pending: PendingReport, now: Int64, _ db: Database) throws -> DeviceState? {
        let current = try state(deviceID: pending.deviceID, db)
        guard let next = pending.report.applied(to: current.reported) else { return nil }
        try db.execute(
            sql: """
                INSERT INTO device_state (device_id, reported, reported_version, reported_at, applied) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (device_id) DO UPDATE SET reported = excluded.reported, reported_version = excluded.reported_version,
                    reported_at = excluded.reported_at, applied = coalesce(excluded.applied, device_state.applied)
                """,
            arguments: [pending.deviceID, next.text, current.reported.version + 1, now, pending.report.applied])
        return try state(deviceID: pending.deviceID, db)
    }

    static func state(deviceID: Int64, _ db: Database) throws -> DeviceState {
        guard let row = try GRDB.Row.fetchOne(db, sql: "SELECT * FROM device_state WHERE device_id = ?", arguments: [deviceID]) else {
            return DeviceState()
        }
        return DeviceState(
            desired: VersionedState(
                version: row["desired_version"], state: (try? JSONValue.parse(row["desired"] as String)) ?? .object([:]),
                updatedAt: row["desired_at"]),
            reported: ReportedState(
                version: row["reported_version"], state: (try? JSONValue.parse(row["reported"] as String)) ?? .object([:]),
                updatedAt: row["reported_at"], applied: row["applied"]))
    }
}
