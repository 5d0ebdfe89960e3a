import GRDB
import Synchronization

/// The token lookup of every HTTP request and WebSocket upgrade, on
/// read-only connections of its own, read on the calling thread.
///
/// Awaiting the pool's asynchronous read hopped to a reader thread and back
/// and prepared the statement under GRDB's authorizer each time: 6% of the
/// hub's CPU, and most of its thread wake-ups, on 100-line `/write` bodies.
/// A synchronous read from the pool is no answer: a task blocked waiting for
/// one of the pool's readers can hold the very threads those readers need to
/// be given back (it deadlocked the hub). These connections serve token
/// lookups only, each a few microseconds long, so a caller waits at most for
/// the lookups ahead of it. It blocks its thread for that long, which a WAL
/// reader can afford: readers never wait for the writer, so the busy timeout
/// only matters while another process holds the file in exclusive locking
/// mode. Nothing is cached: a token revoked by the CLI is refused at the next
/// request.
///
/// One connection behind one lock had the hub's threads spin on that lock
/// (15% of its CPU on keep-alive `/write` requests from 100 connections), so
/// a caller takes the first idle connection of a few, and waits on one only
/// when all are busy.
final class TokenLookup: Sendable {
    private let path: String
    private let busyTimeout: Double
    /// Opened at their first lookup (most CLI commands never make one).
    private let connections: [Slot]
    /// Where a caller that found every connection busy waits, in turn.
    private let nextToWaitOn = Atomic<Int>(0)

    init(path: String, busyTimeout: Double, connections: Int = 4) {
        self.path = path
        self.busyTimeout = busyTimeout
        self.connections = (0..<max(1, connections)).map { _ in Slot() }
    }

    /// Runs `body` on an idle connection, outside any transaction: a single
    /// `SELECT` is its own consistent read, and `BEGIN`/`COMMIT` around it
    /// would triple the statements of each lookup.
    func read<T: Sendable>(_ body: (Database) throws -> T) throws -> T {
        for slot in connections {
            if let result = try slot.connection.withLockIfAvailable({ try Self.read(&$0, path, busyTimeout, body) }) { return result }
        }
        let slot = connections[nextToWaitOn.wrappingAdd(1, ordering: .relaxed).oldValue % connections.count]
        return try slot.connection.withLock { try Self.read(&$0, path, busyTimeout, body) }
    }

    /// A `Mutex` cannot be copied into an array; its box can.
    private final class Slot: Sendable {
        let connection = Mutex<DatabaseQueue?>(nil)
    }

    private static func read<T>(
        _ connection: inout DatabaseQueue?, _ path: String, _ busyTimeout: Double, _ body: (Database) throws -> T
    ) throws -> T {
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
        return try queue.inDatabase(body)
    }

    /// Before the pool's last checkpoint, so these connections hold nothing open.
    func close() {
        for slot in connections {
            slot.connection.withLock { connection in
                try? connection?.close()
                connection = nil
            }
        }
    }
}
