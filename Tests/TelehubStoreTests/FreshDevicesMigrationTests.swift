import Foundation
import GRDB
import Synchronization
import Testing
import TelehubCore
@testable import TelehubSQLite
import TelehubStore

@Suite struct FreshDevicesMigrationTests {
    /// A file written before device ids were AUTOINCREMENT keeps its devices,
    /// tokens and readings, and loses the rows a deleted device left behind.
    @Test func aFileFromBeforeKeepsItsDataAndLosesOrphans() async throws {
        let database = try TemporaryDatabase()
        let queue = try DatabaseQueue(path: database.path)
        try SQLiteStore.migrator.migrate(queue, upTo: "v2-rollups")
        try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO device (id, name, created_at, last_seq) VALUES (1, 'kept', 0, 5);
                INSERT INTO metric (id, name) VALUES (1, 't');
                INSERT INTO token (kind, device_id, hash, created_at) VALUES ('device', 1, x'01', 0);
                INSERT INTO reading VALUES (1, 1, 1000, 1.5), (9, 1, 1000, 2.5);
                INSERT INTO latest VALUES (1, 1, 1000, 1.5), (9, 1, 1000, 2.5);
                INSERT INTO rollup_1m VALUES (9, 1, 0, 2.5, 2.5, 2.5, 1);
                """)
        }
        try queue.close()
        let store = try SQLiteStore(path: database.path)
        #expect(try store.appliedMigrations() == SQLiteStore.migrator.migrations)
        let devices = try await store.devices()
        #expect(devices.map(\.name) == ["kept"] && devices.first?.id == 1 && devices.first?.lastSeq == 5)
        #expect(try await store.tokens().count == 1)
        while try await store.migrateStep(maxValues: 1000) {}
        let rows = try await store.pool.read { db in
            try Int64.fetchAll(db, sql: "SELECT device_id FROM chunk UNION ALL SELECT device_id FROM latest UNION ALL SELECT device_id FROM rollup")
        }
        #expect(rows == [1, 1, 1])  // its chunk, latest value and (rebuilt) rollup; nothing of device 9
        #expect(try await store.storedValues() == [StoredValue(deviceID: 1, metric: "t", ts: 1000, value: 1.5)])
        // The token still belongs to its device: deleting the device deletes it.
        #expect(try await store.deleteDevice(named: "kept"))
        #expect(try await store.tokens().isEmpty)
        #expect(try await store.ensureDevice(named: "kept") > 1)
    }
}
