/// Keeping the store in shape: backup, retention, the layout migration, its
/// size and health, and closing it.
public protocol StoreMaintenance: Sendable {
    /// Writes a consistent copy of the store to `path` while it stays in use.
    func backup(to path: String) async throws
    /// Deletes at most `maxRows` raw rows older than `rawBefore` and rollup
    /// rows older than `rollupsBefore`, in one short transaction.
    func deleteExpired(rawBefore: Int64, rollupsBefore: Int64, maxRows: Int) async throws -> RetentionStep
    /// Deletes at most `maxRows` of the oldest raw rows (the oldest hour of data first), for a size cap.
    func deleteOldestRaw(maxRows: Int) async throws -> Int
    /// Moves at most about `maxValues` values written by an older storage
    /// layout into the current one, in one transaction; reads see both
    /// layouts meanwhile. - Returns: false once nothing is left to move.
    func migrateStep(maxValues: Int) async throws -> Bool

    /// Bytes of the store in use (excluding free pages).
    func storageBytes() async throws -> Int64

    /// Nil when a write can be made now, else why not, for `/healthz`.
    /// - Parameter probe: also write to the file (a store that just failed may
    ///   accept a transaction that writes nothing and still be full).
    func writeProblem(probe: Bool) async -> String?

    /// Ends the store's use by this process once nothing will write again:
    /// SQLite checkpoints its WAL into the database file and removes it, so
    /// a stopped hub leaves one whole file that can be copied; PostgreSQL
    /// closes its connections.
    func close() async
}
