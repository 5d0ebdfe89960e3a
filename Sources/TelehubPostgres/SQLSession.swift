package import Logging
package import PostgresNIO

/// Statements on one leased connection (inside a transaction or not), with
/// the few shapes the store needs: run, all rows, the first value. Package
/// access for the insert benchmark, which times the store's statements.
package struct SQLSession {
    package let connection: PostgresConnection
    package let logger: Logger

    package init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Runs a statement and drains its rows.
    package func run(_ query: PostgresQuery) async throws {
        _ = try await connection.query(query, logger: logger).collect()
    }

    /// Runs a statement and returns how many rows it reported (from `RETURNING 1`).
    package func count(_ query: PostgresQuery) async throws -> Int {
        try await connection.query(query, logger: logger).collect().count
    }

    package func rows<each Column: PostgresDecodable>(_ query: PostgresQuery, as type: (repeat each Column).Type) async throws
        -> [(repeat each Column)]
    {
        var result: [(repeat each Column)] = []
        for try await row in try await connection.query(query, logger: logger) {
            result.append(try row.decode(type))
        }
        return result
    }

    /// The first column of every row.
    package func column<Column: PostgresDecodable>(_ query: PostgresQuery, as type: Column.Type) async throws -> [Column] {
        var result: [Column] = []
        for try await row in try await connection.query(query, logger: logger) {
            result.append(try row.decode(Column.self))
        }
        return result
    }

    /// The first column of the first row, nil when there is no row (or it is NULL).
    package func value<Column: PostgresDecodable>(_ query: PostgresQuery, as type: Column.Type) async throws -> Column?
    where Column._DecodableType == Column {
        for try await row in try await connection.query(query, logger: logger) {
            return try row.decode(Column?.self)
        }
        return nil
    }
}
