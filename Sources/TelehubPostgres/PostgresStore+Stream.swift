import Logging
import PostgresNIO
import TelehubCore
public import TelehubStore

/// The live stream shared by every hub on the database: `stream_head` hands
/// out positions under its row lock, held until the commit ends, so positions
/// are gapless and in commit order; `stream_log` keeps each entry for a while;
/// a `NOTIFY` at commit wakes the other hubs, which then read the log from
/// where they are. Notifications carry no events: one that is lost (a
/// listener reconnecting) costs a poll interval, never an event.
extension PostgresStore: SharedStream {
    public func streamHead() async throws -> Int64 {
        try await read { sql in try await sql.value("SELECT position FROM stream_head", as: Int64.self) ?? 0 }
    }

    /// Two range scans of the primary key: the one entry that may hold
    /// `position` and run past it, and those that start after it. (`WHERE last
    /// > position ORDER BY first` read every older entry the log keeps, up to
    /// ten minutes of them, on every wake-up.)
    public func streamEntries(after position: Int64, limit: Int) async throws -> [StreamEntry] {
        try await read { sql in
            try await sql.rows(Self.streamEntriesQuery(after: position, limit: limit), as: (Int64, Int64, String, Int64, String).self)
            .filter { $0.1 > position }.sorted { $0.0 < $1.0 }.prefix(limit)
                .map { StreamEntry(first: $0, last: $1, instance: $2, at: $3, body: $4) }
        }
    }

    static func streamEntriesQuery(after position: Int64, limit: Int) -> PostgresQuery {
        """
        (SELECT first, last, instance, at, body FROM stream_log WHERE first <= \(position) ORDER BY first DESC LIMIT 1)
        UNION ALL
        (SELECT first, last, instance, at, body FROM stream_log WHERE first > \(position) ORDER BY first LIMIT \(limit))
        """
    }

    public func appendStream(_ entry: PendingStreamEntry) async throws -> ClosedRange<Int64> {
        let now = EpochClock.nowMs()
        return try await write { sql in try await self.appendStream(entry, now: now, sql) }
    }

    /// Inside a transaction, as its last statements.
    func appendStream(_ entry: PendingStreamEntry, now: Int64, _ sql: SQLSession) async throws -> ClosedRange<Int64> {
        let count = Int64(entry.positions)
        guard let last = try await sql.value("UPDATE stream_head SET position = position + \(count) RETURNING position", as: Int64.self)
        else { throw PostgresStoreError.schema("the stream_head row is missing") }
        try await sql.run(
            """
            INSERT INTO stream_log (first, last, instance, at, body)
            VALUES (\(last - count + 1), \(last), \(entry.instance), \(now), \(entry.body))
            """)
        try await sql.run("SELECT pg_notify(\(streamChannel), \(String(last)))")
        return (last - count + 1)...last
    }

    public func trimStream(olderThan cutoff: Int64, keep: Int) async throws {
        try await write { sql in
            try await sql.run(
                """
                DELETE FROM stream_log WHERE at < \(cutoff)
                AND last <= (SELECT position FROM stream_head) - \(Int64(keep))
                """)
        }
    }

    /// One channel per schema, so separate hubs on one database do not wake each other.
    var streamChannel: String { "telehub_stream_\(url.schema ?? "public")" }

    public func streamWakeups() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let listener = Task { [url, logger, streamChannel] in
            var failures = 0
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(
                        configuration: url.connectionConfiguration(), id: 2, logger: logger)
                    defer { Task { try? await connection.close() } }
                    try await connection.listen(on: streamChannel) { notifications in
                        failures = 0
                        continuation.yield()  // listening now: whatever came before, read the log
                        for try await _ in notifications { continuation.yield() }
                    }
                } catch {
                    failures += 1
                    if failures == 1 || failures % 60 == 0 {
                        logger.warning("listening for other hubs' commits failed (\(error)); reading the log by polling meanwhile")
                    }
                }
                try? await Task.sleep(for: .milliseconds(min(5000, 100 * (1 << min(failures, 6)))))
            }
        }
        continuation.onTermination = { _ in listener.cancel() }
        return stream
    }

    /// A session advisory lock on a connection of its own: held while the
    /// connection lives, released by the server the moment it ends (the hub
    /// killed, the network cut). Tried every second by the others.
    public func leadership() -> AsyncStream<Bool> {
        let (stream, continuation) = AsyncStream.makeStream(of: Bool.self, bufferingPolicy: .bufferingNewest(1))
        let holder = Task { [url, logger] in
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(
                        configuration: url.connectionConfiguration(), id: 3, logger: logger)
                    defer { Task { try? await connection.close() } }
                    let sql = SQLSession(connection: connection, logger: logger)
                    var leading = false
                    while !Task.isCancelled {
                        if !leading {
                            leading = try await sql.value(
                                "SELECT pg_try_advisory_lock(hashtext('telehub leader ' || current_schema()))", as: Bool.self) ?? false
                        } else {
                            try await sql.run("SELECT 1")  // still connected, so still holding it
                        }
                        continuation.yield(leading)
                        try await Task.sleep(for: .seconds(1))
                    }
                } catch {
                    continuation.yield(false)
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
        continuation.onTermination = { _ in holder.cancel() }
        return stream
    }
}
