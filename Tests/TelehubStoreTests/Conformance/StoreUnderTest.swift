import Foundation
import Testing
import TelehubAuth
import TelehubCore
import TelehubPostgres
import TelehubSQLite
import TelehubStore

/// The stores every conformance case runs against: SQLite always, and
/// PostgreSQL when `TELEHUB_TEST_POSTGRES` names a server (the test script
/// starts one and sets `TELEHUB_REQUIRE_POSTGRES`, so CI cannot skip it).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    static let postgresURL = ProcessInfo.processInfo.environment["TELEHUB_TEST_POSTGRES"].flatMap { $0.isEmpty ? nil : $0 }

    static var available: [StoreKind] {
        if postgresURL != nil { return [.sqlite, .postgres] }
        precondition(
            ProcessInfo.processInfo.environment["TELEHUB_REQUIRE_POSTGRES"] == nil,
            "TELEHUB_REQUIRE_POSTGRES is set but TELEHUB_TEST_POSTGRES names no server")
        return [.sqlite]
    }

    var testDescription: String { rawValue }
}

/// Where one test's store lives: a new SQLite file, or a new schema on the
/// PostgreSQL server. Opening it again reaches the same data (a restart).
struct StoreLocation: Sendable {
    let kind: StoreKind
    let address: String

    init(_ kind: StoreKind) throws {
        self.kind = kind
        switch kind {
        case .sqlite:
            address = try TemporaryDatabase().path
        case .postgres:
            let base = try #require(StoreKind.postgresURL)
            let schema = "t" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
            address = base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
        }
    }

    func open() async throws -> any TelemetryStore {
        switch kind {
        case .sqlite: try SQLiteStore(path: address)
        case .postgres: try await PostgresStore.open(try PostgresURL(address), maxConnections: 4)
        }
    }
}

/// A store ready for one test.
func freshStore(_ kind: StoreKind) async throws -> any TelemetryStore {
    try await StoreLocation(kind).open()
}

/// One stored value as the protocol shows it (through export).
struct ExportedValue: Hashable, Sendable {
    var device: String
    var metric: String
    var ts: Int64
    var value: Double
}

extension TelemetryStore {
    /// Every stored value, in device, metric and time order, read through
    /// the export pages: what any store must give back.
    func exportedValues(_ filter: ExportFilter = ExportFilter()) async throws -> [ExportedValue] {
        var values: [ExportedValue] = []
        for series in try await exportSeries(filter) {
            var after: Int64?
            while true {
                let page = try await exportPage(series, filter, after: after, limit: 1000)
                values += page.map { ExportedValue(device: series.device, metric: series.metric, ts: $0.ts, value: $0.value) }
                guard page.count == 1000, let last = page.last else { break }
                after = last.ts
            }
        }
        return values
    }

    /// History buckets as they must be: the stored values of the range
    /// aggregated into the plan's buckets (sums compared within rounding by the caller).
    func expectedBuckets(device: String, metric: String, from: Int64, to: Int64, points: Int) async throws -> [(start: Int64, aggregate: Aggregate)] {
        let plan = BucketPlan(from: from, to: to, points: points)
        var buckets: [Int64: Aggregate] = [:]
        for value in try await exportedValues(ExportFilter(devices: [device], metrics: [metric], from: from, to: to)) {
            buckets[plan.bucket(of: value.ts), default: Aggregate(sum: 0, min: .infinity, max: -.infinity, count: 0)]
                .merge(Aggregate(value: value.value))
        }
        return buckets.sorted { $0.key < $1.key }.map { (plan.start(ofBucket: $0.key), $0.value) }
    }
}

/// Equal counts, minima and maxima exactly, sums within what adding in
/// another order can change (`tolerance`, for values of very different sizes).
func sameBuckets(_ lhs: MetricHistory?, _ rhs: [(start: Int64, aggregate: Aggregate)], tolerance: Double = 1e-6) -> Bool {
    guard case .buckets(_, let lhs) = lhs, lhs.count == rhs.count else { return false }
    return zip(lhs, rhs).allSatisfy { a, b in
        a.start == b.start && a.aggregate.count == b.aggregate.count && a.aggregate.min == b.aggregate.min
            && a.aggregate.max == b.aggregate.max && abs(a.aggregate.sum - b.aggregate.sum) <= tolerance
    }
}

/// Data sets more than one suite commits.
enum Fixtures {
    /// `days` days up to `now`, a value every 30 minutes, of metrics "a" and "b".
    static func halfHourly(_ id: Int64, days: Int = 40, until now: Int64) -> [SeriesPoint] {
        let first = now - Int64(days) * 86_400_000
        return (0..<(days * 48)).flatMap { i in
            let ts = first + Int64(i) * 1_800_000
            return ["a", "b"].map { SeriesPoint(deviceID: id, metric: $0, ts: ts, value: Double(i)) }
        }
    }

    /// Three hours of 10 s values from `base`, committed out of order in
    /// flushes of 100, then overwrites (one of them twice in one flush, and a
    /// value lower than every other overwritten in its own flush): 1,081
    /// values in the end, the lowest -500.
    static func commitShuffledHoursWithOverwrites(_ store: any TelemetryStore, _ id: Int64, base: Int64) async throws {
        var generator = SplitMix(seed: 7)
        var points = (0..<1080).map { i in
            SeriesPoint(deviceID: id, metric: "t", ts: base + Int64(i) * 10_000, value: Double(i % 97) - 40)
        }
        points.shuffle(using: &generator)
        for chunk in stride(from: 0, to: points.count, by: 100) {
            try await store.commit(CommitBatch(points: Array(points[chunk..<min(chunk + 100, points.count)])))
        }
        let overwrites = (0..<60).map { i in
            SeriesPoint(deviceID: id, metric: "t", ts: base + Int64(i * 17) * 10_000, value: Double(i) * 3.5 - 500)
        }
        try await store.commit(CommitBatch(points: overwrites + [overwrites[0]]))
        try await store.commit(CommitBatch(points: [
            SeriesPoint(deviceID: id, metric: "t", ts: base + 5_000, value: -9999),
            SeriesPoint(deviceID: id, metric: "t", ts: base + 5_000, value: 1),
        ]))
    }
}

extension TokenStore {
    /// A token minted as the CLI mints one (the store only sees its hash).
    func mintToken(kind: TokenKind, device: String?, label: String?, expiresAt: Int64?) async throws
        -> (secret: TokenSecret, record: TokenRecord)
    {
        let secret = TokenSecret.generate(kind)
        let token = try NewToken(kind: kind, device: device, label: label, expiresAt: expiresAt, hash: secret.hash)
        return (secret, try await createToken(token))
    }
}
