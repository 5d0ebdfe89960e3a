import GRDB
import TelehubCodec
import TelehubCore
import TelehubStore

/// A series' newest chunk while it still grows, kept between commits so
/// that appending to it decodes nothing.
struct OpenChunk: Sendable {
    /// Its row; nil until first stored.
    var id: Int64?
    var builder: ChunkBuilder
}

/// What a commit left of a series' newest chunk: its row (without bytes),
/// its builder while it is open, and the minutes of the hour still filling
/// when every value of that hour went through this cache.
struct SeriesTail: Sendable {
    var newest: ChunkRow
    var open: OpenChunk?
    var filling: FillingHour?
}

/// The minute aggregates of a series' newest hour, kept while its values
/// are appended, so the hour is rolled up without decoding it again.
struct FillingHour: Sendable {
    var hour: Int64
    var minutes = [Aggregate](repeating: Aggregate(sum: 0, min: .infinity, max: -.infinity, count: 0), count: 60)

    init(hour: Int64) {
        self.hour = hour
    }

    mutating func add(ts: Int64, value: Double) {
        minutes[RollupTable.minuteIndex(ts)].merge(Aggregate(value: value))
    }

    /// The minutes that hold values, by index.
    var present: [Int: Aggregate] {
        var present: [Int: Aggregate] = [:]
        for (index, aggregate) in minutes.enumerated() where aggregate.count > 0 { present[index] = aggregate }
        return present
    }
}

/// The series tails of the last commit, and what says they still hold:
/// no other connection committed since (`PRAGMA data_version` unchanged)
/// and no other writer of this store touched chunks (`generation`).
struct ChunkCache: Sendable {
    var tails: [SeriesKey: SeriesTail] = [:]
    var dataVersion: Int64 = -1
    var generation = -1
    /// Which commit left it, and whether that commit's transaction is known
    /// to have committed (it is written inside the transaction).
    var commit = 0
    var confirmed = false

    /// The tails, leaving none here, so their new owner holds the only reference.
    mutating func takeTails() -> [SeriesKey: SeriesTail] {
        defer { tails = [:] }
        return tails
    }
}

/// Writes one commit's values into their series' chunks, inside the
/// commit's transaction, and notes what the rollups must learn.
///
/// Rollups cover a series' complete hours: those before the hour of its
/// newest value (see `RollupTable`). A value in a complete hour (late or
/// overwriting) changes its rollup at once; the hours a commit completes,
/// by moving the newest value into a later hour, are rolled up from the
/// chunks once, after the commit's chunks are written.
///
/// Values newer than a series' newest value (the usual case) are appended
/// to its open chunk. Older ones (late, backfilled or overwriting) are
/// merged into the chunk whose range they fall in, sealed or not: the
/// chunk is decoded, merged (the new value wins on an equal timestamp),
/// and written back, split when it outgrows a chunk.
struct ChunkWriter {
    /// Series tails from earlier commits. Untrusted ones are checked
    /// against the table before use, so a stale one is only a cache miss.
    private(set) var tails: [SeriesKey: SeriesTail]
    /// Whether `tails` are known to match the table: then a series' newest
    /// chunk is not read again (a query per series per commit otherwise).
    private let trusted: Bool
    var changes = RollupChanges()
    /// Per series, hours `[from, to)` this commit completed, to roll up from the chunks.
    private(set) var completed: [(key: SeriesKey, from: Int64, to: Int64)] = []
    /// Hours this commit completed whose minutes were gathered while appending.
    private(set) var gathered: [(hour: SeriesBucket, minutes: [Int: Aggregate])] = []

    init(tails: [SeriesKey: SeriesTail] = [:], trusted: Bool = false) {
        self.tails = tails
        self.trusted = trusted
    }

    private func newest(_ key: SeriesKey, _ db: Database) throws -> ChunkRow? {
        if trusted, let tail = tails[key] { return tail.newest }
        return try ChunkTable.newest(key, db)
    }

