import GRDB
import Synchronization

/// The token lookup of every HTTP request and WebSocket upgrade, on a
/// read-only connection of its own, read on the calling thread.
///
/// Awaiting the pool's asynchronous read hopped to a reader thread and back
/// and prepared the statement under GRDB's authorizer each time: 6% of the
/// hub's CPU, and most of its thread wake-ups, on 100-line `/write` bodies.
/// A synchronous read from the pool is no answer: a task blocked waiting for
/// one of the pool's readers can hold the very threads those readers need to
/// be given back (it deadlocked the hub). This connection serves token
/// lookups only, each a few microseconds long, so a caller waits at most for
/// the lookups ahead of it. It blocks its thread for that long, which a WAL
/// reader can afford: readers never wait for the writer, so the busy timeout
/// only matters while another process holds the file in exclusive locking
/// mode. Nothing is cached: a token revoked by the CLI is refused at the next
/// request.
final class TokenLookup: Sendable {
    private let path: String
    private let busyTimeout: Double
    /// Opened at the first lookup (most CLI commands never make one).
    private let connection = Mutex<DatabaseQueue?>(nil)

    init(path: String, busyTimeout: Double) {
        self.path = path
        self.busyTimeout = busyTimeout
    }

    func read<T: Sendable>(_ body: (Database) throws -> T) throws -> T {
        try connection.withLock { connection throws -> T in
            let queue: DatabaseQueue
            if let open = connection {
                queue = open
            } else {
                var configuration = Configuration()
                configuration.readonly = true
                configuration.busyMode = .timeout(busyTimeout)
                queue = try DatabaseQueue(path: path, configuration: configuration)
                connection = queue
            }
            return try queue.read(body)
        }
    }

    /// Before the pool's last checkpoint, so this connection holds nothing open.
    func close() {
        connection.withLock { connection in
            try? connection?.close()
            connection = nil
        }
    }
}
