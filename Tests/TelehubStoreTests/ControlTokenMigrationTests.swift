import Foundation
import GRDB
import Testing
import TelehubAuth
import TelehubCore
@testable import TelehubSQLite
import TelehubStore

@Suite struct ControlTokenMigrationTests {
    /// A file from before control tokens keeps its tokens (ids, devices and
    /// all), its dashboard sessions still lead to their tokens, and it takes
    /// control tokens afterwards.
    @Test func aFileFromBeforeKeepsItsTokensAndSessions() async throws {
        let database = try TemporaryDatabase()
        let queue = try DatabaseQueue(path: database.path)
        try SQLiteStore.migrator.migrate(queue, upTo: "v6-delivery-folding")
        let read = TokenSecret.generate(.read)
        let device = TokenSecret.generate(.device)
        let session: [UInt8] = Array(repeating: 5, count: 32)
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO device (id, name, created_at) VALUES (4, 'pi', 0)")
            try db.execute(
                sql: "INSERT INTO token (id, kind, device_id, label, hash, created_at) VALUES (7, 'read', NULL, 'ops', ?, 0), (8, 'device', 4, NULL, ?, 0)",
                arguments: [Data(read.hash), Data(device.hash)])
            try db.execute(
                sql: "INSERT INTO web_session (hash, token_id, created_at, expires_at) VALUES (?, 7, 0, ?)",
                arguments: [Data(session), Int64.max])
            // A file that cannot take a control token yet.
            #expect(throws: DatabaseError.self) {
                try db.execute(sql: "INSERT INTO token (kind, hash, created_at) VALUES ('control', x'02', 0)")
            }
        }
        try queue.close()
        let store = try SQLiteStore(path: database.path)
        #expect(try store.appliedMigrations() == SQLiteStore.migrator.migrations)
        #expect(try await store.tokens().map { [$0.id: $0.kind] } == [[7: .read], [8: .device]])
        #expect(try await store.token(hash: device.hash)?.deviceID == 4)
        #expect(try await store.webSessionToken(hash: session, at: 1)?.record.id == 7)
        let control = try await store.mintToken(kind: .control, device: nil, label: nil, expiresAt: nil)
        #expect(control.record.id > 8)
        // Foreign keys still hold: deleting the device takes its token.
        #expect(try await store.deleteDevice(named: "pi"))
        #expect(try await store.tokens().map(\.id) == [7, control.record.id])
        // And revoking a token's row removes its sessions.
        _ = try await store.pool.write { db in try db.execute(sql: "DELETE FROM token WHERE id = 7") }
        #expect(try await store.webSessionToken(hash: session, at: 1) == nil)
    }
}
