import PostgresNIO
import TelehubStore

/// Sorts PostgreSQL's errors into the store's two kinds: the server cannot
/// take a write now (down, restarting, out of disk, a conflict to retry),
/// which is `StoreUnavailable` and keeps the batch for later, and everything
/// else, which is about the statement's own data.
package enum PostgresFault {
    package static func classify(_ error: any Error) -> any Error {
        // The pool's own errors (no connection could be made, its circuit
        // breaker tripped) come from an underscored module PostgresNIO does
        // not re-export; they all mean the server cannot be reached now.
        if String(reflecting: type(of: error)).hasSuffix("ConnectionPoolError") {
            return StoreUnavailable("PostgreSQL is unreachable (\(error))")
        }
        guard let error = error as? PSQLError else { return error }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = error.serverInfo?[.message] ?? "server error"
            if retryableClasses.contains(where: state.hasPrefix) || retryableStates.contains(state) {
                return StoreUnavailable("PostgreSQL: \(message) (\(state))")
            }
            return PostgresStoreError.server(state: state, message: message)
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
            .sslUnsupported, .failedToAddSSLHandler, .queryCancelled:
            return StoreUnavailable("PostgreSQL is unreachable (\(describe(error)))")
        default:
            return PostgresStoreError.client(describe(error))
        }
    }

    /// Connection exceptions, insufficient resources (disk full), operator
    /// intervention (shutdown), system errors; serialization failures and
    /// deadlocks are retried by committing the batch again.
    private static let retryableClasses = ["08", "53", "57", "58"]
    private static let retryableStates: Set<String> = ["40001", "40P01", "25006"]

    static func describe(_ error: PSQLError) -> String {
        if let message = error.serverInfo?[.message] { return message }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}

public enum PostgresStoreError: Error, Equatable, CustomStringConvertible {
    case server(state: String, message: String)
    case client(String)
    /// The database holds tables of a newer Telehub, or of another program.
    case schema(String)

    public var description: String {
        switch self {
        case .server(let state, let message): "PostgreSQL refused a statement: \(message) (\(state))"
        case .client(let message): "PostgreSQL: \(message)"
        case .schema(let message): message
        }
    }
}
