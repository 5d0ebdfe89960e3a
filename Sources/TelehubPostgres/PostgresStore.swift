import Logging
public import PostgresNIO
import Synchronization
public import TelehubStore

/// `TelemetryStore` on a PostgreSQL server, for several hub instances that
/// share one database (`--db postgresql://…`).
///
/// Readings are rows of a table partitioned by week of `ts` (retention drops
/// whole partitions); minute and hour rollups are kept in the same
/// transaction as the rows; everything else mirrors the SQLite store's tables.
/// Every statement goes through a `PostgresClient` pool.
public final class PostgresStore: TelemetryStore {
    package let client: PostgresClient
    private let runner: Task<Void, Never>
    let logger: Logger
    public let url: PostgresURL
    /// Metric name to id. Metric rows are never deleted, so cached ids stay valid.
    let metricIDs = Mutex<[String: Int64]>([:])
    /// Weeks whose partition is known to exist (created here or seen); a
    /// retention step that drops one removes it.
    let partitions = Mutex<Set<Int64>>([])

    private init(url: PostgresURL, maxConnections: Int, logger: Logger) {
        self.url = url
        self.logger = logger
        // The pool's own chatter (a lease queued before `run()` has started) is not the user's concern.
        var background = logger
        background.logLevel = max(logger.logLevel, .error)
        let client = PostgresClient(configuration: url.clientConfiguration(maxConnections: maxConnections), backgroundLogger: background)
        self.client = client
        self.runner = Task { await client.run() }
    }

    deinit {
        runner.cancel()
    }

    /// Closes the pool's connections (cancelling `run()` shuts the client down).
    public func close() async {
        runner.cancel()
        await runner.value
    }

    /// Connects and brings the schema up to date (safe while other instances
    /// do the same: migrations hold an advisory lock).
    /// - Parameter maxConnections: the pool's size; a hub needs a few (ingest,
    ///   reads, alerts, the cross-instance listener has its own).
    public static func open(_ url: PostgresURL, maxConnections: Int = 8, logger: Logger = Logger(label: "telehub.postgres"))
        async throws -> PostgresStore
    {
        do {
            // One plain connection first: a wrong address, password or database is
            // reported at once with the server's words, not after the pool's retries.
            let connection = try await PostgresConnection.connect(
                configuration: url.connectionConfiguration(), id: 0, logger: logger)
            try await connection.close()
        } catch {
            throw PostgresStore.openFailure(url, error)
        }
        let store = PostgresStore(url: url, maxConnections: maxConnections, logger: logger)
        do {
            try await store.migrate()
        } catch {
            throw PostgresStore.openFailure(url, error)
        }
        return store
    }

    private static func openFailure(_ url: PostgresURL, _ error: any Error) -> any Error {
        switch PostgresFault.classify(error) {
        case let unavailable as StoreUnavailable:
            StoreError.cannotOpen(path: url.redacted, reason: unavailable.reason)
        case PostgresStoreError.server(let state, let message) where state.hasPrefix("28") || state.hasPrefix("3D"):
            // Authentication failed, or no such database.
            StoreError.cannotOpen(path: url.redacted, reason: message)
        case let other: other
        }
    }

    /// Runs `body` on a pooled connection, outside a transaction.
    func read<Result: Sendable>(_ body: (SQLSession) async throws -> Result) async throws -> Result {
        do {
            return try await client.withConnection { connection in
                try await body(SQLSession(connection: connection, logger: self.logger))
            }
        } catch {
            throw PostgresFault.classify(error)
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back
    /// when it throws (the error is the body's own, classified).
    func write<Result: Sendable>(_ body: (SQLSession) async throws -> Result) async throws -> Result {
        do {
            return try await client.withConnection { connection in
                let sql = SQLSession(connection: connection, logger: self.logger)
                try await sql.run("BEGIN")
                do {
                    let result = try await body(sql)
                    try await sql.run("COMMIT")
                    return result
                } catch {
                    try? await sql.run("ROLLBACK")
                    throw error
                }
            }
        } catch {
            throw PostgresFault.classify(error)
        }
    }

    public func writeProblem(probe: Bool) async -> String? {
        do {
            let readOnly = try await read { sql in
                try await sql.value("SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'", as: Bool.self)
            }
            if readOnly == true { return "the PostgreSQL server is read-only (a standby, or default_transaction_read_only)" }
            if probe {
                // A transaction id is assigned only to a transaction that may write.
                try await write { sql in try await sql.run("SELECT txid_current()") }
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    public func storageBytes() async throws -> Int64 {
        try await read { sql in
            try await sql.value(
                """
                SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8 FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = current_schema() AND c.relkind = 'r'
                """, as: Int64.self) ?? 0
        }
    }

    public func backup(to path: String) async throws {
        let schema = url.schema.map { " -n \($0)" } ?? ""
        throw StoreError.backupNotHere(
            "a PostgreSQL store is backed up with PostgreSQL's own tools, while the hubs run: "
                + "pg_dump -h \(url.host) -p \(url.port) -U \(url.username)\(schema) -Fc \(url.database) > telehub.dump "
                + "(restore with pg_restore; for point-in-time recovery use pg_basebackup with WAL archiving)")
    }

    public func migrateStep(maxValues: Int) async throws -> Bool { false }
}
