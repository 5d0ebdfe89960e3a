import Foundation
import GRDB
import TelehubCodec
import TelehubStore

/// A stored chunk's row, without its bytes unless asked for.
struct ChunkRow: Sendable {
    var id: Int64
    var start: Int64
    var end: Int64
    var count: Int
    var sealed: Bool
    var data: [UInt8] = []
}

/// The `chunk` table: a series' values in compressed chunks that never
/// overlap, ordered by their first timestamp. The newest chunk of a series
/// may be open (still growing); every other one is sealed.
///
/// A chunk is sealed at about 3,600 bytes, so it stays within the ~4,000
/// bytes SQLite keeps inside a table page: no chunk spills into an overflow
/// page, and a sealed chunk fills its page.
enum ChunkTable {
    /// Seal once the encoded chunk reaches this many bytes.
    static let sealBytes = 3_600
    /// A sealed chunk over this (a chunk that turned to XOR floats late) is split.
    static let largestBytes = 4_000
    /// Values a chunk holds at most, whatever their size: bounds one decode.
    static let maxValues = 8_192

    static func newest(_ key: SeriesKey, _ db: Database) throws -> ChunkRow? {
        try GRDB.Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT id, start_ts, end_ts, count, sealed FROM chunk
                    WHERE device_id = ? AND metric_id = ? ORDER BY start_ts DESC LIMIT 1
                    """),
            arguments: [key.deviceID, key.metricID]
        ).map(row)
    }

    /// The chunk a value at `ts` belongs in: the last one starting at or
    /// before it, else the first of the series.
    static func home(of ts: Int64, _ key: SeriesKey, _ db: Database) throws -> ChunkRow? {
        let before = try GRDB.Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT id, start_ts, end_ts, count, sealed, data FROM chunk
                    WHERE device_id = ? AND metric_id = ? AND start_ts <= ? ORDER BY start_ts DESC LIMIT 1
                    """),
            arguments: [key.deviceID, key.metricID, ts])
        if let before { return row(before) }
        return try GRDB.Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT id, start_ts, end_ts, count, sealed, data FROM chunk
                    WHERE device_id = ? AND metric_id = ? ORDER BY start_ts LIMIT 1
                    """),
            arguments: [key.deviceID, key.metricID]
        ).map(row)
    }

    /// The first timestamp of the chunk after the one starting at `start`, if any.
    static func nextStart(after start: Int64, _ key: SeriesKey, _ db: Database) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: "SELECT min(start_ts) FROM chunk WHERE device_id = ? AND metric_id = ? AND start_ts > ?"),
            arguments: [key.deviceID, key.metricID, start])
    }

    static func data(id: Int64, _ db: Database) throws -> [UInt8] {
        let blob = try Data.fetchOne(db.cachedStatement(sql: "SELECT data FROM chunk WHERE id = ?"), arguments: [id])
        return blob.map { [UInt8]($0) } ?? []
    }

    /// Every chunk holding values in `[from, to]`, oldest first, with their bytes when `data`.
    static func overlapping(_ key: SeriesKey, from: Int64, to: Int64, data: Bool = true, _ db: Database) throws -> RowCursor {
        try GRDB.Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT id, start_ts, end_ts, count, sealed\(data ? ", data" : "") FROM chunk
                    WHERE device_id = ? AND metric_id = ? AND end_ts >= ? AND start_ts <= ?
                      AND start_ts >= coalesce((SELECT start_ts FROM chunk WHERE device_id = ? AND metric_id = ?
                                                AND start_ts <= ? ORDER BY start_ts DESC LIMIT 1), ?)
                    ORDER BY start_ts
                    """),
            arguments: [key.deviceID, key.metricID, from, to, key.deviceID, key.metricID, from, from])
    }

    static func insert(_ key: SeriesKey, _ chunk: EncodedChunk, _ db: Database) throws -> Int64 {
        let statement = try db.cachedStatement(
            sql: "INSERT INTO chunk (device_id, metric_id, start_ts, end_ts, count, sealed, data) VALUES (?, ?, ?, ?, ?, ?, ?)")
        statement.setUncheckedArguments([key.deviceID, key.metricID, chunk.start, chunk.end, chunk.count, chunk.sealed, Data(chunk.bytes)])
        try statement.execute()
        return db.lastInsertedRowID
    }

    static func update(id: Int64, _ chunk: EncodedChunk, _ db: Database) throws {
        let statement = try db.cachedStatement(sql: "UPDATE chunk SET start_ts = ?, end_ts = ?, count = ?, sealed = ?, data = ? WHERE id = ?")
        statement.setUncheckedArguments([chunk.start, chunk.end, chunk.count, chunk.sealed, Data(chunk.bytes), id])
        try statement.execute()
    }

    static func delete(id: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM chunk WHERE id = ?").execute(arguments: [id])
    }

    static func row(_ row: GRDB.Row) -> ChunkRow {
        ChunkRow(
            id: row[0], start: row[1], end: row[2], count: row[3], sealed: row[4],
            data: row.count > 5 ? (row[5] as Data?).map { [UInt8]($0) } ?? [] : [])
    }

    /// The values of a chunk row's bytes; damaged bytes are a store error naming the chunk.
    static func decode(_ chunk: ChunkRow) throws -> DecodedChunk {
        do {
            return try ChunkDecoder.decode(chunk.data)
        } catch {
            throw StoreError.damagedChunk(id: chunk.id, reason: "\(error)")
        }
    }
}

