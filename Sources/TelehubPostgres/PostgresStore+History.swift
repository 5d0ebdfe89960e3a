import PostgresNIO
public import TelehubCore
import TelehubStore

extension PostgresStore {
    public func history(device: String, metric: String, from: Int64, to: Int64, points: Int) async throws -> MetricHistory? {
        try await read { sql in
            guard
                let (deviceID, metricID) = try await sql.rows(
                    """
                    SELECT l.device_id, l.metric_id FROM latest l
                    JOIN device d ON d.id = l.device_id JOIN metric m ON m.id = l.metric_id
                    WHERE d.name = \(device) AND m.name = \(metric)
                    """, as: (Int64, Int64).self
                ).first
            else { return nil }
            let series = Series(device: deviceID, metric: metricID)
            let count = try await Self.count(series, from: from, to: to, sql)
            if count <= points {
                let values = try await sql.rows(
                    """
                    SELECT ts, value FROM reading WHERE device_id = \(deviceID) AND metric_id = \(metricID)
                    AND ts BETWEEN \(from) AND \(to) ORDER BY ts
                    """, as: (Int64, Double).self)
                return .raw(values.map { (ts: $0.0, value: $0.1) })
            }
            let plan = BucketPlan(from: from, to: to, points: points)
            var buckets: [Int64: Aggregate] = [:]
            for segment in TimeSegment.cover(from: from, to: to, upTo: plan.resolution) {
                for (index, aggregate) in try await Self.buckets(series, segment, plan, sql) {
                    buckets[index, default: Aggregate(sum: 0, min: .infinity, max: -.infinity, count: 0)].merge(aggregate)
                }
            }
            return .buckets(step: plan.step, buckets.sorted { $0.key < $1.key }.map { (plan.start(ofBucket: $0.key), $0.value) })
        }
    }

    struct Series {
        var device: Int64
        var metric: Int64
    }

    /// Values in `[from, to]`, counted from the rollups where whole hours and
    /// minutes lie inside the range (rollups are complete at every commit).
    private static func count(_ series: Series, from: Int64, to: Int64, _ sql: SQLSession) async throws -> Int {
        var total = 0
        for segment in TimeSegment.cover(from: from, to: to, upTo: .hour) {
            let query: PostgresQuery =
                switch segment.resolution {
                case .raw:
                    """
                    SELECT count(*)::int8 FROM reading WHERE device_id = \(series.device) AND metric_id = \(series.metric)
                    AND ts BETWEEN \(segment.from) AND \(segment.to)
                    """
                case .minute:
                    """
                    SELECT coalesce(sum(count), 0)::int8 FROM rollup_minute WHERE device_id = \(series.device)
                    AND metric_id = \(series.metric) AND bucket BETWEEN \(segment.from) AND \(segment.to)
                    """
                case .hour:
                    """
                    SELECT coalesce(sum(count), 0)::int8 FROM rollup_hour WHERE device_id = \(series.device)
                    AND metric_id = \(series.metric) AND bucket BETWEEN \(segment.from) AND \(segment.to)
                    """
                }
            total += Int(try await sql.value(query, as: Int64.self) ?? 0)
        }
        return total
    }

    /// The segment's values, minutes or hours, summed into the plan's buckets by the server.
    private static func buckets(_ series: Series, _ segment: TimeSegment, _ plan: BucketPlan, _ sql: SQLSession) async throws
        -> [(Int64, Aggregate)]
    {
        let (table, column, aggregates) =
            switch segment.resolution {
            case .raw: ("reading", "ts", "sum(value), min(value), max(value), count(*)::int8")
            case .minute: ("rollup_minute", "bucket", "sum(sum), min(min), max(max), sum(count)::int8")
            case .hour: ("rollup_hour", "bucket", "sum(sum), min(min), max(max), sum(count)::int8")
            }
        var binds = PostgresBindings()
        for value in [plan.origin, plan.step, series.device, series.metric, segment.from, segment.to] { binds.append(value) }
        let rows = try await sql.rows(
            PostgresQuery(
                unsafeSQL: """
                    SELECT (\(column) - $1) / $2, \(aggregates) FROM \(table)
                    WHERE device_id = $3 AND metric_id = $4 AND \(column) BETWEEN $5 AND $6 GROUP BY 1
                    """, binds: binds),
            as: (Int64, Double, Double, Double, Int64).self)
        return rows.map { ($0.0, Aggregate(sum: $0.1, min: $0.2, max: $0.3, count: $0.4)) }
    }
}
