import GRDB
import Synchronization
import TelehubCore
public import TelehubStore

/// The embedded default store: one SQLite file in WAL mode, shared safely by a
/// running hub and the admin CLI (busy timeout, one writer at a time).
public final class SQLiteStore: TelemetryStore, ImmediateTokenLookup {
    let pool: DatabasePool
    /// The database file.
    public let path: String
    /// Metric name to id. Metric rows are never deleted, so cached ids stay valid.
    let metricIDs = Mutex<[String: Int64]>([:])
    /// Each series' newest chunk as the last commit left it (see `ChunkWriter`).
    let chunkCache = Mutex(ChunkCache())
    /// Changed by every write of chunks other than a commit (retention, the
    /// layout migration, deleting a device), inside its transaction, so the
    /// next commit knows its cache may be stale.
    let chunkGeneration = Mutex(0)
    /// The connection that finds presented tokens.
    let tokens: TokenLookup

    /// Call inside a write transaction that changes chunks outside `commit`.
    func chunksChangedElsewhere() {
        chunkGeneration.withLock { $0 += 1 }
    }

    /// Opens (creating if needed) the database at `path` and migrates it.
    /// A file that is not a Telehub database is refused before anything is
    /// written to it.
    /// - Parameters:
    ///   - writerCacheMiB: page cache of the writing connection; a larger
    ///     cache keeps interleaved series inserts fast.
    ///   - busyTimeout: how long a write waits for another process's lock
    ///     before the store reports itself unavailable.
    public init(path: String, writerCacheMiB: Int = 64, busyTimeout: Double = 10) throws {
        self.path = path
        self.tokens = TokenLookup(path: path, busyTimeout: busyTimeout)
        try DatabaseFileCheck.requireTelehubDatabase(at: path)
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
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
        } catch let error as DatabaseError {
            throw StoreError.cannotOpen(path: path, reason: Self.describe(error))
        }
    }

    public func writeProblem(probe: Bool) async -> String? {
        do {
            try await writeClassifyingFaults { db in
                // Rewriting the header's user version appends a page to the WAL,
                // so a full disk or a read-only file shows here.
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                if probe { try db.execute(sql: "PRAGMA user_version = \(version)") }
            }
            return nil
        } catch let error as StoreUnavailable {
            return error.reason
        } catch {
            return "\(error)"
        }
    }

    /// A write transaction whose failures to write at all (locked, full, I/O)
    /// are reported as `StoreUnavailable`; other errors pass unchanged.
    func writeClassifyingFaults<T: Sendable>(_ updates: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(updates)
        } catch let error as DatabaseError where Self.isStorageFault(error) {
            throw StoreUnavailable(Self.describe(error))
        }
    }

    /// Result codes that say the file cannot be written now, whatever the data.
    static func isStorageFault(_ error: DatabaseError) -> Bool {
        switch error.resultCode.primaryResultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_READONLY, .SQLITE_CANTOPEN,
            .SQLITE_NOMEM, .SQLITE_PROTOCOL, .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_PERM, .SQLITE_NOLFS:
            true
        default:
            false
        }
    }

    static func describe(_ error: DatabaseError) -> String {
        switch error.resultCode.primaryResultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: "the database is locked by another process"
        case .SQLITE_FULL: "the disk is full"
        case .SQLITE_IOERR: "I/O error: \(error.message ?? "unknown")"
        case .SQLITE_READONLY, .SQLITE_PERM: "the database file is read-only"
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: "the database file is corrupt"
        default: error.message ?? "\(error)"
        }
    }

    public func close() async {
        // Every committed page into the database file, and the WAL emptied.
        // Closing alone would not do it: the pool closes its writer first,
        // and the read-only readers that close last cannot checkpoint.
        // Busy (the CLI reading at this moment): the WAL stays, whole and
        // valid, for the next open to checkpoint.
        tokens.close()
        _ = try? await pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        try? pool.close()
    }

    /// The file's schema version, for tests and diagnostics.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedMigrations(db) }
    }
}
