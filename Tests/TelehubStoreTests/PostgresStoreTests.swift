import Foundation
import PostgresNIO
import Testing
import TelehubCore
@testable import TelehubPostgres
import TelehubStore

@Suite struct PostgresURLTests {
    @Test func aFullURLIsUnderstood() throws {
        let url = try PostgresURL("postgresql://hub:s%40cret@db.example:6543/telemetry?sslmode=require&schema=hub_a")
        #expect(url.host == "db.example" && url.port == 6543 && url.username == "hub" && url.password == "s@cret")
        #expect(url.database == "telemetry" && url.tls == .require && url.schema == "hub_a")
        #expect(url.redacted == "postgresql://hub:***@db.example:6543/telemetry?schema=hub_a")
        let short = try PostgresURL("postgres://hub@localhost/t")
        #expect(short.port == 5432 && short.password == nil && short.tls == .prefer && short.schema == nil)
    }

    @Test func whatIsMissingOrWrongIsSaidWithoutThePassword() {
        let cases = [
            "postgresql://localhost/db": "names no user",
            "postgresql://u:pw@localhost": "names no database",
            "postgresql://u:pw@localhost/": "names no database",
            "postgresql://u:pw@localhost/a/b": "names no database",
            "postgresql://u:pw@/db": "names no host",
            "postgresql://u:pw@h/db?sslmode=maybe": "sslmode must be",
            "postgresql://u:pw@h/db?schema=Bad-Name": "schema must be",
            "postgresql://u:pw@h/db?schema=1abc": "schema must be",
            "postgresql://u:pw@h/db?application_name=x": "unknown parameter",
            "postgresql://u:pw@h:0/db": "port must be",
            "mysql://u:pw@h/db": "does not start with postgresql://",
        ]
        for (text, expected) in cases {
            do {
                _ = try PostgresURL(text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.description.contains(expected), "\(text): \(error)")
                #expect(!error.description.contains("pw"), "\(text): \(error)")
            }
        }
        #expect(throws: PostgresURLError.self) { try PostgresURL("postgresql://u@h/" + String(repeating: "d", count: 3000)) }
    }
}

/// What only the PostgreSQL store does: migrations from several instances at
/// once, partitions per week, and `backup` pointing at PostgreSQL's tools.
@Suite(.enabled(if: StoreKind.postgresURL != nil, "TELEHUB_TEST_POSTGRES names no server"))
struct PostgresStoreTests {
    let week: Int64 = 7 * 86_400_000

