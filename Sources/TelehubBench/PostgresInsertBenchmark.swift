import Foundation
import Logging
import NIOCore
import PostgresNIO
public import TelehubPostgres

/// `telehub bench --scale-out`: the two ways to write a batch of readings
/// in one round trip, on the same rows into the same kind of table, so the
/// store's choice of `unnest` arrays rests on a figure. The store needs
/// `ON CONFLICT DO NOTHING` (a device resends what was not acknowledged), which
/// `COPY` cannot do: its fair form copies into a staging table and inserts from
/// there. `COPY` straight into the table, which would fail on a resend, is the
/// bound neither can beat.
public struct PostgresInsertBenchmark: Sendable {
    public enum Method: String, CaseIterable, Sendable {
        case unnest = "INSERT … SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING"
        case copyStaged = "COPY to a staging table, INSERT … SELECT ON CONFLICT DO NOTHING"
        case copyDirect = "COPY straight into the table (no conflict handling)"
    }

    public struct Figures: Sendable {
        public var method: Method
        public var rows: Int
        public var seconds: Double
        /// This process's CPU seconds (encoding the batch).
        public var clientCPUSeconds: Double
        /// The server's, when its pid is known.
        public var serverCPUSeconds: Double?

        /// One line of the report.
        public var line: String {
            String(
                format: "PostgreSQL insert, %d rows in batches of 5000: %9.0f rows/s, client %.2f CPU s, server %@ (%@)",
                rows, Double(rows) / seconds, clientCPUSeconds,
                serverCPUSeconds.map { String(format: "%.2f CPU s", $0) } ?? "?", method.rawValue)
        }
    }

    let url: PostgresURL
    let serverPID: Int32?
    let batches: Int
    let rowsPerBatch: Int

    /// - Parameter url: the tables are made in a fresh schema of this database and dropped after.
    public init(url: PostgresURL, serverPID: Int32?, batches: Int = 200, rowsPerBatch: Int = 5000) {
        var scratch = url
        scratch.schema = "telehub_insert_bench_\(UInt32.random(in: 0...UInt32.max))"
        self.url = scratch
        self.serverPID = serverPID
        self.batches = batches
        self.rowsPerBatch = rowsPerBatch
    }

    /// Each method twice, alternated, on a table made afresh each time.
    public func run() async throws -> [Figures] {
        let logger = Logger(label: "telehub.bench.postgres")
        let connection = try await PostgresConnection.connect(configuration: url.connectionConfiguration(), id: 1, logger: logger)
        let schema = url.schema ?? "public"
        let sql = SQLSession(connection: connection, logger: logger)
        do {
            try await sql.run(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"))
            var figures: [Figures] = []
            for _ in 0..<2 {
                for method in Method.allCases {
                    figures.append(try await measure(method, sql))
                }
            }
            try await sql.run(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE"))
            try await connection.close()
            return figures
        } catch {
            try? await sql.run(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE"))
            try? await connection.close()
            throw PostgresFault.classify(error)
        }
    }

    private func measure(_ method: Method, _ sql: SQLSession) async throws -> Figures {
        try await sql.run("DROP TABLE IF EXISTS bench_reading")
        // The reading table's shape and key (one partition of it).
        try await sql.run("""
            CREATE TABLE bench_reading (device_id int8 NOT NULL, metric_id int8 NOT NULL, ts int8 NOT NULL, value float8 NOT NULL,
                                        PRIMARY KEY (device_id, metric_id, ts))
            """)
        try await sql.run("CREATE TEMP TABLE IF NOT EXISTS bench_staging (device_id int8, metric_id int8, ts int8, value float8) ON COMMIT DELETE ROWS")
        // Each method starts with no dirty pages of the last one to write (a superuser's right; skipped otherwise).
        try? await sql.run("CHECKPOINT")
        let server = serverPID.flatMap(ProcessCPU.treeSeconds(root:))
        let client = ProcessCPU.ownSeconds()
        let started = ContinuousClock.now
        for batch in 0..<batches {
            let rows = BatchRows(batch: batch, rows: rowsPerBatch)
            try await sql.run("BEGIN")
            switch method {
            case .unnest:
                try await sql.run("""
                    INSERT INTO bench_reading SELECT * FROM unnest(\(rows.devices)::int8[], \(rows.metrics)::int8[], \(rows.times)::int8[],
                                                                   \(rows.values)::float8[])
                    ON CONFLICT DO NOTHING
                    """)
            case .copyStaged:
                try await copy(rows, into: "bench_staging", sql)
                try await sql.run("INSERT INTO bench_reading SELECT * FROM bench_staging ON CONFLICT DO NOTHING")
            case .copyDirect:
                try await copy(rows, into: "bench_reading", sql)
            }
            try await sql.run("COMMIT")
        }
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        let serverAfter = serverPID.flatMap(ProcessCPU.treeSeconds(root:))
        return Figures(
            method: method, rows: batches * rowsPerBatch, seconds: seconds, clientCPUSeconds: ProcessCPU.ownSeconds() - client,
            serverCPUSeconds: server.flatMap { before in serverAfter.map { $0 - before } })
    }

    /// The rows as `COPY`'s text format: tab-separated, one line each.
    private func copy(_ rows: BatchRows, into table: String, _ sql: SQLSession) async throws {
        var text = ByteBuffer()
        text.reserveCapacity(rows.devices.count * 40)
        for index in rows.devices.indices {
            text.writeString("\(rows.devices[index])\t\(rows.metrics[index])\t\(rows.times[index])\t\(rows.values[index])\n")
        }
        try await sql.connection.copyFrom(table: table, columns: ["device_id", "metric_id", "ts", "value"], logger: sql.logger) { writer in
            try await writer.write(text)
        }
    }

    /// A batch as the hub commits one: 100 devices × 4 metrics, consecutive
    /// seconds, sensor-like values.
    struct BatchRows {
        var devices: [Int64] = []
        var metrics: [Int64] = []
        var times: [Int64] = []
        var values: [Double] = []

        init(batch: Int, rows: Int) {
            let perTick = 400
            for index in 0..<rows {
                let row = batch * rows + index
                let tick = Int64(row / perTick)
                devices.append(Int64(row % perTick / 4))
                metrics.append(Int64(row % 4))
                times.append(1_700_000_000_000 + tick * 1000)
                values.append(20 + Double((index * 7919 + batch) % 1000) / 100)
            }
        }
    }
}
