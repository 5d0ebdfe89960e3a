import PostgresNIO
public import TelehubCore
public import TelehubStore

extension PostgresStore {
    private typealias StateRow = (String, Int64, Int64?, String, Int64, Int64?, Int64?)

    public func deviceState(device: String) async throws -> DeviceState? {
        try await read { sql in
            guard let id = try await sql.value("SELECT id FROM device WHERE name = \(device)", as: Int64.self) else { return nil }
            return try await Self.state(deviceID: id, sql)
        }
    }

    public func changeDesired(device: String, _ change: DesiredChange, ifVersion: Int64?, now: Int64) async throws -> DeviceState {
        try await write { sql in
            // The device's row lock orders changes of one device across hubs.
            guard let id = try await sql.value("SELECT id FROM device WHERE name = \(device) FOR UPDATE", as: Int64.self) else {
                throw StateStoreError.unknownDevice(device)
            }
            let current = try await Self.state(deviceID: id, sql)
            let next = try change.applied(to: current.desired, ifVersion: ifVersion)
            try await sql.run(
                """
                INSERT INTO device_state (device_id, desired, desired_version, desired_at)
                VALUES (\(id), \(next.text), \(current.desired.version + 1), \(now))
                ON CONFLICT (device_id) DO UPDATE SET desired = excluded.desired, desired_version = excluded.desired_version,
                    desired_at = excluded.desired_at
                """)
            return try await Self.state(deviceID: id, sql)
        }
    }

    public func stateVersions() async throws -> [String: StateVersions] {
        try await read { sql in
            var versions: [String: StateVersions] = [:]
            for (name, desired, reported, applied) in try await sql.rows(
                """
                SELECT d.name, s.desired_version, s.reported_version, s.applied
                FROM device_state s JOIN device d ON d.id = s.device_id
                """, as: (String, Int64, Int64, Int64?).self)
            {
                versions[name] = StateVersions(desired: desired, reported: reported, applied: applied)
            }
            return versions
        }
    }

    public func desiredVersions(devices: Set<String>) async throws -> [String: Int64] {
        guard !devices.isEmpty else { return [:] }
        let names = Array(devices)
        return try await read { sql in
            var versions: [String: Int64] = [:]
            for (name, version) in try await sql.rows(
                """
                SELECT d.name, s.desired_version FROM device_state s JOIN device d ON d.id = s.device_id
                WHERE s.desired_version > 0 AND d.name = ANY(\(names)::text[])
                """, as: (String, Int64).self)
            {
                versions[name] = version
            }
            return versions
        }
    }

    /// A device's report, in the commit's transaction (see `SQLiteStore.applyReport`).
    static func applyReport(_ pending: PendingReport, now: Int64, _ sql: SQLSession) async throws -> DeviceState? {
        let current = try await state(deviceID: pending.deviceID, sql)
        guard let next = pending.report.applied(to: current.reported) else { return nil }
        try await sql.run(
            """
            INSERT INTO device_state (device_id, reported, reported_version, reported_at, applied)
            VALUES (\(pending.deviceID), \(next.text), \(current.reported.version + 1), \(now), \(pending.report.applied))
            ON CONFLICT (device_id) DO UPDATE SET reported = excluded.reported, reported_version = excluded.reported_version,
                reported_at = excluded.reported_at, applied = coalesce(excluded.applied, device_state.applied)
            """)
        return try await state(deviceID: pending.deviceID, sql)
    }

    static func state(deviceID: Int64, _ sql: SQLSession) async throws -> DeviceState {
        guard
            let (desired, desiredVersion, desiredAt, reported, reportedVersion, reportedAt, applied) = try await sql.rows(
                """
                SELECT desired, desired_version, desired_at, reported, reported_version, reported_at, applied
                FROM device_state WHERE device_id = \(deviceID)
                """, as: StateRow.self
            ).first
        else { return DeviceState() }
        return DeviceState(
            desired: VersionedState(
                version: desiredVersion, state: (try? JSONValue.parse(desired)) ?? .object([:]), updatedAt: desiredAt),
            reported: ReportedState(
                version: reportedVersion, state: (try? JSONValue.parse(reported)) ?? .object([:]), updatedAt: reportedAt,
                applied: applied))
    }
}