    @Test func instancesStartingTogetherMigrateOnce() async throws {
        let location = try StoreLocation(.postgres)
        let stores = try await withThrowingTaskGroup(of: (any TelemetryStore).self) { group in
            for _ in 0..<4 { group.addTask { try await location.open() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(stores.count == 4)
        let id = try await stores[0].ensureDevice(named: "d")
        #expect(try await stores[3].ensureDevice(named: "d") == id)
    }

    @Test func aDatabaseOfANewerTelehubIsRefused() async throws {
        let location = try StoreLocation(.postgres)
        let store = try #require(try await location.open() as? PostgresStore)
        try await store.client.query("INSERT INTO telehub_migration VALUES ('v99-future', 0)")
        await #expect(throws: PostgresStoreError.self) { _ = try await location.open() }
    }

    @Test func retentionDropsWholeWeeksAndTheSizeCapNeverTheNewest() async throws {
        let store = try #require(try await StoreLocation(.postgres).open() as? PostgresStore)
        let id = try await store.ensureDevice(named: "d")
        let start = (1_732_200_000_000 / week) * week  // a week's first millisecond
        // Four weeks, a value a day.
        try await store.commit(CommitBatch(points: (0..<28).map {
            SeriesPoint(deviceID: id, metric: "t", ts: start + Int64($0) * 86_400_000, value: Double($0))
        }))
        #expect(try await partitionCount(store) == 4)
        let step = try await store.deleteExpired(rawBefore: start + week + 86_400_000, rollupsBefore: 0, maxRows: 100)
        #expect(step.rawRowsDeleted == 8)  // a whole week dropped, and one day of the next deleted
        #expect(try await partitionCount(store) == 3)
        #expect(try await store.exportedValues().first?.ts == start + 8 * 86_400_000)
        #expect(try await store.deleteOldestRaw(maxRows: 1) == 6)  // the rest of that week, whole
        #expect(try await store.deleteOldestRaw(maxRows: 1) == 7)
        #expect(try await store.deleteOldestRaw(maxRows: 1) == 0)  // the newest week stays
        #expect(try await store.exportedValues().count == 7)
        // A value for a week whose partition retention dropped creates it again.
        try await store.commit(CommitBatch(points: [SeriesPoint(deviceID: id, metric: "t", ts: start, value: 1)]))
        #expect(try await partitionCount(store) == 2)
    }

    /// Positions are gapless and in commit order across instances, so a
    /// reader that has position p and finds p + 1 missing may wait for it.
    @Test func streamPositionsAreGaplessAcrossInstancesAndCommits() async throws {
        let location = try StoreLocation(.postgres)
        let one = try #require(try await location.open() as? PostgresStore)
        let two = try #require(try await location.open() as? PostgresStore)
        let head = try await one.streamHead()
        let id = try await one.ensureDevice(named: "d")
        let ranges = try await withThrowingTaskGroup(of: ClosedRange<Int64>.self) { group in
            for index in 0..<40 {
                group.addTask {
                    let store = index % 2 == 0 ? one : two
                    if index % 3 == 0 {
                        let result = try await store.commit(CommitBatch(
                            points: [SeriesPoint(deviceID: id, metric: "t", ts: 1_732_200_000_000 + Int64(index), value: 1)],
                            stream: PendingStreamEntry(positions: 2, instance: "i\(index % 2)", body: "\(index)")))
                        return try #require(result.stream)
                    }
                    return try await store.appendStream(PendingStreamEntry(positions: 1 + index % 4, instance: "i\(index % 2)", body: "\(index)"))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let entries = try await two.streamEntries(after: head, limit: 1000)
        #expect(entries.count == 40)
        #expect(entries.first?.first == head + 1)
        for (previous, next) in zip(entries, entries.dropFirst()) { #expect(next.first == previous.last + 1) }
        #expect(Set(entries.map { $0.first...$0.last }) == Set(ranges))
        #expect(try await one.streamHead() == entries.last?.last)
        #expect(try await one.streamEntries(after: entries[10].last, limit: 5).map(\.first) == entries[11...15].map(\.first))
        // From inside an entry (a hub that started there): that entry comes first.
        let wide = try #require(entries.first { $0.last > $0.first })
        #expect(try await one.streamEntries(after: wide.first, limit: 2).first?.first == wide.first)
        try await one.trimStream(olderThan: .max, keep: 0)
        #expect(try await one.streamEntries(after: head, limit: 1000).isEmpty)
    }

    /// The log keeps ten minutes of entries; reading what follows a position
    /// must not read them all, as `WHERE last > p ORDER BY first` did on every wake-up.
    @Test func readingTheLogAfterAPositionReadsOnlyWhatFollows() async throws {
        let store = try #require(try await StoreLocation(.postgres).open() as? PostgresStore)
        let head = try await store.streamHead()
        try await store.client.query(
            "INSERT INTO stream_log SELECT p, p, 'i', 0, '{}' FROM generate_series(\(head + 1), \(head + 20_000)) AS p")
        try await store.client.query("UPDATE stream_head SET position = \(head + 20_000)")
        try await store.client.query("ANALYZE stream_log")
        #expect(try await store.streamEntries(after: head + 19_990, limit: 256).map(\.first) == Array((head + 19_991)...(head + 20_000)))

        let query = PostgresStore.streamEntriesQuery(after: head + 19_990, limit: 256)
        var plan = ""
        let lines = try await store.client.query(PostgresQuery(unsafeSQL: "EXPLAIN (ANALYZE, COSTS OFF) " + query.sql, binds: query.binds))
        for try await line in lines.decode(String.self) { plan += line + "\n" }
        let removed = plan.split(separator: "\n").compactMap { line in
            line.split(separator: "Rows Removed by Filter: ").dropFirst().first.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        }
        #expect(!plan.contains("Seq Scan") && removed.reduce(0, +) <= 10, "\(plan)")
    }

    @Test func aCommitWakesTheOtherInstancesListeners() async throws {
        let location = try StoreLocation(.postgres)
        let writer = try #require(try await location.open() as? PostgresStore)
        let listener = try #require(try await location.open() as? PostgresStore)
        let listening = Latch()
        let woken = Latch()
        let stream = listener.streamWakeups()
        let waiter = Task {
            var wakeups = stream.makeAsyncIterator()
            _ = await wakeups.next()  // listening now
            listening.open()
            if await wakeups.next() != nil { woken.open() }
        }
        defer { waiter.cancel() }
        for _ in 0..<500 where !listening.isOpen { try await Task.sleep(for: .milliseconds(10)) }
        _ = try await writer.appendStream(PendingStreamEntry(positions: 1, instance: "w", body: "x"))
        for _ in 0..<500 where !woken.isOpen { try await Task.sleep(for: .milliseconds(10)) }
        let woke = woken.isOpen
        #expect(woke)
    }

    /// One hub's retention drops a week that another hub wrote to and still
    /// knows: the other's next value for that week creates it again.
    @Test func aPartitionDroppedByAnotherInstanceIsMadeAgain() async throws {
        let location = try StoreLocation(.postgres)
        let writer = try #require(try await location.open() as? PostgresStore)
        let retention = try #require(try await location.open() as? PostgresStore)
        let id = try await writer.ensureDevice(named: "d")
        let start = (1_732_200_000_000 / week) * week
        try await writer.commit(CommitBatch(points: [SeriesPoint(deviceID: id, metric: "t", ts: start, value: 1)]))
        try await writer.commit(CommitBatch(points: [SeriesPoint(deviceID: id, metric: "t", ts: start + week, value: 2)]))
        let step = try await retention.deleteExpired(rawBefore: start + week, rollupsBefore: 0, maxRows: 100)
        #expect(step.rawRowsDeleted == 1)
        try await writer.commit(CommitBatch(points: [SeriesPoint(deviceID: id, metric: "t", ts: start + 1, value: 3)]))
        #expect(try await writer.exportedValues().map(\.value) == [3, 2])
    }

    @Test func backupSaysToUsePgDump() async throws {
        let store = try await StoreLocation(.postgres).open()
        do {
            try await store.backup(to: "/tmp/never-written")
            Issue.record("backup wrote something")
        } catch {
            #expect("\(error)".contains("pg_dump"))
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never-written"))
    }

    @Test func anUnreachableServerIsAClearError() async throws {
        let port = 1  // nothing listens there
        await #expect(throws: StoreError.self) {
            _ = try await PostgresStore.open(try PostgresURL("postgresql://u@127.0.0.1:\(port)/db?sslmode=disable"))
        }
    }

    private func partitionCount(_ store: PostgresStore) async throws -> Int {
        let rows = try await store.client.query("SELECT count(*)::int8 FROM pg_inherits WHERE inhparent = 'reading'::regclass")
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return -1
    }
}