/// Chunk bytes ready to store, with the columns that describe them.
struct EncodedChunk: Sendable {
    var start: Int64
    var end: Int64
    var count: Int
    var sealed: Bool
    var bytes: [UInt8]

    init(_ builder: ChunkBuilder, sealed: Bool) {
        start = builder.firstTimestamp ?? 0
        end = builder.lastTimestamp ?? 0
        count = builder.count
        self.sealed = sealed
        bytes = sealed ? builder.sealed() : builder.encoded()
    }

    /// Sorted values as chunks: sealed ones of about `sealBytes`, and the
    /// last one open when `keepLastOpen`.
    static func split(_ values: DecodedChunk, keepLastOpen: Bool) -> [EncodedChunk] {
        var splitter = ChunkSplitter()
        var chunks: [EncodedChunk] = []
        for (ts, value) in zip(values.timestamps, values.values) {
            if let full = splitter.append(ts: ts, value: value) { chunks.append(full) }
        }
        if let last = splitter.finish(keepOpen: keepLastOpen) { chunks.append(last) }
        return chunks
    }
}

extension ChunkBuilder {
    /// Appends a value unless that would re-encode the chunk past the largest size
    /// (a long run of short decimals meeting a float): then the chunk is full as it is.
    /// - Returns: false when the chunk must be sealed first.
    mutating func appendIfItFits(ts: Int64, value: Double) -> Bool {
        guard !isEmpty, !accepts(value) else {
            append(ts: ts, value: value)
            return true
        }
        var trial = self
        trial.append(ts: ts, value: value)
        guard trial.encodedSize <= ChunkTable.largestBytes else { return false }
        self = trial
        return true
    }

    /// Checked every eighth value: eight more values stay well within the
    /// margin between `sealBytes` and `largestBytes`, and the size is not free to compute.
    var isFull: Bool { count % 8 == 0 && (encodedSize >= ChunkTable.sealBytes || count >= ChunkTable.maxValues) }
}

/// Cuts a stream of sorted values into chunks as they fill, so a series of
/// any length is chunked in constant memory.
struct ChunkSplitter {
    private var builder = ChunkBuilder()

    /// - Returns: a sealed chunk when one is full.
    mutating func append(ts: Int64, value: Double) -> EncodedChunk? {
        var full: EncodedChunk?
        if !builder.appendIfItFits(ts: ts, value: value) {
            full = EncodedChunk(builder, sealed: true)
            builder = ChunkBuilder()
            builder.append(ts: ts, value: value)
        }
        if full == nil, builder.isFull {
            full = EncodedChunk(builder, sealed: true)
            builder = ChunkBuilder()
        }
        return full
    }

    /// The values not yet in a full chunk, if any.
    mutating func finish(keepOpen: Bool) -> EncodedChunk? {
        guard !builder.isEmpty else { return nil }
        defer { builder = ChunkBuilder() }
        return EncodedChunk(builder, sealed: !keepOpen)
    }
}