    /// - Parameters:
    ///   - rows: the commit's values of `key`, sorted by `ts`, one per `ts`.
    ///   - storedWins: see `mergeLate`.
    mutating func write(_ key: SeriesKey, _ rows: ArraySlice<SQLiteStore.Row>, storedWins: Bool = false, _ db: Database) throws {
        guard let firstRow = rows.first, let lastRow = rows.last else { return }
        var newest = try newest(key, db)
        // Hours before this one are complete and rolled up; from it on, rollups come later.
        let currentHour = RollupTable.hourStart(newest?.end ?? firstRow.ts)
        var split = rows.startIndex
        if let last = newest?.end {
            while split < rows.endIndex, rows[split].ts <= last { split += 1 }
        }
        if split > rows.startIndex {
            try mergeLate(key, rows[..<split], storedWins: storedWins, rolledUpBefore: currentHour, db)
            tails[key] = nil
            newest = try ChunkTable.newest(key, db)
        }
        guard split < rows.endIndex else {
            if let newest { tails[key] = SeriesTail(newest: newest, open: tails[key]?.open) }
            return
        }
        // The hour still filling, when all its values are known (a new series, or the cache).
        var filling: FillingHour? = newest == nil ? FillingHour(hour: currentHour) : nil
        if trusted, split == rows.startIndex, let cached = tails[key]?.filling, cached.hour == currentHour { filling = cached }
        var chunk = try openChunk(key, newest, db)
        var sealed: ChunkRow?
        var currentHourGathered = false
        for row in rows[split...] {
            let hour = RollupTable.hourStart(row.ts)
            if hour != filling?.hour {
                if let done = filling {
                    gathered.append((SeriesBucket(key, start: done.hour), done.present))
                    currentHourGathered = currentHourGathered || done.hour == currentHour
                }
                // A later hour begins here, so all its values pass through; the current one may have more stored.
                filling = hour > currentHour ? FillingHour(hour: hour) : nil
            }
            filling?.add(ts: row.ts, value: row.value)
            if !chunk.builder.appendIfItFits(ts: row.ts, value: row.value) {
                sealed = try seal(key, chunk, db)
                chunk = OpenChunk(id: nil, builder: ChunkBuilder())
                chunk.builder.append(ts: row.ts, value: row.value)
            }
            if chunk.builder.isFull {
                sealed = try seal(key, chunk, db)
                chunk = OpenChunk(id: nil, builder: ChunkBuilder())
            }
        }
        let newestHour = RollupTable.hourStart(lastRow.ts)
        if newestHour > currentHour, !currentHourGathered {
            // The hour that was filling before this commit, when its values were not all seen here.
            completed.append((key, currentHour, currentHour + RollupTable.hourMs))
        }
        if chunk.builder.isEmpty {
            tails[key] = sealed.map { SeriesTail(newest: $0, open: nil, filling: filling) }
        } else {
            chunk.id = try store(key, chunk, sealed: false, db)
            let row = ChunkRow(
                id: chunk.id ?? 0, start: chunk.builder.firstTimestamp ?? 0, end: chunk.builder.lastTimestamp ?? 0,
                count: chunk.builder.count, sealed: false)
            tails[key] = SeriesTail(newest: row, open: chunk, filling: filling)
        }
    }

    /// Stores a full chunk sealed. - Returns: its row, without bytes.
    private func seal(_ key: SeriesKey, _ chunk: OpenChunk, _ db: Database) throws -> ChunkRow {
        let id = try store(key, chunk, sealed: true, db)
        return ChunkRow(
            id: id, start: chunk.builder.firstTimestamp ?? 0, end: chunk.builder.lastTimestamp ?? 0, count: chunk.builder.count,
            sealed: true)
    }

    /// The chunk to append to: the cached builder when it matches the
    /// newest row, else that row decoded, else a new chunk.
    private func openChunk(_ key: SeriesKey, _ newest: ChunkRow?, _ db: Database) throws -> OpenChunk {
        guard let newest, !newest.sealed else { return OpenChunk(id: nil, builder: ChunkBuilder()) }
        if let cached = tails[key]?.open, cached.id == newest.id, cached.builder.count == newest.count,
            cached.builder.lastTimestamp == newest.end
        {
            return cached
        }
        var row = newest
        row.data = try ChunkTable.data(id: newest.id, db)
        return OpenChunk(id: newest.id, builder: ChunkBuilder(try ChunkTable.decode(row)))
    }

