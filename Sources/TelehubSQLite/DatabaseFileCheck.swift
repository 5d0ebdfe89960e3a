import Foundation
import GRDB
import TelehubStore

/// Refuses, before anything is written, a file that is not a Telehub
/// database: another program's SQLite file, a corrupt one, or no SQLite file
/// at all. Migrating such a file would add tables to someone else's data.
enum DatabaseFileCheck {
    /// Marks a file as Telehub's (`PRAGMA application_id`, "THB1").
    static let applicationID: Int32 = 0x5448_4231

    /// Files made before the application id was set carry this migration.
    static let firstMigration = "v1-foundation"

    static func requireTelehubDatabase(at path: String) throws {
        guard let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int, size > 0 else {
            return  // new or empty: it becomes a Telehub database
        }
        guard hasSQLiteHeader(path) else { throw StoreError.notTelehubDatabase(path: path, reason: "not an SQLite file") }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            if let reason = try queue.read(foreignReason) {
                throw StoreError.notTelehubDatabase(path: path, reason: reason)
            }
        } catch let error as DatabaseError {
            throw StoreError.notTelehubDatabase(path: path, reason: SQLiteStore.describe(error))
        }
    }

    /// Nil when the file is Telehub's or holds no tables yet.
    private static func foreignReason(_ db: Database) throws -> String? {
        if try Int32.fetchOne(db, sql: "PRAGMA application_id") == applicationID { return nil }
        let tables = try String.fetchAll(
            db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        if tables.isEmpty { return nil }
        if tables.contains("grdb_migrations"),
            try String.fetchOne(db, sql: "SELECT identifier FROM grdb_migrations WHERE identifier = ?", arguments: [firstMigration]) != nil
        {
            return nil
        }
        return "it holds another program's tables (\(tables.prefix(5).joined(separator: ", ")))"
    }

    private static func hasSQLiteHeader(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        return header == Data("SQLite format 3\u{0}".utf8)
    }
}
