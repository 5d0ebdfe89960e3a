import Logging
import PostgresNIO

extension PostgresStore {
    /// Claims the database for one serving hub: a session advisory lock on a
    /// connection of its own, held while the hub runs and released by the
    /// server the moment that connection ends (even on `kill -9`).
    ///
    /// Live events, presence and takeover are still kept in each hub's memory,
    /// so a second hub on the same database would show its own devices only;
    /// until they travel through the database, a second `serve` is refused
    /// with a clear message instead. CLI commands do not claim and run beside
    /// the hub as with SQLite.
    /// - Returns: the claim; `release()` (or the process ending) gives it up.
    public func claimForServing() async throws -> ServeClaim {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: url.connectionConfiguration(), id: 1, logger: logger)
        } catch {
            throw PostgresFault.classify(error)
        }
        let claimed: Bool
        do {
            let session = SQLSession(connection: connection, logger: logger)
            claimed = try await session.value(
                "SELECT pg_try_advisory_lock(hashtext('telehub serve ' || current_schema()))", as: Bool.self) ?? false
        } catch {
            try? await connection.close()
            throw PostgresFault.classify(error)
        }
        guard claimed else {
            try? await connection.close()
            throw PostgresStoreError.schema(
                "another telehub serve is using \(url.redacted); this version runs one hub per PostgreSQL database "
                    + "(or per schema: add ?schema=NAME for another, separate hub)")
        }
        return ServeClaim(connection: connection)
    }
}

/// The connection that holds a serving hub's claim on its database.
public final class ServeClaim: Sendable {
    private let connection: PostgresConnection

    init(connection: PostgresConnection) {
        self.connection = connection
    }

    public func release() async {
        try? await connection.close()
    }
}
