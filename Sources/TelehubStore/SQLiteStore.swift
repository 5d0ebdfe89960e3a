import GRDB
import Synchronization
import TelehubCore

/// The embedded default store: one SQLite file in WAL mode, shared safely by a
/// running hub and the admin CLI (busy timeout, one writer at a time).
public final class SQLiteStore: TelemetryStore {
    let pool: DatabasePool
    /// The database file.
    public let path: String
    /// Metric name to id. Metric rows are never deleted, so cached ids stay valid.
    let metricIDs = Mutex<[String: Int64]>([:])

    /// Opens (creating if needed) the database at `path` and migrates it.
    /// - Parameter writerCacheMiB: page cache of the writing connection; a
    ///   larger cache keeps interleaved series inserts fast.
    public init(path: String, writerCacheMiB: Int = 64) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA cache_size = -\(writerCacheMiB * 1024)")
            // A new file returns space freed by retention to the disk. The mode
            // only takes effect through VACUUM once WAL mode has written the header;
            // on an empty file that is instant.
            if try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") == 0 {
                try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
                try db.execute(sql: "VACUUM")
            }
        }
        try Self.migrator.migrate(pool)
    }

    public func isWritable() async -> Bool {
        do {
            try await pool.write { db in try db.execute(sql: "PRAGMA user_version") }
            return true
        } catch {
            return false
        }
    }

    /// The file's schema version, for tests and diagnostics.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedMigrations(db) }
    }
}