    /// Stores a chunk (a sealed one that grew too large, split).
    /// - Returns: the id of its row (of its last piece when split).
    @discardableResult
    private func store(_ key: SeriesKey, _ chunk: OpenChunk, sealed: Bool, _ db: Database) throws -> Int64 {
        var pieces = [EncodedChunk(chunk.builder, sealed: sealed)]
        if pieces[0].bytes.count > ChunkTable.largestBytes, let values = try? ChunkDecoder.decode(pieces[0].bytes) {
            pieces = EncodedChunk.split(values, keepLastOpen: !sealed)
        }
        return try replace(chunk.id, with: pieces, key, db)
    }

    /// Writes `pieces` in place of the row `id` (or as new rows).
    /// - Returns: the id of the last piece's row.
    private func replace(_ id: Int64?, with pieces: [EncodedChunk], _ key: SeriesKey, _ db: Database) throws -> Int64 {
        var last = id
        for (index, piece) in pieces.enumerated() {
            if index == 0, let id {
                try ChunkTable.update(id: id, piece, db)
            } else {
                last = try ChunkTable.insert(key, piece, db)
            }
        }
        return last ?? 0
    }

    /// Merges values at or before the series' newest into the chunks whose ranges they fall in.
    /// - Parameter storedWins: keep a stored value over a new one at the same time (moving
    ///   a file's old rows in after newer writes), instead of last write wins.
    /// - Parameter rolledUpBefore: values before this time are in complete hours, whose rollups change now.
    mutating func mergeLate(
        _ key: SeriesKey, _ rows: ArraySlice<SQLiteStore.Row>, storedWins: Bool = false, rolledUpBefore: Int64, _ db: Database
    ) throws {
        var index = rows.startIndex
        while index < rows.endIndex {
            guard let home = try ChunkTable.home(of: rows[index].ts, key, db) else { return }
            let next = try ChunkTable.nextStart(after: home.start, key, db)
            var end = index
            while end < rows.endIndex, next.map({ rows[end].ts < $0 }) ?? true { end += 1 }
            let merged = merge(
                try ChunkTable.decode(home), rows[index..<end], key, storedWins: storedWins, rolledUpBefore: rolledUpBefore)
            _ = try replace(home.id, with: EncodedChunk.split(merged, keepLastOpen: !home.sealed), key, db)
            index = end
        }
    }

    /// Both sorted by time; on an equal timestamp the new value wins, unless `storedWins`.
    private mutating func merge(
        _ stored: DecodedChunk, _ rows: ArraySlice<SQLiteStore.Row>, _ key: SeriesKey, storedWins: Bool, rolledUpBefore: Int64
    ) -> DecodedChunk {
        var merged = DecodedChunk()
        merged.timestamps.reserveCapacity(stored.count + rows.count)
        merged.values.reserveCapacity(stored.count + rows.count)
        var old = 0
        var new = rows.startIndex
        while old < stored.count || new < rows.endIndex {
            if new == rows.endIndex || (old < stored.count && stored.timestamps[old] < rows[new].ts) {
                merged.timestamps.append(stored.timestamps[old])
                merged.values.append(stored.values[old])
                old += 1
                continue
            }
            let row = rows[new]
            if old < stored.count, stored.timestamps[old] == row.ts {
                if storedWins {
                    merged.timestamps.append(row.ts)
                    merged.values.append(stored.values[old])
                    old += 1
                    new += 1
                    continue
                }
                if stored.values[old].bitPattern != row.value.bitPattern, row.ts < rolledUpBefore {
                    changes.overwrote(key, ts: row.ts)
                }
                old += 1
            } else if row.ts < rolledUpBefore {
                changes.added(key, ts: row.ts, value: row.value)
            }
            merged.timestamps.append(row.ts)
            merged.values.append(row.value)
            new += 1
        }
        return merged
    }
}
