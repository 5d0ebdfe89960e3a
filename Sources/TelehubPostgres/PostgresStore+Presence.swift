import PostgresNIO
import TelehubStore

/// Device connections across hubs: `device_presence` names the hub and the
/// connection id of each device's current connection; `hub_instance` says when
/// each hub last beat. A device counts as online while its connection's hub beats.
extension PostgresStore {
    public func beat(instance: String, at: Int64) async throws {
        try await write { sql in
            try await sql.run(
                """
                INSERT INTO hub_instance (instance, beat) VALUES (\(instance), \(at))
                ON CONFLICT (instance) DO UPDATE SET beat = greatest(hub_instance.beat, excluded.beat)
                """)
        }
    }

    public func connectionOpened(deviceID: Int64, instance: String, connection: String, at: Int64, aliveAfter: Int64) async throws -> Bool {
        try await write { sql in
            let previous = try await sql.value(
                """
                SELECT coalesce(h.beat, 0) FROM device_presence p LEFT JOIN hub_instance h ON h.instance = p.instance
                WHERE p.device_id = \(deviceID) FOR UPDATE OF p
                """, as: Int64.self)
            // Column `session` holds the connection id; it keeps its old name so hubs of earlier versions can share the database.
            try await sql.run(
                """
                INSERT INTO device_presence (device_id, instance, session, since) VALUES (\(deviceID), \(instance), \(connection), \(at))
                ON CONFLICT (device_id) DO UPDATE SET instance = excluded.instance, session = excluded.session, since = excluded.since
                """)
            return (previous ?? .min) >= aliveAfter
        }
    }

    public func connectionClosed(deviceID: Int64, instance: String, connection: String) async throws -> Bool {
        try await write { sql in
            // Column `session` holds the connection id; it keeps its old name so hubs of earlier versions can share the database.
            try await sql.count(
                """
                DELETE FROM device_presence WHERE device_id = \(deviceID) AND instance = \(instance) AND session = \(connection)
                RETURNING 1
                """) > 0
        }
    }

    public func onlineDevices(aliveAfter: Int64) async throws -> Set<String> {
        try await read { sql in
            Set(try await sql.column(
                """
                SELECT d.name FROM device_presence p JOIN device d ON d.id = p.device_id
                JOIN hub_instance h ON h.instance = p.instance WHERE h.beat >= \(aliveAfter)
                """, as: String.self))
        }
    }

    public func reapConnections(aliveAfter: Int64) async throws -> [String] {
        try await write { sql in
            let names = try await sql.column(
                """
                WITH gone AS (
                    DELETE FROM device_presence p WHERE NOT EXISTS (
                        SELECT 1 FROM hub_instance h WHERE h.instance = p.instance AND h.beat >= \(aliveAfter))
                    RETURNING p.device_id
                )
                SELECT d.name FROM gone JOIN device d ON d.id = gone.device_id
                """, as: String.self)
            // Hubs silent for a day are forgotten.
            try await sql.run("DELETE FROM hub_instance WHERE beat < \(aliveAfter - 86_400_000)")
            return names
        }
    }
}
